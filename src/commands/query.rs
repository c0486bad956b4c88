//! `flowtrail query`: read-only SQL over the lake.

use std::process::ExitCode;

use anyhow::Context;
use datafusion::execution::context::SQLOptions;

use crate::cli::QueryArgs;
use crate::{lake_tables, output};

pub fn run(args: QueryArgs) -> anyhow::Result<ExitCode> {
    if let Some(url) = crate::aws::lake_on_s3(&args.lake) {
        anyhow::bail!(
            "flowtrail query reads a local lake; query the lake on S3 ({url}) with Athena (deploy/athena.sql: `flowtrail schema --athena --location {url}`), Trino, Spark or DuckDB's httpfs"
        );
    }
    lake_tables::check_is_lake(&args.lake)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let ctx = lake_tables::session(&args.lake).await?;
        // Analysts get SELECT only: no DDL (CREATE EXTERNAL TABLE could read outside the lake),
        // no DML (COPY/INSERT could write files), no SET statements.
        let opts = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let df = ctx
            .sql_with_options(&args.sql, opts)
            .await
            .context("planning the query")?;
        let batches = df.collect().await.context("running the query")?;
        let mut out = std::io::stdout().lock();
        output::write(&mut out, args.format, &batches)?;
        Ok(ExitCode::SUCCESS)
    })
}
