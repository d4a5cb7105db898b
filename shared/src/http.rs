//! The HTTPS connector shared by the functions that call HTTP services (the proxy's upstreams,
//! the closing trigger's Restate ingress) and by the AWS SDK ([`sdk::SdkHttpClient`]): rustls,
//! plain HTTP allowed for local endpoints, and a connect timeout reported as a connect error.
//!
//! Trust: Mozilla's root certificates, compiled in ([`webpki_roots`]), plus every certificate
//! in the PEM file named by `SSL_CERT_FILE` when that variable is set (the variable OpenSSL,
//! curl and rustls-native-certs read), for a private CA in front of an upstream. Compiled-in
//! roots cost nothing at start-up; parsing the system's PEM bundle took about 2 ms of every
//! cold start (see BENCHMARKS.md), and Lambda's bundle is Mozilla's list anyway.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use rustls::{ClientConfig, RootCertStore};

use crate::config::VarSource;

/// The variable naming an extra PEM bundle of trusted certificates.
pub const EXTRA_ROOTS_VAR: &str = "SSL_CERT_FILE";

pub mod sdk;

/// A connector for `http://` and `https://` URLs whose connects give up after
/// `connect_timeout`, trusting [`process_root_store`].
pub fn https_connector(
    connect_timeout: Duration,
) -> std::io::Result<HttpsConnector<HttpConnector>> {
    https_connector_trusting(connect_timeout, process_root_store()?)
}

/// [`https_connector`] trusting exactly `roots`.
pub fn https_connector_trusting(
    connect_timeout: Duration,
    roots: impl Into<Arc<RootCertStore>>,
) -> std::io::Result<HttpsConnector<HttpConnector>> {
    Ok(connector(Some(connect_timeout), tls_config(roots)?))
}

/// [`root_store`] for the process environment, built once: the SDK's client and every
/// connector of the process share it, so an `SSL_CERT_FILE` bundle is parsed only once.
pub fn process_root_store() -> std::io::Result<Arc<RootCertStore>> {
    static ROOTS: OnceLock<Result<Arc<RootCertStore>, (std::io::ErrorKind, String)>> =
        OnceLock::new();
    ROOTS
        .get_or_init(|| {
            root_store(&crate::config::ProcessEnv)
                .map(Arc::new)
                .map_err(|err| (err.kind(), err.to_string()))
        })
        .clone()
        .map_err(|(kind, message)| std::io::Error::new(kind, message))
}

/// TLS 1.2 and 1.3 with aws-lc-rs (the SDK's own provider), trusting `roots`.
fn tls_config(roots: impl Into<Arc<RootCertStore>>) -> std::io::Result<ClientConfig> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

fn connector(
    connect_timeout: Option<Duration>,
    tls: ClientConfig,
) -> HttpsConnector<HttpConnector> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(connect_timeout);
    http.set_nodelay(true);
    hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http)
}

/// Mozilla's roots plus the certificates of the PEM file named by [`EXTRA_ROOTS_VAR`], if set.
/// A set variable whose file cannot be read or holds no valid certificate is an error: a
/// deployment that asks for a private CA must not silently run without it.
pub fn root_store(env: &impl VarSource) -> std::io::Result<RootCertStore> {
    let mut roots = RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let Some(path) = env.non_empty(EXTRA_ROOTS_VAR) else {
        return Ok(roots);
    };
    let invalid = |problem: String| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{EXTRA_ROOTS_VAR}={path}: {problem}"),
        )
    };
    let pem = std::fs::read(&path).map_err(|err| {
        std::io::Error::new(err.kind(), format!("{EXTRA_ROOTS_VAR}={path}: {err}"))
    })?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| invalid(format!("not a PEM certificate bundle ({err})")))?;
    if certificates.is_empty() {
        return Err(invalid("holds no certificate".into()));
    }
    for certificate in certificates {
        roots
            .add(certificate)
            .map_err(|err| invalid(format!("unusable certificate ({err})")))?;
    }
    Ok(roots)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A self-signed CA certificate (CN=orabridge test CA), as a private CA would hand out.
    const TEST_CA: &str = include_str!("../tests/data/test-ca.pem");

    fn with_file(contents: &str) -> (tempfile::TempDir, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bundle.pem");
        std::fs::write(&path, contents).unwrap();
        (dir, path.to_string_lossy().into_owned())
    }

    #[test]
    fn mozilla_roots_are_built_in() {
        let roots = root_store(&[("UNRELATED", "x")]).unwrap();
        assert_eq!(roots.len(), webpki_roots::TLS_SERVER_ROOTS.len());
        assert!(roots.len() > 100, "only {} roots", roots.len());
    }

    #[test]
    fn a_private_ca_from_ssl_cert_file_is_added() {
        let (_dir, path) = with_file(TEST_CA);
        let roots = root_store(&[(EXTRA_ROOTS_VAR, path.as_str())]).unwrap();
        assert_eq!(roots.len(), webpki_roots::TLS_SERVER_ROOTS.len() + 1);
    }

    #[test]
    fn an_unusable_ssl_cert_file_is_an_error_naming_it() {
        let (_dir, empty) = with_file("no certificates here\n");
        let err = root_store(&[(EXTRA_ROOTS_VAR, empty.as_str())]).unwrap_err();
        assert!(err.to_string().contains("holds no certificate"), "{err}");
        assert!(err.to_string().contains(&empty), "{err}");

        let (_dir, broken) = with_file(
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
        );
        let err = root_store(&[(EXTRA_ROOTS_VAR, broken.as_str())]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData, "{err}");

        let err = root_store(&[(EXTRA_ROOTS_VAR, "/nonexistent/bundle.pem")]).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::NotFound, "{err}");
        assert!(err.to_string().contains("/nonexistent/bundle.pem"), "{err}");
    }
}
