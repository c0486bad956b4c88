//! `api_recon`: a burst of read-only calls (Describe/List/Get) across several services with
//! many AccessDenied errors by one principal, judged against that principal's own history
//! (a security scanner that is always denied a little is normal for itself). Windows are 10
//! minutes of event time; AWS service principals are never judged.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::TimestampMillisecondType;
use serde::{Deserialize, Serialize};

use flowtrail_core::alert::StaticAttack;
use flowtrail_core::schema::cloudtrail::col;
use flowtrail_core::{Entity, EntityKind, Finding, Severity};

use crate::DetectError;
use crate::baseline::stats::Ewma;

const WINDOW_MS: i64 = 600_000;

/// The detector id.
pub const DETECTOR: &str = "api_recon";
/// Discovery (TA0007): Cloud Infrastructure Discovery (T1580), Cloud Service Discovery
/// (T1526).
pub const ATTACK: StaticAttack = StaticAttack {
    tactics: &["TA0007"],
    techniques: &["T1580", "T1526"],
};

/// Thresholds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReconOptions {
    /// Least distinct services called in the window.
    pub min_services: usize,
    /// Least denied calls in the window.
    pub min_denied: u64,
    /// Denied calls above the principal's usual, in standard deviations.
    pub sigmas: f32,
}

impl Default for ReconOptions {
    fn default() -> Self {
        Self {
            min_services: 4,
            min_denied: 10,
            sigmas: 4.0,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct PrincipalProfile {
    denied: Ewma,
    services: Ewma,
}

/// Per-principal recon baselines.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct ReconBaselines {
    #[serde(skip)]
    opts: ReconOptions,
    principals: HashMap<String, PrincipalProfile>,
}

#[derive(Default)]
struct Win {
    calls: u64,
    denied: u64,
    services: HashSet<String>,
    names: BTreeMap<String, u64>,
    account: Option<String>,
    region: Option<String>,
    ip: Option<String>,
    first: i64,
    last: i64,
    event_ids: Vec<String>,
}

fn is_denied(code: &str) -> bool {
    matches!(
        code,
        "AccessDenied"
            | "AccessDeniedException"
            | "Client.UnauthorizedOperation"
            | "UnauthorizedOperation"
            | "UnauthorizedAccess"
    )
}

fn is_recon(name: &str) -> bool {
    name.starts_with("Describe") || name.starts_with("List") || name.starts_with("Get")
}

fn s<'a>(b: &'a RecordBatch, n: &str) -> Option<&'a StringArray> {
    b.column_by_name(n).and_then(|c| c.as_string_opt::<i32>())
}

fn get(a: Option<&StringArray>, i: usize) -> Option<&str> {
    a.and_then(|a| if a.is_null(i) { None } else { Some(a.value(i)) })
}

impl ReconBaselines {
    /// Empty baselines.
    pub fn new(opts: ReconOptions) -> Self {
        Self {
            opts,
            principals: HashMap::new(),
        }
    }

    /// Judge and learn one chunk of CloudTrail rows.
    pub fn close_chunk(&mut self, batches: &[RecordBatch]) -> Vec<Finding> {
        let mut wins: BTreeMap<(i64, String), Win> = BTreeMap::new();
        for b in batches {
            let (name, code, src, arn, pid, ty, acct, region, ip, id) = (
                s(b, col::EVENT_NAME),
                s(b, col::ERROR_CODE),
                s(b, col::EVENT_SOURCE),
                s(b, col::USER_IDENTITY_ARN),
                s(b, col::USER_IDENTITY_PRINCIPAL_ID),
                s(b, col::USER_IDENTITY_TYPE),
                s(b, flowtrail_core::schema::ACCOUNT_ID),
                s(b, col::AWS_REGION),
                s(b, col::SOURCE_IP_ADDRESS),
                s(b, col::EVENT_ID),
            );
            let time = b
                .column_by_name(col::EVENT_TIME)
                .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>());
            for i in 0..b.num_rows() {
                let Some(n) = get(name, i) else { continue };
                if !is_recon(n) || matches!(get(ty, i), Some("AWSService")) {
                    continue;
                }
                let Some(who) = get(arn, i).or(get(pid, i)) else {
                    continue;
                };
                let t = time.map(|t| t.value(i)).unwrap_or(0);
                let w = wins
                    .entry((t.div_euclid(WINDOW_MS), who.to_string()))
                    .or_insert_with(|| Win {
                        first: t,
                        last: t,
                        ..Default::default()
                    });
                w.calls += 1;
                w.first = w.first.min(t);
                w.last = w.last.max(t);
                if let Some(sv) = get(src, i)
                    && !w.services.contains(sv)
                {
                    w.services.insert(sv.to_string());
                }
                if get(code, i).is_some_and(is_denied) {
                    w.denied += 1;
                    *w.names.entry(n.to_string()).or_default() += 1;
                    if w.event_ids.len() < 5
                        && let Some(e) = get(id, i)
                    {
                        w.event_ids.push(e.to_string());
                    }
                }
                if w.account.is_none() {
                    w.account = get(acct, i).map(str::to_string);
                    w.region = get(region, i).map(str::to_string);
                    w.ip = get(ip, i).map(str::to_string);
                }
            }
        }
        let mut out = Vec::new();
        for ((_, who), w) in wins {
            let p = self.principals.entry(who.clone()).or_default();
            let usual = p.denied.mean + self.opts.sigmas * p.denied.std().max(1.0);
            if w.services.len() >= self.opts.min_services
                && w.denied >= self.opts.min_denied
                && (w.denied as f32) > usual
            {
                let sev = if w.denied >= 50 || w.services.len() >= 8 {
                    Severity::High
                } else {
                    Severity::Medium
                };
                let mut services: Vec<&String> = w.services.iter().collect();
                services.sort();
                let mut top: Vec<(&String, &u64)> = w.names.iter().collect();
                top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
                out.push(Finding {
                    detector: DETECTOR.into(),
                    severity: sev,
                    title: format!("{who} probed {} services with {} denied calls in 10 minutes", w.services.len(), w.denied),
                    account_id: w.account.clone(),
                    region: w.region.clone(),
                    entity: Entity { kind: EntityKind::Principal, id: who.clone() },
                    first_seen_ms: w.first,
                    last_seen_ms: w.last,
                    dedupe_key: who.clone(),
                    evidence: serde_json::json!({
                        "calls": w.calls, "denied": w.denied, "services": services,
                        "top_denied": top.iter().take(5).map(|(n, c)| serde_json::json!({"event_name": n, "count": c})).collect::<Vec<_>>(),
                        "source_ip": w.ip, "usual_denied": (p.denied.mean * 10.0).round() / 10.0, "event_ids": w.event_ids,
                    }),
                    attack: ATTACK.to_attack(),
                });
                // Learn a clipped value: an attack does not become the norm.
                p.denied.push(usual.min(w.denied as f32));
            } else {
                p.denied.push(w.denied as f32);
            }
            p.services.push(w.services.len() as f32);
        }
        out
    }

    /// Persist to `dir/recon_baselines.json`.
    pub fn save(&self, dir: &Path) -> Result<(), DetectError> {
        crate::state::save_json(dir, "recon_baselines.json", self)
    }

    /// Restore from `dir`.
    pub fn load(dir: &Path, opts: ReconOptions) -> Result<Self, DetectError> {
        let mut b: ReconBaselines =
            crate::state::load_json(dir, "recon_baselines.json")?.unwrap_or_default();
        b.opts = opts;
        Ok(b)
    }
}
