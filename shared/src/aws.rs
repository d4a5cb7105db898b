//! The one place that builds AWS SDK clients.
//!
//! Functions load the SDK configuration once, through [`Start::sdk`](crate::start::Start::sdk)
//! (which calls [`load_sdk_config`] on first use), and build the
//! clients they need from it, so every client honours the same region, credentials and endpoint
//! override. `AWS_ENDPOINT_URL` (and the per-service `AWS_ENDPOINT_URL_S3`, ...) are read by the
//! SDK itself; this module adds what the SDK does not do on its own: path-style S3 addressing when
//! an endpoint is overridden, because local emulators (moto) cannot serve virtual-hosted buckets.

use std::time::Duration;

use aws_config::environment::credentials::EnvironmentVariableCredentialsProvider;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};

use crate::config::VarSource;
use crate::http::process_root_store;
use crate::http::sdk::SdkHttpClient;
use crate::params::{DEFAULT_TTL, ParameterStore, SsmParameterSource};

/// Loads the SDK configuration from the standard provider chains (environment, profile,
/// container or instance metadata), with the suite's HTTP client. Call once per process and
/// share the result.
///
/// Lambda puts the region and the execution role's credentials in the environment, where both
/// chains look first anyway; when they are there they are used directly (see
/// [`EnvironmentShortcuts`]), which spares every cold start the construction of the chains'
/// STS and instance-metadata clients. The HTTP client is [`SdkHttpClient`] trusting
/// [`process_root_store`]: fails only when `SSL_CERT_FILE` names an unusable file.
pub async fn load_sdk_config() -> std::io::Result<SdkConfig> {
    let env = crate::config::ProcessEnv;
    let shortcuts = EnvironmentShortcuts::from_env(&env);
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(SdkHttpClient::new(process_root_store()?)?)
        .timeout_config(api_timeouts());
    if let Some(region) = shortcuts.region {
        loader = loader.region(region);
    }
    if shortcuts.credentials {
        loader = loader.credentials_provider(EnvironmentVariableCredentialsProvider::new());
    }
    Ok(loader.load().await)
}

/// What the environment settles before any provider chain runs: the same answers the chains
/// would give, since both look at these variables first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvironmentShortcuts {
    /// `AWS_REGION`, else `AWS_DEFAULT_REGION`, when set and not blank.
    pub region: Option<Region>,
    /// Whether `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY` are both set and not blank.
    pub credentials: bool,
}

impl EnvironmentShortcuts {
    /// Reads the variables from `env`.
    pub fn from_env(env: &impl VarSource) -> Self {
        Self {
            region: env
                .non_empty("AWS_REGION")
                .or_else(|| env.non_empty("AWS_DEFAULT_REGION"))
                .map(Region::new),
            credentials: env.non_empty("AWS_ACCESS_KEY_ID").is_some()
                && env.non_empty("AWS_SECRET_ACCESS_KEY").is_some(),
        }
    }
}

/// The longest an SSM, SQS or DynamoDB call takes, its retries included: a caller with a
/// deadline starts no such call later than this before it ([`api_timeouts`]).
pub const API_OPERATION_TIMEOUT: Duration = Duration::from_secs(15);

/// Timeouts of every AWS call but S3's: SSM, SQS, DynamoDB answer in milliseconds, so an
/// attempt that takes 5 s is stuck (a dropped connection, a NAT that forgot the flow) and is
/// retried, and the whole operation, retries included, ends after [`API_OPERATION_TIMEOUT`]
/// instead of the SDK's default of no operation timeout at all, which would hold a function
/// until Lambda kills it.
pub fn api_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(API_OPERATION_TIMEOUT)
        .build()
}

/// The longest an SQS or DynamoDB call an API request waits on takes, its retries included
/// ([`request_timeouts`]).
pub const REQUEST_OPERATION_TIMEOUT: Duration = Duration::from_secs(5);

/// Timeouts of the calls an API request waits on (the proxy's SQS and DynamoDB): those
/// services answer in milliseconds, so an attempt that takes 2 s is stuck and retried, and a
/// call with its retries ends after [`REQUEST_OPERATION_TIMEOUT`]. Two such calls in a row fit
/// in API Gateway's 29 s with most of it to spare, so a request can plan its calls to end
/// before its answer is due.
pub fn request_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(1))
        .operation_attempt_timeout(Duration::from_secs(2))
        .operation_timeout(REQUEST_OPERATION_TIMEOUT)
        .build()
}

/// `sdk` with [`request_timeouts`]: the configuration of the clients an API request waits on.
pub fn for_requests(sdk: &SdkConfig) -> SdkConfig {
    sdk.to_builder().timeout_config(request_timeouts()).build()
}

/// Timeouts of S3 calls: an attempt carries a whole object (run-colors publishes files of
/// up to a few hundred MB), so it may take a minute; the operation ends after three.
pub fn s3_timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3))
        .operation_attempt_timeout(Duration::from_secs(60))
        .operation_timeout(Duration::from_secs(180))
        .build()
}

/// An SSM client.
pub fn ssm_client(sdk: &SdkConfig) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(sdk)
}

/// The SSM parameter store every function reads its parameters through, with the default TTL.
pub fn ssm_parameter_store(sdk: &SdkConfig) -> ParameterStore<SsmParameterSource> {
    ParameterStore::new(SsmParameterSource::new(ssm_client(sdk)), DEFAULT_TTL)
}

/// An SQS client.
pub fn sqs_client(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(sdk)
}

/// A DynamoDB client.
#[cfg(feature = "idempotency")]
pub fn dynamodb_client(sdk: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(sdk)
}

/// An S3 client, path-style when the endpoint is overridden (see [`s3_endpoint_overridden`]).
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = s3_endpoint_overridden(sdk, &crate::config::ProcessEnv);
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(path_style)
        .timeout_config(s3_timeouts())
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Whether S3 requests go to an endpoint other than AWS's own: either the SDK-wide override
/// (`AWS_ENDPOINT_URL`, or one set on the loader) or the S3-only `AWS_ENDPOINT_URL_S3`.
pub fn s3_endpoint_overridden(sdk: &SdkConfig, env: &impl VarSource) -> bool {
    sdk.endpoint_url().is_some() || env.non_empty("AWS_ENDPOINT_URL_S3").is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn every_client_gets_connect_attempt_and_operation_timeouts() {
        let sdk = load_sdk_config().await.expect("sdk config");
        let timeouts = sdk.timeout_config().expect("timeouts set");
        assert_eq!(timeouts.operation_timeout(), Some(Duration::from_secs(15)));
        assert_eq!(
            timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(5))
        );
        assert_eq!(timeouts.connect_timeout(), Some(Duration::from_secs(3)));
        let ssm = ssm_client(&sdk);
        assert_eq!(
            ssm.config()
                .timeout_config()
                .and_then(|t| t.operation_timeout()),
            Some(Duration::from_secs(15))
        );
        let s3 = s3_client(&sdk);
        let s3_timeouts = s3.config().timeout_config().expect("S3 timeouts set");
        assert_eq!(
            s3_timeouts.operation_attempt_timeout(),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            s3_timeouts.operation_timeout(),
            Some(Duration::from_secs(180))
        );
    }

    fn sdk_with_endpoint(endpoint: Option<&str>) -> SdkConfig {
        let mut builder = SdkConfig::builder().behavior_version(BehaviorVersion::latest());
        if let Some(url) = endpoint {
            builder = builder.endpoint_url(url);
        }
        builder.build()
    }

    #[test]
    fn lambda_environment_settles_region_and_credentials() {
        let shortcuts = EnvironmentShortcuts::from_env(&[
            ("AWS_REGION", "eu-west-1"),
            ("AWS_DEFAULT_REGION", "us-east-1"),
            ("AWS_ACCESS_KEY_ID", "ASIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
            ("AWS_SESSION_TOKEN", "token"),
        ]);
        assert_eq!(shortcuts.region, Some(Region::new("eu-west-1")));
        assert!(shortcuts.credentials);
    }

    #[test]
    fn the_default_region_is_the_fallback_and_blanks_do_not_count() {
        let shortcuts = EnvironmentShortcuts::from_env(&[
            ("AWS_REGION", " "),
            ("AWS_DEFAULT_REGION", "ap-south-1"),
            ("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE"),
            ("AWS_SECRET_ACCESS_KEY", ""),
        ]);
        assert_eq!(shortcuts.region, Some(Region::new("ap-south-1")));
        assert!(
            !shortcuts.credentials,
            "a blank secret leaves the chain in charge"
        );
    }

    #[test]
    fn without_the_variables_the_chains_decide() {
        let shortcuts = EnvironmentShortcuts::from_env(&[("AWS_PROFILE", "dev")]);
        assert_eq!(
            shortcuts,
            EnvironmentShortcuts {
                region: None,
                credentials: false
            }
        );
    }

    #[test]
    fn path_style_is_used_when_the_sdk_endpoint_is_overridden() {
        let sdk = sdk_with_endpoint(Some("http://127.0.0.1:5000"));
        assert!(s3_endpoint_overridden(&sdk, &[("UNRELATED", "x")]));
    }

    #[test]
    fn path_style_is_used_when_only_the_s3_endpoint_is_overridden() {
        let sdk = sdk_with_endpoint(None);
        assert!(s3_endpoint_overridden(
            &sdk,
            &[("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:5000")]
        ));
    }

    #[test]
    fn virtual_hosted_style_is_kept_against_real_aws() {
        let sdk = sdk_with_endpoint(None);
        assert!(!s3_endpoint_overridden(
            &sdk,
            &[("AWS_ENDPOINT_URL_S3", " ")]
        ));
    }
}
