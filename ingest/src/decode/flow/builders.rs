//! Arrow builders for the `flows` table: plain `Vec`s of values, offsets and validity bits that
//! the decoder appends parsed fields to, turned into one [`RecordBatch`] of
//! [`flows_schema`] every `batch_rows` rows. Columns the format lacks, `source_key` and
//! fallback-filled `account_id`/`region` are built at batch time, not per row.

use std::sync::Arc;

use arrow::array::builder::NullBufferBuilder;
use arrow::array::{
    ArrayRef, Int32Array, Int64Array, MapArray, StringArray, StructArray,
    TimestampMillisecondArray, new_null_array,
};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use flowtrail_core::schema::flows::{FLOW_FIELDS, FlowType, extra_fields_type, flows_schema};

use super::format::{Plan, Slot};

/// A UTF-8 column under construction. Values are appended as bytes; UTF-8 is checked once for
/// the whole column when the batch is built (the decoder checks per field only when a chunk is
/// not ASCII, so a bad field is quarantined before it gets here).
#[derive(Debug)]
pub(crate) struct StrCol {
    values: Vec<u8>,
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
}

impl StrCol {
    pub fn with_capacity(rows: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        Self {
            values: Vec::with_capacity(bytes),
            offsets,
            nulls: NullBufferBuilder::new(rows),
        }
    }

    #[inline]
    pub fn append(&mut self, v: &[u8]) {
        self.values.extend_from_slice(v);
        self.offsets.push(self.values.len() as i32);
        self.nulls.append_non_null();
    }

    #[inline]
    pub fn append_null(&mut self) {
        self.offsets.push(self.values.len() as i32);
        self.nulls.append_null();
    }

    pub fn finish(&mut self) -> Result<StringArray, ArrowError> {
        let cap = self.offsets.capacity();
        let offsets = std::mem::replace(&mut self.offsets, Vec::with_capacity(cap));
        self.offsets.push(0);
        let vcap = self.values.capacity();
        let values = std::mem::replace(&mut self.values, Vec::with_capacity(vcap));
        let nulls = self.nulls.finish();
        StringArray::try_new(
            OffsetBuffer::new(ScalarBuffer::from(offsets)),
            Buffer::from_vec(values),
            nulls,
        )
    }
}

/// An integer column under construction (null slots hold 0).
#[derive(Debug)]
pub(crate) struct IntCol<T> {
    values: Vec<T>,
    nulls: NullBufferBuilder,
}

impl<T: Copy + Default> IntCol<T> {
    pub fn with_capacity(rows: usize) -> Self {
        Self {
            values: Vec::with_capacity(rows),
            nulls: NullBufferBuilder::new(rows),
        }
    }

    #[inline]
    pub fn append(&mut self, v: T) {
        self.values.push(v);
        self.nulls.append_non_null();
    }

    #[inline]
    pub fn append_null(&mut self) {
        self.values.push(T::default());
        self.nulls.append_null();
    }

    fn take(&mut self) -> (Vec<T>, Option<arrow::buffer::NullBuffer>) {
        let cap = self.values.capacity();
        (
            std::mem::replace(&mut self.values, Vec::with_capacity(cap)),
            self.nulls.finish(),
        )
    }
}

/// What the decoder fills per row and how the batch-level columns are made.
#[derive(Debug)]
pub(crate) struct FlowBatchBuilder {
    pub strs: Vec<StrCol>,
    pub i32s: Vec<IntCol<i32>>,
    pub i64s: Vec<IntCol<i64>>,
    /// `extra_fields` entries: keys, values and per-row offsets (empty when the format has no
    /// unknown fields).
    pub extra_keys: StrCol,
    pub extra_values: StrCol,
    pub extra_offsets: Vec<i32>,
    /// `event_time` per row, when the format has `start`.
    pub event_time: IntCol<i64>,
    rows: usize,
    has_extra: bool,
    has_start: bool,
}

impl FlowBatchBuilder {
    pub fn new(plan: &Plan, rows: usize) -> Self {
        let extra = plan.extra_names.len();
        let mut extra_offsets = Vec::with_capacity(if extra > 0 { rows + 1 } else { 1 });
        extra_offsets.push(0);
        Self {
            strs: plan
                .str_fields
                .iter()
                .map(|_| StrCol::with_capacity(rows, rows * 16))
                .collect(),
            i32s: plan
                .i32_fields
                .iter()
                .map(|_| IntCol::with_capacity(rows))
                .collect(),
            i64s: plan
                .i64_fields
                .iter()
                .map(|_| IntCol::with_capacity(rows))
                .collect(),
            extra_keys: StrCol::with_capacity(rows * extra, rows * extra * 8),
            extra_values: StrCol::with_capacity(rows * extra, rows * extra * 8),
            extra_offsets,
            event_time: IntCol::with_capacity(if plan.start_pos.is_some() { rows } else { 0 }),
            rows: 0,
            has_extra: extra > 0,
            has_start: plan.start_pos.is_some(),
        }
    }

    /// Rows appended since the last batch.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Count one fully appended row.
    #[inline]
    pub fn row_done(&mut self) {
        self.rows += 1;
        if self.has_extra {
            self.extra_offsets
                .push(self.extra_values.offsets.len() as i32 - 1);
        }
    }

    /// Build a batch of the rows appended so far and reset.
    pub fn finish(
        &mut self,
        plan: &Plan,
        key: &str,
        fallback_account: Option<&str>,
        fallback_region: Option<&str>,
        fallback_time_ms: Option<i64>,
    ) -> Result<RecordBatch, ArrowError> {
        let rows = std::mem::take(&mut self.rows);
        let schema = flows_schema();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for (fi, f) in FLOW_FIELDS.iter().enumerate() {
            let col: ArrayRef = match plan.columns[fi] {
                Some(Slot::Str { col }) => Arc::new(self.strs[col].finish()?),
                Some(Slot::I32 { col, .. }) => {
                    let (v, n) = self.i32s[col].take();
                    Arc::new(Int32Array::new(ScalarBuffer::from(v), n))
                }
                Some(Slot::I64 { col, .. }) => {
                    let (v, n) = self.i64s[col].take();
                    Arc::new(Int64Array::new(ScalarBuffer::from(v), n))
                }
                Some(Slot::Extra { .. }) | None => {
                    let fallback = match f.aws_name {
                        "account-id" => fallback_account,
                        "region" => fallback_region,
                        _ => None,
                    };
                    match fallback {
                        Some(v) => Arc::new(StringArray::new_repeated(v, rows)),
                        None => new_null_array(&flow_type(f.ty), rows),
                    }
                }
            };
            columns.push(col);
        }
        columns.push(self.finish_extra(rows)?);
        let event_time = if self.has_start {
            let (v, n) = self.event_time.take();
            TimestampMillisecondArray::new(ScalarBuffer::from(v), n)
        } else {
            match fallback_time_ms {
                Some(t) => TimestampMillisecondArray::from(vec![t; rows]),
                None => TimestampMillisecondArray::new_null(rows),
            }
        };
        columns.push(Arc::new(event_time.with_timezone("UTC")));
        columns.push(Arc::new(StringArray::new_repeated(key, rows)));
        RecordBatch::try_new(schema, columns)
    }

    fn finish_extra(&mut self, rows: usize) -> Result<ArrayRef, ArrowError> {
        if !self.has_extra {
            return Ok(new_null_array(&extra_fields_type(), rows));
        }
        let offsets = std::mem::replace(&mut self.extra_offsets, Vec::with_capacity(rows + 1));
        self.extra_offsets.push(0);
        extra_map(
            self.extra_keys.finish()?,
            self.extra_values.finish()?,
            offsets,
        )
    }
}

/// The `extra_fields` map column from its entries (`keys` non-null) and per-row offsets.
pub(crate) fn extra_map(
    keys: StringArray,
    values: StringArray,
    offsets: Vec<i32>,
) -> Result<ArrayRef, ArrowError> {
    let DataType::Map(entries_field, sorted) = extra_fields_type() else {
        return Err(ArrowError::SchemaError("extra_fields is not a map".into()));
    };
    let DataType::Struct(fields) = entries_field.data_type() else {
        return Err(ArrowError::SchemaError(
            "extra_fields entries are not a struct".into(),
        ));
    };
    let entries =
        StructArray::try_new(fields.clone(), vec![Arc::new(keys), Arc::new(values)], None)?;
    let map = MapArray::try_new(
        entries_field,
        OffsetBuffer::new(ScalarBuffer::from(offsets)),
        entries,
        None,
        sorted,
    )?;
    Ok(Arc::new(map))
}

/// `extra_fields` for `rows` rows from whole columns: every row gets one entry per column
/// (key = the field's AWS name, value = the column's value or null).
pub(crate) fn extra_map_from_columns(
    names: &[String],
    cols: &[StringArray],
    rows: usize,
) -> Result<ArrayRef, ArrowError> {
    use arrow::array::Array;
    let n = names.len();
    let mut keys = StrCol::with_capacity(rows * n, rows * n * 8);
    let mut values = StrCol::with_capacity(rows * n, rows * n * 8);
    let mut offsets = Vec::with_capacity(rows + 1);
    offsets.push(0);
    for row in 0..rows {
        for (name, col) in names.iter().zip(cols) {
            keys.append(name.as_bytes());
            if col.is_null(row) {
                values.append_null();
            } else {
                values.append(col.value(row).as_bytes());
            }
        }
        offsets.push(((row + 1) * n) as i32);
    }
    extra_map(keys.finish()?, values.finish()?, offsets)
}

/// The Arrow type of a flow field type.
pub(crate) fn flow_type(ty: FlowType) -> DataType {
    match ty {
        FlowType::Str => DataType::Utf8,
        FlowType::I32 => DataType::Int32,
        FlowType::I64 => DataType::Int64,
    }
}
