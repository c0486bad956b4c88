//! Sigma matching semantics on hand-written rules: wildcards and escaped LIKE characters,
//! case, `|all`, `|cased`, null and missing fields under `not`, `N of`, `all of them`, and the
//! loader's reasons for files it does not compile.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Cursor;
use std::path::Path;

use arrow::record_batch::RecordBatch;
use flowtrail_core::schema::cloudtrail::cloudtrail_schema;
use flowtrail_detect::rules::RuleSet;
use flowtrail_detect::sigma::{load_dir, rule_set};
use serde_json::{Value, json};

const HEAD: &str = "title: T\nid: 00000000-0000-0000-0000-000000000001\nlevel: critical\n\
    author: Someone\ntags:\n  - attack.t1098\n  - attack.persistence\n\
    logsource:\n  product: aws\n  service: cloudtrail\ndetection:\n";

fn set_of(rules: &[(&str, &str)]) -> (tempfile::TempDir, RuleSet, Vec<String>) {
    let dir = tempfile::tempdir().unwrap();
    for (name, text) in rules {
        std::fs::write(dir.path().join(format!("{name}.yml")), text).unwrap();
    }
    let loaded = load_dir(dir.path()).unwrap();
    let rejected = loaded.rejected.iter().map(ToString::to_string).collect();
    let set = rule_set(&[], false, &loaded).unwrap_or_else(|e| panic!("{e:?}"));
    (dir, set, rejected)
}

fn batch(rows: &[Value]) -> RecordBatch {
    let mut text = String::new();
    for row in rows {
        let mut row = row.clone();
        let obj = row.as_object_mut().unwrap();
        obj.entry("event_time")
            .or_insert(json!("2026-01-08T10:05:00Z"));
        obj.entry("account_id").or_insert(json!("111122223333"));
        obj.entry("region").or_insert(json!("us-east-1"));
        obj.entry("source_key").or_insert(json!("k"));
        obj.entry("user_identity_arn")
            .or_insert(json!("arn:aws:iam::111122223333:user/a"));
        if let Some(v) = obj.get_mut("request_parameters")
            && !v.is_string()
        {
            *v = Value::String(v.to_string());
        }
        text.push_str(&row.to_string());
        text.push('\n');
    }
    let mut r = arrow::json::ReaderBuilder::new(cloudtrail_schema())
        .build(Cursor::new(text.into_bytes()))
        .unwrap();
    r.next().unwrap().unwrap()
}

/// Whether rule `name` fires on the one event.
fn fires(set: &RuleSet, name: &str, event: Value) -> bool {
    !set.evaluate_rule(&format!("sigma_{name}"), &[], &[batch(&[event])])
        .unwrap_or_else(|e| panic!("{e:?}"))
        .is_empty()
}

#[test]
fn wildcards_escapes_case_and_all() {
    let (_d, set, rejected) = set_of(&[
        (
            "escape",
            &format!("{HEAD}  s:\n    eventName: 'Put_Policy%'\n  condition: s\n"),
        ),
        (
            "wild",
            &format!("{HEAD}  s:\n    eventName: 'Get?ecret*'\n  condition: s\n"),
        ),
        (
            "all",
            &format!(
                "{HEAD}  s:\n    requestParameters|contains|all:\n      - 'Allow'\n      - 's3:*'\n  condition: s\n"
            ),
        ),
        (
            "cased",
            &format!("{HEAD}  s:\n    userAgent|cased|startswith: 'Boto3'\n  condition: s\n"),
        ),
    ]);
    assert!(rejected.is_empty(), "{rejected:?}");
    let name = |n: &str| json!({"event_name": n});
    assert!(fires(&set, "escape", name("Put_Policy%")));
    assert!(
        fires(&set, "escape", name("put_policy%")),
        "case-insensitive"
    );
    assert!(
        !fires(&set, "escape", name("PutXPolicy%")),
        "`_` is literal"
    );
    assert!(
        !fires(&set, "escape", name("Put_PolicyX")),
        "`%` is literal"
    );
    assert!(fires(&set, "wild", name("GetSecretValue")));
    assert!(!fires(&set, "wild", name("GetSSecretValue")));
    let params = |p: Value| json!({"event_name": "PutUserPolicy", "request_parameters": p});
    assert!(fires(
        &set,
        "all",
        params(json!({"policyDocument": "{\"Effect\":\"Allow\",\"Action\":\"s3:*\"}"}))
    ));
    assert!(!fires(
        &set,
        "all",
        params(json!({"policyDocument": "{\"Effect\":\"Allow\",\"Action\":\"ec2:*\"}"}))
    ));
    let ua = |u: &str| json!({"event_name": "X", "user_agent": u});
    assert!(fires(&set, "cased", ua("Boto3/1.34")));
    assert!(!fires(&set, "cased", ua("boto3/1.34")));
}

#[test]
fn nulls_missing_fields_and_quantifiers() {
    let (_d, set, rejected) = set_of(&[
        (
            "notfilter",
            &format!(
                "{HEAD}  s:\n    eventName: DeleteBucket\n  filter:\n    errorCode: AccessDenied\n  condition: s and not filter\n"
            ),
        ),
        (
            "isnull",
            &format!(
                "{HEAD}  s:\n    eventName: DeleteBucket\n    errorCode: null\n  condition: s\n"
            ),
        ),
        (
            "two",
            &format!(
                "{HEAD}  a:\n    eventName: DeleteBucket\n  b:\n    awsRegion: us-east-1\n  c:\n    sourceIPAddress: '10.*'\n  condition: 2 of them\n"
            ),
        ),
        (
            "every",
            &format!(
                "{HEAD}  a:\n    eventName: DeleteBucket\n  b:\n    awsRegion: us-east-1\n  condition: all of them\n"
            ),
        ),
    ]);
    assert!(rejected.is_empty(), "{rejected:?}");
    let ev = |error: Option<&str>, region: &str| json!({"event_name": "DeleteBucket", "error_code": error, "aws_region": region});
    assert!(
        fires(&set, "notfilter", ev(None, "us-east-1")),
        "a missing field does not match the filter"
    );
    assert!(!fires(
        &set,
        "notfilter",
        ev(Some("AccessDenied"), "us-east-1")
    ));
    assert!(fires(&set, "isnull", ev(None, "us-east-1")));
    assert!(!fires(
        &set,
        "isnull",
        ev(Some("NoSuchBucket"), "us-east-1")
    ));
    assert!(fires(&set, "two", ev(None, "us-east-1")));
    assert!(
        !fires(&set, "two", ev(None, "eu-west-1")),
        "only one of three"
    );
    assert!(fires(&set, "every", ev(None, "us-east-1")));
    assert!(!fires(&set, "every", ev(None, "eu-west-1")));
}

#[test]
fn files_that_do_not_compile_are_named_with_the_reason() {
    let (_d, set, rejected) = set_of(&[
        (
            "good",
            &format!("{HEAD}  s:\n    eventName: X\n  condition: s\n"),
        ),
        (
            "windows",
            &HEAD
                .replace(
                    "product: aws\n  service: cloudtrail",
                    "product: windows\n  category: process_creation",
                )
                .replace(
                    "detection:\n",
                    "detection:\n  s:\n    Image: x\n  condition: s\n",
                ),
        ),
        ("broken", "title: [unclosed\n"),
        (
            "encoded",
            &format!("{HEAD}  s:\n    userAgent|base64: x\n  condition: s\n"),
        ),
        (
            "aggregate",
            &format!(
                "{HEAD}  s:\n    eventName: X\n  timeframe: 5m\n  condition: s | count() > 5\n"
            ),
        ),
    ]);
    for r in &rejected {
        eprintln!("rejected: {r}");
    }
    assert_eq!(set.rules().len(), 1, "{rejected:?}");
    assert_eq!(rejected.len(), 4, "{rejected:?}");
    let reason = |file: &str| {
        rejected
            .iter()
            .find(|r| r.contains(&format!("{file}.yml")))
            .cloned()
            .unwrap_or_else(|| panic!("{file} not rejected: {rejected:?}"))
    };
    assert!(reason("windows").contains("process_creation"));
    assert!(reason("encoded").contains("`base64`"));
    assert!(!reason("broken").is_empty());
    assert!(
        reason("aggregate").contains("count()"),
        "{}",
        reason("aggregate")
    );
    let f = set
        .evaluate(&[], &[batch(&[json!({"event_name": "X"})])])
        .unwrap();
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, flowtrail_core::alert::Severity::Critical);
    assert_eq!(
        f[0].evidence["attack"],
        json!({"tactics": ["TA0003"], "techniques": ["T1098"]})
    );
    assert_eq!(f[0].evidence["sigma"]["author"], json!("Someone"));
    assert!(Path::new(&f[0].detector).to_str() == Some("sigma_good"));
}
