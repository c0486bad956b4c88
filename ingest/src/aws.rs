//! AWS client construction for the ingest sources.
//!
//! Every client honours an endpoint override, so the same code runs against AWS in production
//! and against moto server in tests: `AWS_ENDPOINT_URL` (read by `aws-config`, as are the
//! per-service `AWS_ENDPOINT_URL_S3` and the profile's `endpoint_url`) or an explicit URL
//! (`--endpoint-url`), which wins. With an override, S3 uses path-style addressing
//! (`http://host/bucket/key`), which emulators need.
//!
//! The HTTP client, the shared configuration and the retry classification are the AWS edge's
//! (`flowtrail-aws`), shared with the alert sinks and the responder; this module adds the
//! clients of the services ingest reads.

use flowtrail_aws::SdkConfig;

pub use flowtrail_aws::{DEFAULT_REGION, http_client, sdk_config};

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
