//! Network-behaviour detectors over flow logs, run by the engine on every closed hour:
//!
//! | id | what | state |
//! |---|---|---|
//! | `lateral_movement` | a tier reaching another tier on a port it never used ([`lateral`]) | tier edges, ≤ 4,096 |
//! | `disallowed_tier_flow` | an accepted flow the declared tier policy does not allow | none |
//! | `c2_beaconing` | regular small connections to one new external address for hours ([`beacon`]) | ≤ ~3 KiB per instance |
//! | `crypto_mining` | a long connection to a mining-pool port or address ([`mining`]) | none |
//! | `rogue_dns_resolver` | DNS to a resolver other than the VPC's or a declared one ([`dns`]) | none |
//! | `dns_tunnel` | DNS bytes far above the instance's norm ([`volume`]) | < 1 KiB per instance |
//! | `slow_exfiltration` | hours in a row of a few times the usual bytes to one new network | (same) |
//!
//! The hour's rows are read once ([`hour::scan`]: accepted TCP/UDP records, oriented client →
//! server and grouped per contact); each detector judges the grouped hour, then the stateful
//! ones learn it. State is one JSON file (`behaviour.json`) in the detection state folder,
//! saved and restored with the baselines, so a restart neither forgets what was learned nor
//! alerts again on what was.
//!
//! Settings ([`BehaviourOptions`]: tiers, allowed tier flows, resolvers, mining pools,
//! thresholds) come from `[detection.network]`; see `docs/detection.md`.

pub mod beacon;
pub mod config;
pub mod dns;
pub mod hour;
pub mod lateral;
pub mod mining;
pub mod net;
#[cfg(test)]
mod tests;
pub mod volume;

use std::path::Path;

use serde::{Deserialize, Serialize};

use flowtrail_core::alert::StaticAttack;
use flowtrail_core::{Entity, EntityKind, Finding, Severity};

use crate::DetectError;
use crate::baseline::eni_addrs::EniAddrs;
use crate::keep::Batches;
pub use config::{BehaviourOptions, Compiled};
use hour::Who;

const HOUR_MS: i64 = 3_600_000;
const STATE_FILE: &str = "behaviour.json";

/// The detectors of this module with their ATT&CK ids.
pub const DETECTORS: &[(&str, StaticAttack)] = &[
    (lateral::LATERAL, lateral::ATTACK),
    (lateral::DISALLOWED, lateral::ATTACK),
    (beacon::DETECTOR, beacon::ATTACK),
    (mining::DETECTOR, mining::ATTACK),
    (dns::DETECTOR, dns::ATTACK),
    (volume::DNS_TUNNEL, volume::DNS_TUNNEL_ATTACK),
    (volume::SLOW_EXFIL, volume::SLOW_EXFIL_ATTACK),
];

/// What the detectors learned, persisted.
#[derive(Debug, Default, Serialize, Deserialize)]
struct Saved {
    #[serde(default)]
    lateral: lateral::TierPairs,
    #[serde(default)]
    beacons: beacon::BeaconState,
    #[serde(default)]
    volume: volume::VolumeState,
}

/// The network-behaviour detectors and their state.
#[derive(Debug)]
pub struct Behaviour {
    opts: BehaviourOptions,
    compiled: Compiled,
    state: Saved,
}

impl Behaviour {
    /// Fresh detectors; `Err` when the options do not compile.
    pub fn new(opts: BehaviourOptions) -> Result<Self, DetectError> {
        Ok(Self {
            compiled: opts.compile()?,
            opts,
            state: Saved::default(),
        })
    }

    /// Restore from `dir` (fresh when nothing was saved).
    pub fn load(dir: &Path, opts: BehaviourOptions) -> Result<Self, DetectError> {
        let mut b = Self::new(opts)?;
        if let Some(s) = crate::state::load_json(dir, STATE_FILE)? {
            b.state = s;
        }
        Ok(b)
    }

    /// Persist to `dir/behaviour.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<(), DetectError> {
        crate::state::save_json(dir, STATE_FILE, &self.state)
    }

    /// Tier edges learned.
    pub fn known_edges(&self) -> usize {
        self.state.lateral.len()
    }

    /// One instance's beaconing state (for inspection and tests).
    pub fn beacons(&self, entity: &str) -> Option<&beacon::Beacons> {
        self.state.beacons.get(entity)
    }

    /// One instance's volume profile (for inspection and tests).
    pub fn volume(&self, entity: &str) -> Option<&volume::Volume> {
        self.state.volume.get(entity)
    }

    /// Judge one closed hour of flows, then learn it.
    pub fn close_hour(
        &mut self,
        hour_start_ms: i64,
        batches: &(impl Batches + ?Sized),
    ) -> Result<Vec<Finding>, DetectError> {
        self.close_hour_learned(hour_start_ms, batches, &EniAddrs::learn(batches)?)
    }

    /// [`Self::close_hour`] with the hour's ENI addresses already learned from the same
    /// batches.
    pub fn close_hour_learned(
        &mut self,
        hour_start_ms: i64,
        batches: &(impl Batches + ?Sized),
        enis: &EniAddrs,
    ) -> Result<Vec<Finding>, DetectError> {
        let h = hour::scan_learned(batches, enis)?;
        let warm_ms = i64::from(self.opts.warmup_hours) * HOUR_MS;
        let c = &self.compiled;
        let mut out = self.state.lateral.close_hour(hour_start_ms, &h, c, warm_ms);
        out.extend(
            self.state
                .beacons
                .close_hour(hour_start_ms, &h, &self.opts.beacon, warm_ms),
        );
        out.extend(mining::close_hour(&h, c, self.opts.mining_min_minutes));
        out.extend(dns::close_hour(&h, c));
        out.extend(self.state.volume.close_hour(
            hour_start_ms,
            &h,
            &self.opts.volume,
            self.opts.warmup_hours,
        ));
        Ok(out)
    }
}

/// An address standing for an entity when no interface names it.
fn ip_who(addr: &str) -> Who {
    Who {
        kind: EntityKind::Ip,
        id: addr.to_string(),
        account: None,
        region: None,
    }
}

/// A finding about `who`.
#[allow(clippy::too_many_arguments)]
fn finding(
    detector: &str,
    attack: StaticAttack,
    severity: Severity,
    who: &Who,
    title: String,
    dedupe_key: String,
    (first_seen_ms, last_seen_ms): (i64, i64),
    evidence: serde_json::Value,
) -> Finding {
    Finding {
        detector: detector.to_string(),
        severity,
        title,
        account_id: who.account.clone(),
        region: who.region.clone(),
        entity: Entity {
            kind: who.kind,
            id: who.id.clone(),
        },
        first_seen_ms,
        last_seen_ms: last_seen_ms.max(first_seen_ms),
        dedupe_key,
        evidence,
        attack: attack.to_attack(),
    }
}
