//! `unexpected_resource`: watch the fence of private subnets. Anything other than the approved
//! workload that appears in a watched subnet is reported at once.
//!
//! Two signals, judged per closed hour of event time (CloudTrail rows of the hour first, then
//! its flows):
//!
//! - **A launch outside the allow-list** (CloudTrail): a successful `RunInstances` placing an
//!   instance in a watched subnet with an image, instance profile, launch template or tags not
//!   approved for that subnet ([`config::SubnetFence`]), or a `CreateNetworkInterface` there by
//!   a caller not in `eni_creators`. Alerted whatever the warm-up, with the unmet criteria as
//!   evidence. An approved launch (the Auto Scaling group of an approved workload scaling out)
//!   is remembered and never alerted on, by CloudTrail or by flows.
//! - **A new talker** (flow logs): a network interface first seen in a watched subnet after
//!   that subnet's warm-up (`warmup_hours` from the first flow seen there; interfaces that talk
//!   during it are the existing population) and with no launch seen for it or its instance.
//!
//! Which subnet a flow record belongs to: its `subnet_id` (flow-log formats v3 and later), else
//! the subnet CloudTrail gave for its interface (`RunInstances` `networkInterfaceSet`,
//! `CreateNetworkInterface` response) or for its instance. When none is known (a v2 flow log
//! from an interface whose creation CloudTrail never showed), the record is not judged and is
//! counted in [`Fence::unknown_subnet_rows`]: the fence then rests on the CloudTrail signal
//! alone. Only subnets listed in the configuration are watched.
//!
//! State (the known interfaces, the launches seen, each subnet's warm-up start) is saved with
//! the baselines as `fence_state.json` and restored on the next run.

pub mod config;
pub mod launch;

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::{Int64Type, TimestampMillisecondType};
use serde::{Deserialize, Serialize};

use flowtrail_core::alert::StaticAttack;
use flowtrail_core::schema::flows::col as fcol;
use flowtrail_core::schema::{ACCOUNT_ID, EVENT_TIME, REGION};
use flowtrail_core::{Entity, EntityKind, Finding};

use crate::DetectError;
use crate::keep::Batches;
pub use config::{FenceConfig, LaunchFacts, SubnetFence};
use launch::{LaunchEvent, LaunchKind, Launched};

/// The detector id.
pub const DETECTOR: &str = "unexpected_resource";
/// Defense Evasion (TA0005) and Persistence (TA0003): Modify Cloud Compute Infrastructure
/// (T1578), Create Cloud Instance (T1578.002).
pub const ATTACK: StaticAttack = StaticAttack {
    tactics: &["TA0005", "TA0003"],
    techniques: &["T1578", "T1578.002"],
};
const HOUR_MS: i64 = 3_600_000;
const STATE_FILE: &str = "fence_state.json";

/// A launch seen in a watched subnet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SeenLaunch {
    subnet: String,
    approved: bool,
    event_id: Option<String>,
}

/// An interface known to talk in a watched subnet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct KnownEni {
    subnet: String,
    first_ms: i64,
    last_ms: i64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct FenceState {
    /// Watched subnet → start of the hour its first flow was seen (its warm-up start).
    watch_started: BTreeMap<String, i64>,
    /// Interfaces known to talk in a watched subnet.
    known: BTreeMap<String, KnownEni>,
    /// Interface → subnet, from CloudTrail launches into watched subnets.
    eni_subnet: BTreeMap<String, String>,
    /// Instance or interface id → the launch that created it.
    launched: BTreeMap<String, SeenLaunch>,
    /// Flow rows whose subnet was unknown.
    unknown_subnet_rows: u64,
}

/// The fence detector.
#[derive(Debug)]
pub struct Fence {
    config: FenceConfig,
    state: FenceState,
}

/// One interface's traffic in the hour.
#[derive(Default)]
struct Talk {
    subnet: String,
    instance: Option<String>,
    account: Option<String>,
    region: Option<String>,
    first_ms: i64,
    last_ms: i64,
    flows: u64,
    bytes: i64,
    peers: BTreeSet<String>,
}

fn s<'a>(b: &'a RecordBatch, n: &str) -> Option<&'a StringArray> {
    b.column_by_name(n).and_then(|c| c.as_string_opt::<i32>())
}

fn get(a: Option<&StringArray>, i: usize) -> Option<&str> {
    a.and_then(|a| if a.is_null(i) { None } else { Some(a.value(i)) })
}

impl Fence {
    /// A fence with no history.
    pub fn new(config: FenceConfig) -> Self {
        Self {
            config,
            state: FenceState::default(),
        }
    }

    /// Restore the state saved in `dir`, if any.
    pub fn load(dir: &Path, config: FenceConfig) -> Result<Self, DetectError> {
        let state = crate::state::load_json(dir, STATE_FILE)?.unwrap_or_default();
        Ok(Self { config, state })
    }

    /// Save the state to `dir/fence_state.json`.
    pub fn save(&self, dir: &Path) -> Result<(), DetectError> {
        crate::state::save_json(dir, STATE_FILE, &self.state)
    }

    /// The configuration.
    pub fn config(&self) -> &FenceConfig {
        &self.config
    }

    /// Flow rows not judged because their subnet was unknown.
    pub fn unknown_subnet_rows(&self) -> u64 {
        self.state.unknown_subnet_rows
    }

    /// Interfaces known to talk in watched subnets.
    pub fn known_interfaces(&self) -> usize {
        self.state.known.len()
    }

    /// Judge one closed hour: its CloudTrail launches, then its flows.
    pub fn close_hour(
        &mut self,
        hour_start_ms: i64,
        flows: &(impl Batches + ?Sized),
        cloudtrail: &[RecordBatch],
    ) -> Result<Vec<Finding>, DetectError> {
        let mut out = Vec::new();
        for l in launch::launches(cloudtrail) {
            for r in &l.resources {
                if let Some(f) = self.judge_launch(&l, r) {
                    out.push(f);
                }
            }
        }
        out.extend(self.judge_flows(hour_start_ms, flows)?);
        Ok(out)
    }

    fn judge_launch(&mut self, l: &LaunchEvent, r: &Launched) -> Option<Finding> {
        let subnet = self.config.subnet(r.subnet_id.as_deref()?)?.clone();
        let violations = match l.kind {
            LaunchKind::RunInstances => subnet.launch_violations(&r.facts),
            LaunchKind::CreateNetworkInterface => {
                let callers: Vec<&str> = l.callers.iter().map(String::as_str).collect();
                if subnet.eni_creator_approved(&callers) {
                    Vec::new()
                } else {
                    vec![format!(
                        "{} may not create network interfaces here",
                        l.callers
                            .first()
                            .map_or("an unknown caller", String::as_str)
                    )]
                }
            }
        };
        let seen = SeenLaunch {
            subnet: subnet.id.clone(),
            approved: violations.is_empty(),
            event_id: l.event_id.clone(),
        };
        for (eni, eni_subnet) in &r.enis {
            let sn = eni_subnet.clone().unwrap_or_else(|| subnet.id.clone());
            self.state.eni_subnet.insert(eni.clone(), sn);
            self.state.launched.insert(eni.clone(), seen.clone());
        }
        if let Some(i) = &r.instance_id {
            self.state.launched.insert(i.clone(), seen.clone());
        }
        if seen.approved {
            return None;
        }
        let entity = match (&r.instance_id, r.enis.first(), l.callers.first()) {
            (Some(i), _, _) => Entity {
                kind: EntityKind::Instance,
                id: i.clone(),
            },
            (None, Some((e, _)), _) => Entity {
                kind: EntityKind::Eni,
                id: e.clone(),
            },
            (None, None, Some(c)) => Entity {
                kind: EntityKind::Principal,
                id: c.clone(),
            },
            (None, None, None) => Entity {
                kind: EntityKind::Principal,
                id: "unknown".into(),
            },
        };
        let what = match l.kind {
            LaunchKind::RunInstances => "instance launched",
            LaunchKind::CreateNetworkInterface => "network interface created",
        };
        Some(Finding {
            detector: DETECTOR.into(),
            severity: self.config.severity,
            title: format!(
                "{} in {} outside its allow-list: {}",
                match &r.instance_id {
                    Some(i) => format!("{i} {what}"),
                    None => what[..1].to_uppercase() + &what[1..],
                },
                subnet.label(),
                violations.join("; ")
            ),
            account_id: l.account_id.clone(),
            region: l.region.clone(),
            dedupe_key: format!("{DETECTOR}|{}", entity.id),
            entity,
            first_seen_ms: l.time_ms,
            last_seen_ms: l.time_ms,
            evidence: serde_json::json!({
                "source": "cloudtrail",
                "event_name": l.kind.as_str(),
                "event_id": l.event_id,
                "subnet_id": subnet.id,
                "caller": l.callers.first(),
                "image_id": r.facts.image_id,
                "instance_profile": r.facts.instance_profile,
                "launch_template": r.facts.launch_template,
                "tags": r.facts.tags,
                "network_interfaces": r.enis.iter().map(|(e, _)| e).collect::<Vec<_>>(),
                "violations": violations,
            }),
            attack: ATTACK.to_attack(),
        })
    }

    /// The watched subnet of a flow row, if known.
    fn subnet_of(
        &self,
        row_subnet: Option<&str>,
        eni: &str,
        instance: Option<&str>,
    ) -> Option<String> {
        if let Some(sn) = row_subnet {
            return Some(sn.to_string());
        }
        if let Some(sn) = self.state.eni_subnet.get(eni) {
            return Some(sn.clone());
        }
        instance
            .and_then(|i| self.state.launched.get(i))
            .map(|l| l.subnet.clone())
    }

    fn talks(
        &mut self,
        flows: &(impl Batches + ?Sized),
    ) -> Result<BTreeMap<String, Talk>, DetectError> {
        let mut talks: BTreeMap<String, Talk> = BTreeMap::new();
        flows.visit(&mut |b| {
            let (eni, sn, inst, src, dst, acct, region) = (
                s(b, fcol::INTERFACE_ID),
                s(b, fcol::SUBNET_ID),
                s(b, fcol::INSTANCE_ID),
                s(b, fcol::SRCADDR),
                s(b, fcol::DSTADDR),
                s(b, ACCOUNT_ID),
                s(b, REGION),
            );
            let time = b
                .column_by_name(EVENT_TIME)
                .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>());
            let bytes = b
                .column_by_name(fcol::BYTES)
                .and_then(|c| c.as_primitive_opt::<Int64Type>());
            for i in 0..b.num_rows() {
                let (Some(e), Some(src_ip)) = (get(eni, i), get(src, i)) else {
                    continue;
                };
                if let Some(t) = talks.get_mut(e) {
                    t.add(i, time, bytes, src_ip, get(dst, i));
                    continue;
                }
                let instance = get(inst, i);
                let Some(subnet) = self.subnet_of(get(sn, i), e, instance) else {
                    self.state.unknown_subnet_rows += 1;
                    continue;
                };
                if self.config.subnet(&subnet).is_none() {
                    continue;
                }
                let t = talks.entry(e.to_string()).or_insert_with(|| Talk {
                    subnet,
                    instance: instance.map(str::to_string),
                    account: get(acct, i).map(str::to_string),
                    region: get(region, i).map(str::to_string),
                    first_ms: i64::MAX,
                    last_ms: i64::MIN,
                    ..Default::default()
                });
                t.add(i, time, bytes, src_ip, get(dst, i));
            }
        })?;
        Ok(talks)
    }

    fn judge_flows(
        &mut self,
        hour_start_ms: i64,
        flows: &(impl Batches + ?Sized),
    ) -> Result<Vec<Finding>, DetectError> {
        let mut out = Vec::new();
        let warmup_ms = i64::from(self.config.warmup_hours) * HOUR_MS;
        for (eni, t) in self.talks(flows)? {
            let started = *self
                .state
                .watch_started
                .entry(t.subnet.clone())
                .or_insert(hour_start_ms);
            if let Some(k) = self.state.known.get_mut(&eni) {
                k.last_ms = k.last_ms.max(t.last_ms);
                continue;
            }
            self.state.known.insert(
                eni.clone(),
                KnownEni {
                    subnet: t.subnet.clone(),
                    first_ms: t.first_ms,
                    last_ms: t.last_ms,
                },
            );
            let launched = self.state.launched.contains_key(&eni)
                || t.instance
                    .as_ref()
                    .is_some_and(|i| self.state.launched.contains_key(i));
            if hour_start_ms < started + warmup_ms || launched {
                continue;
            }
            let Some(subnet) = self.config.subnet(&t.subnet) else {
                continue;
            };
            let entity = match &t.instance {
                Some(i) => Entity {
                    kind: EntityKind::Instance,
                    id: i.clone(),
                },
                None => Entity {
                    kind: EntityKind::Eni,
                    id: eni.clone(),
                },
            };
            let who = match &t.instance {
                Some(i) => format!("{eni} ({i})"),
                None => eni.clone(),
            };
            out.push(Finding {
                detector: DETECTOR.into(),
                severity: self.config.severity,
                title: format!(
                    "New network interface {who} talking in {} with no approved launch",
                    subnet.label()
                ),
                account_id: t.account.clone(),
                region: t.region.clone(),
                dedupe_key: format!("{DETECTOR}|{}", entity.id),
                entity,
                first_seen_ms: t.first_ms,
                last_seen_ms: t.last_ms,
                evidence: serde_json::json!({
                    "source": "flows",
                    "subnet_id": t.subnet,
                    "interface_id": eni,
                    "instance_id": t.instance,
                    "flows": t.flows,
                    "bytes": t.bytes,
                    "addresses": t.peers.iter().take(5).collect::<Vec<_>>(),
                    "watched_since": flowtrail_core::alert::rfc3339(started),
                }),
                attack: ATTACK.to_attack(),
            });
        }
        Ok(out)
    }
}

impl Talk {
    fn add(
        &mut self,
        i: usize,
        time: Option<&arrow::array::PrimitiveArray<TimestampMillisecondType>>,
        bytes: Option<&arrow::array::PrimitiveArray<Int64Type>>,
        src: &str,
        dst: Option<&str>,
    ) {
        let t = time.filter(|t| !t.is_null(i)).map_or(0, |t| t.value(i));
        self.first_ms = self.first_ms.min(t);
        self.last_ms = self.last_ms.max(t);
        self.flows += 1;
        self.bytes += bytes.filter(|b| !b.is_null(i)).map_or(0, |b| b.value(i));
        if self.peers.len() < 16 {
            self.peers.insert(src.to_string());
            if let Some(d) = dst {
                self.peers.insert(d.to_string());
            }
        }
    }
}
