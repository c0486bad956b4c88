//! Publishing what waits in the outbox: alerts grouped by topic, sent 10 at a time, each
//! batch retried with backoff a bounded number of times; a file leaves the outbox only when
//! SNS listed its entry as successful. One publisher ([`SnsPublisher`] is a handle on it) is shared by the sink's background
//! thread and explicit flushes (startup, end of run, shutdown), behind one lock, so two
//! flushes never send the same file at once.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use aws_sdk_sns::Client;
use tokio::runtime::Handle;

use super::request::{Attempt, publish};
use super::{MAX_BATCH, RetryPolicy, Router};
use crate::AlertsError;
use crate::outbox::{Outbox, Pending};
use crate::sink::AlertFormat;

/// Counters of an SNS sink.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SnsStats {
    /// Alerts written to the outbox.
    pub queued: u64,
    /// Alerts published (and removed from the outbox).
    pub published: u64,
    /// `PublishBatch` calls that failed and were retried.
    pub retries: u64,
    /// Flushes that gave up and left alerts in the outbox.
    pub failed_flushes: u64,
}

/// The counters, readable while a flush runs (the metrics endpoint reads them).
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) queued: AtomicU64,
    published: AtomicU64,
    retries: AtomicU64,
    failed_flushes: AtomicU64,
}

impl Counters {
    pub(crate) fn snapshot(&self) -> SnsStats {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        SnsStats {
            queued: g(&self.queued),
            published: g(&self.published),
            retries: g(&self.retries),
            failed_flushes: g(&self.failed_flushes),
        }
    }
}

/// What one flush did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FlushReport {
    /// Alerts published now.
    pub published: u64,
    /// Alerts still in the outbox.
    pub pending: u64,
    /// Alerts no route or default topic takes (left in the outbox).
    pub unrouted: u64,
    /// Why the flush stopped early, if it did.
    pub error: Option<String>,
}

/// The publishing half of the sink.
#[derive(Debug)]
pub(crate) struct Publisher {
    pub(crate) client: Client,
    pub(crate) handle: Handle,
    pub(crate) outbox: Outbox,
    pub(crate) router: Router,
    pub(crate) policy: RetryPolicy,
    pub(crate) format: AlertFormat,
    pub(crate) counters: Arc<Counters>,
    /// When the last flush gave up (sends wait `policy.cooldown` after it).
    pub(crate) failed_at: Option<Instant>,
}

impl Publisher {
    /// Whether SNS failed within the cooldown.
    pub(crate) fn cooling_down(&self) -> bool {
        self.failed_at
            .is_some_and(|t| t.elapsed() < self.policy.cooldown)
    }

    /// Publish everything in the outbox now. Failures are in the report, not an error: the
    /// alerts stay in the outbox. An error only when the outbox cannot be read or changed.
    pub(crate) fn flush(&mut self) -> Result<FlushReport, AlertsError> {
        let pending = self.outbox.pending()?;
        let mut report = FlushReport::default();
        if pending.is_empty() {
            self.failed_at = None;
            return Ok(report);
        }
        let mut by_topic: BTreeMap<String, Vec<Pending>> = BTreeMap::new();
        for p in pending {
            match self.router.topic_for(&p.alert) {
                Some(t) => by_topic.entry(t.to_string()).or_default().push(p),
                None => report.unrouted += 1,
            }
        }
        'topics: for (topic, items) in &by_topic {
            for chunk in items.chunks(MAX_BATCH) {
                if let Err(reason) = self.publish_chunk(topic, chunk, &mut report)? {
                    report.error = Some(format!("{topic}: {reason}"));
                    break 'topics;
                }
            }
        }
        report.pending = self.outbox.len()? as u64;
        if report.error.is_some() {
            self.failed_at = Some(Instant::now());
            self.counters.failed_flushes.fetch_add(1, Ordering::Relaxed);
        } else {
            self.failed_at = None;
        }
        Ok(report)
    }

    /// Publish one chunk with retries. `Ok(Err(reason))` when SNS could not take it.
    fn publish_chunk(
        &mut self,
        topic: &str,
        chunk: &[Pending],
        report: &mut FlushReport,
    ) -> Result<Result<(), String>, AlertsError> {
        let fifo = topic.ends_with(".fifo");
        let mut todo: Vec<usize> = (0..chunk.len()).collect();
        let mut attempt = 0u32;
        loop {
            attempt += 1;
            let outcome = self.handle.block_on(publish(
                &self.client,
                self.format,
                topic,
                chunk,
                &todo,
                fifo,
            ));
            let reason = match outcome {
                Attempt::Done {
                    ok,
                    retry,
                    permanent,
                } => {
                    let done: Vec<&Pending> = ok.iter().map(|i| &chunk[*i]).collect();
                    self.outbox.delivered(&done)?;
                    let n = ok.len() as u64;
                    self.counters.published.fetch_add(n, Ordering::Relaxed);
                    report.published += n;
                    for (i, why) in &permanent {
                        tracing::warn!(topic, alert = %chunk[*i].alert.id, reason = %why, "sns refused an alert; it stays in the outbox");
                    }
                    if retry.is_empty() {
                        return Ok(if permanent.is_empty() {
                            Ok(())
                        } else {
                            Err(format!("{} alert(s) refused", permanent.len()))
                        });
                    }
                    todo = retry;
                    format!("{} entries failed", todo.len())
                }
                Attempt::Failed {
                    retryable: false,
                    reason,
                } => return Ok(Err(reason)),
                Attempt::Failed {
                    retryable: true,
                    reason,
                } => reason,
            };
            if attempt >= self.policy.max_attempts {
                return Ok(Err(format!("gave up after {attempt} attempts: {reason}")));
            }
            self.counters.retries.fetch_add(1, Ordering::Relaxed);
            let wait = self.policy.backoff(attempt);
            tracing::debug!(topic, attempt, wait_ms = wait.as_millis() as u64, reason = %reason, "sns publish failed; retrying");
            std::thread::sleep(wait);
        }
    }
}

/// A handle on the shared publisher: flush from any thread without holding the sink.
#[derive(Debug, Clone)]
pub struct SnsPublisher(pub(crate) Arc<Mutex<Publisher>>);

impl SnsPublisher {
    /// Publish everything in the outbox now (waits for a flush already running to end).
    pub fn flush(&self) -> Result<FlushReport, AlertsError> {
        self.0
            .lock()
            .map_err(|e| AlertsError::Poisoned(e.to_string()))?
            .flush()
    }
}
