//! Parquet flow-log decoder (in progress).
