//! The HTTPS connector shared by the functions that call HTTP services (the proxy's upstreams,
//! the closing trigger's Restate ingress): rustls with the system's root certificates, plain
//! HTTP allowed for local endpoints, and a connect timeout reported as a connect error.

use std::time::Duration;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;

/// A connector for `http://` and `https://` URLs whose connects give up after
/// `connect_timeout`.
pub fn https_connector(
    connect_timeout: Duration,
) -> std::io::Result<HttpsConnector<HttpConnector>> {
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()?
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}
