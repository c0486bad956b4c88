//! Evidence rows of CloudTrail findings from the events the engine holds when it judges an
//! hour: the findings name event ids, and the rows come from the batches in hand (never from
//! the lake), with the columns the evidence query returns.

use std::collections::{HashMap, HashSet};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::TimestampMillisecondType;
use serde_json::{Map, Value, json};

use super::sql::{CLOUDTRAIL_COLUMNS, rfc};

/// At most this many rows in `evidence.rows`.
pub const MAX_ROWS: usize = 5;

fn text(batch: &RecordBatch, col: &str, i: usize) -> Value {
    let Some(c) = batch.column_by_name(col) else {
        return Value::Null;
    };
    if c.is_null(i) {
        return Value::Null;
    }
    match c.as_string_opt::<i32>() {
        Some(a) => json!(a.value(i)),
        None => arrow::util::display::array_value_to_string(c, i)
            .map(Value::String)
            .unwrap_or(Value::Null),
    }
}

fn row(batch: &RecordBatch, i: usize) -> Value {
    let mut r = Map::new();
    for col in CLOUDTRAIL_COLUMNS.split(", ") {
        let v = if col == "event_time" {
            batch
                .column_by_name(col)
                .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
                .filter(|c| !c.is_null(i))
                .map_or(Value::Null, |c| json!(rfc(c.value(i))))
        } else {
            text(batch, col, i)
        };
        r.insert(col.to_string(), v);
    }
    Value::Object(r)
}

/// The CloudTrail events in hand that findings name, found in one pass over the batches
/// (however many findings an hour has).
#[derive(Debug, Default)]
pub struct Events {
    rows: HashMap<String, Value>,
}

impl Events {
    /// The events of `wanted` among `batches`.
    pub fn find(batches: &[RecordBatch], wanted: &HashSet<String>) -> Self {
        let mut rows = HashMap::new();
        if wanted.is_empty() {
            return Events { rows };
        }
        for b in batches {
            let Some(ids) = b
                .column_by_name("event_id")
                .and_then(|c| c.as_string_opt::<i32>())
            else {
                continue;
            };
            for i in 0..ids.len() {
                if !ids.is_null(i) && wanted.contains(ids.value(i)) {
                    rows.entry(ids.value(i).to_string())
                        .or_insert_with(|| row(b, i));
                }
            }
        }
        Events { rows }
    }

    /// Rows of the first [`MAX_ROWS`] of `ids`, in their order; an id not in hand gives a row
    /// of its `event_id` alone.
    pub fn rows(&self, ids: &[String]) -> Vec<Value> {
        ids.iter()
            .take(MAX_ROWS)
            .map(|id| {
                self.rows
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| json!({"event_id": id}))
            })
            .collect()
    }
}

/// The rows of `ids` found in `batches` ([`Events::find`] then [`Events::rows`]).
pub fn events(batches: &[RecordBatch], ids: &[String]) -> Vec<Value> {
    let wanted: HashSet<String> = ids.iter().take(MAX_ROWS).cloned().collect();
    Events::find(batches, &wanted).rows(ids)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{StringArray, TimestampMillisecondArray};
    use arrow::datatypes::{DataType, Field, Schema, TimeUnit};

    #[test]
    fn rows_come_from_the_batches_in_hand() {
        let schema = Schema::new(vec![
            Field::new(
                "event_time",
                DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
                false,
            ),
            Field::new("event_id", DataType::Utf8, true),
            Field::new("event_name", DataType::Utf8, true),
        ]);
        let b = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(
                    TimestampMillisecondArray::from(vec![1_767_866_700_000, 1_767_866_760_000])
                        .with_timezone("UTC"),
                ),
                Arc::new(StringArray::from(vec![Some("e1"), Some("e2")])),
                Arc::new(StringArray::from(vec![Some("StopLogging"), None])),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let rows = events(&[b], &["e2".into(), "missing".into(), "e1".into()]);
        assert_eq!(rows.len(), 3);
        assert_eq!(rows[0]["event_id"], "e2");
        assert_eq!(rows[0]["event_name"], Value::Null);
        assert_eq!(rows[0]["event_time"], "2026-01-08T10:06:00Z");
        assert_eq!(rows[1], json!({"event_id": "missing"}));
        assert_eq!(rows[2]["event_name"], "StopLogging");
        assert_eq!(rows[2]["user_identity_arn"], Value::Null);
        let many: Vec<String> = (0..9).map(|i| format!("x{i}")).collect();
        assert_eq!(events(&[], &many).len(), MAX_ROWS);
    }
}
