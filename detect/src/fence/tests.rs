//! The fence against hand-made hours of flows and CloudTrail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;

use arrow::record_batch::RecordBatch;
use serde_json::{Value, json};

use flowtrail_core::EntityKind;
use flowtrail_core::schema::cloudtrail::cloudtrail_schema;

use super::*;
use crate::testutil::{Flow, flows};

const T0: i64 = 1_767_866_400_000; // 2026-01-08T10:00:00Z
const H: i64 = HOUR_MS;
const ASG_ROLE: &str = "arn:aws:iam::111122223333:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling";

fn config() -> FenceConfig {
    FenceConfig::from_toml(
        r#"
        warmup_hours = 2
        [[subnets]]
        id = "subnet-priv"
        name = "private-app"
        amis = ["ami-app"]
        tags = { "aws:autoscaling:groupName" = "app-asg" }
        eni_creators = ["lambda.amazonaws.com"]
        "#,
        Path::new("fence.toml"),
    )
    .unwrap()
}

fn talk(
    eni: &'static str,
    instance: Option<&'static str>,
    subnet: Option<&'static str>,
    t: i64,
) -> Flow {
    Flow {
        eni,
        instance,
        subnet,
        src: "10.0.1.10".into(),
        dst: "10.0.2.20".into(),
        sport: 40_000,
        dport: 443,
        bytes: 5_000,
        action: "ACCEPT",
        t_ms: t,
    }
}

fn ct(rows: &[Value]) -> RecordBatch {
    let text: Vec<String> = rows.iter().map(Value::to_string).collect();
    let mut r = arrow::json::ReaderBuilder::new(cloudtrail_schema())
        .build(Cursor::new(text.join("\n").into_bytes()))
        .unwrap();
    r.next().unwrap().unwrap()
}

fn event(
    name: &str,
    t: i64,
    caller: &str,
    invoked_by: Option<&str>,
    req: Value,
    resp: Value,
) -> Value {
    json!({
        "event_time": flowtrail_core::alert::rfc3339(t),
        "event_name": name, "event_source": "ec2.amazonaws.com", "event_id": format!("ev-{name}-{t}"),
        "user_identity_arn": caller, "user_identity_invoked_by": invoked_by,
        "account_id": "111122223333", "region": "us-east-1", "aws_region": "us-east-1", "source_key": "k",
        "request_parameters": req.to_string(), "response_elements": resp.to_string(),
    })
}

/// An Auto Scaling launch from a launch template: the image and tags are only in the response.
fn asg_launch(t: i64, instance: &str, eni: &str, ami: &str) -> Value {
    event(
        "RunInstances",
        t,
        ASG_ROLE,
        Some("autoscaling.amazonaws.com"),
        json!({"launchTemplate": {"launchTemplateId": "lt-1", "version": "3"}, "subnetId": "subnet-priv"}),
        json!({"instancesSet": {"items": [{
            "instanceId": instance, "imageId": ami, "subnetId": "subnet-priv",
            "tagSet": {"items": [{"key": "aws:autoscaling:groupName", "value": "app-asg"}]},
            "networkInterfaceSet": {"items": [{"networkInterfaceId": eni, "subnetId": "subnet-priv"}]}
        }]}}),
    )
}

/// A hand launch as the issue describes it: image, subnet and profile in the request.
fn hand_launch(t: i64, instance: &str, eni: &str) -> Value {
    event(
        "RunInstances",
        t,
        "arn:aws:iam::111122223333:user/mallory",
        None,
        json!({"imageId": "ami-evil", "subnetId": "subnet-priv",
               "iamInstanceProfile": {"arn": "arn:aws:iam::111122223333:instance-profile/admin"},
               "tagSpecificationSet": {"items": [{"resourceType": "instance", "tags": [{"key": "Name", "value": "debug"}]}]}}),
        json!({"instancesSet": {"items": [{"instanceId": instance,
            "networkInterfaceSet": {"items": [{"networkInterfaceId": eni}]}}]}}),
    )
}

fn warm_fence() -> Fence {
    let mut f = Fence::new(config());
    for h in 0..2 {
        let t = T0 + h * H;
        let b = flows(&[
            talk("eni-a", Some("i-a"), Some("subnet-priv"), t + 60_000),
            talk("eni-b", Some("i-b"), Some("subnet-priv"), t + 120_000),
        ]);
        assert!(
            f.close_hour(t, &[b], &[])
                .unwrap_or_else(|e| panic!("{e}"))
                .is_empty(),
            "warm-up hour {h} alerted"
        );
    }
    f
}

#[test]
fn interfaces_that_talk_during_warmup_are_the_population() {
    let mut f = Fence::new(config());
    let b = flows(&[talk("eni-a", Some("i-a"), Some("subnet-priv"), T0 + 1)]);
    assert!(
        f.close_hour(T0, &[b], &[])
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
    // A newcomer in the second warm-up hour is learned too, and quiet afterwards.
    let b = flows(&[talk("eni-late", None, Some("subnet-priv"), T0 + H + 1)]);
    assert!(
        f.close_hour(T0 + H, &[b], &[])
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
    let b = flows(&[talk("eni-late", None, Some("subnet-priv"), T0 + 5 * H + 1)]);
    assert!(
        f.close_hour(T0 + 5 * H, &[b], &[])
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
    assert_eq!(f.known_interfaces(), 2);
}

#[test]
fn approved_scale_out_is_quiet_even_on_v2_flows() {
    let mut f = warm_fence();
    let t = T0 + 3 * H;
    let launch = ct(&[asg_launch(t + 60_000, "i-new1", "eni-new1", "ami-app")]);
    // v2 rows: no subnet or instance id; the subnet comes from the launch's response.
    let b = flows(&[
        talk("eni-new1", None, None, t + 300_000),
        talk("eni-a", Some("i-a"), Some("subnet-priv"), t + 1),
    ]);
    let found = f
        .close_hour(t, &[b], &[launch])
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(found.is_empty(), "{found:#?}");
    assert_eq!(f.unknown_subnet_rows(), 0);
}

#[test]
fn an_unapproved_launch_is_alerted_once_with_its_reasons() {
    let mut f = warm_fence();
    let t = T0 + 3 * H;
    let launch = ct(&[hand_launch(t + 60_000, "i-evil", "eni-evil")]);
    let b = flows(&[talk("eni-evil", None, None, t + 600_000)]);
    let found = f
        .close_hour(t, &[b], &[launch])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.len(), 1, "{found:#?}");
    let a = &found[0];
    assert_eq!(a.detector, "unexpected_resource");
    assert_eq!(a.severity, flowtrail_core::Severity::High);
    assert_eq!(
        (a.entity.kind, a.entity.id.as_str()),
        (EntityKind::Instance, "i-evil")
    );
    assert_eq!(a.dedupe_key, "unexpected_resource|i-evil");
    assert_eq!(a.attack, ATTACK.to_attack());
    assert!(a.title.contains("private-app (subnet-priv)"), "{}", a.title);
    let why = a.evidence["violations"].as_array().unwrap();
    assert_eq!(why.len(), 2, "{why:?}");
    assert_eq!(why[0], "image ami-evil is not approved");
    assert_eq!(why[1], "tag aws:autoscaling:groupName=app-asg is missing");
    assert_eq!(
        a.evidence["caller"],
        "arn:aws:iam::111122223333:user/mallory"
    );
    assert_eq!(a.evidence["network_interfaces"][0], "eni-evil");
    // Its traffic later is not a second alert.
    let b = flows(&[talk("eni-evil", None, None, t + H + 1)]);
    assert!(
        f.close_hour(t + H, &[b], &[])
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
}

#[test]
fn a_new_talker_without_a_launch_is_alerted_after_warmup_only_in_watched_subnets() {
    let mut f = warm_fence();
    let t = T0 + 4 * H;
    let b = flows(&[
        talk(
            "eni-rogue",
            Some("i-rogue"),
            Some("subnet-priv"),
            t + 120_000,
        ),
        talk(
            "eni-rogue",
            Some("i-rogue"),
            Some("subnet-priv"),
            t + 240_000,
        ),
        talk("eni-pub", Some("i-pub"), Some("subnet-public"), t + 1),
        talk("eni-v2-unknown", None, None, t + 1),
        talk("eni-a", Some("i-a"), Some("subnet-priv"), t + 1),
    ]);
    let found = f.close_hour(t, &[b], &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.len(), 1, "{found:#?}");
    let a = &found[0];
    assert_eq!(
        (a.entity.kind, a.entity.id.as_str()),
        (EntityKind::Instance, "i-rogue")
    );
    assert_eq!(a.evidence["source"], "flows");
    assert_eq!(a.evidence["flows"], 2);
    assert_eq!(
        (a.first_seen_ms, a.last_seen_ms),
        (t + 120_000, t + 240_000)
    );
    assert_eq!(f.unknown_subnet_rows(), 1);
    // Once reported, it is known.
    let b = flows(&[talk(
        "eni-rogue",
        Some("i-rogue"),
        Some("subnet-priv"),
        t + H + 1,
    )]);
    assert!(
        f.close_hour(t + H, &[b], &[])
            .unwrap_or_else(|e| panic!("{e}"))
            .is_empty()
    );
}

#[test]
fn network_interfaces_by_approved_services_only() {
    let mut f = warm_fence();
    let t = T0 + 3 * H;
    let cni = |caller: &str, by: Option<&str>, eni: &str| {
        event(
            "CreateNetworkInterface",
            t + 1_000,
            caller,
            by,
            json!({"subnetId": "subnet-priv"}),
            json!({"networkInterface": {"networkInterfaceId": eni, "subnetId": "subnet-priv"}}),
        )
    };
    let mut failed = hand_launch(t + 2_000, "i-x", "eni-x");
    failed["error_code"] = json!("Client.UnauthorizedOperation");
    let batch = ct(&[
        cni(
            "arn:aws:sts::111122223333:assumed-role/fn/x",
            Some("lambda.amazonaws.com"),
            "eni-fn",
        ),
        cni("arn:aws:iam::111122223333:user/mallory", None, "eni-hand"),
        failed,
    ]);
    let b = flows(&[
        talk("eni-fn", None, None, t + 60_000),
        talk("eni-hand", None, None, t + 60_000),
    ]);
    let found = f
        .close_hour(t, &[b], &[batch])
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].entity.kind, found[0].entity.id.as_str()),
        (EntityKind::Eni, "eni-hand")
    );
    assert_eq!(found[0].evidence["event_name"], "CreateNetworkInterface");
}

#[test]
fn state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let f = warm_fence();
    f.save(dir.path()).unwrap();
    let mut g = Fence::load(dir.path(), config()).unwrap();
    let t = T0 + 10 * H;
    let b = flows(&[
        talk("eni-a", Some("i-a"), Some("subnet-priv"), t + 1),
        talk("eni-c", Some("i-c"), Some("subnet-priv"), t + 1),
    ]);
    let found = g.close_hour(t, &[b], &[]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].entity.id, "i-c");
}

#[test]
fn the_engine_runs_the_fence_when_configured() {
    let opts = crate::EngineOptions {
        fence: Some(config()),
        ..Default::default()
    };
    let mut e =
        crate::Engine::new(opts, crate::rules::RuleSet::load(&[], false).unwrap(), None).unwrap();
    let t = T0 + 3 * H;
    e.observe(
        flowtrail_core::Table::Cloudtrail,
        &ct(&[hand_launch(t, "i-evil", "eni-evil")]),
    )
    .unwrap();
    let found = e.finish().unwrap();
    let fence: Vec<_> = found.iter().filter(|f| f.detector == DETECTOR).collect();
    assert_eq!(fence.len(), 1, "{found:#?}");
    assert!(e.fence().is_some());
}
