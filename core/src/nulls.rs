//! Columns with no value, shared, and the memory a batch really holds.
//!
//! A decoded batch carries its table's whole schema (43 columns for `flows`) though a format
//! fills some of them only: the 14-field default leaves ~30 columns with no value on any row.
//! Made anew per batch, each such column is a zeroed offsets buffer and a zeroed validity
//! bitmap (~4 bytes a row): on the 20M-record set that was 5% of a replay's CPU in zeroing
//! and page faults, and the same again each time the split and the gathers copied them. Here
//! every all-null column of up to [`SHARED_ROWS`] rows is a slice of one array per data type,
//! made once for the process, so it costs nothing to make, copy or hold.
//!
//! Because they are shared, Arrow's `get_array_memory_size` would count those buffers once per
//! column and batch (megabytes for a 50-row batch). [`batch_memory_size`] counts them as what
//! they cost, nothing: use it wherever buffered bytes are budgeted.

use std::sync::{Mutex, PoisonError};

use arrow::array::{Array, ArrayRef, RecordBatch, new_null_array};
use arrow::datatypes::DataType;

/// Rows of each shared all-null array; longer columns are made anew (and counted).
pub const SHARED_ROWS: usize = 128 * 1024;

/// One shared all-null array: its type, the array, and the address range of its validity
/// bitmap (how a slice of it is recognised).
struct Shared {
    data_type: DataType,
    array: ArrayRef,
    bitmap: (usize, usize),
}

static SHARED: Mutex<Vec<Shared>> = Mutex::new(Vec::new());

/// An array of `len` nulls of type `data_type`: a slice of the shared one when `len` is at most
/// [`SHARED_ROWS`], else made anew.
pub fn null_array(data_type: &DataType, len: usize) -> ArrayRef {
    if len > SHARED_ROWS || matches!(data_type, DataType::Null) {
        return new_null_array(data_type, len);
    }
    // The list is only ever appended to, so a poisoned lock still holds whole entries.
    let mut shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(s) = shared.iter().find(|s| &s.data_type == data_type) {
        return s.array.slice(0, len);
    }
    let array = new_null_array(data_type, SHARED_ROWS);
    let Some(bitmap) = bitmap_range(array.as_ref()) else {
        // A type with no validity bitmap cannot be recognised later: not shared.
        return new_null_array(data_type, len);
    };
    let out = array.slice(0, len);
    shared.push(Shared {
        data_type: data_type.clone(),
        array,
        bitmap,
    });
    out
}

/// The address range of `a`'s validity bitmap.
fn bitmap_range(a: &dyn Array) -> Option<(usize, usize)> {
    let buf = a.nulls()?.buffer();
    let start = buf.as_ptr() as usize;
    Some((start, start + buf.len()))
}

/// Whether `a` is a slice of a shared all-null array.
pub fn is_shared(a: &dyn Array) -> bool {
    if a.is_empty() || a.null_count() != a.len() {
        return false;
    }
    let Some((start, _)) = bitmap_range(a) else {
        return false;
    };
    let shared = SHARED.lock().unwrap_or_else(PoisonError::into_inner);
    shared
        .iter()
        .any(|s| (s.bitmap.0..s.bitmap.1).contains(&start))
}

/// Bytes `batch` holds (buffers with their capacity), shared all-null columns counted as none.
pub fn batch_memory_size(batch: &RecordBatch) -> usize {
    batch
        .columns()
        .iter()
        .filter(|c| !is_shared(c.as_ref()))
        .map(|c| c.get_array_memory_size())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{Int64Array, StringArray};
    use arrow::datatypes::{Field, Schema};
    use std::sync::Arc;

    #[test]
    fn a_null_column_is_a_slice_of_one_shared_array() {
        let a = null_array(&DataType::Utf8, 50);
        let b = null_array(&DataType::Utf8, 70_000);
        assert_eq!((a.len(), a.null_count()), (50, 50));
        assert_eq!((b.len(), b.null_count()), (70_000, 70_000));
        assert_eq!(a.data_type(), &DataType::Utf8);
        assert!(is_shared(a.as_ref()) && is_shared(b.as_ref()));
        // Slices of a shared array are recognised too.
        assert!(is_shared(b.slice(1_000, 10).as_ref()));
        let i = null_array(&DataType::Int64, 3);
        assert!(is_shared(i.as_ref()));
        assert_eq!(i.data_type(), &DataType::Int64);
    }

    #[test]
    fn nulls_made_elsewhere_and_long_columns_are_not_shared() {
        let own = new_null_array(&DataType::Utf8, 50);
        assert!(!is_shared(own.as_ref()));
        let long = null_array(&DataType::Utf8, SHARED_ROWS + 1);
        assert_eq!(long.null_count(), SHARED_ROWS + 1);
        assert!(!is_shared(long.as_ref()));
        let values: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
        assert!(!is_shared(values.as_ref()));
    }

    #[test]
    fn a_batch_counts_its_values_and_not_its_shared_nulls() -> Result<(), arrow::error::ArrowError>
    {
        let schema = Arc::new(Schema::new(vec![
            Field::new("v", DataType::Int64, false),
            Field::new("a", DataType::Utf8, true),
            Field::new("b", DataType::Utf8, true),
        ]));
        let v: ArrayRef = Arc::new(Int64Array::from(vec![7i64; 50]));
        let shared = RecordBatch::try_new(
            schema.clone(),
            vec![
                v.clone(),
                null_array(&DataType::Utf8, 50),
                null_array(&DataType::Utf8, 50),
            ],
        )?;
        assert_eq!(batch_memory_size(&shared), v.get_array_memory_size());
        // Arrow's own count sees the whole shared buffers in every column.
        assert!(shared.get_array_memory_size() > 2 * SHARED_ROWS * 4);
        let own = RecordBatch::try_new(
            schema,
            vec![
                v.clone(),
                new_null_array(&DataType::Utf8, 50),
                new_null_array(&DataType::Utf8, 50),
            ],
        )?;
        assert!(batch_memory_size(&own) > v.get_array_memory_size());
        Ok(())
    }
}
