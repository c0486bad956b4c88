//! Hostile input: the real binary replays a folder where good objects sit beside corrupt and
//! truncated gzip, gzip bombs (gigabytes of zeros in a few MB), a 100 MB line, binary junk,
//! empty files, a header with 10,000 fields, deeply nested and huge CloudTrail JSON, objects
//! whose name lies about their encoding, and account/region values that try to leave the lake.
//! Every hostile object is quarantined with a reason naming it, the run succeeds, every good
//! record lands, nothing is written outside the lake, and peak memory stays under
//! [`MEMORY_CEILING`]. The inputs are generated here (nothing large is committed).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use flate2::Compression;
use flate2::write::GzEncoder;

const T0: i64 = 1_767_866_700; // 2026-01-08T10:05:00Z

/// Peak resident memory allowed for the whole replay (detection included), stated in
/// docs/testing.md. The largest single cost is a CloudTrail bomb inflated up to the 256 MiB
/// document limit before it is refused.
const MEMORY_CEILING: u64 = 1 << 30;

/// Gzip of `n` zero bytes, as repeated gzip members of 64 MiB (S3 objects may be multi-member):
/// a few MB on disk.
fn zero_bomb(prefix: &[u8], n: u64) -> Vec<u8> {
    const MEMBER: u64 = 64 << 20;
    let mut out = gz(prefix);
    let mut e = GzEncoder::new(Vec::new(), Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..MEMBER >> 20 {
        e.write_all(&zeros).unwrap();
    }
    let member = e.finish().unwrap();
    for _ in 0..n / MEMBER {
        out.extend_from_slice(&member);
    }
    out
}

fn key_flow(n: u32) -> String {
    flow_key(8, n)
}

fn key_ct(n: u32) -> String {
    ct_key(8, n)
}

struct Corpus {
    /// Key → rows it must land exactly.
    good: BTreeMap<String, u64>,
    /// Keys that must have a quarantine record, with a word its reason must contain.
    hostile: Vec<(String, &'static str)>,
}

fn ct_events(prefix: &str, n: usize, pad: usize) -> String {
    let pad = "x".repeat(pad);
    let evs: Vec<String> = (0..n)
        .map(|i| {
            ct_event(
                &format!("{prefix}-{i}"),
                "DescribeInstances",
                "2026-01-08T10:06:00Z",
            )
            .replace("aws-cli/2", &format!("aws-cli/2 {pad}"))
        })
        .collect();
    format!(r#"{{"Records":[{}]}}"#, evs.join(","))
}

fn write_corpus(src: &Path) -> Corpus {
    let mut good = BTreeMap::new();
    let mut hostile = Vec::new();
    // Good objects.
    for n in 1..=3 {
        put(src, &key_flow(n), &gz(flow_text(1000, T0).as_bytes()));
        good.insert(key_flow(n), 1000);
    }
    put(src, &key_ct(1), &gz(ct_events("good", 10, 0).as_bytes()));
    good.insert(key_ct(1), 10);
    // Named .gz but plain text, and gzip without .gz: detected by content.
    let plain = key_flow(4);
    put(src, &plain, flow_text(100, T0).as_bytes());
    good.insert(plain, 100);
    let gz_no_ext = key_flow(5).replace(".log.gz", ".log");
    put(src, &gz_no_ext, &gz(flow_text(100, T0).as_bytes()));
    good.insert(gz_no_ext, 100);
    // Huge but valid CloudTrail: 40,000 events of ~1.5 KB (~60 MB), all land.
    put(
        src,
        &key_ct(2),
        &gz(ct_events("big", 40_000, 1000).as_bytes()),
    );
    good.insert(key_ct(2), 40_000);

    // Corrupt gzip: bytes flipped in the middle of the deflate stream.
    let mut corrupt = gz(flow_text(5000, T0).as_bytes());
    let mid = corrupt.len() / 2;
    for b in &mut corrupt[mid..mid + 64] {
        *b ^= 0x5a;
    }
    put(src, &key_flow(10), &corrupt);
    hostile.push((key_flow(10), "corrupt"));
    // Truncated gzip.
    let whole = gz(flow_text(5000, T0).as_bytes());
    put(src, &key_flow(11), &whole[..whole.len() / 3]);
    hostile.push((key_flow(11), "corrupt or truncated"));
    // Flow-log bomb: a header, one record, then 2 GiB of zeros (one endless line).
    let head = flow_text(1, T0);
    put(src, &key_flow(12), &zero_bomb(head.as_bytes(), 2 << 30));
    hostile.push((key_flow(12), "line longer than"));
    // CloudTrail bomb: 1 GiB of zeros.
    put(src, &key_ct(12), &zero_bomb(b"", 1 << 30));
    hostile.push((key_ct(12), "exceeds the limit"));
    // A 100 MB line between good lines.
    let mut text = flow_text(2, T0);
    text.push_str(&"a".repeat(100 << 20));
    text.push('\n');
    text.push_str(flow_text(3, T0).lines().nth(3).unwrap());
    text.push('\n');
    put(src, &key_flow(13), &gz(text.as_bytes()));
    hostile.push((key_flow(13), "line longer than"));
    // Binary junk (seeded), plain and behind a gzip magic.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let junk: Vec<u8> = (0..100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    put(src, &key_flow(14), &junk);
    hostile.push((key_flow(14), key_flow(14).leak()));
    let mut gz_junk = vec![0x1f, 0x8b, 8, 0];
    gz_junk.extend_from_slice(&junk);
    put(src, &key_ct(14), &gz_junk);
    hostile.push((key_ct(14), "corrupt"));
    put(src, &key_ct(15), &junk);
    hostile.push((key_ct(15), key_ct(15).leak()));
    // Empty: zero bytes, an empty gzip, whitespace. Nothing to land, nothing to fail.
    put(src, &key_flow(15), b"");
    put(src, &key_flow(16), &gz(b""));
    put(src, &key_ct(16), b"");
    put(src, &key_ct(17), &gz(b"  \n"));
    // A header with 10,000 fields.
    let mut wide: String = (0..10_000).map(|i| format!("field-{i} ")).collect();
    wide.push('\n');
    wide.push_str(&vec!["1"; 10_000].join(" "));
    wide.push('\n');
    put(src, &key_flow(17), &gz(wide.as_bytes()));
    hostile.push((key_flow(17), "more than 512 fields"));
    // Deeply nested CloudTrail JSON: one event nested 100,000 levels deep beside a good one.
    let nested = format!(
        r#"{{"Records":[{},{}]}}"#,
        ct_event("deep-ok", "DescribeInstances", "2026-01-08T10:06:00Z"),
        ct_event("deep", "DescribeInstances", "2026-01-08T10:06:00Z").replace(
            "\"responseElements\":null",
            &format!(
                "\"responseElements\":{}{}",
                "[".repeat(100_000),
                "]".repeat(100_000)
            )
        )
    );
    put(src, &key_ct(18), &gz(nested.as_bytes()));
    // Both land: the free-form parts are kept as JSON text, never walked recursively.
    good.insert(key_ct(18), 2);
    // Values that try to leave the lake: account and region from records and keys.
    let escape = flow_text(5, T0).replace(ACCT, "../../../../escape");
    put(src, &key_flow(18), &gz(escape.as_bytes()));
    good.insert(key_flow(18), 5);
    let abs = format!(
        r#"{{"Records":[{}]}}"#,
        ct_event("abs-1", "DescribeInstances", "2026-01-08T10:06:00Z")
            .replace(
                &format!("\"recipientAccountId\":\"{ACCT}\""),
                "\"recipientAccountId\":\"/tmp/escape\""
            )
            .replace("\"awsRegion\":\"us-east-1\"", "\"awsRegion\":\"..\"")
    );
    put(src, &key_ct(19), &gz(abs.as_bytes()));
    good.insert(key_ct(19), 1);
    let odd = "AWSLogs/\u{202e}..\u{2044}..\u{ff0f}/vpcflowlogs/us-east-1/2026/01/08/x_vpcflowlogs_us-east-1_fl-1_20260108T1000Z_ab.log.gz".to_string();
    let odd_text = flow_text(4, T0).replace(ACCT, "-");
    put(src, &odd, &gz(odd_text.as_bytes()));
    good.insert(odd.clone(), 4);
    Corpus { good, hostile }
}

/// Peak RSS (VmHWM) of a running child, polled until it exits.
fn run_measuring(mut cmd: std::process::Command) -> (std::process::Output, u64) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak_kib = 0u64;
    // Drain stderr in a thread so a chatty child cannot block on a full pipe.
    let mut err_pipe = child.stderr.take().unwrap();
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        std::io::Read::read_to_end(&mut err_pipe, &mut s).unwrap();
        s
    });
    loop {
        if let Ok(s) = std::fs::read_to_string(&status_path) {
            for l in s.lines() {
                if let Some(v) = l.strip_prefix("VmHWM:") {
                    let kib: u64 = v.trim().trim_end_matches(" kB").trim().parse().unwrap_or(0);
                    peak_kib = peak_kib.max(kib);
                }
            }
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut out = child.wait_with_output().unwrap();
    out.stderr = err.join().unwrap();
    (out, peak_kib * 1024)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

#[test]
fn hostile_objects_are_quarantined_and_every_good_record_lands() {
    let _heavy = heavy();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("in");
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let corpus = write_corpus(&src);
    let lake = work.join("lake");
    let mut cmd = bin();
    cmd.arg("replay")
        .arg(&src)
        .arg("--lake")
        .arg(&lake)
        .arg("--alerts-out")
        .arg(work.join("alerts.jsonl"))
        .arg("--state")
        .arg(work.join("state"))
        .args(["--quiet", "--workers", "2"]);
    let (out, peak) = run_measuring(cmd);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the run goes on: {stderr}");
    eprintln!(
        "hostile corpus: {} good and {} hostile objects, peak memory {} MiB",
        corpus.good.len(),
        corpus.hostile.len(),
        peak >> 20
    );
    assert!(peak > 0, "memory was measured");
    assert!(
        peak < MEMORY_CEILING,
        "peak memory {} MiB over the ceiling",
        peak >> 20
    );

    // Every good record landed, once.
    let rows = query(
        &lake,
        "SELECT source_key, COUNT(*) AS n FROM (SELECT source_key FROM flows UNION ALL SELECT source_key FROM cloudtrail) GROUP BY source_key",
        "json",
    );
    let mut landed: BTreeMap<String, u64> = BTreeMap::new();
    for l in rows.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        landed.insert(
            v["source_key"].as_str().unwrap().to_string(),
            v["n"].as_u64().unwrap(),
        );
    }
    for (key, n) in &corpus.good {
        assert_eq!(landed.get(key), Some(n), "{key}: {landed:?}");
    }
    // The 100 MB line's neighbours and the bomb's first record landed too.
    assert_eq!(landed.get(&key_flow(13)), Some(&3));
    assert_eq!(landed.get(&key_flow(12)), Some(&1));
    // The deep value is kept verbatim and queries over it fail cleanly or answer.
    let deep = bin()
        .args([
            "query",
            "SELECT length(response_elements) AS n, json_get_str(response_elements, 'a') AS a FROM cloudtrail WHERE event_id = 'deep'",
            "--format",
            "csv",
            "--lake",
        ])
        .arg(&lake)
        .output()
        .unwrap();
    assert!(
        deep.status.code().is_some(),
        "the query process must not be killed by a signal (stack overflow)"
    );
    if deep.status.success() {
        assert!(String::from_utf8_lossy(&deep.stdout).contains("200000"));
    }

    // Every hostile object is quarantined with a reason naming it.
    let mut records = Vec::new();
    for e in std::fs::read_dir(lake.join("_quarantine")).unwrap() {
        for line in std::fs::read_to_string(e.unwrap().path()).unwrap().lines() {
            records.push(serde_json::from_str::<serde_json::Value>(line).unwrap());
        }
    }
    for (key, word) in &corpus.hostile {
        let rec = records
            .iter()
            .find(|r| r["object"] == *key)
            .unwrap_or_else(|| panic!("{key} not quarantined: {records:#?}"));
        let reason = rec["reason"].as_str().unwrap();
        assert!(
            reason.contains(word),
            "{key}: reason {reason:?} lacks {word:?}"
        );
        if rec["line"].is_null() {
            assert!(
                reason.contains(key.as_str()),
                "the reason names the object: {reason}"
            );
        }
        let raw = rec["raw"].as_str().unwrap_or("");
        assert!(raw.len() <= 4096 * 3, "raw text is bounded: {}", raw.len());
    }

    // Nothing outside the lake, no partition folder that climbs out.
    for p in files_under(dir.path()) {
        assert!(
            p.starts_with(&src) || p.starts_with(&work),
            "written outside: {}",
            p.display()
        );
        let rel = p
            .strip_prefix(dir.path())
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert!(!rel.split('/').any(|s| s == ".."), "{rel}");
    }
    let escaped = query(
        &lake,
        "SELECT DISTINCT account_id, region FROM cloudtrail WHERE event_id = 'abs-1'",
        "csv",
    );
    assert!(escaped.lines().count() == 2, "{escaped}");
    assert!(lake.join("flows").read_dir().unwrap().all(|e| {
        let n = e.unwrap().file_name().to_string_lossy().into_owned();
        n.starts_with("account_id=") && !n.contains('/')
    }));
}
