//! Sigma rules as flowtrail loads them, in two parts.
//!
//! Always: the rules of our own under `detect/fixtures/sigma_own/` load (and the one naming a
//! field CloudTrail does not have is rejected with the reason), plan over the real
//! `cloudtrail` schema, and fire with the rule's id, level and ATT&CK tags on hand-written
//! events, staying quiet on benign look-alikes.
//!
//! Opt-in (`--ignored`): SigmaHQ's CloudTrail rules, which are not redistributed in this
//! repository. Point `FLOWTRAIL_SIGMA_DIR` at `rules/cloud/aws/cloudtrail` of a SigmaHQ/sigma
//! checkout (`docs/corpora.md`): how many compile, that every compiled rule plans, and that a
//! few fire on a hand-written event and stay quiet on a benign look-alike.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use arrow::record_batch::RecordBatch;
use flowtrail_core::alert::{Finding, Severity};
use flowtrail_core::schema::cloudtrail::cloudtrail_schema;
use flowtrail_detect::rules::RuleSet;
use flowtrail_detect::sigma::{SigmaRules, load_dir, rule_set};
use serde_json::{Value, json};

fn corpus() -> PathBuf {
    common::corpus_dir(
        "FLOWTRAIL_SIGMA_DIR",
        "rules/cloud/aws/cloudtrail of a SigmaHQ/sigma checkout",
    )
}

fn own_rules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sigma_own")
}

fn load(dir: &Path) -> (SigmaRules, RuleSet) {
    let rules = load_dir(dir).unwrap_or_else(|e| panic!("{e}"));
    let set = rule_set(&[], false, &rules).unwrap_or_else(|e| panic!("{e:?}"));
    (rules, set)
}

/// SigmaHQ's rules, loaded once.
fn loaded() -> &'static (SigmaRules, RuleSet) {
    static SET: OnceLock<(SigmaRules, RuleSet)> = OnceLock::new();
    SET.get_or_init(|| load(&corpus()))
}

/// Our own rules, loaded once.
fn own() -> &'static (SigmaRules, RuleSet) {
    static SET: OnceLock<(SigmaRules, RuleSet)> = OnceLock::new();
    SET.get_or_init(|| load(&own_rules()))
}

fn yaml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            yaml_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "yml") {
            out.push(p);
        }
    }
}

#[test]
#[ignore = "needs SigmaHQ's CloudTrail rules: set FLOWTRAIL_SIGMA_DIR and run with --ignored"]
fn most_sigmahq_cloudtrail_rules_compile_and_plan() {
    let (rules, set) = loaded();
    let mut files = Vec::new();
    yaml_files(&corpus(), &mut files);
    let total = files.len();
    eprintln!("{} of {total} Sigma rules compiled", rules.compiled.len());
    for r in &rules.rejected {
        eprintln!("  not compiled: {r}");
    }
    assert!(total >= 50, "rules missing: {total} files");
    assert_eq!(
        rules.compiled.len() + rules.rejected.len(),
        total,
        "every file is compiled or rejected with a reason"
    );
    assert!(
        rules.compiled.len() * 10 >= total * 9,
        "only {} of {total} compiled",
        rules.compiled.len()
    );
    for r in &rules.rejected {
        assert!(r.file.is_file() && !r.reason.is_empty(), "{r}");
    }
    // The rule set planned every compiled rule against the empty `cloudtrail` table.
    assert_eq!(set.rules().len(), rules.compiled.len());
    for c in &rules.compiled {
        assert!(c.rule.id.starts_with("sigma_aws_"), "{}", c.rule.id);
        assert!(c.sigma_id.is_some(), "{} has no Sigma id", c.file.display());
    }
    assert!(set.evaluate(&[], &[]).is_ok_and(|f| f.is_empty()));
}

/// One-row `cloudtrail` batches from CloudTrail-like JSON objects in lake column names;
/// `request_parameters` and friends given as JSON values are stored as their text.
fn events(rows: &[Value]) -> RecordBatch {
    let mut text = String::new();
    for row in rows {
        let mut row = row.clone();
        let obj = row.as_object_mut().unwrap();
        obj.entry("event_time")
            .or_insert(json!("2026-01-08T10:05:00Z"));
        obj.entry("account_id").or_insert(json!("111122223333"));
        obj.entry("region").or_insert(json!("us-east-1"));
        obj.entry("source_key").or_insert(json!("k"));
        obj.entry("event_id").or_insert(json!("e-1"));
        for c in [
            "request_parameters",
            "response_elements",
            "additional_event_data",
            "user_identity",
        ] {
            if let Some(v) = obj.get_mut(c)
                && !v.is_string()
            {
                *v = Value::String(v.to_string());
            }
        }
        text.push_str(&row.to_string());
        text.push('\n');
    }
    let mut r = arrow::json::ReaderBuilder::new(cloudtrail_schema())
        .build(Cursor::new(text.into_bytes()))
        .unwrap();
    r.next().unwrap().unwrap()
}

fn run(file_stem: &str, rows: &[Value]) -> Vec<Finding> {
    run_in(loaded(), file_stem, rows)
}

fn run_in(loaded: &(SigmaRules, RuleSet), file_stem: &str, rows: &[Value]) -> Vec<Finding> {
    let (_, set) = loaded;
    let id = format!("sigma_{file_stem}");
    assert!(
        set.rules().iter().any(|r| r.id == id),
        "{id} is not in the rule set"
    );
    set.evaluate_rule(&id, &[], &[events(rows)])
        .unwrap_or_else(|e| panic!("{id}: {e:?}"))
}

const ARN: &str = "arn:aws:iam::111122223333:user/mallory";

#[test]
#[ignore = "needs SigmaHQ's CloudTrail rules: set FLOWTRAIL_SIGMA_DIR and run with --ignored"]
fn disable_logging_fires_on_stop_logging_only() {
    let f = run(
        "aws_cloudtrail_disable_logging",
        &[
            json!({"event_source": "cloudtrail.amazonaws.com", "event_name": "StopLogging",
                 "user_identity_arn": ARN, "source_ip_address": "203.0.113.9"}),
        ],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    let a = &f[0];
    assert_eq!(a.detector, "sigma_aws_cloudtrail_disable_logging");
    assert_eq!(a.severity, Severity::Medium);
    assert_eq!(a.entity.id, ARN);
    assert_eq!(a.account_id.as_deref(), Some("111122223333"));
    assert_eq!(
        a.dedupe_key,
        format!("sigma_aws_cloudtrail_disable_logging|{ARN}")
    );
    assert!(a.title.contains("StopLogging"), "{}", a.title);
    assert_eq!(
        a.evidence["sigma"]["id"],
        json!("4db60cc0-36fb-42b7-9b58-a5b53019fb74")
    );
    assert_eq!(a.evidence["sigma"]["level"], json!("medium"));
    assert!(a.evidence["sigma"]["author"].is_string(), "{}", a.evidence);
    assert_eq!(
        a.evidence["attack"],
        json!({"tactics": ["TA0112"], "techniques": ["T1685.002"]})
    );
    let benign = run(
        "aws_cloudtrail_disable_logging",
        &[
            json!({"event_source": "cloudtrail.amazonaws.com", "event_name": "StartLogging",
                 "user_identity_arn": ARN}),
        ],
    );
    assert!(benign.is_empty(), "{benign:?}");
}

#[test]
#[ignore = "needs SigmaHQ's CloudTrail rules: set FLOWTRAIL_SIGMA_DIR and run with --ignored"]
fn console_login_without_mfa_reads_json_columns_case_insensitively() {
    let login = |mfa: &str| {
        json!({"event_source": "signin.amazonaws.com", "event_name": "ConsoleLogin",
               "user_identity_arn": ARN,
               "additional_event_data": {"MFAUsed": mfa, "LoginTo": "https://console.aws.amazon.com"},
               "response_elements": {"ConsoleLogin": "Success"}})
    };
    let f = run(
        "aws_cloudtrail_console_login_success_without_mfa",
        &[login("No")],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].evidence["attack"]["techniques"], json!(["T1078.004"]));
    let benign = run(
        "aws_cloudtrail_console_login_success_without_mfa",
        &[login("Yes")],
    );
    assert!(benign.is_empty(), "{benign:?}");
}

#[test]
#[ignore = "needs SigmaHQ's CloudTrail rules: set FLOWTRAIL_SIGMA_DIR and run with --ignored"]
fn guardduty_update_needs_enable_false_and_no_error() {
    let update = |enable: bool, error: Option<&str>| {
        json!({"event_source": "guardduty.amazonaws.com", "event_name": "UpdateDetector",
               "user_identity_arn": ARN, "error_code": error,
               "request_parameters": {"detectorId": "abc", "enable": enable}})
    };
    let f = run(
        "aws_cloudtrail_guardduty_detector_deleted_or_updated",
        &[update(false, None)],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].severity, Severity::High);
    for (enable, error) in [(true, None), (false, Some("AccessDenied"))] {
        let benign = run(
            "aws_cloudtrail_guardduty_detector_deleted_or_updated",
            &[update(enable, error)],
        );
        assert!(
            benign.is_empty(),
            "enable {enable} error {error:?}: {benign:?}"
        );
    }
}

#[test]
#[ignore = "needs SigmaHQ's CloudTrail rules: set FLOWTRAIL_SIGMA_DIR and run with --ignored"]
fn imds_usage_regex_and_negated_filters() {
    let call = |ip: &str| {
        json!({"event_source": "s3.amazonaws.com", "event_name": "ListBuckets",
               "user_identity_arn": "arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-0abc",
               "source_ip_address": ip})
    };
    let f = run(
        "aws_cloudtrail_imds_malicious_usage",
        &[call("203.0.113.9")],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    let benign = run(
        "aws_cloudtrail_imds_malicious_usage",
        &[call("AWS Internal")],
    );
    assert!(benign.is_empty(), "{benign:?}");
    let role = run(
        "aws_cloudtrail_imds_malicious_usage",
        &[
            json!({"event_source": "s3.amazonaws.com", "event_name": "ListBuckets",
                 "user_identity_arn": "arn:aws:sts::111122223333:assumed-role/admin/alice"}),
        ],
    );
    assert!(role.is_empty(), "{role:?}");
}

#[test]
#[ignore = "needs SigmaHQ's CloudTrail rules: set FLOWTRAIL_SIGMA_DIR and run with --ignored"]
fn nested_user_identity_and_json_arrays() {
    let f = run(
        "aws_sts_assumerole_misuse",
        &[
            json!({"event_source": "s3.amazonaws.com", "event_name": "GetObject",
                 "user_identity_type": "AssumedRole", "user_identity_arn": ARN,
                 "user_identity": {"type": "AssumedRole",
                    "sessionContext": {"sessionIssuer": {"type": "Role", "arn": "arn:aws:iam::1:role/r"}}}}),
        ],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].severity, Severity::Low);
    let benign = run(
        "aws_sts_assumerole_misuse",
        &[
            json!({"event_source": "s3.amazonaws.com", "event_name": "GetObject",
                 "user_identity_type": "IAMUser", "user_identity_arn": ARN,
                 "user_identity": {"type": "IAMUser"}}),
        ],
    );
    assert!(benign.is_empty(), "{benign:?}");

    let layers = |params: Value| {
        json!({"event_source": "lambda.amazonaws.com",
               "event_name": "UpdateFunctionConfiguration20150331v2",
               "user_identity_arn": ARN, "request_parameters": params})
    };
    let f = run(
        "aws_new_lambda_layer_attached",
        &[layers(json!({"functionName": "f",
            "layers": ["arn:aws:lambda:us-east-1:999999999999:layer:evil:1"]}))],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    let benign = run(
        "aws_new_lambda_layer_attached",
        &[layers(json!({"functionName": "f", "timeout": 30}))],
    );
    assert!(benign.is_empty(), "{benign:?}");
}

#[test]
#[ignore = "needs SigmaHQ's CloudTrail rules: set FLOWTRAIL_SIGMA_DIR and run with --ignored"]
fn contains_looks_inside_json_arrays() {
    let task = |command: &str| {
        json!({"event_source": "ecs.amazonaws.com", "event_name": "RegisterTaskDefinition",
               "user_identity_arn": ARN,
               "request_parameters": {"family": "web", "containerDefinitions": [
                   {"name": "app", "image": "nginx", "command": ["/bin/sh", "-c", command]}]}})
    };
    let rule = "aws_ecs_task_definition_cred_endpoint_query";
    let f = run(
        rule,
        &[task(
            "curl 169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        )],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    let benign = run(rule, &[task("nginx -g 'daemon off;'")]);
    assert!(benign.is_empty(), "{benign:?}");
}

#[test]
fn own_rules_load_and_the_one_naming_a_missing_field_is_rejected_with_the_reason() {
    let (rules, set) = own();
    let mut files = Vec::new();
    yaml_files(&own_rules(), &mut files);
    assert_eq!(files.len(), 4, "{files:?}");
    let mut compiled: Vec<&str> = rules.compiled.iter().map(|c| c.rule.id.as_str()).collect();
    compiled.sort_unstable();
    assert_eq!(
        compiled,
        [
            "sigma_aws_admin_policy_attached",
            "sigma_aws_guardduty_detector_removed",
            "sigma_aws_trail_stopped",
        ]
    );
    assert_eq!(rules.rejected.len(), 1, "{:?}", rules.rejected);
    let r = rules.rejected[0].to_string();
    assert!(r.contains("aws_assume_role_session_name.yml"), "{r}");
    assert!(r.contains("roleSessionName"), "{r}");
    assert_eq!(set.rules().len(), 3);
    for c in &rules.compiled {
        assert!(c.sigma_id.is_some(), "{} has no Sigma id", c.file.display());
    }
    assert!(set.evaluate(&[], &[]).is_ok_and(|f| f.is_empty()));
}

#[test]
fn own_trail_stopped_fires_on_a_successful_stop_only() {
    let stop = |error: Option<&str>| {
        json!({"event_source": "cloudtrail.amazonaws.com", "event_name": "StopLogging",
               "user_identity_arn": ARN, "source_ip_address": "203.0.113.9",
               "error_code": error, "request_parameters": {"name": "org-trail"}})
    };
    let f = run_in(own(), "aws_trail_stopped", &[stop(None)]);
    assert_eq!(f.len(), 1, "{f:?}");
    let a = &f[0];
    assert_eq!(a.detector, "sigma_aws_trail_stopped");
    assert_eq!(a.severity, Severity::High);
    assert_eq!(a.entity.id, ARN);
    assert_eq!(
        a.evidence["sigma"]["id"],
        json!("b3020a45-b85a-4ffe-b978-4c4ececa33fa")
    );
    assert_eq!(a.evidence["sigma"]["level"], json!("high"));
    assert_eq!(a.evidence["sigma"]["author"], json!("flowtrail"));
    assert_eq!(
        a.evidence["attack"],
        json!({"tactics": ["TA0005"], "techniques": ["T1562.008"]})
    );
    let denied = run_in(own(), "aws_trail_stopped", &[stop(Some("AccessDenied"))]);
    assert!(
        denied.is_empty(),
        "the filter drops failed calls: {denied:?}"
    );
    let start = run_in(
        own(),
        "aws_trail_stopped",
        &[
            json!({"event_source": "cloudtrail.amazonaws.com", "event_name": "StartLogging",
                 "user_identity_arn": ARN}),
        ],
    );
    assert!(start.is_empty(), "{start:?}");
}

#[test]
fn own_guardduty_rule_is_critical_and_ignores_other_detector_calls() {
    let call = |name: &str| {
        json!({"event_source": "guardduty.amazonaws.com", "event_name": name,
               "user_identity_arn": ARN, "request_parameters": {"detectorId": "12abc34d"}})
    };
    let f = run_in(
        own(),
        "aws_guardduty_detector_removed",
        &[call("DeleteDetector")],
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].severity, Severity::Critical);
    assert_eq!(f[0].evidence["sigma"]["level"], json!("critical"));
    assert_eq!(f[0].evidence["attack"]["techniques"], json!(["T1562.001"]));
    for benign in ["GetDetector", "UpdateDetector", "ListDetectors"] {
        let f = run_in(own(), "aws_guardduty_detector_removed", &[call(benign)]);
        assert!(f.is_empty(), "{benign}: {f:?}");
    }
}

#[test]
fn own_admin_policy_rule_uses_startswith_and_contains_under_request_parameters() {
    let attach = |name: &str, policy: &str| {
        json!({"event_source": "iam.amazonaws.com", "event_name": name,
               "user_identity_arn": ARN,
               "request_parameters": {"roleName": "ci-deployer", "policyArn": policy}})
    };
    let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
    for name in ["AttachRolePolicy", "AttachUserPolicy", "attachgrouppolicy"] {
        let f = run_in(own(), "aws_admin_policy_attached", &[attach(name, admin)]);
        assert_eq!(f.len(), 1, "{name}: {f:?}");
        assert_eq!(f[0].severity, Severity::High);
        assert_eq!(
            f[0].evidence["attack"],
            json!({"tactics": ["TA0003", "TA0004"], "techniques": ["T1098.003"]})
        );
    }
    for (name, policy) in [
        ("AttachRolePolicy", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
        ("DetachRolePolicy", admin),
        ("PutRolePolicy", admin),
    ] {
        let f = run_in(own(), "aws_admin_policy_attached", &[attach(name, policy)]);
        assert!(f.is_empty(), "{name} {policy}: {f:?}");
    }
}
