//! Encoding one partition's buffered rows as a parquet file laid out for scans: rows sorted by
//! event time (declared in the footer as `sorting_columns`, so engines can skip row groups and
//! merge without sorting), row groups of [`ROW_GROUP_ROWS`], page statistics for pruning, and
//! dictionary encoding only on the columns where it pays (low-cardinality strings and codes).
//!
//! A commit encodes its partitions on several threads at once ([`write_all`]): encoding is most
//! of a commit's CPU, and during it the decode workers wait, so one encoding thread would leave
//! the other cores idle. A file holding more than a thread's share of a commit's rows has its
//! columns encoded on every thread instead (`colwrite.rs`).

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{AsArray, RecordBatch};
use arrow::datatypes::SchemaRef;
use parquet::arrow::{ArrowSchemaConverter, ArrowWriter};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::SortingColumn;
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use flowtrail_core::schema::EVENT_TIME;

use crate::LakeError;
use crate::columns;
use crate::colwrite;
use crate::crashpoint;
use crate::dictcol;
use crate::ledger::temp_path;
use crate::runs;

/// Rows per row group: large enough that a scan reads long runs, small enough that pruning by
/// time (row-group statistics) skips most of a busy hour's file for a narrow window.
pub const ROW_GROUP_ROWS: usize = 128 * 1024;

/// Columns whose values are mostly distinct within a file: a dictionary costs a hash lookup per
/// value and is abandoned after its first page anyway.
const NO_DICTIONARY: &[&str] = &[
    EVENT_TIME,
    // flows (`version` holds one value a file: plain 4-byte values cost less than a
    // dictionary lookup a row, and zstd packs them as small; `protocol`'s few values keep
    // their dictionary, which halves its size)
    "version",
    "srcport",
    "packets",
    "bytes",
    "start",
    "end",
    // cloudtrail
    "event_id",
    "request_id",
    "shared_event_id",
    "request_parameters",
    "response_elements",
    "additional_event_data",
    "resources",
    "user_identity",
    "user_identity_access_key_id",
    "tls_details",
    "service_event_details",
];

/// Encoding settings shared by every file of a commit.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// zstd level.
    pub zstd_level: i32,
    /// Rows per row group, at most.
    pub row_group_rows: usize,
    /// Threads encoding a commit's files.
    pub threads: usize,
}

/// One parquet file of a commit: its final path and the rows to write.
#[derive(Debug)]
pub struct FileJob {
    /// Final path (the file is written beside it under a temp name, then renamed).
    pub path: PathBuf,
    /// The rows, in arrival order.
    pub batches: Vec<RecordBatch>,
}

pub(crate) fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LakeError + '_ {
    move |source| LakeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Files with fewer rows than this are compressed with Snappy instead of zstd. parquet's zstd
/// codec builds a compression context (and a decompression one) for every column chunk; on a
/// file of a few thousand rows that setup costs more than the compression itself. On 50-record
/// objects spread over 1,700 partitions (files of a few hundred rows), Snappy below this size
/// took a third less CPU for a lake 28% larger; files this small are a small share of any
/// lake's bytes. Snappy is Athena's default Parquet codec: every reader has it.
pub const SMALL_FILE_ROWS: usize = 8_192;

/// The writer properties for a file of `schema` holding `rows` rows, whose top-level columns
/// at `plain` (indices into `schema`) are not worth compressing (`uncompressed_columns`).
///
/// Those columns are stored uncompressed: their pages hold a few bytes, and parquet's zstd
/// codec makes a compression and a decompression context for every column chunk it
/// compresses, which cost 5% of a replay's CPU on the 14-field default format (26 of the 43
/// `flows` columns are empty in its files).
pub fn properties(
    schema: &SchemaRef,
    opts: &EncodeOptions,
    rows: usize,
    plain: &[usize],
) -> WriterProperties {
    let codec = if rows < SMALL_FILE_ROWS {
        Compression::SNAPPY
    } else {
        Compression::ZSTD(ZstdLevel::try_new(opts.zstd_level).unwrap_or_default())
    };
    let mut b = WriterProperties::builder()
        .set_compression(codec)
        .set_max_row_group_row_count(Some(opts.row_group_rows.max(1)))
        .set_statistics_enabled(EnabledStatistics::Page)
        .set_created_by(format!("flowtrail {}", env!("CARGO_PKG_VERSION")));
    for name in NO_DICTIONARY {
        if schema.column_with_name(name).is_some() {
            b = b.set_column_dictionary_enabled(ColumnPath::from(*name), false);
        }
    }
    let Ok(desc) = ArrowSchemaConverter::new().convert(schema) else {
        return b.build();
    };
    if let Some(idx) = leaf_index(&desc, EVENT_TIME) {
        b = b.set_sorting_columns(Some(vec![SortingColumn {
            column_idx: idx,
            descending: false,
            nulls_first: true,
        }]));
    }
    if codec != Compression::UNCOMPRESSED {
        for (leaf, col) in desc.columns().iter().enumerate() {
            if plain.contains(&desc.get_column_root_idx(leaf)) {
                b = b.set_column_compression(col.path().clone(), Compression::UNCOMPRESSED);
            }
        }
    }
    b.build()
}

/// The parquet leaf index of top-level column `name` (leaf, not field: a map column before it
/// has two).
fn leaf_index(desc: &parquet::schema::types::SchemaDescriptor, name: &str) -> Option<i32> {
    let idx = desc
        .columns()
        .iter()
        .position(|c| c.path().string() == name)?;
    i32::try_from(idx).ok()
}

/// The top-level columns of `batches` that gain nothing from compression: those with no
/// value on any row, and those held as dictionaries of one and the same value in every batch
/// (`account_id` and `region` in a partition's file, `columns.rs`), whose pages hold a few
/// bytes of run-length-encoded keys, and those `keyed` (written from their keys).
fn uncompressed_columns(batches: &[RecordBatch], keyed: &[usize]) -> Vec<usize> {
    let Some(first) = batches.first() else {
        return Vec::new();
    };
    (0..first.num_columns())
        .filter(|&c| {
            let col = |b: &RecordBatch| b.columns().get(c).cloned();
            let empty = batches
                .iter()
                .all(|b| col(b).is_some_and(|a| a.null_count() == a.len()));
            empty || one_value(batches.iter().filter_map(col)) || keyed.contains(&c)
        })
        .collect()
}

/// Whether column `c` of every batch is a dictionary of strings with a value on every row: its
/// chunks are written from the keys, uncompressed (`dictcol.rs`).
fn held_as_keys(batches: &[RecordBatch], c: usize) -> bool {
    let arrays: Vec<arrow::array::ArrayRef> = batches
        .iter()
        .filter_map(|b| b.columns().get(c).cloned())
        .collect();
    arrays.len() == batches.len() && dictcol::takes(&arrays)
}

/// Whether every array is a dictionary whose values are one and the same single value.
fn one_value(mut arrays: impl Iterator<Item = arrow::array::ArrayRef>) -> bool {
    let values = |a: &arrow::array::ArrayRef| {
        a.as_any_dictionary_opt()
            .map(|d| d.values().clone())
            .filter(|v| v.len() == 1)
    };
    let Some(first) = arrays.next().as_ref().and_then(values) else {
        return false;
    };
    arrays.all(|a| values(&a).is_some_and(|v| v.as_ref() == first.as_ref()))
}

/// The order in which a partition's rows are written: `None` when they already are in event
/// time order, else the (batch, row) of each output row, sorted by `event_time` (nulls first;
/// stable, so rows of the same millisecond keep their arrival order).
///
/// Buffered batches are sorted runs (`runs.rs`), merged here in one pass; batches that are not
/// (a table whose rows come unsorted) are sorted whole: only the `event_time` columns are
/// gathered to sort (8 bytes a row, plus 4 for the index). Either way the rows themselves are
/// copied once, a row group at a time, while writing.
fn sort_order(batches: &[RecordBatch]) -> Result<Option<Vec<(u32, u32)>>, LakeError> {
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    if batches.iter().any(|b| runs::times(b).is_none()) {
        return Ok(None);
    }
    if let Some(order) = runs::merge_order(&refs) {
        return Ok((!runs::consecutive(&refs)).then_some(order));
    }
    runs::sort_order(&refs).map_err(|source| LakeError::Arrow {
        context: "sorting a partition by event time".into(),
        source,
    })
}

/// The rows of `batches` in event-time order, `chunk` rows at a time: the batches themselves when
/// they already are in order, else copies gathered by [`sort_order`].
fn sorted_chunks<'a>(
    batches: &'a [RecordBatch],
    chunk: usize,
) -> Result<Box<dyn Iterator<Item = Result<RecordBatch, LakeError>> + 'a>, LakeError> {
    let Some(order) = sort_order(batches)? else {
        return Ok(Box::new(batches.iter().cloned().map(Ok)));
    };
    let refs: Vec<&RecordBatch> = batches.iter().collect();
    let chunk = chunk.max(1);
    let mut start = 0;
    Ok(Box::new(std::iter::from_fn(move || {
        let end = (start + chunk).min(order.len());
        if start >= end {
            return None;
        }
        let at: Vec<(usize, usize)> = order[start..end]
            .iter()
            .map(|&(b, i)| (b as usize, i as usize))
            .collect();
        start = end;
        Some(
            columns::gather(&refs, &at).map_err(|source| LakeError::Arrow {
                context: "sorting a partition by event time".into(),
                source,
            }),
        )
    })))
}

/// Encode one file: sorted rows to a temp file, rename to the final name. The commit makes it
/// durable before its commit point (`sync.rs`).
///
/// `threads` above 1 encodes each row group's columns on that many threads
/// (`colwrite.rs`): for a file with more than a thread's share of a commit's rows.
pub fn write_one(job: &FileJob, opts: &EncodeOptions, threads: usize) -> Result<(), LakeError> {
    let Some(first) = job.batches.first() else {
        return Ok(());
    };
    let tmp = temp_path(&job.path);
    let rows = job.batches.iter().map(RecordBatch::num_rows).sum();
    // Buffered batches may hold string columns as dictionaries; the file declares them plainly.
    let schema = columns::plain_schema(&first.schema());
    let keyed: Vec<usize> = (0..first.num_columns())
        .filter(|&c| held_as_keys(&job.batches, c))
        .collect();
    let uncompressed = uncompressed_columns(&job.batches, &keyed);
    let props = properties(&schema, opts, rows, &uncompressed);
    let threads = if rows >= SMALL_FILE_ROWS { threads } else { 1 };
    let keyed = !keyed.is_empty();
    // The fault-injection point inside a file needs the one-thread writer's flush.
    if (threads > 1 || keyed) && !crashpoint::armed("parquet_mid") {
        let order = sort_order(&job.batches)?;
        let rows = match &order {
            Some(o) => colwrite::Rows::Gathered(&job.batches, o),
            None => colwrite::Rows::InOrder(&job.batches),
        };
        colwrite::write_parquet(&tmp, schema, rows, props, opts, threads)?;
    } else {
        let chunks = sorted_chunks(&job.batches, opts.row_group_rows)?;
        write_parquet(&tmp, schema, chunks, props)?;
    }
    crashpoint::hit("parquet_written");
    fs::rename(&tmp, &job.path).map_err(io(&job.path))?;
    crashpoint::hit("parquet_renamed");
    Ok(())
}

fn write_parquet(
    path: &Path,
    schema: SchemaRef,
    chunks: impl Iterator<Item = Result<RecordBatch, LakeError>>,
    props: WriterProperties,
) -> Result<(), LakeError> {
    let pq = |source| LakeError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::create(path).map_err(io(path))?;
    let mut w = ArrowWriter::try_new(file, schema, Some(props)).map_err(pq)?;
    let mut mid = crashpoint::armed("parquet_mid");
    for rows in chunks {
        let rows = rows?;
        if mid && rows.num_rows() > 1 {
            // Put a row group on disk so the crash leaves a partial file behind.
            w.write(&rows.slice(0, 1)).map_err(pq)?;
            w.flush().map_err(pq)?;
            w.inner_mut().sync_all().map_err(io(path))?;
            crashpoint::hit("parquet_mid");
            w.write(&rows.slice(1, rows.num_rows() - 1)).map_err(pq)?;
            mid = false;
        } else {
            w.write(&rows).map_err(pq)?;
        }
    }
    let file = w.into_inner().map_err(pq)?;
    sync_file(&file, path)
}

/// A written file made durable now when the lake syncs each file (else the commit's one
/// `syncfs` does it, `sync.rs`).
pub(crate) fn sync_file(file: &fs::File, path: &Path) -> Result<(), LakeError> {
    if crate::sync::each_file() {
        file.sync_all().map_err(io(path))?;
    }
    Ok(())
}

/// Encode every job, on up to `opts.threads` threads; each job's batches are released as soon
/// as its file is written. The first error is returned (the commit is then not made, and the
/// ledger rolls its files back).
pub fn write_all(jobs: Vec<FileJob>, opts: &EncodeOptions) -> Result<(), LakeError> {
    // A file with more than a thread's share of the rows would leave the other threads idle
    // while it is encoded (one busy partition in a commit, objects of 100,000 records in one
    // hour): such files go first, one at a time, their columns on every thread.
    let rows = |j: &FileJob| j.batches.iter().map(RecordBatch::num_rows).sum::<usize>();
    let total: usize = jobs.iter().map(rows).sum();
    let (big, jobs): (Vec<FileJob>, Vec<FileJob>) = jobs.into_iter().partition(|j| {
        opts.threads > 1 && rows(j) >= SMALL_FILE_ROWS && rows(j) * opts.threads > total
    });
    for job in big {
        write_one(&job, opts, opts.threads)?;
    }
    let threads = opts.threads.clamp(1, jobs.len().max(1));
    let jobs: Vec<Mutex<Option<FileJob>>> = jobs.into_iter().map(|j| Mutex::new(Some(j))).collect();
    let next = AtomicUsize::new(0);
    let first_error: Mutex<Option<LakeError>> = Mutex::new(None);
    let work = || {
        loop {
            let n = next.fetch_add(1, Ordering::Relaxed);
            let Some(slot) = jobs.get(n) else { break };
            let job = slot.lock().unwrap_or_else(|p| p.into_inner()).take();
            let Some(job) = job else { continue };
            if let Err(e) = write_one(&job, opts, 1) {
                first_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .get_or_insert(e);
                break;
            }
        }
    };
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 1..threads {
                s.spawn(work);
            }
            work();
        });
    }
    match first_error.into_inner().unwrap_or_else(|p| p.into_inner()) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{AsArray, Int64Array, TimestampMillisecondArray};
    use arrow::datatypes::TimestampMillisecondType;
    use arrow::datatypes::{DataType, Field, Schema};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::sync::Arc;

    fn batch(times: &[Option<i64>]) -> Result<RecordBatch, arrow::error::ArrowError> {
        let schema = Arc::new(Schema::new(vec![
            Field::new("bytes", DataType::Int64, true),
            Field::new(EVENT_TIME, flowtrail_core::schema::timestamp_type(), true),
        ]));
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(Int64Array::from_iter_values(0..times.len() as i64)),
                Arc::new(TimestampMillisecondArray::from(times.to_vec()).with_timezone("UTC")),
            ],
        )
    }

    #[test]
    fn a_file_is_sorted_by_event_time_and_says_so() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f.parquet");
        let jobs = vec![FileJob {
            path: path.clone(),
            batches: vec![
                batch(&[Some(30), None])?,
                batch(&[Some(10), Some(30), Some(20)])?,
            ],
        }];
        let opts = EncodeOptions {
            zstd_level: 1,
            row_group_rows: 2,
            threads: 2,
        };
        write_all(jobs, &opts)?;
        let b = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&path)?)?;
        let md = b.metadata().clone();
        assert_eq!(md.num_row_groups(), 3, "5 rows in groups of 2");
        let sc = md
            .row_group(0)
            .sorting_columns()
            .cloned()
            .unwrap_or_default();
        assert_eq!(sc.len(), 1);
        assert_eq!(sc[0].column_idx, 1);
        let mut times = Vec::new();
        let mut bytes: Vec<i64> = Vec::new();
        for rb in b.build()? {
            let rb = rb?;
            let t = rb.column(1).as_primitive::<TimestampMillisecondType>();
            times.extend(t.iter());
            bytes.extend(
                rb.column(0)
                    .as_primitive::<arrow::datatypes::Int64Type>()
                    .values(),
            );
        }
        assert_eq!(times, vec![None, Some(10), Some(20), Some(30), Some(30)]);
        // Stable: the earlier 30 (first batch, row 0) stays before the later one.
        assert_eq!(bytes, vec![1, 0, 2, 0, 1]);
        Ok(())
    }

    #[test]
    fn sorted_batches_that_overlap_are_merged() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f.parquet");
        let jobs = vec![FileJob {
            path: path.clone(),
            // each batch in order, but the second starts before the first ends
            batches: vec![batch(&[Some(10), Some(20)])?, batch(&[Some(15), Some(30)])?],
        }];
        let opts = EncodeOptions {
            zstd_level: 1,
            row_group_rows: 3,
            threads: 1,
        };
        write_all(jobs, &opts)?;
        let mut times = Vec::new();
        for rb in ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&path)?)?.build()? {
            times.extend(
                rb?.column(1)
                    .as_primitive::<TimestampMillisecondType>()
                    .iter(),
            );
        }
        assert_eq!(times, vec![Some(10), Some(15), Some(20), Some(30)]);
        Ok(())
    }

    #[test]
    fn small_files_are_snappy_and_larger_ones_zstd() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let times = |n: usize| (0..n as i64).map(Some).collect::<Vec<_>>();
        let jobs = vec![
            FileJob {
                path: dir.path().join("small.parquet"),
                batches: vec![batch(&times(SMALL_FILE_ROWS - 1))?],
            },
            FileJob {
                path: dir.path().join("large.parquet"),
                batches: vec![
                    batch(&times(SMALL_FILE_ROWS / 2))?,
                    batch(&times(SMALL_FILE_ROWS / 2))?,
                ],
            },
        ];
        let opts = EncodeOptions {
            zstd_level: 1,
            row_group_rows: 1 << 20,
            threads: 1,
        };
        write_all(jobs, &opts)?;
        for (name, codec, rows) in [
            ("small.parquet", Compression::SNAPPY, SMALL_FILE_ROWS - 1),
            (
                "large.parquet",
                Compression::ZSTD(ZstdLevel::default()),
                SMALL_FILE_ROWS,
            ),
        ] {
            let r =
                ParquetRecordBatchReaderBuilder::try_new(fs::File::open(dir.path().join(name))?)?;
            let rg = r.metadata().row_group(0);
            assert_eq!(rg.num_rows() as usize, rows, "{name}");
            for c in rg.columns() {
                let got = match c.compression() {
                    Compression::ZSTD(_) => Compression::ZSTD(ZstdLevel::default()),
                    other => other,
                };
                assert_eq!(got, codec, "{name} {}", c.column_path());
            }
            let back: usize = r
                .build()?
                .map(|b| b.map(|b| b.num_rows()))
                .sum::<Result<_, _>>()?;
            assert_eq!(back, rows, "{name} reads back whole");
        }
        Ok(())
    }

    #[test]
    fn high_cardinality_columns_have_no_dictionary() -> Result<(), Box<dyn std::error::Error>> {
        let b = batch(&[Some(1)])?;
        let props = properties(
            &b.schema(),
            &EncodeOptions {
                zstd_level: 1,
                row_group_rows: 10,
                threads: 1,
            },
            1,
            &[],
        );
        assert!(!props.dictionary_enabled(&ColumnPath::from("bytes")));
        assert!(props.dictionary_enabled(&ColumnPath::from("action")));
        Ok(())
    }

    #[test]
    fn empty_and_one_value_columns_are_stored_uncompressed()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("f.parquet");
        let rows = SMALL_FILE_ROWS; // two halves: large enough for zstd together
        let half = |start: i64, key: &str| -> Result<RecordBatch, arrow::error::ArrowError> {
            let b = batch(&(start..start + rows as i64).map(Some).collect::<Vec<_>>())?;
            let strings = |v: &str| Arc::new(arrow::array::StringArray::from(vec![v; rows]));
            columns::with_strings(
                &b,
                vec![
                    (
                        "vpc_id",
                        true,
                        arrow::array::new_null_array(&DataType::Utf8, rows),
                    ),
                    ("account_id", false, strings("111122223333")),
                    ("source_key", false, strings(key)),
                ],
            )
        };
        let plain = [half(0, "a/1.gz")?, half(rows as i64, "a/2.gz")?];
        let jobs = vec![FileJob {
            path: path.clone(),
            batches: plain.iter().cloned().map(columns::compact).collect(),
        }];
        let opts = EncodeOptions {
            zstd_level: 1,
            row_group_rows: ROW_GROUP_ROWS,
            threads: 1,
        };
        write_all(jobs, &opts)?;
        let r = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&path)?)?;
        let codecs: Vec<Compression> = r
            .metadata()
            .row_group(0)
            .columns()
            .iter()
            .map(|c| c.compression())
            .collect();
        assert!(matches!(codecs[0], Compression::ZSTD(_)), "bytes");
        assert!(matches!(codecs[1], Compression::ZSTD(_)), "event_time");
        assert_eq!(codecs[2], Compression::UNCOMPRESSED, "vpc_id: no value");
        assert_eq!(
            codecs[3],
            Compression::UNCOMPRESSED,
            "account_id: one value"
        );
        // Two values held as keys: a dictionary page of a few bytes, written from the keys.
        assert_eq!(
            codecs[4],
            Compression::UNCOMPRESSED,
            "source_key: two, short"
        );
        let back: Vec<RecordBatch> = r.build()?.collect::<Result<_, _>>()?;
        let want = arrow::compute::concat_batches(&plain[0].schema(), &plain)?;
        let back = arrow::compute::concat_batches(&want.schema(), &back)?;
        assert_eq!(back, want);
        Ok(())
    }

    #[test]
    fn every_job_is_written_or_the_first_error_returned() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let mut jobs = Vec::new();
        for i in 0..5 {
            jobs.push(FileJob {
                path: dir.path().join(format!("{i}.parquet")),
                batches: vec![batch(&[Some(i)])?],
            });
        }
        jobs.push(FileJob {
            path: dir.path().join("missing-dir/x.parquet"),
            batches: vec![batch(&[Some(1)])?],
        });
        let opts = EncodeOptions {
            zstd_level: 1,
            row_group_rows: 10,
            threads: 3,
        };
        let err = write_all(jobs, &opts).err();
        assert!(matches!(err, Some(LakeError::Io { .. })), "{err:?}");
        for i in 0..5 {
            assert!(dir.path().join(format!("{i}.parquet")).is_file());
        }
        Ok(())
    }
}
