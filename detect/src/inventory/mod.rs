//! The inventory: which instance, subnet, VPC, security groups, image, instance profile and
//! tags are behind each network interface, and since when — learned from what flowtrail
//! already reads (CloudTrail launches, interface and tag calls, and flow records of formats
//! that carry `instance-id`). It lets an alert on an ENI or a private address name the
//! instance an analyst would look for ([`Inventory::asset_for`]), and is written to the lake
//! as the `inventory` table ([`Inventory::snapshot`]).
//!
//! # Time
//! Each interface keeps validity intervals: re-attached to another instance, detached or gone
//! with its terminated instance, its current interval closes and (if it lives on) a new one
//! opens. Lookups are *as of* a time, so an alert names the instance its interface belonged to
//! when the activity happened. Tags are kept current (a tag change does not open an interval).
//!
//! # Bounds and persistence
//! At most [`MAX_IFACES`] interfaces and as many instances; those gone for longer than
//! [`RETAIN_MS`] (of event time) are forgotten first, then the least recently seen. The whole
//! inventory is saved as `inventory.json` beside the detection state and restored at start, so
//! a later run still knows an interface launched days before.

pub mod cloudtrail;
pub mod flows;
pub mod model;
mod table;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::Path;

use arrow::record_batch::RecordBatch;
use serde::{Deserialize, Serialize};

use flowtrail_core::{Asset, EntityKind, Table};

use crate::DetectError;
use cloudtrail::Change;
use model::{FROM_CLOUDTRAIL, FROM_FLOWS, Iface, IfaceFacts, Instance, Version};

/// Interfaces (and, separately, instances) tracked at most.
pub const MAX_IFACES: usize = 100_000;
/// How long (ms of event time) an interface or instance is remembered once gone: 7 days.
pub const RETAIN_MS: i64 = 7 * 86_400_000;
/// The state file.
pub const STATE_FILE: &str = "inventory.json";
/// Event time (ms) between two snapshots when only `last_seen` times moved.
const SNAPSHOT_EVERY_MS: i64 = 3_600_000;

/// The inventory (see the module docs).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Inventory {
    ifaces: BTreeMap<String, Iface>,
    instances: BTreeMap<String, Instance>,
    /// Newest event time seen (ms).
    newest_ms: Option<i64>,
    /// Event time of the last snapshot taken (ms).
    snapshot_ms: Option<i64>,
    /// Something other than a `last_seen` changed since the last snapshot.
    #[serde(default)]
    changed: bool,
    /// Bound on tracked interfaces and instances (tests lower it).
    #[serde(skip, default = "max_default")]
    max: usize,
    /// Event time (ms) the retention was last applied at (once an hour is enough).
    #[serde(skip)]
    retained_at: Option<i64>,
}

fn max_default() -> usize {
    MAX_IFACES
}

impl Inventory {
    /// An empty inventory.
    pub fn new() -> Self {
        Self {
            max: MAX_IFACES,
            ..Self::default()
        }
    }

    /// An empty inventory tracking at most `max` interfaces and instances.
    pub fn with_limit(max: usize) -> Self {
        Self {
            max: max.max(1),
            ..Self::default()
        }
    }

    /// The inventory saved in `dir`, or an empty one.
    pub fn load(dir: &Path) -> Result<Self, DetectError> {
        Ok(crate::state::load_json::<Self>(dir, STATE_FILE)?.unwrap_or_else(Self::new))
    }

    /// Save into `dir` (atomically).
    pub fn save(&self, dir: &Path) -> Result<(), DetectError> {
        crate::state::save_json(dir, STATE_FILE, self)
    }

    /// Interfaces tracked.
    pub fn len(&self) -> usize {
        self.ifaces.len()
    }

    /// Whether nothing is tracked.
    pub fn is_empty(&self) -> bool {
        self.ifaces.is_empty() && self.instances.is_empty()
    }

    /// The interface `eni`, if tracked.
    pub fn iface(&self, eni: &str) -> Option<&Iface> {
        self.ifaces.get(eni)
    }

    /// The instance `id`, if tracked.
    pub fn instance(&self, id: &str) -> Option<&Instance> {
        self.instances.get(id)
    }

    /// Learn from a batch of `flows` or `cloudtrail` rows (other tables are ignored). Rows the
    /// inventory cannot read are skipped.
    pub fn observe(&mut self, table: Table, batch: &RecordBatch) {
        match table {
            Table::Cloudtrail => {
                for (t, c) in cloudtrail::changes(batch) {
                    self.apply(t, c);
                }
            }
            Table::Flows => {
                for s in flows::sightings(batch) {
                    self.sighting(s);
                }
            }
            _ => return,
        }
        self.evict();
    }

    fn note_time(&mut self, t: i64) {
        self.newest_ms = Some(self.newest_ms.map_or(t, |n| n.max(t)));
    }

    fn sighting(&mut self, s: flows::Sighting) {
        self.note_time(s.span.1);
        match s.instance {
            Some(inst) => {
                let i = self.ifaces.entry(s.eni).or_default();
                self.changed |= i.attach(Some(&inst), &s.facts, s.span.0, FROM_FLOWS);
                i.seen(s.span.1);
                if let Some(x) = self.instances.get_mut(&inst) {
                    x.sources |= FROM_FLOWS;
                }
            }
            None => {
                if let Some(i) = self.ifaces.get_mut(&s.eni) {
                    i.seen(s.span.1);
                }
            }
        }
    }

    /// Apply one change reported by the trail at `t` (ms).
    pub fn apply(&mut self, t: i64, change: Change) {
        self.note_time(t);
        self.changed = true;
        match change {
            Change::Launch {
                instance,
                info,
                enis,
            } => {
                for (eni, facts) in enis {
                    let i = self.ifaces.entry(eni).or_default();
                    i.attach(Some(&instance), &facts, t, FROM_CLOUDTRAIL);
                }
                self.instances.insert(instance, info);
            }
            Change::CreateEni { eni, facts, tags } => {
                let i = self.ifaces.entry(eni).or_default();
                if i.versions.is_empty() {
                    i.attach(None, &facts, t, FROM_CLOUDTRAIL);
                }
                i.tags.extend(tags);
            }
            Change::Attach {
                eni,
                instance,
                facts,
            } => {
                let i = self.ifaces.entry(eni).or_default();
                i.attach(Some(&instance), &facts, t, FROM_CLOUDTRAIL);
            }
            Change::Detach { attachment_id } => {
                if let Some(i) = self
                    .ifaces
                    .values_mut()
                    .find(|i| i.attachment_id.as_deref() == Some(attachment_id.as_str()))
                {
                    i.attachment_id = None;
                    i.attach(None, &IfaceFacts::default(), t, FROM_CLOUDTRAIL);
                }
            }
            Change::Terminate { instances } => self.terminate(t, &instances),
            Change::Tags { resources, tags } => self.tag(&resources, &tags),
        }
    }

    fn terminate(&mut self, t: i64, instances: &[String]) {
        for id in instances {
            if let Some(x) = self.instances.get_mut(id) {
                x.terminated_at = Some(t);
            }
            for i in self.ifaces.values_mut() {
                let on = i.versions.last().is_some_and(|v| {
                    v.valid_to.is_none() && v.instance_id.as_deref() == Some(id.as_str())
                });
                if on {
                    i.close(t);
                    i.gone_at = Some(t);
                }
            }
        }
    }

    fn tag(&mut self, resources: &[String], tags: &[(String, Option<String>)]) {
        for r in resources {
            let map = if let Some(x) = self.instances.get_mut(r) {
                &mut x.tags
            } else if let Some(i) = self.ifaces.get_mut(r) {
                &mut i.tags
            } else {
                continue;
            };
            for (k, v) in tags {
                match v {
                    Some(v) => map.insert(k.clone(), v.clone()),
                    None => map.remove(k),
                };
            }
        }
    }

    /// Forget what has been gone longest, then the least recently seen, down to the bound.
    fn evict(&mut self) {
        let Some(now) = self.newest_ms else {
            return;
        };
        let horizon = now.saturating_sub(RETAIN_MS);
        let max = if self.max == 0 { MAX_IFACES } else { self.max };
        let before = (self.ifaces.len(), self.instances.len());
        if self
            .retained_at
            .is_none_or(|r| now.saturating_sub(r) >= SNAPSHOT_EVERY_MS)
        {
            self.retained_at = Some(now);
            self.ifaces
                .retain(|_, i| i.gone_at.is_none_or(|g| g >= horizon));
            self.instances
                .retain(|_, x| x.terminated_at.is_none_or(|g| g >= horizon));
        }
        if self.ifaces.len() > max {
            let mut seen: Vec<(i64, String)> = self
                .ifaces
                .iter()
                .map(|(k, i)| (i.last_seen(), k.clone()))
                .collect();
            seen.sort();
            for (_, k) in seen.into_iter().take(self.ifaces.len() - max) {
                self.ifaces.remove(&k);
            }
        }
        if self.instances.len() > max {
            let mut by: Vec<(i64, String)> = self
                .instances
                .iter()
                .map(|(k, x)| (x.launched, k.clone()))
                .collect();
            by.sort();
            for (_, k) in by.into_iter().take(self.instances.len() - max) {
                self.instances.remove(&k);
            }
        }
        self.changed |= before != (self.ifaces.len(), self.instances.len());
    }

    fn asset_of(&self, eni: &str, i: &Iface, v: &Version) -> Asset {
        let inst = v
            .instance_id
            .as_deref()
            .and_then(|id| self.instances.get(id));
        let mut tags = i.tags.clone();
        let mut sources = v.sources;
        if let Some(x) = inst {
            tags.extend(x.tags.clone());
            sources |= x.sources;
        }
        Asset {
            instance_id: v.instance_id.clone(),
            eni_id: Some(eni.to_string()),
            private_ip: v.private_ip.clone(),
            subnet_id: v.subnet_id.clone(),
            vpc_id: v.vpc_id.clone(),
            security_groups: v.security_groups.clone(),
            image_id: inst.and_then(|x| x.image_id.clone()),
            instance_profile: inst.and_then(|x| x.instance_profile.clone()),
            tags,
            first_seen: Some(flowtrail_core::alert::rfc3339(v.first_seen)),
            last_seen: Some(flowtrail_core::alert::rfc3339(v.last_seen)),
            source: Some(model::source_name(sources).to_string()),
        }
    }

    fn instance_asset(&self, id: &str, x: &Instance) -> Asset {
        Asset {
            instance_id: Some(id.to_string()),
            private_ip: x.private_ip.clone(),
            subnet_id: x.subnet_id.clone(),
            vpc_id: x.vpc_id.clone(),
            security_groups: x.security_groups.clone(),
            image_id: x.image_id.clone(),
            instance_profile: x.instance_profile.clone(),
            tags: x.tags.clone(),
            first_seen: Some(flowtrail_core::alert::rfc3339(x.launched)),
            source: Some(model::source_name(x.sources).to_string()),
            ..Asset::default()
        }
    }

    /// What is known of the entity (`kind`, `id`) at `t` (ms): an instance, an interface, or
    /// a private address (in `account`, when given). `None` for other kinds and unknowns.
    pub fn asset_for(
        &self,
        kind: EntityKind,
        id: &str,
        account: Option<&str>,
        t: i64,
    ) -> Option<Asset> {
        let same_account = |a: &Option<String>| match (a.as_deref(), account) {
            (Some(x), Some(y)) if x != "unknown" && y != "unknown" => x == y,
            _ => true,
        };
        match kind {
            EntityKind::Eni => {
                let i = self.ifaces.get(id)?;
                i.at(t).map(|v| self.asset_of(id, i, v))
            }
            EntityKind::Instance => {
                let hit = self.ifaces.iter().find_map(|(k, i)| {
                    let v = i.at(t)?;
                    (v.instance_id.as_deref() == Some(id)).then(|| self.asset_of(k, i, v))
                });
                hit.or_else(|| {
                    let x = self.instances.get(id).filter(|x| x.alive_at(t))?;
                    Some(self.instance_asset(id, x))
                })
            }
            EntityKind::Ip => {
                let hit = self.ifaces.iter().find_map(|(k, i)| {
                    let v = i.at(t)?;
                    (v.private_ip.as_deref() == Some(id) && same_account(&i.account_id))
                        .then(|| self.asset_of(k, i, v))
                });
                hit.or_else(|| {
                    let (k, x) = self.instances.iter().find(|(_, x)| {
                        x.private_ip.as_deref() == Some(id)
                            && x.alive_at(t)
                            && same_account(&x.account_id)
                    })?;
                    Some(self.instance_asset(k, x))
                })
            }
            EntityKind::Principal | EntityKind::SecurityGroup => None,
        }
    }

    /// The whole inventory as `inventory` rows stamped with the newest event time, or `None`
    /// when nothing is tracked yet. With `only_if_due`, also `None` unless something changed
    /// or an hour of event time passed since the last snapshot.
    pub fn snapshot(
        &mut self,
        only_if_due: bool,
    ) -> Result<Option<(i64, RecordBatch)>, DetectError> {
        let Some(now) = self.newest_ms else {
            return Ok(None);
        };
        let due = self.changed
            || self
                .snapshot_ms
                .is_none_or(|s| now.saturating_sub(s) >= SNAPSHOT_EVERY_MS);
        if self.ifaces.is_empty() || (only_if_due && !due) {
            return Ok(None);
        }
        let batch = table::to_batch(self, now)?;
        self.snapshot_ms = Some(now);
        self.changed = false;
        Ok(Some((now, batch)))
    }
}
