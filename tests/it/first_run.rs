//! A first run on a fresh machine, as the README tells it: the real `flowtrail` binary on
//! paths that are missing, empty, staged through symlinks or replayed twice, and `serve` with
//! only the flags the README gives. Each case is a mistake or a setup a new user meets; the
//! answer must be the work done, or an error that names the path, never a silent zero.

use std::io::BufRead;
use std::path::Path;
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::*;

const T0: i64 = 1_767_866_700; // 2026-01-08T10:05:00Z

/// A CloudTrail object whose events raise alerts (logging stopped, flow logs deleted).
fn attack_object(src: &Path) {
    let ev = |id: &str, name: &str, source: &str, t: &str| {
        ct_event(id, name, t).replace("ec2.amazonaws.com", source)
    };
    let doc = format!(
        r#"{{"Records":[{},{}]}}"#,
        ev(
            "a-1",
            "StopLogging",
            "cloudtrail.amazonaws.com",
            "2026-01-08T10:06:00Z"
        ),
        ev(
            "a-2",
            "DeleteFlowLogs",
            "ec2.amazonaws.com",
            "2026-01-08T10:07:00Z"
        ),
    );
    put(src, &ct_key(8, 15), &gz(doc.as_bytes()));
}

fn alert_ids(path: &Path) -> Vec<String> {
    read_alerts(path)
        .iter()
        .map(|v| v["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_second_replay_keeps_the_first_runs_alerts_once() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let lake = dir.path().join("lake");
    attack_object(&src);
    let alerts = lake.with_extension("alerts.jsonl");

    let first = replay(&src, &lake, &[]);
    assert!(first.status.success(), "{}", stderr(&first));
    let ids = alert_ids(&alerts);
    assert!(
        ids.len() >= 2,
        "the attack raises alerts: {}",
        stderr(&first)
    );

    let again = replay(&src, &lake, &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("1 already in the lake"),
        "{}",
        stderr(&again)
    );
    assert_eq!(alert_ids(&alerts), ids, "the first run's alerts stay, once");

    // New input appends its alerts after the earlier ones.
    put(
        &src,
        &flow_key(8, 20),
        &gz(flow_text(5, T0 + 600).as_bytes()),
    );
    let third = replay(&src, &lake, &[]);
    assert!(third.status.success(), "{}", stderr(&third));
    assert_eq!(alert_ids(&alerts)[..ids.len()], ids[..]);
}

#[test]
fn query_without_a_lake_fails_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-lake-here");
    let out = bin()
        .args(["query", "SELECT COUNT(*) FROM flows", "--lake"])
        .arg(&missing)
        .output()
        .unwrap();
    assert!(!out.status.success(), "a missing lake is an error");
    assert!(out.stdout.is_empty(), "no answer printed");
    assert!(stderr(&out).contains("no-lake-here"), "{}", stderr(&out));

    // A folder that is not a lake (the input instead of the lake, say) too.
    put(dir.path(), "notes.txt", b"x");
    let out = bin()
        .args(["query", "SELECT COUNT(*) FROM flows", "--lake"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(stderr(&out).contains("is not a lake"), "{}", stderr(&out));
}

#[test]
fn a_replay_of_a_folder_without_log_objects_warns_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("downloads");
    put(&src, "report.csv", b"a,b\n");
    put(
        &src,
        "flows/2026-01-08.log.gz",
        &gz(flow_text(3, T0).as_bytes()),
    );
    let out = replay(&src, &dir.path().join("lake"), &[]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    let warning = err
        .lines()
        .find(|l| l.contains("no flow-log or CloudTrail objects"))
        .unwrap_or_else(|| panic!("no warning: {err}"));
    assert!(warning.contains("downloads"), "{warning}");
    assert!(warning.contains("2 files found"), "{warning}");
    assert!(warning.contains("2 not in the AWS log layout"), "{warning}");
}

#[cfg(unix)]
#[test]
fn a_source_staged_as_symlinks_is_read() {
    use std::os::unix::fs::symlink;
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("archive");
    let a = put(&archive, &flow_key(8, 5), &gz(flow_text(40, T0).as_bytes()));
    put(
        &archive,
        &flow_key(9, 5),
        &gz(flow_text(2, T0 + 86_400).as_bytes()),
    );
    // Staging: a link to the account's folder, a link to one file elsewhere in the layout, a
    // loop, and a broken link.
    let staging = dir.path().join("staging");
    let acct = format!("AWSLogs/{ACCT}");
    std::fs::create_dir_all(staging.join("AWSLogs")).unwrap();
    symlink(archive.join(&acct), staging.join(&acct)).unwrap();
    let extra = staging.join("extra").join(flow_key(10, 5));
    std::fs::create_dir_all(extra.parent().unwrap()).unwrap();
    symlink(&a, &extra).unwrap();
    symlink(&staging, staging.join("AWSLogs/loop")).unwrap();
    symlink(dir.path().join("gone"), staging.join("broken.log.gz")).unwrap();

    let lake = dir.path().join("lake");
    let out = replay(&staging, &lake, &["--no-detect"]);
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("2 read"), "{err}");
    assert_eq!(count(&lake, "flows"), 42);
    // The link to `a` repeats data already listed, the loop a folder being walked.
    assert!(
        err.contains("1 unreadable") && err.contains("2 already listed through another link"),
        "{err}"
    );
}

#[test]
fn a_missing_path_prints_its_cause_once() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no-such-archive");
    let out = replay(&missing, &dir.path().join("lake"), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("no-such-archive"), "{err}");
    // The operating system's own text, e.g. "No such file or directory (os error 2)".
    let os = std::fs::metadata(&missing).unwrap_err().to_string();
    assert_eq!(err.matches(&os).count(), 1, "the cause once: {err}");
    assert_eq!(err.matches("error:").count(), 1, "{err}");

    // A lake that cannot be created (under a file) fails the same way, through the lake's
    // own error type.
    let file = put(dir.path(), "a-file", b"x");
    let src = dir.path().join("src");
    put(&src, &flow_key(8, 5), &gz(flow_text(3, T0).as_bytes()));
    let out = replay(&src, &file.join("lake"), &["--no-detect"]);
    let err = stderr(&out);
    assert!(!out.status.success(), "{err}");
    let under_file = std::fs::create_dir(file.join("lake"))
        .unwrap_err()
        .to_string();
    assert_eq!(err.matches(&under_file).count(), 1, "the cause once: {err}");
}

/// Lines of a child's stderr, as they come.
fn lines_of(child: &mut std::process::Child) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let pipe = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(pipe).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

#[cfg(unix)]
#[test]
fn serve_with_the_readmes_flags_starts_and_keeps_its_outbox_in_the_state_dir() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens here: the cycles fail and retry, which is what a stopped emulator does.
    let down = format!(
        "http://127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    );
    let mut child = bin()
        .current_dir(dir.path())
        .args(["serve", "--sqs-queue-url"])
        .arg(format!("{down}/123456789012/log-objects"))
        .args([
            "--sns-topic-arn",
            "arn:aws:sns:us-east-1:123456789012:alerts",
            "--lake",
            "lake",
            "--listen",
            "127.0.0.1:0",
        ])
        .env("AWS_ENDPOINT_URL", &down)
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let lines = lines_of(&mut child);
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = Vec::new();
    let started = loop {
        match lines.recv_timeout(Duration::from_millis(200)) {
            Ok(l) => {
                let up = l.contains("flowtrail serve: listening");
                seen.push(l);
                if up {
                    break true;
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break false,
            Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() > deadline => break false,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    };
    let stop = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(stop.success());
    let status = child.wait().unwrap();
    seen.extend(lines.try_iter());
    let log = seen.join("\n");
    assert!(started, "serve did not start: {log}");
    assert!(status.success(), "a clean stop: {log}");
    assert!(dir.path().join("state/outbox").is_dir(), "{log}");
    assert!(!dir.path().join("outbox").exists(), "{log}");
}
