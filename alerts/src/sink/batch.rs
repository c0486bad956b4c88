//! Alerts as an Arrow batch of the lake's `alerts` schema.

use std::sync::Arc;

use arrow::array::{ArrayRef, Int64Array, StringArray, TimestampMillisecondArray};
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
    ];
    Ok(RecordBatch::try_new(alerts_schema(), cols)?)
}
