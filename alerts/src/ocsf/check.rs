//! Checks a finding against OCSF 1.5.0 Detection Finding (class 2004): classification uids,
//! every required attribute present (profile attributes only when `metadata.profiles` applies
//! the profile), no attribute the class or its objects do not define, enum ids valid, sibling
//! captions matching, object constraints (`at_least_one`, `just_one`), and types (timestamps
//! and ports integers, strings strings, arrays arrays). For tests only (feature `testsuite`).
//!
//! The checker reads a schema in the shape `alerts/tests/fixtures/ocsf/resolve_schema.py`
//! writes (`{ocsf_version, class: {class_uid, category_uid, attributes}, objects: {name:
//! {attributes, constraints}}}`). Two schemas have that shape:
//!
//! - [`schema`]: flowtrail's own excerpt, built from the tables below: only the attributes
//!   our findings use (and every required one), with their types, requirement levels and the
//!   enum ids we set, written from the OCSF 1.5.0 documentation of Detection Finding and the
//!   objects it reaches. [`problems`] and the always-run tests use it. It is stricter than the
//!   schema: an attribute the class defines but flowtrail does not write is flagged too.
//! - the full class, resolved from an ocsf-schema checkout by that script. The OCSF schema is
//!   not redistributed in this repository; `alerts/tests/ocsf_schema.rs` (`--ignored`, with
//!   `FLOWTRAIL_OCSF_SCHEMA`) checks findings against it and the excerpt against it, so the
//!   excerpt cannot drift from OCSF unnoticed (`docs/corpora.md`).
#![allow(clippy::expect_used)]

use serde_json::{Map, Value, json};

use super::OCSF_VERSION;

/// The class the excerpt describes; its attributes are under this name in [`ATTRIBUTES`].
const CLASS: &str = "detection_finding";

/// `(object, attribute, type, requirement, profile)`. The type is an OCSF base type, or
/// `object:<name>` for an attribute holding that object (`object:object` for free-form JSON
/// objects); a trailing `[]` marks an array. The profile is empty for attributes outside
/// profiles.
const ATTRIBUTES: &[(&str, &str, &str, &str, &str)] = &[
    // Detection Finding, with what it inherits from Finding and the base event.
    (CLASS, "activity_id", "integer_t", "required", ""),
    (CLASS, "activity_name", "string_t", "optional", ""),
    (CLASS, "category_uid", "integer_t", "required", ""),
    (CLASS, "category_name", "string_t", "optional", ""),
    (CLASS, "class_uid", "integer_t", "required", ""),
    (CLASS, "class_name", "string_t", "optional", ""),
    (CLASS, "type_uid", "long_t", "required", ""),
    (CLASS, "type_name", "string_t", "optional", ""),
    (CLASS, "severity_id", "integer_t", "required", ""),
    (CLASS, "severity", "string_t", "optional", ""),
    (CLASS, "status_id", "integer_t", "recommended", ""),
    (CLASS, "status", "string_t", "optional", ""),
    (CLASS, "is_alert", "boolean_t", "recommended", ""),
    (CLASS, "time", "long_t", "required", ""),
    (CLASS, "start_time", "long_t", "optional", ""),
    (CLASS, "end_time", "long_t", "optional", ""),
    (CLASS, "count", "integer_t", "optional", ""),
    (CLASS, "message", "string_t", "recommended", ""),
    (CLASS, "metadata", "object:metadata", "required", ""),
    (CLASS, "finding_info", "object:finding_info", "required", ""),
    (CLASS, "cloud", "object:cloud", "required", "cloud"),
    (
        CLASS,
        "resources",
        "object:resource_details[]",
        "recommended",
        "",
    ),
    (CLASS, "evidences", "object:evidences[]", "recommended", ""),
    (
        CLASS,
        "anomaly_analyses",
        "object:anomaly_analysis[]",
        "optional",
        "",
    ),
    (CLASS, "remediation", "object:remediation", "optional", ""),
    (CLASS, "unmapped", "object:object", "optional", ""),
    // metadata and product
    ("metadata", "version", "string_t", "required", ""),
    ("metadata", "product", "object:product", "required", ""),
    ("metadata", "profiles", "string_t[]", "optional", ""),
    ("metadata", "uid", "string_t", "optional", ""),
    ("metadata", "correlation_uid", "string_t", "optional", ""),
    ("metadata", "log_name", "string_t", "recommended", ""),
    ("product", "name", "string_t", "recommended", ""),
    ("product", "vendor_name", "string_t", "recommended", ""),
    ("product", "version", "string_t", "recommended", ""),
    // finding_info, its analytic and ATT&CK references
    ("finding_info", "uid", "string_t", "required", ""),
    ("finding_info", "title", "string_t", "recommended", ""),
    ("finding_info", "desc", "string_t", "optional", ""),
    ("finding_info", "types", "string_t[]", "optional", ""),
    ("finding_info", "first_seen_time", "long_t", "optional", ""),
    ("finding_info", "last_seen_time", "long_t", "optional", ""),
    (
        "finding_info",
        "analytic",
        "object:analytic",
        "recommended",
        "",
    ),
    ("finding_info", "attacks", "object:attack[]", "optional", ""),
    ("analytic", "uid", "string_t", "recommended", ""),
    ("analytic", "name", "string_t", "recommended", ""),
    ("analytic", "type_id", "integer_t", "required", ""),
    ("analytic", "type", "string_t", "optional", ""),
    ("attack", "tactic", "object:tactic", "recommended", ""),
    ("attack", "technique", "object:technique", "recommended", ""),
    (
        "attack",
        "sub_technique",
        "object:sub_technique",
        "recommended",
        "",
    ),
    ("tactic", "uid", "string_t", "recommended", ""),
    ("tactic", "name", "string_t", "recommended", ""),
    ("technique", "uid", "string_t", "recommended", ""),
    ("technique", "name", "string_t", "recommended", ""),
    ("sub_technique", "uid", "string_t", "recommended", ""),
    ("sub_technique", "name", "string_t", "recommended", ""),
    // cloud and account (the cloud profile)
    ("cloud", "provider", "string_t", "required", ""),
    ("cloud", "region", "string_t", "recommended", ""),
    ("cloud", "account", "object:account", "optional", ""),
    ("account", "uid", "string_t", "recommended", ""),
    ("account", "type_id", "integer_t", "recommended", ""),
    ("account", "type", "string_t", "optional", ""),
    // resources
    ("resource_details", "uid", "string_t", "recommended", ""),
    ("resource_details", "name", "string_t", "recommended", ""),
    ("resource_details", "type", "string_t", "optional", ""),
    (
        "resource_details",
        "region",
        "string_t",
        "optional",
        "cloud",
    ),
    ("resource_details", "ip", "string_t", "recommended", ""),
    ("resource_details", "data", "json_t", "optional", ""),
    // remediation (the alert's next steps)
    ("remediation", "desc", "string_t", "required", ""),
    // evidences
    ("evidences", "name", "string_t", "optional", ""),
    ("evidences", "actor", "object:actor", "recommended", ""),
    ("evidences", "api", "object:api", "recommended", ""),
    (
        "evidences",
        "src_endpoint",
        "object:network_endpoint",
        "recommended",
        "",
    ),
    (
        "evidences",
        "dst_endpoint",
        "object:network_endpoint",
        "recommended",
        "",
    ),
    ("evidences", "data", "json_t", "optional", ""),
    ("actor", "user", "object:user", "recommended", ""),
    ("user", "uid", "string_t", "recommended", ""),
    ("user", "name", "string_t", "recommended", ""),
    ("api", "operation", "string_t", "required", ""),
    ("network_endpoint", "ip", "string_t", "recommended", ""),
    ("network_endpoint", "port", "integer_t", "recommended", ""),
    (
        "network_endpoint",
        "instance_uid",
        "string_t",
        "recommended",
        "",
    ),
    (
        "network_endpoint",
        "interface_uid",
        "string_t",
        "recommended",
        "",
    ),
    // anomaly analyses
    (
        "anomaly_analysis",
        "analysis_targets",
        "object:analysis_target[]",
        "required",
        "",
    ),
    (
        "anomaly_analysis",
        "anomalies",
        "object:anomaly[]",
        "required",
        "",
    ),
    (
        "anomaly_analysis",
        "baselines",
        "object:baseline[]",
        "recommended",
        "",
    ),
    ("analysis_target", "name", "string_t", "required", ""),
    ("analysis_target", "type", "string_t", "optional", ""),
    (
        "anomaly",
        "observation_parameter",
        "string_t",
        "required",
        "",
    ),
    (
        "anomaly",
        "observations",
        "object:observation[]",
        "required",
        "",
    ),
    ("anomaly", "observed_pattern", "string_t", "recommended", ""),
    (
        "baseline",
        "observation_parameter",
        "string_t",
        "required",
        "",
    ),
    (
        "baseline",
        "observation_type",
        "string_t",
        "recommended",
        "",
    ),
    (
        "baseline",
        "observations",
        "object:observation[]",
        "required",
        "",
    ),
    ("observation", "value", "string_t", "required", ""),
    (
        "observation",
        "timespan",
        "object:timespan",
        "recommended",
        "",
    ),
    ("timespan", "start_time", "long_t", "recommended", ""),
    ("timespan", "end_time", "long_t", "recommended", ""),
    ("timespan", "type_id", "integer_t", "recommended", ""),
    ("timespan", "type", "string_t", "optional", ""),
];

/// Enum ids with their captions.
type Ids = &'static [(i64, &'static str)];

/// `(object, enum attribute, its caption sibling, the ids flowtrail may set with captions)`.
const ENUMS: &[(&str, &str, &str, Ids)] = &[
    (
        CLASS,
        "activity_id",
        "activity_name",
        &[
            (0, "Unknown"),
            (1, "Create"),
            (2, "Update"),
            (3, "Close"),
            (99, "Other"),
        ],
    ),
    (CLASS, "category_uid", "category_name", &[(2, "Findings")]),
    (
        CLASS,
        "class_uid",
        "class_name",
        &[(2004, "Detection Finding")],
    ),
    (
        CLASS,
        "type_uid",
        "type_name",
        &[
            (200400, "Detection Finding: Unknown"),
            (200401, "Detection Finding: Create"),
            (200402, "Detection Finding: Update"),
            (200403, "Detection Finding: Close"),
            (200499, "Detection Finding: Other"),
        ],
    ),
    (
        CLASS,
        "severity_id",
        "severity",
        &[
            (0, "Unknown"),
            (1, "Informational"),
            (2, "Low"),
            (3, "Medium"),
            (4, "High"),
            (5, "Critical"),
            (6, "Fatal"),
            (99, "Other"),
        ],
    ),
    (
        CLASS,
        "status_id",
        "status",
        &[
            (0, "Unknown"),
            (1, "New"),
            (2, "In Progress"),
            (3, "Suppressed"),
            (4, "Resolved"),
            (5, "Archived"),
            (99, "Other"),
        ],
    ),
    (
        "analytic",
        "type_id",
        "type",
        &[
            (0, "Unknown"),
            (1, "Rule"),
            (3, "Statistical"),
            (99, "Other"),
        ],
    ),
    (
        "account",
        "type_id",
        "type",
        &[(0, "Unknown"), (10, "AWS Account"), (99, "Other")],
    ),
    (
        "timespan",
        "type_id",
        "type",
        &[(0, "Unknown"), (9, "Time Interval"), (99, "Other")],
    ),
];

/// `(object, at least one of these attributes)`, restricted to attributes of the excerpt.
const AT_LEAST_ONE: &[(&str, &[&str])] = &[
    ("account", &["uid"]),
    ("actor", &["user"]),
    ("analytic", &["name", "uid"]),
    ("attack", &["tactic", "technique", "sub_technique"]),
    (
        "evidences",
        &["actor", "api", "data", "dst_endpoint", "src_endpoint"],
    ),
    ("network_endpoint", &["ip", "instance_uid", "interface_uid"]),
    ("product", &["name"]),
    ("resource_details", &["name", "uid"]),
    ("sub_technique", &["name", "uid"]),
    ("tactic", &["name", "uid"]),
    ("technique", &["name", "uid"]),
    ("timespan", &["end_time", "start_time"]),
    ("user", &["name", "uid"]),
];

/// flowtrail's excerpt of Detection Finding, in the shape of a resolved schema.
pub fn schema() -> Value {
    let mut objects: Map<String, Value> = Map::new();
    let mut class_attrs: Map<String, Value> = Map::new();
    for (object, name, ty, requirement, profile) in ATTRIBUTES {
        let (ty, is_array) = match ty.strip_suffix("[]") {
            Some(t) => (t, true),
            None => (*ty, false),
        };
        let mut a = json!({ "is_array": is_array, "requirement": requirement });
        match ty.strip_prefix("object:") {
            Some(o) => {
                a["type"] = json!("object_t");
                a["object_type"] = json!(o);
            }
            None => a["type"] = json!(ty),
        }
        if !profile.is_empty() {
            a["profile"] = json!(profile);
        }
        if let Some((_, _, sibling, ids)) =
            ENUMS.iter().find(|(o, n, _, _)| o == object && n == name)
        {
            a["sibling"] = json!(sibling);
            a["enum"] = ids
                .iter()
                .map(|(id, caption)| (id.to_string(), json!(caption)))
                .collect::<Map<_, _>>()
                .into();
        }
        let attrs = if *object == CLASS {
            &mut class_attrs
        } else {
            objects
                .entry(*object)
                .or_insert_with(|| json!({ "attributes": {}, "constraints": {} }))["attributes"]
                .as_object_mut()
                .expect("built above")
        };
        attrs.insert((*name).to_string(), a);
    }
    for (object, names) in AT_LEAST_ONE {
        if let Some(o) = objects.get_mut(*object) {
            o["constraints"]["at_least_one"] = json!(names);
        }
    }
    json!({
        "ocsf_version": OCSF_VERSION,
        "class": {
            "name": CLASS,
            "uid": 4,
            "category_uid": 2,
            "class_uid": 2004,
            "attributes": class_attrs,
        },
        "objects": objects,
    })
}

/// Every problem of `finding` against flowtrail's excerpt ([`schema`]).
pub fn problems(finding: &Value) -> Vec<String> {
    problems_in(&schema(), finding)
}

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
        let Some(o) = v.as_object() else {
            self.errors.push(format!("{path}: not an object"));
            return;
        };
        let attrs = def["attributes"]
            .as_object()
            .expect("the resolved schema's shape");
        self.check_attrs(path, attrs, o);
        let present = |names: &Value| {
            names
                .as_array()
                .map(|a| a.as_slice())
                .unwrap_or_default()
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

/// Every problem of `finding` against `schema` ([`schema`] or a resolved schema file).
pub fn problems_in(schema: &Value, finding: &Value) -> Vec<String> {
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
        objects: schema["objects"]
            .as_object()
            .expect("the resolved schema's shape"),
        profiles,
        errors: Vec::new(),
    };
    let Some(o) = finding.as_object() else {
        return vec!["not an object".into()];
    };
    c.check_attrs(
        "",
        class["attributes"]
            .as_object()
            .expect("the resolved schema's shape"),
        o,
    );
    for (name, want) in [
        ("class_uid", class["class_uid"].clone()),
        ("category_uid", class["category_uid"].clone()),
    ] {
        if finding[name] != want {
            c.errors
                .push(format!("{name} {} is not {want}", finding[name]));
        }
    }
    let type_uid = class["class_uid"]
        .as_i64()
        .expect("the resolved schema's shape")
        * 100
        + finding["activity_id"].as_i64().unwrap_or(-1);
    if finding["type_uid"] != type_uid {
        c.errors.push(format!(
            "type_uid {} is not {type_uid}",
            finding["type_uid"]
        ));
    }
    c.errors
}
