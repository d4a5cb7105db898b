//! Composition root of `finance-closing`. `FINANCE_CLOSING_MODE=service` serves the Restate
//! workflow: through `LambdaEndpoint` inside Lambda, over HTTP (`FINANCE_CLOSING_HTTP_ADDR`,
//! default `127.0.0.1:9080`) anywhere else. Otherwise it is the daily trigger.

use std::net::SocketAddr;

use finance_closing::config::{ServiceConfig, TriggerConfig};
use lambda_runtime::Error;
use orabridge_shared::config::{ConfigReader, ProcessEnv};
use orabridge_shared::metrics;
use orabridge_shared::start::Start;
use restate_sdk::prelude::{HttpServer, LambdaEndpoint};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let start = Start::new("finance-closing")?;
    let reader = ConfigReader::from_env();
    if reader.string_or("FINANCE_CLOSING_MODE", "trigger") == "service" {
        return service(start, &reader).await;
    }
    let settings = start.settings(TriggerConfig::settings(ProcessEnv)).await?;
    let trigger = finance_closing::trigger::build(TriggerConfig::from_source(settings)?)?;
    start.serve(trigger).await
}

async fn service(start: Start, reader: &ConfigReader<ProcessEnv>) -> Result<(), Error> {
    // The workflow flushes its closing metrics itself (`metrics::flush_now`): Restate's Lambda
    // endpoint runs its own invocation loop.
    metrics::describe_histogram!(
        "ClosingDuration",
        metrics::Unit::Seconds,
        "from the job's submission to the recorded outcome"
    );
    let settings = start.settings(ServiceConfig::settings(ProcessEnv)).await?;
    let endpoint =
        finance_closing::service::from_config(&ServiceConfig::from_source(settings)?).await?;
    if reader.optional_string("AWS_LAMBDA_RUNTIME_API").is_some() {
        return LambdaEndpoint::run(endpoint).await;
    }
    let address: SocketAddr = reader.parse_or(
        "FINANCE_CLOSING_HTTP_ADDR",
        SocketAddr::from(([127, 0, 0, 1], 9080)),
    )?;
    tracing::info!(%address, "serving the FinanceClosing workflow over HTTP");
    HttpServer::new(endpoint).listen_and_serve(address).await;
    Ok(())
}
