//! OCSF findings built from real alerts (the alerts of a replay of the bundled sample) are
//! checked against the OCSF 1.5.0 Detection Finding schema, vendored and resolved under
//! `fixtures/ocsf/` (see its README): classification uids, every required attribute present,
//! no attribute the class or its objects do not define, enum ids valid, sibling captions
//! matching, object constraints (`at_least_one`, `just_one`), and types (timestamps and ports
//! integers, strings strings, arrays arrays).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use flowtrail_alerts::ocsf::{OCSF_VERSION, detection_finding};
use flowtrail_core::Alert;
use serde_json::{Map, Value};

const SCHEMA: &str = include_str!("fixtures/ocsf/detection_finding-1.5.0.json");
const ALERTS: &str = include_str!("fixtures/ocsf/sample_alerts.jsonl");

struct Checker<'a> {
    objects: &'a Map<String, Value>,
    profiles: Vec<String>,
    errors: Vec<String>,
}

impl Checker<'_> {
    fn check_type(&mut self, path: &str, attr: &Value, v: &Value) {
        let ok = match attr["type"].as_str().unwrap_or_default() {
            "string_t" => v.is_string(),
            "integer_t" | "long_t" => v.is_i64() || v.is_u64(),
            "float_t" => v.is_number(),
            "boolean_t" => v.is_boolean(),
            "json_t" => true,
            "object_t" => {
                let ty = attr["object_type"].as_str().unwrap_or("object");
                if !v.is_object() {
                    false
                } else {
                    if ty != "object" {
                        self.check_object(path, ty, v);
                    }
                    true
                }
            }
            other => {
                self.errors
                    .push(format!("{path}: unknown schema type {other}"));
                true
            }
        };
        if !ok {
            self.errors
                .push(format!("{path}: {v} is not of type {}", attr["type"]));
            return;
        }
        if let Some(e) = attr.get("enum").and_then(Value::as_object) {
            let key = match v {
                Value::Number(n) => n.to_string(),
                Value::String(s) => s.clone(),
                _ => String::new(),
            };
            if !e.contains_key(&key) {
                self.errors.push(format!(
                    "{path}: {v} is not one of the enum ids {:?}",
                    e.keys()
                ));
            }
        }
    }

    fn check_value(&mut self, path: &str, attr: &Value, v: &Value) {
        if attr["is_array"].as_bool() == Some(true) {
            let Some(items) = v.as_array() else {
                self.errors.push(format!("{path}: not an array"));
                return;
            };
            for (i, item) in items.iter().enumerate() {
                self.check_value_one(&format!("{path}[{i}]"), attr, item);
            }
        } else {
            self.check_value_one(path, attr, v);
        }
    }

    fn check_value_one(&mut self, path: &str, attr: &Value, v: &Value) {
        if v.is_array() {
            self.errors
                .push(format!("{path}: an array where one value is expected"));
            return;
        }
        self.check_type(path, attr, v);
    }

    fn check_attrs(&mut self, path: &str, attrs: &Map<String, Value>, o: &Map<String, Value>) {
        for (name, a) in attrs {
            let applies = match a["profile"].as_str() {
                None => true,
                Some(p) => self.profiles.iter().any(|x| x == p),
            };
            if a["requirement"] == "required" && applies && !o.contains_key(name) {
                self.errors.push(format!("{path}: required {name} missing"));
            }
        }
        for (name, v) in o {
            let p = format!("{path}.{name}");
            match attrs.get(name) {
                None => self
                    .errors
                    .push(format!("{p}: not an attribute of this object")),
                Some(a) => {
                    self.check_value(&p, a, v);
                    if let (Some(sib), Some(e)) = (a["sibling"].as_str(), a["enum"].as_object())
                        && let Some(caption) = o.get(sib)
                    {
                        let want = e.get(&v.to_string());
                        if v != 99 && want.is_some_and(|w| w != caption) {
                            self.errors.push(format!(
                                "{path}.{sib}: {caption} but {name} {v} is {want:?}"
                            ));
                        }
                    }
                }
            }
        }
    }

    fn check_object(&mut self, path: &str, ty: &str, v: &Value) {
        let Some(def) = self.objects.get(ty) else {
            self.errors
                .push(format!("{path}: object type {ty} not in the schema"));
            return;
        };
        let o = v.as_object().unwrap();
        let attrs = def["attributes"].as_object().unwrap();
        self.check_attrs(path, attrs, o);
        let present = |names: &Value| {
            names
                .as_array()
                .unwrap()
                .iter()
                .filter(|n| o.contains_key(n.as_str().unwrap_or_default()))
                .count()
        };
        if let Some(names) = def["constraints"].get("at_least_one")
            && present(names) == 0
        {
            self.errors
                .push(format!("{path}: {ty} needs at least one of {names}"));
        }
        if let Some(names) = def["constraints"].get("just_one")
            && present(names) != 1
        {
            self.errors
                .push(format!("{path}: {ty} needs exactly one of {names}"));
        }
    }
}

/// Every problem of `finding` against the schema.
fn problems(schema: &Value, finding: &Value) -> Vec<String> {
    let class = &schema["class"];
    let profiles = finding["metadata"]["profiles"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|p| p.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut c = Checker {
        objects: schema["objects"].as_object().unwrap(),
        profiles,
        errors: Vec::new(),
    };
    let Some(o) = finding.as_object() else {
        return vec!["not an object".into()];
    };
    c.check_attrs("", class["attributes"].as_object().unwrap(), o);
    for (name, want) in [
        ("class_uid", class["class_uid"].clone()),
        ("category_uid", class["category_uid"].clone()),
    ] {
        if finding[name] != want {
            c.errors
                .push(format!("{name} {} is not {want}", finding[name]));
        }
    }
    let type_uid =
        class["class_uid"].as_i64().unwrap() * 100 + finding["activity_id"].as_i64().unwrap_or(-1);
    if finding["type_uid"] != type_uid {
        c.errors.push(format!(
            "type_uid {} is not {type_uid}",
            finding["type_uid"]
        ));
    }
    c.errors
}

fn sample_alerts() -> Vec<Alert> {
    ALERTS
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn schema() -> Value {
    serde_json::from_str(SCHEMA).unwrap()
}

#[test]
fn the_vendored_schema_is_the_version_findings_declare() {
    let s = schema();
    assert_eq!(s["ocsf_version"], OCSF_VERSION);
    assert_eq!(s["class"]["class_uid"], 2004);
    assert_eq!(s["class"]["category_uid"], 2);
}

#[test]
fn findings_of_every_sample_alert_are_valid_detection_findings() {
    let s = schema();
    let alerts = sample_alerts();
    let detectors: std::collections::BTreeSet<&str> =
        alerts.iter().map(|a| a.detector.as_str()).collect();
    for d in [
        "volume_spike",
        "new_peer",
        "iam_privilege_escalation",
        "console_login_no_mfa",
    ] {
        assert!(detectors.contains(d), "the sample has a {d} alert");
    }
    for a in &alerts {
        let f = detection_finding(a);
        let p = problems(&s, &f);
        assert!(p.is_empty(), "{} ({}): {p:#?}\n{f:#}", a.detector, a.id);
        assert_eq!(f["finding_info"]["uid"], a.id.as_str());
        assert_eq!(f["metadata"]["version"], OCSF_VERSION);
    }
}

fn finding_of(detector: &str) -> Value {
    let a = sample_alerts()
        .into_iter()
        .find(|a| a.detector == detector)
        .unwrap();
    detection_finding(&a)
}

#[test]
fn a_flow_baseline_alert_carries_observed_and_expected_values() {
    let f = finding_of("volume_spike");
    let an = &f["anomaly_analyses"][0];
    assert_eq!(an["anomalies"][0]["observation_parameter"], "bytes_out");
    assert_eq!(an["anomalies"][0]["observations"][0]["value"], "10788486");
    assert_eq!(an["baselines"][0]["observations"][0]["value"], "104756");
    assert_eq!(f["finding_info"]["analytic"]["type_id"], 3);
    assert_eq!(f["resources"][0]["type"], "AWS::EC2::NetworkInterface");
    let peer = &f["evidences"][0];
    assert_eq!(peer["dst_endpoint"]["ip"], "185.220.101.47");
    assert!(peer["dst_endpoint"]["port"].is_i64(), "ports are integers");
    assert!(f["time"].is_i64() && f["finding_info"]["first_seen_time"].is_i64());
}

#[test]
fn a_sql_rule_alert_carries_its_attack_ids_and_rule_analytic() {
    let f = finding_of("iam_privilege_escalation");
    assert_eq!(
        f["finding_info"]["analytic"]["uid"],
        "iam_privilege_escalation"
    );
    assert_eq!(f["finding_info"]["analytic"]["type"], "Rule");
    let attacks = f["finding_info"]["attacks"].as_array().unwrap();
    assert!(
        attacks
            .iter()
            .any(|a| a["sub_technique"]["uid"] == "T1098.003"
                && a["technique"]["name"] == "Account Manipulation")
    );
    assert!(
        attacks
            .iter()
            .any(|a| a["tactic"]["name"] == "Privilege Escalation")
    );
    assert_eq!(f["unmapped"]["evidence"]["target"], "support-temp");
}

#[test]
fn a_cloudtrail_alert_names_its_principal_and_source() {
    let f = finding_of("console_login_no_mfa");
    assert_eq!(f["severity_id"], 3);
    assert_eq!(f["cloud"]["provider"], "AWS");
    assert_eq!(f["cloud"]["account"]["uid"], "012345678901");
    assert_eq!(f["resources"][0]["type"], "AWS::IAM::User");
    let e = &f["evidences"][0];
    assert_eq!(e["src_endpoint"]["ip"], "185.220.101.9");
    assert_eq!(
        e["actor"]["user"]["uid"],
        "arn:aws:iam::012345678901:user/dev-jordan"
    );
}

#[test]
fn the_checker_catches_what_it_claims_to() {
    let s = schema();
    let good = finding_of("port_scan");
    assert!(problems(&s, &good).is_empty());
    let mut bad = good.clone();
    bad["severity_id"] = Value::from(7);
    bad["finding_info"]["first_seen_time"] = Value::from("2026-01-08T10:00:00Z");
    bad["evidences"][0]["dst_endpoint"]["port"] = Value::from("53");
    bad["finding_info"]["colour"] = Value::from("red");
    bad.as_object_mut().unwrap().remove("metadata");
    bad["class_uid"] = Value::from(2001);
    let p = problems(&s, &bad).join("\n");
    for want in [
        "severity_id: 7 is not one of",
        "first_seen_time: \"2026-01-08T10:00:00Z\" is not of type",
        "port: \"53\" is not of type",
        "colour: not an attribute",
        "required metadata missing",
        "class_uid 2001 is not 2004",
    ] {
        assert!(p.contains(want), "{want} not in\n{p}");
    }
}
