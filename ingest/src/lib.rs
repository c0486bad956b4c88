//! flowtrail-ingest: everything between a raw AWS log object and the parquet lake (the lake
//! itself, its commit protocol, quarantine files and crash points, is `flowtrail-lake`).
//!
//! - [`keys`] classifies an object key (flow log, CloudTrail, digest, Insights) and reads the
//!   account, region and date the AWS layouts put in it.
//! - [`compress`] opens an object's bytes (gzip, multi-member gzip, or plain) with a bound on
//!   the decompressed size.
//! - [`decode`] turns objects into Arrow batches of the lake schemas: flow logs (text with a
//!   header, header-less CloudWatch lines with a configured format, parquet) and CloudTrail.
//! - [`sink`] where decoders put batches and quarantine records (by object and line).
//! - [`dedupe`] drops CloudTrail events whose `eventID` was already seen.
//! - [`source`] lists input objects (a local folder in the AWS S3 layout, an S3 archive).
//! - [`aws`] builds the AWS clients (endpoint override, path-style S3 for emulators).
//! - [`replay`] runs decode in parallel and feeds the lake writer with bounded memory.
//! - [`fuzz`] the bodies of the fuzz targets in `fuzz/`, replayed over their corpus by tests.

pub mod aws;
pub mod compress;
pub mod decode;
pub mod dedupe;
pub mod error;
pub mod fuzz;
pub mod keys;
pub mod replay;
pub mod sink;
pub mod source;

pub use error::IngestError;
