//! The alert's `next_steps` as the Detection Finding's `remediation`: OCSF has one free-text
//! `desc` for it, so the steps are numbered in order there.

use flowtrail_core::Alert;
use serde_json::{Value, json};

/// `remediation`, or `None` for an alert without steps.
pub fn remediation(a: &Alert) -> Option<Value> {
    if a.next_steps.is_empty() {
        return None;
    }
    let steps: Vec<String> = a
        .next_steps
        .iter()
        .enumerate()
        .map(|(i, s)| format!("{}. {s}", i + 1))
        .collect();
    Some(json!({ "desc": steps.join("\n") }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowtrail_core::{Entity, EntityKind, Finding, Severity};

    #[test]
    fn steps_are_numbered_in_order_and_absent_without_any() {
        let mut a = Alert::from_finding(Finding {
            detector: "d".into(),
            severity: Severity::High,
            title: "t".into(),
            account_id: None,
            region: None,
            entity: Entity {
                kind: EntityKind::Eni,
                id: "eni-1".into(),
            },
            first_seen_ms: 0,
            last_seen_ms: 0,
            dedupe_key: "k".into(),
            evidence: json!({}),
            attack: Default::default(),
        });
        assert_eq!(remediation(&a), None);
        a.next_steps = vec!["look".into(), "isolate".into()];
        assert_eq!(
            remediation(&a),
            Some(json!({"desc": "1. look\n2. isolate"}))
        );
    }
}
