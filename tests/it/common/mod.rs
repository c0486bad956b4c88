//! Helpers for the end-to-end tests: run the real `flowtrail` binary on files written into a
//! temp dir in the AWS S3 layout.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

use serde_json::Value;

use flate2::Compression;
use flate2::write::GzEncoder;

pub const ACCT: &str = "012345678901";

pub fn gz(text: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(text).unwrap();
    e.finish().unwrap()
}

pub fn put(root: &Path, key: &str, bytes: &[u8]) -> PathBuf {
    let p = root.join(key);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

pub fn flow_key(day: u32, n: u32) -> String {
    format!(
        "AWSLogs/{ACCT}/vpcflowlogs/us-east-1/2026/01/{day:02}/{ACCT}_vpcflowlogs_us-east-1_fl-0abc_202601{day:02}T10{n:02}Z_deadbeef.log.gz"
    )
}

pub fn ct_key(day: u32, n: u32) -> String {
    format!(
        "AWSLogs/{ACCT}/CloudTrail/us-east-1/2026/01/{day:02}/{ACCT}_CloudTrail_us-east-1_202601{day:02}T10{n:02}Z_abcdef0123456789.json.gz"
    )
}

/// Default-format flow lines starting at `t0` (seconds).
pub fn flow_text(rows: usize, t0: i64) -> String {
    let mut s = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for i in 0..rows {
        let t = t0 + i as i64;
        s.push_str(&format!(
            "2 {ACCT} eni-0a1b2c3d 10.0.1.{} 10.0.2.9 {} 443 6 10 {} {t} {} ACCEPT OK\n",
            i % 250,
            40000 + i % 1000,
            1000 + i,
            t + 60
        ));
    }
    s
}

pub fn ct_event(id: &str, name: &str, time: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::{ACCT}:user/alice","accountId":"{ACCT}","accessKeyId":"AKIA1","userName":"alice"}},"eventTime":"{time}","eventSource":"ec2.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2","requestParameters":{{"groupId":"sg-1","ipPermissions":{{"items":[{{"fromPort":22}}]}}}},"responseElements":null,"requestID":"r-{id}","eventID":"{id}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{ACCT}","eventCategory":"Management"}}"#
    )
}

/// 2026-01-08T08:00:00Z, the start of the hours [`hourly_key`] names.
pub const T8: i64 = 1_767_859_200;
/// A second account.
pub const ACCT2: &str = "210987654321";

/// The key of an object `service` delivered for `acct` on 2026-01-08 at `hour`:`minute`.
pub fn hourly_key(acct: &str, service: &str, hour: i64, minute: i64, ext: &str) -> String {
    let region = "us-east-1";
    let stamp = format!("20260108T{hour:02}{minute:02}Z");
    format!(
        "AWSLogs/{acct}/{service}/{region}/2026/01/08/{acct}_{service}_{region}_{stamp}_{:08x}.{ext}",
        hour * 60 + minute
    )
}

/// Flow lines of `acct` from `t0` (seconds) over 25 minutes, `salt` telling objects apart.
pub fn hour_flow_lines(acct: &str, t0: i64, rows: usize, salt: usize) -> String {
    let mut s = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for i in 0..rows {
        let t = t0 + (i as i64 * 7) % 1500;
        s.push_str(&format!(
            "2 {acct} eni-0{salt:02} 10.0.{salt}.{} 10.0.9.9 {} 443 6 10 {} {t} {} ACCEPT OK\n",
            i % 200,
            40000 + i,
            500 + i * 3 + salt,
            t + 60
        ));
    }
    s
}

/// Flow lines of a port scan from 10.0.1.99 (119 ports rejected from `t`, in seconds), then a
/// malformed line.
pub fn port_scan_and_a_bad_line(acct: &str, t: i64) -> String {
    let mut s = String::new();
    for port in 1..120 {
        s.push_str(&format!(
            "2 {acct} eni-0aa 10.0.1.99 10.0.9.10 51515 {port} 6 1 40 {} {} REJECT OK\n",
            t + port,
            t + port + 5
        ));
    }
    s.push_str("2 this line is broken\n");
    s
}

/// A CloudTrail document of `acct` with `(event id, event name, time)` events (security group
/// changes open to 0.0.0.0/0).
pub fn ct_doc(acct: &str, events: &[(&str, &str, String)]) -> String {
    let evs: Vec<String> = events
        .iter()
        .map(|(id, name, time)| {
            ct_event(id, name, time).replace(ACCT, acct).replace(
                "\"groupId\":\"sg-1\"",
                "\"groupId\":\"sg-1\",\"cidrIp\":\"0.0.0.0/0\"",
            )
        })
        .collect();
    format!(r#"{{"Records":[{}]}}"#, evs.join(","))
}

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
/// Shared with `respond/tests/` (included there by path), hence outside `tests/it/`.
#[path = "../../common/moto.rs"]
pub mod moto;
/// Scoring alerts against scenario labels.
pub mod score;
pub mod serve;
