//! CloudTrail `eventID` dedupe: CloudTrail delivers at least once, and the same event can arrive
//! in two objects (or twice through CloudWatch Logs and S3). [`EventIdDedup`] drops rows of the
//! `cloudtrail` table whose `event_id` it has seen before.
//!
//! Memory is bounded by time, not by count: the 128-bit xxh3 hash of each id is kept in a
//! bucket for its event's hour, and buckets more than `horizon_hours` older than the newest event
//! time seen are evicted after every batch. Duplicates share their event time (they are the
//! same event), so a duplicate is caught as long as its original is within the horizon of the
//! newest event seen. An event older than the horizon is still deduplicated within its own batch,
//! but its id is not kept past the batch (a replay that goes back in time by more than the
//! horizon may let such a duplicate through; widen the horizon for that).
//!
//! Rows with a null `event_id` are always kept. Event time never comes from the wall clock.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use arrow::array::{Array, AsArray, BooleanArray};
use arrow::compute::filter_record_batch;
use arrow::datatypes::TimestampMillisecondType;
use arrow::error::ArrowError;
use arrow::record_batch::RecordBatch;
use flowtrail_core::schema::cloudtrail::col;
use xxhash_rust::xxh3::xxh3_128;

use crate::IngestError;

/// Default horizon: CloudTrail delivers within minutes; replays of adjacent objects overlap by
/// far less than two days.
pub const DEFAULT_HORIZON_HOURS: i64 = 48;

const HOUR_MS: i64 = 3_600_000;

/// The keys are already uniform hashes: use their low 64 bits as the table hash.
#[derive(Debug, Default)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
        }
    }

    fn write_u128(&mut self, i: u128) {
        self.0 = i as u64;
    }
}

type IdMap = HashMap<u128, i64, BuildHasherDefault<IdHasher>>;

/// Drops `cloudtrail` rows whose `event_id` was seen within the horizon.
#[derive(Debug)]
pub struct EventIdDedup {
    horizon_hours: i64,
    /// Hash of every kept id → its event hour.
    seen: IdMap,
    /// Event hour → hashes first seen in it (for eviction).
    buckets: BTreeMap<i64, Vec<u128>>,
    /// Newest event hour seen.
    newest_hour: Option<i64>,
}

impl Default for EventIdDedup {
    fn default() -> Self {
        Self::new(DEFAULT_HORIZON_HOURS)
    }
}

impl EventIdDedup {
    /// Keep the ids of events within `horizon_hours` of the newest event time seen (negative
    /// values count as 0: only the newest hour is kept).
    pub fn new(horizon_hours: i64) -> Self {
        Self {
            horizon_hours: horizon_hours.max(0),
            seen: IdMap::default(),
            buckets: BTreeMap::new(),
            newest_hour: None,
        }
    }

    /// Ids currently remembered.
    pub fn len(&self) -> usize {
        self.seen.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }

    /// Drop rows whose `event_id` was seen before (in this batch or earlier ones); rows with a
    /// null `event_id` are kept. Returns the kept rows (the same batch when none were dropped)
    /// and how many were dropped. `batch` needs `event_id` (Utf8) and `event_time`
    /// (timestamp, ms) columns, as in the `cloudtrail` schema.
    pub fn filter(&mut self, batch: &RecordBatch) -> Result<(RecordBatch, usize), IngestError> {
        let schema_error = |what: &str| IngestError::Arrow {
            context: "cloudtrail eventID dedupe".into(),
            source: ArrowError::SchemaError(what.into()),
        };
        let ids = batch
            .column_by_name(col::EVENT_ID)
            .and_then(|c| c.as_string_opt::<i32>())
            .ok_or_else(|| schema_error("no Utf8 event_id column"))?;
        let times = batch
            .column_by_name(col::EVENT_TIME)
            .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
            .ok_or_else(|| schema_error("no millisecond event_time column"))?;
        let mut keep = Vec::with_capacity(batch.num_rows());
        let mut dropped = 0;
        for i in 0..batch.num_rows() {
            if ids.is_null(i) {
                keep.push(true);
                continue;
            }
            let hour = if times.is_null(i) {
                self.newest_hour.unwrap_or(0)
            } else {
                times.value(i).div_euclid(HOUR_MS)
            };
            let hash = xxh3_128(ids.value(i).as_bytes());
            match self.seen.entry(hash) {
                Entry::Occupied(_) => {
                    keep.push(false);
                    dropped += 1;
                }
                Entry::Vacant(v) => {
                    v.insert(hour);
                    self.buckets.entry(hour).or_default().push(hash);
                    keep.push(true);
                }
            }
            self.newest_hour = Some(self.newest_hour.map_or(hour, |n| n.max(hour)));
        }
        self.evict();
        if dropped == 0 {
            return Ok((batch.clone(), 0));
        }
        let kept = filter_record_batch(batch, &BooleanArray::from(keep)).map_err(|source| {
            IngestError::Arrow {
                context: "cloudtrail eventID dedupe".into(),
                source,
            }
        })?;
        Ok((kept, dropped))
    }

    /// Forget the hours older than the newest hour minus the horizon.
    fn evict(&mut self) {
        let Some(newest) = self.newest_hour else {
            return;
        };
        let cutoff = newest.saturating_sub(self.horizon_hours);
        while let Some(entry) = self.buckets.first_entry() {
            if *entry.key() >= cutoff {
                break;
            }
            for hash in entry.remove() {
                self.seen.remove(&hash);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use arrow::array::{StringArray, TimestampMillisecondArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use flowtrail_core::schema::timestamp_type;
    use proptest::prelude::*;

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// A batch with just the two columns dedupe reads: (id, event hour).
    fn batch(rows: &[(Option<&str>, i64)]) -> Result<RecordBatch, ArrowError> {
        let schema = Schema::new(vec![
            Field::new(col::EVENT_TIME, timestamp_type(), false),
            Field::new(col::EVENT_ID, DataType::Utf8, true),
        ]);
        let times = TimestampMillisecondArray::from_iter_values(
            rows.iter().map(|r| r.1 * HOUR_MS + 59_000),
        )
        .with_timezone("UTC");
        let ids = StringArray::from_iter(rows.iter().map(|r| r.0));
        RecordBatch::try_new(Arc::new(schema), vec![Arc::new(times), Arc::new(ids)])
    }

    fn ids(b: &RecordBatch) -> Vec<Option<String>> {
        match b
            .column_by_name(col::EVENT_ID)
            .and_then(|c| c.as_string_opt::<i32>())
        {
            Some(a) => a.iter().map(|v| v.map(str::to_owned)).collect(),
            None => Vec::new(),
        }
    }

    fn some(v: &[&str]) -> Vec<Option<String>> {
        v.iter().map(|s| Some(s.to_string())).collect()
    }

    #[test]
    fn duplicates_within_a_batch() -> TestResult {
        let mut d = EventIdDedup::default();
        let (out, dropped) = d.filter(&batch(&[
            (Some("a"), 10),
            (Some("b"), 10),
            (Some("a"), 10),
        ])?)?;
        assert_eq!((ids(&out), dropped), (some(&["a", "b"]), 1));
        assert_eq!(d.len(), 2);
        Ok(())
    }

    #[test]
    fn duplicates_across_batches() -> TestResult {
        let mut d = EventIdDedup::new(48);
        let (_, dropped) = d.filter(&batch(&[(Some("a"), 10), (Some("b"), 11)])?)?;
        assert_eq!(dropped, 0);
        let (out, dropped) = d.filter(&batch(&[
            (Some("b"), 11),
            (Some("c"), 12),
            (Some("a"), 10),
        ])?)?;
        assert_eq!((ids(&out), dropped), (some(&["c"]), 2));
        Ok(())
    }

    #[test]
    fn ids_past_the_horizon_are_evicted() -> TestResult {
        let mut d = EventIdDedup::new(2);
        d.filter(&batch(&[(Some("old"), 100), (Some("mid"), 102)])?)?;
        assert_eq!(d.len(), 2);
        // Newest hour 103: hour 100 is older than 103 - 2, hour 102 is kept.
        d.filter(&batch(&[(Some("new"), 103)])?)?;
        assert_eq!(d.len(), 2);
        let (out, dropped) = d.filter(&batch(&[
            (Some("old"), 100),
            (Some("mid"), 102),
            (Some("old"), 100),
        ])?)?;
        // "old" is past the horizon: let through once (deduplicated within the batch), "mid" is
        // still remembered.
        assert_eq!((ids(&out), dropped), (some(&["old"]), 2));
        assert_eq!(d.len(), 2);
        Ok(())
    }

    #[test]
    fn null_ids_are_kept() -> TestResult {
        let mut d = EventIdDedup::default();
        let (out, dropped) = d.filter(&batch(&[(None, 1), (None, 1), (Some("a"), 1)])?)?;
        assert_eq!((out.num_rows(), dropped), (3, 0));
        assert_eq!(d.len(), 1);
        Ok(())
    }

    #[test]
    fn a_batch_without_the_columns_is_an_error() -> TestResult {
        let schema = Schema::new(vec![Field::new("x", DataType::Utf8, true)]);
        let b = RecordBatch::try_new(
            Arc::new(schema),
            vec![Arc::new(StringArray::from(vec!["a"]))],
        )?;
        assert!(matches!(
            EventIdDedup::default().filter(&b),
            Err(IngestError::Arrow { .. })
        ));
        Ok(())
    }

    proptest! {
        /// Within the horizon, the output of any sequence of batches has every distinct id
        /// exactly once (and every null-id row).
        #[test]
        fn every_distinct_id_exactly_once(
            batches in prop::collection::vec(
                prop::collection::vec((prop::option::weighted(0.9, 0u8..40), 0i64..48), 0..30),
                1..6,
            )
        ) {
            let mut d = EventIdDedup::new(48);
            let mut out = Vec::new();
            let mut nulls_in = 0;
            let mut distinct = std::collections::BTreeSet::new();
            for rows in &batches {
                let names: Vec<(Option<String>, i64)> =
                    rows.iter().map(|(id, h)| (id.map(|i| format!("ev-{i}")), *h)).collect();
                let refs: Vec<(Option<&str>, i64)> = names.iter().map(|(id, h)| (id.as_deref(), *h)).collect();
                nulls_in += refs.iter().filter(|r| r.0.is_none()).count();
                distinct.extend(names.iter().filter_map(|r| r.0.clone()));
                let b = batch(&refs).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let (kept, dropped) = d.filter(&b).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(kept.num_rows() + dropped, b.num_rows());
                out.extend(ids(&kept));
            }
            let nulls_out = out.iter().filter(|v| v.is_none()).count();
            prop_assert_eq!(nulls_out, nulls_in);
            let got: Vec<String> = out.into_iter().flatten().collect();
            let unique: std::collections::BTreeSet<String> = got.iter().cloned().collect();
            prop_assert_eq!(unique.len(), got.len(), "an id was emitted twice");
            prop_assert_eq!(unique, distinct);
        }
    }
}
