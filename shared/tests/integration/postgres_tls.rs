//! libpq's `sslmode` against a real PostgreSQL that refuses unencrypted connections (the test
//! kit's throwaway `hostssl`-only cluster, as RDS for PostgreSQL 15+ with `rds.force_ssl`).
//!
//! What each mode must do is libpq's table, "SSL Mode Descriptions":
//! <https://www.postgresql.org/docs/15/libpq-ssl.html#LIBPQ-SSL-SSLMODE-STATEMENTS>. `hostssl`
//! matching only TLS connections is "The pg_hba.conf File":
//! <https://www.postgresql.org/docs/15/auth-pg-hba-conf.html>.

use orabridge_shared::postgres::{
    PgTlsError, RootCertificates, SslMode, TlsSettings, parse_connection_string,
    tls_server_end_point,
};
use orabridge_shared::testkit::tls_postgres::{TlsPostgres, connect};

async fn encrypted(client: &tokio_postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .expect("pg_stat_ssl")
        .get(0)
}

#[tokio::test]
async fn every_mode_is_libpq_s_against_a_server_that_only_accepts_tls() {
    let cluster = TlsPostgres::start()
        .await
        .expect("throwaway TLS PostgreSQL");

    // Unencrypted: no pg_hba.conf line matches, the server says so.
    let refused = connect(&cluster.connection_string("127.0.0.1", "disable"))
        .await
        .expect_err("a plain connection is refused");
    let text = format!("{refused:?}");
    assert!(text.contains("no encryption"), "{text}");

    // prefer and require encrypt without checking the certificate; verify-* check it.
    for mode in ["prefer", "require", "verify-ca", "verify-full"] {
        let client = connect(&cluster.connection_string("127.0.0.1", mode))
            .await
            .unwrap_or_else(|err| panic!("{mode}: {err:?}"));
        assert!(encrypted(&client).await, "{mode} must encrypt");
    }

    // The certificate names 127.0.0.1 only: verify-full refuses "localhost", verify-ca (which
    // checks the CA, not the name) and require accept it.
    let wrong_name = connect(&cluster.connection_string("localhost", "verify-full"))
        .await
        .expect_err("verify-full checks the name");
    assert!(
        format!("{wrong_name:?}").contains("NotValidForName"),
        "{wrong_name:?}"
    );
    for mode in ["verify-ca", "require"] {
        connect(&cluster.connection_string("localhost", mode))
            .await
            .unwrap_or_else(|err| panic!("{mode} to localhost: {err:?}"));
    }

    // A CA that did not sign the server's certificate (Mozilla's roots): refused by verify-ca,
    // while require, which checks nothing, still connects.
    let system = cluster
        .connection_string("127.0.0.1", "verify-ca")
        .replace(&cluster.ca_file().display().to_string(), "system");
    let untrusted = connect(&system).await.expect_err("unknown issuer");
    assert!(
        format!("{untrusted:?}").contains("UnknownIssuer"),
        "{untrusted:?}"
    );
}

#[tokio::test]
async fn channel_binding_works_so_require_logs_in_with_scram_plus() {
    // tokio-postgres's channel_binding=require fails the login unless the server accepted the
    // tls-server-end-point hash this crate computes (RFC 5929 §4.1); SCRAM-SHA-256-PLUS is
    // PostgreSQL's SASL mechanism with binding ("SCRAM-SHA-256 Authentication",
    // https://www.postgresql.org/docs/15/sasl-authentication.html#SASL-SCRAM-SHA-256).
    let cluster = TlsPostgres::start()
        .await
        .expect("throwaway TLS PostgreSQL");
    for mode in ["require", "verify-full"] {
        let url = format!(
            "{} channel_binding=require",
            cluster.connection_string("127.0.0.1", mode)
        );
        let client = connect(&url)
            .await
            .unwrap_or_else(|err| panic!("{mode} with channel binding: {err:?}"));
        assert!(encrypted(&client).await);
    }
}

#[test]
fn end_point_hashes_follow_the_certificate_signature_hash() {
    // An ECDSA P-256 certificate signed with SHA-256 (rcgen's default): the hash is SHA-256 of
    // the whole DER certificate; truncated input has no hash rather than a wrong one.
    let key = rcgen::KeyPair::generate().expect("key");
    let certificate = rcgen::CertificateParams::new(vec!["db.internal".to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("certificate");
    let der = certificate.der().to_vec();
    let hash = tls_server_end_point(&der).expect("a known algorithm");
    use sha2::Digest;
    assert_eq!(hash, sha2::Sha256::digest(&der).to_vec());
    assert_eq!(tls_server_end_point(&der[..der.len() / 2]), None);
    assert_eq!(tls_server_end_point(b""), None);
}

#[test]
fn connection_strings_are_read_as_libpq_reads_them() {
    let (config, tls) = parse_connection_string(
        "host=db.internal port=5433 user=closing dbname=reporting sslmode=verify-full \
         sslrootcert=/opt/certs/rds.pem",
    )
    .expect("key=value");
    assert_eq!(config.get_ports(), [5433]);
    assert_eq!(config.get_dbname(), Some("reporting"));
    assert_eq!(
        tls,
        TlsSettings {
            mode: SslMode::VerifyFull,
            root_certificates: Some(RootCertificates::File("/opt/certs/rds.pem".into())),
        }
    );
    let (config, tls) = parse_connection_string(
        "postgresql://closing@db.internal:5433/reporting?sslmode=require&application_name=x",
    )
    .expect("URL");
    assert_eq!(config.get_application_name(), Some("x"));
    assert_eq!(tls.mode, SslMode::Require);
    let (_, tls) = parse_connection_string("host=127.0.0.1 user=postgres").expect("default");
    assert_eq!(tls, TlsSettings::default(), "libpq's default is prefer");
    assert!(matches!(
        parse_connection_string("host=h sslmode=verify"),
        Err(PgTlsError::UnknownMode(mode)) if mode == "verify"
    ));
}

#[test]
fn verifying_without_root_certificates_is_refused_before_connecting() {
    let mut config = tokio_postgres::Config::new();
    for mode in [SslMode::VerifyCa, SslMode::VerifyFull] {
        let err = orabridge_shared::postgres::tls_connector(
            &mut config,
            &TlsSettings {
                mode,
                root_certificates: None,
            },
        )
        .expect_err("no roots");
        assert!(err.to_string().contains("sslrootcert"), "{err}");
    }
    let dir = tempfile::tempdir().expect("dir");
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "not a certificate\n").expect("write");
    let err = orabridge_shared::postgres::tls_connector(
        &mut config,
        &TlsSettings {
            mode: SslMode::VerifyFull,
            root_certificates: Some(RootCertificates::File(empty.clone())),
        },
    )
    .expect_err("no certificate in the file");
    assert!(
        err.to_string().contains(&empty.display().to_string()),
        "{err}"
    );
}
