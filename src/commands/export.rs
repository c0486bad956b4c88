//! `flowtrail export ocsf`: the lake's alerts as an Amazon Security Lake custom source.
//!
//! Security Lake reads a custom source from
//! `ext/<source>/region=<region>/accountId=<account>/eventDay=<YYYYMMDD>/` under its bucket:
//! parquet files holding rows of one OCSF event class, sorted by time. So: the alerts are read
//! back from the lake's `alerts` table through the same DataFusion session as `flowtrail
//! query`, turned into OCSF Detection Findings by `flowtrail_alerts::ocsf` (the same mapping
//! as `--alerts-format ocsf`), grouped by account, region and the day of the finding's `time`,
//! and each partition is written as one zstd parquet file, rows sorted by `time`, nested OCSF
//! objects as Arrow structs (see `flowtrail_alerts::ocsf::table` for the two free-form
//! attributes kept as JSON strings). An alert without an account or region goes under
//! `unknown`. Each file is written under a temporary name and renamed, and a second export
//! replaces the files of the first.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use arrow::datatypes::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use serde_json::Value;

use flowtrail_alerts::ocsf::{detection_finding, table};
use flowtrail_alerts::sink::batch::from_batch;
use flowtrail_core::Alert;

use crate::cli::{ExportArgs, ExportCommand};
use crate::lake_tables;

/// The file name of a partition's findings.
const FILE_NAME: &str = "detection_finding.zstd.parquet";

pub fn run(args: ExportArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ExportCommand::Ocsf { lake, to, source } => ocsf(&lake, &to, &source),
    }
}

/// The lake's alerts, each once, oldest first.
fn read_alerts(lake: &Path) -> anyhow::Result<Vec<Alert>> {
    lake_tables::check_is_lake(lake)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let batches = rt.block_on(async {
        let ctx = lake_tables::session(lake).await?;
        let df = ctx
            .sql("SELECT * FROM alerts ORDER BY first_seen, id")
            .await
            .context("planning the read of the alerts table")?;
        df.collect().await.context("reading the alerts table")
    })?;
    let mut seen = HashSet::new();
    let mut alerts = Vec::new();
    for b in &batches {
        for a in from_batch(b).context("reading the alerts table")? {
            if seen.insert(a.id.clone()) {
                alerts.push(a);
            }
        }
    }
    Ok(alerts)
}

/// The partition folder of a finding, relative to the source's folder.
fn partition(f: &Value) -> PathBuf {
    let name = |v: &Value| {
        v.as_str()
            .filter(|s| !s.is_empty() && !s.contains(['/', '\\']) && *s != "." && *s != "..")
            .unwrap_or("unknown")
            .to_string()
    };
    let day = chrono::DateTime::from_timestamp_millis(f["time"].as_i64().unwrap_or(0))
        .unwrap_or_default()
        .format("%Y%m%d");
    PathBuf::from(format!("region={}", name(&f["cloud"]["region"])))
        .join(format!("accountId={}", name(&f["cloud"]["account"]["uid"])))
        .join(format!("eventDay={day}"))
}

fn write_partition(dir: &Path, schema: SchemaRef, rows: &[Value]) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let batch = table::to_batch(schema.clone(), rows)?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
        .build();
    let tmp = dir.join(format!(".{FILE_NAME}.tmp"));
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut w = ArrowWriter::try_new(file, schema, Some(props))?;
    w.write(&batch)?;
    w.into_inner()?
        .sync_all()
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, dir.join(FILE_NAME))
        .with_context(|| format!("renaming {}", tmp.display()))?;
    Ok(())
}

fn ocsf(lake: &Path, to: &Path, source: &str) -> anyhow::Result<ExitCode> {
    if source.is_empty() || source.contains(['/', '\\']) || source.starts_with('.') {
        bail!("--source {source:?}: a custom source name is one folder name");
    }
    let alerts = read_alerts(lake)?;
    let mut parts: BTreeMap<PathBuf, Vec<Value>> = BTreeMap::new();
    for a in &alerts {
        let f = detection_finding(a);
        parts
            .entry(partition(&f))
            .or_default()
            .push(table::tabular(f));
    }
    let all: Vec<Value> = parts.values().flatten().cloned().collect();
    let root = to.join("ext").join(source);
    if !all.is_empty() {
        let schema = table::schema(&all)?;
        for (dir, rows) in &mut parts {
            rows.sort_by_key(|f| f["time"].as_i64().unwrap_or(0));
            write_partition(&root.join(dir), schema.clone(), rows)?;
        }
    }
    eprintln!(
        "flowtrail export ocsf: {} alerts as OCSF Detection Findings in {} partitions -> {}",
        alerts.len(),
        parts.len(),
        root.display()
    );
    Ok(ExitCode::SUCCESS)
}
