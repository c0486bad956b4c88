//! Decoders: raw objects into Arrow batches of the lake schemas.
//!
//! - [`flow`]: VPC Flow Logs text (header-driven, or header-less with a configured format).
//! - [`flow_parquet`]: VPC Flow Logs delivered as parquet.
//! - [`cloudtrail`]: CloudTrail documents, single events and CloudWatch subscription envelopes.
//!
//! Decoders never stop on a bad line: it goes to the [`crate::sink::DecodeSink`] and the
//! rest of the object is decoded. An error returned from a decoder means the object could not be
//! read on from that point; batches already handed to the sink stay valid.

pub mod cloudtrail;
pub mod flow;
pub mod flow_parquet;
