//! OCSF findings built from real alerts (the alerts of a replay of the bundled sample) are
//! checked against the OCSF 1.5.0 Detection Finding schema vendored under `fixtures/ocsf/`
//! (the checker is `flowtrail_alerts::ocsf::check`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use flowtrail_alerts::ocsf::check::{problems_in, schema};
use flowtrail_alerts::ocsf::{OCSF_VERSION, detection_finding};
use flowtrail_core::Alert;
use serde_json::Value;

const ALERTS: &str = include_str!("fixtures/ocsf/sample_alerts.jsonl");

fn sample_alerts() -> Vec<Alert> {
    ALERTS
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn the_vendored_schema_is_the_version_findings_declare() {
    let s = schema();
    assert_eq!(s["ocsf_version"], OCSF_VERSION);
    assert_eq!(s["class"]["class_uid"], 2004);
    assert_eq!(s["class"]["category_uid"], 2);
}

#[test]
fn findings_of_every_sample_alert_are_valid_detection_findings() {
    let s = schema();
    let alerts = sample_alerts();
    let detectors: std::collections::BTreeSet<&str> =
        alerts.iter().map(|a| a.detector.as_str()).collect();
    for d in [
        "volume_spike",
        "new_peer",
        "iam_privilege_escalation",
        "console_login_no_mfa",
    ] {
        assert!(detectors.contains(d), "the sample has a {d} alert");
    }
    for a in &alerts {
        let f = detection_finding(a);
        let p = problems_in(&s, &f);
        assert!(p.is_empty(), "{} ({}): {p:#?}\n{f:#}", a.detector, a.id);
        assert_eq!(f["finding_info"]["uid"], a.id.as_str());
        assert_eq!(f["metadata"]["version"], OCSF_VERSION);
    }
}

fn finding_of(detector: &str) -> Value {
    let a = sample_alerts()
        .into_iter()
        .find(|a| a.detector == detector)
        .unwrap();
    detection_finding(&a)
}

#[test]
fn a_flow_baseline_alert_carries_observed_and_expected_values() {
    let f = finding_of("volume_spike");
    let an = &f["anomaly_analyses"][0];
    assert_eq!(an["anomalies"][0]["observation_parameter"], "bytes_out");
    assert_eq!(an["anomalies"][0]["observations"][0]["value"], "10788486");
    assert_eq!(an["baselines"][0]["observations"][0]["value"], "104756");
    assert_eq!(f["finding_info"]["analytic"]["type_id"], 3);
    assert_eq!(f["resources"][0]["type"], "AWS::EC2::NetworkInterface");
    let peer = &f["evidences"][0];
    assert_eq!(peer["dst_endpoint"]["ip"], "185.220.101.47");
    assert!(peer["dst_endpoint"]["port"].is_i64(), "ports are integers");
    assert!(f["time"].is_i64() && f["finding_info"]["first_seen_time"].is_i64());
}

#[test]
fn a_sql_rule_alert_carries_its_attack_ids_and_rule_analytic() {
    let f = finding_of("iam_privilege_escalation");
    assert_eq!(
        f["finding_info"]["analytic"]["uid"],
        "iam_privilege_escalation"
    );
    assert_eq!(f["finding_info"]["analytic"]["type"], "Rule");
    let attacks = f["finding_info"]["attacks"].as_array().unwrap();
    assert!(
        attacks
            .iter()
            .any(|a| a["sub_technique"]["uid"] == "T1098.003"
                && a["technique"]["name"] == "Account Manipulation")
    );
    assert!(
        attacks
            .iter()
            .any(|a| a["tactic"]["name"] == "Privilege Escalation")
    );
    assert_eq!(f["unmapped"]["evidence"]["target"], "support-temp");
}

#[test]
fn a_cloudtrail_alert_names_its_principal_and_source() {
    let f = finding_of("console_login_no_mfa");
    assert_eq!(f["severity_id"], 3);
    assert_eq!(f["cloud"]["provider"], "AWS");
    assert_eq!(f["cloud"]["account"]["uid"], "012345678901");
    assert_eq!(f["resources"][0]["type"], "AWS::IAM::User");
    let e = &f["evidences"][0];
    assert_eq!(e["src_endpoint"]["ip"], "185.220.101.9");
    assert_eq!(
        e["actor"]["user"]["uid"],
        "arn:aws:iam::012345678901:user/dev-jordan"
    );
}

#[test]
fn the_checker_catches_what_it_claims_to() {
    let s = schema();
    let good = finding_of("port_scan");
    assert!(problems_in(&s, &good).is_empty());
    let mut bad = good.clone();
    bad["severity_id"] = Value::from(7);
    bad["finding_info"]["first_seen_time"] = Value::from("2026-01-08T10:00:00Z");
    bad["evidences"][0]["dst_endpoint"]["port"] = Value::from("53");
    bad["finding_info"]["colour"] = Value::from("red");
    bad.as_object_mut().unwrap().remove("metadata");
    bad["class_uid"] = Value::from(2001);
    let p = problems_in(&s, &bad).join("\n");
    for want in [
        "severity_id: 7 is not one of",
        "first_seen_time: \"2026-01-08T10:00:00Z\" is not of type",
        "port: \"53\" is not of type",
        "colour: not an attribute",
        "required metadata missing",
        "class_uid 2001 is not 2004",
    ] {
        assert!(p.contains(want), "{want} not in\n{p}");
    }
}
