//! Crash safety of `flowtrail replay`: the real binary is crashed at 24 named points of a run
//! (`FLOWTRAIL_CRASH_AT`, an abort with no cleanup: between decode and commit, in the middle of
//! a parquet write, between "lake written" and "checkpoint committed", in the middle of the
//! detection state save...) and by `SIGKILL` from outside at seeded random times, then run
//! again to completion. Each time the lake must hold exactly the rows, quarantine records and
//! alerts of an uninterrupted run, every alert of the reference must have been delivered to
//! the alerts file, the baselines must equal the reference's, and no temporary file may be
//! left behind. A full disk and an unwritable lake give a clear error, and the next run with
//! room completes to the same lake.

use std::collections::BTreeSet;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// Six hours of two accounts: flows every half hour, CloudTrail every hour with attacks in
/// it, a port scan, a malformed line, a truncated object, and one event delivered twice.
fn write_input(src: &Path) {
    for h in 8..14 {
        for half in 0..2 {
            let t = T8 + (h - 8) * 3600 + half * 1800;
            for (n, acct) in [ACCT, ACCT2].iter().enumerate() {
                let mut text = hour_flow_lines(acct, t, 120, n + 1);
                if h == 9 && half == 1 && n == 0 {
                    text.push_str(&port_scan_and_a_bad_line(acct, t));
                }
                put(
                    src,
                    &hourly_key(acct, "vpcflowlogs", h, half * 30 + 5, "log.gz"),
                    &gz(text.as_bytes()),
                );
            }
        }
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
        );
        put(
            src,
            &hourly_key(ACCT, "CloudTrail", h, 25, "json.gz"),
            &gz(doc.as_bytes()),
        );
        let doc2 = ct_doc(
            ACCT2,
            &[
                (&format!("b-{h}-1"), "DescribeInstances", time(12)),
                // Delivered again in the next hour's object: dropped as a duplicate.
                (&format!("b-{}-1", h - 1), "DescribeInstances", {
                    let p = h - 1;
                    format!("2026-01-08T{p:02}:12:00Z")
                }),
            ],
        );
        put(
            src,
            &hourly_key(ACCT2, "CloudTrail", h, 35, "json.gz"),
            &gz(doc2.as_bytes()),
        );
    }
    let whole = gz(hour_flow_lines(ACCT, T8 + 4 * 3600, 300, 7).as_bytes());
    put(
        src,
        &hourly_key(ACCT, "vpcflowlogs", 12, 50, "log.gz"),
        &whole[..whole.len() / 2],
    );
}

struct Run {
    dir: PathBuf,
}

impl Run {
    fn new(root: &Path, name: &str) -> Self {
        let dir = root.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        Self { dir }
    }
    fn lake(&self) -> PathBuf {
        self.dir.join("lake")
    }
    fn alerts(&self) -> PathBuf {
        self.dir.join("alerts.jsonl")
    }
    fn command(&self, src: &Path) -> Command {
        let mut c = bin();
        c.arg("replay")
            .arg(src)
            .arg("--lake")
            .arg(self.lake())
            .arg("--alerts-out")
            .arg(self.alerts())
            .arg("--state")
            .arg(self.dir.join("state"))
            // One decode worker: objects are absorbed in listing order, so commit contents and the
            // visits of each kill point are the same in every run.
            .args(["--quiet", "--workers", "1", "--commit-rows", "400"])
            // Rules run as each hour closes: alerts are delivered all through the run.
            .args(["--rules-batch-hours", "1"])
            .env_remove("FLOWTRAIL_CRASH_AT");
        c
    }
    fn replay(&self, src: &Path, crash_at: Option<&str>) -> Output {
        let mut c = self.command(src);
        if let Some(p) = crash_at {
            c.env("FLOWTRAIL_CRASH_AT", p);
        }
        c.output().unwrap()
    }
    fn alert_ids_delivered(&self) -> Vec<String> {
        std::fs::read_to_string(self.alerts())
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .map(|v| v["id"].as_str().unwrap().to_string())
            .collect()
    }
}

/// Everything a run leaves that must not depend on crashes.
#[derive(Debug, PartialEq)]
struct Snapshot {
    flows: String,
    cloudtrail: String,
    alerts: String,
    quarantine: BTreeSet<String>,
    baselines: Vec<serde_json::Value>,
}

fn snapshot(run: &Run) -> Snapshot {
    let lake = run.lake();
    let mut quarantine = BTreeSet::new();
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(lake.join("_quarantine")) {
        for e in rd {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|e| e == "jsonl") {
                for l in std::fs::read_to_string(p).unwrap().lines() {
                    quarantine.insert(l.to_string());
                    n += 1;
                }
            }
        }
    }
    assert_eq!(n, quarantine.len(), "a quarantine record written twice");
    let state = run.dir.join("state");
    let current = std::fs::read_to_string(state.join("CURRENT")).unwrap();
    let mut baselines = Vec::new();
    for f in ["flow_baselines.json", "recon_baselines.json"] {
        let bytes = std::fs::read(state.join(current.trim()).join(f)).unwrap();
        baselines.push(serde_json::from_slice(&bytes).unwrap());
    }
    Snapshot {
        flows: query(
            &lake,
            "SELECT source_key, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, action, bytes, start, \"end\", date, hour FROM flows \
             ORDER BY source_key, interface_id, srcaddr, srcport, dstport, start, bytes",
            "csv",
        ),
        cloudtrail: query(
            &lake,
            "SELECT event_id, event_name, event_time, account_id FROM cloudtrail ORDER BY event_id",
            "csv",
        ),
        alerts: query(
            &lake,
            "SELECT id, detector, severity, entity_id, first_seen, last_seen, count FROM alerts ORDER BY id",
            "csv",
        ),
        quarantine,
        baselines,
    }
}

fn leftovers(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p);
            } else if name.ends_with(".tmp")
                || name.ends_with(".pending")
                || name.ends_with(".writing")
            {
                out.push(p);
            }
        }
    }
    out
}

fn assert_same_as_reference(
    run: &Run,
    reference: &Snapshot,
    ref_ids: &BTreeSet<String>,
    what: &str,
    delivered: &mut BTreeSet<String>,
) {
    let snap = snapshot(run);
    assert_eq!(snap.flows, reference.flows, "{what}: flows differ");
    assert_eq!(
        snap.cloudtrail, reference.cloudtrail,
        "{what}: cloudtrail differs"
    );
    assert_eq!(
        snap.alerts, reference.alerts,
        "{what}: alerts table differs"
    );
    assert_eq!(
        snap.quarantine, reference.quarantine,
        "{what}: quarantine differs"
    );
    assert!(
        snap.baselines == reference.baselines,
        "{what}: baselines differ"
    );
    let left = leftovers(&run.lake());
    assert!(left.is_empty(), "{what}: temporary files left: {left:?}");
    let last = run.alert_ids_delivered();
    let unique: BTreeSet<String> = last.iter().cloned().collect();
    assert_eq!(
        unique.len(),
        last.len(),
        "{what}: an alert delivered twice in one run"
    );
    delivered.extend(unique);
    let lost: Vec<_> = ref_ids.difference(delivered).collect();
    assert!(lost.is_empty(), "{what}: alerts never delivered: {lost:?}");
    let extra: Vec<_> = delivered.difference(ref_ids).collect();
    assert!(
        extra.is_empty(),
        "{what}: alerts the reference does not have: {extra:?}"
    );
}

fn reference(root: &Path, src: &Path) -> (Snapshot, BTreeSet<String>) {
    let run = Run::new(root, "reference");
    let out = run.replay(src, None);
    assert!(out.status.success(), "{}", stderr(&out));
    let snap = snapshot(&run);
    let ids: BTreeSet<String> = run.alert_ids_delivered().into_iter().collect();
    // The input must exercise what is compared.
    assert!(
        snap.flows.lines().count() > 2500,
        "{}",
        snap.flows.lines().count()
    );
    assert_eq!(snap.cloudtrail.lines().count(), 20, "{}", snap.cloudtrail);
    assert!(ids.len() >= 3, "the input raises alerts: {ids:?}");
    assert_eq!(snap.alerts.lines().count() - 1, ids.len());
    assert!(snap.quarantine.len() >= 2);
    (snap, ids)
}

/// Every named point, at several visits spread through the run.
const KILL_POINTS: &[&str] = &[
    "decoded:1",
    "decoded:9",
    "decoded:30",
    "decoded:36",
    "ledger_pending:1",
    "ledger_pending:3",
    "parquet_mid:1",
    "parquet_mid:6",
    "parquet_mid:20",
    "parquet_written:1",
    "parquet_written:10",
    "parquet_renamed:1",
    "parquet_renamed:8",
    "parquet_renamed:25",
    "quarantine_written:1",
    "committed:1",
    "committed:2",
    "committed:4",
    "alerts_delivered:1",
    "alerts_delivered:2",
    "alerts_delivered:3",
    "state_mid:1",
    "state_written:1",
    "checkpoint_committed:1",
    "ledger_pending:7",
];

#[test]
fn replay_survives_a_crash_at_every_kill_point() {
    let _heavy = heavy();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write_input(&src);
    let (reference, ref_ids) = reference(dir.path(), &src);
    let mut survived = 0;
    // FLOWTRAIL_KILL_POINTS=point:n,... runs only those (to explore a new point).
    let chosen: Vec<String> = match std::env::var("FLOWTRAIL_KILL_POINTS") {
        Ok(v) => v.split(',').map(str::to_string).collect(),
        Err(_) => KILL_POINTS.iter().map(|s| s.to_string()).collect(),
    };
    for (i, point) in chosen.iter().enumerate() {
        let run = Run::new(dir.path(), &format!("crash-{i}"));
        let crashed = run.replay(&src, Some(point));
        assert_eq!(
            crashed.status.signal(),
            Some(6),
            "{point}: the run must abort there: {}",
            stderr(&crashed)
        );
        assert!(stderr(&crashed).contains(&format!("aborting at {point}")));
        let mut delivered: BTreeSet<String> = run.alert_ids_delivered().into_iter().collect();
        let again = run.replay(&src, None);
        assert!(
            again.status.success(),
            "{point}: rerun failed: {}",
            stderr(&again)
        );
        assert_same_as_reference(&run, &reference, &ref_ids, point, &mut delivered);
        if i % 6 == 0 {
            // A third run adds nothing.
            let third = run.replay(&src, None);
            assert!(third.status.success());
            assert_eq!(
                snapshot(&run),
                reference,
                "{point}: third run changed the lake"
            );
        }
        survived += 1;
    }
    assert_eq!(survived, chosen.len());
    eprintln!("survived {survived} kill points");
}

#[test]
fn replay_survives_sigkill_at_seeded_random_times() {
    let _heavy = heavy();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write_input(&src);
    let (reference, ref_ids) = reference(dir.path(), &src);
    // Time a clean run to spread the kills over it.
    let timing = Run::new(dir.path(), "timing");
    let started = Instant::now();
    assert!(timing.replay(&src, None).status.success());
    let full = started.elapsed().as_millis() as u64;
    let mut seed: u64 = 0x5eed_f10e;
    let mut killed = 0;
    for i in 0..6 {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        // Within the first half of the clean run's time: a run can be twice as fast as the
        // timed one (a loaded machine that quiets down) and still be killed mid-way.
        let at = 50 + (seed >> 33) % (full / 2).max(100);
        let run = Run::new(dir.path(), &format!("kill-{i}"));
        let mut child = run
            .command(&src)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(at));
        let status = match child.try_wait().unwrap() {
            Some(s) => s,
            None => {
                child.kill().unwrap(); // SIGKILL
                child.wait().unwrap()
            }
        };
        if status.signal() == Some(9) {
            killed += 1;
        }
        let mut delivered: BTreeSet<String> = run.alert_ids_delivered().into_iter().collect();
        let again = run.replay(&src, None);
        assert!(
            again.status.success(),
            "kill at {at} ms: {}",
            stderr(&again)
        );
        assert_same_as_reference(
            &run,
            &reference,
            &ref_ids,
            &format!("SIGKILL at {at} ms"),
            &mut delivered,
        );
    }
    assert!(killed >= 3, "most kills must land during the run: {killed}");
}

#[test]
fn a_full_disk_or_an_unwritable_lake_is_a_clear_error_and_nothing_is_corrupted() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    write_input(&src);
    let (reference, ref_ids) = reference(dir.path(), &src);

    // Full disk: files may grow to 8 KiB at most (EFBIG past that; SIGXFSZ ignored).
    let run = Run::new(dir.path(), "full");
    let c = run.command(&src);
    let args: Vec<String> = c
        .get_args()
        .map(|a| format!("'{}'", a.to_string_lossy()))
        .collect();
    let script = format!(
        "trap '' XFSZ; ulimit -f 16; exec '{}' {}",
        c.get_program().to_string_lossy(),
        args.join(" ")
    );
    let full = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .env_remove("FLOWTRAIL_CRASH_AT")
        .output()
        .unwrap();
    assert_eq!(full.status.code(), Some(2), "{}", stderr(&full));
    let err = stderr(&full);
    assert!(
        err.contains("error:")
            && err.contains("File too large")
            && err.contains(&*run.dir.to_string_lossy()),
        "the error names the file and the cause: {err}"
    );
    let again = run.replay(&src, None);
    assert!(again.status.success(), "{}", stderr(&again));
    let mut delivered = BTreeSet::new();
    delivered.extend(run.alert_ids_delivered());
    assert_same_as_reference(&run, &reference, &ref_ids, "full disk", &mut delivered);

    // The lake path is a file (works as root too, where permissions do not stop writes).
    let run = Run::new(dir.path(), "unwritable");
    std::fs::write(run.lake(), b"not a folder").unwrap();
    let out = run.replay(&src, None);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("opening the lake at") && err.contains(&*run.lake().to_string_lossy()),
        "{err}"
    );
    assert_eq!(std::fs::read(run.lake()).unwrap(), b"not a folder");
    // The lake's ledger folder is a file.
    let run = Run::new(dir.path(), "ledger-file");
    std::fs::create_dir_all(run.lake()).unwrap();
    std::fs::write(run.lake().join("_ledger"), b"x").unwrap();
    let out = run.replay(&src, None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("_ledger"), "{}", stderr(&out));
}
