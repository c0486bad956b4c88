//! The evidence SQL of detectors the bundled sample does not raise, run with DataFusion over
//! small in-memory `flows`, `cloudtrail` and `alerts` tables laid out as the lake's (with the
//! `date` and `hour` partition columns): each query parses, prunes by its window and returns
//! the rows its evidence names.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Int32Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::prelude::SessionContext;
use serde_json::{Value, json};

use super::Explainer;
use super::tests::finding;

const T: i64 = 1_767_870_096_000; // 2026-01-08T11:01:36Z, the fixtures' first_seen

fn ts() -> DataType {
    DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
}

fn strings(v: &[&str]) -> ArrayRef {
    Arc::new(StringArray::from(v.to_vec()))
}

/// Flows (interface, src, dst, dport) at 11:05 on 2026-01-08, and one a day earlier.
fn flows(rows: &[(&str, &str, &str, i32)]) -> RecordBatch {
    let mut rows = rows.to_vec();
    rows.push(("eni-old", "10.9.9.9", "10.9.9.8", 22));
    let n = rows.len();
    let time: Vec<i64> = (0..n)
        .map(|i| {
            if i + 1 == n {
                T - 86_400_000
            } else {
                T + 200_000
            }
        })
        .collect();
    let date: Vec<&str> = (0..n)
        .map(|i| {
            if i + 1 == n {
                "2026-01-07"
            } else {
                "2026-01-08"
            }
        })
        .collect();
    let col = |k: usize| -> ArrayRef {
        let v: Vec<&str> = rows.iter().map(|r| [r.0, r.1, r.2][k]).collect();
        strings(&v)
    };
    let schema = Schema::new(vec![
        Field::new("event_time", ts(), false),
        Field::new("account_id", DataType::Utf8, true),
        Field::new("interface_id", DataType::Utf8, true),
        Field::new("instance_id", DataType::Utf8, true),
        Field::new("srcaddr", DataType::Utf8, true),
        Field::new("dstaddr", DataType::Utf8, true),
        Field::new("srcport", DataType::Int32, true),
        Field::new("dstport", DataType::Int32, true),
        Field::new("protocol", DataType::Int32, true),
        Field::new("packets", DataType::Int64, true),
        Field::new("bytes", DataType::Int64, true),
        Field::new("action", DataType::Utf8, true),
        Field::new("date", DataType::Utf8, false),
        Field::new("hour", DataType::Utf8, false),
    ]);
    RecordBatch::try_new(
        Arc::new(schema),
        vec![
            Arc::new(TimestampMillisecondArray::from(time).with_timezone("UTC")),
            strings(&vec!["012345678901"; n]),
            col(0),
            Arc::new(StringArray::from(vec![Option::<&str>::None; n])),
            col(1),
            col(2),
            Arc::new(Int32Array::from(vec![50_000; n])),
            Arc::new(Int32Array::from(
                rows.iter().map(|r| r.3).collect::<Vec<_>>(),
            )),
            Arc::new(Int32Array::from(vec![6; n])),
            Arc::new(Int64Array::from(vec![10; n])),
            Arc::new(Int64Array::from(vec![5_000; n])),
            strings(&vec!["ACCEPT"; n]),
            strings(&date),
            strings(&vec!["11"; n]),
        ],
    )
    .unwrap()
}

fn cloudtrail(ids: &[&str]) -> RecordBatch {
    let n = ids.len();
    let cols = [
        "event_id",
        "event_name",
        "event_source",
        "user_identity_arn",
        "source_ip_address",
        "error_code",
        "aws_region",
        "request_parameters",
        "response_elements",
        "date",
        "hour",
    ];
    let mut fields = vec![Field::new("event_time", ts(), false)];
    fields.extend(cols.iter().map(|c| Field::new(*c, DataType::Utf8, true)));
    let mut arrays: Vec<ArrayRef> = vec![Arc::new(
        TimestampMillisecondArray::from(vec![T; n]).with_timezone("UTC"),
    )];
    for c in cols {
        arrays.push(match c {
            "event_id" => strings(ids),
            "date" => strings(&vec!["2026-01-08"; n]),
            "hour" => strings(&vec!["11"; n]),
            _ => strings(&vec!["x"; n]),
        });
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

fn alerts(ids: &[&str]) -> RecordBatch {
    let n = ids.len();
    let cols = [
        "id",
        "detector",
        "severity",
        "title",
        "entity_kind",
        "entity_id",
        "date",
    ];
    let mut fields: Vec<Field> = cols
        .iter()
        .map(|c| Field::new(*c, DataType::Utf8, true))
        .collect();
    fields.push(Field::new("first_seen", ts(), false));
    fields.push(Field::new("last_seen", ts(), false));
    let mut arrays: Vec<ArrayRef> = cols
        .iter()
        .map(|c| match *c {
            "id" => strings(ids),
            "detector" => strings(&["console_login_no_mfa", "access_key_created"][..n]),
            "date" => strings(&vec!["2026-01-08"; n]),
            _ => strings(&vec!["x"; n]),
        })
        .collect();
    for _ in 0..2 {
        arrays.push(Arc::new(
            TimestampMillisecondArray::from(vec![T; n]).with_timezone("UTC"),
        ));
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).unwrap()
}

/// Run `sql` over the tables; the result rows as JSON objects.
fn run(sql: &str, tables: Vec<(&str, RecordBatch)>) -> Vec<Value> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let batches = rt.block_on(async {
        let ctx = SessionContext::new();
        for (name, b) in tables {
            ctx.register_batch(name, b).unwrap();
        }
        ctx.sql(sql)
            .await
            .unwrap_or_else(|e| panic!("{e}: {sql}"))
            .collect()
            .await
            .unwrap()
    });
    let mut w = arrow::json::ArrayWriter::new(Vec::new());
    for b in &batches {
        w.write(b).unwrap();
    }
    w.finish().unwrap();
    let out = w.into_inner();
    if out.is_empty() {
        return Vec::new();
    }
    serde_json::from_slice(&out).unwrap()
}

/// Explain `f`, run its SQL, and check every evidence row is among the results.
fn returns_its_rows(mut f: flowtrail_core::Finding, tables: Vec<(&str, RecordBatch)>) -> usize {
    Explainer::default().explain(&mut f, &[]);
    let sql = f.evidence["sql"].as_str().unwrap().to_string();
    let got = run(&sql, tables);
    let rows = f.evidence["rows"].as_array().cloned().unwrap();
    assert!(!rows.is_empty(), "{}", f.detector);
    for r in &rows {
        let o = r.as_object().unwrap();
        assert!(
            got.iter()
                .any(|g| o.iter().all(|(k, v)| g.get(k) == Some(v))),
            "{}: {r} not in {got:?} of {sql}",
            f.detector
        );
    }
    got.len()
}

#[test]
fn flow_detectors_sql_returns_their_rows_and_prunes_other_days() {
    let table = || {
        flows(&[
            ("eni-1", "10.0.1.5", "203.0.113.50", 443),
            ("eni-1", "10.0.1.5", "198.51.100.7", 8088),
            ("eni-1", "10.0.1.5", "198.51.100.9", 3333),
            ("eni-1", "10.0.1.5", "8.8.8.8", 53),
            ("eni-1", "10.0.1.5", "10.0.2.1", 3306),
            ("eni-1", "10.0.1.5", "10.0.2.2", 3306),
        ])
    };
    let mut exfil = finding("slow_exfiltration", "eni", "eni-1");
    exfil.evidence = json!({"remote": "203.0.113.50", "remote_port": 443, "hours": 4});
    assert_eq!(returns_its_rows(exfil, vec![("flows", table())]), 1);
    let mut dns = finding("dns_tunnel", "eni", "eni-1");
    dns.evidence = json!({"dns_bytes_out": 9_000_000, "usual_dns_bytes_out": 20_000});
    assert_eq!(returns_its_rows(dns, vec![("flows", table())]), 1);
    let mut c2 = finding("c2_beaconing", "eni", "eni-1");
    c2.evidence = json!({"remote": "198.51.100.7", "remote_port": 8088});
    returns_its_rows(c2, vec![("flows", table())]);
    let mut mine = finding("crypto_mining", "eni", "eni-1");
    mine.evidence = json!({"client": "10.0.1.5", "remote": "198.51.100.9", "remote_port": 3333});
    returns_its_rows(mine, vec![("flows", table())]);
    let mut rogue = finding("rogue_dns_resolver", "eni", "eni-1");
    rogue.evidence = json!({"client": "10.0.1.5", "resolver": "8.8.8.8"});
    returns_its_rows(rogue, vec![("flows", table())]);
    let mut tier = finding("disallowed_tier_flow", "eni", "eni-1");
    tier.evidence =
        json!({"client": "10.0.1.5", "servers": ["10.0.2.1", "10.0.2.2"], "server_count": 2});
    assert_eq!(returns_its_rows(tier, vec![("flows", table())]), 2);
    let mut fence = finding("unexpected_resource", "eni", "eni-1");
    fence.evidence = json!({"source": "flows", "interface_id": "eni-1", "subnet_id": "subnet-9"});
    assert_eq!(
        returns_its_rows(fence, vec![("flows", table())]),
        6,
        "not the day before"
    );
}

#[test]
fn cloudtrail_and_sequence_sql_return_their_rows() {
    let mut launch = finding("unexpected_resource", "instance", "i-1");
    launch.evidence = json!({"source": "cloudtrail", "event_id": "ev-1", "subnet_id": "subnet-9"});
    assert_eq!(
        returns_its_rows(launch, vec![("cloudtrail", cloudtrail(&["ev-1", "ev-2"]))]),
        1
    );
    let mut sigma = finding("sigma_aws_thing", "principal", "x");
    sigma.evidence = json!({"event_ids": ["ev-2"]});
    assert_eq!(
        returns_its_rows(sigma, vec![("cloudtrail", cloudtrail(&["ev-1", "ev-2"]))]),
        1
    );
    let mut seq = finding("attack_sequence", "principal", "arn:aws:iam::1:user/x");
    seq.evidence = json!({"parts": [
        {"alert_id": "a1", "detector": "console_login_no_mfa", "stage": "access"},
        {"alert_id": "a2", "detector": "access_key_created", "stage": "persistence"}]});
    assert_eq!(
        returns_its_rows(seq, vec![("alerts", alerts(&["a1", "a2"]))]),
        2
    );
}
