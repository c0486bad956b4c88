//! Helpers for the end-to-end tests: run the real `flowtrail` binary on files written into a
//! temp dir in the AWS S3 layout. The inputs and the moto server are `flowtrail-testkit`'s
//! (`testkit/`), shared with the other crates' tests; its fixtures are re-exported here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

pub use flowtrail_testkit::fixtures::*;

/// Held by the tests that load the machine for a minute or more (moto with several `serve`
/// children, kill-point drills, gigabytes of hostile input, generated scenarios), so that one of
/// them runs at a time, light tests beside it (see `main.rs`). A failed holder does not poison it.
static HEAVY: Mutex<()> = Mutex::new(());

/// Wait for the other heavy tests, then hold [`HEAVY`] until the guard drops.
pub fn heavy() -> MutexGuard<'static, ()> {
    HEAVY.lock().unwrap_or_else(|e| e.into_inner())
}

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_flowtrail"))
}

/// `flowtrail replay` of `src` into `lake`, alerts at `<lake>.alerts.jsonl` and state in
/// `<lake>.state` unless `extra` names others.
pub fn replay(src: &Path, lake: &Path, extra: &[&str]) -> Output {
    let mut c = bin();
    c.arg("replay")
        .arg(src)
        .arg("--lake")
        .arg(lake)
        .arg("--quiet")
        .args(extra);
    // Alerts and detection state belong with their lake (tests run in parallel).
    if !extra.contains(&"--alerts-out") {
        c.arg("--alerts-out")
            .arg(lake.with_extension("alerts.jsonl"));
    }
    if !extra.contains(&"--state") {
        c.arg("--state").arg(lake.with_extension("state"));
    }
    c.output().unwrap()
}

/// The bundled sample, `sample-data/`.
pub fn sample_data() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-data")
}

/// [`replay`] of the bundled sample into `lake`, which must succeed; its alerts.
pub fn replay_sample(lake: &Path, extra: &[&str]) -> Vec<Value> {
    let out = replay(&sample_data(), lake, extra);
    assert!(out.status.success(), "{}", stderr(&out));
    read_alerts(&lake.with_extension("alerts.jsonl"))
}

/// A child's stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The alerts of a JSONL alerts file, which must exist.
pub fn read_alerts(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("no alerts file {}: {e}", path.display()));
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// The alerts of a JSONL alerts file; none while it does not exist.
pub fn read_alerts_if_any(path: &Path) -> Vec<Value> {
    if path.exists() {
        read_alerts(path)
    } else {
        Vec::new()
    }
}

/// The items that occur more than once in `v` (each extra occurrence).
pub fn duplicates(v: &[String]) -> Vec<&String> {
    let mut seen = BTreeSet::new();
    v.iter().filter(|x| !seen.insert(*x)).collect()
}

/// Every file under `dir` (not the folders), none when it does not exist.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

pub fn query(lake: &Path, sql: &str, format: &str) -> String {
    let out = bin()
        .args(["query", sql, "--format", format, "--lake"])
        .arg(lake)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "query failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn count(lake: &Path, table: &str) -> u64 {
    let out = query(lake, &format!("SELECT COUNT(*) AS n FROM {table}"), "csv");
    out.lines().nth(1).unwrap().trim().parse().unwrap()
}

pub mod awsfix;
pub mod http;
/// `flowtrail serve` in this process.
pub mod in_process;
/// Scoring alerts against scenario labels.
pub mod score;
pub mod serve;
