//! `flowtrail-respond`: the isolation responder as a service (an ECS task) or a one-shot run.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Parser;

use flowtrail_core::SystemClock;
use flowtrail_respond::aws::{Clients, sdk_config};
use flowtrail_respond::{RespondConfig, Responder};

/// Isolates instances named by flowtrail alerts from an SQS queue. Dry run unless told.
#[derive(Debug, Parser)]
#[command(name = "flowtrail-respond", version, about)]
struct Args {
    /// Configuration (TOML); defaults apply without one (dry run).
    #[arg(long)]
    config: Option<PathBuf>,
    /// The SQS queue subscribed to the alert topic (overrides the config's `queue_url`).
    #[arg(long)]
    queue_url: Option<String>,
    /// Act for real (overrides `dry_run = true`).
    #[arg(long)]
    execute: bool,
    /// Receive one batch, handle it and exit (a scheduled task, tests).
    #[arg(long)]
    once: bool,
    /// Handle one SQS event document of a Lambda event source mapping (a file, `-` for stdin)
    /// and print the partial batch response; no queue is polled.
    #[arg(long, value_name = "FILE")]
    sqs_event: Option<PathBuf>,
    /// AWS endpoint override (moto server); `AWS_ENDPOINT_URL` works too.
    #[arg(long)]
    endpoint_url: Option<String>,
    /// Logs as JSON lines.
    #[arg(long)]
    log_json: bool,
}

async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let filter = tracing_subscriber::EnvFilter::try_from_env("FLOWTRAIL_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let fmt = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if args.log_json {
        fmt.json().init();
    } else {
        fmt.init();
    }
    let mut cfg = match &args.config {
        Some(p) => RespondConfig::load(p).with_context(|| format!("loading {}", p.display()))?,
        None => RespondConfig::default(),
    };
    if args.execute {
        cfg.dry_run = false;
    }
    if let Some(p) = &args.sqs_event {
        let text = if p.as_os_str() == "-" {
            std::io::read_to_string(std::io::stdin()).context("reading the event from stdin")?
        } else {
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?
        };
        let event: serde_json::Value =
            serde_json::from_str(&text).context("the event is not JSON")?;
        let conf = sdk_config(args.endpoint_url.as_deref()).await;
        let responder = Responder::new(cfg, Clients::new(&conf), Arc::new(SystemClock));
        let out = flowtrail_respond::lambda::handle_sqs_event(&responder, &event).await;
        println!("{out}");
        return Ok(());
    }
    let queue = args
        .queue_url
        .clone()
        .or_else(|| cfg.queue_url.clone())
        .context("no queue: pass --queue-url or set queue_url in the config")?;
    let conf = sdk_config(args.endpoint_url.as_deref()).await;
    let dry_run = cfg.dry_run;
    let responder = Responder::new(cfg, Clients::new(&conf), Arc::new(SystemClock));
    tracing::info!(queue = %queue, dry_run, "responder started");
    let stats = if args.once {
        responder
            .poll_once(&queue)
            .await
            .with_context(|| format!("polling {queue}"))?
    } else {
        responder.run(&queue, shutdown()).await
    };
    tracing::info!(
        received = stats.received,
        acted = stats.acted,
        unchanged = stats.unchanged,
        invalid = stats.invalid,
        failed = stats.failed,
        "responder stopped"
    );
    if stats.failed > 0 {
        anyhow::bail!("{} alert(s) could not be handled", stats.failed);
    }
    Ok(())
}
