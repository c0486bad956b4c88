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
//!
//! Held rows are [`Rows`]: parts in memory and parts spilled to local disk ([`crate::spill`])
//! once the engine holds more than its budget. Whoever reads them (the baselines, the fence,
//! the rules' scans) visits them one batch at a time ([`Batches`]), in the order they arrived.

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{ArrayRef, RecordBatch};
use arrow::compute::BatchCoalescer;
use arrow::datatypes::{DataType, Schema, SchemaRef};

use flowtrail_core::nulls::batch_memory_size;
use flowtrail_core::schema::flows::col;
use flowtrail_core::schema::{ACCOUNT_ID, EVENT_TIME, REGION};

use crate::DetectError;
use crate::spill::{SharedSpill, SpillDir};

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
    // the behaviour detectors: protocol and connection times
    col::PROTOCOL,
    col::START,
    col::END,
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

    /// The kept columns of `batch`, or `None` when its schema is not the core one. A batch whose
    /// string columns are held as dictionaries (the decoders' `source_key`) has the core's
    /// columns too: a kept one is cast to its core type, the others are dropped as they are.
    pub(crate) fn apply(&self, batch: &RecordBatch) -> Option<RecordBatch> {
        let schema = batch.schema();
        let exact = schema.fields() == self.core.fields();
        if !exact && !same_columns(&schema, &self.core) {
            return None;
        }
        let column = |i: usize| -> Option<ArrayRef> {
            let (col, ty) = (batch.column(i), self.core.field(i).data_type());
            if exact || col.data_type() == ty {
                Some(col.clone())
            } else {
                arrow::compute::cast(col, ty).ok()
            }
        };
        let cols = match &self.indices {
            None if exact => return Some(batch.clone()),
            None => (0..schema.fields().len()).map(column).collect(),
            Some(idx) => idx.iter().map(|&i| column(i)).collect::<Option<Vec<_>>>(),
        }?;
        RecordBatch::try_new(self.kept.clone(), cols).ok()
    }
}

/// Whether `batch` has the columns of `core` in order (names and nullability), each of the
/// core's type or, for a string column, a dictionary of strings.
fn same_columns(batch: &Schema, core: &Schema) -> bool {
    batch.fields().len() == core.fields().len()
        && batch.fields().iter().zip(core.fields()).all(|(b, c)| {
            b.name() == c.name()
                && b.is_nullable() == c.is_nullable()
                && (b.data_type() == c.data_type()
                    || matches!((b.data_type(), c.data_type()),
                        (DataType::Dictionary(_, v), DataType::Utf8) if **v == DataType::Utf8))
        })
}

fn held_error(source: arrow::error::ArrowError) -> DetectError {
    DetectError::Arrow {
        context: "holding rows of an open hour".into(),
        source,
    }
}

/// One piece of held rows: a batch in memory, or a spill file of several.
#[derive(Debug, Clone)]
pub enum Part {
    /// In memory.
    Mem(RecordBatch),
    /// On local disk ([`crate::spill`]).
    Spilled(SharedSpill),
}

/// Rows in order, some in memory and some spilled to disk: what the baselines, the fence and
/// the rules read of closed hours.
#[derive(Debug, Default, Clone)]
pub struct Rows {
    parts: Vec<Part>,
    mem_bytes: usize,
}

impl Rows {
    /// Rows all in memory.
    pub fn from_batches(batches: Vec<RecordBatch>) -> Self {
        let mut r = Rows::default();
        for b in batches {
            r.push(b);
        }
        r
    }

    fn push(&mut self, b: RecordBatch) {
        self.mem_bytes += batch_memory_size(&b);
        self.parts.push(Part::Mem(b));
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// No rows at all.
    pub fn is_empty(&self) -> bool {
        self.rows() == 0
    }

    /// Number of rows.
    pub fn rows(&self) -> usize {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Mem(b) => b.num_rows(),
                Part::Spilled(f) => f.rows(),
            })
            .sum()
    }

    /// Bytes of the parts in memory.
    pub fn mem_bytes(&self) -> usize {
        self.mem_bytes
    }

    /// Append `other`'s parts after these.
    pub fn extend(&mut self, other: Rows) {
        self.mem_bytes += other.mem_bytes;
        self.parts.extend(other.parts);
    }

    /// The batches, when none is spilled.
    pub fn in_memory(&self) -> Option<Vec<RecordBatch>> {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Mem(b) => Some(b.clone()),
                Part::Spilled(_) => None,
            })
            .collect()
    }

    /// Every batch, spilled ones read back (the rare path that needs them all at once).
    pub fn load(&self) -> Result<Vec<RecordBatch>, DetectError> {
        let mut out = Vec::new();
        self.visit(&mut |b| out.push(b.clone()))?;
        Ok(out)
    }

    /// Move the batches of `schema` held in memory to spill files in `dir` (each run of
    /// consecutive ones becomes one file, so the order is kept). Batches of another schema
    /// stay in memory.
    fn spill(&mut self, dir: &SpillDir, schema: &SchemaRef) -> Result<(), DetectError> {
        let mut out: Vec<Part> = Vec::with_capacity(self.parts.len());
        let mut run: Vec<RecordBatch> = Vec::new();
        let mut mem_bytes = 0;
        let flush = |run: &mut Vec<RecordBatch>, out: &mut Vec<Part>| {
            if !run.is_empty() {
                out.push(Part::Spilled(Arc::new(dir.write(schema, run)?)));
                run.clear();
            }
            Ok::<_, DetectError>(())
        };
        for p in std::mem::take(&mut self.parts) {
            match p {
                Part::Mem(b) if b.schema() == *schema => run.push(b),
                Part::Mem(b) => {
                    flush(&mut run, &mut out)?;
                    mem_bytes += batch_memory_size(&b);
                    out.push(Part::Mem(b));
                }
                Part::Spilled(f) => {
                    flush(&mut run, &mut out)?;
                    out.push(Part::Spilled(f));
                }
            }
        }
        flush(&mut run, &mut out)?;
        self.parts = out;
        self.mem_bytes = mem_bytes;
        Ok(())
    }
}

/// Something that yields record batches one at a time: a slice of batches, or [`Rows`] (whose
/// spilled parts are read back as they are visited).
pub trait Batches {
    /// Call `f` on every batch, in order.
    fn visit(&self, f: &mut dyn FnMut(&RecordBatch)) -> Result<(), DetectError>;
}

impl<T: AsRef<[RecordBatch]> + ?Sized> Batches for T {
    fn visit(&self, f: &mut dyn FnMut(&RecordBatch)) -> Result<(), DetectError> {
        self.as_ref().iter().for_each(f);
        Ok(())
    }
}

impl Batches for Rows {
    fn visit(&self, f: &mut dyn FnMut(&RecordBatch)) -> Result<(), DetectError> {
        for p in &self.parts {
            match p {
                Part::Mem(b) => f(b),
                Part::Spilled(s) => s.visit(f)?,
            }
        }
        Ok(())
    }
}

/// One table's rows of an open hour.
#[derive(Debug)]
pub(crate) struct Held {
    coalescer: BatchCoalescer,
    rows: Rows,
}

impl Held {
    pub(crate) fn new(p: &Projection) -> Self {
        Self {
            coalescer: BatchCoalescer::new(p.kept.clone(), TARGET_ROWS),
            rows: Rows::default(),
        }
    }

    /// Add `batch`: copied into the held batches when it has the kept columns (cut by
    /// [`Projection::apply`]), else (not the core schema) held whole as it is.
    pub(crate) fn push(&mut self, batch: RecordBatch) -> Result<(), DetectError> {
        if batch.schema().fields() != self.coalescer.schema().fields() {
            // Keep the order: what is buffered goes first.
            self.flush().map_err(held_error)?;
            self.rows.push(batch);
            return Ok(());
        }
        self.coalescer.push_batch(batch).map_err(held_error)?;
        while let Some(b) = self.coalescer.next_completed_batch() {
            self.rows.push(b);
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), arrow::error::ArrowError> {
        self.coalescer.finish_buffered_batch()?;
        while let Some(b) = self.coalescer.next_completed_batch() {
            self.rows.push(b);
        }
        Ok(())
    }

    /// Bytes of the completed batches held in memory (the coalescer's buffer of fewer than
    /// [`TARGET_ROWS`] rows is not counted).
    pub(crate) fn mem_bytes(&self) -> usize {
        self.rows.mem_bytes()
    }

    /// Move every held batch to spill files, the coalescer's partial one too.
    pub(crate) fn spill(&mut self, p: &Projection, dir: &SpillDir) -> Result<(), DetectError> {
        self.flush().map_err(|source| DetectError::Arrow {
            context: "holding rows of an open hour".into(),
            source,
        })?;
        self.rows.spill(dir, &p.kept)
    }

    /// Every held row.
    pub(crate) fn finish(mut self) -> Result<Rows, DetectError> {
        self.flush().map_err(|source| DetectError::Arrow {
            context: "holding rows of an open hour".into(),
            source,
        })?;
        Ok(self.rows)
    }
}

/// Spill the in-memory parts of closed rows waiting for the rules.
pub(crate) fn spill_rows(
    rows: &mut Rows,
    p: &Projection,
    dir: &SpillDir,
) -> Result<(), DetectError> {
    rows.spill(dir, &p.kept)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As the engine holds a batch: cut to the kept columns when it has the core schema.
    fn hold(h: &mut Held, p: &Projection, b: &RecordBatch) {
        h.push(p.apply(b).unwrap_or_else(|| b.clone()))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    use crate::testutil::{Flow, flows};
    use arrow::array::AsArray;
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
            hold(&mut h, &p, &b);
        }
        let out = h
            .finish()
            .unwrap_or_else(|e| panic!("{e}"))
            .in_memory()
            .unwrap_or_default();
        assert_eq!(out.len(), 1, "coalesced into one batch");
        assert_eq!(out[0].num_rows(), 3);
        assert_eq!(out[0].num_columns(), kept.len());
    }

    /// `b` as the decoders hand it on: `source_key` a dictionary of its one value.
    fn decoded(b: &RecordBatch) -> RecordBatch {
        let key_type = flowtrail_core::schema::flows::source_key_dictionary_type();
        let cols = b
            .columns()
            .iter()
            .zip(b.schema().fields())
            .map(|(c, f)| match f.name().as_str() {
                flowtrail_core::schema::SOURCE_KEY => arrow::compute::cast(c, &key_type),
                _ => Ok(c.clone()),
            })
            .collect::<Result<Vec<_>, _>>()
            .unwrap_or_else(|e| panic!("{e}"));
        RecordBatch::try_new(flowtrail_core::schema::flows::decoded_flows_schema(), cols)
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_key_held_as_a_dictionary_is_the_same_columns() {
        use flowtrail_core::schema::SOURCE_KEY;
        let b = one();
        let d = decoded(&b);
        assert_ne!(d.schema(), b.schema());
        // Not kept: the same projection as the core batch's.
        let p = Projection::new(flows_schema(), Some(&[col::SRCADDR.to_string()].into()));
        assert_eq!(p.apply(&d), p.apply(&b));
        assert!(p.apply(&d).is_some());
        // Kept (a rule reads it): cast back to the core's strings.
        let names: BTreeSet<String> = [col::SRCADDR, SOURCE_KEY].map(String::from).into();
        for p in [
            Projection::new(flows_schema(), Some(&names)),
            Projection::all(flows_schema()),
        ] {
            let out = p.apply(&d).unwrap_or_else(|| panic!("not projected"));
            assert_eq!(out, p.apply(&b).unwrap_or_else(|| panic!("not projected")));
            assert_eq!(
                out.schema()
                    .field_with_name(SOURCE_KEY)
                    .map(|f| f.data_type().clone())
                    .ok(),
                Some(DataType::Utf8)
            );
        }
        // A dictionary of something else than strings is not the core's column.
        let mut cols = b.columns().to_vec();
        let at = b
            .schema()
            .index_of(col::SRCPORT)
            .unwrap_or_else(|e| panic!("{e}"));
        let ty = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Int32));
        cols[at] = arrow::compute::cast(&cols[at], &ty).unwrap_or_else(|e| panic!("{e}"));
        let mut fields: Vec<arrow::datatypes::FieldRef> =
            b.schema().fields().iter().cloned().collect();
        fields[at] = Arc::new(fields[at].as_ref().clone().with_data_type(ty));
        let odd = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(p.apply(&odd).is_none());
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
        hold(&mut h, &p, &b);
        hold(&mut h, &p, &other);
        let out = h
            .finish()
            .unwrap_or_else(|e| panic!("{e}"))
            .in_memory()
            .unwrap_or_default();
        assert_eq!(out.len(), 2);
        assert_eq!(
            out[1].schema(),
            other.schema(),
            "kept whole, after the first"
        );
        assert!(out[0].num_columns() < b.num_columns());
    }

    #[test]
    fn spilled_rows_read_back_in_order_and_their_files_go_with_them() {
        let p = Projection::new(
            flows_schema(),
            Some(&[col::SRCADDR, EVENT_TIME].map(String::from).into()),
        );
        let dir = SpillDir::temp().unwrap_or_else(|e| panic!("{e}"));
        let files = || {
            std::fs::read_dir(dir.path())
                .map(|d| d.count())
                .unwrap_or(0)
        };
        let b = one();
        let mut h = Held::new(&p);
        // Three completed batches; spill them, then two more in memory.
        for round in 0..5 {
            for _ in 0..TARGET_ROWS {
                hold(&mut h, &p, &b);
            }
            if round == 2 {
                assert!(h.mem_bytes() > 0);
                h.spill(&p, &dir).unwrap_or_else(|e| panic!("{e}"));
                assert_eq!(h.mem_bytes(), 0, "nothing completed is left in memory");
                assert_eq!(files(), 1, "one run, one file");
            }
        }
        hold(&mut h, &p, &b);
        let rows = h.finish().unwrap_or_else(|e| panic!("{e}"));
        assert!(rows.in_memory().is_none());
        assert_eq!(rows.rows(), 5 * TARGET_ROWS + 1);
        let mut sizes = Vec::new();
        rows.visit(&mut |b| sizes.push(b.num_rows()))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            sizes,
            [
                TARGET_ROWS,
                TARGET_ROWS,
                TARGET_ROWS,
                TARGET_ROWS,
                TARGET_ROWS,
                1
            ]
        );
        let loaded = rows.load().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(loaded[0].schema(), p.kept, "read back in the held schema");
        let src = loaded[0].column_by_name(col::SRCADDR).and_then(|c| {
            c.as_string_opt::<i32>()
                .map(|a| a.value(TARGET_ROWS - 1).to_string())
        });
        assert_eq!(
            src.as_deref(),
            Some("10.0.0.1"),
            "values survive the round trip"
        );
        drop(rows);
        assert_eq!(files(), 0, "the spill file is removed with its rows");
    }
}
