//! End-to-end: the real `flowtrail` binary replays files in the AWS layout into a lake, and
//! `flowtrail query` reads them back.

use crate::common::*;

const T0: i64 = 1_767_866_700; // 2026-01-08T10:05:00Z

#[test]
fn replay_writes_the_lake_and_a_second_replay_adds_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let lake = dir.path().join("lake");
    put(&src, &flow_key(8, 5), &gz(flow_text(500, T0).as_bytes()));
    put(
        &src,
        &flow_key(8, 10),
        &gz(flow_text(300, T0 + 3600).as_bytes()),
    );
    let doc = format!(
        r#"{{"Records":[{},{}]}}"#,
        ct_event(
            "e-1",
            "AuthorizeSecurityGroupIngress",
            "2026-01-08T10:06:00Z"
        ),
        ct_event("e-2", "DescribeInstances", "2026-01-08T10:07:00.123Z")
    );
    put(&src, &ct_key(8, 15), &gz(doc.as_bytes()));

    let out = replay(&src, &lake, &[]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("records      802"),
        "{}",
        stderr(&out)
    );
    assert_eq!(count(&lake, "flows"), 800);
    assert_eq!(count(&lake, "cloudtrail"), 2);

    // Partitions follow the layout.
    let part = lake.join(format!(
        "flows/account_id={ACCT}/region=us-east-1/date=2026-01-08/hour=10"
    ));
    assert!(part.is_dir(), "missing {}", part.display());

    // Replaying the same archive leaves each row once.
    let again = replay(&src, &lake, &[]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(
        stderr(&again).contains("3 already in the lake"),
        "{}",
        stderr(&again)
    );
    assert_eq!(count(&lake, "flows"), 800);
    assert_eq!(count(&lake, "cloudtrail"), 2);

    // A new object in the same archive is picked up alone.
    put(
        &src,
        &flow_key(8, 20),
        &gz(flow_text(7, T0 + 7200).as_bytes()),
    );
    let third = replay(&src, &lake, &[]);
    assert!(third.status.success());
    assert_eq!(count(&lake, "flows"), 807);
}

#[test]
fn bad_input_is_quarantined_and_good_records_still_land() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let lake = dir.path().join("lake");
    // Two malformed lines among good ones.
    let mut text = flow_text(10, T0);
    text.push_str(&format!(
        "2 {ACCT} eni-1 10.0.0.1 10.0.0.2 notaport 22 6 1 1 {T0} {T0} ACCEPT OK\n"
    ));
    text.push_str("2 too few fields\n");
    text.push_str(
        &flow_text(5, T0)
            .lines()
            .skip(1)
            .collect::<Vec<_>>()
            .join("\n"),
    );
    put(&src, &flow_key(8, 1), &gz(text.as_bytes()));
    // A truncated gzip: its complete lines still land.
    let whole = gz(flow_text(2000, T0).as_bytes());
    put(&src, &flow_key(8, 2), &whole[..whole.len() * 2 / 3]);
    // Not gzip at all, binary junk.
    put(&src, &flow_key(8, 3), &[0x1f, 0x8b, 0, 1, 2, 3, 255, 254]);
    // Truncated CloudTrail JSON: the complete event before the cut lands.
    let doc = format!(
        r#"{{"Records":[{},{{"eventVersion":"1.0"#,
        ct_event("ok-1", "StopLogging", "2026-01-08T10:06:00Z")
    );
    put(&src, &ct_key(8, 4), &gz(doc.as_bytes()));

    let out = replay(&src, &lake, &[]);
    assert!(
        out.status.success(),
        "quarantine must not fail the run: {}",
        stderr(&out)
    );
    assert_eq!(count(&lake, "cloudtrail"), 1);
    let flows = count(&lake, "flows");
    assert!(
        flows > 15,
        "good lines and the readable part of the truncated object land: {flows}"
    );

    let mut records = Vec::new();
    for e in std::fs::read_dir(lake.join("_quarantine")).unwrap() {
        for line in std::fs::read_to_string(e.unwrap().path()).unwrap().lines() {
            records.push(serde_json::from_str::<serde_json::Value>(line).unwrap());
        }
    }
    let line_recs: Vec<_> = records.iter().filter(|r| r["line"].is_u64()).collect();
    assert_eq!(line_recs.len(), 2, "{records:?}");
    assert!(
        line_recs
            .iter()
            .any(|r| r["line"] == 12 && r["reason"].as_str().unwrap().contains("srcport")),
        "{records:?}"
    );
    assert!(
        line_recs
            .iter()
            .all(|r| r["object"].as_str().unwrap().ends_with(".log.gz"))
    );
    let whole_objs: Vec<_> = records.iter().filter(|r| r["line"].is_null()).collect();
    assert_eq!(
        whole_objs.len(),
        3,
        "truncated gzip, junk, truncated JSON: {records:?}"
    );
    assert!(
        whole_objs
            .iter()
            .all(|r| r["reason"].as_str().unwrap().contains("AWSLogs/")),
        "reasons name the object"
    );
}

#[test]
fn from_and_to_cut_on_event_time() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let lake = dir.path().join("lake");
    put(
        &src,
        &flow_key(7, 1),
        &gz(flow_text(10, T0 - 86_400).as_bytes()),
    );
    put(&src, &flow_key(8, 1), &gz(flow_text(10, T0).as_bytes()));
    let out = replay(&src, &lake, &["--from", "2026-01-08", "--to", "2026-01-09"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(count(&lake, "flows"), 10);
    let days = query(&lake, "SELECT DISTINCT date FROM flows", "csv");
    assert_eq!(days.trim(), "date\n2026-01-08");
}

#[test]
fn query_formats_json_functions_and_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let lake = dir.path().join("lake");
    let doc = format!(
        r#"{{"Records":[{}]}}"#,
        ct_event(
            "e-9",
            "AuthorizeSecurityGroupIngress",
            "2026-01-08T10:06:00Z"
        )
    );
    put(&src, &ct_key(8, 1), &gz(doc.as_bytes()));
    put(&src, &flow_key(8, 1), &gz(flow_text(3, T0).as_bytes()));
    assert!(replay(&src, &lake, &[]).status.success());

    let j = query(
        &lake,
        "SELECT json_get_str(request_parameters, 'groupId') AS g, event_time FROM cloudtrail",
        "json",
    );
    let v: serde_json::Value = serde_json::from_str(j.lines().next().unwrap()).unwrap();
    assert_eq!(v["g"], "sg-1");
    assert!(
        v["event_time"]
            .as_str()
            .unwrap()
            .starts_with("2026-01-08T10:06:00")
    );

    let t = query(
        &lake,
        "SELECT srcport, bytes FROM flows ORDER BY bytes LIMIT 1",
        "table",
    );
    assert!(t.contains("| srcport |") && t.contains("1000"), "{t}");

    let types = query(
        &lake,
        "SELECT arrow_typeof(srcport) AS a, arrow_typeof(bytes) AS b, arrow_typeof(account_id) AS c FROM flows LIMIT 1",
        "csv",
    );
    assert!(types.contains("Int32,Int64,Utf8"), "{types}");

    for sql in [
        "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/'",
        "COPY flows TO '/tmp/x.parquet'",
        "INSERT INTO flows SELECT * FROM flows",
    ] {
        let out = bin()
            .args(["query", sql, "--lake"])
            .arg(&lake)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{sql} must be refused");
    }
}

#[test]
fn query_into_a_closed_pipe_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let lake = dir.path().join("lake");
    put(&src, &flow_key(8, 1), &gz(flow_text(20_000, T0).as_bytes()));
    assert!(replay(&src, &lake, &[]).status.success());
    let mut child = bin()
        .args(["query", "SELECT * FROM flows", "--format", "csv", "--lake"])
        .arg(&lake)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe like `| head -1`.
    {
        use std::io::BufRead;
        let mut r = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut first = String::new();
        r.read_line(&mut first).unwrap();
        assert!(first.starts_with("version,"));
    }
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "no error on a closed pipe: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn schema_prints_tables_and_athena_ddl() {
    let out = bin().args(["schema"]).output().unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.contains("table flows") && s.contains("srcport") && s.contains("Int32"));
    let out = bin()
        .args(["schema", "--athena", "--location", "s3://b/p"])
        .output()
        .unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    assert_eq!(s.matches("CREATE EXTERNAL TABLE").count(), 4);
    assert!(s.contains("LOCATION 's3://b/p/cloudtrail/'"));
    assert!(s.contains("LOCATION 's3://b/p/inventory/'"));
}

#[test]
fn an_event_delivered_again_in_a_later_run_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let lake = dir.path().join("lake");
    let ev = |id: &str| ct_event(id, "DescribeInstances", "2026-01-08T10:06:00Z");
    put(
        &src,
        &ct_key(8, 1),
        &gz(format!(r#"{{"Records":[{}]}}"#, ev("e-1")).as_bytes()),
    );
    assert!(replay(&src, &lake, &["--no-detect"]).status.success());
    // CloudTrail delivers at least once: the next object repeats e-1 (a restart in between
    // must not let the copy through).
    put(
        &src,
        &ct_key(8, 2),
        &gz(format!(r#"{{"Records":[{},{}]}}"#, ev("e-1"), ev("e-2")).as_bytes()),
    );
    let out = replay(&src, &lake, &["--no-detect"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("1 duplicate events dropped"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        query(
            &lake,
            "SELECT event_id FROM cloudtrail ORDER BY event_id",
            "csv"
        ),
        "event_id\ne-1\ne-2\n"
    );
}

#[test]
fn sigma_rules_run_with_the_sql_rules_and_a_rule_not_loaded_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    let lake = dir.path().join("lake");
    let stop = ct_event("e-stop", "StopLogging", "2026-01-08T10:06:00Z")
        .replace("ec2.amazonaws.com", "cloudtrail.amazonaws.com");
    put(
        &src,
        &ct_key(8, 1),
        &gz(format!(r#"{{"Records":[{stop}]}}"#).as_bytes()),
    );
    let sigma = concat!(env!("CARGO_MANIFEST_DIR"), "/detect/fixtures/sigma_own");
    let out = replay(&src, &lake, &["--sigma", sigma]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("aws_assume_role_session_name.yml"),
        "the rule that does not compile is named: {}",
        stderr(&out)
    );
    let alerts = std::fs::read_to_string(lake.with_extension("alerts.jsonl")).unwrap();
    let alerts: Vec<serde_json::Value> = alerts
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let detectors: Vec<String> = alerts.iter().map(|a| a["detector"].to_string()).collect();
    let sigma = alerts
        .iter()
        .find(|a| a["detector"] == "sigma_aws_trail_stopped")
        .unwrap_or_else(|| panic!("no sigma_aws_trail_stopped alert: {detectors:?}"));
    assert_eq!(sigma["severity"], "high", "{sigma}");
    assert_eq!(
        sigma["evidence"]["sigma"]["id"], "b3020a45-b85a-4ffe-b978-4c4ececa33fa",
        "{sigma}"
    );
    assert_eq!(
        sigma["attack"]["techniques"],
        serde_json::json!(["T1562.008"]),
        "{sigma}"
    );
    assert!(
        detectors.contains(&"\"cloudtrail_tampering\"".to_string()),
        "{detectors:?}"
    );
}
