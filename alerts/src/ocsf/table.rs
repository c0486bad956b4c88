//! Findings as Arrow record batches, for parquet (the Security Lake export).
//!
//! Nested OCSF objects become Arrow structs and arrays lists, so Athena and Security Lake see
//! `finding_info.uid`, `cloud.account.uid`, `resources[0].type` as they would in any OCSF
//! source. The schema is inferred from the findings themselves (every attribute any of them
//! has, nullable), once for a whole export, so every file of the export has the same schema.
//! Two simplifications, both because a parquet column has one type for all rows: `unmapped`
//! (free-form, different per detector) is written as a JSON string, and so is
//! `evidences[].data`.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::json::ReaderBuilder;
use arrow::json::reader::infer_json_schema_from_iterator;
use arrow::record_batch::RecordBatch;
use serde_json::Value;

use crate::AlertsError;

/// A finding made ready for a fixed-column table: its free-form parts as JSON strings.
pub fn tabular(mut finding: Value) -> Value {
    if let Some(u) = finding.get_mut("unmapped") {
        *u = Value::String(u.to_string());
    }
    if let Some(evs) = finding.get_mut("evidences").and_then(Value::as_array_mut) {
        for e in evs {
            if let Some(d) = e.get_mut("data") {
                *d = Value::String(d.to_string());
            }
        }
    }
    finding
}

/// The Arrow schema of `findings` (already [`tabular`]).
pub fn schema(findings: &[Value]) -> Result<SchemaRef, AlertsError> {
    let s = infer_json_schema_from_iterator(findings.iter().map(|f| Ok(f.clone())))?;
    Ok(Arc::new(s))
}

/// `findings` (already [`tabular`]) as one batch of `schema`.
pub fn to_batch(schema: SchemaRef, findings: &[Value]) -> Result<RecordBatch, AlertsError> {
    let mut decoder = ReaderBuilder::new(schema.clone()).build_decoder()?;
    decoder.serialize(findings)?;
    Ok(decoder
        .flush()?
        .unwrap_or_else(|| RecordBatch::new_empty(schema)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::{DataType, Int64Type};
    use serde_json::json;

    #[test]
    fn nested_objects_become_structs_and_free_form_parts_strings() {
        let fs: Vec<Value> = [
            json!({"class_uid": 2004, "finding_info": {"uid": "a"}, "unmapped": {"x": 1},
                   "evidences": [{"data": {"bytes": 3}, "dst_endpoint": {"port": 443}}]}),
            json!({"class_uid": 2004, "finding_info": {"uid": "b"}, "unmapped": {"x": "y"}}),
        ]
        .into_iter()
        .map(tabular)
        .collect();
        let s = schema(&fs);
        assert!(s.is_ok(), "{s:?}");
        let Ok(s) = s else { return };
        let b = to_batch(s.clone(), &fs);
        assert!(b.is_ok(), "{b:?}");
        let Ok(b) = b else { return };
        assert_eq!(b.num_rows(), 2);
        assert!(matches!(
            s.field_with_name("finding_info").map(|f| f.data_type()),
            Ok(DataType::Struct(_))
        ));
        assert_eq!(
            s.field_with_name("unmapped")
                .map(|f| f.data_type().clone())
                .ok(),
            Some(DataType::Utf8)
        );
        let uid = b
            .column(b.schema().index_of("finding_info").unwrap_or(0))
            .as_struct()
            .column(0)
            .clone();
        assert_eq!(uid.as_string::<i32>().value(1), "b");
        let class = b
            .column(b.schema().index_of("class_uid").unwrap_or(0))
            .as_primitive::<Int64Type>()
            .clone();
        assert_eq!(class.value(0), 2004);
        assert!(
            b.column(b.schema().index_of("evidences").unwrap_or(0))
                .is_null(1)
        );
    }
}
