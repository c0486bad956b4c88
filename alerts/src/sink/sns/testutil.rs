//! Alerts for the SNS tests.

use flowtrail_core::{Alert, Entity, EntityKind, Severity};

pub(crate) fn alert(det: &str, sev: Severity) -> Alert {
    Alert {
        why: String::new(),
        next_steps: Vec::new(),
        asset: None,
        id: "x".into(),
        detector: det.into(),
        severity: sev,
        title: "t".into(),
        account_id: None,
        region: None,
        entity: Entity {
            kind: EntityKind::Ip,
            id: "1".into(),
        },
        first_seen: "2026-01-08T10:00:00Z".into(),
        last_seen: "2026-01-08T10:00:00Z".into(),
        count: 1,
        dedupe_key: "k".into(),
        attack: Default::default(),
        evidence: serde_json::json!({}),
    }
}
