//! Checks a finding against the OCSF 1.5.0 Detection Finding schema, vendored and resolved
//! under `alerts/tests/fixtures/ocsf/` (see its README): classification uids, every required
//! attribute present (profile attributes only when `metadata.profiles` applies the profile), no
//! attribute the class or its objects do not define, enum ids valid, sibling captions matching,
//! object constraints (`at_least_one`, `just_one`), and types (timestamps and ports integers,
//! strings strings, arrays arrays). For tests only (feature `testsuite`).
#![allow(clippy::expect_used)]

use serde_json::{Map, Value};

/// The resolved schema file.
pub const SCHEMA: &str = include_str!("../../tests/fixtures/ocsf/detection_finding-1.5.0.json");

/// The resolved schema.
pub fn schema() -> Value {
    serde_json::from_str(SCHEMA).expect("the vendored schema is JSON")
}

/// Every problem of `finding` against the vendored schema.
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

/// Every problem of `finding` against `schema` (a resolved schema file).
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
