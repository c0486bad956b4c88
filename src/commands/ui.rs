//! `flowtrail ui`: the investigation site over a local lake, read-only, on 127.0.0.1 unless
//! told otherwise; runs until Ctrl-C.

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::UiArgs;
use crate::lake_tables;

pub fn run(args: UiArgs) -> anyhow::Result<ExitCode> {
    if let Some(url) = crate::aws::lake_on_s3(&args.lake) {
        anyhow::bail!(
            "flowtrail ui reads a local lake, not {url}: copy the days to look at (aws s3 sync) and pass the folder"
        );
    }
    lake_tables::check_is_lake(&args.lake)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let local = listener.local_addr()?;
        let ui = crate::ui::Ui::holding(args.lake.clone(), crate::ui::HOLD_TABLE_BYTES);
        // Warm the session so the first page is as fast as the others.
        ui.ctx().await?;
        eprintln!(
            "flowtrail ui: http://{local}/ (lake {}, read-only; Ctrl-C to stop)",
            args.lake.display()
        );
        axum::serve(listener, crate::ui::router(ui))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
            .context("serving the site")?;
        Ok(ExitCode::SUCCESS)
    })
}
