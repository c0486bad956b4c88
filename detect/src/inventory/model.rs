//! The inventory's records: an interface with its validity intervals ([`Version`]s), and an
//! instance with what belongs to it rather than to one interface (image, instance profile,
//! tags). Pure data and the rules for changing it; parsing lives in `cloudtrail.rs` and
//! `flows.rs`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Closed intervals remembered per interface (the oldest are forgotten first).
pub const MAX_VERSIONS: usize = 16;

/// Where a fact came from.
pub const FROM_CLOUDTRAIL: u8 = 1;
/// Where a fact came from.
pub const FROM_FLOWS: u8 = 2;

/// `source` text for a set of `FROM_*` bits.
pub fn source_name(bits: u8) -> &'static str {
    match bits {
        FROM_CLOUDTRAIL => "cloudtrail",
        FROM_FLOWS => "flow_log",
        b if b == FROM_CLOUDTRAIL | FROM_FLOWS => "cloudtrail+flow_log",
        _ => "unknown",
    }
}

/// Facts about an interface that one event or flow row carries (each may be missing).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfaceFacts {
    /// Account.
    pub account_id: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Primary private address.
    pub private_ip: Option<String>,
    /// Subnet.
    pub subnet_id: Option<String>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Security groups (empty: not given).
    pub security_groups: Vec<String>,
    /// Attachment id (for a later `DetachNetworkInterface`).
    pub attachment_id: Option<String>,
}

/// One validity interval of an interface: attached to `instance_id` (or to nothing) from
/// `valid_from` until `valid_to`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Version {
    /// Instance the interface is attached to, if any.
    pub instance_id: Option<String>,
    /// Primary private address.
    pub private_ip: Option<String>,
    /// Subnet.
    pub subnet_id: Option<String>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Security groups.
    pub security_groups: Vec<String>,
    /// Start of the interval (ms).
    pub valid_from: i64,
    /// End of the interval (ms), `None` while it holds.
    pub valid_to: Option<i64>,
    /// First evidence of this interval (ms).
    pub first_seen: i64,
    /// Newest evidence of this interval (ms).
    pub last_seen: i64,
    /// `FROM_*` bits.
    pub sources: u8,
}

impl Version {
    /// Whether the interval holds at `t`.
    pub fn covers(&self, t: i64) -> bool {
        self.valid_from <= t && self.valid_to.is_none_or(|to| t < to)
    }

    fn fill(&mut self, f: &IfaceFacts, t: i64, source: u8) {
        let keep = |old: &mut Option<String>, new: &Option<String>| {
            if new.is_some() {
                old.clone_from(new);
            }
        };
        keep(&mut self.private_ip, &f.private_ip);
        keep(&mut self.subnet_id, &f.subnet_id);
        keep(&mut self.vpc_id, &f.vpc_id);
        if !f.security_groups.is_empty() {
            self.security_groups.clone_from(&f.security_groups);
        }
        self.last_seen = self.last_seen.max(t);
        self.first_seen = self.first_seen.min(t);
        self.sources |= source;
    }
}

/// A network interface and its intervals, oldest first; the last one is the current one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Iface {
    /// Account.
    pub account_id: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Current attachment id.
    pub attachment_id: Option<String>,
    /// Tags on the interface itself.
    pub tags: BTreeMap<String, String>,
    /// Intervals, oldest first.
    pub versions: Vec<Version>,
    /// When the interface went away with its instance (ms).
    pub gone_at: Option<i64>,
}

impl Iface {
    /// The interval holding at `t`.
    pub fn at(&self, t: i64) -> Option<&Version> {
        self.versions.iter().rev().find(|v| v.covers(t))
    }

    /// The newest evidence of any interval.
    pub fn last_seen(&self) -> i64 {
        self.versions
            .iter()
            .map(|v| v.last_seen)
            .max()
            .unwrap_or(i64::MIN)
    }

    fn current_open(&mut self) -> Option<&mut Version> {
        self.versions.last_mut().filter(|v| v.valid_to.is_none())
    }

    /// The interface is attached to `instance` (or to nothing) from `t`: the current interval
    /// is extended when it already says so, else closed and a new one opened that keeps the
    /// interface's own facts (address, subnet, groups). Returns whether an interval opened.
    pub fn attach(&mut self, instance: Option<&str>, f: &IfaceFacts, t: i64, source: u8) -> bool {
        self.note_place(f);
        if let Some(cur) = self.current_open() {
            if cur.instance_id.as_deref() == instance {
                cur.fill(f, t, source);
                if instance.is_some() && t < cur.valid_from && self.versions.len() == 1 {
                    self.versions[0].valid_from = t;
                }
                return false;
            }
            if t < cur.valid_from {
                return false; // older news about an earlier attachment
            }
        }
        let base = self.versions.last().cloned();
        self.close(t);
        let mut v = Version {
            instance_id: instance.map(str::to_string),
            private_ip: None,
            subnet_id: None,
            vpc_id: None,
            security_groups: Vec::new(),
            valid_from: t,
            valid_to: None,
            first_seen: t,
            last_seen: t,
            sources: source,
        };
        if let Some(b) = base {
            v.private_ip = b.private_ip;
            v.subnet_id = b.subnet_id;
            v.vpc_id = b.vpc_id;
            v.security_groups = b.security_groups;
        }
        v.fill(f, t, source);
        self.versions.push(v);
        self.gone_at = None;
        if self.versions.len() > MAX_VERSIONS {
            self.versions.remove(0);
        }
        true
    }

    /// Close the current interval at `t` (no-op when none is open).
    pub fn close(&mut self, t: i64) {
        if let Some(cur) = self.current_open() {
            cur.valid_to = Some(t.max(cur.valid_from));
        }
    }

    /// Newer evidence that the current interval still holds (it moves `last_seen` only: a
    /// row naming no instance teaches nothing, so it is not a source).
    pub fn seen(&mut self, t: i64) {
        if let Some(cur) = self.current_open()
            && t >= cur.valid_from
        {
            cur.last_seen = cur.last_seen.max(t);
        }
    }

    fn note_place(&mut self, f: &IfaceFacts) {
        if self.account_id.is_none() || self.account_id.as_deref() == Some("unknown") {
            self.account_id.clone_from(&f.account_id);
        }
        if self.region.is_none() {
            self.region.clone_from(&f.region);
        }
        if f.attachment_id.is_some() {
            self.attachment_id.clone_from(&f.attachment_id);
        }
    }
}

/// What belongs to an instance rather than to one of its interfaces.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Instance {
    /// Account.
    pub account_id: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Primary private address (from `RunInstances`).
    pub private_ip: Option<String>,
    /// Subnet.
    pub subnet_id: Option<String>,
    /// VPC.
    pub vpc_id: Option<String>,
    /// Security groups.
    pub security_groups: Vec<String>,
    /// AMI.
    pub image_id: Option<String>,
    /// Instance profile ARN.
    pub instance_profile: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// Launch time (ms).
    pub launched: i64,
    /// Termination time (ms).
    pub terminated_at: Option<i64>,
    /// `FROM_*` bits.
    pub sources: u8,
}

impl Instance {
    /// Whether the instance exists at `t`.
    pub fn alive_at(&self, t: i64) -> bool {
        self.launched <= t && self.terminated_at.is_none_or(|e| t < e)
    }
}
