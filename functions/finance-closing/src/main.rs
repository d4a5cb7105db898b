//! Composition root of `finance-closing`. `FINANCE_CLOSING_MODE=service` serves the Restate
//! workflow: through `LambdaEndpoint` inside Lambda, over HTTP (`FINANCE_CLOSING_HTTP_ADDR`,
//! default `127.0.0.1:9080`) anywhere else. Otherwise it is the daily trigger.

use std::net::SocketAddr;
use std::sync::Arc;

use finance_closing::config::{ServiceConfig, TriggerConfig};
use finance_closing::trigger::Trigger;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use orabridge_shared::config::{ConfigReader, ProcessEnv};
use orabridge_shared::settings::{Settings, SettingsPlan};
use orabridge_shared::{aws, lambda, metrics};
use restate_sdk::prelude::{HttpServer, LambdaEndpoint};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let metrics = lambda::init("finance-closing")?;
    let reader = ConfigReader::from_env();
    if reader.string_or("FINANCE_CLOSING_MODE", "trigger") == "service" {
        return service(&reader).await;
    }
    let config = TriggerConfig::from_source(resolve(TriggerConfig::settings(ProcessEnv)).await?)?;
    let trigger = Arc::new(Trigger::new(&config.ingress_url, config.token)?);
    metrics::run(
        metrics,
        service_fn(move |event: LambdaEvent<serde_json::Value>| {
            let trigger = Arc::clone(&trigger);
            async move { trigger.handle(&event.payload).await }
        }),
    )
    .await
}

/// Resolves the settings given as SSM parameters; the SDK is configured only when there is one,
/// so a local run with every value in the environment needs no AWS configuration at all.
async fn resolve(plan: SettingsPlan<ProcessEnv>) -> Result<Settings<ProcessEnv>, Error> {
    let ssm = match plan.needs_parameters() {
        true => Some(aws::ssm_parameter_store(&aws::load_sdk_config().await?)),
        false => None,
    };
    Ok(plan.resolve(ssm.as_ref()).await?)
}

async fn service(reader: &ConfigReader<ProcessEnv>) -> Result<(), Error> {
    // The workflow flushes its closing metrics itself (`metrics::flush_now`): Restate's Lambda
    // endpoint runs its own invocation loop.
    metrics::describe_histogram!(
        "ClosingDuration",
        metrics::Unit::Seconds,
        "from the job's submission to the recorded outcome"
    );
    let config = ServiceConfig::from_source(resolve(ServiceConfig::settings(ProcessEnv)).await?)?;
    let endpoint = finance_closing::service::build(&config).await?;
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
