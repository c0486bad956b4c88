//! Per-entity traffic baselines and the detectors that read them: `volume_spike` (bytes out
//! far above the entity's own profile for that hour of day, as GuardDuty's
//! TrafficVolumeUnusual) and `new_peer` (an external network the entity never reached out to
//! before, with real data sent to it).
//!
//! A profile is learned from history and persisted (see [`FlowBaselines::save`]); nothing is
//! alerted on during an entity's warm-up. An entity still warming up (or a warm one at an hour
//! of day it has not seen twice yet) borrows its *peer group's* profile: the median of the warm
//! members' expectations for that hour, with the largest spread among them; `new_peer` also
//! counts a network or port as known when a warm member of the group knows it.
//!
//! Peer groups are *workload kinds*, not network places ([`groups`]): once a day (of event
//! time) the warm entities are clustered with k-means (linfa) on a small feature vector of
//! their profile — mean bytes out in each quarter of the day, the height of their busiest hour
//! over their average (a nightly job), the share of hours active, distinct peers and ports per
//! hour, and the share of bytes sent outside — and each profile keeps its cluster id. A new
//! entity is placed in the nearest cluster from its third hour on (and again every hour until
//! it is warm), so a new instance of the app tier borrows the app tier's profile even in
//! another subnet. An entity without a cluster (fewer than four warm entities, or a new one in
//! its first hours) falls back to its subnet (the /24 of its address when the flow log has no
//! subnet id). Clustering is deterministic: rows are sorted by entity id, k-means is seeded
//! with a fixed seed, clusters are numbered by their first member, so the same input gives
//! the same groups and the same findings. Spike evidence names the group (`peer_group`).
//!
//! A regular heavy job (a nightly backup) is normal because profiles are per hour of day.
//! Each profile is about 3.2 KiB of JSON (a 1 KiB peer filter, 2 KiB as hex, and 28 running
//! statistics).

pub mod bloom;
pub(crate) mod eni_addrs;
pub mod groups;
pub mod hourly;
mod peer_groups;
pub mod stats;

use std::collections::HashMap;
use std::path::Path;

use chrono::{DateTime, Timelike, Utc};
use serde::{Deserialize, Serialize};

use flowtrail_core::alert::StaticAttack;
use flowtrail_core::{Entity, EntityKind, Finding, Severity};

use crate::DetectError;
use crate::explain::band::{Band, Basis};
use crate::keep::Batches;
use bloom::Bloom;
use groups::GroupModel;
use hourly::{EniAddrs, HourAgg, peer_net};
use peer_groups::{Judging, PeerGroups};
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
    /// Last event time seen (ms).
    #[serde(default)]
    pub last_ms: i64,
    /// ln(1 + distinct remote addresses) per hour.
    #[serde(default)]
    pub peers_ln: Ewma,
    /// ln(1 + distinct ports) per hour.
    #[serde(default)]
    pub ports_ln: Ewma,
    /// Share of the bytes out sent to external addresses, per hour with bytes out.
    #[serde(default)]
    pub ext_share: Ewma,
    /// Workload cluster (see [`groups`]): the peer group when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<u32>,
}

/// Remote ports remembered per entity.
pub const MAX_PORTS: usize = 64;

/// Detector id: bytes out far above the entity's profile.
pub const VOLUME_SPIKE: &str = "volume_spike";
/// Detector id: data sent to a network the entity never talked to.
pub const NEW_PEER: &str = "new_peer";
/// `volume_spike`: Exfiltration (TA0010), Exfiltration Over Alternative Protocol (T1048) and
/// Automated Exfiltration (T1020).
pub const VOLUME_SPIKE_ATTACK: StaticAttack = StaticAttack {
    tactics: &["TA0010"],
    techniques: &["T1048", "T1020"],
};
/// `new_peer`: Command and Control (TA0011) over an Application Layer Protocol (T1071), and
/// Exfiltration (TA0010) Over C2 Channel (T1041).
pub const NEW_PEER_ATTACK: StaticAttack = StaticAttack {
    tactics: &["TA0011", "TA0010"],
    techniques: &["T1071", "T1041"],
};
/// The detectors of this module with their ATT&CK ids.
pub const DETECTORS: &[(&str, StaticAttack)] = &[
    (VOLUME_SPIKE, VOLUME_SPIKE_ATTACK),
    (NEW_PEER, NEW_PEER_ATTACK),
];

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
            last_ms: first_ms,
            peers_ln: Ewma::default(),
            ports_ln: Ewma::default(),
            ext_share: Ewma::default(),
            cluster: None,
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
    /// Workload clusters of the warm entities, when there are enough of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    groups: Option<GroupModel>,
}

/// A peer group: a workload cluster, or (no cluster yet) a subnet or /24.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum GroupKey<'a> {
    Cluster(u32),
    Net(&'a str),
}

impl GroupKey<'_> {
    fn has(&self, p: &Profile) -> bool {
        match self {
            GroupKey::Cluster(c) => p.cluster == Some(*c),
            GroupKey::Net(g) => p.group.as_deref() == Some(*g),
        }
    }

    fn name(&self) -> String {
        match self {
            GroupKey::Cluster(c) => format!("workload-{c}"),
            GroupKey::Net(g) => g.to_string(),
        }
    }
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

/// The entity of an hour being judged, and its aggregate.
struct Judged<'a> {
    entity: &'a str,
    agg: &'a HourAgg,
}

impl Judged<'_> {
    /// A finding about this entity over the hour's span.
    fn finding(
        &self,
        detector: &str,
        attack: StaticAttack,
        severity: Severity,
        title: String,
        dedupe_key: String,
        evidence: serde_json::Value,
    ) -> Finding {
        let agg = self.agg;
        Finding {
            detector: detector.to_string(),
            severity,
            title,
            account_id: agg.account_id.clone(),
            region: agg.region.clone(),
            entity: Entity {
                kind: agg.kind.unwrap_or(EntityKind::Eni),
                id: self.entity.to_string(),
            },
            first_seen_ms: agg.first_ms,
            last_seen_ms: agg.last_ms,
            dedupe_key,
            evidence,
            attack: attack.to_attack(),
        }
    }
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

    /// The workload clusters, when built.
    pub fn groups(&self) -> Option<&GroupModel> {
        self.groups.as_ref()
    }

    /// The peer group of an entity: its workload cluster, else its subnet (or /24).
    fn group_of<'a>(&self, profile: Option<&Profile>, agg: &'a HourAgg) -> Option<GroupKey<'a>> {
        match profile.and_then(|p| p.cluster) {
            Some(c) if self.groups.is_some() => Some(GroupKey::Cluster(c)),
            _ => agg.group.as_deref().map(GroupKey::Net),
        }
    }

    /// The peer group's name for an entity (`workload-N` or the subnet), if it has one.
    pub fn group_name(&self, entity: &str) -> Option<String> {
        let p = self.profiles.get(entity)?;
        match p.cluster {
            Some(c) if self.groups.is_some() => Some(GroupKey::Cluster(c).name()),
            _ => p.group.clone(),
        }
    }

    /// Close one hour of flows: judge every entity against its baseline, then learn the hour.
    pub fn close_hour(
        &mut self,
        hour_start_ms: i64,
        batches: &(impl Batches + ?Sized),
    ) -> Result<Vec<Finding>, DetectError> {
        self.close_hour_learned(hour_start_ms, batches, &EniAddrs::learn(batches)?)
    }

    /// [`Self::close_hour`] with the hour's ENI addresses already learned from the same
    /// batches (`Engine::judge_flows` learns them once for both flow detectors).
    pub fn close_hour_learned(
        &mut self,
        hour_start_ms: i64,
        batches: &(impl Batches + ?Sized),
        hour_enis: &EniAddrs,
    ) -> Result<Vec<Finding>, DetectError> {
        let aggs = hourly::aggregate_learned(batches, hour_enis, &mut self.enis)?;
        let h = hour_of_day(hour_start_ms);
        let mut findings = Vec::new();
        let mut entities: Vec<(&String, &HourAgg)> = aggs.iter().collect();
        entities.sort_by(|a, b| a.0.cmp(b.0));
        let peers = PeerGroups::build(&self.profiles, &self.opts, h);
        for (entity, agg) in &entities {
            findings.extend(self.judge(entity, agg, h, &peers));
        }
        for (entity, agg) in &entities {
            self.learn(entity, agg, h);
        }
        self.regroup(hour_start_ms, entities.iter().map(|(e, _)| e.as_str()));
        Ok(findings)
    }

    /// Recluster the warm entities once every [`groups::RECLUSTER_MS`] of event time (or
    /// while there is no model), then place the entities of this hour that are not warm
    /// yet in their nearest cluster.
    fn regroup<'a>(&mut self, hour_start_ms: i64, seen: impl Iterator<Item = &'a str>) {
        let due = match &self.groups {
            Some(m) => (hour_start_ms - m.built_ms).abs() >= groups::RECLUSTER_MS,
            None => {
                self.profiles
                    .values()
                    .filter(|p| p.warm(&self.opts))
                    .count()
                    >= groups::MIN_ENTITIES
            }
        };
        if due {
            self.recluster(hour_start_ms);
            return;
        }
        let Some(model) = &self.groups else {
            return;
        };
        for e in seen {
            if let Some(p) = self.profiles.get_mut(e)
                && !p.warm(&self.opts)
                && p.hours >= groups::MIN_HOURS_TO_ASSIGN
            {
                p.cluster = model.nearest(&groups::features(p));
            }
        }
    }

    /// Cluster the warm entities now (see [`groups`]) and place the others.
    pub fn recluster(&mut self, now_ms: i64) {
        let mut warm: Vec<&String> = self
            .profiles
            .iter()
            .filter(|(_, p)| p.warm(&self.opts))
            .map(|(k, _)| k)
            .collect();
        warm.sort();
        let rows: Vec<[f64; groups::FEATURES]> = warm
            .iter()
            .filter_map(|k| self.profiles.get(*k))
            .map(groups::features)
            .collect();
        let built = groups::cluster(&rows, now_ms);
        let labels: HashMap<String, u32> = match &built {
            Some((_, labels)) => warm
                .iter()
                .zip(labels)
                .map(|(k, l)| ((*k).clone(), *l))
                .collect(),
            None => HashMap::new(),
        };
        let model = built.map(|(m, _)| m);
        for (k, p) in self.profiles.iter_mut() {
            p.cluster = match (&model, labels.get(k)) {
                (_, Some(l)) => Some(*l),
                (Some(m), None) if p.hours >= groups::MIN_HOURS_TO_ASSIGN => {
                    m.nearest(&groups::features(p))
                }
                _ => None,
            };
        }
        if let Some(m) = &model {
            tracing::debug!(
                entities = m.entities,
                k = m.k(),
                silhouette = m.silhouette,
                "workload clusters rebuilt"
            );
        }
        self.groups = model;
    }

    fn judge(&self, entity: &str, agg: &HourAgg, h: usize, peers: &PeerGroups<'_>) -> Vec<Finding> {
        let o = &self.opts;
        let profile = self.profiles.get(entity);
        let own_warm = profile.is_some_and(|p| p.warm(o));
        let own = profile.filter(|_| own_warm).and_then(|p| p.expected(h));
        let group = self.group_of(profile, agg);
        let who = Judging { entity, profile };
        let expected = match own {
            Some(e) => Some((e, "own")),
            None => group
                .and_then(|g| peers.expected(g, who))
                .map(|e| (e, "peer group")),
        };
        let at = Judged { entity, agg };
        let mut out = Vec::new();
        if let Some((model, source)) = expected {
            out.extend(self.volume_spike(&at, h, model, source, group));
        }
        out.extend(self.new_peers(&at, (who, own_warm), group, peers));
        out
    }

    /// volume_spike: bytes out far above what the entity (or, cold, its peer group) sends at
    /// this hour of day, given `model` = (mean, std) of ln(1 + bytes) and its `source`.
    fn volume_spike(
        &self,
        at: &Judged<'_>,
        h: usize,
        (mean, std): (f32, f32),
        source: &str,
        group: Option<GroupKey<'_>>,
    ) -> Option<Finding> {
        let (o, entity, agg) = (&self.opts, at.entity, at.agg);
        let x = ln1p(agg.bytes_out);
        let ratio = ((x - mean) as f64).exp() as f32;
        let spike = agg.bytes_out >= o.spike_min_bytes
            && ratio >= o.spike_min_ratio
            && x > mean + o.spike_sigmas * std;
        if !spike {
            return None;
        }
        let typical = (mean as f64).exp_m1().max(0.0) as u64;
        let peer_group = group.filter(|_| source == "peer group").map(|g| g.name());
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
        let mut evidence = serde_json::json!({
            "bytes_out": agg.bytes_out, "baseline_bytes_out": typical, "ratio": (ratio * 10.0).round() / 10.0,
            "baseline": source, "hour_of_day": h, "top_peers": top, "peers": agg.peers.len(),
        });
        let basis = if source == "own" {
            Basis::Instance
        } else {
            Basis::PeerGroup
        };
        let band = Band::from_log_model(
            h as u32,
            (mean, std),
            o.spike_sigmas,
            agg.bytes_out,
            "bytes_out_per_hour",
            basis,
        );
        if let Some(obj) = evidence.as_object_mut() {
            obj.insert("band".into(), band.to_json());
            if let Some(g) = peer_group {
                obj.insert("peer_group".into(), g.into());
            }
        }
        Some(at.finding(
            VOLUME_SPIKE,
            VOLUME_SPIKE_ATTACK,
            sev,
            format!(
                "{entity} sent {} in an hour, {ratio:.0}x its usual",
                human_bytes(agg.bytes_out)
            ),
            entity.to_string(),
            evidence,
        ))
    }

    /// new_peer: an external network neither the entity nor its group ever reached, with
    /// real data sent to it or on a service port none of them uses (a reverse shell on 4444).
    fn new_peers(
        &self,
        at: &Judged<'_>,
        (who, own_warm): (Judging<'_>, bool),
        group: Option<GroupKey<'_>>,
        peers: &PeerGroups<'_>,
    ) -> Vec<Finding> {
        let (o, entity, profile) = (&self.opts, at.entity, who.profile);
        let mut out = Vec::new();
        let mut news: Vec<(&String, &(u64, i32))> = at.agg.ext_out.iter().collect();
        news.sort_by(|a, b| a.0.cmp(b.0));
        let group_warm = group.is_some_and(|g| peers.any_warm(g, who));
        for (remote, (bytes, port)) in news {
            let net = peer_net(remote);
            // Cheapest questions first; the group's Bloom filters last.
            if profile.is_some_and(|p| p.peers.contains(net.as_bytes()))
                || !(own_warm || group_warm)
            {
                continue;
            }
            let own_port = profile.is_some_and(|p| p.ports.contains(port));
            let group_port = group.is_some_and(|g| peers.knows_port(g, *port, who));
            let new_port = !own_port && !group_port;
            if *bytes < o.new_peer_min_bytes && !new_port {
                continue;
            }
            if group.is_some_and(|g| peers.knows_net(g, net, who)) {
                continue;
            }
            let sev = if *bytes >= 100_000_000 {
                Severity::High
            } else {
                Severity::Medium
            };
            out.push(at.finding(
                NEW_PEER,
                NEW_PEER_ATTACK,
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
        p.last_ms = p.last_ms.max(agg.last_ms);
        p.peers_ln.push(ln1p(agg.peers.len() as u64));
        p.ports_ln.push(ln1p(agg.ports.len() as u64));
        if agg.bytes_out > 0 {
            p.ext_share
                .push((agg.ext_bytes_out as f64 / agg.bytes_out as f64).min(1.0) as f32);
        }
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
