//! AWS client construction for the ingest sources.
//!
//! Every client honours an endpoint override, so the same code runs against AWS in production
//! and against moto server in tests: `AWS_ENDPOINT_URL` (read by `aws-config`, as are the
//! per-service `AWS_ENDPOINT_URL_S3` and the profile's `endpoint_url`) or an explicit URL
//! (`--endpoint-url`), which wins. With an override, S3 uses path-style addressing
//! (`http://host/bucket/key`), which emulators need.
//!
//! HTTPS goes through rustls with the `ring` provider: the SDK's default (aws-lc) is a large
//! C build for no gain here.

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Region used when neither the environment nor the profile names one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The HTTP client of every AWS client: hyper with rustls (`ring` provider), HTTP and HTTPS.
pub fn http_client() -> aws_sdk_s3::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Load the shared AWS configuration: region, credentials (environment, profile, ECS container
/// role, instance profile), the standard retry mode and `endpoint_url` when given.
pub async fn sdk_config(endpoint_url: Option<&str>) -> SdkConfig {
    let http = http_client();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .retry_config(aws_config::retry::RetryConfig::standard());
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let conf = loader.load().await;
    if conf.region().is_some() {
        return conf;
    }
    conf.into_builder()
        .region(Region::new(DEFAULT_REGION))
        .build()
}

/// Whether an endpoint override is in force for S3 (explicit, `AWS_ENDPOINT_URL` or
/// `AWS_ENDPOINT_URL_S3`).
pub fn s3_endpoint_overridden(conf: &SdkConfig) -> bool {
    conf.endpoint_url().is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some_and(|v| !v.is_empty())
}

/// An S3 client for `conf`; path-style addressing when an endpoint override is set.
pub fn s3_client(conf: &SdkConfig) -> aws_sdk_s3::Client {
    let mut b = aws_sdk_s3::config::Builder::from(conf);
    if s3_endpoint_overridden(conf) {
        b = b.force_path_style(true);
    }
    aws_sdk_s3::Client::from_conf(b.build())
}

/// An SQS client for `conf`.
pub fn sqs_client(conf: &SdkConfig) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(conf)
}

/// A CloudWatch Logs client for `conf`.
pub fn logs_client(conf: &SdkConfig) -> aws_sdk_cloudwatchlogs::Client {
    aws_sdk_cloudwatchlogs::Client::new(conf)
}
