//! Reading committed rows back from the lake: one function, [`committed_rows`], for every place
//! where a run must know what earlier runs wrote:
//!
//! - replay seeds its CloudTrail `eventID` dedupe with the lake's newest events, so that an
//!   event delivered twice is dropped even when its first copy was committed by an earlier
//!   (possibly crashed) run ([`Selection::RecentCloudtrail`]);
//! - detection judges again the commits its last checkpoint does not cover (a run that crashed
//!   after committing rows but before its detection checkpoint), and a service that crashed
//!   before its first state save judges every commit made since it started
//!   ([`Selection::Commits`]);
//! - a restarted service rebuilds the detection hours that were open when it stopped
//!   ([`Selection::HoursSince`]; the judged hours are in its baselines).
//!
//! It owns what these share: which files a selection names and in which order (event-time
//! hour first, so detection's watermark only moves forward), reading them from this disk or,
//! for a lake on S3 whose staging keeps no copy, fetching each one into staging and deleting it
//! again once read, and what a file that cannot be read costs ([`Unreadable`]).

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use flowtrail_core::Table;

use crate::LakeError;
use crate::LakeWriter;
use crate::ledger::CommitRecord;

/// Rows per batch handed to the caller.
const BATCH_ROWS: usize = 65_536;

/// The tables detection reads, whose files the selections name.
const DATA_TABLES: [Table; 2] = [Table::Flows, Table::Cloudtrail];

/// Which committed files [`committed_rows`] reads back.
#[derive(Debug, Clone, Copy)]
pub enum Selection<'a> {
    /// The `flows` and `cloudtrail` files of these commit records.
    Commits(&'a [CommitRecord]),
    /// The `flows` and `cloudtrail` files in hour partitions starting at or after `from_ms`:
    /// those on this disk and, for a lake on S3, those on S3 (fetched even when a copy is
    /// here, and deleted once read).
    HoursSince {
        /// Start (ms) of the oldest hour read.
        from_ms: i64,
    },
    /// The `cloudtrail` files of every commit whose hour is within `horizon_hours` of the
    /// newest one.
    RecentCloudtrail {
        /// Hours before the newest one still read.
        horizon_hours: i64,
    },
}

/// What a selected file that cannot be read back costs.
#[derive(Debug, Clone, Copy, Default)]
pub enum Unreadable {
    /// The read fails with the error. A file gone from a lake that has no S3 copy of it
    /// (removed by hand) is skipped.
    #[default]
    Fail,
    /// A warning `lake file unreadable; <what is lost>`, and the read goes on with the next
    /// file (a file that fails part-way has handed over the batches before the failure).
    Warn(&'static str),
}

/// How [`committed_rows`] reads.
#[derive(Debug, Clone, Copy, Default)]
pub struct ReadOptions<'a> {
    /// Only these columns (every column when `None`).
    pub columns: Option<&'a [&'a str]>,
    /// What a file that cannot be read back costs.
    pub unreadable: Unreadable,
}

/// What [`committed_rows`] read.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct ReadBack {
    /// Files the selection named.
    pub files: usize,
    /// Rows handed to the caller.
    pub rows: u64,
}

/// A selected file: its table, its path relative to the lake root, and whether it is to be
/// fetched from S3 even when this disk has a copy.
struct Selected {
    table: Table,
    rel: String,
    from_s3: bool,
}

/// Read back the committed rows of `selection`, oldest event-time hour first (then table, then
/// path), handing each batch to `each` with its table and lake-relative path. A file this disk
/// has no copy of is fetched from the lake's S3 mirror into staging and deleted once read. An
/// error of `each` ends the read; a file that cannot be read ends it or is skipped, as
/// `opts.unreadable` says.
pub fn committed_rows<E: From<LakeError>>(
    lake: &LakeWriter,
    selection: Selection<'_>,
    opts: ReadOptions<'_>,
    mut each: impl FnMut(Table, &str, &RecordBatch) -> Result<(), E>,
) -> Result<ReadBack, E> {
    let files = select(lake, selection)?;
    let mut out = ReadBack {
        files: files.len(),
        rows: 0,
    };
    for file in &files {
        let opened = match open(lake, file, opts.columns) {
            Ok(o) => o,
            Err(e) => {
                skip_or_fail(lake, e, opts.unreadable)?;
                continue;
            }
        };
        for batch in opened.reader {
            let batch = match batch {
                Ok(b) => b,
                Err(source) => {
                    let e = LakeError::Arrow {
                        context: format!("reading {}", opened.path.display()),
                        source,
                    };
                    skip_or_fail(lake, e, opts.unreadable)?;
                    break;
                }
            };
            out.rows += batch.num_rows() as u64;
            each(file.table, &file.rel, &batch)?;
        }
    }
    Ok(out)
}

/// `Ok` when `e` is to be skipped (logged as `unreadable` says), else the error.
fn skip_or_fail(lake: &LakeWriter, e: LakeError, unreadable: Unreadable) -> Result<(), LakeError> {
    match unreadable {
        Unreadable::Warn(lost) => {
            tracing::warn!(error = %e, "lake file unreadable; {lost}");
            Ok(())
        }
        Unreadable::Fail => {
            let gone = matches!(&e, LakeError::Io { source, .. }
                if source.kind() == std::io::ErrorKind::NotFound);
            if gone && lake.mirror().is_none() {
                Ok(())
            } else {
                Err(e)
            }
        }
    }
}

/// The files of `selection`, in reading order.
fn select(lake: &LakeWriter, selection: Selection<'_>) -> Result<Vec<Selected>, LakeError> {
    let local = |(table, rel)| Selected {
        table,
        rel,
        from_s3: false,
    };
    Ok(match selection {
        Selection::Commits(records) => commit_files(records).into_iter().map(local).collect(),
        Selection::RecentCloudtrail { horizon_hours } => {
            recent_cloudtrail_files(lake.ledger().cloudtrail_files(), horizon_hours)
                .into_iter()
                .map(|rel| local((Table::Cloudtrail, rel)))
                .collect()
        }
        Selection::HoursSince { from_ms } => {
            // (hour, table, path) → fetched from S3.
            let mut files = std::collections::BTreeMap::new();
            for table in DATA_TABLES {
                for (hour, path) in crate::reader::files_since(lake.root(), table, from_ms)? {
                    if let Ok(rel) = path.strip_prefix(lake.root()) {
                        let rel = rel.to_string_lossy().into_owned();
                        let hour = crate::reader::hour_of(&rel).unwrap_or(hour);
                        files.insert((hour, table, rel), false);
                    }
                }
                if let Some(m) = lake.mirror() {
                    for rel in m.hour_files(table, from_ms)? {
                        let hour = crate::reader::hour_of(&rel).unwrap_or(i64::MIN);
                        files.insert((hour, table, rel), true);
                    }
                }
            }
            files
                .into_iter()
                .map(|((_, table, rel), from_s3)| Selected {
                    table,
                    rel,
                    from_s3,
                })
                .collect()
        }
    })
}

/// An open file being read, and the staging copy to delete once it is (fetched from S3).
struct Opened {
    reader: ParquetRecordBatchReader,
    path: PathBuf,
    _fetched: Option<Fetched>,
}

/// A file fetched from S3 into staging: deleted when dropped (read, or given up on).
struct Fetched(PathBuf);

impl Drop for Fetched {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.0);
    }
}

/// Open `file` for reading: the copy on this disk, else (and always when `from_s3`) a copy
/// fetched from the lake's S3 mirror.
fn open(lake: &LakeWriter, file: &Selected, columns: Option<&[&str]>) -> Result<Opened, LakeError> {
    let path = lake.root().join(&file.rel);
    let (handle, fetched) = match lake.mirror() {
        Some(m) if file.from_s3 => fetch(m, lake.root(), &file.rel)?,
        mirror => match fs::File::open(&path) {
            Ok(f) => (f, None),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && mirror.is_some() => {
                // A lake on S3 keeps no local copy of what it copied there.
                match mirror {
                    Some(m) => fetch(m, lake.root(), &file.rel)?,
                    None => return Err(LakeError::Io { path, source: e }),
                }
            }
            Err(source) => return Err(LakeError::Io { path, source }),
        },
    };
    let pq = |source| LakeError::Parquet {
        path: path.clone(),
        source,
    };
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(handle)
        .map_err(pq)?
        .with_batch_size(BATCH_ROWS);
    if let Some(cols) = columns {
        let mask = ProjectionMask::columns(builder.parquet_schema(), cols.iter().copied());
        builder = builder.with_projection(mask);
    }
    let reader = builder.build().map_err(pq)?;
    Ok(Opened {
        reader,
        path,
        _fetched: fetched,
    })
}

/// Fetch the lake file `rel` from S3 into `staging` and open it; the copy is deleted when the
/// returned guard is dropped.
fn fetch(
    mirror: &crate::mirror::S3Mirror,
    staging: &Path,
    rel: &str,
) -> Result<(fs::File, Option<Fetched>), LakeError> {
    let local = mirror.fetch(staging, rel)?;
    let fetched = Fetched(local.clone());
    let f = fs::File::open(&local).map_err(|source| LakeError::Io {
        path: local.clone(),
        source,
    })?;
    Ok((f, Some(fetched)))
}

/// `(date, hour)` of a partition path (`.../date=YYYY-MM-DD/hour=HH/...`), as `YYYY-MM-DDTHH`.
fn partition_hour(rel: &str) -> String {
    let mut date = "";
    let mut hour = "";
    for seg in rel.split('/') {
        if let Some(d) = seg.strip_prefix("date=") {
            date = d;
        } else if let Some(h) = seg.strip_prefix("hour=") {
            hour = h;
        }
    }
    format!("{date}T{hour}")
}

fn table_of(rel: &str) -> Option<Table> {
    let first = rel.split('/').next()?;
    DATA_TABLES.into_iter().find(|t| t.name() == first)
}

/// The `flows` and `cloudtrail` parquet files of `records`, ordered by the hour of their
/// partition (then table, then path): fed in this order, detection's watermark only moves
/// forward, whatever the order the records' objects were committed in.
fn commit_files(records: &[CommitRecord]) -> Vec<(Table, String)> {
    let files: BTreeSet<(String, Table, &str)> = records
        .iter()
        .flat_map(|r| r.files.iter())
        .filter(|f| f.ends_with(".parquet"))
        .filter_map(|f| table_of(f).map(|t| (partition_hour(f), t, f.as_str())))
        .collect();
    files
        .into_iter()
        .map(|(_, t, f)| (t, f.to_string()))
        .collect()
}

/// The `cloudtrail` files among `files` whose hour is within `horizon_hours` of the newest
/// one, oldest first.
fn recent_cloudtrail_files(files: &[String], horizon_hours: i64) -> Vec<String> {
    let hour_index = |f: &str| -> Option<i64> {
        let key = partition_hour(f);
        let t =
            chrono::NaiveDateTime::parse_from_str(&format!("{key}:00"), "%Y-%m-%dT%H:%M").ok()?;
        Some(t.and_utc().timestamp() / 3600)
    };
    let hours: Vec<(Option<i64>, &String)> = files.iter().map(|f| (hour_index(f), f)).collect();
    let Some(newest) = hours.iter().filter_map(|h| h.0).max() else {
        return Vec::new();
    };
    let mut out: Vec<(i64, &String)> = hours
        .into_iter()
        .filter_map(|(h, f)| h.filter(|h| *h >= newest - horizon_hours).map(|h| (h, f)))
        .collect();
    out.sort();
    out.into_iter().map(|(_, f)| f.clone()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_come_in_hour_order_across_accounts_and_tables() {
        let rec = CommitRecord {
            cursors: Default::default(),
            id: "00000001-x".into(),
            files: vec![
                "flows/account_id=2/region=r/date=2026-01-08/hour=05/a.parquet".into(),
                "flows/account_id=1/region=r/date=2026-01-08/hour=09/a.parquet".into(),
                "cloudtrail/account_id=1/region=r/date=2026-01-08/hour=05/a.parquet".into(),
                "alerts/date=2026-01-08/a.parquet".into(),
                "_quarantine/x.jsonl".into(),
            ],
            sources: vec![],
            rows: Default::default(),
            detect: true,
        };
        let f = commit_files(std::slice::from_ref(&rec));
        let names: Vec<String> = f.iter().map(|(t, p)| format!("{t} {p}")).collect();
        assert_eq!(
            names,
            [
                "flows flows/account_id=2/region=r/date=2026-01-08/hour=05/a.parquet",
                "cloudtrail cloudtrail/account_id=1/region=r/date=2026-01-08/hour=05/a.parquet",
                "flows flows/account_id=1/region=r/date=2026-01-08/hour=09/a.parquet",
            ]
        );
        let ct = [
            "cloudtrail/a/date=2026-01-01/hour=00/x.parquet".to_string(),
            "cloudtrail/a/date=2026-01-08/hour=10/x.parquet".to_string(),
            "cloudtrail/a/date=2026-01-06/hour=10/x.parquet".to_string(),
        ];
        let recent = recent_cloudtrail_files(&ct, 48);
        assert_eq!(recent.len(), 2);
        assert!(recent[1].ends_with("date=2026-01-08/hour=10/x.parquet"));
    }

    type TestResult = Result<(), Box<dyn std::error::Error>>;

    /// A lake with one commit of 4 `flows` rows, two in hour 10 and two in hour 11 of
    /// 2026-01-08; its record and the start of hour 11.
    fn lake() -> Result<(tempfile::TempDir, CommitRecord, i64), Box<dyn std::error::Error>> {
        use arrow::array::{Int64Array, StringArray, TimestampMillisecondArray};
        use arrow::datatypes::{DataType, Field, Schema};
        use flowtrail_core::schema::{ACCOUNT_ID, EVENT_TIME, REGION, timestamp_type};
        use std::sync::Arc;
        let schema = Arc::new(Schema::new(vec![
            Field::new(ACCOUNT_ID, DataType::Utf8, true),
            Field::new(REGION, DataType::Utf8, true),
            Field::new(EVENT_TIME, timestamp_type(), true),
            Field::new("bytes", DataType::Int64, true),
        ]));
        let t0 = 1_767_866_700_000; // 2026-01-08T10:05Z
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(
                    (0..4).map(|_| "012345678901"),
                )),
                Arc::new(StringArray::from_iter_values((0..4).map(|_| "us-east-1"))),
                Arc::new(
                    TimestampMillisecondArray::from_iter_values((0..4).map(|i| t0 + i * 1_800_000))
                        .with_timezone("UTC"),
                ),
                Arc::new(Int64Array::from_iter_values(0..4)),
            ],
        )?;
        let dir = tempfile::tempdir()?;
        let mut w = LakeWriter::open(dir.path(), Default::default())?;
        w.set_detect(true);
        w.add(Table::Flows, &batch)?;
        w.commit()?;
        let rec = w.ledger().committed_after(0)?.remove(0);
        Ok((dir, rec, t0 - 5 * 60_000 + 3_600_000))
    }

    fn read(
        w: &LakeWriter,
        sel: Selection<'_>,
        unreadable: Unreadable,
    ) -> Result<(ReadBack, Vec<String>), LakeError> {
        let mut seen = Vec::new();
        let opts = ReadOptions {
            columns: Some(&["bytes"]),
            unreadable,
        };
        let got = committed_rows(w, sel, opts, |t, rel, b| {
            assert_eq!(b.num_columns(), 1, "only the columns asked for");
            seen.push(format!("{t} {rel} {}", b.num_rows()));
            Ok::<_, LakeError>(())
        })?;
        Ok((got, seen))
    }

    #[test]
    fn committed_rows_reads_a_selection_in_hour_order() -> TestResult {
        let (dir, rec, hour11) = lake()?;
        let w = LakeWriter::open(dir.path(), Default::default())?;
        let commits = std::slice::from_ref(&rec);
        let (got, seen) = read(&w, Selection::Commits(commits), Unreadable::Fail)?;
        assert_eq!(got, ReadBack { files: 2, rows: 4 });
        assert!(
            seen[0].contains("hour=10/") && seen[1].contains("hour=11/"),
            "{seen:?}"
        );
        assert!(
            seen.iter()
                .all(|s| s.starts_with("flows ") && s.ends_with(" 2"))
        );
        let since = Selection::HoursSince { from_ms: hour11 };
        let (got, seen) = read(&w, since, Unreadable::Fail)?;
        assert_eq!((got.rows, seen.len()), (2, 1));
        assert!(seen[0].contains("hour=11/"));
        let recent = Selection::RecentCloudtrail { horizon_hours: 48 };
        assert_eq!(read(&w, recent, Unreadable::Fail)?.0, ReadBack::default());
        // An error of the caller ends the read.
        let stop = committed_rows(
            &w,
            Selection::Commits(commits),
            Default::default(),
            |_, _, _| {
                Err(LakeError::Ledger {
                    path: "x".into(),
                    reason: "stop".into(),
                })
            },
        );
        assert!(matches!(stop, Err(LakeError::Ledger { .. })));
        Ok(())
    }

    #[test]
    fn unreadable_files_fail_or_are_skipped_as_asked() -> TestResult {
        let (dir, rec, _) = lake()?;
        let w = LakeWriter::open(dir.path(), Default::default())?;
        let commits = std::slice::from_ref(&rec);
        // A damaged file: an error naming it, or skipped with a warning.
        let damaged = dir.path().join(&rec.files[0]);
        fs::write(&damaged, b"not parquet")?;
        let err = read(&w, Selection::Commits(commits), Unreadable::Fail)
            .err()
            .ok_or("a damaged file must fail the read")?;
        assert!(
            matches!(&err, LakeError::Parquet { path, .. } if *path == damaged),
            "{err:?}"
        );
        let (got, seen) = read(&w, Selection::Commits(commits), Unreadable::Warn("lost"))?;
        assert_eq!((got.rows, seen.len()), (2, 1));
        // A file removed by hand from a lake without S3 copy: skipped either way.
        fs::remove_file(&damaged)?;
        for unreadable in [Unreadable::Fail, Unreadable::Warn("lost")] {
            let (got, _) = read(&w, Selection::Commits(commits), unreadable)?;
            assert_eq!(got, ReadBack { files: 2, rows: 2 });
        }
        Ok(())
    }
}
