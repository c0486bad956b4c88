//! flowtrail-sample: a deterministic generator of AWS VPC Flow Logs and CloudTrail in the S3
//! delivery layouts, with labeled attack scenarios and benign look-alikes.
//!
//! Same seed, same bytes. Modules, one concern each:
//! - [`prng`]: the seeded random source; [`time`]: UTC civil time; [`json`]: ordered JSON;
//! - [`fleet`]: accounts, VPCs, subnets, interfaces, peers; [`traffic`]: normal flows;
//! - [`flowlog`]: flow-log records and text files; [`trail_events`]: CloudTrail events;
//!   [`cloudtrail`]: CloudTrail log and digest files; [`layout`]: S3 keys; [`output`]: gzip files;
//! - [`scenarios`]: the labeled attacks; [`sample`]: the committed sample; [`bench`](mod@bench): the large set;
//! - [`unseen`]: a seeded evaluation scenario with a different fleet and attack plan per seed.

pub mod bench;
pub mod cloudtrail;
pub mod fleet;
pub mod flowlog;
pub mod json;
pub mod launches;
pub mod layout;
pub mod output;
pub mod prng;
pub mod sample;
pub mod scenarios;
pub mod time;
pub mod traffic;
pub mod trail_events;
pub mod unseen;

pub use bench::{BenchSpec, write_bench};
pub use output::Stats;
pub use sample::{SampleReport, write_sample};
pub use unseen::{ScenarioReport, ScenarioSpec, write_scenario};

/// The default (v2) flow-log header line.
pub const DEFAULT_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";
