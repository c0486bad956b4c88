//! The detect error type.

use std::path::PathBuf;

/// A detection error.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// A rule file is invalid (bad header, SQL that does not plan).
    #[error("rule {path}: {reason}")]
    Rule {
        /// The rule file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Running a rule failed.
    #[error("rule {id}")]
    Execute {
        /// Rule id.
        id: String,
        /// Cause.
        #[source]
        source: datafusion::error::DataFusionError,
    },
    /// A configuration file is invalid.
    #[error("config {path}: {reason}")]
    Config {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Baseline state could not be read or written.
    #[error("state {path}: {reason}")]
    State {
        /// The state file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Filesystem error.
    #[error("{path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Arrow error.
    #[error("{context}")]
    Arrow {
        /// What was being done.
        context: String,
        /// Cause.
        #[source]
        source: arrow::error::ArrowError,
    },
}
