//! Per-entity traffic baselines and the detectors that read them: `volume_spike` (bytes out
//! far above the entity's own profile for that hour of day, as GuardDuty's
//! TrafficVolumeUnusual) and `new_peer` (an external network the entity never reached out to
//! before, with real data sent to it).
//!
//! A profile is learned from history and persisted (see [`FlowBaselines::save`]); nothing is
//! alerted on during an entity's warm-up. An entity still warming up borrows its peer group's
//! profile (instances of the same subnet; the same /24 when the flow log has no subnet id),
//! so a new instance of an approved workload behaves like its siblings and is not alerted on.
//! A regular heavy job (a nightly backup) is normal because profiles are per hour of day.
//! Each profile is about 1.5 KiB serialized (a 1 KiB peer filter and 25 running statistics).

pub mod bloom;
pub mod hourly;
pub mod stats;

use std::collections::HashMap;
use std::path::Path;

use arrow::record_batch::RecordBatch;
use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use flowtrail_core::{Entity, EntityKind, Finding, Severity};

use crate::DetectError;
use bloom::Bloom;
use hourly::{EniAddrs, HourAgg, peer_net};
use stats::Ewma;

/// Tuning of the flow baselines.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BaselineOptions {
    /// Hours of an entity's own history before it is judged on it.
    pub warmup_hours: u32,
    /// `volume_spike`: least bytes out in an hour worth an alert.
    pub spike_min_bytes: u64,
    /// `volume_spike`: least ratio to the baseline.
    pub spike_min_ratio: f32,
    /// `volume_spike`: least distance from the baseline in standard deviations (log scale).
    pub spike_sigmas: f32,
    /// `new_peer`: least bytes sent to a new network in an hour worth an alert.
    pub new_peer_min_bytes: u64,
}

impl Default for BaselineOptions {
    fn default() -> Self {
        Self {
            warmup_hours: 24,
            spike_min_bytes: 5_000_000,
            spike_min_ratio: 10.0,
            spike_sigmas: 4.0,
            new_peer_min_bytes: 1_000_000,
        }
    }
}

/// What is known of one entity.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Profile {
    /// Instance or ENI.
    pub kind: EntityKind,
    /// Peer group.
    pub group: Option<String>,
    /// Hours with traffic seen.
    pub hours: u32,
    /// First event time seen (ms).
    pub first_ms: i64,
    /// ln(1 + bytes out) per hour of day.
    pub out_by_hour: Vec<Ewma>,
    /// ln(1 + bytes out) over all hours.
    pub out_all: Ewma,
    /// External networks the entity reached out to.
    pub peers: Bloom,
    /// Remote service ports the entity reached out to (at most [`MAX_PORTS`]).
    #[serde(default)]
    pub ports: Vec<i32>,
}

/// Remote ports remembered per entity.
pub const MAX_PORTS: usize = 64;

impl Profile {
    fn new(kind: EntityKind, group: Option<String>, first_ms: i64) -> Self {
        Self {
            kind,
            group,
            hours: 0,
            first_ms,
            out_by_hour: vec![Ewma::default(); 24],
            out_all: Ewma::default(),
            peers: Bloom::default(),
            ports: Vec::new(),
        }
    }

    fn warm(&self, opts: &BaselineOptions) -> bool {
        self.hours >= opts.warmup_hours
    }

    /// (mean, std) of ln(1 + bytes out) expected at hour of day `h`, once that hour has been
    /// seen on two days at least (a nightly job is normal at its hour from its third night
    /// on; one day of history says too little about a spiky workload). A short history gets a
    /// floor on its spread (x1.6 in bytes).
    fn expected(&self, h: usize) -> Option<(f32, f32)> {
        match self.out_by_hour.get(h) {
            Some(e) if e.n >= 3 => Some((e.mean, e.std())),
            Some(e) if e.n >= 2 => Some((e.mean, e.std().max(0.5))),
            _ => None,
        }
    }
}

/// The flow baselines of every entity.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct FlowBaselines {
    #[serde(skip)]
    opts: BaselineOptions,
    profiles: HashMap<String, Profile>,
    #[serde(skip)]
    enis: EniAddrs,
}

fn hour_of_day(ms: i64) -> usize {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .map(|t| t.hour() as usize)
        .unwrap_or(0)
}

/// `12.3 MB`, `4.1 GB`, `512 B`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1000.0 && u < UNITS.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

fn ln1p(x: u64) -> f32 {
    (x as f64).ln_1p() as f32
}

impl FlowBaselines {
    /// Empty baselines.
    pub fn new(opts: BaselineOptions) -> Self {
        Self {
            opts,
            ..Default::default()
        }
    }

    /// Entities with a profile.
    pub fn len(&self) -> usize {
        self.profiles.len()
    }

    /// Whether there are no profiles.
    pub fn is_empty(&self) -> bool {
        self.profiles.is_empty()
    }

    /// A profile.
    pub fn profile(&self, entity: &str) -> Option<&Profile> {
        self.profiles.get(entity)
    }

    /// The group's expectation at hour `h` from its warm members: the median mean and the
    /// largest spread, or None when fewer than two members are warm.
    fn group_expected(&self, group: &str, h: usize, skip: &str) -> Option<(f32, f32)> {
        let mut means: Vec<(f32, f32)> = self
            .profiles
            .iter()
            .filter(|(k, p)| {
                k.as_str() != skip && p.group.as_deref() == Some(group) && p.warm(&self.opts)
            })
            .filter_map(|(_, p)| p.expected(h))
            .collect();
        if means.len() < 2 {
            return None;
        }
        means.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mid = means[means.len() / 2].0;
        let spread = means.iter().map(|m| m.1).fold(0.0, f32::max);
        Some((mid, spread))
    }

    /// Whether a warm member of `group` knows the network, and the port, and whether the
    /// group has any warm member.
    fn group_knows(
        &self,
        group: Option<&str>,
        net: &str,
        port: i32,
        skip: &str,
    ) -> (bool, bool, bool) {
        let (mut any_warm, mut net_known, mut port_known) = (false, false, false);
        for (k, p) in &self.profiles {
            if k == skip || group.is_none() || p.group.as_deref() != group || !p.warm(&self.opts) {
                continue;
            }
            any_warm = true;
            net_known |= p.peers.contains(net.as_bytes());
            port_known |= p.ports.contains(&port);
        }
        (net_known, port_known, any_warm)
    }

    /// Close one hour of flows: judge every entity against its baseline, then learn the hour.
    pub fn close_hour(&mut self, hour_start_ms: i64, batches: &[RecordBatch]) -> Vec<Finding> {
        let mut enis = std::mem::take(&mut self.enis);
        let aggs = hourly::aggregate(batches, &mut enis);
        self.enis = enis;
        let h = hour_of_day(hour_start_ms);
        let mut findings = Vec::new();
        let mut entities: Vec<(&String, &HourAgg)> = aggs.iter().collect();
        entities.sort_by(|a, b| a.0.cmp(b.0));
        for (entity, agg) in &entities {
            findings.extend(self.judge(entity, agg, h));
        }
        for (entity, agg) in entities {
            self.learn(entity, agg, h);
        }
        findings
    }

    fn judge(&self, entity: &str, agg: &HourAgg, h: usize) -> Vec<Finding> {
        let o = &self.opts;
        let mut out = Vec::new();
        let profile = self.profiles.get(entity);
        let kind = agg.kind.unwrap_or(EntityKind::Eni);
        let own_warm = profile.is_some_and(|p| p.warm(o));
        let own = profile.filter(|_| own_warm).and_then(|p| p.expected(h));
        let expected = match own {
            Some(e) => Some((e, "own")),
            None => agg
                .group
                .as_deref()
                .and_then(|g| self.group_expected(g, h, entity))
                .map(|e| (e, "peer group")),
        };
        let base = |kind_id: &str,
                    sev: Severity,
                    title: String,
                    key: String,
                    evidence: serde_json::Value| Finding {
            detector: kind_id.to_string(),
            severity: sev,
            title,
            account_id: agg.account_id.clone(),
            region: agg.region.clone(),
            entity: Entity {
                kind,
                id: entity.to_string(),
            },
            first_seen_ms: agg.first_ms,
            last_seen_ms: agg.last_ms,
            dedupe_key: key,
            evidence,
        };
        if let Some(((mean, std), source)) = expected {
            let x = ln1p(agg.bytes_out);
            let ratio = ((x - mean) as f64).exp() as f32;
            if agg.bytes_out >= o.spike_min_bytes
                && ratio >= o.spike_min_ratio
                && x > mean + o.spike_sigmas * std
            {
                let typical = (mean as f64).exp_m1().max(0.0) as u64;
                let mut top: Vec<(&String, &(u64, i32))> = agg.ext_out.iter().collect();
                top.sort_by(|a, b| b.1.0.cmp(&a.1.0).then(a.0.cmp(b.0)));
                let top: Vec<serde_json::Value> = top
                    .iter()
                    .take(3)
                    .map(|(a, (b, p))| serde_json::json!({"remote": a, "bytes": b, "port": p}))
                    .collect();
                let sev = if ratio >= 100.0 || agg.bytes_out >= 10_000_000_000 {
                    Severity::High
                } else {
                    Severity::Medium
                };
                out.push(base(
                    "volume_spike",
                    sev,
                    format!("{entity} sent {} in an hour, {ratio:.0}x its usual", human_bytes(agg.bytes_out)),
                    entity.to_string(),
                    serde_json::json!({
                        "bytes_out": agg.bytes_out, "baseline_bytes_out": typical, "ratio": (ratio * 10.0).round() / 10.0,
                        "baseline": source, "hour_of_day": h, "top_peers": top, "peers": agg.peers.len(),
                    }),
                ));
            }
        }
        // new_peer: an external network neither the entity nor its group ever reached, with
        // real data sent to it or on a service port none of them uses (a reverse shell on 4444).
        let mut news: Vec<(&String, &(u64, i32))> = agg.ext_out.iter().collect();
        news.sort_by(|a, b| a.0.cmp(b.0));
        for (remote, (bytes, port)) in news {
            let net = peer_net(remote);
            let own_knows = profile.is_some_and(|p| p.peers.contains(net.as_bytes()));
            let own_port = profile.is_some_and(|p| p.ports.contains(port));
            let (group_net, group_port, group_warm) =
                self.group_knows(agg.group.as_deref(), &net, *port, entity);
            if own_knows || group_net || !(own_warm || group_warm) {
                continue;
            }
            let new_port = !own_port && !group_port;
            if *bytes < o.new_peer_min_bytes && !new_port {
                continue;
            }
            let sev = if *bytes >= 100_000_000 {
                Severity::High
            } else {
                Severity::Medium
            };
            out.push(base(
                "new_peer",
                sev,
                format!("{entity} sent {} to {remote}:{port}, a network it never talked to", human_bytes(*bytes)),
                format!("{entity}|{net}"),
                serde_json::json!({"remote": remote, "remote_port": port, "network": net, "bytes_out": bytes, "new_port": new_port}),
            ));
        }
        out
    }

    fn learn(&mut self, entity: &str, agg: &HourAgg, h: usize) {
        let kind = agg.kind.unwrap_or(EntityKind::Eni);
        let p = self
            .profiles
            .entry(entity.to_string())
            .or_insert_with(|| Profile::new(kind, agg.group.clone(), agg.first_ms));
        let mut x = ln1p(agg.bytes_out);
        if let Some((m, s)) = p.expected(h).filter(|_| p.warm(&self.opts)) {
            // Do not learn an attack: clip what is learned to the alert threshold.
            x = x.min(m + self.opts.spike_sigmas * s.max(0.5));
        }
        if let Some(e) = p.out_by_hour.get_mut(h) {
            e.push(x);
        }
        p.out_all.push(x);
        p.hours = p.hours.saturating_add(1);
        if p.group.is_none() {
            p.group = agg.group.clone();
        }
        let mut ext: Vec<(&String, &(u64, i32))> = agg.ext_out.iter().collect();
        ext.sort();
        for (remote, (_, port)) in ext {
            p.peers.insert(peer_net(remote).as_bytes());
            if p.ports.len() < MAX_PORTS && !p.ports.contains(port) {
                p.ports.push(*port);
            }
        }
    }

    /// Persist to `dir/flow_baselines.json` atomically.
    pub fn save(&self, dir: &Path) -> Result<(), DetectError> {
        crate::state::save_json(dir, "flow_baselines.json", self)
    }

    /// Restore from `dir` (empty baselines when there is no state yet).
    pub fn load(dir: &Path, opts: BaselineOptions) -> Result<Self, DetectError> {
        let mut b: FlowBaselines =
            crate::state::load_json(dir, "flow_baselines.json")?.unwrap_or_default();
        b.opts = opts;
        Ok(b)
    }
}
