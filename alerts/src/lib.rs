//! flowtrail-alerts: what happens to findings after detection.
//!
//! - [`dedupe`]: one alert per (detector, dedupe key) within a window, with a count.
//! - [`suppress`]: operator suppression rules (detectors, CIDRs, principals, expiry) from a
//!   TOML file.
//! - [`sink`]: where alerts go (JSON lines file, SNS) and their Arrow form for the
//!   lake's `alerts` table.
//! - [`outbox`]: the durable outbox every SNS alert is written to before it is sent.
//! - [`ocsf`]: alerts as OCSF Detection Findings (`--alerts-format ocsf`, Security Lake export).
//! - [`pipeline`]: findings → suppress → dedupe → alerts.

pub mod cidr;
pub mod dedupe;
pub mod error;
pub mod ocsf;
pub mod outbox;
pub mod pipeline;
pub mod sink;
pub mod suppress;

pub use error::AlertsError;
pub use pipeline::AlertPipeline;
