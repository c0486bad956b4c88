//! `flowtrail replay`: archived logs from local folders and S3 into the lake, with a progress
//! bar on a terminal and a summary at the end. The run is its plan (`plan.rs`: flags into
//! dates and options), its sources (`sources.rs`: listing), detection (`detection.rs`) and
//! the summary (`summary.rs`); this file puts them in order.

mod detection;
mod plan;
mod sources;
mod summary;

use std::process::ExitCode;
use std::time::Instant;

use flowtrail_ingest::replay::ReplayStats;
use flowtrail_ingest::source::s3::S3Url;
use flowtrail_lake::WriterOptions;

use crate::alerts_file::AlertsFile;
use crate::cli::ReplayArgs;
use detection::{
    AlertCount, commit_detection, rejudge, replay_objects, start_detection, start_sns,
};
use plan::plan;
use sources::list_sources;
use summary::{Summary, progress_bar};

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
