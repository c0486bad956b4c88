//! Reading committed rows back from the lake, for the two places where a new run must know
//! what earlier runs wrote:
//!
//! - detection judges again the commits its last checkpoint does not cover (a run that crashed
//!   after committing rows but before its detection checkpoint): [`data_files`] lists their
//!   `flows` and `cloudtrail` files in event-time order;
//! - replay seeds its CloudTrail `eventID` dedupe with the lake's newest events, so that an
//!   event delivered twice is dropped even when its first copy was committed by an earlier
//!   (possibly crashed) run: [`recent_cloudtrail_files`].

use std::fs;
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use flowtrail_core::Table;

use crate::LakeError;
use crate::ledger::CommitRecord;

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
    [Table::Flows, Table::Cloudtrail]
        .into_iter()
        .find(|t| t.name() == first)
}

/// The `flows` and `cloudtrail` parquet files of `records`, ordered by the hour of their
/// partition (then table, then name): fed in this order, detection's watermark only moves
/// forward, whatever the order the records' objects were committed in.
pub fn data_files(root: &Path, records: &[CommitRecord]) -> Vec<(Table, PathBuf)> {
    let mut files: Vec<(String, Table, &str)> = records
        .iter()
        .flat_map(|r| r.files.iter())
        .filter(|f| f.ends_with(".parquet"))
        .filter_map(|f| table_of(f).map(|t| (partition_hour(f), t, f.as_str())))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|(_, t, f)| (t, root.join(f)))
        .collect()
}

/// The `cloudtrail` files among `files` (relative to `root`) whose hour is within
/// `horizon_hours` of the newest one.
pub fn recent_cloudtrail_files(root: &Path, files: &[String], horizon_hours: i64) -> Vec<PathBuf> {
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
    let mut out: Vec<(i64, PathBuf)> = hours
        .into_iter()
        .filter_map(|(h, f)| {
            h.filter(|h| *h >= newest - horizon_hours)
                .map(|h| (h, root.join(f)))
        })
        .collect();
    out.sort();
    out.into_iter().map(|(_, p)| p).collect()
}

/// Read a lake parquet file whole, or only the named columns.
pub fn read_parquet(path: &Path, columns: Option<&[&str]>) -> Result<Vec<RecordBatch>, LakeError> {
    let pq = |source| LakeError::Parquet {
        path: path.to_path_buf(),
        source,
    };
    let file = fs::File::open(path).map_err(|source| LakeError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(pq)?;
    if let Some(cols) = columns {
        let mask = ProjectionMask::columns(builder.parquet_schema(), cols.iter().copied());
        builder = builder.with_projection(mask);
    }
    let reader = builder.build().map_err(pq)?;
    reader
        .map(|b| {
            b.map_err(|source| LakeError::Arrow {
                context: format!("reading {}", path.display()),
                source,
            })
        })
        .collect()
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
        let f = data_files(Path::new("/l"), std::slice::from_ref(&rec));
        let names: Vec<String> = f
            .iter()
            .map(|(t, p)| format!("{t} {}", p.display()))
            .collect();
        assert_eq!(
            names,
            [
                "flows /l/flows/account_id=2/region=r/date=2026-01-08/hour=05/a.parquet",
                "cloudtrail /l/cloudtrail/account_id=1/region=r/date=2026-01-08/hour=05/a.parquet",
                "flows /l/flows/account_id=1/region=r/date=2026-01-08/hour=09/a.parquet",
            ]
        );
        let ct = [
            "cloudtrail/a/date=2026-01-01/hour=00/x.parquet".to_string(),
            "cloudtrail/a/date=2026-01-08/hour=10/x.parquet".to_string(),
            "cloudtrail/a/date=2026-01-06/hour=10/x.parquet".to_string(),
        ];
        let recent = recent_cloudtrail_files(Path::new("/l"), &ct, 48);
        assert_eq!(recent.len(), 2);
        assert!(recent[1].ends_with("date=2026-01-08/hour=10/x.parquet"));
    }
}
