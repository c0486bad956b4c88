//! The AWS edge: what every flowtrail crate that talks to AWS shares, written once.
//!
//! - [`http_client`]: hyper with rustls and the `ring` provider, for HTTP and HTTPS. The SDK's
//!   default TLS stack (aws-lc) is a large C build for no gain here.
//! - [`sdk_config`]: region, credentials (environment, profile, ECS task role, instance
//!   profile), the standard retry mode and the endpoint override. Every client honours an
//!   override (`AWS_ENDPOINT_URL`, the per-service variables, the profile's `endpoint_url`, or
//!   an explicit URL, which wins), so the same code runs against AWS in production and against
//!   moto server in tests. Without a region anywhere, [`DEFAULT_REGION`].
//! - [`classify`]: one answer to "may this failed call succeed if repeated?", for any service,
//!   so a throttled `GetObject` and a throttled `PublishBatch` are treated alike. Its callers:
//!   the S3, SQS and CloudWatch Logs sources (`flowtrail-ingest`: `IngestError::S3` and
//!   `IngestError::Aws` carry the verdict), the SNS sink (`flowtrail-alerts`), the lake's own
//!   S3 calls, its mirror and claims (`flowtrail-lake`, through `S3Url::sdk_error`) and the
//!   responder's EC2, Auto Scaling, SQS and SNS calls (`flowtrail-respond`, through
//!   `RespondError::aws`). See [`retry`].
//!
//! This crate depends on no service SDK (`aws-sdk-s3`, `aws-sdk-ec2`, ...): the service clients
//! stay with the crates that call them, and a crate that needs only S3 does not build EC2.

pub mod config;
pub mod retry;
#[cfg(any(test, feature = "test-util"))]
pub mod test_util;

pub use aws_config::SdkConfig;
pub use aws_smithy_types::error::display::DisplayErrorContext;
pub use config::{DEFAULT_REGION, http_client, sdk_config};
pub use retry::{Failure, classify};
