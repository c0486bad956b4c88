//! Crash safety of `flowtrail serve` against moto: the real binary, reading S3 notifications
//! from SQS, with a local lake or a lake on S3 (`s3://`), alerts to a JSONL file and to an SNS
//! topic with an SQS queue subscribed (raw delivery), is aborted at a named kill point
//! (`FLOWTRAIL_CRASH_AT`, no cleanup, as `kill -9`) somewhere in a run of seven hours of logs,
//! then started again without it, and left to finish: redelivered messages come back once
//! their visibility times out. Then it is stopped with SIGTERM (exit 0) and compared with a
//! clean run of the same input:
//!
//! - the lake (downloaded from S3 for an `s3://` lake, as Athena would read it): the same
//!   `flows`, `cloudtrail` and `alerts` rows (every column that identifies a row, as a sorted
//!   list, so a lost or a duplicated row shows), the same quarantine records, none twice, no
//!   temporary file left;
//! - alerts: every alert id of the clean run arrives on the SNS-subscribed queue exactly once,
//!   no other; the JSONL file holds the same ids, none twice within one process's run;
//! - the detection state (`engine.json`, `flow_baselines.json`, `recon_baselines.json` in the
//!   state folder): equal to the clean run's.
//!
//! The input comes in phases, one hour of logs each, put in the bucket and announced in one
//! S3 event notification once the previous phase is done (its notification deleted from the
//! queue, which includes a crashed cycle's coming back). Every row of a phase is in its own
//! hour, and an hour closes only when the next phase's rows move the watermark past it, so the
//! findings are the same whether an hour is judged as rows arrive or rebuilt from the lake
//! after a restart: the clean run is the reference for every crash.
//!
//! The kill points run four at a time, each with its own bucket, queues, topic and folders,
//! against one moto server (about 3.5 minutes on 2 cores, debug build).

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::common::awsfix::*;
use crate::common::serve::*;
use crate::common::*;
use flowtrail_testkit::moto::Moto;

/// Where the lake lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lake {
    Local,
    S3,
}

/// A kill point: `point:nth` aborts the nth time the point is reached. The input is taken one
/// phase (one hour of logs) per cycle, so the visits are at the same place in every run: per
/// cycle one save, one lake commit of rows (`committed` 1, 2, 3, 5, 6, 8, 10 for the phases
/// of 08:00 to 14:00) and one of alerts (4, 7 and 9, in the cycles of 10:00, 12:00 and 13:00),
/// parquet files 1-4, 5-8, 9-12, 13 (alerts), 14-17, 18-21, 22 (alerts), 23-26, 27 (alerts),
/// 28-29.
struct KillPoint {
    at: &'static str,
    lake: Lake,
    /// Stop the replacement with SIGTERM as soon as it answers (before the crashed cycle's
    /// notification comes back), then start it again.
    stop_at_once: bool,
}

const fn kp(at: &'static str, lake: Lake) -> KillPoint {
    KillPoint {
        at,
        lake,
        stop_at_once: false,
    }
}

const KILL_POINTS: &[KillPoint] = &[
    // An object decoded, its rows not buffered: the first one, mid 10:00, mid 13:00.
    kp("decoded:1", Lake::Local),
    kp("decoded:16", Lake::Local),
    kp("decoded:35", Lake::Local),
    // The intent of the 09:00 commit durable, no file written.
    kp("ledger_pending:2", Lake::Local),
    // Half a parquet file on disk: the first one; the alerts file of 10:00.
    kp("parquet_mid:1", Lake::Local),
    kp("parquet_mid:13", Lake::Local),
    // A file complete, not renamed (12:00).
    kp("parquet_written:19", Lake::Local),
    // A file renamed, the commit point not passed: 08:00; the alerts file of 12:00.
    kp("parquet_renamed:2", Lake::Local),
    kp("parquet_renamed:22", Lake::Local),
    // The quarantine file in place, before the commit point: the bad line, the cut object.
    kp("quarantine_written:1", Lake::Local),
    kp("quarantine_written:2", Lake::Local),
    // The lake committed, the notification not deleted: the first cycle (before any state
    // save), 10:00's rows (alerts sent, not in the lake), 10:00's and 13:00's alerts (in the
    // lake, state not saved).
    kp("committed:1", Lake::Local),
    kp("committed:3", Lake::Local),
    kp("committed:4", Lake::Local),
    kp("committed:9", Lake::Local),
    // Alerts delivered (JSONL, outbox, SNS), nothing committed: 10:00, 13:00.
    kp("alerts_delivered:1", Lake::Local),
    kp("alerts_delivered:3", Lake::Local),
    // Half the detection state written (10:00, 12:00); all of it durable, not yet in place
    // (10:00, 14:00).
    kp("state_mid:3", Lake::Local),
    kp("state_mid:5", Lake::Local),
    kp("state_written:3", Lake::Local),
    kp("state_written:7", Lake::Local),
    // Rebuilding from the lake at start, then stopped before any cycle ran.
    KillPoint {
        at: "committed:3",
        lake: Lake::Local,
        stop_at_once: true,
    },
    // A lake on S3: committed in staging, not copied (the first cycle; 10:00's alerts).
    kp("committed:1", Lake::S3),
    kp("committed:4", Lake::S3),
    // A commit's data files on S3, its ledger record not (08:00; 10:00's alerts).
    kp("s3_files_copied:1", Lake::S3),
    kp("s3_files_copied:4", Lake::S3),
    // Its ledger record on S3 too, the local marker not written (10:00; 13:00's alerts).
    kp("s3_ledger_copied:3", Lake::S3),
    kp("s3_ledger_copied:9", Lake::S3),
    kp("parquet_mid:5", Lake::S3),
    kp("state_mid:3", Lake::S3),
    kp("alerts_delivered:2", Lake::S3),
    KillPoint {
        at: "committed:1",
        lake: Lake::S3,
        stop_at_once: true,
    },
];

/// Concurrent runs (each a `flowtrail serve` and its restarts).
const POOL: usize = 4;

/// One hour of logs per phase, 08:00 to 14:00 on 2026-01-08, each phase in delivery order:
/// flows of two accounts every half hour, CloudTrail of each account every hour, with a
/// `StopLogging` at 09:10, an open security group at 11:10 and a `DeleteFlowLogs` at 12:10, a
/// port scan and a malformed line at 09:30, a truncated object at 12:50, and from 09:00 on the
/// previous hour's event of the second account delivered again (a duplicate, dropped). The
/// 14:00 phase (flows only) closes 13:00.
fn phases() -> Vec<Vec<(String, Vec<u8>)>> {
    (8..=14i64)
        .map(|h| {
            let mut objs = Vec::new();
            for half in 0..2 {
                let t = T8 + (h - 8) * 3600 + half * 1800;
                for (n, acct) in [ACCT, ACCT2].iter().enumerate() {
                    let mut text = hour_flow_lines(acct, t, 120, n + 1);
                    if h == 9 && half == 1 && n == 0 {
                        text.push_str(&port_scan_and_a_bad_line(acct, t));
                    }
                    objs.push((
                        hourly_key(acct, "vpcflowlogs", h, half * 30 + 5, "log.gz"),
                        gz(text.as_bytes()),
                    ));
                }
            }
            if h < 14 {
                let time = |m: i64| format!("2026-01-08T{h:02}:{m:02}:00Z");
                let name = match h {
                    9 => "StopLogging",
                    11 => "AuthorizeSecurityGroupIngress",
                    12 => "DeleteFlowLogs",
                    _ => "DescribeInstances",
                };
                let doc = ct_doc(
                    ACCT,
                    &[
                        (&format!("a-{h}-1"), name, time(10)),
                        (&format!("a-{h}-2"), "DescribeInstances", time(20)),
                    ],
                )
                .replace(
                    r#""ec2.amazonaws.com","eventName":"StopLogging""#,
                    r#""cloudtrail.amazonaws.com","eventName":"StopLogging""#,
                );
                objs.push((
                    hourly_key(ACCT, "CloudTrail", h, 25, "json.gz"),
                    gz(doc.as_bytes()),
                ));
                let mut events = vec![(format!("b-{h}-1"), time(12))];
                if h > 8 {
                    let p = h - 1;
                    events.push((format!("b-{p}-1"), format!("2026-01-08T{p:02}:12:00Z")));
                }
                let events: Vec<(&str, &str, String)> = events
                    .iter()
                    .map(|(id, t)| (id.as_str(), "DescribeInstances", t.clone()))
                    .collect();
                objs.push((
                    hourly_key(ACCT2, "CloudTrail", h, 35, "json.gz"),
                    gz(ct_doc(ACCT2, &events).as_bytes()),
                ));
            }
            if h == 12 {
                let whole = gz(hour_flow_lines(ACCT, T8 + 4 * 3600, 300, 7).as_bytes());
                objs.push((
                    hourly_key(ACCT, "vpcflowlogs", 12, 50, "log.gz"),
                    whole[..whole.len() / 2].to_vec(),
                ));
            }
            objs.sort_by(|a, b| a.0.rsplit('_').nth(1).cmp(&b.0.rsplit('_').nth(1)));
            objs
        })
        .collect()
}

/// Everything a run leaves that must not depend on crashes.
#[derive(Debug, Clone)]
struct Outcome {
    /// Sorted rows per table, the bucket name taken out of source keys.
    tables: BTreeMap<&'static str, Vec<String>>,
    quarantine: Vec<String>,
    /// The detection state files, parsed.
    state: BTreeMap<&'static str, serde_json::Value>,
    /// Alert ids received on the SNS-subscribed queue, as often as received.
    sns: Vec<String>,
    /// Alert ids in the JSONL file, per process (the crashed one, the ones after).
    jsonl: Vec<Vec<String>>,
    /// Each lake commit in order: its tables and parquet files (`cloudtrail flows 4`).
    commits: Vec<String>,
}

const STATE_FILES: &[&str] = &["engine.json", "flow_baselines.json", "recon_baselines.json"];

/// One run's resources and folder.
struct Run<'a> {
    moto: &'a Moto,
    dir: PathBuf,
    bucket: String,
    queue: String,
    topic: Topic,
    lake: Lake,
    lake_bucket: String,
}

impl<'a> Run<'a> {
    fn new(moto: &'a Moto, root: &Path, name: &str, lake: Lake) -> Self {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let bucket = format!("logs-{name}");
        create_bucket_with(moto, &bucket, "", &[]);
        let queue = rt().block_on(async {
            let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
            let q = sqs.create_queue().queue_name(format!("{bucket}-events"));
            q.send().await.unwrap().queue_url.unwrap()
        });
        let topic = topic_with_queue(moto, &format!("alerts-{name}"));
        let lake_bucket = format!("lake-{name}");
        let lake_url = match lake {
            Lake::Local => "lake".to_string(),
            Lake::S3 => {
                create_bucket_with(moto, &lake_bucket, "", &[]);
                format!("s3://{lake_bucket}/flowtrail")
            }
        };
        std::fs::write(
            dir.join("flowtrail.toml"),
            format!(
                r#"lake = "{lake_url}"
state = "state"
workers = 1
[sqs]
queue_url = "{queue}"
wait_seconds = 1
visibility_seconds = 10
[alerts]
jsonl = "alerts.jsonl"
outbox = "outbox"
[alerts.sns]
default_topic = "{}"
"#,
                topic.arn
            ),
        )
        .unwrap();
        Run {
            moto,
            dir,
            bucket,
            queue,
            topic,
            lake,
            lake_bucket,
        }
    }

    /// Put a phase's objects in the bucket and announce them in one S3 event notification:
    /// the service takes a phase in one cycle, so the nth visit of a kill point is at the same
    /// place of every run.
    fn announce(&self, objs: &[(String, Vec<u8>)]) {
        rt().block_on(async {
            let conf = self.moto.sdk_config().await;
            let s3 = s3_client(&conf);
            let mut records = Vec::new();
            for (key, bytes) in objs {
                let put = s3
                    .put_object()
                    .bucket(&self.bucket)
                    .key(key)
                    .body(bytes.clone().into())
                    .send()
                    .await
                    .unwrap();
                records.push(serde_json::json!({
                    "eventSource": "aws:s3",
                    "eventName": "ObjectCreated:Put",
                    "s3": {"bucket": {"name": self.bucket}, "object": {
                        "key": key, "size": bytes.len(), "eTag": put.e_tag().unwrap()}}
                }));
            }
            let body = serde_json::json!({ "Records": records }).to_string();
            aws_sdk_sqs::Client::new(&conf)
                .send_message()
                .queue_url(&self.queue)
                .message_body(body)
                .send()
                .await
                .unwrap();
        });
    }

    /// Notifications waiting or in flight on the source queue.
    fn in_queue(&self, sqs: &aws_sdk_sqs::Client, rt: &tokio::runtime::Runtime) -> u64 {
        use aws_sdk_sqs::types::QueueAttributeName as A;
        let r = rt
            .block_on(
                sqs.get_queue_attributes()
                    .queue_url(&self.queue)
                    .attribute_names(A::ApproximateNumberOfMessages)
                    .attribute_names(A::ApproximateNumberOfMessagesNotVisible)
                    .send(),
            )
            .unwrap();
        let attrs = r.attributes().unwrap();
        [
            A::ApproximateNumberOfMessages,
            A::ApproximateNumberOfMessagesNotVisible,
        ]
        .iter()
        .map(|a| attrs[a].parse::<u64>().unwrap())
        .sum()
    }

    /// Feed every phase, crashing at `crash` (once) and restarting; then stop with SIGTERM and
    /// collect the outcome.
    fn run(
        &self,
        phases: &[Vec<(String, Vec<u8>)>],
        crash: Option<&str>,
        stop_at_once: bool,
    ) -> Outcome {
        let what = crash.unwrap_or("clean run");
        let args = ["--config", "flowtrail.toml"];
        let env: Vec<(&str, &str)> = crash.iter().map(|p| ("FLOWTRAIL_CRASH_AT", *p)).collect();
        let mut svc = Serve::start_with(self.moto, &self.dir, &args, &env);
        let rt = rt();
        let sqs = rt.block_on(async { aws_sdk_sqs::Client::new(&self.moto.sdk_config().await) });
        let mut crashed = crash.is_none();
        let mut jsonl_cut = 0;
        for (k, phase) in phases.iter().enumerate() {
            self.announce(phase);
            let t = Instant::now();
            loop {
                if let Some(st) = svc.exited() {
                    let log = std::fs::read_to_string(&svc.log).unwrap();
                    assert!(
                        !crashed,
                        "{what}: serve exited ({st}) with no kill point armed: {log}"
                    );
                    assert_eq!(
                        st.signal(),
                        Some(6),
                        "{what}: serve must abort at the point, not {st}: {log}"
                    );
                    assert!(
                        log.contains(&format!("fault injection: aborting at {what}")),
                        "{what}: {log}"
                    );
                    crashed = true;
                    jsonl_cut = read_alerts_if_any(&self.dir.join("alerts.jsonl")).len();
                    svc = Serve::start(self.moto, &self.dir, &args);
                    if stop_at_once {
                        let st = svc.sigterm();
                        assert!(
                            st.success(),
                            "{what}: SIGTERM right after the restart: {st}"
                        );
                        svc = Serve::start(self.moto, &self.dir, &args);
                    }
                    continue;
                }
                // Done when every notification is deleted: a crashed cycle's come back after
                // their visibility timeout and must be taken by the new process.
                if self.in_queue(&sqs, &rt) == 0 {
                    break;
                }
                assert!(
                    t.elapsed() < Duration::from_secs(150),
                    "{what}: phase {k} not done after 150 s"
                );
                std::thread::sleep(Duration::from_millis(250));
            }
        }
        assert!(crashed, "{what}: the kill point was never reached");
        let st = svc.sigterm();
        let log = std::fs::read_to_string(self.dir.join("serve.log")).unwrap();
        assert!(st.success(), "{what}: exit after SIGTERM: {st}: {log}");
        assert!(log.contains("stopped cleanly"), "{what}: {log}");
        self.outcome(jsonl_cut)
    }

    fn outcome(&self, jsonl_cut: usize) -> Outcome {
        let lake = match self.lake {
            Lake::Local => self.dir.join("lake"),
            Lake::S3 => {
                let copy = self.dir.join("s3-lake");
                download_prefix(self.moto, &self.lake_bucket, "flowtrail/", &copy);
                // Everything committed was copied: only the ledger stays in staging.
                let staged = files_under(&self.dir.join("state/lake-staging"))
                    .into_iter()
                    .filter(|p| !p.to_string_lossy().contains("/_ledger/"))
                    .collect::<Vec<_>>();
                assert!(staged.is_empty(), "files left in staging: {staged:?}");
                copy
            }
        };
        let left: Vec<PathBuf> = files_under(&lake)
            .into_iter()
            .chain(files_under(&self.dir.join("state")))
            .filter(|p| {
                let n = p.file_name().unwrap().to_string_lossy();
                n.ends_with(".tmp") || n.ends_with(".pending") || n.starts_with('.')
            })
            .collect();
        assert!(left.is_empty(), "temporary files left: {left:?}");
        let unbucket = |s: String| s.replace(&format!("s3://{}/", self.bucket), "s3://logs/");
        let tables = ROW_QUERIES
            .iter()
            .map(|(t, sql)| {
                let out = unbucket(query(&lake, sql, "csv"));
                (*t, out.lines().skip(1).map(str::to_string).collect())
            })
            .collect();
        let mut quarantine: Vec<String> = files_under(&lake.join("_quarantine"))
            .iter()
            .flat_map(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .map(|l| unbucket(l.to_string()))
                    .collect::<Vec<_>>()
            })
            .collect();
        quarantine.sort();
        let state = STATE_FILES
            .iter()
            .map(|f| {
                let bytes = std::fs::read(self.dir.join("state").join(f))
                    .unwrap_or_else(|e| panic!("state/{f}: {e}"));
                (*f, serde_json::from_slice(&bytes).unwrap())
            })
            .collect();
        let sns = drain(self.moto, &self.topic.queue_url)
            .into_iter()
            .map(|(body, _)| {
                let v: serde_json::Value = serde_json::from_str(&body).unwrap();
                v["id"].as_str().unwrap().to_string()
            })
            .collect();
        let all: Vec<String> = read_alerts_if_any(&self.dir.join("alerts.jsonl"))
            .iter()
            .map(|a| a["id"].as_str().unwrap().to_string())
            .collect();
        let jsonl = vec![all[..jsonl_cut].to_vec(), all[jsonl_cut..].to_vec()];
        let commits = files_under(&lake.join("_ledger"))
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| {
                let r: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
                let tables: Vec<&str> = r["rows"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(|k| k.as_str())
                    .collect();
                let parquet = r["files"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|f| f.as_str().unwrap().ends_with(".parquet"))
                    .count();
                format!("{} {parquet}", tables.join(" "))
            })
            .collect();
        Outcome {
            tables,
            quarantine,
            state,
            sns,
            jsonl,
            commits,
        }
    }
}

/// Lines only in `got`, lines only in `want` (first few), for a readable failure.
fn diff(got: &[String], want: &[String]) -> String {
    let count = |v: &[String]| {
        let mut m: BTreeMap<String, i64> = BTreeMap::new();
        for l in v {
            *m.entry(l.clone()).or_default() += 1;
        }
        m
    };
    let (g, w) = (count(got), count(want));
    let mut extra = Vec::new();
    let mut missing = Vec::new();
    for (l, n) in &g {
        let m = w.get(l).copied().unwrap_or(0);
        if *n > m {
            extra.push(format!("{l} (x{})", n - m));
        }
    }
    for (l, n) in &w {
        let m = g.get(l).copied().unwrap_or(0);
        if *n > m {
            missing.push(format!("{l} (x{})", n - m));
        }
    }
    format!(
        "{} rows, reference {}; extra or duplicated: {:?}; missing: {:?}",
        got.len(),
        want.len(),
        &extra[..extra.len().min(5)],
        &missing[..missing.len().min(5)]
    )
}

/// The comparison with the clean run.
fn compare(what: &str, got: &Outcome, reference: &Outcome) {
    for (t, rows) in &got.tables {
        let want = &reference.tables[t];
        let dup = duplicates(rows);
        assert!(dup.is_empty(), "{what}: {t} rows twice: {dup:?}");
        assert!(rows == want, "{what}: {t}: {}", diff(rows, want));
    }
    assert!(
        duplicates(&got.quarantine).is_empty(),
        "{what}: a quarantine record twice"
    );
    assert!(
        got.quarantine == reference.quarantine,
        "{what}: quarantine: {}",
        diff(&got.quarantine, &reference.quarantine)
    );
    for (f, v) in &got.state {
        assert!(
            *v == reference.state[f],
            "{what}: state/{f} differs from the clean run's: {}",
            json_diff(v, &reference.state[f])
        );
    }
    let dup = duplicates(&got.sns);
    assert!(
        dup.is_empty(),
        "{what}: alerts sent twice over SNS: {dup:?}"
    );
    let sns: BTreeSet<&String> = got.sns.iter().collect();
    let want: BTreeSet<&String> = reference.sns.iter().collect();
    assert_eq!(sns, want, "{what}: alerts over SNS");
    for run in &got.jsonl {
        let dup = duplicates(run);
        assert!(
            dup.is_empty(),
            "{what}: alerts twice in the JSONL file: {dup:?}"
        );
    }
    let jsonl: BTreeSet<&String> = got.jsonl.iter().flatten().collect();
    assert_eq!(jsonl, want, "{what}: alerts in the JSONL file");
}

/// Where two JSON values first differ (a path and both values), shortened.
fn json_diff(a: &serde_json::Value, b: &serde_json::Value) -> String {
    use serde_json::Value;
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys()) {
                if x.get(k) != y.get(k) {
                    return match (x.get(k), y.get(k)) {
                        (Some(p), Some(q)) => format!("{k}.{}", json_diff(p, q)),
                        (p, q) => format!("{k}: {p:?} vs {q:?}"),
                    };
                }
            }
            String::new()
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                if p != q {
                    return format!("[{i}].{}", json_diff(p, q));
                }
            }
            String::new()
        }
        _ => {
            let s = format!("{a} vs {b}");
            s.chars().take(400).collect()
        }
    }
}

fn describe(point: &str, lake: Lake, stop_at_once: bool) -> String {
    let stop = if stop_at_once {
        ", stopped at once after the restart"
    } else {
        ""
    };
    format!("{point} ({lake:?} lake{stop})")
}

fn panic_message(e: &(dyn std::any::Any + Send)) -> String {
    e.downcast_ref::<String>()
        .cloned()
        .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn serve_survives_a_crash_at_every_kill_point() {
    let _heavy = heavy();
    let started = Instant::now();
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let phases = phases();
    // FLOWTRAIL_KILL_POINTS=point:n[@s3][+stop],... runs only those (to explore a new point).
    let chosen: Vec<(String, Lake, bool)> = match std::env::var("FLOWTRAIL_KILL_POINTS") {
        Ok(v) => v
            .split(',')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (p, stop) = p.strip_suffix("+stop").map_or((p, false), |p| (p, true));
                let (p, lake) = p
                    .strip_suffix("@s3")
                    .map_or((p, Lake::Local), |p| (p, Lake::S3));
                (p.to_string(), lake, stop)
            })
            .collect(),
        Err(_) => KILL_POINTS
            .iter()
            .map(|k| (k.at.to_string(), k.lake, k.stop_at_once))
            .collect(),
    };
    // Job 0 is the clean run; the others compare with it once everything is done.
    let next = AtomicUsize::new(0);
    let results: Mutex<BTreeMap<usize, Outcome>> = Mutex::new(BTreeMap::new());
    let failed: Mutex<Vec<String>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..POOL {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i > chosen.len() {
                        break;
                    }
                    let (name, crash, lake, stop) = match i {
                        0 => ("ref".to_string(), None, Lake::Local, false),
                        _ => {
                            let (p, l, stop) = &chosen[i - 1];
                            (format!("p{i}"), Some(p.as_str()), *l, *stop)
                        }
                    };
                    let t = Instant::now();
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        Run::new(&moto, dir.path(), &name, lake).run(&phases, crash, stop)
                    }));
                    let what = describe(crash.unwrap_or("clean run"), lake, stop);
                    match r {
                        Ok(o) => {
                            eprintln!("{what}: run in {:.1} s", t.elapsed().as_secs_f64());
                            results.lock().unwrap().insert(i, o);
                        }
                        Err(e) => failed
                            .lock()
                            .unwrap()
                            .push(format!("{what}: {}", panic_message(&*e))),
                    }
                }
            });
        }
    });
    let failed = failed.into_inner().unwrap();
    assert!(failed.is_empty(), "runs that failed: {failed:?}");
    let results = results.into_inner().unwrap();
    let reference = &results[&0];

    // One cycle per phase: the commits are where the kill points' visits expect them.
    let c = |t: &str, n: usize| format!("{t} {n}");
    let rows_commit = c("cloudtrail flows", 4);
    assert_eq!(
        reference.commits,
        [
            rows_commit.clone(),
            rows_commit.clone(),
            rows_commit.clone(),
            c("alerts", 1),
            rows_commit.clone(),
            rows_commit.clone(),
            c("alerts", 1),
            rows_commit,
            c("alerts", 1),
            c("flows", 2),
        ]
    );
    // The input exercises what is compared.
    let rows = |t: &str| reference.tables[t].len();
    assert!(rows("flows") > 3000, "{}", rows("flows"));
    assert_eq!(
        rows("cloudtrail"),
        18,
        "{:?}",
        reference.tables["cloudtrail"]
    );
    let detectors: BTreeSet<String> = reference.tables["alerts"]
        .iter()
        .map(|l| l.split(',').nth(1).unwrap().to_string())
        .collect();
    for det in ["cloudtrail_tampering", "flow_logs_deleted", "port_scan"] {
        assert!(detectors.contains(det), "{det} not alerted: {detectors:?}");
    }
    assert!(
        reference.quarantine.len() >= 2,
        "{:?}",
        reference.quarantine
    );
    assert!(
        duplicates(&reference.sns).is_empty(),
        "the clean run sent an alert twice: {:?}",
        reference.sns
    );
    let lake_ids: BTreeSet<String> = reference.tables["alerts"]
        .iter()
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    let sns_ids: BTreeSet<String> = reference.sns.iter().cloned().collect();
    assert_eq!(
        sns_ids, lake_ids,
        "the clean run's alerts over SNS and in the lake"
    );
    for f in STATE_FILES {
        assert!(
            reference.state[f]
                .as_object()
                .is_some_and(|m| !m.is_empty()),
            "state/{f} is empty"
        );
    }

    let mut failed = Vec::new();
    for (i, (point, lake, stop)) in chosen.iter().enumerate() {
        let what = describe(point, *lake, *stop);
        let got = &results[&(i + 1)];
        if let Err(e) = std::panic::catch_unwind(|| compare(&what, got, reference)) {
            failed.push(panic_message(&*e));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} kill points differ from the clean run:\n{}",
        failed.len(),
        chosen.len(),
        failed.join("\n")
    );
    eprintln!(
        "survived {} kill points ({} alerts, {} flow rows) in {:.0} s",
        chosen.len(),
        reference.sns.len(),
        rows("flows"),
        started.elapsed().as_secs_f64()
    );
}
