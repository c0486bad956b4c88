//! `attack_sequence`: alerts on one entity that together form a known attack path
//! ([`paths::PATHS`]) become one higher-severity alert linking its parts (their alert ids,
//! detectors, severities and times): the open counterpart of GuardDuty's attack sequences.
//!
//! It reads alerts, not findings: a sequence names the alerts an analyst already has. The
//! binary hands every new alert to [`Sequences::observe`] (through the engine, in a replay and
//! in the service alike) and puts the findings it returns through the same alert pipeline.
//!
//! Each alert is filed under its *subjects*: the instance it concerns (an interface or private
//! address resolved to its instance, and for a security-group change every instance the
//! group is attached to, from [`topology`]), or the principal (an assumed-role session filed
//! under its role; a key or password created for another user also under that user). Per
//! subject it keeps the part summaries of the last two [`paths::WINDOW_MS`] (alerts can
//! arrive out of event-time order: the SQL rules run over several hours at once), at most
//! [`MAX_PARTS`] each, for at most [`MAX_SUBJECTS`] subjects. A chain of two or more
//! consecutive stages within the window is emitted once; a longer chain found later (the third
//! stage arrived) is emitted again, as critical. The state is saved with the engine's.
//!
//! One stage is not an alert: admin access accepted from the internet ([`access`]), summarised
//! from each closed hour's flows. After an exposing change of the instance's group it makes the
//! sequence `exposure_admin_access` (unless the exposure already chained with a brute force).

pub mod access;
pub mod paths;
pub mod topology;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use arrow::array::RecordBatch;
use serde::{Deserialize, Serialize};
use serde_json::json;

use flowtrail_core::alert::rfc3339;
use flowtrail_core::{Alert, Entity, EntityKind, Finding, Severity};

use crate::DetectError;
use crate::keep::Batches;
use access::{ACCESS_WINDOW_MS, Access, AdminAccess};
use paths::{PATHS, SLACK_MS, WINDOW_MS};
use topology::Topology;

/// The detector id.
pub const DETECTOR: &str = "attack_sequence";
/// Part summaries kept per subject.
pub const MAX_PARTS: usize = 32;
/// Subjects kept.
pub const MAX_SUBJECTS: usize = 20_000;
const FILE: &str = "sequences.json";

/// One alert, as a sequence remembers it.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Part {
    id: String,
    detector: String,
    severity: Severity,
    entity: String,
    first_ms: i64,
    last_ms: i64,
    account: Option<String>,
    region: Option<String>,
}

/// The correlator's state.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Sequences {
    topology: Topology,
    parts: BTreeMap<String, Vec<Part>>,
    /// Chains emitted (key → first part's time), forgotten with their parts.
    emitted: BTreeMap<String, i64>,
    newest_ms: i64,
    #[serde(default)]
    access: AdminAccess,
}

/// The id of the sequence an exposure and an accepted admin connection make.
pub const EXPOSURE_ADMIN_ACCESS: &str = "exposure_admin_access";

/// An assumed-role session's role (`arn:aws:sts::1:assumed-role/R/s` → `arn:aws:iam::1:role/R`).
fn principal_key(arn: &str) -> String {
    if let Some((head, rest)) = arn.split_once(":assumed-role/") {
        let role = rest.split('/').next().unwrap_or(rest);
        return format!("{}:role/{role}", head.replacen(":sts:", ":iam:", 1));
    }
    arn.to_string()
}

fn kind_of(subject: &str) -> EntityKind {
    match subject {
        s if s.starts_with("i-") => EntityKind::Instance,
        s if s.starts_with("eni-") => EntityKind::Eni,
        s if s.starts_with("arn:") => EntityKind::Principal,
        s if s.starts_with("sg-") => EntityKind::SecurityGroup,
        _ => EntityKind::Ip,
    }
}

fn raise(s: Severity) -> Severity {
    match s {
        Severity::Critical | Severity::High => Severity::Critical,
        _ => Severity::High,
    }
}

impl Sequences {
    /// Learn entity links from one hour's CloudTrail rows.
    pub fn learn(&mut self, cloudtrail: &[RecordBatch]) {
        self.topology.learn(cloudtrail);
    }

    /// The subjects an alert is filed under.
    fn subjects(&self, a: &Alert) -> BTreeSet<String> {
        let t = &self.topology;
        let id = a.entity.id.as_str();
        let mut out = BTreeSet::new();
        match a.entity.kind {
            EntityKind::Instance | EntityKind::Eni => {
                out.insert(t.instance_of(id));
            }
            EntityKind::SecurityGroup => {
                out.extend(t.members(id).iter().map(|m| t.instance_of(m)));
                out.insert(id.to_string());
            }
            EntityKind::Principal => {
                out.insert(principal_key(id));
                if let Some(user) = a.evidence["target_user"].as_str() {
                    let acct = a
                        .account_id
                        .clone()
                        .or_else(|| id.split(':').nth(4).map(str::to_string));
                    if let Some(acct) = acct.filter(|_| !user.contains(':')) {
                        out.insert(format!("arn:aws:iam::{acct}:user/{user}"));
                    }
                }
            }
            EntityKind::Ip => {
                out.insert(id.to_string());
            }
        }
        for k in ["target", "instance_id", "interface_id"] {
            if let Some(v) = a.evidence[k].as_str() {
                let inst = t.instance_of(v);
                if inst.starts_with("i-") || inst.starts_with("eni-") {
                    out.insert(inst);
                }
            }
        }
        out
    }

    /// File new alerts and return the sequences they complete.
    pub fn observe(&mut self, alerts: &[Alert]) -> Vec<Finding> {
        let mut touched = BTreeSet::new();
        for a in alerts.iter().filter(|a| a.detector != DETECTOR) {
            let part = Part {
                id: a.id.clone(),
                detector: a.detector.clone(),
                severity: a.severity,
                entity: a.entity.id.clone(),
                first_ms: a.first_seen.timestamp_millis(),
                last_ms: a.last_seen.timestamp_millis(),
                account: a.account_id.clone(),
                region: a.region.clone(),
            };
            if !PATHS.iter().any(|p| {
                p.stages
                    .iter()
                    .any(|s| s.accepts(&part.detector, part.severity))
            }) {
                continue;
            }
            self.newest_ms = self.newest_ms.max(part.first_ms);
            for s in self.subjects(a) {
                let v = self.parts.entry(s.clone()).or_default();
                if !v.iter().any(|p| p.id == part.id) {
                    v.push(part.clone());
                    v.sort_by_key(|p| p.first_ms);
                    let over = v.len().saturating_sub(MAX_PARTS);
                    v.drain(..over);
                }
                touched.insert(s);
            }
        }
        let mut out = Vec::new();
        for s in touched {
            out.extend(self.judge(&s));
            out.extend(self.judge_access(&s));
        }
        self.evict();
        out
    }

    /// Summarise one closed hour's flows for [`access`]; returns the sequences the accepted
    /// admin connections complete.
    pub fn learn_flows(
        &mut self,
        flows: &(impl Batches + ?Sized),
    ) -> Result<Vec<Finding>, DetectError> {
        let touched = self.access.learn(flows)?;
        let subjects: BTreeSet<String> = touched
            .iter()
            .map(|t| self.topology.instance_of(t))
            .filter(|s| self.parts.contains_key(s))
            .collect();
        Ok(subjects.iter().flat_map(|s| self.judge_access(s)).collect())
    }

    /// An exposing change of the subject's group, then admin access accepted from the internet.
    fn judge_access(&mut self, subject: &str) -> Vec<Finding> {
        let Some(parts) = self.parts.get(subject) else {
            return Vec::new();
        };
        let exposure = &PATHS[0].stages[0];
        let opened: Vec<Part> = parts
            .iter()
            .filter(|p| exposure.accepts(&p.detector, p.severity))
            .cloned()
            .collect();
        if opened.is_empty() {
            return Vec::new();
        }
        let accesses: Vec<Access> = self
            .access
            .all()
            .filter(|(k, _)| self.topology.instance_of(k) == subject)
            .flat_map(|(_, v)| v.iter().cloned())
            .collect();
        let mut out = Vec::new();
        for p in opened {
            let key = format!("{EXPOSURE_ADMIN_ACCESS}|{subject}|{}", p.id);
            let chained = format!("{}|{subject}|{}|", PATHS[0].id, p.id);
            if self.emitted.contains_key(&key)
                || self.emitted.keys().any(|k| k.starts_with(&chained))
            {
                continue;
            }
            let first = accesses
                .iter()
                .filter(|a| {
                    a.first_ms >= p.first_ms - SLACK_MS
                        && a.first_ms <= p.first_ms + ACCESS_WINDOW_MS
                })
                .min_by_key(|a| a.first_ms);
            if let Some(a) = first {
                self.emitted.insert(key, p.first_ms);
                out.push(access_finding(subject, &p, a));
            }
        }
        out
    }

    fn judge(&mut self, subject: &str) -> Vec<Finding> {
        let Some(parts) = self.parts.get(subject) else {
            return Vec::new();
        };
        let mut found: Vec<(usize, Vec<(usize, &Part)>)> = Vec::new();
        for (pi, path) in PATHS.iter().enumerate() {
            for c in chains(path, parts) {
                found.push((pi, c));
            }
        }
        // A chain inside a longer one of the same path is not a sequence of its own.
        let ids =
            |c: &[(usize, &Part)]| c.iter().map(|(_, p)| p.id.clone()).collect::<BTreeSet<_>>();
        let mut out = Vec::new();
        for (pi, c) in &found {
            let mine = ids(c);
            let inside = found
                .iter()
                .any(|(pj, d)| pj == pi && d.len() > c.len() && mine.is_subset(&ids(d)));
            let key = format!("{}|{subject}|{}|{}", PATHS[*pi].id, c[0].1.id, c.len());
            if inside || self.emitted.contains_key(&key) {
                continue;
            }
            out.push((key, finding(&PATHS[*pi], subject, c)));
        }
        let mut findings = Vec::new();
        for (key, f) in out {
            self.emitted.insert(key, f.first_seen_ms);
            findings.push(f);
        }
        findings
    }

    fn evict(&mut self) {
        let horizon = self.newest_ms - 2 * WINDOW_MS;
        self.parts.retain(|_, v| {
            v.retain(|p| p.first_ms >= horizon);
            !v.is_empty()
        });
        self.emitted.retain(|_, t| *t >= horizon);
        crate::bounded::trim_oldest(&mut self.parts, MAX_SUBJECTS, |v| {
            v.last().map_or(i64::MIN, |p| p.first_ms)
        });
    }

    /// Persist to `dir/sequences.json`.
    pub fn save(&self, dir: &Path) -> Result<(), DetectError> {
        crate::state::save_json(dir, FILE, self)
    }

    /// Restore from `dir`.
    pub fn load(dir: &Path) -> Result<Self, DetectError> {
        Ok(crate::state::load_json(dir, FILE)?.unwrap_or_default())
    }
}

/// Chains of two or more consecutive stages of `path` among `parts` (sorted by time): from each
/// part that shows a stage, the earliest part of each next stage that follows it.
fn chains<'a>(path: &paths::Path, parts: &'a [Part]) -> Vec<Vec<(usize, &'a Part)>> {
    let mut out = Vec::new();
    for (st, stage) in path.stages.iter().enumerate() {
        for p in parts
            .iter()
            .filter(|p| stage.accepts(&p.detector, p.severity))
        {
            let mut chain = vec![(st, p)];
            for (k, next) in path.stages.iter().enumerate().skip(st + 1) {
                let cur = chain[chain.len() - 1].1;
                let q = parts.iter().find(|q| {
                    next.accepts(&q.detector, q.severity)
                        && q.id != cur.id
                        && q.first_ms >= cur.first_ms - SLACK_MS
                        && q.first_ms <= p.first_ms + WINDOW_MS
                });
                match q {
                    Some(q) => chain.push((k, q)),
                    None => break,
                }
            }
            if chain.len() >= 2 {
                out.push(chain);
            }
        }
    }
    out
}

fn finding(path: &paths::Path, subject: &str, chain: &[(usize, &Part)]) -> Finding {
    let first = chain[0].1;
    let top = chain
        .iter()
        .map(|(_, p)| p.severity)
        .max()
        .unwrap_or(Severity::Medium);
    let severity = if chain.len() >= 3 {
        Severity::Critical
    } else {
        raise(top)
    };
    let stages: Vec<&str> = chain.iter().map(|(k, _)| path.stages[*k].name).collect();
    let detectors: Vec<&str> = chain.iter().map(|(_, p)| p.detector.as_str()).collect();
    Finding {
        detector: DETECTOR.into(),
        severity,
        title: format!(
            "Attack sequence on {subject}: {} ({})",
            path.title,
            detectors.join(" -> ")
        ),
        account_id: first.account.clone(),
        region: first.region.clone(),
        entity: Entity {
            kind: kind_of(subject),
            id: subject.to_string(),
        },
        first_seen_ms: first.first_ms,
        last_seen_ms: chain
            .iter()
            .map(|(_, p)| p.last_ms)
            .max()
            .unwrap_or(first.last_ms),
        dedupe_key: format!("{}|{subject}|{}", path.id, chain.len()),
        evidence: json!({
            "path": path.id, "subject": subject, "stages": stages,
            "parts": chain.iter().map(|(k, p)| json!({
                "alert_id": p.id, "detector": p.detector, "stage": path.stages[*k].name,
                "severity": p.severity, "entity": p.entity,
                "first_seen": rfc3339(p.first_ms), "last_seen": rfc3339(p.last_ms),
            })).collect::<Vec<_>>(),
        }),
        attack: path.attack.to_attack(),
    }
}

fn access_finding(subject: &str, p: &Part, a: &Access) -> Finding {
    Finding {
        detector: DETECTOR.into(),
        severity: Severity::Critical,
        title: format!(
            "Attack sequence on {subject}: opened to the internet, then admin access (port {}) accepted from {}",
            a.port,
            a.sources.join(", ")
        ),
        account_id: p.account.clone(),
        region: p.region.clone(),
        entity: Entity {
            kind: kind_of(subject),
            id: subject.to_string(),
        },
        first_seen_ms: p.first_ms,
        last_seen_ms: a.last_ms.max(p.last_ms),
        dedupe_key: format!("{EXPOSURE_ADMIN_ACCESS}|{subject}"),
        evidence: json!({
            "path": EXPOSURE_ADMIN_ACCESS, "subject": subject, "stages": ["exposure", "access"],
            "parts": [
                {"alert_id": p.id, "detector": p.detector, "stage": "exposure",
                 "severity": p.severity, "entity": p.entity,
                 "first_seen": rfc3339(p.first_ms), "last_seen": rfc3339(p.last_ms)},
                {"stage": "access", "flows": a.flows, "port": a.port, "sources": a.sources,
                 "first_seen": rfc3339(a.first_ms), "last_seen": rfc3339(a.last_ms)},
            ],
        }),
        attack: PATHS[0].attack.to_attack(),
    }
}

#[cfg(test)]
pub(crate) mod tests;
