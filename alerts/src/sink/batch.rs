//! Alerts as an Arrow batch of the lake's `alerts` schema, and back ([`from_batch`], for
//! readers of the lake such as `flowtrail export`).

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, ListBuilder, StringArray, StringBuilder,
    TimestampMillisecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;

use flowtrail_core::Alert;
use flowtrail_core::alert::{Attack, alert_time};
use flowtrail_core::schema::alerts::{alerts_schema, attack_ids_type, col};
use flowtrail_core::schema::timestamp_type;

use crate::AlertsError;

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
        t(&|a| a.first_seen.timestamp_millis()),
        t(&|a| a.last_seen.timestamp_millis()),
        Arc::new(Int64Array::from_iter_values(
            alerts.iter().map(|a| a.count as i64),
        )),
        s(&|a| a.dedupe_key.clone()),
        s(&|a| a.evidence.to_string()),
        ids(alerts, |a| &a.attack.tactics),
        ids(alerts, |a| &a.attack.techniques),
        o(&|a| (!a.why.is_empty()).then(|| a.why.clone())),
        ids(alerts, |a| &a.next_steps),
        o(&|a| a.asset.as_ref().and_then(|x| serde_json::to_string(x).ok())),
    ];
    Ok(RecordBatch::try_new(alerts_schema(), cols)?)
}

/// A column of `batch` cast to `to` (lake files may hold string views or other time units).
fn column(batch: &RecordBatch, name: &str, to: &DataType) -> Result<ArrayRef, ArrowError> {
    let c = batch
        .column_by_name(name)
        .ok_or_else(|| ArrowError::SchemaError(format!("alerts: no column {name}")))?;
    cast(c, to)
}

fn bad(row: usize, what: String) -> AlertsError {
    AlertsError::Arrow(ArrowError::ParseError(format!("alerts row {row}: {what}")))
}

/// The alerts of a batch read from the lake's `alerts` table (extra columns, such as the
/// `date` partition, are ignored; ATT&CK lists missing or null read as empty).
pub fn from_batch(batch: &RecordBatch) -> Result<Vec<Alert>, AlertsError> {
    let text = |name: &str| column(batch, name, &DataType::Utf8);
    let (id, detector, severity, title) = (
        text(col::ID)?,
        text(col::DETECTOR)?,
        text(col::SEVERITY)?,
        text(col::TITLE)?,
    );
    let (account, region, kind, entity) = (
        text(col::ACCOUNT_ID)?,
        text(col::REGION)?,
        text(col::ENTITY_KIND)?,
        text(col::ENTITY_ID)?,
    );
    let (dedupe, evidence) = (text(col::DEDUPE_KEY)?, text(col::EVIDENCE)?);
    let ms = |name: &str| -> Result<ArrayRef, ArrowError> {
        cast(&column(batch, name, &timestamp_type())?, &DataType::Int64)
    };
    let (first, last) = (ms(col::FIRST_SEEN)?, ms(col::LAST_SEEN)?);
    let count = column(batch, col::COUNT, &DataType::Int64)?;
    let ids = |name: &str| -> Result<Option<ArrayRef>, ArrowError> {
        match batch.column_by_name(name) {
            Some(c) => cast(c, &attack_ids_type()).map(Some),
            None => Ok(None),
        }
    };
    let (tactics, techniques) = (ids(col::ATTACK_TACTICS)?, ids(col::ATTACK_TECHNIQUES)?);
    let next_steps = ids(col::NEXT_STEPS)?;
    let optional_text = |name: &str| -> Result<Option<ArrayRef>, ArrowError> {
        match batch.column_by_name(name) {
            Some(c) => cast(c, &DataType::Utf8).map(Some),
            None => Ok(None),
        }
    };
    let (why, asset) = (optional_text(col::WHY)?, optional_text(col::ASSET)?);
    let s = |a: &ArrayRef, row: usize| -> Option<String> {
        let a = a.as_string::<i32>();
        (!a.is_null(row)).then(|| a.value(row).to_string())
    };
    let list = |a: &Option<ArrayRef>, row: usize| -> Vec<String> {
        let Some(a) = a else { return Vec::new() };
        let l = a.as_list::<i32>();
        if l.is_null(row) {
            return Vec::new();
        }
        let v = l.value(row);
        v.as_string::<i32>()
            .iter()
            .flatten()
            .map(str::to_string)
            .collect()
    };
    let int = |a: &ArrayRef, row: usize| a.as_primitive::<Int64Type>().value(row);
    (0..batch.num_rows())
        .map(|row| {
            let req = |a: &ArrayRef, name: &str| {
                s(a, row).ok_or_else(|| bad(row, format!("{name} is null")))
            };
            let kind = req(&kind, col::ENTITY_KIND)?;
            let sev = req(&severity, col::SEVERITY)?;
            Ok(Alert {
                why: why.as_ref().and_then(|a| s(a, row)).unwrap_or_default(),
                next_steps: list(&next_steps, row),
                asset: match asset.as_ref().and_then(|a| s(a, row)) {
                    Some(j) => Some(
                        serde_json::from_str(&j)
                            .map_err(|e| bad(row, format!("asset is not JSON: {e}")))?,
                    ),
                    None => None,
                },
                id: req(&id, col::ID)?,
                detector: req(&detector, col::DETECTOR)?,
                severity: sev.parse().map_err(|e| bad(row, format!("{e}")))?,
                title: req(&title, col::TITLE)?,
                account_id: s(&account, row),
                region: s(&region, row),
                entity: flowtrail_core::Entity {
                    kind: serde_json::from_value(serde_json::Value::String(kind.clone()))
                        .map_err(|_| bad(row, format!("unknown entity kind {kind:?}")))?,
                    id: req(&entity, col::ENTITY_ID)?,
                },
                first_seen: alert_time(int(&first, row)),
                last_seen: alert_time(int(&last, row)),
                count: u64::try_from(int(&count, row)).unwrap_or(0),
                dedupe_key: req(&dedupe, col::DEDUPE_KEY)?,
                attack: Attack {
                    tactics: list(&tactics, row),
                    techniques: list(&techniques, row),
                },
                evidence: serde_json::from_str(&req(&evidence, col::EVIDENCE)?)
                    .map_err(|e| bad(row, format!("evidence is not JSON: {e}")))?,
            })
        })
        .collect()
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

    #[test]
    fn alerts_read_back_as_written() {
        let mut a = alert("i-1", Attack::new(&["TA0010"], &["T1048"]));
        a.account_id = Some("012345678901".into());
        a.evidence = serde_json::json!({"bytes_out": 5});
        a.why = "Unusual volume out.".into();
        a.next_steps = vec!["check the peer".into(), "isolate".into()];
        a.asset = Some(flowtrail_core::Asset {
            instance_id: Some("i-0abc".into()),
            tags: [("Name".to_string(), "web-1".to_string())].into(),
            ..Default::default()
        });
        let alerts = [a, alert("i-2", Attack::default())];
        let back = to_batch(&alerts).and_then(|b| from_batch(&b));
        assert_eq!(back.ok().as_deref(), Some(&alerts[..]));
        // Files written before the ATT&CK columns: empty lists.
        let Ok(b) = to_batch(&alerts) else { return };
        let old = b.project(&[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        let back = old.map_err(AlertsError::from).and_then(|b| from_batch(&b));
        assert!(back.is_ok_and(|v| v[0].attack.is_empty()
            && v[0].why.is_empty()
            && v[0].next_steps.is_empty()
            && v[0].asset.is_none()));
    }
}
