#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray, TimestampMillisecondArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow::record_batch::RecordBatch;
use flowtrail_core::schema::cloudtrail::col;
use flowtrail_core::{EntityKind, Table};
use serde_json::json;

use super::Inventory;
use crate::testutil::{Flow, flows};

const H: i64 = 3_600_000;
const T0: i64 = 1_767_830_400_000; // 2026-01-08T00:00Z

/// One CloudTrail row: (time, event name, error code, request, response).
type Ev = (
    i64,
    &'static str,
    Option<&'static str>,
    serde_json::Value,
    serde_json::Value,
);

fn trail(rows: &[Ev]) -> RecordBatch {
    let s = |n: &str| Field::new(n, DataType::Utf8, true);
    let schema = Arc::new(Schema::new(vec![
        Field::new(
            "event_time",
            DataType::Timestamp(arrow::datatypes::TimeUnit::Millisecond, Some("UTC".into())),
            true,
        ),
        s(col::EVENT_NAME),
        s(col::ERROR_CODE),
        s(col::REQUEST_PARAMETERS),
        s(col::RESPONSE_ELEMENTS),
        s(col::RECIPIENT_ACCOUNT_ID),
        s(col::AWS_REGION),
    ]));
    let text = |f: &dyn Fn(&Ev) -> Option<String>| -> ArrayRef {
        Arc::new(rows.iter().map(f).collect::<StringArray>())
    };
    let cols: Vec<ArrayRef> = vec![
        Arc::new(
            TimestampMillisecondArray::from_iter_values(rows.iter().map(|r| r.0))
                .with_timezone("UTC"),
        ),
        text(&|r| Some(r.1.to_string())),
        text(&|r| r.2.map(str::to_string)),
        text(&|r| Some(r.3.to_string())),
        text(&|r| (!r.4.is_null()).then(|| r.4.to_string())),
        text(&|_| Some("111122223333".into())),
        text(&|_| Some("us-east-1".into())),
    ];
    RecordBatch::try_new(schema, cols).unwrap()
}

fn launch(t: i64, instance: &str, eni: &str, ip: &str) -> Ev {
    (
        t,
        "RunInstances",
        None,
        json!({"imageId": "ami-1", "tagSpecificationSet": {"items": [
            {"resourceType": "instance", "tags": [{"key": "env", "value": "prod"}]}]}}),
        json!({"instancesSet": {"items": [{
            "instanceId": instance, "imageId": "ami-1", "privateIpAddress": ip,
            "subnetId": "subnet-1", "vpcId": "vpc-1",
            "groupSet": {"items": [{"groupId": "sg-web"}]},
            "iamInstanceProfile": {"arn": "arn:aws:iam::111122223333:instance-profile/web"},
            "tagSet": {"items": [{"key": "Name", "value": "web-1"}]},
            "networkInterfaceSet": {"items": [{
                "networkInterfaceId": eni, "privateIpAddress": ip, "subnetId": "subnet-1",
                "vpcId": "vpc-1", "attachment": {"attachmentId": "eni-attach-1"}}]}}]}}),
    )
}

fn inv_with(rows: &[Ev]) -> Inventory {
    let mut inv = Inventory::new();
    inv.observe(Table::Cloudtrail, &trail(rows));
    inv
}

#[test]
fn a_launch_makes_its_interface_and_address_known() {
    let inv = inv_with(&[launch(T0, "i-1", "eni-1", "10.0.1.5")]);
    let a = inv
        .asset_for(EntityKind::Eni, "eni-1", None, T0 + H)
        .unwrap();
    assert_eq!(a.instance_id.as_deref(), Some("i-1"));
    assert_eq!(a.subnet_id.as_deref(), Some("subnet-1"));
    assert_eq!(a.vpc_id.as_deref(), Some("vpc-1"));
    assert_eq!(a.security_groups, vec!["sg-web".to_string()]);
    assert_eq!(a.image_id.as_deref(), Some("ami-1"));
    assert!(a.instance_profile.unwrap_or_default().ends_with("/web"));
    assert_eq!(a.tags.get("Name").map(String::as_str), Some("web-1"));
    assert_eq!(a.tags.get("env").map(String::as_str), Some("prod"));
    assert_eq!(a.source.as_deref(), Some("cloudtrail"));
    let by_ip = inv.asset_for(EntityKind::Ip, "10.0.1.5", Some("111122223333"), T0 + H);
    assert_eq!(by_ip.and_then(|a| a.instance_id), Some("i-1".into()));
    // Another account's address, a time before the launch, a principal: unknown.
    assert!(
        inv.asset_for(EntityKind::Ip, "10.0.1.5", Some("999999999999"), T0 + H)
            .is_none()
    );
    assert!(
        inv.asset_for(EntityKind::Eni, "eni-1", None, T0 - 1)
            .is_none()
    );
    assert!(
        inv.asset_for(EntityKind::Principal, "eni-1", None, T0 + H)
            .is_none()
    );
    let by_inst = inv
        .asset_for(EntityKind::Instance, "i-1", None, T0 + H)
        .unwrap();
    assert_eq!(by_inst.eni_id.as_deref(), Some("eni-1"));
}

#[test]
fn reattached_to_another_instance_opens_a_new_interval() {
    let inv = inv_with(&[
        launch(T0, "i-1", "eni-1", "10.0.1.5"),
        (
            T0 + 2 * H,
            "DetachNetworkInterface",
            None,
            json!({"attachmentId": "eni-attach-1"}),
            json!(true),
        ),
        (
            T0 + 3 * H,
            "AttachNetworkInterface",
            None,
            json!({"networkInterfaceId": "eni-1", "instanceId": "i-2", "deviceIndex": 1}),
            json!({"attachmentId": "eni-attach-2"}),
        ),
    ]);
    let i = inv.iface("eni-1").unwrap();
    let owners: Vec<_> = i.versions.iter().map(|v| v.instance_id.clone()).collect();
    assert_eq!(owners, vec![Some("i-1".into()), None, Some("i-2".into())]);
    assert_eq!(i.versions[0].valid_to, Some(T0 + 2 * H));
    assert_eq!(i.versions[2].valid_to, None);
    // The address moves with the interface; lookups are as of a time.
    assert_eq!(i.versions[2].private_ip.as_deref(), Some("10.0.1.5"));
    let at = |t| {
        inv.asset_for(EntityKind::Eni, "eni-1", None, t)
            .and_then(|a| a.instance_id)
    };
    assert_eq!(at(T0 + H), Some("i-1".into()));
    assert_eq!(at(T0 + 2 * H + 1), None);
    assert_eq!(at(T0 + 4 * H), Some("i-2".into()));
}

#[test]
fn termination_closes_the_interval_and_tags_follow_changes() {
    let inv = inv_with(&[
        launch(T0, "i-1", "eni-1", "10.0.1.5"),
        (
            T0 + H,
            "CreateTags",
            None,
            json!({"resourcesSet": {"items": [{"resourceId": "i-1"}]},
                   "tagSet": {"items": [{"key": "team", "value": "payments"}]}}),
            json!({"_return": true}),
        ),
        (
            T0 + H,
            "DeleteTags",
            None,
            json!({"resourcesSet": {"items": [{"resourceId": "i-1"}]},
                   "tagSet": {"items": [{"key": "env"}]}}),
            json!({"_return": true}),
        ),
        (
            T0 + 5 * H,
            "TerminateInstances",
            None,
            json!({"instancesSet": {"items": [{"instanceId": "i-1"}]}}),
            json!({"instancesSet": {"items": [{"instanceId": "i-1",
                   "currentState": {"name": "shutting-down"}}]}}),
        ),
    ]);
    let a = inv
        .asset_for(EntityKind::Eni, "eni-1", None, T0 + 2 * H)
        .unwrap();
    assert_eq!(a.tags.get("team").map(String::as_str), Some("payments"));
    assert!(!a.tags.contains_key("env"), "{:?}", a.tags);
    assert!(
        inv.asset_for(EntityKind::Eni, "eni-1", None, T0 + 6 * H)
            .is_none()
    );
    assert!(
        inv.asset_for(EntityKind::Instance, "i-1", None, T0 + 6 * H)
            .is_none()
    );
    assert_eq!(
        inv.instance("i-1").and_then(|x| x.terminated_at),
        Some(T0 + 5 * H)
    );
}

#[test]
fn failed_malformed_and_partial_events_are_skipped() {
    let mut bad = launch(T0, "i-9", "eni-9", "10.0.1.9");
    bad.2 = Some("UnauthorizedOperation");
    let inv = inv_with(&[
        bad,
        (
            T0,
            "RunInstances",
            None,
            json!("not an object"),
            json!([1, 2]),
        ),
        (
            T0,
            "RunInstances",
            None,
            json!({}),
            json!({"instancesSet": {"items": [{"imageId": "ami-2"}]}}),
        ),
        (
            T0,
            "AttachNetworkInterface",
            None,
            json!({"instanceId": "i-3"}),
            serde_json::Value::Null,
        ),
        (
            T0,
            "CreateNetworkInterface",
            None,
            json!({}),
            json!({"networkInterface": {"subnetId": "s"}}),
        ),
        (
            T0,
            "DetachNetworkInterface",
            None,
            json!({"attachmentId": "nope"}),
            json!(true),
        ),
        (
            T0,
            "CreateTags",
            None,
            json!({"resourcesSet": {}}),
            json!(true),
        ),
        (T0, "DescribeInstances", None, json!({}), json!({})),
    ]);
    assert!(inv.is_empty(), "{inv:?}");
    // A batch without the columns the inventory reads is skipped too.
    let mut inv = Inventory::new();
    let empty = RecordBatch::new_empty(Arc::new(Schema::empty()));
    inv.observe(Table::Cloudtrail, &empty);
    inv.observe(Table::Flows, &empty);
    assert!(inv.is_empty());
}

#[test]
fn v3_flow_rows_teach_the_instance_and_v2_rows_only_refresh() {
    let row = |eni, instance, t| Flow {
        eni,
        instance,
        subnet: Some("subnet-7"),
        src: "10.0.7.7".into(),
        dst: "10.0.7.8".into(),
        sport: 1,
        dport: 443,
        bytes: 10,
        action: "ACCEPT",
        t_ms: t,
    };
    let mut inv = Inventory::new();
    inv.observe(
        Table::Flows,
        &flows(&[
            row("eni-7", Some("i-7"), T0),
            row("eni-7", Some("i-7"), T0 + H),
        ]),
    );
    inv.observe(Table::Flows, &flows(&[row("eni-8", None, T0)]));
    let a = inv
        .asset_for(EntityKind::Eni, "eni-7", None, T0 + H / 2)
        .unwrap();
    assert_eq!(a.instance_id.as_deref(), Some("i-7"));
    assert_eq!(a.subnet_id.as_deref(), Some("subnet-7"));
    assert_eq!(a.source.as_deref(), Some("flow_log"));
    assert!(
        inv.iface("eni-8").is_none(),
        "a v2 row alone teaches nothing"
    );
    // A v2 row on a known interface moves its last_seen; a v3 row naming another instance
    // opens a new interval.
    inv.observe(Table::Flows, &flows(&[row("eni-7", None, T0 + 2 * H)]));
    assert_eq!(inv.iface("eni-7").map(|i| i.last_seen()), Some(T0 + 2 * H));
    inv.observe(
        Table::Flows,
        &flows(&[row("eni-7", Some("i-8"), T0 + 3 * H)]),
    );
    let i = inv.iface("eni-7").unwrap();
    assert_eq!(i.versions.len(), 2);
    assert_eq!(i.versions[0].valid_to, Some(T0 + 3 * H));
    // A v2 row on an interface CloudTrail taught refreshes it without becoming a source.
    let mut inv = inv_with(&[launch(T0, "i-1", "eni-1", "10.0.1.5")]);
    inv.observe(Table::Flows, &flows(&[row("eni-1", None, T0 + 5 * H)]));
    let a = inv
        .asset_for(EntityKind::Eni, "eni-1", None, T0 + 5 * H)
        .unwrap();
    assert_eq!(a.source.as_deref(), Some("cloudtrail"));
    assert_eq!(a.last_seen.as_deref(), Some("2026-01-08T05:00:00Z"));
    // A v3 row naming the same instance joins the sources.
    inv.observe(
        Table::Flows,
        &flows(&[row("eni-1", Some("i-1"), T0 + 6 * H)]),
    );
    let a = inv
        .asset_for(EntityKind::Eni, "eni-1", None, T0 + 6 * H)
        .unwrap();
    assert_eq!(a.source.as_deref(), Some("cloudtrail+flow_log"));
    assert_eq!(inv.iface("eni-1").map(|i| i.versions.len()), Some(1));
}

#[test]
fn state_round_trips_through_save_and_load() {
    let mut inv = inv_with(&[launch(T0, "i-1", "eni-1", "10.0.1.5")]);
    let dir = tempfile::tempdir().unwrap();
    inv.save(dir.path()).unwrap();
    let back = Inventory::load(dir.path()).unwrap();
    let a = back.asset_for(EntityKind::Eni, "eni-1", None, T0 + 72 * H);
    assert_eq!(a.and_then(|a| a.instance_id), Some("i-1".into()));
    assert_eq!(
        serde_json::to_value(&back).unwrap(),
        serde_json::to_value(&inv).unwrap()
    );
    // No file: an empty inventory; a damaged one: an error naming it.
    assert!(
        Inventory::load(&dir.path().join("none"))
            .unwrap()
            .is_empty()
    );
    std::fs::write(dir.path().join(super::STATE_FILE), b"{oops").unwrap();
    assert!(Inventory::load(dir.path()).is_err());
    // The snapshot has one row per interval.
    let (at, batch) = inv.snapshot(false).unwrap().unwrap();
    assert_eq!((at, batch.num_rows()), (T0, 1));
    let name = batch.column_by_name("name").unwrap().as_string::<i32>();
    assert_eq!(name.value(0), "web-1");
    assert!(batch.column_by_name("valid_to").unwrap().is_null(0));
    assert!(
        inv.snapshot(true).unwrap().is_none(),
        "nothing changed since"
    );
}

#[test]
fn eviction_keeps_the_inventory_bounded() {
    let mut inv = Inventory::with_limit(3);
    let rows: Vec<Ev> = (0..6)
        .map(|k| {
            let (i, e, ip) = (format!("i-{k}"), format!("eni-{k}"), format!("10.0.0.{k}"));
            launch(T0 + k * H, &i, &e, &ip)
        })
        .collect();
    inv.observe(Table::Cloudtrail, &trail(&rows));
    assert_eq!(inv.len(), 3);
    assert!(inv.iface("eni-5").is_some() && inv.iface("eni-0").is_none());
    // Terminated long enough ago: forgotten once event time moves past the retention.
    let mut inv = inv_with(&[
        launch(T0, "i-1", "eni-1", "10.0.1.5"),
        (
            T0 + H,
            "TerminateInstances",
            None,
            json!({"instancesSet": {"items": [{"instanceId": "i-1"}]}}),
            serde_json::Value::Null,
        ),
    ]);
    assert!(inv.iface("eni-1").is_some());
    inv.observe(
        Table::Cloudtrail,
        &trail(&[launch(
            T0 + H + super::RETAIN_MS + 1,
            "i-2",
            "eni-2",
            "10.0.1.6",
        )]),
    );
    assert!(inv.iface("eni-1").is_none() && inv.instance("i-1").is_none());
    assert!(inv.iface("eni-2").is_some());
}

/// Sightings equal a plain fold over the rows, whether an interface's rows come in runs (the
/// shortcut taken) or interleaved with others (a lookup each).
#[test]
fn sightings_equal_a_fold_in_runs_and_interleaved() {
    use std::collections::BTreeMap;
    let enis = ["eni-a", "eni-b", "eni-c"];
    let insts = [None, Some("i-1"), Some("i-2")];
    let mut x = 7u64;
    let mut next = |n: u64| {
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (x >> 33) % n
    };
    let mut rows = Vec::new();
    for _ in 0..60 {
        let (e, k) = (next(3) as usize, next(3) as usize);
        // runs of 1 to 4 rows of the same pair
        for _ in 0..=next(4) {
            rows.push(Flow {
                eni: enis[e],
                instance: insts[k],
                subnet: insts[k].map(|_| "subnet-1"),
                src: "10.0.0.1".into(),
                dst: "10.0.0.2".into(),
                sport: 40_000,
                dport: 443,
                bytes: 10,
                action: "ACCEPT",
                t_ms: T0 + next(3_600_000) as i64,
            });
        }
    }
    let mut want: BTreeMap<(String, Option<String>), (i64, i64)> = BTreeMap::new();
    for r in &rows {
        let key = (r.eni.to_string(), r.instance.map(str::to_string));
        let s = want.entry(key).or_insert((r.t_ms, r.t_ms));
        *s = (s.0.min(r.t_ms), s.1.max(r.t_ms));
    }
    let got = super::flows::sightings(&flows(&rows));
    let starts: Vec<i64> = got.iter().map(|s| s.span.0).collect();
    assert!(starts.is_sorted(), "sorted by first sighting: {starts:?}");
    let got: BTreeMap<_, _> = got
        .into_iter()
        .map(|s| {
            assert_eq!(
                s.facts.subnet_id.is_some(),
                s.instance.is_some(),
                "facts only with an instance: {s:?}"
            );
            ((s.eni, s.instance), s.span)
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(got.len(), 9, "every pair was drawn");
}
