//! End-to-end `unexpected_resource`: the real `flowtrail replay --fence` over a small archive in
//! the AWS layout. A private subnet with two app instances talks for a day (the warm-up); then
//! the app's Auto Scaling group scales out with the approved image (quiet), someone launches an
//! instance with another image there (alerted from CloudTrail; its v2 flow logs, which carry no
//! subnet, are placed by the launch's response), an interface with no launch at all starts
//! talking there (alerted from flows), and a new instance appears in an unwatched public subnet
//! (quiet).

use std::path::Path;

use serde_json::{Value, json};

use crate::common::*;

const T0: i64 = 1_767_830_400; // 2026-01-08T00:00:00Z
const V3: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status vpc-id subnet-id instance-id\n";
const V2: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n";
const ASG_ROLE: &str = "arn:aws:iam::012345678901:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";

const FENCE: &str = r#"
warmup_hours = 24

[[subnets]]
id = "subnet-0priv"
name = "private-app"
amis = ["ami-0app"]
instance_profiles = ["app-server"]
tags = { "aws:autoscaling:groupName" = "app-asg" }
"#;

fn stamp(t: i64) -> (u32, String) {
    let d = chrono::DateTime::from_timestamp(t, 0).unwrap();
    (
        d.format("%d").to_string().parse().unwrap(),
        d.format("%Y%m%dT%H%MZ").to_string(),
    )
}

fn flow_file(root: &Path, hour: i64, tag: &str, text: String) {
    let (day, ts) = stamp(T0 + hour * 3600);
    let key = format!(
        "AWSLogs/{ACCT}/vpcflowlogs/us-east-1/2026/01/{day:02}/{ACCT}_vpcflowlogs_us-east-1_fl-0abc_{ts}_{tag}.log.gz"
    );
    put(root, &key, &gz(text.as_bytes()));
}

/// A few v3 records of one interface in the hour.
fn v3(eni: &str, ip: &str, subnet: &str, instance: &str, hour: i64) -> String {
    let t = T0 + hour * 3600;
    (0..4)
        .map(|i| {
            let s = t + i * 600 + 30;
            format!(
                "3 {ACCT} {eni} {ip} 10.0.9.9 {} 443 6 20 {} {s} {} ACCEPT OK vpc-01 {subnet} {instance}\n",
                40_000 + i,
                20_000 + i * 100,
                s + 60
            )
        })
        .collect()
}

fn event(
    id: &str,
    hour: i64,
    minute: i64,
    caller: &str,
    invoked_by: Option<&str>,
    req: Value,
    resp: Value,
) -> Value {
    let d = chrono::DateTime::from_timestamp(T0 + hour * 3600 + minute * 60, 0).unwrap();
    let mut identity =
        json!({"type": "AssumedRole", "arn": caller, "accountId": ACCT, "principalId": "AROA1:x"});
    if let Some(by) = invoked_by {
        identity["invokedBy"] = json!(by);
    }
    json!({
        "eventVersion": "1.09", "userIdentity": identity,
        "eventTime": d.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "eventSource": "ec2.amazonaws.com", "eventName": "RunInstances", "awsRegion": "us-east-1",
        "sourceIPAddress": invoked_by.unwrap_or("198.51.100.7"), "userAgent": "aws-cli/2",
        "requestParameters": req, "responseElements": resp, "requestID": format!("r-{id}"),
        "eventID": id, "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": ACCT, "eventCategory": "Management"
    })
}

fn instance(id: &str, eni: &str, ami: &str, profile: &str, tags: Value) -> Value {
    json!({"instanceId": id, "imageId": ami, "subnetId": "subnet-0priv",
           "iamInstanceProfile": {"arn": format!("arn:aws:iam::{ACCT}:instance-profile/{profile}"), "id": "AIPA1"},
           "tagSet": {"items": tags},
           "networkInterfaceSet": {"items": [{"networkInterfaceId": eni, "subnetId": "subnet-0priv"}]}})
}

fn archive(root: &Path) {
    for h in 0..30 {
        let mut t = String::from(V3);
        t.push_str(&v3("eni-0a", "10.0.1.10", "subnet-0priv", "i-0a", h));
        t.push_str(&v3("eni-0b", "10.0.1.11", "subnet-0priv", "i-0b", h));
        if h >= 26 {
            // The approved scale-out and the new instance in the public subnet.
            t.push_str(&v3("eni-0new", "10.0.1.12", "subnet-0priv", "i-0new", h));
            t.push_str(&v3("eni-0pub", "10.0.0.50", "subnet-0pub", "i-0pub", h));
        }
        if h >= 27 {
            t.push_str(&v3(
                "eni-0rogue",
                "10.0.1.66",
                "subnet-0priv",
                "i-0rogue",
                h,
            ));
        }
        flow_file(root, h, "v3", t);
    }
    // The unapproved instance's interface, in a flow log of the default format (no subnet id).
    for h in 26..30 {
        let s = T0 + h * 3600 + 900;
        flow_file(
            root,
            h,
            "v2",
            format!(
                "{V2}2 {ACCT} eni-0evil 10.0.1.99 203.0.113.50 51000 443 6 900 9000000 {s} {} ACCEPT OK\n",
                s + 60
            ),
        );
    }
    let asg_tags = json!([{"key": "aws:autoscaling:groupName", "value": "app-asg"}]);
    let records = json!({"Records": [
        event("ev-scale-out", 26, 1, ASG_ROLE, Some("autoscaling.amazonaws.com"),
            json!({"launchTemplate": {"launchTemplateId": "lt-0app", "version": "4"}, "subnetId": "subnet-0priv"}),
            json!({"instancesSet": {"items": [instance("i-0new", "eni-0new", "ami-0app", "app-server", asg_tags)]}})),
        event("ev-hand", 26, 2, &format!("arn:aws:sts::{ACCT}:assumed-role/dev/mallory"), None,
            json!({"instancesSet": {"items": [{"imageId": "ami-0kali"}]}, "subnetId": "subnet-0priv"}),
            json!({"instancesSet": {"items": [instance("i-0evil", "eni-0evil", "ami-0kali", "app-server", json!([]))]}})),
    ]});
    let (day, ts) = stamp(T0 + 26 * 3600 + 300);
    let key = format!(
        "AWSLogs/{ACCT}/CloudTrail/us-east-1/2026/01/{day:02}/{ACCT}_CloudTrail_us-east-1_{ts}_abcdef0123456789.json.gz"
    );
    put(root, &key, &gz(records.to_string().as_bytes()));
}

fn fence_alerts(alerts: &Path) -> Vec<Value> {
    read_alerts(alerts)
        .into_iter()
        .filter(|a| a["detector"] == "unexpected_resource")
        .collect()
}

#[test]
fn an_unapproved_instance_and_an_unlaunched_talker_are_alerted_an_approved_scale_out_is_not() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    archive(&src);
    let fence = dir.path().join("fence.toml");
    std::fs::write(&fence, FENCE).unwrap();
    let lake = dir.path().join("lake");
    let state = dir.path().join("state");
    // One decode worker: objects reach detection in delivery order. Each object here spans a
    // whole hour, so two decoded out of order would be further apart than the 30-minute grace
    // (real archives deliver every few minutes), and the launch would be judged as late data.
    let out = replay(
        &src,
        &lake,
        &[
            "--workers",
            "1",
            "--fence",
            fence.to_str().unwrap(),
            "--state",
            state.to_str().unwrap(),
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let alerts = fence_alerts(&lake.with_extension("alerts.jsonl"));
    let mut ids: Vec<&str> = alerts
        .iter()
        .map(|a| a["entity"]["id"].as_str().unwrap())
        .collect();
    ids.sort();
    assert_eq!(ids, ["i-0evil", "i-0rogue"], "{alerts:#?}");
    let evil = alerts
        .iter()
        .find(|a| a["entity"]["id"] == "i-0evil")
        .unwrap();
    assert_eq!(evil["severity"], "high");
    assert_eq!(evil["evidence"]["source"], "cloudtrail");
    assert_eq!(evil["evidence"]["event_id"], "ev-hand");
    assert_eq!(
        evil["evidence"]["violations"][0],
        "image ami-0kali is not approved"
    );
    let rogue = alerts
        .iter()
        .find(|a| a["entity"]["id"] == "i-0rogue")
        .unwrap();
    assert_eq!(rogue["evidence"]["source"], "flows");
    assert_eq!(rogue["evidence"]["interface_id"], "eni-0rogue");
    // The fence state is saved with the detection checkpoint (`<state>/CURRENT` names it).
    let current = std::fs::read_to_string(state.join("CURRENT")).unwrap();
    assert!(
        state
            .join(current.trim())
            .join("fence_state.json")
            .is_file()
    );

    // The same archive without a fence: the detector is off.
    let lake2 = dir.path().join("lake2");
    let out = replay(
        &src,
        &lake2,
        &["--state", dir.path().join("state2").to_str().unwrap()],
    );
    assert!(out.status.success());
    assert!(fence_alerts(&lake2.with_extension("alerts.jsonl")).is_empty());

    // A bad fence file is a startup error naming the file and the key.
    std::fs::write(&fence, "[[subnets]]\nid = \"subnet-1\"\nimages = []\n").unwrap();
    let state3 = dir.path().join("state3");
    let out = replay(
        &src,
        &dir.path().join("lake3"),
        &[
            "--fence",
            fence.to_str().unwrap(),
            "--state",
            state3.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("fence.toml") && err.contains("images"),
        "{err}"
    );
}
