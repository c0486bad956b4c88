//! The responder's error type.

use std::path::PathBuf;

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
    /// An AWS call failed.
    #[error("{op} {target}: {reason}")]
    Aws {
        /// The API call (`DetachInstances`, …).
        op: &'static str,
        /// What it was about (instance, group, queue).
        target: String,
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
    /// An AWS error from an SDK error, keeping its full context.
    pub fn aws<E: std::error::Error>(op: &'static str, target: impl Into<String>, e: E) -> Self {
        RespondError::Aws {
            op,
            target: target.into(),
            reason: aws_sdk_ec2::error::DisplayErrorContext(e).to_string(),
        }
    }
}
