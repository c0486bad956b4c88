//! Every finding explains itself before it leaves the engine: a plain-words `why`, ordered
//! `next_steps`, and evidence an analyst can rerun — `evidence.sql`, a read-only query over the
//! lake returning the rows behind the finding (runnable as is with `flowtrail query`), and
//! `evidence.rows`, the first of those rows as the detector had them in hand. Baseline
//! detectors also carry `evidence.band` ([`band`]), which they compute themselves since only
//! they hold the model.
//!
//! One module per detector family: [`network`] (flows: baselines, behaviour, flow rules),
//! [`cloud`] (CloudTrail: SQL and Sigma rules, `api_recon`, `unexpected_resource`),
//! [`sequence`] (`attack_sequence` over the `alerts` table); [`steps`] holds the next steps
//! common to an entity kind, [`sql`] the query building blocks, [`rows`] the CloudTrail rows
//! in hand, [`describe`] the rule descriptions and [`titles`] the titles that would mislead.
//!
//! The engine applies [`Explainer::explain_all`] where findings leave it, never reading the
//! lake on that path. A finding a detector already explained keeps its own explanation.

pub mod band;
pub mod cloud;
pub mod describe;
pub mod network;
pub mod rows;
pub mod sequence;
pub mod sql;
pub mod steps;
pub mod titles;

use std::collections::{HashMap, HashSet};

use arrow::array::RecordBatch;
use flowtrail_core::Finding;
use flowtrail_core::alert::evidence_object;
use serde_json::Value;

use crate::rules::{RuleSet, RuleTable};

/// What a family module says of one finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Explanation {
    /// One paragraph: what happened, why it matters, what benign causes look like.
    pub why: String,
    /// Ordered steps.
    pub next_steps: Vec<String>,
    /// `evidence.sql`.
    pub sql: String,
    /// `evidence.rows` (at most [`rows::MAX_ROWS`]).
    pub rows: Vec<Value>,
}

impl Explanation {
    /// An explanation with no steps yet.
    pub fn new(why: String, sql: String, mut rows: Vec<Value>) -> Self {
        rows.truncate(rows::MAX_ROWS);
        Explanation {
            why,
            next_steps: Vec::new(),
            sql,
            rows,
        }
    }
}

/// A rule as the explainer needs it.
#[derive(Debug, Clone)]
struct RuleInfo {
    table: RuleTable,
    description: Option<String>,
}

/// Explains findings; knows the loaded rules' descriptions.
#[derive(Debug, Clone, Default)]
pub struct Explainer {
    rules: HashMap<String, RuleInfo>,
}

impl Explainer {
    /// An explainer for the detectors and the rules of `rules` (descriptions read now).
    pub fn new(rules: &RuleSet) -> Self {
        let rules = rules
            .rules()
            .iter()
            .map(|r| {
                let info = RuleInfo {
                    table: r.table,
                    description: describe::description(r),
                };
                (r.id.clone(), info)
            })
            .collect();
        Explainer { rules }
    }

    /// Explain each finding; `cloudtrail` is the CloudTrail rows in hand (for evidence rows,
    /// looked up in one pass for all the findings).
    pub fn explain_all(&self, findings: &mut [Finding], cloudtrail: &[RecordBatch]) {
        let wanted: HashSet<String> = findings
            .iter()
            .filter(|f| f.explanation().is_none())
            .flat_map(|f| cloud::event_ids(f).into_iter().take(rows::MAX_ROWS))
            .collect();
        let events = rows::Events::find(cloudtrail, &wanted);
        for f in findings {
            self.explain_with(f, &events);
        }
    }

    /// Explain one finding (a finding already explained is left as it is).
    pub fn explain(&self, f: &mut Finding, cloudtrail: &[RecordBatch]) {
        self.explain_all(std::slice::from_mut(f), cloudtrail);
    }

    fn explain_with(&self, f: &mut Finding, events: &rows::Events) {
        if f.explanation().is_some() {
            return;
        }
        titles::clarify(f);
        let e = self.explanation(f, events);
        apply(f, e);
    }

    fn explanation(&self, f: &Finding, events: &rows::Events) -> Explanation {
        if let Some(e) = network::explain(f) {
            return e;
        }
        match f.detector.as_str() {
            crate::sequence::DETECTOR => return sequence::explain(f),
            crate::recon::DETECTOR => return cloud::api_recon(f, events),
            crate::fence::DETECTOR => return cloud::unexpected_resource(f, events),
            _ => {}
        }
        let rule = self.rules.get(&f.detector);
        let description = rule.and_then(|r| r.description.as_deref());
        match rule.map(|r| r.table) {
            Some(RuleTable::Flows) => network::generic(f, description),
            _ => cloud::rule(f, description, events),
        }
    }
}

/// Write an explanation into the finding: `evidence.sql`, `evidence.rows` and the `why` and
/// `next_steps` the alert takes over.
pub fn apply(f: &mut Finding, e: Explanation) {
    let obj = evidence_object(&mut f.evidence);
    obj.insert("sql".into(), Value::String(e.sql));
    obj.insert("rows".into(), Value::Array(e.rows));
    f.set_explanation(e.why, e.next_steps);
}

#[cfg(test)]
mod engine_tests;
#[cfg(test)]
mod run_tests;
#[cfg(test)]
pub(crate) mod tests;
