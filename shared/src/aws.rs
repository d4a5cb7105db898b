//! The one place that builds AWS SDK clients.
//!
//! Functions load the SDK configuration once at start-up with [`load_sdk_config`] and build the
//! clients they need from it, so every client honours the same region, credentials and endpoint
//! override. `AWS_ENDPOINT_URL` (and the per-service `AWS_ENDPOINT_URL_S3`, ...) are read by the
//! SDK itself; this module adds what the SDK does not do on its own: path-style S3 addressing when
//! an endpoint is overridden, because local emulators (moto) cannot serve virtual-hosted buckets.

use aws_config::{BehaviorVersion, SdkConfig};

use crate::config::VarSource;

/// Loads the SDK configuration from the standard provider chain (environment, profile, the
/// Lambda execution role). Call once per process and share the result.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// An SSM client.
pub fn ssm_client(sdk: &SdkConfig) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(sdk)
}

/// An SQS client.
pub fn sqs_client(sdk: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(sdk)
}

/// An S3 client, path-style when the endpoint is overridden (see [`s3_endpoint_overridden`]).
pub fn s3_client(sdk: &SdkConfig) -> aws_sdk_s3::Client {
    let path_style = s3_endpoint_overridden(sdk, &crate::config::ProcessEnv);
    let config = aws_sdk_s3::config::Builder::from(sdk)
        .force_path_style(path_style)
        .build();
    aws_sdk_s3::Client::from_conf(config)
}

/// Whether S3 requests go to an endpoint other than AWS's own: either the SDK-wide override
/// (`AWS_ENDPOINT_URL`, or one set on the loader) or the S3-only `AWS_ENDPOINT_URL_S3`.
pub fn s3_endpoint_overridden(sdk: &SdkConfig, env: &impl VarSource) -> bool {
    sdk.endpoint_url().is_some()
        || env
            .var("AWS_ENDPOINT_URL_S3")
            .is_some_and(|url| !url.trim().is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sdk_with_endpoint(endpoint: Option<&str>) -> SdkConfig {
        let mut builder = SdkConfig::builder().behavior_version(BehaviorVersion::latest());
        if let Some(url) = endpoint {
            builder = builder.endpoint_url(url);
        }
        builder.build()
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
