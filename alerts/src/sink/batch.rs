//! Alerts as an Arrow batch of the lake's `alerts` schema.

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Int64Array, ListBuilder, StringArray, StringBuilder, TimestampMillisecondArray,
};
use arrow::record_batch::RecordBatch;

use flowtrail_core::Alert;
use flowtrail_core::schema::alerts::alerts_schema;

use crate::AlertsError;

fn ms(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .unwrap_or(0)
}

fn entity_kind(a: &Alert) -> String {
    serde_json::to_value(a.entity.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// A list-of-strings column (never null: an alert without ids has empty lists).
fn ids(alerts: &[Alert], f: impl Fn(&Alert) -> &[String]) -> ArrayRef {
    let mut b = ListBuilder::new(StringBuilder::new());
    for a in alerts {
        for id in f(a) {
            b.values().append_value(id);
        }
        b.append(true);
    }
    Arc::new(b.finish())
}

/// The alerts as one batch (schema: `alerts_schema()`).
pub fn to_batch(alerts: &[Alert]) -> Result<RecordBatch, AlertsError> {
    let s = |f: &dyn Fn(&Alert) -> String| -> ArrayRef {
        Arc::new(StringArray::from_iter_values(alerts.iter().map(f)))
    };
    let o = |f: &dyn Fn(&Alert) -> Option<String>| -> ArrayRef {
        Arc::new(alerts.iter().map(f).collect::<StringArray>())
    };
    let t = |f: &dyn Fn(&Alert) -> i64| -> ArrayRef {
        Arc::new(
            TimestampMillisecondArray::from_iter_values(alerts.iter().map(f)).with_timezone("UTC"),
        )
    };
    let cols: Vec<ArrayRef> = vec![
        s(&|a| a.id.clone()),
        s(&|a| a.detector.clone()),
        s(&|a| a.severity.as_str().to_string()),
        s(&|a| a.title.clone()),
        o(&|a| a.account_id.clone()),
        o(&|a| a.region.clone()),
        s(&entity_kind),
        s(&|a| a.entity.id.clone()),
        t(&|a| ms(&a.first_seen)),
        t(&|a| ms(&a.last_seen)),
        Arc::new(Int64Array::from_iter_values(
            alerts.iter().map(|a| a.count as i64),
        )),
        s(&|a| a.dedupe_key.clone()),
        s(&|a| a.evidence.to_string()),
        ids(alerts, |a| &a.attack.tactics),
        ids(alerts, |a| &a.attack.techniques),
    ];
    Ok(RecordBatch::try_new(alerts_schema(), cols)?)
}

#[cfg(test)]
mod tests {
    use arrow::array::{Array, AsArray};
    use flowtrail_core::alert::{Attack, Entity, EntityKind, Finding, Severity};
    use flowtrail_core::schema::alerts::col;

    use super::*;

    fn alert(key: &str, attack: Attack) -> Alert {
        Alert::from_finding(Finding {
            detector: "volume_spike".into(),
            severity: Severity::High,
            title: "t".into(),
            account_id: None,
            region: None,
            entity: Entity {
                kind: EntityKind::Instance,
                id: key.into(),
            },
            first_seen_ms: 1_767_866_700_000,
            last_seen_ms: 1_767_866_700_000,
            dedupe_key: key.into(),
            evidence: serde_json::json!({}),
            attack,
        })
    }

    fn list(batch: &RecordBatch, name: &str, row: usize) -> Vec<String> {
        let Some(c) = batch.column_by_name(name) else {
            return vec!["<no column>".into()];
        };
        let l = c.as_list::<i32>();
        assert!(!l.is_null(row), "{name} row {row} is null");
        let v = l.value(row);
        v.as_string::<i32>()
            .iter()
            .map(|s| s.unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn rows_carry_attack_ids_as_string_lists() {
        let alerts = [
            alert("i-1", Attack::new(&["TA0010"], &["T1048", "T1048.003"])),
            alert("i-2", Attack::default()),
        ];
        let b = to_batch(&alerts);
        assert!(b.is_ok(), "{b:?}");
        let Ok(b) = b else { return };
        assert_eq!(b.schema(), alerts_schema());
        assert_eq!(list(&b, col::ATTACK_TACTICS, 0), vec!["TA0010"]);
        assert_eq!(
            list(&b, col::ATTACK_TECHNIQUES, 0),
            vec!["T1048", "T1048.003"]
        );
        assert!(list(&b, col::ATTACK_TACTICS, 1).is_empty());
        assert!(list(&b, col::ATTACK_TECHNIQUES, 1).is_empty());
    }
}
