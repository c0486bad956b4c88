//! Routine change is not an attack: the filter between the `security_group_change` rule and
//! the alerts. The rule sees one closed hour and reports every successful change with the
//! exposure it raises (`exposure`: `world_admin`, `world` or `none`), whether IaC made it
//! (`automation`), the acting identity (`actor`: the role of an assumed-role session), the user
//! agent and the source addresses. This filter learns, per account and actor and user-agent
//! family, the days it made changes, the networks (/16) it made them from and the hours; and
//!
//! - a change that raises exposure always passes, its severity the rule's (critical for admin
//!   or database ports open to the world, high for other world-open ports);
//! - a change that raises none is dropped when its actor is routine: seen changing things on
//!   at least [`RoutineOptions::min_days`] earlier days, from a network it used before; or made
//!   by IaC (Terraform, CloudFormation, Pulumi, CDK) from a network the actor used before (or by
//!   an IaC actor never seen: the cold-start prior that pipelines change groups);
//! - otherwise it passes as medium, with why in the evidence (`routine`).
//!
//! An onboarding's console password (`login_profile_for_other_user`) is judged by
//! [`onboarding`], a known weekly scanner's `port_scan` by [`scanners`].
//!
//! The hours are learned and reported, not judged: CI runs at any hour. State is bounded
//! ([`RoutineOptions::max_actors`], least recently active forgotten first; networks and days
//! per actor capped) and saved with the engine's state.

pub mod actor;
pub mod onboarding;
pub mod scanners;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::json;

use flowtrail_core::{Finding, Severity};

use arrow::array::RecordBatch;

use crate::DetectError;
use onboarding::Onboarding;
use scanners::Scanners;

/// The detectors whose findings the filter judges.
pub const DETECTORS: &[&str] = &["security_group_change"];
const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;
/// Groups listed in a merged alert.
const MAX_LISTED: usize = 20;

fn by_time(a: &Finding, b: &Finding) -> std::cmp::Ordering {
    (a.first_seen_ms, &a.dedupe_key).cmp(&(b.first_seen_ms, &b.dedupe_key))
}

/// One alert for an unusual actor's non-exposing changes of one hour: the first change, on the
/// actor, listing the groups (a first apply by a pipeline nobody has seen is one alert, not
/// one per group).
fn merge(mut v: Vec<Finding>) -> Option<Finding> {
    if v.len() <= 1 {
        return v.pop();
    }
    let n = v.len();
    let groups: Vec<String> = v.iter().map(|f| f.entity.id.clone()).collect();
    // The merged alert's evidence names the events of every change it stands for.
    let mut event_ids: Vec<serde_json::Value> = Vec::new();
    for g in &v {
        for id in g.evidence["event_ids"].as_array().into_iter().flatten() {
            if !event_ids.contains(id) {
                event_ids.push(id.clone());
            }
        }
    }
    let last = v.iter().map(|f| f.last_seen_ms).max();
    let mut f = v.swap_remove(0);
    let actor = f.evidence["routine"]["actor"]
        .as_str()
        .unwrap_or(&f.entity.id)
        .to_string();
    f.title = format!("{n} security-group changes by {actor}, which does not usually make them");
    f.entity = flowtrail_core::Entity {
        kind: flowtrail_core::EntityKind::Principal,
        id: actor.clone(),
    };
    f.dedupe_key = format!("{actor}|{}", f.first_seen_ms.div_euclid(HOUR_MS));
    f.last_seen_ms = last.unwrap_or(f.last_seen_ms);
    if let Some(o) = f.evidence.as_object_mut() {
        o.insert("changes".into(), json!(n));
        if !event_ids.is_empty() {
            o.insert("event_ids".into(), json!(event_ids));
        }
        o.insert(
            "groups".into(),
            json!(groups.iter().take(MAX_LISTED).collect::<Vec<_>>()),
        );
    }
    Some(f)
}
const FILE: &str = "routine_changes.json";

/// Tuning.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutineOptions {
    /// Earlier days of changes that make an actor routine.
    pub min_days: usize,
    /// Actors remembered.
    pub max_actors: usize,
    /// Networks remembered per actor.
    pub max_networks: usize,
    /// Distinct days remembered per actor.
    pub max_days: usize,
}

impl Default for RoutineOptions {
    fn default() -> Self {
        Self {
            min_days: 2,
            max_actors: 4096,
            max_networks: 8,
            max_days: 14,
        }
    }
}

/// What one actor usually does.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Profile {
    /// Days (since the epoch) with changes, oldest first.
    days: Vec<i64>,
    /// Networks changes came from, oldest first.
    networks: Vec<String>,
    /// Bit h set: changes at hour h (UTC).
    hours: u32,
    changes: u64,
    last_ms: i64,
}

/// The learned actors.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct RoutineChanges {
    #[serde(skip)]
    opts: RoutineOptions,
    actors: HashMap<String, Profile>,
    #[serde(default)]
    onboarding: Onboarding,
    #[serde(default)]
    scanners: Scanners,
    /// Findings dropped as routine (this run).
    #[serde(skip)]
    dropped: u64,
}

/// How the filter judged one change.
struct Verdict {
    /// `account|actor|user-agent family`.
    key: String,
    routine: bool,
    evidence: serde_json::Value,
}

impl RoutineChanges {
    /// Nothing learned yet.
    pub fn new(opts: RoutineOptions) -> Self {
        Self {
            opts,
            ..Default::default()
        }
    }

    /// Findings dropped as routine so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Learn from one hour's CloudTrail rows (the users created, for [`onboarding`]).
    pub fn learn(&mut self, cloudtrail: &[RecordBatch]) {
        self.onboarding.learn(cloudtrail);
    }

    /// Judge and learn the security-group changes, onboarding passwords and port scans among
    /// `findings` (others pass untouched), in event-time order so that what is learned is what
    /// came before.
    pub fn filter(&mut self, findings: Vec<Finding>) -> Vec<Finding> {
        let (mut changes, mut out): (Vec<Finding>, Vec<Finding>) = findings
            .into_iter()
            .partition(|f| DETECTORS.contains(&f.detector.as_str()));
        let before = out.len();
        out.sort_by(by_time);
        out.retain(|f| match f.detector.as_str() {
            onboarding::DETECTOR => !self.onboarding.is_onboarding(f),
            scanners::DETECTOR => !self.scanners.judge_and_learn(f),
            _ => true,
        });
        self.dropped += (before - out.len()) as u64;
        changes.sort_by(by_time);
        // Non-exposing changes by an unusual actor, by actor and hour: one alert each.
        let mut unusual: BTreeMap<(String, i64), Vec<Finding>> = BTreeMap::new();
        for mut f in changes {
            // A rule without the columns (a user's override) is not judged.
            let Some(exposure) = f.evidence["exposure"].as_str().map(str::to_string) else {
                out.push(f);
                continue;
            };
            let v = self.judge_and_learn(&f, &exposure);
            if exposure == "none" && v.routine {
                self.dropped += 1;
                continue;
            }
            if let Some(o) = f.evidence.as_object_mut() {
                o.insert("routine".into(), v.evidence);
            }
            if exposure == "none" {
                f.severity = f.severity.max(Severity::Medium);
                let hour = f.first_seen_ms.div_euclid(HOUR_MS);
                unusual.entry((v.key, hour)).or_default().push(f);
            } else {
                out.push(f);
            }
        }
        out.extend(unusual.into_values().filter_map(merge));
        out
    }

    fn judge_and_learn(&mut self, f: &Finding, exposure: &str) -> Verdict {
        let (who, ua, nets) = actor::of_evidence(&f.evidence, &f.entity.id);
        let key = format!("{}|{who}|{ua}", f.account_id.as_deref().unwrap_or_default());
        let day = f.first_seen_ms.div_euclid(DAY_MS);
        let iac = f.evidence["automation"].as_bool().unwrap_or(false);
        let p = self.actors.get(&key);
        let earlier = p.map_or(0, |p| p.days.iter().filter(|d| **d < day).count());
        let known_net = p.is_some_and(|p| nets.iter().all(|n| p.networks.contains(n)));
        let familiar = earlier >= self.opts.min_days && known_net;
        let routine = familiar || (iac && (p.is_none() || known_net));
        let why = match (exposure, routine) {
            ("none", true) => "no exposure raised, routine actor",
            ("none", false) if earlier == 0 => {
                "no exposure raised, but an actor never seen changing groups"
            }
            ("none", false) => "no exposure raised, but from a network this actor has not used",
            _ => "exposure raised: alerted whoever the actor",
        };
        let evidence = json!({
            "actor": who, "user_agent_family": ua, "networks": nets,
            "earlier_days": earlier, "known_network": known_net, "automation": iac,
            "usual_hours": p.map(|p| p.hours).unwrap_or(0), "why": why,
        });
        self.learn_actor(key.clone(), day, nets, f.first_seen_ms);
        Verdict {
            key,
            routine,
            evidence,
        }
    }

    fn learn_actor(&mut self, key: String, day: i64, nets: Vec<String>, t: i64) {
        if !self.actors.contains_key(&key) && self.actors.len() >= self.opts.max_actors {
            let oldest = self
                .actors
                .iter()
                .min_by(|(ka, a), (kb, b)| (a.last_ms, ka).cmp(&(b.last_ms, kb)))
                .map(|(k, _)| k.clone());
            if let Some(k) = oldest {
                self.actors.remove(&k);
            }
        }
        let p = self.actors.entry(key).or_default();
        if !p.days.contains(&day) {
            p.days.push(day);
            p.days.sort_unstable();
            let over = p.days.len().saturating_sub(self.opts.max_days);
            p.days.drain(..over);
        }
        for n in nets {
            if !p.networks.contains(&n) {
                p.networks.push(n);
            }
        }
        let over = p.networks.len().saturating_sub(self.opts.max_networks);
        p.networks.drain(..over);
        p.hours |= 1 << (t.rem_euclid(DAY_MS) / 3_600_000);
        p.changes += 1;
        p.last_ms = p.last_ms.max(t);
    }

    /// Persist to `dir/routine_changes.json`.
    pub fn save(&self, dir: &Path) -> Result<(), DetectError> {
        crate::state::save_json(dir, FILE, self)
    }

    /// Restore from `dir`.
    pub fn load(dir: &Path, opts: RoutineOptions) -> Result<Self, DetectError> {
        let mut r: RoutineChanges = crate::state::load_json(dir, FILE)?.unwrap_or_default();
        r.opts = opts;
        Ok(r)
    }
}

#[cfg(test)]
mod tests;
