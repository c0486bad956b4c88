//! `flowtrail replay`: archived logs from local folders into the lake, with a progress bar on
//! a terminal and a summary at the end.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, NaiveDate};
use indicatif::{ProgressBar, ProgressStyle};

use flowtrail_ingest::decode::flow::FlowFormat;
use flowtrail_ingest::replay::{self, NoObserver, ReplayOptions, ReplayStats};
use flowtrail_ingest::source::s3::S3Url;
use flowtrail_ingest::source::{DateRange, SourceObject, local};
use flowtrail_lake::{LakeWriter, WriterOptions};

use flowtrail_alerts::sink::AlertSink;
use flowtrail_alerts::sink::sns::{FlushReport, Router, SnsSink};
use flowtrail_core::Severity;

use crate::alerts_file::AlertsFile;
use crate::checkpoint::Checkpoint;
use crate::cli::ReplayArgs;
use crate::detection::{Detection, DetectionArgs};

/// Parse `--from`/`--to`: a date (midnight UTC) or an RFC 3339 time. Returns (ms, date).
fn parse_time(flag: &str, s: &str) -> anyhow::Result<(i64, NaiveDate)> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let ms = d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or_default();
        return Ok((ms, d));
    }
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => Ok((t.timestamp_millis(), t.date_naive())),
        Err(e) => bail!("{flag} {s:?}: expected YYYY-MM-DD or an RFC 3339 time ({e})"),
    }
}

/// What the listings of all sources found.
#[derive(Default)]
struct Found {
    objects: Vec<SourceObject>,
    ignored: u64,
    out_of_range: u64,
    unreadable: u64,
    loops: u64,
    s3_keys: u64,
    s3_requests: u64,
}

/// List every source (local folders, S3 prefixes); warn about a source with no log object.
fn list_sources(
    sources: &[PathBuf],
    s3_urls: &[Option<S3Url>],
    aws: Option<&crate::aws::Aws>,
    range: &DateRange,
    opts: &mut ReplayOptions,
) -> anyhow::Result<Found> {
    let mut found = Found::default();
    for (src, url) in sources.iter().zip(s3_urls) {
        if let (Some(url), Some(aws)) = (url, aws) {
            let fetcher = opts.s3.get_or_insert_with(|| aws.s3_fetcher()).clone();
            let l = aws.list_s3(&fetcher, url, range)?;
            found.s3_keys += l.keys_listed;
            found.s3_requests += l.list_requests;
            if l.objects.is_empty() {
                warn_no_objects(src, l.keys_listed, l.ignored, l.out_of_range, "");
            }
            found.ignored += l.ignored;
            found.out_of_range += l.out_of_range;
            found.objects.extend(l.objects);
            continue;
        }
        let l = local::list(src, range).context("listing a source folder")?;
        if l.objects.is_empty() {
            let mut skipped = String::new();
            if l.unreadable > 0 {
                skipped += &format!(", {} unreadable", l.unreadable);
            }
            if l.loops > 0 {
                skipped += &format!(", {} symlink loops or repeated links", l.loops);
            }
            warn_no_objects(src, l.files_found(), l.ignored, l.out_of_range, &skipped);
        }
        found.ignored += l.ignored;
        found.out_of_range += l.out_of_range;
        found.unreadable += l.unreadable;
        found.loops += l.loops;
        found.objects.extend(l.objects);
    }
    Ok(found)
}

/// A source that yields nothing to read is most often a wrong path or layout: say so.
fn warn_no_objects(src: &Path, found: u64, ignored: u64, out_of_range: u64, skipped: &str) {
    tracing::warn!(
        "no flow-log or CloudTrail objects to read in {}: {found} files found, {ignored} not in the AWS log layout (.../AWSLogs/<account>/vpcflowlogs|CloudTrail/<region>/YYYY/MM/DD/...), {out_of_range} outside --from/--to{skipped}",
        src.display()
    );
}

pub fn run(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let (range, mut opts) = plan(&args)?;

    // S3 sources and SNS need the AWS runtime; local-only runs never start it.
    let s3_urls: Vec<Option<S3Url>> = args
        .sources
        .iter()
        .map(|s| s.to_str().and_then(S3Url::parse))
        .collect();
    let lake_on_s3 = crate::aws::lake_on_s3(&args.lake).is_some();
    let aws = if s3_urls.iter().any(Option::is_some) || args.sns_topic_arn.is_some() || lake_on_s3 {
        Some(crate::aws::Aws::new(args.endpoint_url.as_deref())?)
    } else {
        None
    };
    let found = list_sources(&args.sources, &s3_urls, aws.as_ref(), &range, &mut opts)?;
    let objects = &found.objects;
    let budget = crate::budget::Budget::new(args.memory_mb);
    opts.max_in_flight_bytes = budget.in_flight_bytes();
    let writer_opts = WriterOptions {
        max_buffered_rows: args.commit_rows.max(1),
        max_buffered_bytes: budget.lake_buffer_bytes(),
        ..Default::default()
    };
    let mut lake = crate::aws::open_lake(&args.lake, &args.state, aws.as_ref(), writer_opts)?;
    if lake.ledger().rolled_back() > 0 {
        eprintln!(
            "rolled back {} unfinished commit(s) from an earlier run",
            lake.ledger().rolled_back()
        );
    }
    // The alerts file keeps earlier runs' alerts: this run appends the ones it does not hold.
    let sink = AlertsFile::open(&args.alerts_out, args.alerts_format)?;
    let sns = start_sns(&args, aws.as_ref())?;
    let (mut checkpoint, mut detection) =
        start_detection(&args, &mut lake, &budget, sink, sns.as_ref())?;

    let bar = progress_bar(args.quiet, objects.len() as u64);
    let mut progress = |s: &ReplayStats| {
        bar.set_position(s.objects_done + s.objects_already_done);
        bar.set_message(format!("{} records", s.flow_records + s.cloudtrail_records));
    };
    let rejudged = match (detection.as_mut(), checkpoint.as_ref()) {
        (Some(d), Some(cp)) => rejudge(d, cp, &lake)?,
        _ => 0,
    };
    let stats = replay_objects(objects, &mut lake, &opts, &mut detection, &mut progress)?;
    bar.finish_and_clear();
    let mut alerts = AlertCount::default();
    if let (Some(d), Some(cp)) = (detection.as_mut(), checkpoint.as_mut()) {
        let judged = rejudged > 0 || stats.flow_records + stats.cloudtrail_records > 0;
        alerts = commit_detection(d, cp, &mut lake, judged)?;
    }
    let sns_report = match &sns {
        Some(s) => Some((
            crate::aws::flush_sns(s, "at the end of the run")?,
            s.lock().map(|s| s.stats().published).unwrap_or(0),
        )),
        None => None,
    };

    let summary = Summary {
        args: &args,
        found: &found,
        stats: &stats,
        detection: detection.as_ref(),
        alerts: &alerts,
        sns_report: sns_report.as_ref(),
        secs: started.elapsed().as_secs_f64(),
    };
    summary.write(&mut std::io::stderr().lock())?;
    Ok(ExitCode::SUCCESS)
}

/// The run's plan from its flags: the dates to list (`--from`/`--to`) and the replay options
/// (event-time bounds, `--workers`, `--flow-format`).
fn plan(args: &ReplayArgs) -> anyhow::Result<(DateRange, ReplayOptions)> {
    let from = args
        .from
        .as_deref()
        .map(|s| parse_time("--from", s))
        .transpose()?;
    let to = args
        .to
        .as_deref()
        .map(|s| parse_time("--to", s))
        .transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && f.0 >= t.0
    {
        bail!("--from must be before --to");
    }
    let range = DateRange {
        from: from.map(|f| f.1),
        to: to.map(|t| t.1),
    };
    let mut opts = ReplayOptions {
        from_ms: from.map(|f| f.0),
        to_ms: to.map(|t| t.0),
        ..Default::default()
    };
    if let Some(w) = args.workers {
        opts.workers = w.max(1);
    }
    if let Some(fmt) = &args.flow_format {
        opts.flow.format =
            Some(FlowFormat::parse(fmt).map_err(|e| anyhow::anyhow!("--flow-format: {e}"))?);
    }
    Ok((range, opts))
}

/// Detection with the alerts file (and SNS) as its sinks, resuming from its checkpoint; lake
/// commits the checkpoint does not cover are judged again by the caller. Both `None` with
/// `--no-detect` (the alerts file is then only opened).
fn start_detection(
    args: &ReplayArgs,
    lake: &mut LakeWriter,
    budget: &crate::budget::Budget,
    sink: AlertsFile,
    sns: Option<&Arc<Mutex<SnsSink>>>,
) -> anyhow::Result<(Option<Checkpoint>, Option<Detection>)> {
    if args.no_detect {
        return Ok((None, None));
    }
    lake.set_detect(true);
    let checkpoint = Checkpoint::open(&args.state, lake.ledger())?;
    let d = DetectionArgs {
        rules: args.rules.clone(),
        suppress: args.suppress.clone(),
        state: Some(checkpoint.load_dir()),
        dedupe_minutes: args.dedupe_minutes,
        rules_batch_hours: args.rules_batch_hours,
        grace_minutes: None,
        service: false,
        fence: args.fence.clone(),
        hold_memory_mb: args.hold_memory_mb.unwrap_or(budget.hold_mb()),
        spill_dir: None,
        sigma: args.sigma.clone(),
        network: Default::default(),
    };
    let mut sinks: Vec<Box<dyn AlertSink + Send>> = vec![Box::new(sink)];
    if let Some(s) = sns {
        sinks.push(Box::new(s.clone()));
    }
    let detection = Detection::new(&d, sinks)?;
    Ok((Some(checkpoint), Some(detection)))
}

/// SNS, when a topic is given: alerts go through the outbox; what an earlier run left there
/// is sent first.
fn start_sns(
    args: &ReplayArgs,
    aws: Option<&crate::aws::Aws>,
) -> anyhow::Result<Option<Arc<Mutex<SnsSink>>>> {
    let (Some(aws), Some(arn)) = (aws, &args.sns_topic_arn) else {
        return Ok(None);
    };
    let s = aws.sns_sink(&args.outbox, Router::single(arn))?;
    s.lock()
        .map_err(|e| anyhow::anyhow!("sns sink: {e}"))?
        .set_format(args.alerts_format);
    crate::aws::flush_sns(&s, "at startup")?;
    Ok(Some(s))
}

/// Judge again the rows of lake commits the detection checkpoint does not cover (an
/// interrupted run committed them). Returns how many.
fn rejudge(d: &mut Detection, cp: &Checkpoint, lake: &LakeWriter) -> anyhow::Result<u64> {
    let rejudged = d.rejudge(lake, cp.covered())?;
    if rejudged > 0 {
        eprintln!(
            "judging again {rejudged} rows an interrupted run committed before its detection checkpoint"
        );
    }
    Ok(rejudged)
}

/// A progress bar over the objects to read; hidden with `--quiet`.
fn progress_bar(quiet: bool, objects: u64) -> ProgressBar {
    let bar = if quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(objects)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} objects {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    bar
}

/// Read the objects into the lake, with detection (if any) judging on its own thread. The
/// detection comes back in `detection` even when the replay failed (the replay's error wins).
fn replay_objects(
    objects: &[SourceObject],
    lake: &mut LakeWriter,
    opts: &ReplayOptions,
    detection: &mut Option<Detection>,
    progress: &mut dyn FnMut(&ReplayStats),
) -> anyhow::Result<ReplayStats> {
    Ok(match detection.take() {
        Some(d) => {
            let mut bg = crate::detection_thread::Background::start(d)?;
            let stats = replay::run(objects, lake, opts, &mut bg, progress);
            let d = bg.finish();
            let stats = stats?;
            *detection = Some(d?);
            stats
        }
        None => replay::run(objects, lake, opts, &mut NoObserver, progress)?,
    })
}

/// The run's alerts: how many, and how many of each severity (indexed by `Severity as usize`).
#[derive(Default)]
struct AlertCount {
    total: usize,
    by_severity: [u64; 5],
}

/// Close detection and, when the run judged anything, commit its alerts, inventory snapshot
/// and baseline checkpoint in one lake commit, then publish the checkpoint.
fn commit_detection(
    d: &mut Detection,
    cp: &mut Checkpoint,
    lake: &mut LakeWriter,
    judged: bool,
) -> anyhow::Result<AlertCount> {
    d.close()?;
    if judged {
        // The alerts and the checkpoint of the baselines go in one lake commit.
        for (day, batch) in d.alerts_by_day()? {
            lake.add_alerts(day, batch);
        }
        if let Some((at, batch)) = d.inventory_snapshot(false)? {
            lake.add_inventory(at, batch);
        }
        let seq = lake.ledger().commits() + 1;
        let source = cp.prepare(seq, |dir| d.save_to(dir))?;
        lake.source_done(source);
        lake.commit().context("writing alerts to the lake")?;
        if lake.ledger().commits() != seq {
            bail!("the detection checkpoint was not committed as commit {seq}");
        }
        flowtrail_lake::crashpoint::hit("checkpoint_committed");
        cp.publish(seq)?;
    }
    let mut count = AlertCount {
        total: d.alerts.len(),
        ..Default::default()
    };
    for a in &d.alerts {
        count.by_severity[a.severity as usize] += 1;
    }
    Ok(count)
}

/// What the summary at the end of a run reports.
struct Summary<'a> {
    args: &'a ReplayArgs,
    found: &'a Found,
    stats: &'a ReplayStats,
    /// `None` with `--no-detect`.
    detection: Option<&'a Detection>,
    alerts: &'a AlertCount,
    /// The last outbox flush and the alerts published, when SNS is on.
    sns_report: Option<&'a (FlushReport, u64)>,
    secs: f64,
}

impl Summary<'_> {
    /// The whole summary: sources, objects, records, quarantine, alerts, SNS, S3, lake, time.
    fn write(&self, err: &mut dyn Write) -> anyhow::Result<()> {
        let (args, found, stats) = (self.args, self.found, self.stats);
        let records = stats.flow_records + stats.cloudtrail_records;
        writeln!(
            err,
            "flowtrail replay: {}",
            args.sources
                .iter()
                .map(|s| s.display().to_string())
                .collect::<Vec<_>>()
                .join(" ")
        )?;
        writeln!(
            err,
            "  objects      {} read, {} already in the lake, {} digest/insights skipped, {} quarantined whole, {} other files ignored, {} outside --from/--to",
            stats.objects_done - stats.objects_skipped,
            stats.objects_already_done,
            stats.objects_skipped,
            stats.objects_quarantined,
            found.ignored,
            found.out_of_range
        )?;
        if found.unreadable + found.loops > 0 {
            writeln!(
                err,
                "  skipped      {} unreadable (broken links, no permission; see the warnings), {} already listed through another link (symlink loops, repeated links)",
                found.unreadable, found.loops
            )?;
        }
        writeln!(
            err,
            "  records      {records} ({} flow, {} cloudtrail), {} duplicate events dropped, {} outside --from/--to",
            stats.flow_records,
            stats.cloudtrail_records,
            stats.duplicates_dropped,
            stats.out_of_range_rows
        )?;
        writeln!(
            err,
            "  quarantined  {} lines/events, {} objects -> {}/_quarantine/",
            stats.lines_quarantined,
            stats.objects_quarantined,
            args.lake.display()
        )?;
        self.write_alerts(err)?;
        self.write_delivery(err)?;
        writeln!(
            err,
            "  time         {:.2}s, {:.0} records/s, {:.1} MB/s compressed input",
            self.secs,
            records as f64 / self.secs.max(1e-9),
            stats.bytes_in as f64 / 1e6 / self.secs.max(1e-9)
        )?;
        Ok(())
    }

    /// The alerts by severity and what detection did (or that it was off).
    fn write_alerts(&self, err: &mut dyn Write) -> anyhow::Result<()> {
        let Some(d) = self.detection else {
            writeln!(err, "  alerts       detection off (--no-detect)")?;
            return Ok(());
        };
        let by_severity = &self.alerts.by_severity;
        let sev: Vec<String> = [
            Severity::Critical,
            Severity::High,
            Severity::Medium,
            Severity::Low,
            Severity::Info,
        ]
        .iter()
        .filter(|s| by_severity[**s as usize] > 0)
        .map(|s| format!("{} {s}", by_severity[*s as usize]))
        .collect();
        let sev = if sev.is_empty() {
            String::new()
        } else {
            format!(" ({})", sev.join(", "))
        };
        writeln!(
            err,
            "  alerts       {}{sev} -> {}",
            self.alerts.total,
            self.args.alerts_out.display()
        )?;
        let (e, p) = (d.engine_stats(), d.pipeline_stats());
        writeln!(
            err,
            "  detection    {} hours judged, {} findings ({} suppressed, {} merged into open alerts), {} rows later than the grace period",
            e.chunks_closed, p.findings, p.suppressed, p.merged, e.late_rows
        )?;
        writeln!(
            err,
            "               time in baselines {:.2}s, SQL rules {:.2}s, api_recon {:.2}s, hour bucketing {:.2}s",
            e.baseline_us as f64 / 1e6,
            e.rules_us as f64 / 1e6,
            e.recon_us as f64 / 1e6,
            e.chunking_us as f64 / 1e6
        )?;
        if e.spills > 0 {
            writeln!(
                err,
                "               held rows over --hold-memory-mb: {} rows spilled to disk ({:.1} MB) in {} spills",
                e.spilled_rows,
                e.spilled_bytes as f64 / 1e6,
                e.spills
            )?;
        }
        if self.stats.objects_already_done > 0 {
            writeln!(
                err,
                "               objects already in the lake were not judged again; their alerts are in the lake's alerts table"
            )?;
        }
        Ok(())
    }

    /// Where the run's output went: SNS, S3 listing and retries, the lake.
    fn write_delivery(&self, err: &mut dyn Write) -> anyhow::Result<()> {
        let (args, found, stats) = (self.args, self.found, self.stats);
        if let Some((r, published)) = self.sns_report {
            let later = if r.pending > 0 {
                " (SNS unavailable: they are sent by the next run)"
            } else {
                ""
            };
            writeln!(
                err,
                "  sns          {published} published, {} waiting in the outbox {}{later}",
                r.pending,
                args.outbox.display()
            )?;
        }
        if found.s3_requests > 0 || stats.objects_retry_later > 0 {
            writeln!(
                err,
                "  s3           {} keys listed in {} requests, {} objects unreadable for now (retried by the next run)",
                found.s3_keys, found.s3_requests, stats.objects_retry_later
            )?;
        }
        writeln!(
            err,
            "  lake         {} files in {} commits -> {}",
            stats.files_written,
            stats.commits,
            args.lake.display()
        )?;
        Ok(())
    }
}
