//! Every alert of the bundled sample explains itself: a `why`, `next_steps`, and evidence SQL
//! that, run as is with `flowtrail query --format json` against the replay's lake, returns the
//! rows `evidence.rows` names (matched on their key columns). Baseline alerts carry their band.
use crate::common;

use std::path::Path;

use serde_json::Value;

/// Columns that identify a row behind an alert; an evidence row is matched on those it has.
const KEYS: &[&str] = &[
    "event_id",
    "interface_id",
    "instance_id",
    "srcaddr",
    "dstaddr",
    "dstport",
    "user_identity_arn",
    "source_ip_address",
    "id",
    "detector",
];

fn check_rows(a: &Value, lake: &Path) {
    let det = a["detector"].as_str().unwrap();
    let sql = a["evidence"]["sql"].as_str().unwrap_or_default();
    assert!(sql.starts_with("SELECT "), "{det}: evidence.sql {sql:?}");
    let rows = a["evidence"]["rows"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(!rows.is_empty() && rows.len() <= 5, "{det}: rows {rows:?}");
    let out = common::query(lake, sql, "json");
    let got: Vec<Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    for r in &rows {
        let keys: Vec<&str> = KEYS
            .iter()
            .copied()
            .filter(|k| r.get(k).is_some_and(|v| !v.is_null()))
            .collect();
        assert!(!keys.is_empty(), "{det}: row without key columns {r}");
        assert!(
            got.iter()
                .any(|g| keys.iter().all(|k| g.get(k) == r.get(k))),
            "{det}: evidence row {r} not among the {} rows of {sql}",
            got.len()
        );
    }
}

fn check_band(a: &Value) {
    let band = &a["evidence"]["band"];
    for k in [
        "hour_of_day",
        "expected_low",
        "expected_high",
        "observed",
        "times_expected",
    ] {
        assert!(band[k].is_number(), "band.{k} in {band}");
    }
    assert!(band["unit"].is_string(), "{band}");
    assert!(
        matches!(band["basis"].as_str(), Some("instance" | "peer_group")),
        "{band}"
    );
    let (low, high, obs) = (
        band["expected_low"].as_u64().unwrap(),
        band["expected_high"].as_u64().unwrap(),
        band["observed"].as_u64().unwrap(),
    );
    assert!(
        low <= high && obs > high,
        "a spike is above its band: {band}"
    );
}

/// Replay the sample (with `extra` arguments) and check every alert; returns the alerts.
fn replay_and_check(extra: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let alerts = common::replay_sample(&lake, extra);
    assert!(alerts.len() >= 10, "{} alerts", alerts.len());
    for a in &alerts {
        let det = a["detector"].as_str().unwrap();
        let why = a["why"].as_str().unwrap_or_default();
        assert!(why.len() > 60, "{det}: why {why:?}");
        let steps = a["next_steps"].as_array().cloned().unwrap_or_default();
        assert!(steps.len() >= 2, "{det}: next_steps {steps:?}");
        assert!(
            steps
                .iter()
                .all(|s| s.as_str().is_some_and(|s| !s.is_empty()))
        );
        check_rows(a, &lake);
        if det == "volume_spike" {
            check_band(a);
        }
        if det == "ssh_brute_force" {
            let title = a["title"].as_str().unwrap();
            assert!(title.contains("accepted by the network"), "{title}");
        }
    }
    alerts
}

#[test]
fn every_sample_alert_explains_itself_and_its_sql_returns_its_rows() {
    let alerts = replay_and_check(&[]);
    let baseline = alerts.iter().filter(|a| a["detector"] == "volume_spike");
    assert!(baseline.count() >= 1, "the sample's exfiltration spike");
}

/// Sigma rules get the generic CloudTrail explanation: their events by id.
#[test]
fn sigma_alerts_explain_themselves_too() {
    let sigma = concat!(env!("CARGO_MANIFEST_DIR"), "/detect/fixtures/sigma_own");
    let alerts = replay_and_check(&["--sigma", sigma]);
    let s = alerts
        .iter()
        .find(|a| a["detector"] == "sigma_aws_trail_stopped")
        .expect("the sample stops its trail");
    let why = s["why"].as_str().unwrap();
    assert!(
        why.contains("Sigma rule `sigma_aws_trail_stopped`"),
        "{why}"
    );
    assert_eq!(s["evidence"]["rows"][0]["event_name"], "StopLogging");
}
