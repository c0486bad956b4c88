//! The responder against moto server with the real SDK clients: a VPC with an Auto Scaling
//! group of app instances, an exfiltration alert published to the alert topic (through the
//! subscription filter policy of `deploy/respond/`) and delivered to the responder's queue.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use aws_sdk_ec2::types::{Filter, RequestLaunchTemplateData, ResourceType, Tag, TagSpecification};
use aws_sdk_sns::types::MessageAttributeValue;
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::{Value, json};

use flowtrail_core::{Alert, Entity, EntityKind, ManualClock, Severity};
use flowtrail_respond::aws::Clients;
use flowtrail_respond::{RespondConfig, Responder};
use flowtrail_testkit::moto;

const FILTER_POLICY: &str = include_str!("../../deploy/respond/sns-filter-policy.json");

struct World {
    moto: moto::Moto,
    c: Clients,
    vpc: String,
    app_sg: String,
    asg: String,
    /// The instance the Auto Scaling group launched.
    app: String,
    /// A standalone instance in the same subnet.
    other: String,
    alert_topic: String,
    queue: String,
    followup_topic: String,
    followup_queue: String,
}

async fn queue(c: &Clients, name: &str) -> (String, String) {
    let url = c
        .sqs
        .create_queue()
        .queue_name(name)
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = c
        .sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()
        .remove(&QueueAttributeName::QueueArn)
        .unwrap();
    (url, arn)
}

async fn topic(c: &Clients, name: &str) -> String {
    c.sns
        .create_topic()
        .name(name)
        .send()
        .await
        .unwrap()
        .topic_arn
        .unwrap()
}

async fn world() -> World {
    let m = moto::Moto::start();
    let c = Clients::new(&m.sdk_config().await);
    let vpc = c
        .ec2
        .create_vpc()
        .cidr_block("10.0.0.0/16")
        .send()
        .await
        .unwrap()
        .vpc
        .unwrap()
        .vpc_id
        .unwrap();
    let subnet = c
        .ec2
        .create_subnet()
        .vpc_id(&vpc)
        .cidr_block("10.0.1.0/24")
        .availability_zone("us-east-1a")
        .send()
        .await
        .unwrap()
        .subnet
        .unwrap()
        .subnet_id
        .unwrap();
    let app_sg = c
        .ec2
        .create_security_group()
        .group_name("app")
        .description("app tier")
        .vpc_id(&vpc)
        .send()
        .await
        .unwrap()
        .group_id
        .unwrap();
    let image = c
        .ec2
        .describe_images()
        .send()
        .await
        .unwrap()
        .images
        .unwrap()
        .into_iter()
        .find_map(|i| i.image_id)
        .unwrap();
    c.ec2
        .create_launch_template()
        .launch_template_name("app")
        .launch_template_data(
            RequestLaunchTemplateData::builder()
                .image_id(&image)
                .instance_type(aws_sdk_ec2::types::InstanceType::T3Micro)
                .security_group_ids(&app_sg)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let asg = "app-asg".to_string();
    c.autoscaling
        .create_auto_scaling_group()
        .auto_scaling_group_name(&asg)
        .launch_template(
            aws_sdk_autoscaling::types::LaunchTemplateSpecification::builder()
                .launch_template_name("app")
                .version("$Latest")
                .build(),
        )
        .min_size(1)
        .max_size(3)
        .desired_capacity(1)
        .vpc_zone_identifier(&subnet)
        .send()
        .await
        .unwrap();
    let app = asg_instances(&c, &asg).await.remove(0);
    let other = c
        .ec2
        .run_instances()
        .image_id(&image)
        .min_count(1)
        .max_count(1)
        .subnet_id(&subnet)
        .security_group_ids(&app_sg)
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Instance)
                .tags(Tag::builder().key("role").value("bastion").build())
                .build(),
        )
        .send()
        .await
        .unwrap()
        .instances
        .unwrap()
        .remove(0)
        .instance_id
        .unwrap();

    let alert_topic = topic(&c, "flowtrail-alerts").await;
    let (queue_url, queue_arn) = queue(&c, "flowtrail-respond").await;
    c.sns
        .subscribe()
        .topic_arn(&alert_topic)
        .protocol("sqs")
        .endpoint(&queue_arn)
        .attributes("FilterPolicy", FILTER_POLICY)
        .send()
        .await
        .unwrap();
    let followup_topic = topic(&c, "flowtrail-actions").await;
    let (followup_queue, fq_arn) = queue(&c, "flowtrail-actions-audit").await;
    c.sns
        .subscribe()
        .topic_arn(&followup_topic)
        .protocol("sqs")
        .endpoint(&fq_arn)
        .attributes("RawMessageDelivery", "true")
        .send()
        .await
        .unwrap();
    World {
        moto: m,
        c,
        vpc,
        app_sg,
        asg,
        app,
        other,
        alert_topic,
        queue: queue_url,
        followup_topic,
        followup_queue,
    }
}

async fn asg_instances(c: &Clients, asg: &str) -> Vec<String> {
    c.autoscaling
        .describe_auto_scaling_groups()
        .auto_scaling_group_names(asg)
        .send()
        .await
        .unwrap()
        .auto_scaling_groups()
        .iter()
        .flat_map(|g| g.instances())
        .filter_map(|i| i.instance_id().map(str::to_string))
        .collect()
}

struct Seen {
    /// The instance's security groups (its only interface's).
    groups: Vec<String>,
    tags: BTreeMap<String, String>,
    volumes: Vec<String>,
}

async fn seen(c: &Clients, instance: &str) -> Seen {
    let out = c
        .ec2
        .describe_instances()
        .instance_ids(instance)
        .send()
        .await
        .unwrap();
    let i = &out.reservations()[0].instances()[0];
    Seen {
        groups: i
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect(),
        tags: i
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap_or("").to_string(),
                    t.value().unwrap_or("").to_string(),
                )
            })
            .collect(),
        volumes: i
            .block_device_mappings()
            .iter()
            .filter_map(|b| b.ebs().and_then(|e| e.volume_id()).map(str::to_string))
            .collect(),
    }
}

fn alert(detector: &str, severity: Severity, kind: EntityKind, id: &str) -> Alert {
    Alert::from_finding(flowtrail_core::Finding {
        detector: detector.into(),
        severity,
        title: format!("{id} sent 4.2 GB to 203.0.113.50"),
        account_id: Some("123456789012".into()),
        region: Some("us-east-1".into()),
        entity: Entity {
            kind,
            id: id.into(),
        },
        first_seen_ms: 1_767_866_400_000,
        last_seen_ms: 1_767_870_000_000,
        dedupe_key: format!("{detector}|{id}"),
        evidence: json!({"bytes_out": 4_200_000_000u64, "peer": "203.0.113.50"}),
        attack: Default::default(),
    })
}

/// Publish `a` to the alert topic as flowtrail's SNS sink does (message attributes included).
async fn publish(w: &World, a: &Alert) {
    let attr = |v: &str| {
        MessageAttributeValue::builder()
            .data_type("String")
            .string_value(v)
            .build()
            .unwrap()
    };
    w.c.sns
        .publish()
        .topic_arn(&w.alert_topic)
        .message(serde_json::to_string(a).unwrap())
        .message_attributes("severity", attr(a.severity.as_str()))
        .message_attributes("detector", attr(&a.detector))
        .message_attributes("account_id", attr(a.account_id.as_deref().unwrap_or("")))
        .send()
        .await
        .unwrap();
}

fn config(dir: &Path, dry_run: bool) -> RespondConfig {
    let mut c = RespondConfig::from_toml(
        r#"
        wait_seconds = 1
        [filter]
        min_severity = "high"
        [protect]
        tags = { role = "bastion" }
        [actions]
        snapshot = true
        "#,
        Path::new("test.toml"),
    )
    .unwrap();
    c.dry_run = dry_run;
    c.followup.jsonl = Some(dir.join("actions.jsonl"));
    c
}

fn lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

async fn drain(c: &Clients, queue: &str) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        let r = c
            .sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        let msgs = r.messages.unwrap_or_default();
        if msgs.is_empty() {
            return out;
        }
        for m in msgs {
            out.push(m.body.unwrap_or_default());
            c.sqs
                .delete_message()
                .queue_url(queue)
                .receipt_handle(m.receipt_handle.unwrap_or_default())
                .send()
                .await
                .unwrap();
        }
    }
}

fn responder(w: &World, cfg: RespondConfig) -> Responder {
    let mut cfg = cfg;
    cfg.followup.topic_arn = Some(w.followup_topic.clone());
    Responder::new(
        cfg,
        w.c.clone(),
        Arc::new(ManualClock::new(1_767_871_000_000)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_exfiltrating_instance_ends_quarantined_tagged_out_of_its_group_and_reported() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("actions.jsonl");
    let before = seen(&w.c, &w.app).await;
    assert_eq!(before.groups, vec![w.app_sg.clone()]);

    // The exfiltration alert, and two the subscription filter policy keeps off the queue.
    let exfil = alert("volume_spike", Severity::High, EntityKind::Instance, &w.app);
    publish(&w, &exfil).await;
    publish(
        &w,
        &alert("new_peer", Severity::Medium, EntityKind::Instance, &w.other),
    )
    .await;
    publish(
        &w,
        &alert(
            "isolation_action",
            Severity::Critical,
            EntityKind::Instance,
            &w.other,
        ),
    )
    .await;

    let r = responder(&w, config(dir.path(), false));
    let started = std::time::Instant::now();
    let stats = r.poll_once(&w.queue).await.unwrap();
    let took = started.elapsed();
    assert_eq!(
        (stats.received, stats.acted, stats.failed),
        (1, 1, 0),
        "{stats:?}"
    );
    eprintln!("isolation of one instance against moto: {took:?}");

    // Quarantined: the interface is in the created group only; that group has no rules.
    let after = seen(&w.c, &w.app).await;
    let groups =
        w.c.ec2
            .describe_security_groups()
            .filters(Filter::builder().name("vpc-id").values(&w.vpc).build())
            .filters(
                Filter::builder()
                    .name("group-name")
                    .values("flowtrail-quarantine")
                    .build(),
            )
            .send()
            .await
            .unwrap();
    let q = &groups.security_groups()[0];
    let qid = q.group_id().unwrap().to_string();
    assert_eq!(after.groups, vec![qid.clone()]);
    assert!(
        q.ip_permissions().is_empty() && q.ip_permissions_egress().is_empty(),
        "{q:?}"
    );
    assert!(
        q.tags()
            .iter()
            .any(|t| t.key() == Some("flowtrail:quarantine"))
    );
    // Tagged with the alert id.
    assert_eq!(after.tags.get("flowtrail:isolated"), Some(&exfil.id));
    // Out of its Auto Scaling group, which kept its capacity with a replacement.
    let members = asg_instances(&w.c, &w.asg).await;
    assert!(!members.contains(&w.app), "{members:?}");
    assert_eq!(
        members.len(),
        1,
        "the group launches a replacement: {members:?}"
    );
    // Its volumes snapshotted and tagged.
    assert!(!after.volumes.is_empty());
    let snaps =
        w.c.ec2
            .describe_snapshots()
            .filters(
                Filter::builder()
                    .name("tag:flowtrail:isolated")
                    .values(&exfil.id)
                    .build(),
            )
            .send()
            .await
            .unwrap();
    assert_eq!(snaps.snapshots().len(), after.volumes.len());

    // Every step recorded as a follow-up alert, in the file and on the actions topic.
    let recorded = lines(&jsonl);
    let actions: Vec<&str> = recorded
        .iter()
        .map(|a| a["evidence"]["action"].as_str().unwrap())
        .collect();
    let mut expected = vec![
        "tag",
        "detach_from_asg",
        "create_quarantine_group",
        "quarantine",
    ];
    expected.extend(after.volumes.iter().map(|_| "snapshot"));
    assert_eq!(actions, expected);
    for a in &recorded {
        assert_eq!(a["detector"], "isolation_action");
        assert_eq!(a["severity"], "medium");
        assert_eq!(a["evidence"]["source_alert_id"], exfil.id.as_str());
        assert_eq!(a["evidence"]["dry_run"], false);
        assert_eq!(a["entity"], json!({"kind": "instance", "id": w.app}));
        assert_eq!(a["first_seen"], "2026-01-08T11:16:40Z");
    }
    assert_eq!(
        recorded[3]["evidence"]["details"]["groups_before"],
        json!([w.app_sg])
    );
    let published = drain(&w.c, &w.followup_queue).await;
    let mut published: Vec<Alert> = published
        .iter()
        .map(|b| serde_json::from_str(b).unwrap())
        .collect();
    published.sort_by(|a, b| a.id.cmp(&b.id));
    let mut from_file: Vec<Alert> = recorded
        .iter()
        .map(|v| serde_json::from_value(v.clone()).unwrap())
        .collect();
    from_file.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(published, from_file);

    // The message is gone; the filtered alerts never arrived.
    assert_eq!(r.poll_once(&w.queue).await.unwrap().received, 0);
    // A redelivery of the same alert does nothing new.
    let again = r.handle(&exfil).await.unwrap();
    assert!(
        again.steps.is_empty() && again.followups.is_empty(),
        "{again:?}"
    );
    assert_eq!(again.skipped.as_deref(), Some("already isolated"));
    assert_eq!(lines(&jsonl).len(), recorded.len());
    assert_eq!(seen(&w.c, &w.app).await.groups, vec![qid]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dry_run_changes_nothing_protected_instances_are_left_alone_and_enis_resolve() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("actions.jsonl");
    let before = seen(&w.c, &w.app).await;
    let eni =
        w.c.ec2
            .describe_instances()
            .instance_ids(&w.app)
            .send()
            .await
            .unwrap()
            .reservations()[0]
            .instances()[0]
            .network_interfaces()[0]
            .network_interface_id()
            .unwrap()
            .to_string();

    // Dry run (the default), on an ENI alert: plans every step, calls nothing that changes.
    let dry = responder(&w, config(dir.path(), true));
    let o = dry
        .handle(&alert(
            "new_peer",
            Severity::Critical,
            EntityKind::Eni,
            &eni,
        ))
        .await
        .unwrap();
    assert_eq!(o.instance.as_deref(), Some(w.app.as_str()));
    let names: Vec<&str> = o.steps.iter().map(|s| s.name()).collect();
    assert_eq!(
        names[..4],
        [
            "tag",
            "detach_from_asg",
            "create_quarantine_group",
            "quarantine"
        ]
    );
    let recorded = lines(&jsonl);
    assert_eq!(recorded.len(), o.steps.len());
    assert!(
        recorded
            .iter()
            .all(|a| a["evidence"]["dry_run"] == true && a["severity"] == "info")
    );
    let after = seen(&w.c, &w.app).await;
    assert_eq!(after.groups, before.groups);
    assert!(!after.tags.contains_key("flowtrail:isolated"));
    assert!(asg_instances(&w.c, &w.asg).await.contains(&w.app));
    let groups =
        w.c.ec2
            .describe_security_groups()
            .filters(
                Filter::builder()
                    .name("group-name")
                    .values("flowtrail-quarantine")
                    .build(),
            )
            .send()
            .await
            .unwrap();
    assert!(groups.security_groups().is_empty());
    let snaps =
        w.c.ec2
            .describe_snapshots()
            .filters(
                Filter::builder()
                    .name("tag-key")
                    .values("flowtrail:isolated")
                    .build(),
            )
            .send()
            .await
            .unwrap();
    assert!(snaps.snapshots().is_empty());

    // A protected instance (tag role=bastion) is never touched, even for a critical alert.
    let live = responder(&w, config(dir.path(), false));
    let before_other = seen(&w.c, &w.other).await;
    let o = live
        .handle(&alert(
            "volume_spike",
            Severity::Critical,
            EntityKind::Instance,
            &w.other,
        ))
        .await
        .unwrap();
    assert!(o.steps.is_empty());
    assert!(
        o.skipped
            .as_deref()
            .is_some_and(|s| s.contains("role=bastion")),
        "{o:?}"
    );
    assert_eq!(o.followups.len(), 1);
    assert_eq!(o.followups[0].evidence["action"], "skipped");
    let after_other = seen(&w.c, &w.other).await;
    assert_eq!(after_other.groups, before_other.groups);
    assert_eq!(after_other.tags, before_other.tags);

    // An alert the filter does not select is dropped without a describe call or a follow-up.
    let n = lines(&jsonl).len();
    let o = live
        .handle(&alert(
            "port_scan",
            Severity::Medium,
            EntityKind::Instance,
            &w.app,
        ))
        .await
        .unwrap();
    assert!(o.skipped.is_some_and(|s| s.contains("severity")));
    assert_eq!(lines(&jsonl).len(), n);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_handles_a_lambda_sqs_event_and_reports_only_failed_records() {
    let w = world().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("respond.toml");
    let actions = dir.path().join("actions.jsonl");
    std::fs::write(
        &cfg,
        format!(
            "[filter]\nmin_severity = \"high\"\n[followup]\njsonl = {:?}\n",
            actions.to_str().unwrap()
        ),
    )
    .unwrap();
    let exfil = alert("volume_spike", Severity::High, EntityKind::Instance, &w.app);
    let gone = alert(
        "new_peer",
        Severity::High,
        EntityKind::Instance,
        "i-0123456789abcdef0",
    );
    let event = json!({"Records": [
        {"messageId": "m1", "body": serde_json::to_string(&exfil).unwrap()},
        {"messageId": "m2", "body": "not an alert"},
        {"messageId": "m3", "body": json!({"Type": "Notification", "Message": serde_json::to_string(&gone).unwrap()}).to_string()},
    ]});
    let ev = dir.path().join("event.json");
    std::fs::write(&ev, event.to_string()).unwrap();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_flowtrail-respond"));
    moto::set_env(&mut cmd, &w.moto.endpoint);
    let out = cmd
        .args([
            "--config",
            cfg.to_str().unwrap(),
            "--execute",
            "--sqs-event",
            ev.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let resp: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        resp,
        json!({"batchItemFailures": [{"itemIdentifier": "m3"}]}),
        "{stderr}"
    );
    let after = seen(&w.c, &w.app).await;
    assert_eq!(after.tags.get("flowtrail:isolated"), Some(&exfil.id));
    assert_ne!(after.groups, vec![w.app_sg.clone()]);
    assert!(!asg_instances(&w.c, &w.asg).await.contains(&w.app));
    let recorded = lines(&actions);
    assert_eq!(
        recorded.len(),
        4,
        "tag, detach, create group, quarantine: {recorded:#?}"
    );
}
