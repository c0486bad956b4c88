//! The lake's hour partitions on this disk: the committed files of a table from a given hour
//! on ([`files_since`], for [`crate::reread::committed_rows`] to rebuild the detection hours
//! that were open when a service stopped), the hour a path is in, and the batches of a file
//! held in memory ([`read_bytes`], for a commit another task made, read from S3).

use std::fs;
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use flowtrail_core::{Table, layout};

use crate::LakeError;

const HOUR_MS: i64 = 3_600_000;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LakeError + '_ {
    move |source| LakeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn subdirs(dir: &Path) -> Result<Vec<(String, PathBuf)>, LakeError> {
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(dir)(e)),
    };
    let mut out = Vec::new();
    for entry in rd {
        let entry = entry.map_err(io(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        out.push((name, entry.path()));
    }
    out.sort();
    Ok(out)
}

/// Committed parquet files of `table` in hour partitions starting at or after `from_ms`, with
/// the hour's start, oldest hour first.
pub fn files_since(
    root: &Path,
    table: Table,
    from_ms: i64,
) -> Result<Vec<(i64, PathBuf)>, LakeError> {
    let mut out = Vec::new();
    let from_day = from_ms.div_euclid(86_400_000) * 86_400_000;
    for (_, acct) in subdirs(&root.join(table.name()))? {
        for (_, region) in subdirs(&acct)? {
            for (date, day_dir) in subdirs(&region)? {
                let Some(day) = layout::date_segment_ms(&date) else {
                    continue;
                };
                if day < from_day {
                    continue;
                }
                for (hour, hour_dir) in subdirs(&day_dir)? {
                    let Some(h) = layout::hour_segment(&hour) else {
                        continue;
                    };
                    let start = day + h * HOUR_MS;
                    if start < from_ms {
                        continue;
                    }
                    for (name, file) in subdirs(&hour_dir)? {
                        if name.ends_with(".parquet") {
                            out.push((start, file));
                        }
                    }
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The start (ms) of the hour partition a lake path is in (`.../date=YYYY-MM-DD/hour=HH/...`).
pub fn hour_of(rel: &str) -> Option<i64> {
    layout::hour_start_of_path(rel)
}

/// Every batch of the parquet file `name` held in memory (fetched from an S3 lake).
pub fn read_bytes(name: &Path, bytes: Vec<u8>) -> Result<Vec<RecordBatch>, LakeError> {
    let pq = |source| LakeError::Parquet {
        path: name.to_path_buf(),
        source,
    };
    ParquetRecordBatchReaderBuilder::try_new(bytes::Bytes::from(bytes))
        .map_err(pq)?
        .with_batch_size(65_536)
        .build()
        .map_err(pq)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| LakeError::Arrow {
            context: format!("reading {}", name.display()),
            source,
        })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn lists_hours_from_a_time_on_and_skips_hidden_files() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("flows/account_id=1/region=r");
        for (d, h, f) in [
            ("2026-01-07", "23", "a.parquet"),
            ("2026-01-08", "00", "b.parquet"),
            ("2026-01-08", "01", "c.parquet"),
            ("2026-01-08", "01", ".d.parquet.tmp"),
        ] {
            let p = base.join(format!("date={d}/hour={h}"));
            fs::create_dir_all(&p).unwrap();
            fs::write(p.join(f), b"x").unwrap();
        }
        let from = chrono::NaiveDate::from_ymd_opt(2026, 1, 8)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_millis();
        let files = files_since(dir.path(), Table::Flows, from).unwrap();
        let names: Vec<_> = files
            .iter()
            .map(|(_, p)| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["b.parquet", "c.parquet"]);
        assert_eq!(files[1].0 - files[0].0, HOUR_MS);
        assert_eq!(
            hour_of("flows/account_id=1/region=r/date=2026-01-08/hour=01/c.parquet"),
            Some(from + HOUR_MS)
        );
        assert_eq!(hour_of("flows/account_id=1/x.parquet"), None);
        assert!(
            files_since(dir.path(), Table::Cloudtrail, 0)
                .unwrap()
                .is_empty()
        );
    }
}
