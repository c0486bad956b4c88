//! flowtrail-detect: turns batches of `flows` and `cloudtrail` rows into findings.
//!
//! - [`engine`]: event-time hours with a watermark and grace period; closes an hour, runs
//!   everything over it.
//! - [`rules`]: SQL rules (`rules/*.sql`, one rule a file, a header then DataFusion SQL).
//! - [`baseline`]: per-instance traffic profiles, `volume_spike` and `new_peer`.
//! - [`recon`]: `api_recon`, per-principal.
//! - [`routine`]: routine change is not an attack (learned change actors).
//! - [`sequence`]: `attack_sequence`, alerts on one entity that form a known attack path.
//! - [`fence`]: `unexpected_resource`, what should not be in a watched subnet.
//! - [`behaviour`]: network behaviour over flows: lateral movement, tier policy, beaconing,
//!   mining, rogue DNS resolvers.
//! - [`explain`]: every finding's `why`, `next_steps`, evidence SQL and rows.
//! - [`inventory`]: interface → instance, subnet, VPC, tags, with validity times.
//! - [`keep`]: the columns and batches the engine holds of an open hour.
//! - [`spill`]: held rows on local disk when they outgrow the memory budget.
//! - [`state`]: baselines on disk.
pub mod baseline;
pub mod behaviour;
mod bounded;
pub mod engine;
pub mod error;
pub mod explain;
pub mod fence;
pub mod inventory;
pub mod keep;
pub mod recon;
pub mod routine;
pub mod rules;
pub mod sequence;
pub mod sigma;
pub mod spill;
pub mod state;

pub use engine::{Engine, EngineOptions};
pub use error::DetectError;
pub use fence::FenceConfig;
#[cfg(test)]
mod engine_tests;
#[cfg(test)]
pub(crate) mod testutil;
