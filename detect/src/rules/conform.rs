//! Batches brought to a rule table's core schema before the rules' SQL sees them: relabelled
//! when they carry a compatible variant (field metadata), completed with shared all-null
//! stand-in columns ([`NullPool`]) when detection kept only the columns the plans scan. Both the
//! rule set (in-memory tables) and the held table (streamed, partly spilled) use it, so it sits
//! beside them rather than inside either.

use std::sync::{Arc, Mutex};

use arrow::array::{ArrayRef, StringArray, new_null_array};
use arrow::buffer::{Buffer, OffsetBuffer};
use arrow::datatypes::{DataType, SchemaRef};
use arrow::record_batch::RecordBatch;

use crate::keep::{Part, TARGET_ROWS};

/// The chunk's schema: the core schema, unless the batches carry a compatible variant of it
/// (field metadata, nullability) that the core schema does not contain.
pub(crate) fn table_schema(batches: &[RecordBatch], core: SchemaRef) -> SchemaRef {
    match batches.iter().find(|b| b.num_rows() > 0) {
        Some(b) if !core.contains(&b.schema()) => b.schema(),
        _ => core,
    }
}

/// The non-empty batches in the core schema: relabelled when they carry a compatible variant
/// of it (field metadata), completed with all-null columns when they hold only some of its
/// columns (the engine keeps only what the plans scan, so the null ones are never read); None
/// when some batch cannot be (other types, nullability).
pub(crate) fn conform(
    batches: &[RecordBatch],
    core: &SchemaRef,
    nulls: &NullPool,
) -> Option<Vec<RecordBatch>> {
    batches
        .iter()
        .filter(|b| b.num_rows() > 0)
        .map(|b| conform_one(b, core, nulls))
        .collect()
}

/// [`conform`] for held parts: the batches in memory now, the spilled ones as they are read
/// back (they hold a subset of the core columns, which always conforms).
pub(crate) fn conform_parts(
    parts: &[Part],
    core: &SchemaRef,
    nulls: &NullPool,
) -> Option<Vec<Part>> {
    parts
        .iter()
        .filter_map(|p| match p {
            Part::Mem(b) if b.num_rows() == 0 => None,
            Part::Mem(b) => Some(conform_one(b, core, nulls).map(Part::Mem)),
            Part::Spilled(f) => Some(Some(Part::Spilled(f.clone()))),
        })
        .collect()
}

/// One batch in the core schema (see [`conform`]).
pub(crate) fn conform_one(
    b: &RecordBatch,
    core: &SchemaRef,
    nulls: &NullPool,
) -> Option<RecordBatch> {
    if b.schema() == *core {
        Some(b.clone())
    } else if b.num_columns() == core.fields().len() {
        RecordBatch::try_new(core.clone(), b.columns().to_vec()).ok()
    } else {
        let schema = b.schema();
        let mut cols = Vec::with_capacity(core.fields().len());
        for f in core.fields() {
            match schema.index_of(f.name()) {
                Ok(i) if schema.field(i).data_type() == f.data_type() => {
                    cols.push(b.column(i).clone())
                }
                Ok(_) => return None,
                Err(_) if !f.is_nullable() => {
                    cols.push(nulls.get_non_null(f.data_type(), b.num_rows())?)
                }
                Err(_) => cols.push(nulls.get(f.data_type(), b.num_rows())),
            }
        }
        RecordBatch::try_new(core.clone(), cols).ok()
    }
}

/// Stand-in columns for the ones a batch does not hold: all-null arrays by type (and empty
/// strings for a non-nullable string column), grown as needed and lent out as zero-copy slices.
#[derive(Default)]
pub(crate) struct NullPool {
    arrays: Mutex<Vec<ArrayRef>>,
    empty_strings: Mutex<Option<ArrayRef>>,
}

impl std::fmt::Debug for NullPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NullPool")
    }
}

impl NullPool {
    /// Non-null stand-ins: only strings (`""`) have one.
    pub(crate) fn get_non_null(&self, dt: &DataType, len: usize) -> Option<ArrayRef> {
        if dt != &DataType::Utf8 {
            return None;
        }
        let mut slot = self.empty_strings.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_none_or(|a| a.len() < len) {
            let n = len.max(TARGET_ROWS);
            let a: ArrayRef = Arc::new(StringArray::new(
                OffsetBuffer::new_zeroed(n),
                Buffer::from_vec(Vec::<u8>::new()),
                None,
            ));
            *slot = Some(a);
        }
        slot.as_ref().map(|a| a.slice(0, len))
    }

    pub(crate) fn get(&self, dt: &DataType, len: usize) -> ArrayRef {
        let mut arrays = self.arrays.lock().unwrap_or_else(|p| p.into_inner());
        match arrays.iter_mut().find(|a| a.data_type() == dt) {
            Some(a) if a.len() >= len => a.slice(0, len),
            Some(a) => {
                *a = new_null_array(dt, len.max(TARGET_ROWS));
                a.slice(0, len)
            }
            None => {
                let a = new_null_array(dt, len.max(TARGET_ROWS));
                arrays.push(a.clone());
                a.slice(0, len)
            }
        }
    }
}
