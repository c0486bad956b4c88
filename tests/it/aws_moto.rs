//! AWS integration: the real `flowtrail` binary and the real SDK clients against moto server
//! over HTTP (see `testkit/src/moto.rs`; a missing `moto_server` fails these tests).
//!
//! - S3 archive replay: only the days asked for are listed, rows match a local replay of the
//!   same files, a corrupt object is quarantined, a second run skips everything.
//! - SNS: every alert arrives (body = the alert JSON, filterable attributes) via an SQS queue
//!   subscribed with raw delivery.
//! - SNS outage: the replay still succeeds, alerts wait in the outbox, and the next run
//!   delivers each of them once.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::awsfix::*;
use crate::common::*;
use flowtrail_testkit::moto::{self, Moto};

/// `flowtrail replay` in `cwd` (so `state/`, `outbox/` default there) against `endpoint`.
fn replay_aws(cwd: &Path, endpoint: &str, sources: &[&str], extra: &[&str]) -> Output {
    let mut cmd = bin();
    moto::set_env(&mut cmd, endpoint);
    cmd.current_dir(cwd).arg("replay").args(sources).args([
        "--quiet",
        "--lake",
        "lake",
        "--alerts-out",
        "alerts.jsonl",
    ]);
    cmd.args(extra).output().unwrap()
}

/// The number before `label` on the summary line starting with `line`.
fn summary_number(err: &str, line: &str, label: &str) -> u64 {
    let l = err
        .lines()
        .find(|l| l.trim_start().starts_with(line))
        .unwrap_or_else(|| panic!("no {line:?} line in\n{err}"));
    let before = l
        .split(label)
        .next()
        .unwrap_or_else(|| panic!("no {label:?} in {l:?}"));
    before
        .split_whitespace()
        .last()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number before {label:?} in {l:?}"))
}

fn flows_fingerprint(lake: &Path) -> String {
    query(
        lake,
        "SELECT COUNT(*) AS n, SUM(bytes) AS b, MIN(start) AS s0, MAX(\"end\") AS s1, COUNT(DISTINCT source_key) AS k FROM flows",
        "csv",
    )
}

#[test]
fn s3_archive_replay_lists_only_the_range_matches_local_and_resumes() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let objs = archive();
    create_bucket_with(&moto, "archive", "exports/", &objs);
    // The same files in a local folder.
    let local = dir.path().join("local");
    for (k, b) in &objs {
        put(&local, k, b);
    }
    let (s3_dir, local_dir) = (dir.path().join("s3run"), dir.path().join("localrun"));
    std::fs::create_dir_all(&s3_dir).unwrap();
    std::fs::create_dir_all(&local_dir).unwrap();
    let range = ["--from", "2026-01-07", "--to", "2026-01-08", "--no-detect"];

    let s3 = replay_aws(&s3_dir, &moto.endpoint, &["s3://archive/exports"], &range);
    let err = stderr(&s3);
    assert!(s3.status.success(), "{err}");
    let loc = replay_aws(
        &local_dir,
        &moto.endpoint,
        &[local.to_str().unwrap()],
        &range,
    );
    let lerr = stderr(&loc);
    assert!(loc.status.success(), "{lerr}");

    // Days 7 and 8 plus the one late-delivery day (9): flow 2 per day, CloudTrail on 7 and 8,
    // the corrupt object on day 7. The digest folder and days 5, 6, 10 are never listed.
    assert_eq!(summary_number(&err, "s3", "keys listed"), 9, "{err}");
    assert_eq!(
        summary_number(&err, "objects", "outside --from/--to"),
        0,
        "{err}"
    );
    assert_eq!(
        summary_number(&err, "objects", "quarantined whole"),
        1,
        "{err}"
    );
    assert_eq!(
        summary_number(&lerr, "objects", "quarantined whole"),
        1,
        "{lerr}"
    );
    assert_eq!(
        summary_number(&err, "records", "("),
        summary_number(&lerr, "records", "(")
    );

    let (s3_lake, local_lake) = (s3_dir.join("lake"), local_dir.join("lake"));
    assert_eq!(flows_fingerprint(&s3_lake), flows_fingerprint(&local_lake));
    assert_eq!(
        count(&s3_lake, "cloudtrail"),
        2,
        "Jan 7 only: --to is exclusive"
    );
    assert_eq!(
        count(&s3_lake, "cloudtrail"),
        count(&local_lake, "cloudtrail")
    );
    let q = query(
        &s3_lake,
        "SELECT COUNT(*) AS n FROM flows WHERE start < 1767744000",
        "csv",
    );
    assert_eq!(q.lines().nth(1), Some("0"), "nothing before --from");
    let quarantine = std::fs::read_dir(s3_lake.join("_quarantine"))
        .unwrap()
        .count();
    assert!(quarantine > 0, "the corrupt object is in the quarantine");

    // A second run lists again and reads nothing.
    let again = replay_aws(&s3_dir, &moto.endpoint, &["s3://archive/exports"], &range);
    let err2 = stderr(&again);
    assert!(again.status.success(), "{err2}");
    assert_eq!(summary_number(&err2, "objects", "read,"), 0, "{err2}");
    assert_eq!(
        summary_number(&err2, "objects", "already in the lake"),
        9,
        "the corrupt one too: {err2}"
    );
    assert_eq!(flows_fingerprint(&s3_lake), flows_fingerprint(&local_lake));

    // Without a range everything under the prefix is listed (digest included, then skipped).
    let all_dir = dir.path().join("allrun");
    std::fs::create_dir_all(&all_dir).unwrap();
    let all = replay_aws(
        &all_dir,
        &moto.endpoint,
        &["s3://archive/exports/"],
        &["--no-detect"],
    );
    let err3 = stderr(&all);
    assert!(all.status.success(), "{err3}");
    assert_eq!(
        summary_number(&err3, "s3", "keys listed"),
        objs.len() as u64,
        "{err3}"
    );
    assert_eq!(
        summary_number(&err3, "objects", "digest/insights skipped"),
        1,
        "{err3}"
    );
}

fn outbox_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "json")
            })
            .count()
        })
        .unwrap_or(0)
}

fn check_delivered(msgs: &[(String, BTreeMap<String, String>)], alerts: &[serde_json::Value]) {
    assert_eq!(msgs.len(), alerts.len(), "one message per alert");
    let by_id: BTreeMap<&str, &serde_json::Value> = alerts
        .iter()
        .map(|a| (a["id"].as_str().unwrap(), a))
        .collect();
    let mut seen = BTreeSet::new();
    for (body, attrs) in msgs {
        let v: serde_json::Value = serde_json::from_str(body)
            .unwrap_or_else(|e| panic!("body is not the alert JSON ({e}): {body}"));
        let id = v["id"].as_str().unwrap();
        assert!(seen.insert(id.to_string()), "alert {id} delivered twice");
        assert_eq!(
            by_id.get(id),
            Some(&&v),
            "the body is the same object as the JSONL line"
        );
        assert_eq!(
            attrs.get("severity").map(String::as_str),
            v["severity"].as_str()
        );
        assert_eq!(
            attrs.get("detector").map(String::as_str),
            v["detector"].as_str()
        );
        assert_eq!(
            attrs.get("account_id").map(String::as_str),
            v["account_id"].as_str()
        );
    }
}

#[test]
fn sns_alerts_arrive_with_body_and_attributes() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let src: PathBuf = dir.path().join("src");
    for (k, b) in attack() {
        put(&src, &k, &b);
    }
    let topic = topic_with_queue(&moto, "flowtrail-alerts");
    let out = replay_aws(
        dir.path(),
        &moto.endpoint,
        &[src.to_str().unwrap()],
        &["--sns-topic-arn", &topic.arn],
    );
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let alerts = read_alerts(&dir.path().join("alerts.jsonl"));
    assert!(alerts.len() >= 2, "the sample attack raises alerts: {err}");
    assert!(
        alerts
            .iter()
            .any(|a| a["detector"] == "cloudtrail_tampering"),
        "{alerts:?}"
    );
    assert_eq!(
        summary_number(&err, "sns", "published"),
        alerts.len() as u64,
        "{err}"
    );
    assert_eq!(
        outbox_files(&dir.path().join("outbox")),
        0,
        "the outbox is empty once SNS has them"
    );
    check_delivered(&drain(&moto, &topic.queue_url), &alerts);
}

#[test]
fn sns_outage_keeps_alerts_in_the_outbox_until_the_next_run() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let src: PathBuf = dir.path().join("src");
    for (k, b) in attack() {
        put(&src, &k, &b);
    }
    let topic = topic_with_queue(&moto, "flowtrail-outage");
    // Nothing listens on this port: SNS is down for this run.
    let down = format!(
        "http://127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let out = replay_aws(
        dir.path(),
        &down,
        &[src.to_str().unwrap()],
        &["--sns-topic-arn", &topic.arn],
    );
    let err = stderr(&out);
    assert!(
        out.status.success(),
        "an SNS outage does not fail the replay: {err}"
    );
    let alerts = read_alerts(&dir.path().join("alerts.jsonl"));
    assert!(!alerts.is_empty(), "{err}");
    let outbox = dir.path().join("outbox");
    assert_eq!(
        outbox_files(&outbox),
        alerts.len(),
        "every alert waits in the outbox: {err}"
    );
    assert!(err.contains("sns unavailable"), "a clear warning: {err}");
    assert_eq!(
        summary_number(&err, "sns", "waiting in the outbox"),
        alerts.len() as u64,
        "{err}"
    );
    for a in &alerts {
        let f = outbox.join(format!("{}.json", a["id"].as_str().unwrap()));
        let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
        assert_eq!(&v, a, "the outbox holds the alert JSON");
    }

    // SNS is back: the next run (nothing new to read) sends what waited, once.
    let again = replay_aws(
        dir.path(),
        &moto.endpoint,
        &[src.to_str().unwrap()],
        &["--sns-topic-arn", &topic.arn],
    );
    let err2 = stderr(&again);
    assert!(again.status.success(), "{err2}");
    assert_eq!(outbox_files(&outbox), 0, "{err2}");
    check_delivered(&drain(&moto, &topic.queue_url), &alerts);
}

#[test]
fn replay_into_an_s3_lake_copies_each_commit_and_a_new_task_resumes_from_its_ledger() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let objs = archive();
    create_bucket_with(&moto, "archive", "", &objs);
    create_bucket_with(&moto, "lake", "", &[]);
    let local = dir.path().join("local");
    for (k, b) in &objs {
        put(&local, k, b);
    }
    let run = |cwd: &str, extra: &[&str]| {
        let cwd = dir.path().join(cwd);
        std::fs::create_dir_all(&cwd).unwrap();
        let mut cmd = bin();
        moto::set_env(&mut cmd, &moto.endpoint);
        let out = cmd
            .current_dir(&cwd)
            .args(["replay", "s3://archive/AWSLogs/", "--quiet", "--no-detect"])
            .args(extra)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stderr(&out)
    };
    let err = run(
        "task1",
        &["--lake", "s3://lake/flowtrail", "--state", "state"],
    );
    assert!(err.contains("s3://lake/flowtrail"), "{err}");

    // The lake on S3 is the local layout: parquet partitions, the ledger, the quarantine.
    let copy = dir.path().join("copy");
    let keys = download_prefix(&moto, "lake", "flowtrail/", &copy);
    assert!(keys.iter().any(|k| k.starts_with("flows/account_id=")
        && k.contains("/date=2026-01-07/hour=10/")
        && k.ends_with(".parquet")));
    assert!(
        keys.iter()
            .any(|k| k.starts_with("_ledger/") && k.ends_with(".json"))
    );
    assert!(keys.iter().any(|k| k.starts_with("_quarantine/")));
    // Its rows are those of a local replay of the same files.
    let reference = replay(&local, &dir.path().join("ref-lake"), &["--no-detect"]);
    assert!(reference.status.success());
    assert_eq!(
        flows_fingerprint(&copy),
        flows_fingerprint(&dir.path().join("ref-lake"))
    );
    assert_eq!(
        count(&copy, "cloudtrail"),
        count(&dir.path().join("ref-lake"), "cloudtrail")
    );
    // Staging keeps the ledger, not the data (S3 has it).
    let staged_parquet = files_under(&dir.path().join("task1/state/lake-staging"))
        .into_iter()
        .filter(|p| p.to_string_lossy().ends_with(".parquet"))
        .count();
    assert_eq!(staged_parquet, 0, "data files left in staging");

    // A new task (empty state) reads the ledger from S3 and skips everything.
    let err2 = run(
        "task2",
        &["--lake", "s3://lake/flowtrail", "--state", "state"],
    );
    assert_eq!(summary_number(&err2, "objects", "read,"), 0, "{err2}");
    assert_eq!(
        summary_number(&err2, "objects", "already in the lake"),
        objs.len() as u64,
        "every object, the skipped digest too: {err2}"
    );
    let again = download_prefix(&moto, "lake", "flowtrail/", &dir.path().join("copy2"));
    assert_eq!(again.len(), keys.len(), "no new files on S3");

    // Analysts query a lake on S3 with Athena: `flowtrail query` says so.
    let q = bin()
        .args(["query", "SELECT 1", "--lake", "s3://lake/flowtrail"])
        .output()
        .unwrap();
    assert!(!q.status.success());
    assert!(stderr(&q).contains("Athena"), "{}", stderr(&q));
}
