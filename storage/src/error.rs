//! The lake error type: one enum, each variant naming the file, object or ledger record an
//! operator needs to find the problem.

use std::path::PathBuf;

/// A lake error: writing, reading or recovering the lake, or copying it to S3.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// A filesystem error in the lake (data files, ledger, quarantine, staging directory).
    #[error("{path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// A parquet error while writing or reading a lake file.
    #[error("{path}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// An Arrow error while partitioning, sorting or reading batches.
    #[error("{context}")]
    Arrow {
        /// What was being done.
        context: String,
        /// Cause.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// An S3 call of the lake (mirror, claims) failed after the SDK's retries.
    #[error("{op} {target}: {reason}")]
    Aws {
        /// The API operation.
        op: String,
        /// The object or prefix it was called on (`s3://bucket/key`).
        target: String,
        /// Whether repeating the call may succeed: the AWS edge's verdict
        /// ([`flowtrail_aws::classify`]: throttling, 5xx, timeouts and dropped connections are
        /// retryable; access denied, no such key or bucket are not).
        retryable: bool,
        /// The SDK's error, with context.
        reason: String,
    },
    /// A ledger record is unreadable or cannot be written.
    #[error("ledger {path}: {reason}")]
    Ledger {
        /// The ledger file (or its S3 key).
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl LakeError {
    /// Whether retrying the same operation may succeed (transient local I/O, an S3 call the AWS
    /// edge classifies as transient), as opposed to a lake that will fail the same way every
    /// time.
    pub fn is_retryable(&self) -> bool {
        match self {
            LakeError::Aws { retryable, .. } => *retryable,
            LakeError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::ConnectionReset
            ),
            _ => false,
        }
    }
}
