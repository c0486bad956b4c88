//! One parquet file written with each row group's columns encoded on several threads.
//!
//! A commit encodes its files on several threads at once (`encode::write_all`), which leaves
//! threads idle when a commit has fewer files than threads: the one busy partition of an
//! hour, the last commit of a replay, objects of 100,000 records that all land in one hour.
//! Parquet encodes each column chunk independently, so such a file's row groups are cut into
//! their columns, encoded on every thread, then appended in schema order: the file is the
//! one the single-thread writer makes (same row groups, pages, statistics and metadata).
//! Sorting a file's rows by event time gathers them (`encode.rs`); that gather is done here
//! column by column on the same threads, and so is each column's levelling.

use std::fs;
use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{ArrayRef, RecordBatch};
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{ArrowColumnChunk, ArrowColumnWriter, compute_leaves};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnDescPtr;

use crate::LakeError;
use crate::columns;
use crate::dictcol::{self, KeyedChunk};
use crate::encode;

/// One leaf column's encoded chunk: from parquet's Arrow writer, or from dictionary keys.
enum Chunk {
    Arrow(ArrowColumnChunk),
    Keyed(KeyedChunk),
}

/// One top-level column's chunks (one per leaf), or why it could not be encoded.
type Encoded = Result<Vec<Chunk>, ParquetError>;

/// A top-level column's leaf writers and their descriptors.
type Leaves = (Vec<ArrowColumnWriter>, Vec<ColumnDescPtr>);

/// The rows of a file in the order they are written.
pub enum Rows<'a> {
    /// The batches one after another.
    InOrder(&'a [RecordBatch]),
    /// The (batch, row) of each output row.
    Gathered(&'a [RecordBatch], &'a [(u32, u32)]),
}

impl Rows<'_> {
    fn len(&self) -> usize {
        match self {
            Rows::InOrder(b) => b.iter().map(RecordBatch::num_rows).sum(),
            Rows::Gathered(_, order) => order.len(),
        }
    }
}

/// One row group's share of the rows: slices of the batches, or rows to gather.
enum Part<'a> {
    Slices(Vec<RecordBatch>),
    Gather(Vec<&'a RecordBatch>, Vec<(usize, usize)>),
}

impl Part<'_> {
    /// Column `c` of this part, as one or more arrays in row order.
    fn column(&self, c: usize) -> Result<Vec<ArrayRef>, ParquetError> {
        match self {
            Part::Slices(v) => {
                v.iter()
                    .map(|b| {
                        b.columns().get(c).cloned().ok_or_else(|| {
                            ParquetError::General(format!("a batch has no column {c}"))
                        })
                    })
                    .collect()
            }
            Part::Gather(refs, at) => columns::gather_column(refs, c, at)
                .map(|a| vec![a])
                .map_err(|e| ParquetError::External(Box::new(e))),
        }
    }
}

/// Write `rows` to `path` in row groups of `opts.row_group_rows`, each row group's columns
/// gathered and encoded on `threads` threads.
pub fn write_parquet(
    path: &Path,
    schema: SchemaRef,
    rows: Rows<'_>,
    props: WriterProperties,
    opts: &encode::EncodeOptions,
    threads: usize,
) -> Result<(), LakeError> {
    let pq = |source| LakeError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::create(path).map_err(encode::io(path))?;
    // The high-level writer sets the file up (Arrow schema in the footer's metadata), then
    // hands over its file writer and its column-writer factory.
    let (mut writer, factory) = ArrowWriter::try_new(file, schema.clone(), Some(props))
        .and_then(ArrowWriter::into_serialized_writer)
        .map_err(pq)?;
    let (roots, descrs): (Vec<usize>, Vec<ColumnDescPtr>) = {
        let desc = writer.schema_descr();
        (0..desc.num_columns())
            .map(|leaf| (desc.get_column_root_idx(leaf), desc.column(leaf)))
            .unzip()
    };
    let (total, group_rows) = (rows.len(), opts.row_group_rows.max(1));
    let mut start = 0;
    let mut index = 0;
    while start < total {
        let end = (start + group_rows).min(total);
        let part = part(&rows, start, end);
        let writers = factory.create_column_writers(index).map_err(pq)?;
        let leaves = group_by_root(writers, &descrs, &roots);
        let chunks = encode(&part, &schema, leaves, threads, opts.zstd_level).map_err(pq)?;
        let mut rg = writer.next_row_group().map_err(pq)?;
        for c in chunks {
            match c {
                Chunk::Arrow(c) => c.append_to_row_group(&mut rg),
                Chunk::Keyed(k) => rg.append_column(&k.bytes, k.close),
            }
            .map_err(pq)?;
        }
        rg.close().map_err(pq)?;
        (start, index) = (end, index + 1);
    }
    let file = writer.into_inner().map_err(pq)?;
    encode::sync_file(&file, path)
}

/// Rows `start..end` of `rows`.
fn part<'a>(rows: &Rows<'a>, start: usize, end: usize) -> Part<'a> {
    match rows {
        Rows::Gathered(batches, order) => Part::Gather(
            batches.iter().collect(),
            order
                .get(start..end)
                .unwrap_or_default()
                .iter()
                .map(|&(b, i)| (b as usize, i as usize))
                .collect(),
        ),
        Rows::InOrder(batches) => {
            let mut out = Vec::new();
            let mut at = 0;
            for b in batches.iter() {
                let (from, to) = (at.max(start), (at + b.num_rows()).min(end));
                if from < to {
                    out.push(b.slice(from - at, to - from));
                }
                at += b.num_rows();
            }
            Part::Slices(out)
        }
    }
}

/// The leaf column writers and descriptors grouped by their top-level column (`roots`: each
/// leaf's).
fn group_by_root(
    writers: Vec<ArrowColumnWriter>,
    descrs: &[ColumnDescPtr],
    roots: &[usize],
) -> Vec<Leaves> {
    let mut out: Vec<Leaves> = Vec::new();
    for ((w, d), &root) in writers.into_iter().zip(descrs).zip(roots) {
        while out.len() <= root {
            out.push((Vec::new(), Vec::new()));
        }
        if let Some(g) = out.get_mut(root) {
            g.0.push(w);
            g.1.push(d.clone());
        }
    }
    out
}

/// Encode every top-level column of `part` on up to `threads` threads (each takes the next
/// column not yet taken: gathers it, levels it, encodes it); the column chunks in schema
/// order.
fn encode(
    part: &Part<'_>,
    schema: &SchemaRef,
    writers: Vec<Leaves>,
    threads: usize,
    zstd_level: i32,
) -> Result<Vec<Chunk>, ParquetError> {
    let n = writers.len();
    let slots: Vec<Mutex<Option<Leaves>>> =
        writers.into_iter().map(|w| Mutex::new(Some(w))).collect();
    let done: Vec<Mutex<Option<Encoded>>> = (0..n).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let work = || {
        loop {
            let c = next.fetch_add(1, Ordering::Relaxed);
            let (Some(slot), Some(out)) = (slots.get(c), done.get(c)) else {
                break;
            };
            let Some(w) = slot.lock().unwrap_or_else(|p| p.into_inner()).take() else {
                continue;
            };
            *out.lock().unwrap_or_else(|p| p.into_inner()) =
                Some(column(part, schema, c, w, zstd_level));
        }
    };
    let threads = threads.clamp(1, n.max(1));
    std::thread::scope(|s| {
        for _ in 1..threads {
            s.spawn(work);
        }
        work();
    });
    let mut chunks = Vec::with_capacity(n);
    for (c, d) in done.into_iter().enumerate() {
        let r = d
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(|| Err(ParquetError::General(format!("column {c} not encoded"))));
        chunks.extend(r?);
    }
    Ok(chunks)
}

/// Top-level column `c` of `part`: from its dictionary keys when it is held so
/// (`dictcol.rs`), else through its leaf writers.
fn column(
    part: &Part<'_>,
    schema: &SchemaRef,
    c: usize,
    (mut writers, descrs): Leaves,
    zstd_level: i32,
) -> Result<Vec<Chunk>, ParquetError> {
    let field = schema
        .fields()
        .get(c)
        .ok_or_else(|| ParquetError::General(format!("no field for column {c}")))?;
    let arrays = part.column(c)?;
    if let [descr] = descrs.as_slice()
        && let Some(k) = dictcol::encode(descr, &arrays, zstd_level)?
    {
        return Ok(vec![Chunk::Keyed(k)]);
    }
    for array in arrays {
        for (w, leaf) in writers.iter_mut().zip(compute_leaves(field, &array)?) {
            w.write(&leaf)?;
        }
    }
    writers
        .into_iter()
        .map(|w| w.close().map(Chunk::Arrow))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::encode::{EncodeOptions, FileJob, write_all};
    use arrow::array::{Int64Array, StringArray, TimestampMillisecondArray};
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use std::sync::Arc;

    /// `n` rows from `from`: a time column (in order), a counter and a string of 7 values.
    fn rows(from: i64, n: i64) -> Result<RecordBatch, arrow::error::ArrowError> {
        let schema = Arc::new(Schema::new(vec![
            Field::new(
                flowtrail_core::schema::EVENT_TIME,
                flowtrail_core::schema::timestamp_type(),
                true,
            ),
            Field::new("bytes", DataType::Int64, true),
            Field::new("action", DataType::Utf8, true),
        ]));
        let t = from..from + n;
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(
                    TimestampMillisecondArray::from_iter_values(t.clone()).with_timezone("UTC"),
                ),
                Arc::new(Int64Array::from_iter_values(t.clone().map(|v| v * 3))),
                Arc::new(StringArray::from_iter_values(
                    t.map(|v| format!("a{}", v % 7)),
                )),
            ],
        )
    }

    fn write(path: &Path, batches: Vec<RecordBatch>, threads: usize) -> Result<(), LakeError> {
        let opts = EncodeOptions {
            zstd_level: 1,
            row_group_rows: 10_000,
            threads,
        };
        // One job and `threads` threads: the column-parallel path when threads > 1.
        write_all(
            vec![FileJob {
                path: path.to_path_buf(),
                batches,
            }],
            &opts,
        )
    }

    /// The file `batches` make with one encoding thread and with two: the same bytes, row
    /// groups of 10,000 and the rows in time order.
    fn same_file_either_way(batches: Vec<RecordBatch>) -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let (one, two) = (
            dir.path().join("one.parquet"),
            dir.path().join("two.parquet"),
        );
        write(&one, batches.clone(), 1)?;
        write(&two, batches.clone(), 2)?;
        let (a, b) = (fs::read(&one)?, fs::read(&two)?);
        assert_eq!(a, b, "the same bytes either way");
        let r = SerializedFileReader::new(fs::File::open(&two)?)?;
        let groups: Vec<i64> = r
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, vec![10_000, 10_000, 5_000]);
        let read: Vec<RecordBatch> =
            ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&two)?)?
                .build()?
                .collect::<Result<_, _>>()?;
        let read = arrow::compute::concat_batches(&read[0].schema(), &read)?;
        let want = rows(0, 25_000)?;
        assert_eq!(read.columns(), want.columns());
        Ok(())
    }

    #[test]
    fn columns_on_threads_write_the_file_one_thread_writes()
    -> Result<(), Box<dyn std::error::Error>> {
        // 25,000 rows in time order, in uneven batches: row groups cut across them.
        same_file_either_way(vec![
            rows(0, 7_000)?,
            rows(7_000, 12_345)?,
            rows(19_345, 5_655)?,
        ])
    }

    #[test]
    fn rows_out_of_order_are_gathered_column_by_column() -> Result<(), Box<dyn std::error::Error>> {
        // Sorted runs out of order, one holding `action` as a dictionary: the rows are
        // gathered into time order, the dictionary column joined as plain strings.
        let mut late = rows(10_000, 8_000)?;
        let action = arrow::compute::cast(
            late.column(2),
            &DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        )?;
        let mut cols = late.columns().to_vec();
        cols[2] = action;
        let mut fields: Vec<Field> = late
            .schema()
            .fields()
            .iter()
            .map(|f| f.as_ref().clone())
            .collect();
        fields[2] = Field::new("action", cols[2].data_type().clone(), true);
        late = RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)?;
        same_file_either_way(vec![late, rows(0, 10_000)?, rows(18_000, 7_000)?])
    }
}
