//! Agreement with panther-analysis: the unit-test events of its CloudTrail rules
//! (`rules/aws_cloudtrail_rules/*.yml`, Apache-2.0) replayed through flowtrail's built-in
//! rules. `fixtures/panther/mapping.json` names, for each panther rule of severity Critical
//! or High (and the Medium ones a flowtrail rule covers), the flowtrail detectors that are its
//! counterpart, or why it has none. For each test case the question is the one panther's
//! `ExpectedResult` answers: does a counterpart fire on this event?
//!
//! The events (`fixtures/panther/cases.json`) are generated, not committed: run
//! `python3 detect/fixtures/panther/convert.py <panther-analysis git dir>`, then
//! `cargo test -p flowtrail-detect --test panther -- --include-ignored`. The mapping checks
//! run always.
//!
//! How the comparison is made, and where it cannot be exact:
//! - Each case's Log becomes a `cloudtrail` batch through the same test copy of the decoder's
//!   mapping the Stratus replay uses (`common`), and each counterpart runs over it with
//!   [`RuleSet::evaluate_rule`]: the real rule, not a re-implementation.
//! - **Thresholds.** A panther rule with `Threshold: N > 1` alerts once `rule()` matched N
//!   events in its window, but its unit tests judge `rule()` on one event. So a case of such
//!   a rule is replayed as N copies of its event (distinct `eventID`s, one second apart):
//!   what panther would alert on after N such events. For a rule that also counts distinct
//!   `unique()` values (AWS.S3.SecurityControlDisabling: two different controls), N copies of
//!   one event would never alert in panther; the comparison is then with `rule()` alone, i.e.
//!   "this event is one of the changes the rule is about".
//! - **Mocks.** Some cases mock panther helpers (account-age caches, IP geolocation). A case
//!   whose verdict comes from a mocked cache (a new user) has no counterpart in an event, so
//!   it is counted, and listed among the disagreements when flowtrail decides otherwise. One
//!   mock does stand for events: AWS.SSM.DecryptSSMParams's cache of the parameter names an
//!   actor already decrypted in the hour, replayed as those earlier reads
//!   ([`mocked_events`]), for every case of that rule, true or false.
//! - Every disagreement must be listed in [`DISAGREEMENTS`] with its reason, and every listed
//!   one must still disagree, so the list stays the truth.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use flowtrail_detect::rules::RuleSet;
use serde::Deserialize;

/// `(panther rule id, case name, why flowtrail decides otherwise)`.
const DISAGREEMENTS: &[(&str, &str, &str)] = &[
    (
        "AWS.Console.LoginWithoutMFA",
        "No MFA Login - New User",
        "panther's verdict comes from a mocked account-age cache (a user created days ago); \
         flowtrail has no such grace period: a login without MFA is one whoever the user is",
    ),
    (
        "AWS.CloudTrail.IMDSCredentialExfiltration",
        "IMDS Credentials Used From Public IP",
        IMDS,
    ),
    (
        "AWS.CloudTrail.IMDSCredentialExfiltration",
        "IMDS Credentials Used From Amazon.com ASN Source IP",
        IMDS,
    ),
    (
        "AWS.User.Login.Profile.Modified",
        "ChangeOwnPassword",
        "a role session whose name is alice updating IAM user alice's password: the session \
         name is the caller's choice, not an identity (users change their own password with \
         iam:ChangePassword), so flowtrail treats it as another user's password",
    ),
    (
        "AWS.User.Login.Profile.Modified",
        "User changed password for other reset required",
        "whoever sets a password with reset required still signs in with it (and picks the \
         next one): login_profile_for_other_user alerts either way",
    ),
    (
        "AWS.EC2.DownloadInstanceUserData",
        "Unsuccessful Attempt",
        USERDATA,
    ),
    (
        "AWS.EC2.DownloadInstanceUserData",
        "Successful Attempt",
        USERDATA,
    ),
];

const IMDS: &str = "an instance-profile session calling from a public IP is also every \
    instance in a public subnet or behind a NAT gateway; without AWS's IP ranges flowtrail \
    alerts when that IP also served a person (instance_credentials_used_elsewhere)";
const USERDATA: &str = "threshold 10 replayed as ten reads of one instance's user data: \
    instance_userdata_enumeration counts distinct instances (5), so one instance read again \
    and again is not harvesting";

/// Agreement required over all the cases replayed, and over those of the Critical/High
/// rules: the 95%. The rows of [`DISAGREEMENTS`] are where flowtrail decides
/// differently on purpose.
const MIN_AGREEMENT: f64 = 0.95;
const MIN_AGREEMENT_TOP: f64 = 0.95;

#[derive(Deserialize)]
struct Mapping {
    rules: Vec<MapRow>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MapRow {
    rule_id: String,
    #[serde(default)]
    detectors: Vec<String>,
    #[serde(default)]
    excluded: Option<String>,
}

#[derive(Deserialize)]
struct Cases {
    commit: String,
    rules: Vec<PantherRule>,
}

#[derive(Deserialize)]
struct PantherRule {
    rule_id: String,
    severity: String,
    enabled: bool,
    threshold: usize,
    unique: bool,
    cases: Vec<PantherCase>,
}

#[derive(Deserialize)]
struct PantherCase {
    name: String,
    expected: bool,
    mocked: bool,
    /// Mocked helper → what it returns (JSON text in panther's YAML).
    #[serde(default)]
    mocks: BTreeMap<String, serde_json::Value>,
    log: serde_json::Value,
}

fn mapping() -> Mapping {
    let path = common::detect_dir().join("fixtures/panther/mapping.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

#[test]
fn every_mapping_row_names_builtin_detectors_or_a_reason() {
    let set = RuleSet::load(&[], true).unwrap_or_else(|e| panic!("loading rules: {e}"));
    let ids: BTreeSet<&str> = set.rules().iter().map(|r| r.id.as_str()).collect();
    let mut seen = BTreeSet::new();
    let mut bad = Vec::new();
    for row in mapping().rules {
        if !seen.insert(row.rule_id.clone()) {
            bad.push(format!("{}: listed twice", row.rule_id));
        }
        match (&row.excluded, row.detectors.is_empty()) {
            (None, true) => bad.push(format!("{}: no detector and no reason", row.rule_id)),
            (Some(_), false) => bad.push(format!("{}: detectors and a reason", row.rule_id)),
            (Some(why), true) if why.trim().len() < 20 => {
                bad.push(format!("{}: say why it is excluded", row.rule_id))
            }
            _ => {}
        }
        for d in &row.detectors {
            if !ids.contains(d.as_str()) {
                bad.push(format!("{}: {d} is not a built-in rule", row.rule_id));
            }
        }
    }
    assert!(seen.len() >= 34, "only {} rows", seen.len());
    assert!(bad.is_empty(), "{bad:#?}");
}

/// The case's event, `copies` times (distinct ids, one second apart).
fn records(log: &serde_json::Value, copies: usize) -> Vec<String> {
    (0..copies)
        .map(|n| {
            let mut ev = log.clone();
            if n > 0 {
                let id = ev
                    .get("eventID")
                    .and_then(|v| v.as_str())
                    .unwrap_or("panther");
                ev["eventID"] = format!("{id}-{n}").into();
                let t = ev["eventTime"].as_str().unwrap_or_default();
                let t = chrono::DateTime::parse_from_rfc3339(t)
                    .unwrap_or_else(|e| panic!("eventTime {t}: {e}"))
                    + chrono::Duration::seconds(n as i64);
                ev["eventTime"] = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true).into();
            }
            ev.to_string()
        })
        .collect()
}

/// The events a mock stands for, when it stands for events. AWS.SSM.DecryptSSMParams keeps,
/// per actor and hour, the parameter names the actor already decrypted (`get_string_set`):
/// a mocked cache is those earlier reads, replayed as `GetParameter` calls by the same
/// identity in the seconds before the case's event. No other mocked helper (account age,
/// geolocation, settings) has an event counterpart.
fn mocked_events(rule: &PantherRule, case: &PantherCase) -> Vec<String> {
    if rule.rule_id != "AWS.SSM.DecryptSSMParams" {
        return Vec::new();
    }
    let names: Vec<String> = case
        .mocks
        .get("get_string_set")
        .and_then(|v| v.as_str())
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_default();
    let t = case.log["eventTime"].as_str().unwrap_or_default();
    let t =
        chrono::DateTime::parse_from_rfc3339(t).unwrap_or_else(|e| panic!("eventTime {t}: {e}"));
    let id = case.log["eventID"].as_str().unwrap_or("panther");
    let n = names.len() as i64;
    names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let mut ev = case.log.clone();
            ev["eventName"] = "GetParameter".into();
            ev["requestParameters"] = serde_json::json!({"name": name, "withDecryption": true});
            ev["eventID"] = format!("{id}-cached-{i}").into();
            ev["eventTime"] = (t - chrono::Duration::seconds(n - i as i64))
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                .into();
            if let Some(o) = ev.as_object_mut() {
                o.remove("resources");
            }
            ev.to_string()
        })
        .collect()
}

struct Tally {
    cases: usize,
    agree: usize,
    top_cases: usize,
    top_agree: usize,
    rows: Vec<String>,
    unexplained: Vec<String>,
    explained: BTreeSet<(String, String)>,
}

fn replay(set: &RuleSet, rule: &PantherRule, detectors: &[String], t: &mut Tally) {
    let top = matches!(rule.severity.as_str(), "Critical" | "High");
    for case in &rule.cases {
        let mut events = mocked_events(rule, case);
        events.extend(records(&case.log, rule.threshold.max(1)));
        let batch = common::cloudtrail_batch(&events);
        let mut fired = Vec::new();
        for d in detectors {
            let findings = set
                .evaluate_rule(d, &[], std::slice::from_ref(&batch))
                .unwrap_or_else(|e| panic!("{}: {}: {d}: {e}", rule.rule_id, case.name));
            if !findings.is_empty() {
                fired.push(d.as_str());
            }
        }
        t.cases += 1;
        t.top_cases += usize::from(top);
        if fired.is_empty() != case.expected {
            t.agree += 1;
            t.top_agree += usize::from(top);
            continue;
        }
        let why = DISAGREEMENTS
            .iter()
            .find(|(r, c, _)| *r == rule.rule_id && *c == case.name)
            .map(|(_, _, why)| *why);
        t.rows.push(format!(
            "{:<48} {:<60} expected {:<5} fired {:?}{} — {}",
            rule.rule_id,
            case.name,
            case.expected,
            fired,
            if case.mocked { " (mocked)" } else { "" },
            why.unwrap_or("NO REASON GIVEN")
        ));
        if why.is_some() {
            t.explained
                .insert((rule.rule_id.clone(), case.name.clone()));
        } else {
            t.unexplained
                .push(format!("{}: {}", rule.rule_id, case.name));
        }
    }
}

#[test]
#[ignore = "needs fixtures/panther/cases.json: python3 detect/fixtures/panther/convert.py <panther-analysis git dir>"]
fn panther_cloudtrail_test_events_agree_with_the_counterpart_detectors() {
    let path = common::detect_dir().join("fixtures/panther/cases.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let cases: Cases = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let map: BTreeMap<String, MapRow> = mapping()
        .rules
        .into_iter()
        .map(|r| (r.rule_id.clone(), r))
        .collect();
    let set = RuleSet::load(&[], true).unwrap_or_else(|e| panic!("loading rules: {e}"));

    let mut t = Tally {
        cases: 0,
        agree: 0,
        top_cases: 0,
        top_agree: 0,
        rows: Vec::new(),
        unexplained: Vec::new(),
        explained: BTreeSet::new(),
    };
    let (mut selected, mut mapped, mut excluded) = (0, 0, Vec::new());
    let mut unmapped = Vec::new();
    for rule in &cases.rules {
        let top = matches!(rule.severity.as_str(), "Critical" | "High");
        selected += usize::from(top);
        let Some(row) = map.get(&rule.rule_id) else {
            unmapped.push(rule.rule_id.clone());
            continue;
        };
        if let Some(why) = &row.excluded {
            excluded.push(format!(
                "{} ({}, enabled {}): {why}",
                rule.rule_id, rule.severity, rule.enabled
            ));
            continue;
        }
        mapped += usize::from(top);
        if rule.unique && rule.threshold > 1 {
            println!(
                "{}: threshold {} of distinct values; compared with rule() on one event",
                rule.rule_id, rule.threshold
            );
        }
        replay(&set, rule, &row.detectors, &mut t);
    }
    let stale: Vec<_> = DISAGREEMENTS
        .iter()
        .filter(|(r, c, _)| !t.explained.contains(&(r.to_string(), c.to_string())))
        .map(|(r, c, _)| format!("{r}: {c}"))
        .collect();
    let share = t.agree as f64 / t.cases.max(1) as f64;
    let top_share = t.top_agree as f64 / t.top_cases.max(1) as f64;
    println!(
        "panther-analysis {}: {selected} Critical/High rules, {mapped} mapped, {} excluded; \
         {} cases replayed, {} agree ({:.1}%); Critical/High: {} cases, {} agree ({:.1}%)",
        cases.commit,
        excluded.len(),
        t.cases,
        t.agree,
        share * 100.0,
        t.top_cases,
        t.top_agree,
        top_share * 100.0
    );
    println!("excluded:\n  {}", excluded.join("\n  "));
    println!("disagreements:\n  {}", t.rows.join("\n  "));
    assert!(unmapped.is_empty(), "no mapping row: {unmapped:#?}");
    assert!(
        t.unexplained.is_empty(),
        "disagreements without a reason: {:#?}",
        t.unexplained
    );
    assert!(
        stale.is_empty(),
        "listed disagreements that now agree: {stale:#?}"
    );
    assert!(t.cases >= 150, "only {} cases", t.cases);
    assert!(
        share >= MIN_AGREEMENT && top_share >= MIN_AGREEMENT_TOP,
        "agreement {:.1}% (Critical/High {:.1}%)",
        share * 100.0,
        top_share * 100.0
    );
}
