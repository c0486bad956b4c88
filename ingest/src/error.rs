//! The ingest error type: one enum, each variant carrying what an operator needs to find the
//! problem (object key, line, path).

use std::path::PathBuf;

// The SDK's shared smithy types, re-exported by every service crate (the same for SQS and
// CloudWatch Logs).
use aws_sdk_sqs::config::http::HttpResponse;
use aws_sdk_sqs::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

/// An ingest error.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// An object could not be read from its source.
    #[error("reading {key}: {source}")]
    Read {
        /// Object key.
        key: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// An S3 call about an object or a prefix failed (after the SDK's retries). `retryable` is
    /// the AWS edge's verdict ([`flowtrail_aws::classify`]): throttling, 5xx, timeouts and
    /// connection failures may pass on a later run; denied or missing will not.
    #[error("reading s3://{bucket}/{key}: {op}: {reason}")]
    S3 {
        /// The API operation (`GetObject`, `ListObjectsV2`).
        op: &'static str,
        /// The bucket.
        bucket: String,
        /// The object key (or the prefix listed).
        key: String,
        /// Whether a later attempt may succeed.
        retryable: bool,
        /// The SDK's error with its context.
        reason: String,
    },
    /// An object's compressed stream is corrupt or truncated.
    #[error("{key}: corrupt or truncated compressed data after {decompressed} bytes: {reason}")]
    Decompress {
        /// Object key.
        key: String,
        /// Bytes decompressed before the failure.
        decompressed: u64,
        /// Cause.
        reason: String,
    },
    /// An object decompresses to more than the configured limit (a gzip bomb, or a misfiled
    /// object).
    #[error("{key}: decompressed size exceeds the limit of {limit} bytes")]
    TooLarge {
        /// Object key.
        key: String,
        /// The limit.
        limit: u64,
    },
    /// An object as a whole cannot be decoded (wrong format, bad header, not JSON).
    #[error("{key}: {reason}")]
    Format {
        /// Object key.
        key: String,
        /// What is wrong.
        reason: String,
    },
    /// One line of an object cannot be decoded.
    #[error("{key} line {line}: {reason}")]
    Parse {
        /// Object key.
        key: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        reason: String,
    },
    /// An Arrow error while building a batch.
    #[error("{context}")]
    Arrow {
        /// What was being done.
        context: String,
        /// Cause.
        #[source]
        source: arrow::error::ArrowError,
    },
    /// A parquet error while writing or reading a file.
    #[error("{path}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A filesystem error in the lake or a local source.
    #[error("{path}")]
    Io {
        /// The path.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Detection (or another observer of the batches) failed.
    #[error("processing {key}: {reason}")]
    Observer {
        /// Object being processed.
        key: String,
        /// What failed.
        reason: String,
    },
    /// An AWS API call (SQS, CloudWatch Logs) failed (after the SDK's retries). `retryable` is
    /// the AWS edge's verdict ([`flowtrail_aws::classify`]), as for [`IngestError::S3`].
    #[error("{op} {target}: {reason}")]
    Aws {
        /// The API operation.
        op: String,
        /// What it was called on (queue URL, log group).
        target: String,
        /// Whether a later attempt may succeed.
        retryable: bool,
        /// The SDK's error, with context.
        reason: String,
    },
    /// Writing, reading or recovering the lake failed (its error names the file or key).
    #[error(transparent)]
    Lake(#[from] flowtrail_lake::LakeError),
}

impl IngestError {
    /// An [`IngestError::Aws`] for a failed SDK call `op` on `target` (queue URL, log group):
    /// the SDK's error with its context in the message, retryable as the AWS edge classifies it
    /// (throttling, 5xx, timeouts, dropped connections; not denied, missing or malformed).
    pub fn aws<E>(op: &str, target: &str, e: &SdkError<E, HttpResponse>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        IngestError::Aws {
            op: op.to_string(),
            target: target.to_string(),
            retryable: flowtrail_aws::classify(e).is_retryable(),
            reason: DisplayErrorContext(e).to_string(),
        }
    }

    /// Whether retrying the same operation may succeed (a transient S3, SQS or CloudWatch Logs
    /// failure, transient local I/O), as opposed to input or a refusal that will fail the same
    /// way every time.
    pub fn is_retryable(&self) -> bool {
        match self {
            IngestError::S3 { retryable, .. } | IngestError::Aws { retryable, .. } => *retryable,
            IngestError::Read { source, .. } | IngestError::Io { source, .. } => matches!(
                source.kind(),
                std::io::ErrorKind::TimedOut
                    | std::io::ErrorKind::WouldBlock
                    | std::io::ErrorKind::ConnectionReset
            ),
            IngestError::Lake(e) => e.is_retryable(),
            _ => false,
        }
    }

    /// Whether this error is about the input object itself (quarantine it and go on) rather than
    /// about flowtrail's own environment (lake unwritable: stop).
    pub fn is_input_error(&self) -> bool {
        matches!(
            self,
            IngestError::Decompress { .. }
                | IngestError::TooLarge { .. }
                | IngestError::Format { .. }
                | IngestError::Parse { .. }
                | IngestError::Read { .. }
                | IngestError::S3 { .. }
        )
    }
}
