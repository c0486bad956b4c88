//! `flowtrail serve`: the long-running service. S3 objects announced on an SQS queue and
//! CloudWatch Logs groups go through the same decode → lake → detection → alerts path as a
//! replay, one *cycle* at a time:
//!
//! ```text
//!  receive ≤ N messages ─► fetch + decode objects, poll log groups ─► lake commit (rows,
//!  quarantine, CloudWatch tokens) ─► alerts in the lake ─► detection save ─► delete messages
//! ```
//! A message is deleted only after its objects' rows are committed, the alerts they raised
//! are in the fsynced outbox (and JSONL), and the detection state is saved; its visibility is
//! extended while the cycle runs. A crash at any point before the delete brings the message
//! back, and the ledger makes its objects no-ops; the detection hours that were open are
//! rebuilt from the lake at start (`Detection::recover_from_lake`). That
//! raises again the alerts of hours judged after the last save: the outbox's sent log keeps
//! SNS from getting them twice, and the lake's ledger (each alert is a source of the commit
//! that writes it) the `alerts` table. The state is saved as a whole or not at all, and the
//! CloudTrail eventID dedupe is seeded from the lake at start. `tests/it/serve_crash.rs` crashes
//! the service at each kill point ([`flowtrail_lake::crashpoint`]).
//!
//! With the lake on S3, each object not in this task's ledger is first claimed in the lake
//! ([`flowtrail_lake::claims`]) so that several tasks can share the queue: an object
//! another task holds is left (its message stays), one another task committed counts as done,
//! and the claims of the objects committed here are marked done once their commit is on S3,
//! before the messages are deleted. A message is deleted when each of its objects is in this
//! task's ledger or done elsewhere.
//!
//! SIGTERM (ECS stop) or SIGINT: the cycle in progress finishes, the state is saved, the
//! outbox flushed, and the process exits 0 — within the SQS long-poll wait plus one cycle.

mod backoff;
mod cycle;
mod follow;
pub mod http;
pub mod metrics;
mod shared;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;

use flowtrail_alerts::sink::AlertSink;
use flowtrail_alerts::sink::jsonl::JsonlSink;
use flowtrail_alerts::sink::sns::SnsSink;
use flowtrail_ingest::dedupe::EventIdDedup;
use flowtrail_ingest::replay::ReplayOptions;
use flowtrail_ingest::source::cloudwatch::{CloudWatchOptions, CloudWatchSource};
use flowtrail_lake::claims::Claims;
use flowtrail_lake::{LakeWriter, WriterOptions};

use crate::cli::ServeArgs;
use crate::config::{Config, DetectionSource, SqsConfig};
use crate::detection::{Detection, DetectionArgs};

use cycle::Ingest;
use metrics::Metrics;
use shared::{Core, Loop, now_ms, sleep_unless};

/// The configuration file with the flags applied over it.
pub fn effective_config(args: &ServeArgs) -> anyhow::Result<Config> {
    let mut c = match &args.config {
        Some(p) => Config::load(p)?,
        None => Config::empty(),
    };
    if let Some(url) = &args.sqs_queue_url {
        match &mut c.sqs {
            Some(s) => s.queue_url = url.clone(),
            None => {
                let mut s: SqsConfig =
                    toml::from_str(&format!("queue_url = {url:?}")).context("--sqs-queue-url")?;
                s.queue_url = url.clone();
                c.sqs = Some(s);
            }
        }
    }
    if let Some(l) = &args.lake {
        c.lake = l.clone();
    }
    if let Some(s) = &args.state {
        c.state = s.clone();
    }
    if let Some(l) = &args.listen {
        c.listen = l.clone();
    }
    if let Some(e) = &args.endpoint_url {
        c.endpoint_url = Some(e.clone());
    }
    if let Some(t) = &args.sns_topic_arn {
        c.alerts
            .sns
            .get_or_insert_with(Default::default)
            .default_topic = Some(t.clone());
    }
    if let Some(j) = &args.alerts_out {
        c.alerts.jsonl = Some(j.clone());
    }
    if let Some(o) = &args.outbox {
        c.alerts.outbox = Some(o.clone());
    }
    if let Some(f) = args.alerts_format {
        c.alerts.format = f;
    }
    if args.no_detect {
        c.detection.enabled = false;
    }
    c.validate()?;
    Ok(c)
}

/// Run the service until SIGTERM/SIGINT.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    run_until(args, signals())
}

/// Run the service until `shutdown` completes (the binary passes SIGTERM/SIGINT; a test can
/// pass a channel). The cycle in progress then finishes, the state is saved and the alerts
/// are flushed, as on a signal.
pub fn run_until(
    args: ServeArgs,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<ExitCode> {
    let endpoint = effective_config(&args)?.endpoint_url;
    let aws = crate::aws::Aws::new(endpoint.as_deref())?;
    run_with(args, aws, shutdown)
}

/// [`run_until`] with the AWS clients given, whatever the flags and configuration say of the
/// endpoint (tests run the service in-process this way, with moto's endpoint and credentials).
pub fn run_with(
    args: ServeArgs,
    aws: crate::aws::Aws,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<ExitCode> {
    let config = effective_config(&args)?;
    let metrics = Arc::new(Metrics::default());
    metrics.started_ms.store(now_ms(), Ordering::Relaxed);

    // Health and metrics first, so a slow start is visible.
    let local = start_http(&config, &aws, &metrics)?;
    let stop = Arc::new(AtomicBool::new(false));
    let flag = stop.clone();
    aws.runtime().spawn(async move {
        shutdown.await;
        flag.store(true, Ordering::Relaxed);
    });
    let shutdown = stop;

    if let Some(s) = &config.snapshot {
        let restored = crate::aws::restore_snapshot(&aws, &s.s3, &config.state)?;
        if restored > 0 {
            tracing::info!(files = restored, from = %s.s3, "state restored from the S3 snapshot");
        }
    }
    let budget = config.budget();
    let writer_opts = WriterOptions {
        max_buffered_bytes: budget.lake_buffer_bytes(),
        ..Default::default()
    };
    let mut lake = crate::aws::open_lake(&config.lake, &config.state, Some(&aws), writer_opts)?;
    let sns = start_sns(&config, &aws)?;
    let mut detection = start_detection(&config, &lake, sns.as_ref())?;
    let queue = config
        .sqs
        .as_ref()
        .map(|s| (aws.sqs_queue(&s.queue_url), s.clone()));

    tracing::info!(
        listen = %local,
        queue = queue.as_ref().map(|q| q.1.queue_url.as_str()).unwrap_or("-"),
        log_groups = config.cloudwatch.as_ref().map(|c| c.groups.len()).unwrap_or(0),
        lake = %config.lake.display(),
        "flowtrail serve started"
    );
    eprintln!("flowtrail serve: listening on http://{local} (/healthz, /metrics)");

    let core = Core {
        lake: &mut lake,
        detection: detection.as_mut(),
        sns: sns.as_ref(),
        metrics: &metrics,
        snapshot: config.snapshot.clone(),
        last_snapshot: Instant::now(),
        aws: &aws,
        state: config.state.clone(),
    };
    let mut svc = start_loop(&config, &aws, &budget, core, queue)?;
    run_cycles(svc.as_mut(), &shutdown, &metrics);
    tracing::info!("shutting down: saving state and flushing alerts");
    svc.drain()?;
    eprintln!("flowtrail serve: stopped cleanly");
    Ok(ExitCode::SUCCESS)
}

/// The loop the configuration asks for: ingest (objects and log events into the lake, judged
/// here when detection is on), or detection following the lake's commits.
fn start_loop<'a>(
    config: &Config,
    aws: &crate::aws::Aws,
    budget: &crate::budget::Budget,
    core: Core<'a>,
    queue: Option<(flowtrail_ingest::source::sqs::SqsQueue, SqsConfig)>,
) -> anyhow::Result<Box<dyn Loop + 'a>> {
    if config.detection.source == DetectionSource::Lake {
        let Some((queue, conf)) = queue else {
            anyhow::bail!("following the lake needs a queue ([sqs] queue_url)");
        };
        return Ok(Box::new(follow::LakeFollower::new(core, queue, conf)?));
    }
    let claims = claims_for(core.lake, config, aws);
    let cloudwatch = cloudwatch_source(config, aws, core.lake)?;
    // A CloudTrail event delivered again after a restart is dropped, as within a run.
    let mut dedup = EventIdDedup::default();
    flowtrail_ingest::replay::seed_dedup(core.lake, &mut dedup)
        .context("reading the lake's recent CloudTrail eventIDs")?;
    Ok(Box::new(Ingest {
        core,
        queue,
        claims,
        claims_pending: Vec::new(),
        cloudwatch,
        last_poll: None,
        opts: replay_options(config, budget, aws),
        dedup,
    }))
}

/// Bind the listen address and serve health, metrics (and the UI when enabled) on the AWS
/// runtime. Returns the address bound.
fn start_http(
    config: &Config,
    aws: &crate::aws::Aws,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind(&config.listen)
        .with_context(|| format!("listening on {}", config.listen))?;
    listener.set_nonblocking(true)?;
    let local = listener.local_addr()?;
    let _guard = aws.runtime().enter();
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let ui = config
        .ui
        .as_ref()
        .filter(|u| u.enabled)
        .map(|_| crate::ui::router(crate::ui::Ui::new(config.lake.clone())));
    let app = http::router(metrics.clone(), now_ms, ui);
    aws.runtime().spawn(http::serve_with(listener, app));
    Ok(local)
}

/// SNS, when routes are configured; what the outbox holds from before is sent first.
fn start_sns(
    config: &Config,
    aws: &crate::aws::Aws,
) -> anyhow::Result<Option<Arc<Mutex<SnsSink>>>> {
    let Some(router) = &config.alerts.sns else {
        return Ok(None);
    };
    let s = aws.sns_sink(&config.outbox(), router.clone())?;
    s.lock()
        .map_err(|e| anyhow::anyhow!("sns sink: {e}"))?
        .set_format(config.alerts.format);
    crate::aws::flush_sns(&s, "at startup")?;
    Ok(Some(s))
}

/// How each cycle reads its objects: the in-flight memory budget, `workers`, the S3 fetcher.
fn replay_options(
    config: &Config,
    budget: &crate::budget::Budget,
    aws: &crate::aws::Aws,
) -> ReplayOptions {
    let mut opts = ReplayOptions {
        max_in_flight_bytes: budget.in_flight_bytes(),
        ..Default::default()
    };
    if let Some(w) = config.workers {
        opts.workers = w.max(1);
    }
    opts.s3 = Some(aws.s3_fetcher());
    opts
}

/// Detection with the JSONL file and SNS as its sinks, or `None` when it is off. Judging this
/// task's rows, the hours that were open come back from the lake; following the lake, they
/// come back with their commits' messages instead.
fn start_detection(
    config: &Config,
    lake: &LakeWriter,
    sns: Option<&Arc<Mutex<SnsSink>>>,
) -> anyhow::Result<Option<Detection>> {
    if !config.detection.enabled {
        return Ok(None);
    }
    let mut sinks: Vec<Box<dyn AlertSink + Send>> = Vec::new();
    if let Some(p) = &config.alerts.jsonl {
        sinks.push(Box::new(
            JsonlSink::append(p)?.with_format(config.alerts.format),
        ));
    }
    if let Some(s) = sns {
        sinks.push(Box::new(s.clone()));
    }
    let d = DetectionArgs {
        rules: config.detection.rules.clone(),
        suppress: config.detection.suppress.clone(),
        state: Some(config.state.clone()),
        dedupe_minutes: config.detection.dedupe_minutes,
        rules_batch_hours: 1,
        grace_minutes: Some(config.detection.grace_minutes),
        service: true,
        fence: config.detection.fence.clone(),
        hold_memory_mb: config.hold_memory_mb(),
        spill_dir: Some(
            config
                .detection
                .spill_dir
                .clone()
                .unwrap_or_else(|| config.state.join("spill")),
        ),
        sigma: config.detection.sigma.clone(),
        network: config.detection.network.clone(),
    };
    let mut d = Detection::new(&d, sinks)?;
    if config.detection.source == DetectionSource::Inline {
        recover(&mut d, lake, &config.state)?;
    }
    Ok(Some(d))
}

/// Several tasks on one queue with one lake on S3: each object is claimed before it is
/// read, so no two tasks process it (`flowtrail_lake::claims`).
fn claims_for(lake: &LakeWriter, config: &Config, aws: &crate::aws::Aws) -> Option<Arc<Claims>> {
    match (lake.mirror(), &config.sqs) {
        (Some(m), Some(s)) => {
            let c = aws.claims(m.url(), Duration::from_secs(s.visibility_seconds));
            tracing::info!(owner = %c.owner(), "objects are claimed in the S3 lake");
            Some(Arc::new(c))
        }
        _ => None,
    }
}

/// The CloudWatch Logs source over the configured groups, resumed from the tokens in the
/// lake's ledger, with its poll interval; `None` without groups.
fn cloudwatch_source(
    config: &Config,
    aws: &crate::aws::Aws,
    lake: &LakeWriter,
) -> anyhow::Result<Option<(CloudWatchSource, Duration)>> {
    let Some(cw) = config
        .cloudwatch
        .as_ref()
        .filter(|cw| !cw.groups.is_empty())
    else {
        return Ok(None);
    };
    let mut src = CloudWatchSource::new(
        aws.logs_client(),
        aws.runtime().handle().clone(),
        cw.groups.clone(),
        CloudWatchOptions {
            max_requests_per_second: cw.max_requests_per_second,
            ..Default::default()
        },
    )?;
    src.restore(lake.ledger().cursors_with_prefix("cloudwatch:"));
    Ok(Some((src, Duration::from_secs(cw.poll_seconds.max(1)))))
}

/// Run cycles until shutdown; a failed cycle is retried after a back-off (`backoff.rs`: 2 s
/// doubling to 32 s for a transient failure, 32 s at once for one that will fail the same
/// way), its messages coming back from the queue.
fn run_cycles(svc: &mut dyn Loop, shutdown: &AtomicBool, metrics: &Metrics) {
    let mut failures = 0u32;
    while !shutdown.load(Ordering::Relaxed) {
        match svc.cycle(shutdown) {
            Ok(()) => {
                failures = 0;
                metrics.cycles.fetch_add(1, Ordering::Relaxed);
                metrics.last_cycle_ms.store(now_ms(), Ordering::Relaxed);
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let retryable = backoff::retryable(&e);
                let wait = backoff::wait(failures, retryable);
                metrics.cycle_failed(retryable != Some(false));
                let error = crate::error_chain::one_line(&e);
                if retryable == Some(false) {
                    tracing::error!(%error, retry_in_s = wait.as_secs(), "cycle failed and will fail the same way until its cause is fixed (permissions, a missing queue, bucket or log group, a full disk); its messages stay in the queue");
                } else {
                    tracing::error!(%error, retry_in_s = wait.as_secs(), "cycle failed; its messages come back and are retried");
                }
                sleep_unless(shutdown, wait);
            }
        }
    }
}

/// Completes on SIGTERM (ECS stop) or SIGINT; never when the handlers cannot be installed
/// (a warning says so: stop with SIGKILL).
async fn signals() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot install signal handlers; stop with SIGKILL");
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: draining"),
            _ = int.recv() => tracing::info!("SIGINT: draining"),
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Rebuild the hours detection had open when the service stopped, from the rows this task
/// committed to the lake.
fn recover(
    d: &mut Detection,
    lake: &flowtrail_lake::LakeWriter,
    state: &std::path::Path,
) -> anyhow::Result<()> {
    let t = Instant::now();
    // A lake on S3: its files are fetched into staging one at a time, and deleted once read.
    let rows = d
        .recover_from_lake(lake, state)
        .context("rebuilding the open detection hours from the lake")?;
    d.mark_service_start(lake, state)?;
    if rows > 0 {
        tracing::info!(
            rows,
            secs = t.elapsed().as_secs_f64(),
            "open detection hours rebuilt from the lake"
        );
    }
    Ok(())
}
