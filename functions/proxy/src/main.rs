//! Composition root of the `proxy` Lambda: logging, metrics, then the runtime loop.

use lambda_http::{Error, service_fn};
use orabridge_shared::config::ProcessEnv;
use orabridge_shared::{logging, metrics};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let metrics = metrics::init(&metrics::MetricsSettings::from_source(&ProcessEnv, "proxy"))?;
    metrics::run_http(metrics, service_fn(proxy::handle)).await
}
