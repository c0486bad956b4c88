//! The responder's error type.

use std::path::PathBuf;

// The SDK's shared smithy types, re-exported by every service crate (the same for EC2, Auto
// Scaling, SQS and SNS).
use aws_sdk_ec2::config::http::HttpResponse;
use aws_sdk_ec2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// A responder error.
#[derive(Debug, thiserror::Error)]
pub enum RespondError {
    /// The configuration file is invalid.
    #[error("config {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// An AWS call failed (after the SDK's retries), or answered without what it must return.
    /// `retryable` is the AWS edge's verdict ([`flowtrail_aws::classify`]) for a failed call:
    /// throttling, 5xx, timeouts and dropped connections may pass later; denied, missing or
    /// malformed will not (and neither will an answer without the expected field).
    #[error("{op} {target}: {reason}")]
    Aws {
        /// The API call (`DetachInstances`, …).
        op: &'static str,
        /// What it was about (instance, group, queue).
        target: String,
        /// Whether a later attempt may succeed.
        retryable: bool,
        /// The SDK's error with its context.
        reason: String,
    },
    /// The instance an alert names does not exist (terminated and gone, or another account).
    #[error("instance {0} not found")]
    NoInstance(String),
    /// Writing follow-up alerts to the JSONL file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

impl RespondError {
    /// An AWS error from a failed SDK call (any service), keeping its full context, retryable
    /// as the AWS edge classifies it.
    pub fn aws<E>(op: &'static str, target: impl Into<String>, e: SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        RespondError::Aws {
            op,
            target: target.into(),
            retryable: flowtrail_aws::classify(&e).is_retryable(),
            reason: DisplayErrorContext(&e).to_string(),
        }
    }

    /// Whether repeating the failed step may succeed (only a transient AWS failure). The queue
    /// loop and the Lambda handler leave every failed alert for a retry whatever this says; it
    /// tells a throttled call from a refused one for whoever reports or counts failures.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            RespondError::Aws {
                retryable: true,
                ..
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_ec2::operation::describe_instances::DescribeInstancesError;

    use super::*;

    type Failed = SdkError<DescribeInstancesError, HttpResponse>;

    #[test]
    fn aws_errors_carry_the_edge_verdict() {
        let timeout = RespondError::aws("DescribeInstances", "i-1", Failed::timeout_error("slow"));
        assert!(timeout.is_retryable(), "{timeout}");
        assert!(
            timeout.to_string().starts_with("DescribeInstances i-1: "),
            "{timeout}"
        );
        let unbuildable = RespondError::aws(
            "DescribeInstances",
            "i-1",
            Failed::construction_failure("bad"),
        );
        assert!(!unbuildable.is_retryable(), "{unbuildable}");
        assert!(!RespondError::NoInstance("i-1".into()).is_retryable());
    }
}
