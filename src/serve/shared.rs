//! What the service's two loops share: the ingest cycle (`cycle.rs`: objects and log events
//! into the lake, judged as they arrive) and the lake follower (`follow.rs`: other tasks'
//! commits judged). Both hold the lake writer, detection, the SNS outbox, the metrics and the
//! state snapshot ([`Core`]) and end each cycle the same way: alerts into the lake, detection
//! saved, the outbox retried, a snapshot when due. The loops depend on this module only, never
//! on each other.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use flowtrail_alerts::sink::sns::SnsSink;
use flowtrail_core::{Clock, SystemClock};
use flowtrail_lake::{LakeWriter, LedgerEntry};

use super::metrics::Metrics;
use crate::config::SnapshotConfig;
use crate::detection::Detection;

/// A loop of the service: one cycle at a time until shutdown, then a drain.
pub(super) trait Loop {
    /// One cycle; an error is logged and the cycle retried after a back-off.
    fn cycle(&mut self, shutdown: &AtomicBool) -> anyhow::Result<()>;
    /// On shutdown: everything committed, the state saved, the outbox flushed.
    fn drain(&mut self) -> anyhow::Result<()>;
}

/// The parts of the service both loops use.
pub(super) struct Core<'a> {
    pub lake: &'a mut LakeWriter,
    pub detection: Option<&'a mut Detection>,
    pub sns: Option<&'a Arc<Mutex<SnsSink>>>,
    pub metrics: &'a Metrics,
    pub snapshot: Option<SnapshotConfig>,
    pub last_snapshot: Instant,
    pub aws: &'a crate::aws::Aws,
    pub state: PathBuf,
}

impl Core<'_> {
    /// The alerts raised so far to the lake (each once), then the detection state saved.
    pub(super) fn commit_alerts_and_save(&mut self) -> anyhow::Result<()> {
        let Some(d) = self.detection.as_deref_mut() else {
            return Ok(());
        };
        // Each alert is a source of the commit that writes it: one raised again after a
        // crash (its hour judged again from the lake) is in the lake already.
        let mut alerts = d.take_alerts();
        alerts.retain(|a| !self.lake.ledger().is_done(&alert_source(a)));
        for a in &alerts {
            self.metrics.alerts[a.severity as usize].fetch_add(1, Ordering::Relaxed);
            self.lake.source_done(alert_source(a));
        }
        for (day, batch) in crate::detection::alerts_by_day(&alerts)? {
            self.lake.add_alerts(day, batch);
        }
        if let Some((at, batch)) = d.inventory_snapshot(true)? {
            self.lake.add_inventory(at, batch);
        }
        self.lake
            .commit()
            .context("writing alerts to the lake")
            .inspect_err(|_| self.metrics.error("lake"))?;
        d.save().inspect_err(|_| self.metrics.error("detection"))?;
        self.publish_position();
        Ok(())
    }

    /// Detection's watermark, open hours and held rows, as metrics.
    fn publish_position(&self) {
        let Some(d) = self.detection.as_deref() else {
            return;
        };
        let (wm, open) = d.position();
        let m = self.metrics;
        m.watermark_ms.store(wm.max(0), Ordering::Relaxed);
        m.open_hours.store(open as u64, Ordering::Relaxed);
        let (held, spilled) = d.held();
        m.held_bytes.store(held as u64, Ordering::Relaxed);
        m.spilled_rows.store(spilled, Ordering::Relaxed);
    }

    /// Retry alerts waiting in the outbox; snapshot the state when due.
    pub(super) fn housekeeping(&mut self) -> anyhow::Result<()> {
        if let Some(s) = self.sns {
            match crate::aws::flush_sns(s, "in the service") {
                Ok(r) => {
                    if r.error.is_some() {
                        self.metrics.error("sns");
                    }
                    self.metrics
                        .outbox_pending
                        .store(r.pending, Ordering::Relaxed);
                }
                Err(e) => {
                    self.metrics.error("sns");
                    tracing::warn!(error = %crate::error_chain::one_line(&e), "alert outbox flush failed");
                }
            }
        }
        if let Some(snap) = &self.snapshot
            && self.last_snapshot.elapsed() >= Duration::from_secs(snap.every_seconds)
        {
            self.take_snapshot()?;
        }
        Ok(())
    }

    fn take_snapshot(&mut self) -> anyhow::Result<()> {
        if let Some(snap) = &self.snapshot {
            let n = crate::aws::save_snapshot(self.aws, &snap.s3, &self.state)
                .inspect_err(|_| self.metrics.error("lake"))?;
            tracing::debug!(files = n, to = %snap.s3, "state snapshot");
            self.last_snapshot = Instant::now();
        }
        Ok(())
    }

    /// On shutdown, first half: the last rows committed, then the alerts (those raised by
    /// rebuilding the open hours at start too, if no cycle has run since) and the state.
    pub(super) fn commit_final(&mut self) -> anyhow::Result<()> {
        self.lake.commit().context("final commit")?;
        self.commit_alerts_and_save()
    }

    /// On shutdown, second half: the outbox flushed, a last snapshot.
    pub(super) fn flush_final(&mut self) -> anyhow::Result<()> {
        if let Some(s) = self.sns {
            crate::aws::flush_sns(s, "at shutdown")?;
        }
        if self.snapshot.is_some() {
            self.take_snapshot()?;
        }
        Ok(())
    }
}

/// The ledger entry recording that an alert is in the lake's `alerts` table.
fn alert_source(a: &flowtrail_core::Alert) -> LedgerEntry {
    LedgerEntry::Alert { id: a.id.clone() }
}

/// Milliseconds since the epoch, by the system clock.
pub(super) fn now_ms() -> i64 {
    SystemClock.now_ms()
}

/// Sleep for `d`, waking early on shutdown.
pub fn sleep_unless(shutdown: &AtomicBool, d: Duration) {
    let end = Instant::now() + d;
    while !shutdown.load(Ordering::Relaxed) && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(100).min(end - Instant::now()));
    }
}
