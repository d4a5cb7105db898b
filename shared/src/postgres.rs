//! PostgreSQL connections the way libpq makes them: `sslmode` with libpq's five meanings,
//! `sslrootcert`, rustls underneath (aws-lc-rs, like every other TLS connection of the suite),
//! and the timeouts a long-lived Lambda connection needs.
//!
//! The modes, as [libpq documents them](https://www.postgresql.org/docs/15/libpq-ssl.html#LIBPQ-SSL-PROTECTION):
//! `disable` never encrypts; `prefer` encrypts when the server offers it; `require` always
//! encrypts but checks no certificate; `verify-ca` also checks that a trusted CA signed the
//! server's certificate; `verify-full` also checks that the certificate names the host. Only
//! `verify-full` stops a machine in the middle, which is why the template deploys it.
//!
//! `tokio-postgres` itself knows `disable`, `prefer` and `require`; the two `verify-*` modes are
//! `require` on the wire plus the certificate checks done here. Connection strings are therefore
//! read by [`parse_connection_string`], which takes `sslmode` and `sslrootcert` out before
//! `tokio-postgres` parses the rest.
//!
//! Channel binding: the stream reports the `tls-server-end-point` hash of the server's
//! certificate ([RFC 5929](https://www.rfc-editor.org/rfc/rfc5929#section-4.1)), so SCRAM
//! authentication uses `SCRAM-SHA-256-PLUS` and a relaying machine in the middle cannot
//! complete the login even in `require` mode.

use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use sha2::{Digest, Sha256, Sha384, Sha512};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_postgres::config::SslMode as WireSslMode;
use tokio_postgres::tls::{ChannelBinding, MakeTlsConnect, TlsConnect, TlsStream};

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Never encrypt.
    Disable,
    /// Encrypt when the server offers it, check nothing.
    Prefer,
    /// Always encrypt, check no certificate.
    Require,
    /// Always encrypt; a trusted CA must have signed the server's certificate.
    VerifyCa,
    /// As `VerifyCa`, and the certificate must name the host connected to.
    VerifyFull,
}

impl SslMode {
    /// The names libpq accepts, in order of protection.
    pub const NAMES: [&'static str; 5] =
        ["disable", "prefer", "require", "verify-ca", "verify-full"];

    /// Parses a libpq `sslmode` value.
    pub fn parse(text: &str) -> Option<SslMode> {
        Some(match text.trim() {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    fn wire(self) -> WireSslMode {
        match self {
            SslMode::Disable => WireSslMode::Disable,
            SslMode::Prefer => WireSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => WireSslMode::Require,
        }
    }

    fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyFull)
    }
}

/// Which certificates a `verify-*` mode trusts (`sslrootcert`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootCertificates {
    /// `system`: the roots every HTTPS connection of the process trusts
    /// ([`crate::http::process_root_store`]).
    System,
    /// A PEM bundle, such as the RDS CA bundle.
    File(PathBuf),
}

impl RootCertificates {
    /// `system` or a path, as libpq reads `sslrootcert`.
    pub fn parse(text: &str) -> RootCertificates {
        match text.trim() {
            "system" => RootCertificates::System,
            path => RootCertificates::File(PathBuf::from(path)),
        }
    }
}

/// The TLS part of a PostgreSQL connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// `sslmode`.
    pub mode: SslMode,
    /// `sslrootcert`; required by the `verify-*` modes.
    pub root_certificates: Option<RootCertificates>,
}

impl TlsSettings {
    /// Refuses a `verify-*` mode without root certificates to verify against, before any
    /// connection is tried.
    pub fn check(&self) -> Result<(), PgTlsError> {
        if self.mode.verifies() && self.root_certificates.is_none() {
            return Err(PgTlsError::NoRootCertificates {
                mode: self.mode.as_str(),
            });
        }
        Ok(())
    }
}

impl Default for TlsSettings {
    /// libpq's default: `prefer`.
    fn default() -> Self {
        TlsSettings {
            mode: SslMode::Prefer,
            root_certificates: None,
        }
    }
}

/// Why TLS for PostgreSQL could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PgTlsError {
    /// A `verify-*` mode without certificates to verify against.
    #[error(
        "sslmode={mode} needs root certificates: set sslrootcert (PG_SSLROOTCERT) to a PEM \
         bundle such as the RDS CA bundle, or to `system`"
    )]
    NoRootCertificates {
        /// The mode asked for.
        mode: &'static str,
    },
    /// The root certificate bundle could not be used.
    #[error("sslrootcert {path}: {problem}")]
    RootCertificates {
        /// The bundle.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// `sslmode` has a value libpq does not know.
    #[error("sslmode {0:?} is not one of disable, prefer, require, verify-ca, verify-full")]
    UnknownMode(String),
    /// The rest of the connection string is malformed.
    #[error("the PostgreSQL connection string is malformed")]
    ConnectionString(#[source] tokio_postgres::Error),
    /// rustls refused the configuration.
    #[error("the TLS configuration is invalid")]
    Rustls(#[source] rustls::Error),
}

impl SslMode {
    /// The libpq name of the mode.
    pub fn as_str(self) -> &'static str {
        Self::NAMES[self as usize]
    }
}

/// Connect, keepalive and unacknowledged-data timeouts for connections that live through a
/// six-hour closing behind a NAT gateway, which drops a flow idle for 350 s without telling
/// either side ([VPC NAT gateway idle timeout](https://docs.aws.amazon.com/vpc/latest/userguide/nat-gateway-troubleshooting.html#nat-gateway-troubleshooting-timeout)).
/// Keepalives every 60 s keep the flow open; a peer that stops answering is given up after
/// 60 s of unacknowledged data instead of the kernel's 15 minutes, so a copy never hangs.
pub fn apply_timeouts(config: &mut tokio_postgres::Config) {
    config
        .connect_timeout(Duration::from_secs(10))
        .keepalives(true)
        .keepalives_idle(Duration::from_secs(60))
        .keepalives_interval(Duration::from_secs(10))
        .keepalives_retries(3)
        .tcp_user_timeout(Duration::from_secs(60));
}

/// Sets `config`'s wire `sslmode` for `settings` and returns the connector that does the TLS
/// handshake and the certificate checks the mode asks for.
pub fn tls_connector(
    config: &mut tokio_postgres::Config,
    settings: &TlsSettings,
) -> Result<RustlsConnector, PgTlsError> {
    settings.check()?;
    config.ssl_mode(settings.mode.wire());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let webpki = if settings.mode.verifies() {
        let roots = match &settings.root_certificates {
            // `check` refused a verifying mode without roots.
            None => {
                return Err(PgTlsError::NoRootCertificates {
                    mode: settings.mode.as_str(),
                });
            }
            Some(RootCertificates::System) => {
                crate::http::process_root_store().map_err(|err| PgTlsError::RootCertificates {
                    path: "system".into(),
                    problem: err.to_string(),
                })?
            }
            Some(RootCertificates::File(path)) => Arc::new(read_roots(path)?),
        };
        let webpki = WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
            .build()
            .map_err(|err| PgTlsError::RootCertificates {
                path: "sslrootcert".into(),
                problem: err.to_string(),
            })?;
        Some(webpki)
    } else {
        None
    };
    let verifier = Arc::new(CertificateCheck {
        webpki,
        check_name: settings.mode == SslMode::VerifyFull,
        algorithms: provider.signature_verification_algorithms,
    });
    let tls = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(PgTlsError::Rustls)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    Ok(RustlsConnector {
        config: Arc::new(tls),
    })
}

fn read_roots(path: &std::path::Path) -> Result<RootCertStore, PgTlsError> {
    let problem = |problem: String| PgTlsError::RootCertificates {
        path: path.display().to_string(),
        problem,
    };
    let pem = std::fs::read(path).map_err(|err| problem(err.to_string()))?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|err| problem(format!("not a PEM certificate bundle ({err})")))?;
    if certificates.is_empty() {
        return Err(problem("holds no certificate".into()));
    }
    let mut roots = RootCertStore::empty();
    for certificate in certificates {
        roots
            .add(certificate)
            .map_err(|err| problem(format!("unusable certificate ({err})")))?;
    }
    Ok(roots)
}

/// A libpq connection string (`key=value ...` or a `postgresql://` URL) read as libpq reads
/// it: `sslmode` (default `prefer`) and `sslrootcert` are taken out, the rest goes to
/// `tokio-postgres`.
pub fn parse_connection_string(
    text: &str,
) -> Result<(tokio_postgres::Config, TlsSettings), PgTlsError> {
    let mut settings = TlsSettings::default();
    let mut take = |key: &str, value: &str| -> Result<bool, PgTlsError> {
        match key {
            "sslmode" => {
                settings.mode = SslMode::parse(value)
                    .ok_or_else(|| PgTlsError::UnknownMode(value.to_owned()))?;
                Ok(true)
            }
            "sslrootcert" => {
                settings.root_certificates = Some(RootCertificates::parse(value));
                Ok(true)
            }
            _ => Ok(false),
        }
    };
    // The pairs `take` did not keep for itself, in their order.
    let mut others = |pairs: &mut dyn Iterator<Item = &'_ str>| -> Result<Vec<String>, PgTlsError> {
        let mut kept = Vec::new();
        for pair in pairs {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            if !take(key, value)? {
                kept.push(pair.to_owned());
            }
        }
        Ok(kept)
    };
    let rest = if let Some((base, query)) = text
        .starts_with("postgres")
        .then(|| text.split_once('?'))
        .flatten()
    {
        let kept = others(&mut query.split('&'))?;
        if kept.is_empty() {
            base.to_owned()
        } else {
            format!("{base}?{}", kept.join("&"))
        }
    } else {
        // key=value pairs; values in this suite's strings are never quoted.
        others(&mut text.split_whitespace())?.join(" ")
    };
    let config = rest.parse().map_err(PgTlsError::ConnectionString)?;
    Ok((config, settings))
}

/// Makes a [`RustlsConnect`] per connection, naming the host the certificate must match.
#[derive(Clone, Debug)]
pub struct RustlsConnector {
    config: Arc<ClientConfig>,
}

impl<S> MakeTlsConnect<S> for RustlsConnector
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type TlsConnect = RustlsConnect;
    type Error = rustls::pki_types::InvalidDnsNameError;

    fn make_tls_connect(&mut self, host: &str) -> Result<RustlsConnect, Self::Error> {
        Ok(RustlsConnect {
            config: Arc::clone(&self.config),
            server_name: ServerName::try_from(host.to_owned())?,
        })
    }
}

/// One TLS handshake with the server named at [`MakeTlsConnect::make_tls_connect`].
pub struct RustlsConnect {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

impl<S> TlsConnect<S> for RustlsConnect
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    type Stream = RustlsStream<S>;
    type Error = io::Error;
    type Future = Pin<Box<dyn Future<Output = io::Result<RustlsStream<S>>> + Send>>;

    fn connect(self, stream: S) -> Self::Future {
        Box::pin(async move {
            tokio_rustls::TlsConnector::from(self.config)
                .connect(self.server_name, stream)
                .await
                .map(RustlsStream)
        })
    }
}

/// A TLS stream to PostgreSQL.
pub struct RustlsStream<S>(tokio_rustls::client::TlsStream<S>);

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for RustlsStream<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_read(cx, buf)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for RustlsStream<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> TlsStream for RustlsStream<S> {
    fn channel_binding(&self) -> ChannelBinding {
        let (_, connection) = self.0.get_ref();
        connection
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|certificate| tls_server_end_point(certificate))
            .map_or_else(ChannelBinding::none, ChannelBinding::tls_server_end_point)
    }
}

/// RFC 5929's `tls-server-end-point`: the certificate hashed with its signature's hash
/// function, SHA-256 when that is MD5 or SHA-1. `None` for an algorithm this does not know
/// (the login then goes without channel binding, as libpq's `channel_binding=prefer` does).
pub fn tls_server_end_point(certificate: &[u8]) -> Option<Vec<u8>> {
    // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, .. }
    // and AlgorithmIdentifier ::= SEQUENCE { algorithm OBJECT IDENTIFIER, .. } (RFC 5280).
    let (contents, _) = der_element(certificate, 0x30)?;
    let (_, after_tbs) = der_element(contents, 0x30)?;
    let (algorithm, _) = der_element(after_tbs, 0x30)?;
    let (oid, _) = der_element(algorithm, 0x06)?;
    const SHA384_OIDS: [&[u8]; 2] = [
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c], // sha384WithRSAEncryption
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03],       // ecdsa-with-SHA384
    ];
    const SHA512_OIDS: [&[u8]; 2] = [
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d], // sha512WithRSAEncryption
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x04],       // ecdsa-with-SHA512
    ];
    const SHA256_OIDS: [&[u8]; 6] = [
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b], // sha256WithRSAEncryption
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02],       // ecdsa-with-SHA256
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05], // sha1WithRSAEncryption
        &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01],             // ecdsa-with-SHA1
        &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x04], // md5WithRSAEncryption
        &[0x2b, 0x65, 0x70],                                     // Ed25519: SHA-256 too
    ];
    if SHA384_OIDS.contains(&oid) {
        Some(Sha384::digest(certificate).to_vec())
    } else if SHA512_OIDS.contains(&oid) {
        Some(Sha512::digest(certificate).to_vec())
    } else if SHA256_OIDS.contains(&oid) {
        Some(Sha256::digest(certificate).to_vec())
    } else {
        None
    }
}

/// The contents of the DER element with `tag` at the start of `input`, and what follows it.
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let length = rest[..count]
            .iter()
            .fold(0usize, |n, &byte| (n << 8) | usize::from(byte));
        (length, &rest[count..])
    };
    (rest.len() >= length).then(|| rest.split_at(length))
}

/// The certificate check of every mode. `verify-ca` and `verify-full` (`webpki` set): the chain
/// must lead to a trusted root; the name is checked only for `verify-full`, as libpq does.
/// `prefer` and `require` (`webpki` unset): encryption without a certificate check, libpq's
/// meaning of those modes. Either way the handshake's signatures are checked, so the server
/// holds the key of the certificate it sent, and channel binding ties the login to it.
#[derive(Debug)]
struct CertificateCheck {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    check_name: bool,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for CertificateCheck {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(webpki) = &self.webpki else {
            return Ok(ServerCertVerified::assertion());
        };
        match webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) if !self.check_name => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}
