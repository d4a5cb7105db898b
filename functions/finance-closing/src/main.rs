//! Composition root of `finance-closing`. `FINANCE_CLOSING_MODE=service` serves the Restate
//! workflow: through `LambdaEndpoint` inside Lambda, over HTTP (`FINANCE_CLOSING_HTTP_ADDR`,
//! default `127.0.0.1:9080`) anywhere else. Otherwise it is the daily trigger.

use std::net::SocketAddr;

use finance_closing::config::ServiceConfig;
use finance_closing::trigger::Trigger;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use orabridge_shared::config::{ConfigError, ConfigReader, ProcessEnv};
use orabridge_shared::params::{DEFAULT_TTL, GetOptions, ParameterStore, SsmParameterSource};
use orabridge_shared::{aws, logging, metrics};
use restate_sdk::prelude::{Endpoint, HttpServer, LambdaEndpoint};

// One thread: Lambda hands a function one event at a time, and below 1,769 MB of memory it has
// less than one vCPU; the I/O still overlaps on this thread, blocking work goes to
// `spawn_blocking`, and no worker threads are started during the cold start.
#[tokio::main(flavor = "current_thread")]
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
    let trigger = std::sync::Arc::new(trigger(&reader).await?);
    metrics::run(
        metrics,
        service_fn(move |event: LambdaEvent<serde_json::Value>| {
            let trigger = std::sync::Arc::clone(&trigger);
            async move { trigger.handle(&event.payload).await }
        }),
    )
    .await
}

/// The SSM parameter store, when some setting is an SSM parameter name: a local run with
/// everything in the environment needs no AWS configuration at all.
async fn ssm_if(needed: bool) -> std::io::Result<Option<ParameterStore<SsmParameterSource>>> {
    if !needed {
        return Ok(None);
    }
    let sdk = aws::load_sdk_config().await?;
    Ok(Some(ParameterStore::new(
        SsmParameterSource::new(aws::ssm_client(&sdk)),
        DEFAULT_TTL,
    )))
}

/// The trigger: the ingress URL and token from the environment locally, from SSM in AWS.
async fn trigger(reader: &ConfigReader<ProcessEnv>) -> Result<Trigger, Error> {
    let direct_url = reader.optional_string("RESTATE_INGRESS_URL");
    let direct_token = reader.optional_secret("RESTATE_TOKEN")?;
    let url_param = reader.optional_string("RESTATE_INGRESS_URL_PARAM");
    let token_param = reader.optional_string("RESTATE_TOKEN_PARAM");
    let parameters = ssm_if(url_param.is_some() || token_param.is_some()).await?;
    // Both parameters in one SSM call (decryption leaves a plain String as it is): one round
    // trip of the init instead of two.
    let names: Vec<&str> = [&url_param, &token_param]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect();
    let mut fetched = match &parameters {
        Some(store) => store.get_many(&names, GetOptions::decrypted()).await?,
        None => Default::default(),
    };
    let mut from_ssm = |name: &Option<String>| name.as_ref().and_then(|name| fetched.remove(name));
    let url = match (direct_url, from_ssm(&url_param)) {
        (Some(url), _) => url,
        (None, Some(parameter)) => parameter.expose().to_owned(),
        (None, None) => {
            return Err(ConfigError::Missing {
                name: "RESTATE_INGRESS_URL (or RESTATE_INGRESS_URL_PARAM)".into(),
            }
            .into());
        }
    };
    let token = match (direct_token, from_ssm(&token_param)) {
        (Some(token), _) => Some(token),
        (None, Some(parameter)) => Some(parameter.secret().clone()),
        (None, None) => None,
    };
    Ok(Trigger::new(&url, token)?)
}

async fn service(reader: &ConfigReader<ProcessEnv>) -> Result<(), Error> {
    // The workflow flushes its closing metrics itself (`metrics::flush_now`): Restate's Lambda
    // endpoint runs its own invocation loop.
    metrics::init(&metrics::MetricsSettings::from_source(
        &ProcessEnv,
        "finance-closing",
    ))?;
    metrics::describe_histogram!(
        "ClosingDuration",
        metrics::Unit::Seconds,
        "from the job's submission to the recorded outcome"
    );
    let config = ServiceConfig::from_source(ProcessEnv)?;
    let in_lambda = reader.optional_string("AWS_LAMBDA_RUNTIME_API").is_some();
    // SSM only when a secret is given as a parameter name (always the case in AWS).
    let parameters = ssm_if(
        in_lambda
            || reader.optional_string("PG_PASSWORD_PARAM").is_some()
            || reader.optional_string("ORACLE_PASSWORD_PARAM").is_some(),
    )
    .await?;
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
