//! Scale-out against moto: two ingest tasks (`serve` with detection off) share one queue and
//! one lake on S3; one detection task follows the lake's commit notifications
//! (`[detection] source = "lake"`). Together they must give exactly what one task doing
//! everything gives: the same lake rows, none twice, and the same alerts, each once. The
//! reference task and the two ingest tasks run in this process (`common::in_process`); the
//! detection task is the binary, since the test reads its log.

use std::path::Path;
use std::time::Duration;

use crate::common::awsfix::*;
use crate::common::in_process::InProcess;
use crate::common::serve::*;
use crate::common::*;
use flowtrail_testkit::moto::Moto;

/// `dir/flowtrail.toml` holding `body`, with `{dir}` in it replaced by the folder (absolute
/// paths: the tasks that run in this process share its working folder).
fn config(dir: &Path, body: &str) {
    std::fs::create_dir_all(dir).unwrap();
    let body = body.replace("{dir}", &dir.display().to_string());
    std::fs::write(dir.join("flowtrail.toml"), body).unwrap();
}

fn sqs(queue: &str, per_cycle: usize) -> String {
    format!(
        "[sqs]\nqueue_url = \"{queue}\"\nwait_seconds = 1\nvisibility_seconds = 10\nmax_messages_per_cycle = {per_cycle}\n"
    )
}

/// The rows of `table` in a lake on S3, with the log bucket's name made neutral.
fn rows(moto: &Moto, bucket: &str, logs: &str, into: &Path) -> Vec<(String, Vec<String>)> {
    download_prefix(moto, bucket, "l/", into);
    ROW_QUERIES
        .iter()
        .map(|(t, sql)| {
            let out = query(into, sql, "csv").replace(&format!("s3://{logs}/"), "s3://LOGS/");
            (
                t.to_string(),
                out.lines().skip(1).map(str::to_string).collect(),
            )
        })
        .collect()
}

/// Put the objects one delivery hour at a time, as S3 would receive them live, each hour once
/// the previous hour's messages are all deleted (`done` counts deleted messages).
fn put_hour_by_hour(moto: &Moto, bucket: &str, objs: &[(String, Vec<u8>)], done: impl Fn() -> f64) {
    let hour = |k: &str| {
        k.split(['_', '/'])
            .find(|s| {
                s.len() >= 11
                    && s.as_bytes()[8] == b'T'
                    && s[..8].bytes().all(|b| b.is_ascii_digit())
            })
            .map(|t| t[..11].to_string())
    };
    let mut sent = 0usize;
    let mut i = 0;
    while i < objs.len() {
        let h = hour(&objs[i].0);
        let j = objs[i..]
            .iter()
            .position(|o| hour(&o.0) != h)
            .map_or(objs.len(), |p| i + p);
        put_objects(moto, bucket, &objs[i..j]);
        sent += j - i;
        wait_for(
            &format!("{bucket}: the messages of {h:?}"),
            Duration::from_secs(120),
            || done() >= sent as f64,
        );
        i = j;
    }
}

#[test]
fn two_ingest_tasks_and_a_detection_task_following_the_lake_equal_one_task() {
    let _heavy = heavy();
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let mut objs = archive();
    objs.extend(attack());
    // In delivery order, as S3 would receive them.
    objs.sort_by(|a, b| a.0.rsplit('_').nth(1).cmp(&b.0.rsplit('_').nth(1)));
    let n = objs.len() as f64;

    // One task doing everything.
    let one = dir.path().join("one");
    let q_one = bucket_notifying_queue(&moto, "one-logs");
    create_bucket_with(&moto, "one-lake", "", &[]);
    config(
        &one,
        &format!(
            "lake = \"s3://one-lake/l\"\nstate = \"{{dir}}/state\"\n{}[alerts]\njsonl = \"{{dir}}/alerts.jsonl\"\n",
            sqs(&q_one, 5)
        ),
    );
    let svc = InProcess::start(&moto, &one, &["--config", "flowtrail.toml"]);
    put_hour_by_hour(&moto, "one-logs", &objs, || {
        metric(svc.port, "flowtrail_sqs_messages_total{outcome=\"done\"}")
    });
    std::thread::sleep(Duration::from_secs(2));
    assert!(svc.stop().is_ok());
    let want_alerts = ids(&read_alerts_if_any(&one.join("alerts.jsonl")));
    assert!(
        want_alerts.len() >= 2,
        "the reference raised too few alerts: {want_alerts:?}"
    );

    // Two ingest tasks on one queue, one detection task following the lake.
    let q_logs = bucket_notifying_queue(&moto, "logs");
    // The lake bucket notifies the detection task's queue of every object, commits included.
    let q_lake = bucket_notifying_queue(&moto, "lake");
    let ingest = ["a", "b"].map(|t| dir.path().join(t));
    for d in &ingest {
        config(
            d,
            &format!(
                "lake = \"s3://lake/l\"\nstate = \"{{dir}}/state\"\n{}[detection]\nenabled = false\n",
                sqs(&q_logs, 2)
            ),
        );
    }
    let det = dir.path().join("detect");
    config(
        &det,
        &format!(
            "lake = \"s3://lake/l\"\nstate = \"state\"\n{}[detection]\nsource = \"lake\"\n[alerts]\njsonl = \"alerts.jsonl\"\n",
            sqs(&q_lake, 10)
        ),
    );
    let args = ["--config", "flowtrail.toml"];
    let d = Serve::start_with(&moto, &det, &args, &[("FLOWTRAIL_LOG", "flowtrail=debug")]);
    let a = InProcess::start(&moto, &ingest[0], &args);
    let b = InProcess::start(&moto, &ingest[1], &args);
    let done = |s: &InProcess| metric(s.port, "flowtrail_sqs_messages_total{outcome=\"done\"}");
    put_hour_by_hour(&moto, "logs", &objs, || done(&a) + done(&b));
    let alerts_file = det.join("alerts.jsonl");
    let t = std::time::Instant::now();
    while !(alerts_file.exists()
        && ids(&read_alerts_if_any(&alerts_file)).is_superset(&want_alerts))
    {
        if t.elapsed() > Duration::from_secs(120) {
            let got = if alerts_file.exists() {
                ids(&read_alerts_if_any(&alerts_file))
            } else {
                Default::default()
            };
            panic!(
                "the detection task did not raise the reference's alerts: want {want_alerts:?}, got {got:?}; its log:\n{}",
                std::fs::read_to_string(det.join("serve.log")).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    // Bad input on the detection task's own path: a queue message that is not a notification,
    // and a commit record that is not one. Both are quarantined; nothing else changes.
    send_raw(&moto, &q_lake, "this is not an S3 event");
    put_objects(
        &moto,
        "lake",
        &[(
            "l/_ledger/99999999-0000000000000000.json".into(),
            b"{ truncated".to_vec(),
        )],
    );
    // And a notification of a commit record that is not in the lake (deleted, or never
    // written): quarantined at once, not retried until the dead-letter queue.
    send_raw(
        &moto,
        &q_lake,
        &serde_json::json!({"Records": [{
            "eventSource": "aws:s3",
            "eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "lake"},
                   "object": {"key": "l/_ledger/99999998-0000000000000000.json", "size": 10}}
        }]})
        .to_string(),
    );
    wait_for("all three quarantined", Duration::from_secs(60), || {
        let log = std::fs::read_to_string(&d.log).unwrap_or_default();
        metric(d.port, "flowtrail_sqs_messages_total{outcome=\"poison\"}") >= 1.0
            && log.contains("99999999-0000000000000000.json")
            && log.contains("99999998-0000000000000000.json")
    });
    // Let late or repeated notifications arrive: none may add anything.
    std::thread::sleep(Duration::from_secs(3));
    let read = |s: &InProcess| metric(s.port, "flowtrail_objects_total{outcome=\"read\"}");
    let (read_a, read_b) = (read(&a), read(&b));
    let followed = metric(d.port, "flowtrail_commits_followed_total");
    assert!(a.stop().is_ok());
    assert!(b.stop().is_ok());
    assert!(d.sigterm().success());

    assert!(
        read_a > 0.0 && read_b > 0.0,
        "both ingest tasks took objects: {read_a} and {read_b}"
    );
    assert_eq!(read_a + read_b, n, "each object read once in all");
    assert!(
        followed >= 2.0,
        "commits judged by the detection task: {followed}"
    );
    let got = read_alerts_if_any(&alerts_file);
    let got_ids: Vec<String> = got
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        duplicates(&got_ids).is_empty(),
        "alerts raised twice: {:?}",
        duplicates(&got_ids)
    );
    assert_eq!(ids(&got), want_alerts, "the same alerts as one task");

    let want = rows(&moto, "one-lake", "one-logs", &dir.path().join("one-s3"));
    let have = rows(&moto, "lake", "logs", &dir.path().join("two-s3"));
    let quarantine: String = std::fs::read_dir(dir.path().join("two-s3").join("_quarantine"))
        .map(|rd| {
            rd.flatten()
                .map(|e| std::fs::read_to_string(e.path()).unwrap_or_default())
                .collect()
        })
        .unwrap_or_default();
    assert!(
        quarantine.contains("this is not an S3 event"),
        "the junk message is in the quarantine: {quarantine}"
    );
    assert!(
        quarantine.contains("99999999-0000000000000000.json")
            && quarantine.contains("not a commit record"),
        "the bad commit record is in the quarantine, named, with the reason: {quarantine}"
    );
    assert!(
        quarantine.contains("99999998-0000000000000000.json")
            && quarantine.contains("not in the lake (NoSuchKey)"),
        "the missing commit record is in the quarantine, named, with the reason: {quarantine}"
    );
    for ((table, w), (_, h)) in want.iter().zip(&have) {
        assert!(duplicates(h).is_empty(), "{table}: rows twice");
        assert_eq!(h.len(), w.len(), "{table}: row count");
        assert_eq!(h, w, "{table}: rows");
    }
}
