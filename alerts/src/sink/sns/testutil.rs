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
        first_seen: flowtrail_core::alert::alert_time(1_767_866_400_000),
        last_seen: flowtrail_core::alert::alert_time(1_767_866_400_000),
        count: 1,
        dedupe_key: "k".into(),
        attack: Default::default(),
        evidence: serde_json::json!({}),
    }
}
