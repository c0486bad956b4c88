//! Explanations of detectors on fixtures, for the detectors the bundled sample does not raise
//! (the sample's own alerts are checked end to end by the root test `evidence_sql`).

use flowtrail_core::{Entity, EntityKind, Finding, Severity};
use serde_json::{Value, json};

use super::Explainer;

const T: i64 = 1_767_870_096_000; // 2026-01-08T11:01:36Z

/// A finding of `detector` on an entity (`kind` as in the alert JSON).
pub(crate) fn finding(detector: &str, kind: &str, id: &str) -> Finding {
    let kind: EntityKind = serde_json::from_value(json!(kind)).unwrap_or(EntityKind::Ip);
    Finding {
        detector: detector.into(),
        severity: Severity::High,
        title: "t".into(),
        account_id: Some("012345678901".into()),
        region: Some("us-east-1".into()),
        entity: Entity {
            kind,
            id: id.into(),
        },
        first_seen_ms: T,
        last_seen_ms: T + 600_000,
        dedupe_key: id.into(),
        evidence: json!({}),
        attack: Default::default(),
    }
}

fn explained(mut f: Finding) -> (Finding, String, Vec<Value>) {
    Explainer::default().explain(&mut f, &[]);
    let sql = f.evidence["sql"].as_str().unwrap_or_default().to_string();
    let rows = f.evidence["rows"].as_array().cloned().unwrap_or_default();
    (f, sql, rows)
}

fn assert_story(f: &Finding) {
    let (why, steps) = f.explanation().unwrap_or_default();
    assert!(why.len() > 80, "{}: {why}", f.detector);
    assert!(steps.len() >= 3, "{}: {steps:?}", f.detector);
    assert!(steps[0].contains("evidence.sql"), "{steps:?}");
}

fn assert_hour_pruned(sql: &str) {
    assert!(sql.starts_with("SELECT "), "{sql}");
    assert!(
        sql.contains("date = '2026-01-08' AND hour BETWEEN '11' AND '11'"),
        "{sql}"
    );
}

#[test]
fn slow_exfiltration_names_the_remote_and_its_band() {
    let mut f = finding("slow_exfiltration", "instance", "i-0abc");
    f.evidence = json!({"remote": "203.0.113.50", "remote_port": 443, "hours": 4, "bytes_out": 80_000_000,
        "band": {"hour_of_day": 11, "expected_low": 1000, "expected_high": 5_000_000, "observed": 20_000_000,
                 "unit": "bytes_out_per_hour_to_the_network", "times_expected": 4.0, "basis": "instance"}});
    let (f, sql, rows) = explained(f);
    assert_story(&f);
    assert_hour_pruned(&sql);
    assert!(
        sql.contains("instance_id = 'i-0abc'")
            && sql.contains("dstaddr IN ('203.0.113.50')")
            && sql.contains("dstport = 443"),
        "{sql}"
    );
    assert_eq!(
        rows,
        vec![json!({"instance_id": "i-0abc", "dstaddr": "203.0.113.50", "dstport": 443})]
    );
    let (why, steps) = f.explanation().unwrap_or_default();
    assert!(
        why.contains("4x the top of that range") && why.contains("own history"),
        "{why}"
    );
    assert!(
        steps.iter().any(|s| s.contains("flowtrail-respond")),
        "{steps:?}"
    );
}

#[test]
fn dns_tunnel_beacon_mining_and_resolver_select_their_flows() {
    let mut dns = finding("dns_tunnel", "eni", "eni-1");
    dns.evidence = json!({"dns_bytes_out": 9_000_000, "usual_dns_bytes_out": 20_000});
    let (f, sql, rows) = explained(dns);
    assert_story(&f);
    assert!(
        sql.contains("interface_id = 'eni-1'") && sql.contains("dstport = 53"),
        "{sql}"
    );
    assert_eq!(rows, vec![json!({"interface_id": "eni-1", "dstport": 53})]);

    let mut c2 = finding("c2_beaconing", "eni", "eni-2");
    c2.evidence =
        json!({"remote": "198.51.100.7", "remote_port": 8088, "interval_s": 60, "hours": 3});
    let (f, sql, rows) = explained(c2);
    assert_story(&f);
    assert!(
        sql.contains("dstaddr IN ('198.51.100.7') AND dstport = 8088"),
        "{sql}"
    );
    assert_eq!(rows[0]["dstaddr"], "198.51.100.7");

    let mut mine = finding("crypto_mining", "eni", "eni-3");
    mine.evidence = json!({"client": "10.0.1.5", "remote": "198.51.100.9", "remote_port": 3333, "known_pool": false});
    let (f, sql, rows) = explained(mine);
    assert_story(&f);
    assert!(
        sql.contains("srcaddr = '10.0.1.5'") && sql.contains("dstport = 3333"),
        "{sql}"
    );
    assert_eq!(
        rows,
        vec![json!({"srcaddr": "10.0.1.5", "dstaddr": "198.51.100.9", "dstport": 3333})]
    );

    let mut rogue = finding("rogue_dns_resolver", "eni", "eni-4");
    rogue.evidence = json!({"client": "10.0.1.6", "resolver": "8.8.8.8", "public": true});
    let (_, sql, rows) = explained(rogue);
    assert!(sql.contains("dstaddr IN ('8.8.8.8')"), "{sql}");
    assert_eq!(
        rows,
        vec![json!({"srcaddr": "10.0.1.6", "dstaddr": "8.8.8.8"})]
    );
}

#[test]
fn disallowed_tier_flows_list_at_most_five_servers() {
    let mut f = finding("disallowed_tier_flow", "eni", "eni-5");
    let servers: Vec<String> = (1..=8).map(|i| format!("10.0.2.{i}")).collect();
    f.evidence = json!({"client": "10.0.1.9", "client_tier": "10.0.1.0/24", "servers": servers, "server_count": 8});
    let (f, sql, rows) = explained(f);
    assert_story(&f);
    assert!(sql.contains("'10.0.2.8'"), "{sql}");
    assert_eq!(rows.len(), 5);
    assert_eq!(
        rows[4],
        json!({"srcaddr": "10.0.1.9", "dstaddr": "10.0.2.5"})
    );
    assert!(
        f.explanation()
            .unwrap_or_default()
            .0
            .contains("no allowed tier-to-tier flow")
    );
}

#[test]
fn unexpected_resources_by_launch_event_or_by_flows() {
    let mut launch = finding("unexpected_resource", "instance", "i-0launch");
    launch.evidence = json!({"source": "cloudtrail", "event_id": "ev-1", "subnet_id": "subnet-9"});
    let (f, sql, rows) = explained(launch);
    assert_story(&f);
    assert!(
        sql.contains("FROM cloudtrail") && sql.contains("event_id IN ('ev-1')"),
        "{sql}"
    );
    assert_eq!(rows, vec![json!({"event_id": "ev-1"})]);

    let mut talk = finding("unexpected_resource", "eni", "eni-6");
    talk.evidence = json!({"source": "flows", "interface_id": "eni-6", "subnet_id": "subnet-9"});
    let (_, sql, rows) = explained(talk);
    assert!(
        sql.contains("FROM flows") && sql.contains("interface_id = 'eni-6'"),
        "{sql}"
    );
    assert_eq!(rows, vec![json!({"interface_id": "eni-6"})]);
}

#[test]
fn attack_sequences_select_their_alerts() {
    let mut f = finding("attack_sequence", "principal", "arn:aws:iam::1:user/x");
    f.evidence = json!({"path": "p", "parts": [
        {"alert_id": "a1", "detector": "console_login_no_mfa", "stage": "access"},
        {"alert_id": "a2", "detector": "access_key_created", "stage": "persistence"},
        {"stage": "access", "flows": 3}]});
    let (f, sql, rows) = explained(f);
    assert_story(&f);
    assert!(
        sql.contains(
            "FROM alerts WHERE date BETWEEN '2026-01-01' AND '2026-01-15' AND id IN ('a1', 'a2')"
        ),
        "{sql}"
    );
    assert_eq!(
        rows,
        vec![
            json!({"id": "a1", "detector": "console_login_no_mfa"}),
            json!({"id": "a2", "detector": "access_key_created"})
        ]
    );
    let why = f.explanation().unwrap_or_default().0;
    assert!(
        why.contains("access (console_login_no_mfa) -> persistence (access_key_created)"),
        "{why}"
    );
}

#[test]
fn rules_without_event_ids_select_the_principal_and_sigma_says_so() {
    let mut f = finding(
        "sigma_aws_thing",
        "principal",
        "arn:aws:iam::1:user/o'brien",
    );
    f.title = "Thing done".into();
    let (f, sql, rows) = explained(f);
    assert!(
        sql.contains("user_identity_arn = 'arn:aws:iam::1:user/o''brien'"),
        "{sql}"
    );
    assert_eq!(
        rows,
        vec![json!({"user_identity_arn": "arn:aws:iam::1:user/o'brien"})]
    );
    let why = f.explanation().unwrap_or_default().0;
    assert!(
        why.starts_with("Thing done. The Sigma rule `sigma_aws_thing` matched"),
        "{why}"
    );
}

#[test]
fn a_finding_explained_by_its_detector_keeps_its_explanation() {
    let mut f = finding("volume_spike", "eni", "eni-7");
    f.set_explanation("own words".into(), vec!["own step".into()]);
    let (f, _, _) = explained(f);
    assert_eq!(f.explanation().map(|e| e.0).as_deref(), Some("own words"));
}
