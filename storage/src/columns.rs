//! How buffered rows hold their columns: cheaply where the values allow it, so that the split by
//! partition, the merge of small runs and a commit's gather copy only the values that vary.
//!
//! A decoded batch carries its table's whole schema (43 columns for `flows`), though a format
//! fills some of them only, and some columns hold one value for a whole object (`source_key`,
//! ~135 bytes a row) or a whole partition (`account_id`, `region`). Copied row by row, those
//! were most of the bytes the split and the gathers moved. Here:
//! - a string column with one value and no null in a batch is held as a one-value dictionary
//!   (a 4-byte key a row) by [`compact`], and one with a few values ([`FEW_VALUES`]: `action`,
//!   `log_status`) as a dictionary of them, found by comparing each row with the row before;
//!   a file writes such columns from their keys (`dictcol.rs`);
//! - a column with no value at all is a slice of the process's shared all-null array of its
//!   type (`flowtrail_core::nulls`) in [`take`], [`gather`] and [`concat()`], instead of being
//!   gathered row by row or zeroed anew.
//!
//! The files do not change: parquet's writer takes a dictionary array for a column its schema
//! declares as the dictionary's value type, and a commit writes with [`plain_schema`], so a file
//! declares `source_key` as a plain string as before. Batches of one partition may hold a column
//! differently (a dictionary in one, plain strings in another); the gathers then copy it as
//! plain strings.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, DictionaryArray, Int32Array, RecordBatch, RecordBatchOptions,
    StringArray, UInt32Array,
};
use arrow::datatypes::{DataType, FieldRef, Int32Type, Schema, SchemaRef};
use arrow::error::ArrowError;
use flowtrail_core::nulls::null_array;

/// Batches with fewer rows are left as they are: copying a few rows of a column costs less
/// than making a dictionary for it.
pub const COMPACT_MIN_ROWS: usize = 64;

/// `field` with type `t` (the same field when it already has it).
fn retyped(field: &FieldRef, t: &DataType) -> FieldRef {
    if field.data_type() == t {
        field.clone()
    } else {
        Arc::new(field.as_ref().clone().with_data_type(t.clone()))
    }
}

/// `batch` with each string column that holds one value on every row as a one-value
/// dictionary; other columns as they are.
pub fn compact(batch: RecordBatch) -> RecordBatch {
    if batch.num_rows() < COMPACT_MIN_ROWS {
        return batch;
    }
    let schema = batch.schema();
    let mut fields: Vec<FieldRef> = Vec::with_capacity(schema.fields().len());
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(batch.num_columns());
    let mut changed = false;
    for (field, col) in schema.fields().iter().zip(batch.columns()) {
        let dict = match constant_string(col) {
            Some(v) => one_value_dictionary(v, col.len()),
            None => few_values_dictionary(col),
        };
        match dict {
            Some(dict) => {
                fields.push(retyped(field, dict.data_type()));
                cols.push(dict);
                changed = true;
            }
            None => {
                fields.push(field.clone());
                cols.push(col.clone());
            }
        }
    }
    if !changed {
        return batch;
    }
    let schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    // Same columns and lengths: this cannot fail; if it ever did, the batch stays as it was.
    RecordBatch::try_new(schema, cols).unwrap_or(batch)
}

/// The value of a `Utf8` column that holds the same string on every row (and no null).
fn constant_string(col: &ArrayRef) -> Option<&str> {
    let s: &StringArray = col.as_string_opt::<i32>()?;
    if s.is_empty() || s.null_count() > 0 {
        return None;
    }
    let first = s.value(0);
    let len = first.len();
    let offsets = s.value_offsets();
    if !offsets.windows(2).all(|w| w[1] - w[0] == len as i32) {
        return None;
    }
    // All values have `first`'s length, so they lie end to end: they are all equal when the
    // bytes equal themselves shifted by one value (one long compare, not one per row).
    let start = usize::try_from(offsets[0]).ok()?;
    let data = s.value_data().get(start..start + len * s.len())?;
    (data[len..] == data[..data.len() - len]).then_some(first)
}

/// Distinct values a string column may hold and still be held as a dictionary.
pub const FEW_VALUES: usize = 8;

/// `col` as a dictionary when it is a string column with a value on every row and at most
/// [`FEW_VALUES`] distinct values (`action`, `log_status`, a quiet object's interfaces). Each
/// row is compared with the row before, then with the few values: no hashing, and a column of
/// many values gives up within its first distinct values.
fn few_values_dictionary(col: &ArrayRef) -> Option<ArrayRef> {
    let s: &StringArray = col.as_string_opt::<i32>()?;
    if s.is_empty() || s.null_count() > 0 {
        return None;
    }
    let mut values: Vec<&str> = Vec::with_capacity(FEW_VALUES);
    let mut keys: Vec<i32> = Vec::with_capacity(s.len());
    let mut last = 0usize;
    for i in 0..s.len() {
        let v = s.value(i);
        if values.get(last) != Some(&v) {
            last = match values.iter().position(|x| *x == v) {
                Some(p) => p,
                None if values.len() < FEW_VALUES => {
                    values.push(v);
                    values.len() - 1
                }
                None => return None,
            };
        }
        keys.push(last as i32);
    }
    let values: ArrayRef = Arc::new(StringArray::from(values));
    let dict = DictionaryArray::<Int32Type>::try_new(Int32Array::from(keys), values).ok()?;
    Some(Arc::new(dict))
}

fn one_value_dictionary(value: &str, rows: usize) -> Option<ArrayRef> {
    let dict = flowtrail_core::schema::one_value_dictionary(value, rows).ok()?;
    Some(Arc::new(dict))
}

/// A column type as a file declares it: a dictionary as its values' type.
fn plain_type(t: &DataType) -> &DataType {
    match t {
        DataType::Dictionary(_, values) => values.as_ref(),
        t => t,
    }
}

/// `schema` with every dictionary column declared as its values' type (the schema of a file).
pub fn plain_schema(schema: &SchemaRef) -> SchemaRef {
    if !schema
        .fields()
        .iter()
        .any(|f| matches!(f.data_type(), DataType::Dictionary(..)))
    {
        return schema.clone();
    }
    let fields: Vec<FieldRef> = schema
        .fields()
        .iter()
        .map(|f| retyped(f, plain_type(f.data_type())))
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

fn all_null(a: &dyn Array) -> bool {
    a.null_count() == a.len()
}

/// Rows `idx` of `batch`; columns with no value are made anew.
pub fn take(batch: &RecordBatch, idx: &UInt32Array) -> Result<RecordBatch, ArrowError> {
    let cols = batch
        .columns()
        .iter()
        .map(|c| {
            if all_null(c.as_ref()) {
                Ok(null_array(c.data_type(), idx.len()))
            } else {
                arrow::compute::take(c.as_ref(), idx, None)
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    with_rows(batch.schema(), cols, idx.len())
}

/// The rows at `at` ((batch, row) pairs) of `batches`, which share their columns' names and
/// value types (each column may be held as a dictionary in some and plainly in others).
pub fn gather(batches: &[&RecordBatch], at: &[(usize, usize)]) -> Result<RecordBatch, ArrowError> {
    by_column(batches, at.len(), |arrays| {
        let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
        arrow::compute::interleave(&refs, at)
    })
}

/// All rows of `batches`, one after another (columns as [`gather`] takes them).
pub fn concat(batches: &[&RecordBatch]) -> Result<RecordBatch, ArrowError> {
    let rows = batches.iter().map(|b| b.num_rows()).sum();
    by_column(batches, rows, |arrays| {
        let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
        arrow::compute::concat(&refs)
    })
}

/// A batch of `rows` rows built column by column from the same column of every batch with
/// `join`: a column with no value in any batch is made anew, and a column held differently
/// across batches (a dictionary here, plain there) is joined as plain values.
fn by_column(
    batches: &[&RecordBatch],
    rows: usize,
    join: impl Fn(&[ArrayRef]) -> Result<ArrayRef, ArrowError>,
) -> Result<RecordBatch, ArrowError> {
    let Some(first) = batches.first() else {
        return Err(ArrowError::InvalidArgumentError(
            "no batches to join".to_string(),
        ));
    };
    let schema = first.schema();
    let mut fields: Vec<FieldRef> = Vec::with_capacity(first.num_columns());
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(first.num_columns());
    for (c, field) in schema.fields().iter().enumerate() {
        let col = join_column(batches, c, rows, &join)?;
        fields.push(retyped(field, col.data_type()));
        cols.push(col);
    }
    let schema = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
    with_rows(schema, cols, rows)
}

/// Column `c` of the rows at `at` of `batches` (one column of [`gather`]).
pub fn gather_column(
    batches: &[&RecordBatch],
    c: usize,
    at: &[(usize, usize)],
) -> Result<ArrayRef, ArrowError> {
    join_column(batches, c, at.len(), &|arrays: &[ArrayRef]| {
        let refs: Vec<&dyn Array> = arrays.iter().map(|a| a.as_ref()).collect();
        arrow::compute::interleave(&refs, at)
    })
}

/// Column `c` of every batch joined into `rows` rows, as [`by_column`] joins each column.
fn join_column(
    batches: &[&RecordBatch],
    c: usize,
    rows: usize,
    join: &impl Fn(&[ArrayRef]) -> Result<ArrayRef, ArrowError>,
) -> Result<ArrayRef, ArrowError> {
    let Some(first) = batches.first() else {
        return Err(ArrowError::InvalidArgumentError(
            "no batches to join".to_string(),
        ));
    };
    let schema = first.schema();
    let field = schema
        .fields()
        .get(c)
        .ok_or_else(|| ArrowError::SchemaError(format!("the batches have no column {c}")))?;
    let arrays = batches
        .iter()
        .map(|b| {
            b.columns().get(c).cloned().ok_or_else(|| {
                ArrowError::SchemaError(format!("a batch has no column {}", field.name()))
            })
        })
        .collect::<Result<Vec<ArrayRef>, _>>()?;
    if arrays.iter().all(|a| all_null(a.as_ref())) {
        Ok(null_array(field.data_type(), rows))
    } else if arrays.iter().all(|a| a.data_type() == field.data_type()) {
        join(&arrays)
    } else {
        join(&as_plain(&arrays)?)
    }
}

/// Dictionary arrays cast to their values' type; others as they are.
fn as_plain(arrays: &[ArrayRef]) -> Result<Vec<ArrayRef>, ArrowError> {
    arrays
        .iter()
        .map(|a| match a.data_type() {
            DataType::Dictionary(_, values) => arrow::compute::cast(a.as_ref(), values),
            _ => Ok(a.clone()),
        })
        .collect()
}

fn with_rows(
    schema: SchemaRef,
    cols: Vec<ArrayRef>,
    rows: usize,
) -> Result<RecordBatch, ArrowError> {
    RecordBatch::try_new_with_options(
        schema,
        cols,
        &RecordBatchOptions::new().with_row_count(Some(rows)),
    )
}

/// `batch` with string columns `extra` (name, nullable, values) appended: for tests.
#[cfg(test)]
pub(crate) fn with_strings(
    batch: &RecordBatch,
    extra: Vec<(&str, bool, ArrayRef)>,
) -> Result<RecordBatch, ArrowError> {
    let mut fields: Vec<FieldRef> = batch.schema().fields().iter().cloned().collect();
    let mut cols = batch.columns().to_vec();
    for (name, nullable, col) in extra {
        fields.push(Arc::new(arrow::datatypes::Field::new(
            name,
            DataType::Utf8,
            nullable,
        )));
        cols.push(col);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::Int64Array;
    use arrow::datatypes::Field;

    /// A batch of these rows, the last one repeated up to [`COMPACT_MIN_ROWS`] rows.
    fn batch(keys: &[&str], other: &[Option<&str>]) -> Result<RecordBatch, ArrowError> {
        let pad = |n: usize| COMPACT_MIN_ROWS.saturating_sub(n);
        let mut keys = keys.to_vec();
        keys.extend(std::iter::repeat_n(keys[keys.len() - 1], pad(keys.len())));
        let mut other = other.to_vec();
        other.extend(std::iter::repeat_n(
            other[other.len() - 1],
            pad(other.len()),
        ));
        let schema = Arc::new(Schema::new(vec![
            Field::new("source_key", DataType::Utf8, false),
            Field::new("srcaddr", DataType::Utf8, true),
            Field::new("vpc_id", DataType::Utf8, true),
            Field::new("bytes", DataType::Int64, true),
        ]));
        let n = keys.len();
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(keys)),
                Arc::new(StringArray::from(other)),
                null_array(&DataType::Utf8, n),
                Arc::new(Int64Array::from_iter_values(0..n as i64)),
            ],
        )
    }

    /// The batch's values as text, whatever the columns' types.
    fn text(b: &RecordBatch) -> Result<Vec<Vec<Option<String>>>, ArrowError> {
        b.columns()
            .iter()
            .map(|c| {
                let s = arrow::compute::cast(c.as_ref(), &DataType::Utf8)?;
                Ok(s.as_string::<i32>()
                    .iter()
                    .map(|v| v.map(str::to_string))
                    .collect())
            })
            .collect()
    }

    #[test]
    fn constant_strings_become_dictionaries_and_nothing_else_changes() -> Result<(), ArrowError> {
        let many: Vec<String> = (0..=FEW_VALUES).map(|i| format!("v{i}")).collect();
        let many: Vec<Option<&str>> = many.iter().map(|v| Some(v.as_str())).collect();
        let b = batch(&["k", "k", "k"], &many)?;
        let c = compact(b.clone());
        assert!(matches!(c.column(0).data_type(), DataType::Dictionary(..)));
        assert_eq!(c.column(1).data_type(), &DataType::Utf8, "too many values");
        assert_eq!(
            c.column(2).data_type(),
            &DataType::Utf8,
            "no value: not constant"
        );
        assert_eq!(text(&c)?, text(&b)?);
        assert_eq!(plain_schema(&c.schema()), b.schema());
        // a column with a null is left plain; two values make a dictionary of two
        let b = batch(&["k", "j"], &[Some("a"), None])?;
        let c = compact(b.clone());
        assert_eq!(c.column(0).as_dictionary::<Int32Type>().values().len(), 2);
        assert_eq!(c.column(1).data_type(), &DataType::Utf8);
        Ok(())
    }

    #[test]
    fn a_string_is_constant_only_when_every_row_holds_it() {
        let c = |v: Vec<&str>| -> ArrayRef { Arc::new(StringArray::from(v)) };
        assert_eq!(constant_string(&c(vec!["ab", "ab", "ab"])), Some("ab"));
        assert_eq!(constant_string(&c(vec!["", ""])), Some(""));
        assert_eq!(constant_string(&c(vec!["ab", "ab", "ac"])), None);
        assert_eq!(constant_string(&c(vec!["ac", "ab", "ab"])), None);
        assert_eq!(constant_string(&c(vec!["a", "aa"])), None);
        // Same bytes end to end, cut differently: "ab"+"ab" is not "a"+"bab".
        assert_eq!(constant_string(&c(vec!["a", "bab"])), None);
        let sliced = c(vec!["x", "ab", "ab", "y"]).slice(1, 2);
        assert_eq!(constant_string(&sliced), Some("ab"));
        let with_null: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None]));
        assert_eq!(constant_string(&with_null), None);
    }

    #[test]
    fn a_column_of_few_values_becomes_a_dictionary_of_them() -> Result<(), ArrowError> {
        let few = [
            Some("ACCEPT"),
            Some("REJECT"),
            Some("REJECT"),
            Some("ACCEPT"),
            Some("OK"),
        ];
        let b = batch(&["k"], &few)?;
        let c = compact(b.clone());
        let d = c.column(1).as_dictionary::<Int32Type>();
        assert_eq!(d.values().len(), 3, "each value once");
        assert_eq!(&d.keys().values()[..5], &[0, 1, 1, 0, 2]);
        assert_eq!(text(&c)?, text(&b)?);
        // FEW_VALUES distinct values still fit; one more does not; a null keeps it plain.
        let fit: Vec<String> = (0..FEW_VALUES).map(|i| format!("v{i}")).collect();
        let fit: Vec<Option<&str>> = fit.iter().map(|v| Some(v.as_str())).collect();
        let c = compact(batch(&["k"], &fit)?);
        assert!(matches!(c.column(1).data_type(), DataType::Dictionary(..)));
        let c = compact(batch(&["k"], &[Some("a"), None, Some("b")])?);
        assert_eq!(c.column(1).data_type(), &DataType::Utf8);
        Ok(())
    }

    #[test]
    fn gathers_join_dictionaries_plain_columns_and_empty_ones() -> Result<(), ArrowError> {
        let a = compact(batch(&["k1", "k1"], &[Some("x"), Some("y")])?);
        let b = batch(&["k2", "k3"], &[None, Some("z")])?; // plain source_key
        let c = compact(batch(&["k4", "k4"], &[Some("w"), Some("w")])?);
        let want = |rows: &[(usize, usize)]| -> Result<Vec<Vec<Option<String>>>, ArrowError> {
            let plain = [
                batch(&["k1", "k1"], &[Some("x"), Some("y")])?,
                b.clone(),
                batch(&["k4", "k4"], &[Some("w"), Some("w")])?,
            ];
            let refs: Vec<&RecordBatch> = plain.iter().collect();
            text(&arrow::compute::interleave_record_batch(&refs, rows)?)
        };
        let at = [(2, 1), (0, 1), (1, 0), (0, 0), (1, 1), (2, 0)];
        let g = gather(&[&a, &b, &c], &at)?;
        assert_eq!(text(&g)?, want(&at)?);
        assert_eq!(g.column(0).data_type(), &DataType::Utf8, "mixed: plain");
        assert_eq!(g.column(2).null_count(), 6);
        // dictionaries only: the result stays a dictionary
        let g = gather(&[&a, &c], &[(1, 0), (0, 1)])?;
        assert!(matches!(g.column(0).data_type(), DataType::Dictionary(..)));
        assert_eq!(
            text(&g)?[0],
            vec![Some("k4".to_string()), Some("k1".to_string())]
        );
        let all = concat(&[&a, &b, &c])?;
        let every: Vec<(usize, usize)> = (0..3)
            .flat_map(|b| (0..COMPACT_MIN_ROWS).map(move |i| (b, i)))
            .collect();
        assert_eq!(text(&all)?, want(&every)?);
        let t = take(&a, &UInt32Array::from(vec![1, 1, 0]))?;
        assert_eq!(
            text(&t)?[1],
            vec![
                Some("y".to_string()),
                Some("y".to_string()),
                Some("x".to_string())
            ]
        );
        assert_eq!(t.column(2).null_count(), 3);
        Ok(())
    }
}
