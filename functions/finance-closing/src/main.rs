//! Composition root of `finance-closing`. `FINANCE_CLOSING_MODE=service` serves the Restate
//! workflow: through `LambdaEndpoint` inside Lambda, over HTTP (`FINANCE_CLOSING_HTTP_ADDR`,
//! default `127.0.0.1:9080`) anywhere else. Without it (the daily trigger) the function still
//! answers `NotBuiltYet`: the trigger is not built yet.

use std::net::SocketAddr;

use finance_closing::config::ServiceConfig;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use orabridge_shared::config::{ConfigReader, ProcessEnv};
use orabridge_shared::params::{DEFAULT_TTL, ParameterStore, SsmParameterSource};
use orabridge_shared::{aws, logging, metrics};
use restate_sdk::prelude::{Endpoint, HttpServer, LambdaEndpoint};

#[tokio::main]
async fn main() -> Result<(), Error> {
    logging::init();
    let reader = ConfigReader::new(ProcessEnv);
    if reader.string_or("FINANCE_CLOSING_MODE", "trigger") == "service" {
        return service(&reader).await;
    }
    let metrics = metrics::init(&metrics::MetricsSettings::from_source(
        &ProcessEnv,
        "finance-closing",
    ))?;
    metrics::run(
        metrics,
        service_fn(|event: LambdaEvent<serde_json::Value>| async move {
            finance_closing::handle(&event.payload)
        }),
    )
    .await
}

async fn service(reader: &ConfigReader<ProcessEnv>) -> Result<(), Error> {
    let config = ServiceConfig::from_source(ProcessEnv)?;
    let in_lambda = reader.optional_string("AWS_LAMBDA_RUNTIME_API").is_some();
    // SSM only when a secret is given as a parameter name (always the case in AWS).
    let parameters = if in_lambda
        || reader.optional_string("PG_PASSWORD_PARAM").is_some()
        || reader.optional_string("ORACLE_PASSWORD_PARAM").is_some()
    {
        let sdk = aws::load_sdk_config().await;
        Some(ParameterStore::new(
            SsmParameterSource::new(aws::ssm_client(&sdk)),
            DEFAULT_TTL,
        ))
    } else {
        None
    };
    let workflow = finance_closing::service::build(&config, parameters.as_ref()).await?;
    let endpoint = Endpoint::builder().bind(workflow).build();
    if in_lambda {
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
