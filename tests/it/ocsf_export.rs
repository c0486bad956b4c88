//! OCSF end to end with the real binary: `replay sample-data --alerts-format ocsf` writes
//! OCSF Detection Findings (each line checked against the vendored OCSF 1.5.0 schema), and
//! `export ocsf` writes the lake's alerts in the Amazon Security Lake custom-source layout,
//! read back here with the parquet crate.

use std::collections::BTreeSet;
use std::path::Path;

use arrow::array::{Array, AsArray};
use arrow::datatypes::Int64Type;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;

use crate::common::*;

/// The `(region, account, day)` of a partition path `region=…/accountId=…/eventDay=…/file`.
fn partition_of(rel: &Path) -> (String, String, String) {
    let parts: Vec<String> = rel
        .iter()
        .map(|c| c.to_string_lossy().into_owned())
        .collect();
    assert_eq!(parts.len(), 4, "{}", rel.display());
    let value = |i: usize, key: &str| {
        parts[i]
            .strip_prefix(&format!("{key}="))
            .unwrap_or_else(|| panic!("{} is not {key}=…", parts[i]))
            .to_string()
    };
    assert_eq!(parts[3], "detection_finding.zstd.parquet");
    (
        value(0, "region"),
        value(1, "accountId"),
        value(2, "eventDay"),
    )
}

/// Rows of one exported file, checked against its partition; returns their finding uids.
fn check_file(path: &Path, (region, account, day): &(String, String, String)) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap();
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
    let meta = builder.metadata().clone();
    for rg in meta.row_groups() {
        for c in rg.columns() {
            assert!(
                matches!(c.compression(), Compression::ZSTD(_)),
                "{}: {:?}",
                c.column_path(),
                c.compression()
            );
        }
    }
    let mut uids = Vec::new();
    let mut last_time = i64::MIN;
    for batch in builder.build().unwrap() {
        let b = batch.unwrap();
        let col = |name: &str| b.column(b.schema().index_of(name).unwrap()).clone();
        let class = col("class_uid");
        assert!(
            class
                .as_primitive::<Int64Type>()
                .iter()
                .all(|c| c == Some(2004))
        );
        let times = col("time");
        let info = col("finding_info");
        let info = info.as_struct();
        let uid = info
            .column_by_name("uid")
            .unwrap()
            .as_string::<i32>()
            .clone();
        let cloud = col("cloud");
        let cloud = cloud.as_struct();
        let reg = cloud
            .column_by_name("region")
            .unwrap()
            .as_string::<i32>()
            .clone();
        let acct = cloud.column_by_name("account").unwrap().as_struct().clone();
        let acct = acct
            .column_by_name("uid")
            .unwrap()
            .as_string::<i32>()
            .clone();
        for row in 0..b.num_rows() {
            let t = times.as_primitive::<Int64Type>().value(row);
            assert!(t >= last_time, "rows are sorted by time");
            last_time = t;
            let d = chrono::DateTime::from_timestamp_millis(t).unwrap();
            assert_eq!(&d.format("%Y%m%d").to_string(), day);
            assert_eq!(reg.value(row), region);
            assert_eq!(acct.value(row), account);
            assert!(!uid.is_null(row));
            uids.push(uid.value(row).to_string());
        }
    }
    uids
}

#[test]
fn replay_writes_ocsf_findings_and_export_writes_the_security_lake_layout() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    // `common::replay` writes the alerts beside the lake, as `lake.alerts.jsonl`.
    let jsonl = lake.with_extension("alerts.jsonl");
    let out = replay(
        &root.join("sample-data"),
        &lake,
        &["--alerts-format", "ocsf"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Every line is a valid Detection Finding.
    let text = std::fs::read_to_string(&jsonl).unwrap();
    let mut line_uids = BTreeSet::new();
    for line in text.lines() {
        let f: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(f["class_uid"], 2004, "{line}");
        let problems = flowtrail_alerts::ocsf::check::problems(&f);
        assert!(problems.is_empty(), "{problems:#?}\n{line}");
        line_uids.insert(f["finding_info"]["uid"].as_str().unwrap().to_string());
    }
    assert!(
        line_uids.len() >= 5,
        "the sample raises alerts: {}",
        line_uids.len()
    );
    assert_eq!(line_uids.len(), text.lines().count(), "each alert once");
    assert_eq!(count(&lake, "alerts"), line_uids.len() as u64);

    // The Security Lake layout: one file per partition, rows of the partition.
    let to = dir.path().join("securitylake");
    let out = bin()
        .args(["export", "ocsf", "--lake"])
        .arg(&lake)
        .arg("--to")
        .arg(&to)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let source = to.join("ext/flowtrail");
    assert!(source.is_dir(), "{} exported", source.display());
    let files = files_under(&source);
    let mut parts = BTreeSet::new();
    let mut exported = BTreeSet::new();
    for f in &files {
        let part = partition_of(f.strip_prefix(&source).unwrap());
        assert!(parts.insert(part.clone()), "one file per partition");
        for uid in check_file(f, &part) {
            assert!(exported.insert(uid), "each alert once");
        }
    }
    assert!(
        parts
            .iter()
            .any(|(r, a, _)| r == "us-east-1" && a == "012345678901")
    );
    assert_eq!(exported, line_uids, "the export holds exactly the alerts");

    // A second export replaces the first rather than adding to it.
    let again = bin()
        .args(["export", "ocsf", "--lake"])
        .arg(&lake)
        .arg("--to")
        .arg(&to)
        .output()
        .unwrap();
    assert!(again.status.success());
    let files_again = files_under(&source);
    assert_eq!(files_again.len(), files.len());
}

#[test]
fn export_refuses_a_folder_that_is_not_a_lake() {
    let dir = tempfile::tempdir().unwrap();
    let out = bin()
        .args(["export", "ocsf", "--lake"])
        .arg(dir.path().join("nowhere"))
        .arg("--to")
        .arg(dir.path().join("out"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("nowhere"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
