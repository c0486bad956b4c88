//! Test helpers: building `flows` batches from a few fields (every other column null).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;

use arrow::array::{
    ArrayRef, Int32Array, Int64Array, StringArray, TimestampMillisecondArray, new_null_array,
};
use arrow::record_batch::RecordBatch;

use flowtrail_core::schema::flows::flows_schema;

/// One flow record.
#[derive(Debug, Clone)]
pub struct Flow {
    pub eni: &'static str,
    pub instance: Option<&'static str>,
    pub subnet: Option<&'static str>,
    pub src: String,
    pub dst: String,
    pub sport: i32,
    pub dport: i32,
    pub bytes: i64,
    pub action: &'static str,
    pub t_ms: i64,
}

pub fn flows(rows: &[Flow]) -> RecordBatch {
    let schema = flows_schema();
    let n = rows.len();
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            let s = |v: Vec<Option<String>>| -> ArrayRef { Arc::new(StringArray::from(v)) };
            match f.name().as_str() {
                "interface_id" => s(rows.iter().map(|r| Some(r.eni.to_string())).collect()),
                "instance_id" => s(rows
                    .iter()
                    .map(|r| r.instance.map(str::to_string))
                    .collect()),
                "subnet_id" => s(rows.iter().map(|r| r.subnet.map(str::to_string)).collect()),
                "srcaddr" => s(rows.iter().map(|r| Some(r.src.clone())).collect()),
                "dstaddr" => s(rows.iter().map(|r| Some(r.dst.clone())).collect()),
                "action" => s(rows.iter().map(|r| Some(r.action.to_string())).collect()),
                "log_status" => s(rows.iter().map(|_| Some("OK".to_string())).collect()),
                "account_id" => s(rows
                    .iter()
                    .map(|_| Some("111122223333".to_string()))
                    .collect()),
                "region" => s(rows.iter().map(|_| Some("us-east-1".to_string())).collect()),
                "source_key" => s(rows.iter().map(|_| Some("k".to_string())).collect()),
                "srcport" => Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.sport))),
                "dstport" => Arc::new(Int32Array::from_iter_values(rows.iter().map(|r| r.dport))),
                "protocol" => Arc::new(Int32Array::from_iter_values(rows.iter().map(|_| 6))),
                "bytes" => Arc::new(Int64Array::from_iter_values(rows.iter().map(|r| r.bytes))),
                "packets" => Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| r.bytes / 1000 + 1),
                )),
                "start" => Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| r.t_ms / 1000),
                )),
                "end" => Arc::new(Int64Array::from_iter_values(
                    rows.iter().map(|r| r.t_ms / 1000 + 60),
                )),
                "event_time" => Arc::new(
                    TimestampMillisecondArray::from_iter_values(rows.iter().map(|r| r.t_ms))
                        .with_timezone("UTC"),
                ),
                _ => new_null_array(f.data_type(), n),
            }
        })
        .collect();
    RecordBatch::try_new(schema, cols).unwrap()
}
