//! Findings (what a detector reports) and alerts (what leaves flowtrail after dedupe and
//! suppression). The alert JSON is a contract: the same object in the JSONL file, on stdout, in
//! the `alerts` table and as the SNS message body.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

/// How urgent an alert is, lowest first (so `Ord` compares urgency).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth a look, no action expected.
    Info,
    /// Low.
    Low,
    /// Medium.
    Medium,
    /// High: someone should look today.
    High,
    /// Critical: someone should look now.
    Critical,
}

impl Severity {
    /// The lowercase name used in JSON and SNS attributes.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A severity name that is not one of `info, low, medium, high, critical`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("unknown severity {0:?} (expected info, low, medium, high or critical)")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "info" => Ok(Severity::Info),
            "low" => Ok(Severity::Low),
            "medium" => Ok(Severity::Medium),
            "high" => Ok(Severity::High),
            "critical" => Ok(Severity::Critical),
            _ => Err(UnknownSeverity(s.to_string())),
        }
    }
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EntityKind {
    /// An EC2 instance (`i-…`).
    Instance,
    /// A network interface (`eni-…`), when flow logs carry no instance id.
    Eni,
    /// An IAM principal (ARN).
    Principal,
    /// A security group (`sg-…`).
    SecurityGroup,
    /// An IP address.
    Ip,
}

/// The entity an alert is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Entity {
    /// Its kind.
    pub kind: EntityKind,
    /// Its id (instance id, ENI id, ARN, group id, address).
    pub id: String,
}

/// MITRE ATT&CK ids of a finding or alert: tactic ids (`TA0010`) and technique or
/// sub-technique ids (`T1048`, `T1562.008`), in the order the detector names them. Both lists
/// may be empty; in the alert JSON the object is always present.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Attack {
    /// Tactic ids (`TA0010`).
    #[serde(default)]
    pub tactics: Vec<String>,
    /// Technique and sub-technique ids (`T1048`, `T1562.008`).
    #[serde(default)]
    pub techniques: Vec<String>,
}

impl Attack {
    /// ATT&CK ids from string lists (not checked; see [`is_tactic_id`], [`is_technique_id`]).
    pub fn new(tactics: &[&str], techniques: &[&str]) -> Self {
        Attack {
            tactics: tactics.iter().map(|s| (*s).to_string()).collect(),
            techniques: techniques.iter().map(|s| (*s).to_string()).collect(),
        }
    }

    /// Whether neither a tactic nor a technique is named.
    pub fn is_empty(&self) -> bool {
        self.tactics.is_empty() && self.techniques.is_empty()
    }

    /// Add an id to the list its form belongs to (a repeat is ignored). `Err` names an id that
    /// is neither a tactic (`TA0000`) nor a technique (`T0000`, `T0000.000`).
    pub fn push_id(&mut self, id: &str) -> Result<(), String> {
        let list = if is_tactic_id(id) {
            &mut self.tactics
        } else if is_technique_id(id) {
            &mut self.techniques
        } else {
            return Err(format!(
                "`{id}` is not an ATT&CK tactic id (TA0000) or technique id (T0000 or T0000.000)"
            ));
        };
        if !list.iter().any(|x| x == id) {
            list.push(id.to_string());
        }
        Ok(())
    }
}

/// ATT&CK ids fixed at compile time: a built-in detector's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaticAttack {
    /// Tactic ids (`TA0010`).
    pub tactics: &'static [&'static str],
    /// Technique ids (`T1048`).
    pub techniques: &'static [&'static str],
}

impl StaticAttack {
    /// As an owned [`Attack`].
    pub fn to_attack(self) -> Attack {
        Attack::new(self.tactics, self.techniques)
    }
}

impl From<StaticAttack> for Attack {
    fn from(a: StaticAttack) -> Self {
        a.to_attack()
    }
}

fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// `TA` and four digits (`TA0010`).
pub fn is_tactic_id(id: &str) -> bool {
    id.strip_prefix("TA").is_some_and(|d| digits(d, 4))
}

/// `T` and four digits, optionally `.` and three (`T1048`, `T1562.008`).
pub fn is_technique_id(id: &str) -> bool {
    let Some(rest) = id.strip_prefix('T') else {
        return false;
    };
    match rest.split_once('.') {
        Some((main, sub)) => digits(main, 4) && digits(sub, 3),
        None => digits(rest, 4),
    }
}

/// What a detector reports for one window, before dedupe and suppression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Detector id (`port_scan`, …), verbatim.
    pub detector: String,
    /// Severity.
    pub severity: Severity,
    /// One-line human title.
    pub title: String,
    /// Account the activity happened in.
    pub account_id: Option<String>,
    /// Region the activity happened in.
    pub region: Option<String>,
    /// What the finding is about.
    pub entity: Entity,
    /// Event time of the first evidence (ms).
    pub first_seen_ms: i64,
    /// Event time of the last evidence (ms).
    pub last_seen_ms: i64,
    /// Key under which repeated findings collapse into one alert.
    pub dedupe_key: String,
    /// Small, useful evidence (top peers, bytes against baseline, event ids).
    pub evidence: serde_json::Value,
    /// ATT&CK tactics and techniques of the detector.
    #[serde(default)]
    pub attack: Attack,
}

/// The evidence key under which a finding carries its explanation (`why`, `next_steps`) until
/// it becomes an alert: [`Alert::from_finding`] moves it to the alert's own fields. Kept in the
/// evidence object so `Finding` keeps its shape for every detector and test that builds one.
pub const EXPLANATION_KEY: &str = "explanation";

impl Finding {
    /// The finding with these ATT&CK ids.
    pub fn with_attack(mut self, attack: impl Into<Attack>) -> Self {
        self.attack = attack.into();
        self
    }

    /// Set the plain-words explanation and the ordered next steps (see [`EXPLANATION_KEY`]).
    /// Evidence that is not an object becomes `{"value": <it>}` first.
    pub fn set_explanation(&mut self, why: String, next_steps: Vec<String>) {
        let obj = evidence_object(&mut self.evidence);
        obj.insert(
            EXPLANATION_KEY.into(),
            serde_json::json!({"why": why, "next_steps": next_steps}),
        );
    }

    /// The explanation set by [`Finding::set_explanation`]: `why` and `next_steps`.
    pub fn explanation(&self) -> Option<(String, Vec<String>)> {
        let e = self.evidence.get(EXPLANATION_KEY)?;
        let why = e.get("why")?.as_str()?.to_string();
        let steps = e
            .get("next_steps")
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Some((why, steps))
    }
}

/// The evidence as a JSON object, wrapping anything else as `{"value": …}`.
pub fn evidence_object(
    evidence: &mut serde_json::Value,
) -> &mut serde_json::Map<String, serde_json::Value> {
    if !evidence.is_object() {
        let old = std::mem::take(evidence);
        let mut m = serde_json::Map::new();
        if !old.is_null() {
            m.insert("value".into(), old);
        }
        *evidence = serde_json::Value::Object(m);
    }
    match evidence {
        serde_json::Value::Object(m) => m,
        _ => unreachable!("made an object above"),
    }
}

/// An alert as it leaves flowtrail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Stable id: a hash of detector, dedupe key and first-seen time.
    pub id: String,
    /// Detector id.
    pub detector: String,
    /// Severity.
    pub severity: Severity,
    /// Title.
    pub title: String,
    /// Account id.
    pub account_id: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Entity.
    pub entity: Entity,
    /// Event time of the first evidence, seconds precision (RFC 3339 with `Z` on the wire).
    #[serde(with = "wire_time")]
    pub first_seen: DateTime<Utc>,
    /// Event time of the last evidence, seconds precision (RFC 3339 with `Z` on the wire).
    #[serde(with = "wire_time")]
    pub last_seen: DateTime<Utc>,
    /// How many findings collapsed into this alert.
    pub count: u64,
    /// Dedupe key.
    pub dedupe_key: String,
    /// ATT&CK tactics and techniques (always present, lists maybe empty).
    #[serde(default)]
    pub attack: Attack,
    /// Evidence object. Carries `sql` (a read-only query over the lake returning the rows
    /// behind the alert), `rows` (the first of them) and, for baseline detectors, `band`.
    pub evidence: serde_json::Value,
    /// Why this matters, in plain words (empty in alerts written before the field existed).
    #[serde(default)]
    pub why: String,
    /// What an analyst should check or do next, in order.
    #[serde(default)]
    pub next_steps: Vec<String>,
    /// The instance behind the alert's interface or address (for an attack from outside, the
    /// instance it targets), where known.
    #[serde(default)]
    pub asset: Option<crate::Asset>,
}

/// Format UTC milliseconds as RFC 3339 with seconds precision and a `Z`.
pub fn rfc3339(ms: i64) -> String {
    alert_time(ms).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// UTC milliseconds as an alert time: seconds precision, as the wire carries it (the epoch
/// for a value outside chrono's range, which no event time reaches).
pub fn alert_time(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp(ms.div_euclid(1000), 0).unwrap_or_default()
}

/// Alert times on the wire: written as RFC 3339 UTC with seconds precision and a `Z`
/// (`2026-01-08T10:05:00Z`); read from any RFC 3339 form, and an unreadable time is an error
/// naming it rather than a silent epoch.
mod wire_time {
    use chrono::{DateTime, SecondsFormat, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&t.to_rfc3339_opts(SecondsFormat::Secs, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let s = String::deserialize(d)?;
        DateTime::parse_from_rfc3339(&s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| serde::de::Error::custom(format!("alert time {s:?}: {e}")))
    }
}

/// A stable alert id for (detector, dedupe key, first seen).
pub fn alert_id(detector: &str, dedupe_key: &str, first_seen_ms: i64) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(detector.as_bytes());
    h.update(&[0]);
    h.update(dedupe_key.as_bytes());
    h.update(&[0]);
    h.update(&first_seen_ms.to_le_bytes());
    format!("{:032x}", h.digest128())
}

impl Alert {
    /// An alert for one finding (count 1).
    pub fn from_finding(mut f: Finding) -> Self {
        let (why, next_steps) = f.explanation().unwrap_or_default();
        if let Some(o) = f.evidence.as_object_mut() {
            o.remove(EXPLANATION_KEY);
        }
        Alert {
            id: alert_id(&f.detector, &f.dedupe_key, f.first_seen_ms),
            detector: f.detector,
            severity: f.severity,
            title: f.title,
            account_id: f.account_id,
            region: f.region,
            entity: f.entity,
            first_seen: alert_time(f.first_seen_ms),
            last_seen: alert_time(f.last_seen_ms),
            count: 1,
            dedupe_key: f.dedupe_key,
            attack: f.attack,
            evidence: f.evidence,
            why,
            next_steps,
            asset: None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn finding() -> Finding {
        Finding {
            detector: "port_scan".into(),
            severity: Severity::High,
            title: "port scan from 203.0.113.9".into(),
            account_id: Some("012345678901".into()),
            region: Some("us-east-1".into()),
            entity: Entity {
                kind: EntityKind::Ip,
                id: "203.0.113.9".into(),
            },
            first_seen_ms: 1_767_866_700_000,
            last_seen_ms: 1_767_867_600_000,
            dedupe_key: "203.0.113.9".into(),
            evidence: serde_json::json!({"ports": 120}),
            attack: Attack::new(&["TA0007"], &["T1046"]),
        }
    }

    #[test]
    fn alert_json_matches_the_contract() {
        let a = Alert::from_finding(finding());
        let v = serde_json::to_value(&a).unwrap_or_default();
        assert_eq!(v["detector"], "port_scan");
        assert_eq!(v["severity"], "high");
        assert_eq!(v["entity"]["kind"], "ip");
        assert_eq!(v["first_seen"], "2026-01-08T10:05:00Z");
        assert_eq!(v["count"], 1);
        assert_eq!(v["account_id"], "012345678901");
        assert_eq!(a.id.len(), 32);
        assert_eq!(
            v["attack"],
            serde_json::json!({"tactics": ["TA0007"], "techniques": ["T1046"]})
        );
    }

    #[test]
    fn alert_times_travel_as_rfc3339_and_a_bad_one_is_an_error() {
        let a = Alert::from_finding(finding());
        let text = serde_json::to_string(&a).unwrap_or_default();
        let back: Alert = serde_json::from_str(&text).unwrap();
        assert_eq!(back, a);
        assert_eq!(back.last_seen.timestamp_millis(), 1_767_867_600_000);
        // Any RFC 3339 form reads; sub-second parts and offsets included.
        let v = text.replace("2026-01-08T10:05:00Z", "2026-01-08T11:05:00.250+01:00");
        let other: Alert = serde_json::from_str(&v).unwrap();
        assert_eq!(other.first_seen.timestamp_millis(), 1_767_866_700_250);
        // An unreadable time names itself instead of becoming 1970.
        let bad = text.replace("2026-01-08T10:05:00Z", "yesterday");
        let err = serde_json::from_str::<Alert>(&bad).unwrap_err().to_string();
        assert!(err.contains("alert time \"yesterday\""), "{err}");
    }

    #[test]
    fn attack_is_always_in_the_json_and_optional_when_read() {
        let mut f = finding();
        f.attack = Attack::default();
        let v = serde_json::to_value(Alert::from_finding(f)).unwrap_or_default();
        assert_eq!(
            v["attack"],
            serde_json::json!({"tactics": [], "techniques": []})
        );
        // Alerts written before the field existed (an outbox, a JSONL file) still read.
        let mut old = v.clone();
        if let Some(o) = old.as_object_mut() {
            o.remove("attack");
        }
        let back: Result<Alert, _> = serde_json::from_value(old);
        assert_eq!(back.map(|a| a.attack).ok(), Some(Attack::default()));
    }

    #[test]
    fn attack_ids_by_form() {
        for ok in ["TA0001", "TA0112"] {
            assert!(is_tactic_id(ok), "{ok}");
            assert!(!is_technique_id(ok), "{ok}");
        }
        for ok in ["T1048", "T1562.008"] {
            assert!(is_technique_id(ok), "{ok}");
            assert!(!is_tactic_id(ok), "{ok}");
        }
        for bad in [
            "",
            "T",
            "TA",
            "TA001",
            "TA00010",
            "t1048",
            "ta0010",
            "T104",
            "T1048.",
            "T1048.01",
            "T1048.0001",
            "T1048x",
            "TA0010;",
            "T10a8",
        ] {
            assert!(!is_tactic_id(bad) && !is_technique_id(bad), "{bad}");
        }
        let mut a = Attack::default();
        for id in ["TA0010", "T1048", "TA0010", "T1048.003"] {
            assert_eq!(a.push_id(id), Ok(()));
        }
        assert_eq!(a, Attack::new(&["TA0010"], &["T1048", "T1048.003"]));
        assert!(a.push_id("X1").is_err_and(|e| e.contains("X1")));
    }

    #[test]
    fn the_explanation_moves_from_the_evidence_to_the_alert() {
        let mut f = finding();
        assert_eq!(f.explanation(), None);
        f.set_explanation("a scan".into(), vec!["check it".into()]);
        assert_eq!(
            f.explanation(),
            Some(("a scan".to_string(), vec!["check it".to_string()]))
        );
        let a = Alert::from_finding(f);
        assert_eq!(a.why, "a scan");
        assert_eq!(a.next_steps, vec!["check it".to_string()]);
        assert_eq!(a.evidence, serde_json::json!({"ports": 120}));
        let mut g = finding();
        g.evidence = serde_json::json!(3);
        g.set_explanation("w".into(), Vec::new());
        assert_eq!(g.evidence["value"], 3);
        assert_eq!(Alert::from_finding(g).why, "w");
    }

    #[test]
    fn ids_are_stable_and_distinct() {
        assert_eq!(alert_id("a", "k", 1), alert_id("a", "k", 1));
        assert_ne!(alert_id("a", "k", 1), alert_id("a", "k", 2));
        assert_ne!(alert_id("ab", "k", 1), alert_id("a", "bk", 1));
    }

    #[test]
    fn severities_order_by_urgency_and_parse() {
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Info);
        assert_eq!("HIGH".parse::<Severity>().ok(), Some(Severity::High));
        assert!("urgent".parse::<Severity>().is_err());
    }
}
