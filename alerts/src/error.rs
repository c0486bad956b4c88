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
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Building the Arrow form failed.
    #[error("alerts batch: {0}")]
    Arrow(#[from] arrow::error::ArrowError),
}
