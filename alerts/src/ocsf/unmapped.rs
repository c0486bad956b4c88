//! `unmapped`: what the Detection Finding has no attribute for, so nothing an alert carries
//! is lost. These are the alert's own fields that no mapping consumed (the `entity` kind
//! stays with its id, for a consumer that wants flowtrail's own vocabulary), and the evidence
//! keys that no mapping consumed, under `evidence`.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

/// Alert fields mapped to attributes of the finding.
const MAPPED: &[&str] = &[
    "id",
    "detector",
    "severity",
    "title",
    "account_id",
    "region",
    "first_seen",
    "last_seen",
    "count",
    "dedupe_key",
    "attack",
    "evidence",
    "why",
    "next_steps",
    "asset",
];

/// The unmapped object of an alert (its native JSON), or `None` when everything is mapped.
/// `used` names the evidence keys the other mappings consumed.
pub fn unmapped(native: Value, used: &BTreeSet<String>) -> Option<Value> {
    let Value::Object(mut alert) = native else {
        return None;
    };
    let evidence = alert.remove("evidence");
    let mut out: Map<String, Value> = alert
        .into_iter()
        .filter(|(k, _)| !MAPPED.contains(&k.as_str()))
        .collect();
    match evidence {
        Some(Value::Object(ev)) => {
            let rest: Map<String, Value> =
                ev.into_iter().filter(|(k, _)| !used.contains(k)).collect();
            if !rest.is_empty() {
                out.insert("evidence".into(), Value::Object(rest));
            }
        }
        Some(Value::Null) | None => {}
        Some(other) => {
            out.insert("evidence".into(), other);
        }
    }
    (!out.is_empty()).then_some(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_what_no_mapping_took_is_left() {
        // next_steps is the remediation, asset the resources.
        let native = json!({"id": "x", "detector": "d", "entity": {"kind": "eni", "id": "eni-1"},
                            "next_steps": ["look"], "asset": null,
                            "evidence": {"ports": 3, "remote": "1.2.3.4"}});
        let used: BTreeSet<String> = ["remote".to_string()].into();
        let u = unmapped(native, &used);
        assert_eq!(
            u,
            Some(json!({"entity": {"kind": "eni", "id": "eni-1"}, "evidence": {"ports": 3}}))
        );
        assert_eq!(unmapped(json!({"id": "x", "evidence": {}}), &used), None);
    }
}
