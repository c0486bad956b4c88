//! What the engine holds of an open hour until it closes: only the columns detection reads,
//! copied into batches of about [`TARGET_ROWS`] rows.
//!
//! Decoded batches are one source object each (often a few hundred rows) with every column of
//! the core schema. Held as they are, an hour keeps all of its objects' columns alive (and the
//! decoder's buffers behind them), and every rule pays per-batch costs (statistics, dispatch)
//! thousands of times. Instead, a `flows` batch is cut down to the columns the rules' plans
//! scan ([`crate::rules::RuleSet::columns`]) plus those the built-in detectors read
//! ([`DETECTOR_FLOW_COLUMNS`]), and appended to the hour's
//! [`BatchCoalescer`]. `cloudtrail` rows (a few percent of the volume, JSON columns read by the
//! fence and rules) keep every column and are only coalesced.
//!
//! A batch whose schema is not the core one (a variant the decoder did not produce) is kept
//! whole: the rules then plan against it as before.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::RecordBatch;
use arrow::compute::BatchCoalescer;
use arrow::datatypes::{DataType, Schema, SchemaRef};

use flowtrail_core::schema::flows::col;
use flowtrail_core::schema::{ACCOUNT_ID, EVENT_TIME, REGION};

use crate::DetectError;

/// Rows per held batch.
pub const TARGET_ROWS: usize = 8192;

/// `flows` columns the built-in detectors read (flow baselines, the fence), whatever the
/// rules scan.
pub const DETECTOR_FLOW_COLUMNS: &[&str] = &[
    ACCOUNT_ID,
    REGION,
    EVENT_TIME,
    col::INTERFACE_ID,
    col::INSTANCE_ID,
    col::SUBNET_ID,
    col::SRCADDR,
    col::DSTADDR,
    col::SRCPORT,
    col::DSTPORT,
    col::ACTION,
    col::FLOW_DIRECTION,
    col::BYTES,
    col::PACKETS,
];

/// The columns of one table that are kept.
#[derive(Debug, Clone)]
pub(crate) struct Projection {
    core: SchemaRef,
    /// Indices into the core schema, ascending; `None`: every column.
    indices: Option<Vec<usize>>,
    kept: SchemaRef,
}

impl Projection {
    /// Keep `names` of `core` (and the non-nullable columns other than strings, which the rules
    /// would not be able to stand in for); `None` keeps all.
    pub(crate) fn new(core: SchemaRef, names: Option<&BTreeSet<String>>) -> Self {
        let Some(names) = names else {
            return Self::all(core);
        };
        let indices: Vec<usize> = core
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| {
                names.contains(f.name()) || (!f.is_nullable() && f.data_type() != &DataType::Utf8)
            })
            .map(|(i, _)| i)
            .collect();
        // A batch of no columns would lose its row count.
        if indices.is_empty() || indices.len() == core.fields().len() {
            return Self::all(core);
        }
        let kept = Arc::new(Schema::new_with_metadata(
            indices
                .iter()
                .map(|&i| core.field(i).clone())
                .collect::<Vec<_>>(),
            core.metadata().clone(),
        ));
        Self {
            core,
            indices: Some(indices),
            kept,
        }
    }

    /// Keep every column.
    pub(crate) fn all(core: SchemaRef) -> Self {
        Self {
            kept: core.clone(),
            core,
            indices: None,
        }
    }

    /// The kept columns of `batch`, or `None` when its schema is not the core one.
    fn apply(&self, batch: &RecordBatch) -> Option<RecordBatch> {
        let schema = batch.schema();
        if schema.fields() != self.core.fields() {
            return None;
        }
        match &self.indices {
            None => Some(batch.clone()),
            Some(idx) => RecordBatch::try_new(
                self.kept.clone(),
                idx.iter().map(|&i| batch.column(i).clone()).collect(),
            )
            .ok(),
        }
    }
}

/// One table's rows of an open hour.
#[derive(Debug)]
pub(crate) struct Held {
    coalescer: BatchCoalescer,
    done: Vec<RecordBatch>,
}

impl Held {
    pub(crate) fn new(p: &Projection) -> Self {
        Self {
            coalescer: BatchCoalescer::new(p.kept.clone(), TARGET_ROWS),
            done: Vec::new(),
        }
    }

    /// Add `batch` (the full row schema), projected when it has the core schema.
    pub(crate) fn push(&mut self, p: &Projection, batch: &RecordBatch) -> Result<(), DetectError> {
        let arrow = |source| DetectError::Arrow {
            context: "holding rows of an open hour".into(),
            source,
        };
        match p.apply(batch) {
            Some(b) => {
                self.coalescer.push_batch(b).map_err(arrow)?;
                while let Some(b) = self.coalescer.next_completed_batch() {
                    self.done.push(b);
                }
            }
            None => {
                // Keep the order: what is buffered goes first.
                self.flush().map_err(arrow)?;
                self.done.push(batch.clone());
            }
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), arrow::error::ArrowError> {
        self.coalescer.finish_buffered_batch()?;
        while let Some(b) = self.coalescer.next_completed_batch() {
            self.done.push(b);
        }
        Ok(())
    }

    /// Every held batch.
    pub(crate) fn finish(mut self) -> Result<Vec<RecordBatch>, DetectError> {
        self.flush().map_err(|source| DetectError::Arrow {
            context: "holding rows of an open hour".into(),
            source,
        })?;
        Ok(self.done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::{Flow, flows};
    use flowtrail_core::schema::flows::flows_schema;

    fn one() -> RecordBatch {
        flows(&[Flow {
            eni: "eni-1",
            instance: None,
            subnet: None,
            src: "10.0.0.1".into(),
            dst: "10.0.0.2".into(),
            sport: 40000,
            dport: 443,
            bytes: 100,
            action: "ACCEPT",
            t_ms: 1_767_866_700_000,
        }])
    }

    #[test]
    fn keeps_named_and_required_columns_in_large_batches() {
        let names: BTreeSet<String> = [col::SRCADDR, EVENT_TIME].map(String::from).into();
        let p = Projection::new(flows_schema(), Some(&names));
        let kept: Vec<&str> = p.kept.fields().iter().map(|f| f.name().as_str()).collect();
        assert!(kept.contains(&col::SRCADDR) && kept.contains(&EVENT_TIME));
        assert!(!kept.contains(&col::DSTADDR));
        // source_key (a long string per row) is not nullable, but not read: not kept.
        assert!(!kept.contains(&flowtrail_core::schema::SOURCE_KEY));
        let b = one();
        let mut h = Held::new(&p);
        for _ in 0..3 {
            h.push(&p, &b).unwrap_or_else(|e| panic!("{e}"));
        }
        let out = h.finish().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.len(), 1, "coalesced into one batch");
        assert_eq!(out[0].num_rows(), 3);
        assert_eq!(out[0].num_columns(), kept.len());
    }

    #[test]
    fn a_batch_of_another_schema_is_held_whole_in_order() {
        let names: BTreeSet<String> = [col::SRCADDR.to_string()].into();
        let p = Projection::new(flows_schema(), Some(&names));
        let b = one();
        let other = RecordBatch::try_new(
            Arc::new(Schema::new(vec![b.schema().field(0).clone()])),
            vec![b.column(0).clone()],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut h = Held::new(&p);
        h.push(&p, &b).unwrap_or_else(|e| panic!("{e}"));
        h.push(&p, &other).unwrap_or_else(|e| panic!("{e}"));
        let out = h.finish().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[1].schema(),
            other.schema(),
            "kept whole, after the first"
        );
        assert!(out[0].num_columns() < b.num_columns());
    }
}
