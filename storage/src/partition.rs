//! Splitting a batch of `flows` or `cloudtrail` rows by lake partition (account, region, date,
//! hour of the event time), each partition's rows sorted by event time: a sorted run
//! (`runs.rs`), so a commit merges runs instead of sorting whole partitions. The pieces hold
//! their constant string columns as dictionaries and are not copied for their empty columns
//! (`columns.rs`).

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch, UInt32Array};
use arrow::datatypes::DataType;
use arrow::datatypes::TimestampMillisecondType;

use flowtrail_core::PartitionKey;
use flowtrail_core::schema::{ACCOUNT_ID, EVENT_TIME, REGION};

use crate::LakeError;
use crate::{columns, runs};

const HOUR_MS: i64 = 3_600_000;

fn arrow_err(context: &str) -> impl FnOnce(arrow::error::ArrowError) -> LakeError + '_ {
    move |source| LakeError::Arrow {
        context: context.to_string(),
        source,
    }
}

fn missing(col: &str) -> LakeError {
    LakeError::Arrow {
        context: format!("partitioning: column {col}"),
        source: arrow::error::ArrowError::SchemaError(format!("missing or mistyped column {col}")),
    }
}

/// Column `name` of `batch` as plain strings (a batch split once may hold it as a dictionary).
fn strings(batch: &RecordBatch, name: &str) -> Result<ArrayRef, LakeError> {
    let col = batch.column_by_name(name).ok_or_else(|| missing(name))?;
    match col.data_type() {
        DataType::Utf8 => Ok(col.clone()),
        DataType::Dictionary(_, v) if v.as_ref() == &DataType::Utf8 => {
            arrow::compute::cast(col.as_ref(), &DataType::Utf8).map_err(arrow_err("partitioning"))
        }
        _ => Err(missing(name)),
    }
}

/// Split `batch` into one batch per partition, its rows sorted by event time (stable: rows of
/// the same millisecond keep their order); a batch of one partition and fewer than
/// [`runs::SMALL_RUN_ROWS`] rows is returned unsorted. String columns constant over the batch are
/// held as dictionaries ([`columns::compact`]).
pub fn split(batch: &RecordBatch) -> Result<Vec<(PartitionKey, RecordBatch)>, LakeError> {
    let acct = strings(batch, ACCOUNT_ID)?;
    let acct = acct.as_string::<i32>();
    let region = strings(batch, REGION)?;
    let region = region.as_string::<i32>();
    let time = batch
        .column_by_name(EVENT_TIME)
        .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
        .ok_or_else(|| missing(EVENT_TIME))?;

    // Groups in first-seen order; a batch usually holds one or two, so a linear scan with a
    // "same as last row" fast path beats hashing.
    type Key<'a> = (&'a str, &'a str, i64);
    let mut groups: Vec<(Key<'_>, Vec<u32>)> = Vec::new();
    let mut last = usize::MAX;
    for i in 0..batch.num_rows() {
        let a = if acct.is_null(i) {
            "unknown"
        } else {
            acct.value(i)
        };
        let r = if region.is_null(i) {
            "unknown"
        } else {
            region.value(i)
        };
        let h = if time.is_null(i) {
            0
        } else {
            time.value(i).div_euclid(HOUR_MS)
        };
        let key = (a, r, h);
        if last != usize::MAX && groups[last].0 == key {
            groups[last].1.push(i as u32);
            continue;
        }
        match groups.iter().position(|g| g.0 == key) {
            Some(p) => {
                groups[p].1.push(i as u32);
                last = p;
            }
            None => {
                groups.push((key, vec![i as u32]));
                last = groups.len() - 1;
            }
        }
    }
    // A small object's rows are not copied just to sort them: the writer merges small batches
    // into sorted runs anyway (`writer.rs`).
    if groups.len() == 1 && (batch.num_rows() < runs::SMALL_RUN_ROWS || runs::is_sorted(time)) {
        let ((a, r, h), _) = &groups[0];
        let key = PartitionKey::at(a, r, h * HOUR_MS);
        return Ok(vec![(key, columns::compact(batch.clone()))]);
    }
    // An object's constant columns (its key; its account and region, one object's in AWS's
    // layout) become dictionaries before the rows are taken: each piece copies 4 bytes a row
    // for them and shares the object's one value.
    let whole = columns::compact(batch.clone());
    groups
        .into_iter()
        .map(|((a, r, h), idx)| {
            let idx = runs::stable_order(
                idx.into_iter()
                    .map(|i| (runs::key(time, i as usize), i))
                    .collect(),
            );
            let part = columns::take(&whole, &UInt32Array::from(idx))
                .map_err(arrow_err("partitioning"))?;
            Ok((PartitionKey::at(a, r, h * HOUR_MS), part))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{StringArray, TimestampMillisecondArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use std::sync::Arc;

    fn batch(rows: &[(&str, &str, Option<i64>)]) -> Result<RecordBatch, arrow::error::ArrowError> {
        let schema = Arc::new(Schema::new(vec![
            Field::new(ACCOUNT_ID, DataType::Utf8, true),
            Field::new(REGION, DataType::Utf8, true),
            Field::new(EVENT_TIME, flowtrail_core::schema::timestamp_type(), true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.0))),
                Arc::new(StringArray::from_iter_values(rows.iter().map(|r| r.1))),
                Arc::new(
                    TimestampMillisecondArray::from(rows.iter().map(|r| r.2).collect::<Vec<_>>())
                        .with_timezone("UTC"),
                ),
            ],
        )
    }

    #[test]
    fn rows_split_by_account_region_and_hour() -> Result<(), Box<dyn std::error::Error>> {
        let h = 1_767_866_700_000; // 2026-01-08T10:05Z
        let b = batch(&[
            ("1", "r", Some(h)),
            ("1", "r", Some(h + HOUR_MS)),
            ("2", "r", Some(h)),
            ("1", "r", Some(h + 1)),
        ])?;
        let parts = split(&b)?;
        let dirs: Vec<(String, usize)> = parts
            .iter()
            .map(|(k, b)| (k.dir(flowtrail_core::Table::Flows), b.num_rows()))
            .collect();
        assert_eq!(
            dirs,
            vec![
                (
                    "flows/account_id=1/region=r/date=2026-01-08/hour=10".to_string(),
                    2
                ),
                (
                    "flows/account_id=1/region=r/date=2026-01-08/hour=11".to_string(),
                    1
                ),
                (
                    "flows/account_id=2/region=r/date=2026-01-08/hour=10".to_string(),
                    1
                ),
            ]
        );
        let one = split(&batch(&[("1", "r", None)])?)?;
        assert_eq!(one[0].0.date(), "1970-01-01");
        Ok(())
    }
}
