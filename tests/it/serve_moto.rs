//! `flowtrail serve` against moto server over HTTP, with the real SDK clients:
//!
//! - S3 → SQS notifications (the service in this process, `common::in_process`): objects put
//!   in a bucket land in the lake with the same rows as a local replay, the detectors' alerts
//!   arrive on an SQS queue subscribed to the SNS topic (each once), `s3:TestEvent` and
//!   non-log keys are ignored, a message that is not a notification is quarantined,
//!   `/healthz` and `/metrics` answer, the shutdown drains and ends cleanly, and after a
//!   restart a redelivered notification is a no-op.
//! - CloudWatch Logs (the binary, since a crash is the point): flow-log and CloudTrail groups
//!   land in the lake; killed with SIGKILL and restarted, the service resumes after the last committed event (no row twice, none lost).

use std::time::{Duration, Instant};

use crate::common::awsfix::*;
use crate::common::in_process::InProcess;
use crate::common::serve::*;
use crate::common::*;
use flowtrail_testkit::moto::Moto;

#[test]
fn serve_takes_s3_notifications_to_the_lake_and_alerts_to_sns() {
    let _heavy = heavy();
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let queue = bucket_notifying_queue(&moto, "logs");
    let topic = topic_with_queue(&moto, "alerts");
    let mut objs = archive();
    objs.extend(attack());
    // Oldest delivery first, as S3 would receive them; the days after the attack go last.
    objs.sort_by(|a, b| a.0.rsplit('_').nth(1).cmp(&b.0.rsplit('_').nth(1)));
    let (before, after): (Vec<_>, Vec<_>) = objs
        .iter()
        .cloned()
        .partition(|(k, _)| !k.contains("/2026/01/09/") && !k.contains("/2026/01/10/"));

    // The reference: a local replay of the same objects.
    let local = d.join("local");
    for (k, b) in &objs {
        put(&local, k, b);
    }
    let ref_state = d.join("ref-state");
    let reference = replay(
        &local,
        &d.join("ref-lake"),
        &["--state", ref_state.to_str().unwrap()],
    );
    assert!(reference.status.success());
    let ref_alerts = read_alerts_if_any(&d.join("ref-lake.alerts.jsonl"));

    let args = [
        "--sqs-queue-url",
        &queue,
        "--lake",
        "lake",
        "--state",
        "state",
        "--outbox",
        "outbox",
        "--alerts-out",
        "alerts.jsonl",
        "--sns-topic-arn",
        &topic.arn,
    ];
    let svc = InProcess::start(&moto, d, &args);
    let port = svc.port;
    assert_eq!(get(port, "/healthz").unwrap().0, 200);
    assert_eq!(get(port, "/nope").unwrap().0, 404);

    // Days up to the attack, a key that is not a log, and a message that is not a notification.
    put_objects(&moto, "logs", &before);
    put_objects(
        &moto,
        "logs",
        &[("notes/readme.txt".into(), b"hi".to_vec())],
    );
    send_raw(&moto, &queue, "this is not an S3 event");
    let n_before = before.len() as f64;
    wait_for("the first objects", Duration::from_secs(120), || {
        metric(port, "flowtrail_objects_total{outcome=\"read\"}") >= n_before
            && metric(port, "flowtrail_sqs_messages_total{outcome=\"poison\"}") >= 1.0
    });
    // The attack's hour closes only when later data moves the watermark past it plus the
    // grace: put the next days and time the alert's arrival on the subscribed queue.
    let t0 = Instant::now();
    put_objects(&moto, "logs", &after);
    let mut delivered = Vec::new();
    while delivered.is_empty() {
        assert!(t0.elapsed() < Duration::from_secs(120), "no alert arrived");
        delivered.extend(drain(&moto, &topic.queue_url));
    }
    eprintln!(
        "notification to SNS alert after the window closed: {:.2} s (debug build)",
        t0.elapsed().as_secs_f64()
    );
    let total = objs.len() as f64;
    wait_for("every object", Duration::from_secs(120), || {
        metric(port, "flowtrail_objects_total{outcome=\"read\"}") >= total
    });
    let m = get(port, "/metrics").unwrap().1;
    assert!(m.contains("flowtrail_sqs_messages_total{outcome=\"ignored\"}"));
    assert!(
        metric(port, "flowtrail_sqs_messages_total{outcome=\"ignored\"}") >= 2.0,
        "the s3:TestEvent and the non-log key: {m}"
    );
    // Outcomes are exclusive: the ignored and poison messages are not also "done".
    wait_for(
        "every object message deleted",
        Duration::from_secs(60),
        || metric(port, "flowtrail_sqs_messages_total{outcome=\"done\"}") >= total,
    );
    assert_eq!(
        metric(port, "flowtrail_sqs_messages_total{outcome=\"done\"}"),
        total,
        "one message per object: {m}"
    );
    assert_eq!(
        metric(port, "flowtrail_objects_total{outcome=\"quarantined\"}"),
        1.0,
        "the corrupt object: {m}"
    );

    let st = svc.stop();
    assert!(
        matches!(&st, Ok(c) if *c == std::process::ExitCode::SUCCESS),
        "a clean stop: {st:?}"
    );
    delivered.extend(drain(&moto, &topic.queue_url));

    // The lake holds what a replay of the same files holds.
    let (lake, ref_lake) = (d.join("lake"), d.join("ref-lake"));
    for t in ["flows", "cloudtrail"] {
        assert_eq!(count(&lake, t), count(&ref_lake, t), "{t} rows");
    }
    let q = std::fs::read_dir(lake.join("_quarantine"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert!(q.contains("not an S3 event notification"), "{q}");
    assert!(q.contains("this is not an S3 event"), "raw body kept: {q}");

    // Alerts: every JSONL alert delivered once through SNS; the attack's detectors fired; the
    // service raised only alerts the replay raised (the replay also closes the last open
    // hours at its end, so it may have more).
    let alerts = read_alerts_if_any(&d.join("alerts.jsonl"));
    let bodies: Vec<serde_json::Value> = delivered
        .iter()
        .map(|(b, _)| serde_json::from_str(b).unwrap())
        .collect();
    assert_eq!(bodies.len(), alerts.len(), "one SNS message per alert");
    assert_eq!(ids(&bodies), ids(&alerts));
    for det in [
        "cloudtrail_tampering",
        "flow_logs_deleted",
        "security_group_change",
    ] {
        assert!(
            alerts.iter().any(|a| a["detector"] == det),
            "{det} not alerted: {alerts:?}"
        );
    }
    let extra: Vec<_> = ids(&alerts)
        .difference(&ids(&ref_alerts))
        .cloned()
        .collect();
    assert!(
        extra.is_empty(),
        "alerts the replay did not raise: {extra:?}"
    );
    assert_eq!(
        count(&lake, "alerts"),
        alerts.len() as u64,
        "alerts table in the lake"
    );

    // Restart: a redelivered notification (here SNS-wrapped) is acknowledged and adds nothing.
    let svc = InProcess::start(&moto, d, &args);
    let port = svc.port;
    let (key, body) = &objs[0];
    let etag = rt().block_on(async {
        let conf = moto.sdk_config().await;
        let s3 = s3_client(&conf);
        let h = s3
            .head_object()
            .bucket("logs")
            .key(key)
            .send()
            .await
            .unwrap();
        h.e_tag().unwrap().to_string()
    });
    let event = serde_json::json!({"Records": [{"eventName": "ObjectCreated:Put", "s3": {
        "bucket": {"name": "logs"}, "object": {"key": key, "size": body.len(), "eTag": etag}}}]});
    let wrapped = serde_json::json!({"Type": "Notification", "Message": event.to_string()});
    send_raw(&moto, &queue, &wrapped.to_string());
    wait_for("the redelivered message", Duration::from_secs(60), || {
        metric(port, "flowtrail_sqs_messages_total{outcome=\"done\"}") >= 1.0
    });
    assert_eq!(
        metric(port, "flowtrail_objects_total{outcome=\"already_done\"}"),
        1.0
    );
    assert!(svc.stop().is_ok());
    for t in ["flows", "cloudtrail"] {
        assert_eq!(
            count(&lake, t),
            count(&ref_lake, t),
            "{t} rows after restart"
        );
    }
    assert!(
        drain(&moto, &topic.queue_url).is_empty(),
        "no alert sent twice"
    );
}

/// Now, in ms: CloudWatch Logs refuses events older than 14 days, so the events' own
/// timestamps are recent (the rows' times come from the messages).
#[allow(clippy::disallowed_methods)]
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

fn put_log_events(moto: &Moto, group: &str, stream: &str, messages: &[String]) {
    let t0_ms = now_ms();
    rt().block_on(async {
        let logs = aws_sdk_cloudwatchlogs::Client::new(&moto.sdk_config().await);
        let _ = logs.create_log_group().log_group_name(group).send().await;
        let _ = logs
            .create_log_stream()
            .log_group_name(group)
            .log_stream_name(stream)
            .send()
            .await;
        let events: Vec<_> = messages
            .iter()
            .enumerate()
            .map(|(i, m)| {
                aws_sdk_cloudwatchlogs::types::InputLogEvent::builder()
                    .timestamp(t0_ms + i as i64)
                    .message(m)
                    .build()
                    .unwrap()
            })
            .collect();
        logs.put_log_events()
            .log_group_name(group)
            .log_stream_name(stream)
            .set_log_events(Some(events))
            .send()
            .await
            .unwrap();
    });
}

/// Header-less default-format flow lines (as CloudWatch Logs delivers them).
fn flow_lines(n: usize, t0: i64, eni: &str) -> Vec<String> {
    (0..n)
        .map(|i| {
            let t = t0 + i as i64;
            format!(
                "2 {ACCT} {eni} 10.0.1.{} 10.0.2.9 {} 443 6 10 {} {t} {} ACCEPT OK",
                i % 250,
                40000 + i,
                1000 + i,
                t + 60
            )
        })
        .collect()
}

#[test]
fn serve_reads_cloudwatch_logs_and_resumes_after_a_crash_without_duplicates() {
    let _heavy = heavy();
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let t0 = T7;
    let mut first = flow_lines(100, t0, "eni-0aaa");
    first.push("2 not a flow line".into());
    put_log_events(&moto, "/vpc/flows", "eni-0aaa-all", &first);
    put_log_events(
        &moto,
        "/vpc/flows",
        "eni-0bbb-all",
        &flow_lines(50, t0, "eni-0bbb"),
    );
    let mut trail: Vec<String> = (0..3)
        .map(|i| {
            ct_event(
                &format!("cw-{i}"),
                "DescribeInstances",
                "2026-01-07T10:06:00Z",
            )
        })
        .collect();
    // A truncated event between good ones.
    trail.insert(1, r#"{"eventVersion":"1.09","eventID":"cut"#.to_string());
    put_log_events(&moto, "trail", "111_CloudTrail_us-east-1", &trail);
    create_bucket_with(&moto, "lake", "", &[]);
    create_bucket_with(&moto, "state", "", &[]);
    let config = r#"
lake = "s3://lake/cw"
state = "state"
[snapshot]
s3 = "s3://state/task"
every_seconds = 1
[cloudwatch]
poll_seconds = 1
max_requests_per_second = 20
[[cloudwatch.groups]]
name = "/vpc/flows"
kind = "flows"
region = "us-east-1"
[[cloudwatch.groups]]
name = "trail"
kind = "cloudtrail"
[alerts]
jsonl = "alerts.jsonl"
"#;
    std::fs::write(d.join("flowtrail.toml"), config).unwrap();
    let check = bin()
        .args(["config", "check", "flowtrail.toml"])
        .current_dir(d)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(String::from_utf8_lossy(&check.stdout).contains("log group   trail"));

    // The lake as Athena would see it: downloaded from S3.
    let mut n = 0;
    let mut lake_copy = || {
        n += 1;
        let copy = d.join(format!("copy{n}"));
        download_prefix(&moto, "lake", "cw/", &copy);
        copy
    };
    let svc = Serve::start(&moto, d, &["--config", "flowtrail.toml"]);
    let mut lake = d.to_path_buf();
    wait_for(
        "the first events in the lake",
        Duration::from_secs(60),
        || {
            lake = lake_copy();
            lake.join("_ledger").exists() && count(&lake, "flows") == 150
        },
    );
    assert_eq!(count(&lake, "cloudtrail"), 3);
    let q: String = std::fs::read_dir(lake.join("_quarantine"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    assert!(
        q.contains("cloudwatch:///vpc/flows/eni-0aaa-all") && q.contains("\"line\":101"),
        "the bad line is quarantined by stream and line: {q}"
    );
    assert!(
        q.contains("cloudwatch://trail/111_CloudTrail_us-east-1") && q.contains("\"line\":2"),
        "the truncated event is quarantined by stream and number: {q}"
    );
    // A periodic snapshot of the state reaches S3.
    wait_for("a state snapshot", Duration::from_secs(30), || {
        download_prefix(&moto, "state", "task/", &d.join("snap"))
            .iter()
            .any(|k| k == "engine.json")
    });
    // The task dies (no drain, no final save) and ECS starts a new one elsewhere: an empty
    // directory, the same configuration. More events arrive meanwhile.
    svc.sigkill();
    put_log_events(
        &moto,
        "/vpc/flows",
        "eni-0aaa-all",
        &flow_lines(20, t0 + 200, "eni-0aaa"),
    );
    let d2 = d.join("task2");
    std::fs::create_dir_all(&d2).unwrap();
    std::fs::write(d2.join("flowtrail.toml"), config).unwrap();
    let svc = Serve::start(&moto, &d2, &["--config", "flowtrail.toml"]);
    wait_for("the new events", Duration::from_secs(60), || {
        lake = lake_copy();
        count(&lake, "flows") >= 170
    });
    // A few more polls: nothing is read again.
    std::thread::sleep(Duration::from_secs(3));
    lake = lake_copy();
    assert_eq!(count(&lake, "flows"), 170, "every event once");
    let log = std::fs::read_to_string(d2.join("serve.log")).unwrap();
    assert!(
        log.contains("state restored from the S3 snapshot")
            && log.contains("ledger fetched from the S3 lake"),
        "the new task resumed from S3: {log}\n--- first task ---\n{}",
        std::fs::read_to_string(d.join("serve.log")).unwrap()
    );
    assert_eq!(count(&lake, "cloudtrail"), 3);
    let distinct = query(
        &lake,
        "SELECT COUNT(DISTINCT interface_id || CAST(srcport AS VARCHAR) || CAST(start AS VARCHAR)) AS n FROM flows",
        "csv",
    );
    assert_eq!(distinct.lines().nth(1), Some("170"));
    assert!(svc.sigterm().success());
}
