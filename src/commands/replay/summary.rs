//! What a replay shows: the progress bar while it reads, the summary at the end.

use std::io::Write;

use indicatif::{ProgressBar, ProgressStyle};

use flowtrail_alerts::sink::sns::FlushReport;
use flowtrail_core::Severity;
use flowtrail_ingest::replay::ReplayStats;

use super::detection::AlertCount;
use super::sources::Found;
use crate::cli::ReplayArgs;
use crate::detection::Detection;

/// A progress bar over the objects to read; hidden with `--quiet`.
pub(super) fn progress_bar(quiet: bool, objects: u64) -> ProgressBar {
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

/// What the summary at the end of a run reports.
pub(super) struct Summary<'a> {
    pub args: &'a ReplayArgs,
    pub found: &'a Found,
    pub stats: &'a ReplayStats,
    /// `None` with `--no-detect`.
    pub detection: Option<&'a Detection>,
    pub alerts: &'a AlertCount,
    /// The last outbox flush and the alerts published, when SNS is on.
    pub sns_report: Option<&'a (FlushReport, u64)>,
    pub secs: f64,
}

impl Summary<'_> {
    /// The whole summary: sources, objects, records, quarantine, alerts, SNS, S3, lake, time.
    pub(super) fn write(&self, err: &mut dyn Write) -> anyhow::Result<()> {
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
