//! Sorted runs: batches whose rows are in `event_time` order, and the merge that keeps them so.
//!
//! The lake's files are sorted by event time. Sorting a partition's buffer at commit time by
//! gathering its rows in time order touched them in random order: the partition's rows come
//! from hundreds of objects whose times interleave, so every value copied was a cache miss, and
//! that gather was a quarter of a replay's CPU. Instead, each object's rows are sorted when they
//! are split by partition (a few thousand rows, in cache: `partition::split`), small runs are
//! merged as they are buffered (`writer.rs`), and a commit merges the runs: its gather reads
//! every run front to back.
//!
//! Ties keep arrival order: within a run the sort is stable, and between runs the earlier run
//! (arrived first) goes first, so the result equals a stable sort of the rows as they arrived.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use arrow::array::{Array, AsArray, RecordBatch, TimestampMillisecondArray};
use arrow::datatypes::TimestampMillisecondType;

use flowtrail_core::schema::EVENT_TIME;

use crate::columns;

/// A batch of fewer rows than this is small: its fixed costs (an allocation per buffer, a few
/// hundred bytes of array headers per column, any room its decoder left) weigh on its rows.
/// Small batches are not sorted on their own but merged with others and sorted together.
pub const SMALL_RUN_ROWS: usize = 256;

/// One sorted run of all of `batches`' rows: merged when each is a sorted run, sorted whole
/// when not (small batches arrive unsorted), concatenated when they already follow one another
/// or have no `event_time`.
pub fn sorted_run(batches: &[RecordBatch]) -> Result<RecordBatch, arrow::error::ArrowError> {
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    if refs.iter().all(|b| times(b).is_some_and(is_sorted)) && consecutive(&refs) {
        return columns::concat(&refs);
    }
    let order = match merge_order(&refs) {
        Some(order) => order,
        None => match sort_order(&refs)? {
            Some(order) => order,
            None => return columns::concat(&refs),
        },
    };
    let at: Vec<(usize, usize)> = order
        .iter()
        .map(|&(r, i)| (r as usize, i as usize))
        .collect();
    columns::gather(&refs, &at)
}

/// The (batch, row) of every row of `batches` in a stable sort by event time, whatever their
/// order; `None` when a batch has no `event_time`. Only the time columns are gathered (8 bytes
/// a row, plus 4 for the index).
pub fn sort_order(
    batches: &[&RecordBatch],
) -> Result<Option<Vec<(u32, u32)>>, arrow::error::ArrowError> {
    let Some(cols) = batches.iter().map(|b| times(b)).collect::<Option<Vec<_>>>() else {
        return Ok(None);
    };
    let mut keys: Vec<i64> = Vec::with_capacity(cols.iter().map(|t| t.len()).sum());
    for t in &cols {
        keys.extend((0..t.len()).map(|i| key(t, i)));
    }
    u32::try_from(keys.len())
        .map_err(|_| arrow::error::ArrowError::ComputeError(format!("{} rows", keys.len())))?;
    let idx = stable_order(keys.into_iter().zip(0u32..).collect());
    // where each batch starts in the concatenated order
    let mut starts = Vec::with_capacity(batches.len());
    let mut n = 0usize;
    for b in batches {
        starts.push(n);
        n += b.num_rows();
    }
    let at = idx
        .iter()
        .map(|&i| {
            let i = i as usize;
            let b = starts.partition_point(|&s| s <= i) - 1;
            (b as u32, (i - starts[b]) as u32)
        })
        .collect();
    Ok(Some(at))
}

/// The rows of `pairs` (key, row), rows ascending, ordered by key; ties keep the rows' order.
///
/// The pairs are distinct, so an unstable sort of them gives the stable order by key: it
/// compares 12 bytes in place where a stable sort by key loaded each key through its row (a
/// fifth of a split's instructions on 1,000-record objects). Rows already in order are not
/// sorted.
pub fn stable_order(mut pairs: Vec<(i64, u32)>) -> Vec<u32> {
    if !pairs.is_sorted() {
        pairs.sort_unstable();
    }
    pairs.into_iter().map(|(_, row)| row).collect()
}

/// A batch's `event_time` column, when it has one of the lake's timestamp type.
pub fn times(batch: &RecordBatch) -> Option<&TimestampMillisecondArray> {
    batch
        .column_by_name(EVENT_TIME)?
        .as_primitive_opt::<TimestampMillisecondType>()
}

/// The sort key of row `i` (nulls first).
#[inline]
pub fn key(t: &TimestampMillisecondArray, i: usize) -> i64 {
    if t.is_null(i) { i64::MIN } else { t.value(i) }
}

/// Whether `t` is in ascending order (nulls first).
pub fn is_sorted(t: &TimestampMillisecondArray) -> bool {
    (1..t.len()).all(|i| key(t, i - 1) <= key(t, i))
}

/// The (run, row) of every output row when `runs`, each sorted, are merged by event time; ties
/// go to the earlier run. `None` when a run has no `event_time` or is not sorted.
pub fn merge_order(runs: &[&RecordBatch]) -> Option<Vec<(u32, u32)>> {
    let cols: Vec<&TimestampMillisecondArray> =
        runs.iter().map(|b| times(b)).collect::<Option<_>>()?;
    if !cols.iter().all(|t| is_sorted(t)) {
        return None;
    }
    let total: usize = cols.iter().map(|t| t.len()).sum();
    let mut out = Vec::with_capacity(total);
    let mut heap: BinaryHeap<Reverse<(i64, u32, u32)>> = BinaryHeap::with_capacity(cols.len());
    for (r, t) in cols.iter().enumerate() {
        if !t.is_empty() {
            heap.push(Reverse((key(t, 0), r as u32, 0)));
        }
    }
    while let Some(Reverse((_, r, i))) = heap.pop() {
        out.push((r, i));
        let t = cols[r as usize];
        // Rows of one run that follow on within the same key or before the next run's head
        // are taken without going through the heap.
        let mut next = i as usize + 1;
        let bound = heap.peek().map(|Reverse((k, rr, _))| (*k, *rr));
        while next < t.len() {
            let k = key(t, next);
            match bound {
                Some((bk, br)) if (k, r) > (bk, br) => break,
                _ => {
                    out.push((r, next as u32));
                    next += 1;
                }
            }
        }
        if next < t.len() {
            heap.push(Reverse((key(t, next), r, next as u32)));
        }
    }
    Some(out)
}

/// Whether the runs follow one another: each starts at or after the previous one's end.
pub fn consecutive(runs: &[&RecordBatch]) -> bool {
    let edges: Option<Vec<(i64, i64)>> = runs
        .iter()
        .map(|b| {
            let t = times(b)?;
            Some(match t.len() {
                0 => (i64::MAX, i64::MIN),
                n => (key(t, 0), key(t, n - 1)),
            })
        })
        .collect();
    let Some(edges) = edges else { return false };
    let mut last = i64::MIN;
    for (first, end) in edges {
        if first == i64::MAX {
            continue;
        }
        if first < last {
            return false;
        }
        last = end;
    }
    true
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    #[test]
    fn rows_are_ordered_by_key_and_ties_keep_their_order() {
        // Keys with ties and nulls first (i64::MIN), rows in arrival order; the result equals
        // a stable sort by key.
        let keys = [5, 3, i64::MIN, 3, 9, 5, i64::MIN, 1, 3];
        let rows: Vec<u32> = vec![0, 2, 3, 5, 6, 8, 11, 12, 20];
        let pairs: Vec<(i64, u32)> = keys.iter().copied().zip(rows.iter().copied()).collect();
        let mut want = pairs.clone();
        want.sort_by_key(|p| p.0);
        let want: Vec<u32> = want.into_iter().map(|p| p.1).collect();
        assert_eq!(stable_order(pairs), want);
        assert_eq!(want, vec![3, 11, 12, 2, 5, 20, 0, 8, 6]);
        // Already in order: as it was.
        assert_eq!(stable_order(vec![(1, 4), (1, 7), (2, 1)]), vec![4, 7, 1]);
    }

    fn run(times: &[Option<i64>], tag: i64) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![
            Field::new("tag", DataType::Int64, false),
            Field::new(EVENT_TIME, flowtrail_core::schema::timestamp_type(), true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from(vec![tag; times.len()])),
                Arc::new(TimestampMillisecondArray::from(times.to_vec()).with_timezone("UTC")),
            ],
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn merging_sorted_runs_equals_a_stable_sort_of_their_rows() {
        let a = run(&[None, Some(1), Some(5), Some(5), Some(9)], 0);
        let b = run(&[Some(0), Some(5), Some(6)], 1);
        let c = run(&[], 2);
        let d = run(&[None, Some(5), Some(10)], 3);
        let runs = [&a, &b, &c, &d];
        let order = merge_order(&runs).unwrap_or_else(|| panic!("runs are sorted"));
        // the reference: every (key, run, row) sorted stably by key
        let mut all: Vec<(i64, u32, u32)> = Vec::new();
        for (r, batch) in runs.iter().enumerate() {
            let t = times(batch).unwrap_or_else(|| panic!("times"));
            for i in 0..t.len() {
                all.push((key(t, i), r as u32, i as u32));
            }
        }
        all.sort_by_key(|x| x.0);
        let want: Vec<(u32, u32)> = all.iter().map(|x| (x.1, x.2)).collect();
        assert_eq!(order, want);
    }

    #[test]
    fn an_unsorted_run_or_a_missing_time_gives_no_merge() {
        let sorted = run(&[Some(1), Some(2)], 0);
        let unsorted = run(&[Some(2), Some(1)], 1);
        assert!(merge_order(&[&sorted, &unsorted]).is_none());
        let schema = Arc::new(Schema::new(vec![Field::new("x", DataType::Int64, false)]));
        let timeless = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1]))])
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(merge_order(&[&sorted, &timeless]).is_none());
    }

    #[test]
    fn consecutive_runs_are_recognised() {
        let a = run(&[Some(1), Some(3)], 0);
        let b = run(&[Some(3), Some(4)], 1);
        let empty = run(&[], 2);
        let c = run(&[Some(2)], 3);
        assert!(consecutive(&[&a, &empty, &b]));
        assert!(!consecutive(&[&a, &c]));
    }
}
