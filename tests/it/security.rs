//! Security of the binary: `flowtrail query` cannot write files, change the session or read
//! outside the lake, and no credential reaches logs (at the most verbose level), alerts, the
//! outbox or the lake.

use std::path::Path;

use crate::common::*;

const T0: i64 = 1_767_866_700; // 2026-01-08T10:05:00Z

fn lake_with_data(dir: &Path) -> std::path::PathBuf {
    let src = dir.join("src");
    let lake = dir.join("lake");
    put(&src, &flow_key(8, 1), &gz(flow_text(50, T0).as_bytes()));
    let doc = format!(
        r#"{{"Records":[{}]}}"#,
        ct_event("e-1", "StopLogging", "2026-01-08T10:06:00Z")
    );
    put(&src, &ct_key(8, 2), &gz(doc.as_bytes()));
    let out = replay(
        &src,
        &lake,
        &["--state", dir.join("state").to_str().unwrap()],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    lake
}

#[test]
fn query_cannot_write_change_the_session_or_read_outside_the_lake() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_with_data(dir.path());
    let outside = dir.path().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret.csv"), "k,v\npassword,hunter2\n").unwrap();
    let o = outside.display();
    let target = dir.path().join("written");
    let t = target.display();
    let refused = [
        format!("COPY flows TO '{t}.parquet'"),
        format!("COPY (SELECT 1 AS x) TO '{t}.csv' STORED AS CSV"),
        "INSERT INTO flows SELECT * FROM flows".to_string(),
        "INSERT INTO alerts SELECT * FROM alerts".to_string(),
        "DELETE FROM flows".to_string(),
        "UPDATE flows SET bytes = 0".to_string(),
        "DROP TABLE flows".to_string(),
        "CREATE TABLE t AS SELECT 1 AS x".to_string(),
        "CREATE VIEW v AS SELECT * FROM flows".to_string(),
        format!("CREATE EXTERNAL TABLE s STORED AS CSV LOCATION '{o}/secret.csv'"),
        format!("CREATE EXTERNAL TABLE s STORED AS PARQUET LOCATION '{t}/'"),
        "SET datafusion.execution.target_partitions = 1".to_string(),
        format!("SELECT * FROM '{o}/secret.csv'"),
        format!("SELECT * FROM read_csv('{o}/secret.csv')"),
        format!("SELECT * FROM read_parquet('{}/flows')", lake.display()),
        format!("SELECT 1; COPY (SELECT 1 AS x) TO '{t}.json' STORED AS JSON"),
        format!("EXPLAIN ANALYZE COPY (SELECT 1 AS x) TO '{t}.csv' STORED AS CSV"),
    ];
    for sql in &refused {
        let out = bin()
            .args(["query", sql, "--format", "csv", "--lake"])
            .arg(&lake)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(!out.status.success(), "{sql} must be refused: {stdout}");
        assert!(stderr.contains("error:"), "{sql}: a clear error: {stderr}");
        assert!(!stdout.contains("hunter2"), "{sql} read outside the lake");
    }
    let written: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("written"))
        .collect();
    assert!(written.is_empty(), "files written: {written:?}");
    // The lake is unchanged and still readable.
    assert_eq!(count(&lake, "flows"), 50);
    assert_eq!(count(&lake, "cloudtrail"), 1);
}

#[test]
fn credentials_never_reach_logs_alerts_outbox_or_lake() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let lake = dir.path().join("lake");
    put(&src, &flow_key(8, 1), &gz(flow_text(50, T0).as_bytes()));
    let doc = format!(
        r#"{{"Records":[{}]}}"#,
        ct_event(
            "e-1",
            "AuthorizeSecurityGroupIngress",
            "2026-01-08T10:06:00Z"
        )
        .replace(
            "\"groupId\":\"sg-1\"",
            "\"groupId\":\"sg-1\",\"cidrIp\":\"0.0.0.0/0\""
        )
    );
    put(&src, &ct_key(8, 2), &gz(doc.as_bytes()));
    let secret = "wJalrXUtnFEMIxK7MDENGxbPxRfiCYzSECRETzz";
    let token = "FwoGZXIvYXdzEXAMPLEsessionTOKENzz";
    let key_id = "AKIAQQQQFLOWTRAILTEST";
    // SNS at an endpoint that refuses connections: the SDK signs and retries requests (and logs
    // them at trace level), alerts wait in the outbox.
    let out = bin()
        .arg("replay")
        .arg(&src)
        .arg("--lake")
        .arg(&lake)
        .arg("--alerts-out")
        .arg(dir.path().join("alerts.jsonl"))
        .arg("--state")
        .arg(dir.path().join("state"))
        .arg("--outbox")
        .arg(dir.path().join("outbox"))
        .args([
            "--quiet",
            "--sns-topic-arn",
            "arn:aws:sns:us-east-1:012345678901:alerts",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ])
        .env("AWS_ACCESS_KEY_ID", key_id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_SESSION_TOKEN", token)
        .env("AWS_REGION", "us-east-1")
        .env("AWS_MAX_ATTEMPTS", "2")
        .env("FLOWTRAIL_LOG", "trace")
        .output()
        .unwrap();
    let logs = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        logs.lines().count() > 20,
        "trace logging is on: {} lines",
        logs.lines().count()
    );
    for s in [secret, token] {
        assert!(!logs.contains(s), "a credential is in the logs");
    }
    let mut files = Vec::new();
    let mut stack = vec![dir.path().to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                if p != src {
                    stack.push(p);
                }
            } else {
                files.push(p);
            }
        }
    }
    assert!(
        files
            .iter()
            .any(|p| p.starts_with(dir.path().join("outbox"))),
        "the alert waits in the outbox: {files:?}"
    );
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        for s in [secret, token, key_id] {
            assert!(!text.contains(s), "a credential in {}", f.display());
        }
    }
}
