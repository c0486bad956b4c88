//! Two `flowtrail serve --no-detect` tasks on one SQS queue and one lake on S3, against moto
//! over HTTP with the real binary: every notification is delivered twice, so both tasks see
//! the same objects. The claim markers keep each object to one task: the lake's rows equal a
//! single-process replay of the same objects (none twice), each object is in exactly one
//! commit record of the S3 ledger, and the objects read by both tasks add up to the objects
//! put.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::awsfix::*;
use crate::common::serve::*;
use crate::common::*;
use flowtrail_testkit::moto::Moto;

/// Rows that identify each row, the source key cut to its `AWSLogs/` part (a replay of a
/// local folder and the service name the objects differently).
const TABLES: &[(&str, &str)] = &[
    (
        "flows",
        "SELECT substr(source_key, strpos(source_key, 'AWSLogs/')) AS k, account_id, interface_id, \
         srcaddr, dstaddr, srcport, dstport, action, packets, bytes, start, \"end\", log_status, \
         date, hour FROM flows ORDER BY k, interface_id, srcaddr, srcport, dstport, start, bytes",
    ),
    (
        "cloudtrail",
        "SELECT substr(source_key, strpos(source_key, 'AWSLogs/')) AS k, event_id, event_name, \
         event_time, account_id, request_id FROM cloudtrail ORDER BY event_id, k",
    ),
];

fn rows(lake: &Path) -> BTreeMap<&'static str, Vec<String>> {
    TABLES
        .iter()
        .map(|(t, sql)| {
            let out = query(lake, sql, "csv");
            (*t, out.lines().skip(1).map(str::to_string).collect())
        })
        .collect()
}

fn send(moto: &Moto, queue_url: &str, bodies: &[String]) {
    rt().block_on(async {
        let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
        for b in bodies {
            sqs.send_message()
                .queue_url(queue_url)
                .message_body(b)
                .send()
                .await
                .unwrap();
        }
    });
}

/// Messages waiting or in flight.
fn in_queue(moto: &Moto, queue_url: &str) -> u64 {
    use aws_sdk_sqs::types::QueueAttributeName as A;
    rt().block_on(async {
        let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
        let r = sqs
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(A::ApproximateNumberOfMessages)
            .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
            .send()
            .await
            .unwrap();
        let attrs = r.attributes().unwrap();
        [
            A::ApproximateNumberOfMessages,
            A::ApproximateNumberOfMessagesNotVisible,
        ]
        .iter()
        .map(|a| attrs[a].parse::<u64>().unwrap())
        .sum()
    })
}

#[test]
fn two_serve_tasks_on_one_queue_process_each_object_once() {
    let _heavy = heavy();
    let started = Instant::now();
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let queue = bucket_notifying_queue(&moto, "logs");
    create_bucket_with(&moto, "lake", "", &[]);

    // The archive (flow logs, CloudTrail, a corrupt object, a digest) and more flow-log
    // objects, so that there is work for two.
    let mut objs = archive();
    for day in 5..=10u32 {
        let t = T7 + (i64::from(day) - 7) * DAY;
        for n in [20u32, 40] {
            objs.push((
                flow_key(day, n),
                gz(flow_text(80 + n as usize, t + i64::from(n) * 60).as_bytes()),
            ));
        }
    }

    // The reference: one replay of the same objects.
    let local = d.join("local");
    for (k, b) in &objs {
        put(&local, k, b);
    }
    let ref_lake = d.join("ref-lake");
    let out = replay(&local, &ref_lake, &["--no-detect"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference = rows(&ref_lake);
    assert!(!reference["flows"].is_empty() && !reference["cloudtrail"].is_empty());

    // The objects' notifications are taken off the queue, to be sent again twice each once
    // both tasks run.
    put_objects(&moto, "logs", &objs);
    let bodies: Vec<String> = drain(&moto, &queue)
        .into_iter()
        .map(|(b, _)| b)
        .filter(|b| b.contains("ObjectCreated"))
        .collect();
    assert_eq!(bodies.len(), objs.len(), "one notification per object");

    let mut tasks = Vec::new();
    for name in ["a", "b"] {
        let td = d.join(name);
        std::fs::create_dir_all(&td).unwrap();
        std::fs::write(
            td.join("flowtrail.toml"),
            format!(
                r#"lake = "s3://lake/flowtrail"
state = "state"
workers = 2
[sqs]
queue_url = "{queue}"
wait_seconds = 1
visibility_seconds = 10
max_messages_per_cycle = 4
"#
            ),
        )
        .unwrap();
        tasks.push(Serve::start(
            &moto,
            &td,
            &["--config", "flowtrail.toml", "--no-detect"],
        ));
    }
    let t0 = Instant::now();
    send(&moto, &queue, &bodies);
    send(&moto, &queue, &bodies);
    wait_for(
        "every notification to be deleted",
        Duration::from_secs(180),
        || in_queue(&moto, &queue) == 0,
    );
    let took = t0.elapsed();

    let metric_of = |s: &Serve, outcome: &str| {
        metric(
            s.port,
            &format!("flowtrail_objects_total{{outcome=\"{outcome}\"}}"),
        ) as u64
    };
    let mut split = Vec::new();
    for s in &tasks {
        split.push(
            [
                "read",
                "quarantined",
                "done_elsewhere",
                "held_elsewhere",
                "already_done",
            ]
            .map(|o| (o, metric_of(s, o))),
        );
    }
    eprintln!(
        "{} objects, each notified twice, done by two tasks in {:.1} s: {split:?}",
        objs.len(),
        took.as_secs_f64()
    );
    for s in tasks {
        let log = std::fs::read_to_string(&s.log).unwrap();
        let st = s.sigterm();
        assert!(st.success(), "exit after SIGTERM: {st}: {log}");
    }
    // "read" counts every object handled: decoded, quarantined (the corrupt one) or skipped
    // (the digest).
    let read: u64 = split.iter().map(|t| t[0].1).sum();
    assert_eq!(
        read,
        objs.len() as u64,
        "objects handled by the two tasks: {split:?}"
    );
    let quarantined: u64 = split.iter().map(|t| t[1].1).sum();
    assert_eq!(quarantined, 1, "the corrupt object, once: {split:?}");

    // The lake on S3: the rows of one replay, none twice; each object in one commit.
    let lake = d.join("s3-lake");
    download_prefix(&moto, "lake", "flowtrail/", &lake);
    let got = rows(&lake);
    for (t, want) in &reference {
        assert_eq!(got[t].len(), want.len(), "{t} rows");
        assert!(got[t] == *want, "{t}: rows differ from the replay's");
    }
    let mut sources: BTreeMap<String, u32> = BTreeMap::new();
    for e in std::fs::read_dir(lake.join("_ledger")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "json") {
            continue;
        }
        let rec: serde_json::Value = serde_json::from_slice(&std::fs::read(&p).unwrap()).unwrap();
        for s in rec["sources"].as_array().unwrap() {
            *sources
                .entry(s["key"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
    }
    let twice: Vec<_> = sources.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        twice.is_empty(),
        "objects committed more than once: {twice:?}"
    );
    for (k, _) in &objs {
        assert_eq!(sources.get(k), Some(&1), "{k} in the S3 ledger");
    }
    // Every claim is marked done.
    let markers = std::fs::read_dir(lake.join("_claims")).unwrap();
    for m in markers {
        let v: serde_json::Value =
            serde_json::from_slice(&std::fs::read(m.unwrap().path()).unwrap()).unwrap();
        assert_eq!(v["state"], "done", "{v}");
    }
    eprintln!("test wall time {:.1} s", started.elapsed().as_secs_f64());
}
