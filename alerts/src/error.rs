//! The alerts error type.

use std::path::PathBuf;

/// An alerts error.
#[derive(Debug, thiserror::Error)]
pub enum AlertsError {
    /// The suppression file is invalid.
    #[error("suppression file {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Writing alerts failed.
    #[error("{path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Publishing to SNS failed (the alerts stay in the outbox).
    #[error("sns publish to {topic}: {reason}")]
    Sns {
        /// Topic ARN.
        topic: String,
        /// What failed.
        reason: String,
    },
    /// A sink shared between owners was poisoned by a panic.
    #[error("alert sink unusable: {0}")]
    Poisoned(String),
    /// Building the Arrow form failed.
    #[error("alerts batch: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}
