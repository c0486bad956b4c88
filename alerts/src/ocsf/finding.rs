//! One alert as one OCSF Detection Finding: the classification, times, severity, product
//! metadata and cloud context, assembled with the parts of the sibling modules.

use flowtrail_core::{Alert, Severity};
use serde_json::{Map, Value, json};

use super::{OCSF_VERSION, anomaly, attack, evidence, remediation, resource, unmapped};

/// Detection Finding: category Findings (2), class 2004, activity Create (1).
pub const CATEGORY_UID: i64 = 2;
/// Detection Finding's class uid.
pub const CLASS_UID: i64 = 2004;
/// Activity Create.
pub const ACTIVITY_CREATE: i64 = 1;
/// `class_uid * 100 + activity_id`.
pub const TYPE_UID: i64 = CLASS_UID * 100 + ACTIVITY_CREATE;

/// Detectors that compare an entity with its learned baseline (analytic type Statistical);
/// the others match a rule (SQL, Sigma or built-in logic: analytic type Rule).
const BASELINE_DETECTORS: &[&str] = &["volume_spike", "new_peer"];

/// OCSF `severity_id` and its caption.
pub fn severity(s: Severity) -> (i64, &'static str) {
    match s {
        Severity::Info => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

fn analytic(detector: &str) -> Value {
    let (type_id, type_name) = if BASELINE_DETECTORS.contains(&detector) {
        (3, "Statistical")
    } else {
        (1, "Rule")
    };
    json!({ "uid": detector, "name": detector, "type_id": type_id, "type": type_name })
}

fn finding_info(a: &Alert, first: i64, last: i64, why: Option<&str>) -> Value {
    let mut o = Map::new();
    o.insert("uid".into(), json!(a.id));
    o.insert("title".into(), json!(a.title));
    let desc = why.map(str::to_string).unwrap_or_else(|| {
        format!(
            "{}: {} ({} finding(s) from {} to {})",
            a.detector, a.title, a.count, a.first_seen, a.last_seen
        )
    });
    o.insert("desc".into(), json!(desc));
    o.insert("types".into(), json!([a.detector]));
    o.insert("first_seen_time".into(), json!(first));
    o.insert("last_seen_time".into(), json!(last));
    o.insert("analytic".into(), analytic(&a.detector));
    let attacks = attack::attacks(&a.attack);
    if !attacks.is_empty() {
        o.insert("attacks".into(), Value::Array(attacks));
    }
    Value::Object(o)
}

fn metadata(a: &Alert) -> Value {
    json!({
        "version": OCSF_VERSION,
        "product": {
            "name": "flowtrail",
            "vendor_name": "flowtrail",
            "version": env!("CARGO_PKG_VERSION"),
        },
        "profiles": ["cloud"],
        "uid": a.id,
        "correlation_uid": a.dedupe_key,
        "log_name": "alerts",
    })
}

fn cloud(a: &Alert) -> Value {
    let mut o = Map::new();
    o.insert("provider".into(), json!("AWS"));
    if let Some(r) = &a.region {
        o.insert("region".into(), json!(r));
    }
    if let Some(acct) = &a.account_id {
        o.insert(
            "account".into(),
            json!({ "uid": acct, "type_id": 10, "type": "AWS Account" }),
        );
    }
    Value::Object(o)
}

/// The alert as an OCSF Detection Finding.
pub fn detection_finding(a: &Alert) -> Value {
    let (first, last) = (
        a.first_seen.timestamp_millis(),
        a.last_seen.timestamp_millis(),
    );
    let (severity_id, severity_name) = severity(a.severity);
    let native = serde_json::to_value(a).unwrap_or(Value::Null);
    let why = native.get("why").and_then(Value::as_str);
    let mut o = Map::new();
    for (k, v) in [
        ("activity_id", json!(ACTIVITY_CREATE)),
        ("activity_name", json!("Create")),
        ("category_uid", json!(CATEGORY_UID)),
        ("category_name", json!("Findings")),
        ("class_uid", json!(CLASS_UID)),
        ("class_name", json!("Detection Finding")),
        ("type_uid", json!(TYPE_UID)),
        ("type_name", json!("Detection Finding: Create")),
        ("severity_id", json!(severity_id)),
        ("severity", json!(severity_name)),
        ("status_id", json!(1)),
        ("status", json!("New")),
        ("is_alert", json!(true)),
        ("time", json!(last)),
        ("start_time", json!(first)),
        ("end_time", json!(last)),
        ("count", json!(a.count)),
        ("message", json!(a.title)),
        ("metadata", metadata(a)),
        ("cloud", cloud(a)),
        ("finding_info", finding_info(a, first, last, why)),
        ("resources", json!(resource::resources(a))),
    ] {
        o.insert(k.into(), v);
    }
    if let Some(r) = remediation::remediation(a) {
        o.insert("remediation".into(), r);
    }
    let (evidences, mut used) = evidence::evidences(a);
    if !evidences.is_empty() {
        o.insert("evidences".into(), Value::Array(evidences));
    }
    let (analyses, used_by_anomaly) = anomaly::anomaly_analyses(a, first, last);
    used.extend(used_by_anomaly);
    if !analyses.is_empty() {
        o.insert("anomaly_analyses".into(), Value::Array(analyses));
    }
    if let Some(u) = unmapped::unmapped(native, &used) {
        o.insert("unmapped".into(), u);
    }
    Value::Object(o)
}
