//! Registers the lake's tables in a DataFusion session: a listing table over each table's
//! folder with hive partition columns (so `WHERE date = '2026-01-08'` reads only that day),
//! the JSON functions for the JSON columns, and nothing that can write.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, bail};
use arrow::datatypes::{DataType, Schema, SchemaRef};
use datafusion::datasource::MemTable;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::prelude::{SessionConfig, SessionContext};

use flowtrail_core::Table;
use flowtrail_core::layout::LEDGER_DIR;
use flowtrail_core::schema::{
    alerts::alerts_schema, athena::partition_keys, cloudtrail::cloudtrail_schema,
    flows::flows_schema, inventory::inventory_schema,
};

fn full_schema(t: Table) -> SchemaRef {
    match t {
        Table::Flows => flows_schema(),
        Table::Cloudtrail => cloudtrail_schema(),
        Table::Alerts => alerts_schema(),
        Table::Inventory => inventory_schema(),
    }
}

/// The schema of the files minus the partition columns (they come from the path).
fn file_schema(t: Table) -> SchemaRef {
    let parts = partition_keys(t);
    let s = full_schema(t);
    Arc::new(Schema::new(
        s.fields()
            .iter()
            .filter(|f| !parts.contains(&f.name().as_str()))
            .cloned()
            .collect::<Vec<_>>(),
    ))
}

/// Fail unless `lake` is a lake: a folder holding a table folder or the commit ledger. A
/// query over a missing or mistyped path would otherwise answer with empty tables.
pub fn check_is_lake(lake: &Path) -> anyhow::Result<()> {
    let meta = std::fs::metadata(lake).with_context(|| {
        format!(
            "cannot open the lake folder \"{}\" (replay into it first, or pass --lake DIR)",
            lake.display()
        )
    })?;
    if !meta.is_dir() {
        bail!("{} is not a lake: it is not a folder", lake.display());
    }
    let has = |name: &str| lake.join(name).is_dir();
    if !Table::ALL.iter().any(|t| has(t.name())) && !has(LEDGER_DIR) {
        bail!(
            "{} is not a lake: it has no {}, {}, {} or {LEDGER_DIR} folder (replay into it first, or pass --lake DIR)",
            lake.display(),
            Table::Flows.name(),
            Table::Cloudtrail.name(),
            Table::Alerts.name()
        );
    }
    Ok(())
}

/// The read-only guard of SQL from analysts and the investigation site: SELECT only (no DDL,
/// which could read outside the lake; no DML, which could write files; no SET statements).
pub fn read_only_sql() -> datafusion::execution::context::SQLOptions {
    datafusion::execution::context::SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// A session with `flows`, `cloudtrail`, `alerts` and `inventory` registered over the lake at `lake`.
pub async fn session(lake: &Path) -> anyhow::Result<SessionContext> {
    let mut config = SessionConfig::new()
        .with_information_schema(true)
        .with_target_partitions(
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        );
    // Files are sorted by event time with page statistics: filters are evaluated while
    // decoding (skipping pages and rows), cheapest first.
    let parquet = &mut config.options_mut().execution.parquet;
    parquet.pushdown_filters = true;
    parquet.reorder_filters = true;
    let mut ctx = SessionContext::new_with_config(config);
    datafusion_functions_json::register_all(&mut ctx).context("registering JSON functions")?;
    ctx.register_udf(crate::utc_trunc::UtcDateTrunc::udf());
    for t in Table::ALL {
        let dir = lake.join(t.name());
        if !dir.is_dir() {
            let empty = MemTable::try_new(full_schema(t), vec![vec![]])?;
            ctx.register_table(t.name(), Arc::new(empty))?;
            continue;
        }
        let dir = dir
            .canonicalize()
            .with_context(|| format!("lake folder {}", dir.display()))?;
        let url = ListingTableUrl::parse(format!("{}/", dir.display()))
            .with_context(|| format!("lake folder {}", dir.display()))?;
        let parts = partition_keys(t)
            .iter()
            .map(|p| (p.to_string(), DataType::Utf8))
            .collect();
        let options = ListingOptions::new(Arc::new(ParquetFormat::default()))
            .with_file_extension(".parquet")
            .with_table_partition_cols(parts);
        let config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .with_schema(file_schema(t));
        let table = ListingTable::try_new(config)?;
        ctx.register_table(t.name(), Arc::new(table))?;
    }
    Ok(ctx)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_or_foreign_folder_is_not_a_lake() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nowhere");
        let e = check_is_lake(&missing).unwrap_err();
        assert!(format!("{e:#}").contains("nowhere"), "{e:#}");
        let e = check_is_lake(dir.path()).unwrap_err();
        assert!(e.to_string().contains("is not a lake"), "{e}");
        std::fs::create_dir(dir.path().join("flows")).unwrap();
        check_is_lake(dir.path()).unwrap();
    }
}
