//! Detection in a replay: started from its checkpoint with the alerts file (and SNS) as
//! sinks, judging on its own thread while objects are read, then closed with its alerts,
//! inventory and checkpoint in one lake commit.

use std::sync::{Arc, Mutex};

use anyhow::{Context, bail};

use flowtrail_alerts::sink::AlertSink;
use flowtrail_alerts::sink::sns::{Router, SnsSink};
use flowtrail_ingest::replay::{self, NoObserver, ReplayOptions, ReplayStats};
use flowtrail_ingest::source::SourceObject;
use flowtrail_lake::LakeWriter;

use crate::alerts_file::AlertsFile;
use crate::checkpoint::Checkpoint;
use crate::cli::ReplayArgs;
use crate::detection::{Detection, DetectionArgs};

/// Detection with the alerts file (and SNS) as its sinks, resuming from its checkpoint; lake
/// commits the checkpoint does not cover are judged again by the caller. Both `None` with
/// `--no-detect` (the alerts file is then only opened).
pub(super) fn start_detection(
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
pub(super) fn start_sns(
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
pub(super) fn rejudge(
    d: &mut Detection,
    cp: &Checkpoint,
    lake: &LakeWriter,
) -> anyhow::Result<u64> {
    let rejudged = d.rejudge(lake, cp.covered())?;
    if rejudged > 0 {
        eprintln!(
            "judging again {rejudged} rows an interrupted run committed before its detection checkpoint"
        );
    }
    Ok(rejudged)
}

/// Read the objects into the lake, with detection (if any) judging on its own thread. The
/// detection comes back in `detection` even when the replay failed (the replay's error wins).
pub(super) fn replay_objects(
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
pub(super) struct AlertCount {
    pub total: usize,
    pub by_severity: [u64; 5],
}

/// Close detection and, when the run judged anything, commit its alerts, inventory snapshot
/// and baseline checkpoint in one lake commit, then publish the checkpoint.
pub(super) fn commit_detection(
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
