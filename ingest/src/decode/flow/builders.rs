//! Arrow builders for the `flows` table: plain `Vec`s of values, offsets and validity bits that
//! the decoder appends parsed fields to, turned into one [`RecordBatch`] of
//! [`decoded_flows_schema`] every `batch_rows` rows. Columns the format lacks, `source_key` (a
//! dictionary of the object's one key) and fallback-filled `account_id`/`region` are built at
//! batch time, not per row.
//!
//! Buffers start at the size the caller expects the batch to be (an object's row count when it
//! is known, a small default otherwise) and grow as rows arrive; a finished batch holds buffers
//! trimmed to its rows, so the many small batches of small objects buffered before a lake write
//! cost what their rows cost, not what a full batch would.

use std::sync::Arc;

use arrow::array::builder::NullBufferBuilder;
use arrow::array::{
    Array, ArrayRef, Int32Array, Int64Array, MapArray, StringArray, StructArray,
    TimestampMillisecondArray,
};
use arrow::buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::DataType;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use flowtrail_core::nulls::null_array;
use flowtrail_core::schema::flows::{
    FLOW_FIELDS, FlowType, decoded_flows_schema, extra_fields_type,
};
use flowtrail_core::schema::one_value_dictionary;

use super::format::{Plan, Slot};

/// Take the contents of `v` trimmed to its length, leaving an empty vector with room for as
/// many items plus `headroom` eighths (the next batch of the same object is likely about as
/// long: full batches have the same rows, string bytes vary a little).
fn take_trimmed<T>(v: &mut Vec<T>, headroom: usize) -> Vec<T> {
    let next = Vec::with_capacity(v.len() + v.len() / 8 * headroom);
    let mut out = std::mem::replace(v, next);
    out.shrink_to_fit();
    out
}

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

    /// Values appended since the last [`StrCol::finish`].
    pub fn count(&self) -> usize {
        self.offsets.len() - 1
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
        let offsets = take_trimmed(&mut self.offsets, 0);
        self.offsets.push(0);
        let values = take_trimmed(&mut self.values, 1);
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

    fn take(&mut self) -> (Vec<T>, Option<NullBuffer>) {
        (take_trimmed(&mut self.values, 0), self.nulls.finish())
    }
}

/// Guess of string bytes per value, for the first batch of an object.
const STR_BYTES_GUESS: usize = 16;

/// What the decoder fills per row and how the batch-level columns are made.
#[derive(Debug)]
pub(crate) struct FlowBatchBuilder {
    pub strs: Vec<StrCol>,
    pub i32s: Vec<IntCol<i32>>,
    pub i64s: Vec<IntCol<i64>>,
    /// `event_time` per row, when the format has `start`.
    pub event_time: IntCol<i64>,
    extra: ExtraCol,
    rows: usize,
    has_start: bool,
}

impl FlowBatchBuilder {
    /// Builders with room for `rows` rows (they grow past it).
    pub fn new(plan: &Plan, rows: usize) -> Self {
        Self {
            strs: plan
                .str_fields
                .iter()
                .map(|_| StrCol::with_capacity(rows, rows * STR_BYTES_GUESS))
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
            event_time: IntCol::with_capacity(if plan.start_pos.is_some() { rows } else { 0 }),
            extra: ExtraCol::new(plan.extra_names.len(), rows),
            rows: 0,
            has_start: plan.start_pos.is_some(),
        }
    }

    /// Rows appended since the last batch.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Add an `extra_fields` entry to the row being appended.
    #[inline]
    pub fn push_extra(&mut self, key: &[u8], value: Option<&[u8]>) {
        self.extra.push(self.rows, key, value);
    }

    /// Count one fully appended row.
    #[inline]
    pub fn row_done(&mut self) {
        self.rows += 1;
        self.extra.row_done();
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
        let schema = decoded_flows_schema();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
        for (fi, f) in FLOW_FIELDS.iter().enumerate() {
            let col: ArrayRef = match plan.columns[fi] {
                Some(Slot::Str { col }) => {
                    let s = self.strs[col].finish()?;
                    if rows > 0 && s.null_count() == rows {
                        null_array(&DataType::Utf8, rows)
                    } else {
                        Arc::new(s)
                    }
                }
                Some(Slot::I32 { col, .. }) => {
                    let (v, n) = self.i32s[col].take();
                    Arc::new(Int32Array::new(ScalarBuffer::from(v), n))
                }
                Some(Slot::I64 { col, .. } | Slot::Epoch { col }) => {
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
                        None => null_array(&flow_type(f.ty), rows),
                    }
                }
            };
            columns.push(col);
        }
        columns.push(self.extra.finish(rows)?);
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
        columns.push(Arc::new(one_value_dictionary(key, rows)?));
        RecordBatch::try_new(schema, columns)
    }
}

/// The `extra_fields` column under construction: the format's unknown fields on every row, and
/// values past the end of the format on the rows that have them. A row with no entries is a
/// null map; while a batch has none at all, nothing is kept per row.
#[derive(Debug)]
struct ExtraCol {
    keys: StrCol,
    values: StrCol,
    /// Entry offsets per row, while `active`.
    offsets: Vec<i32>,
    nulls: NullBufferBuilder,
    /// Whether rows of this batch are tracked (from the start when the format has unknown
    /// fields, else from the first row with values past the end of the format).
    active: bool,
    /// Whether the format has unknown fields.
    every_row: bool,
}

impl ExtraCol {
    fn new(fields: usize, rows: usize) -> Self {
        let entries = fields * rows;
        let mut offsets = Vec::with_capacity(if fields > 0 { rows + 1 } else { 1 });
        offsets.push(0);
        Self {
            keys: StrCol::with_capacity(entries, entries * 8),
            values: StrCol::with_capacity(entries, entries * 8),
            offsets,
            nulls: NullBufferBuilder::new(0),
            active: fields > 0,
            every_row: fields > 0,
        }
    }

    /// Add an entry to row `row` (the row being appended; `row` rows are complete).
    #[inline]
    fn push(&mut self, row: usize, key: &[u8], value: Option<&[u8]>) {
        if !self.active {
            // The first entry of this batch: the rows before it had none.
            self.offsets.resize(row + 1, 0);
            self.nulls.append_n_nulls(row);
            self.active = true;
        }
        self.keys.append(key);
        match value {
            Some(v) => self.values.append(v),
            None => self.values.append_null(),
        }
    }

    #[inline]
    fn row_done(&mut self) {
        if self.active {
            let end = self.keys.count() as i32;
            let start = self.offsets.last().copied().unwrap_or(0);
            self.offsets.push(end);
            self.nulls.append(end > start);
        }
    }

    fn finish(&mut self, rows: usize) -> Result<ArrayRef, ArrowError> {
        if !self.active {
            return Ok(null_array(&extra_fields_type(), rows));
        }
        self.active = self.every_row;
        let offsets = take_trimmed(&mut self.offsets, 0);
        self.offsets.push(0);
        let nulls = self.nulls.finish();
        extra_map(self.keys.finish()?, self.values.finish()?, offsets, nulls)
    }
}

/// The `extra_fields` map column from its entries (`keys` non-null), per-row offsets and
/// per-row validity.
pub(crate) fn extra_map(
    keys: StringArray,
    values: StringArray,
    offsets: Vec<i32>,
    nulls: Option<NullBuffer>,
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
        nulls,
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
    extra_map(keys.finish()?, values.finish()?, offsets, None)
}

/// The Arrow type of a flow field type.
pub(crate) fn flow_type(ty: FlowType) -> DataType {
    match ty {
        FlowType::Str => DataType::Utf8,
        FlowType::I32 => DataType::Int32,
        FlowType::I64 => DataType::Int64,
    }
}
