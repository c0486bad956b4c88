//! The ingest loop of the service: receive notifications, claim and read their objects, poll
//! the log groups, commit, judge, acknowledge. The order of the steps is the acknowledgement
//! contract (see the module doc of `serve`).

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use flowtrail_ingest::dedupe::EventIdDedup;
use flowtrail_ingest::replay::{self, NoObserver, Observer, ReplayOptions, ReplayStats};
use flowtrail_ingest::source::SourceObject;
use flowtrail_ingest::source::cloudwatch::CloudWatchSource;
use flowtrail_ingest::source::notification::parse_message;
use flowtrail_ingest::source::sqs::{Message, SqsQueue};
use flowtrail_lake::SourceId;
use flowtrail_lake::claims::{Claim, Claims};
use flowtrail_lake::quarantine::QuarantineRecord;

use super::shared::{Core, Loop, now_ms, sleep_unless};
use crate::config::SqsConfig;

/// The ingest loop's moving parts.
pub(super) struct Ingest<'a> {
    pub core: Core<'a>,
    pub queue: Option<(SqsQueue, SqsConfig)>,
    /// With a lake on S3: the claim markers that keep two tasks off the same object.
    pub claims: Option<Arc<Claims>>,
    /// Objects committed here whose claims are not marked done yet (their commit is not on S3).
    pub claims_pending: Vec<SourceId>,
    pub cloudwatch: Option<(CloudWatchSource, Duration)>,
    pub last_poll: Option<Instant>,
    pub opts: ReplayOptions,
    pub dedup: EventIdDedup,
}

/// Messages of a cycle, sorted out.
#[derive(Default)]
struct Inbox {
    objects: Vec<SourceObject>,
    /// Each message's receipt and the objects it announced.
    messages: Vec<(String, Vec<SourceId>)>,
    sent_ms: Vec<i64>,
}

/// The objects of a cycle after claiming them.
#[derive(Default)]
struct Claimed {
    /// To process: claimed by this task, or in its ledger already.
    objects: Vec<SourceObject>,
    /// Claimed by this task in this cycle.
    mine: Vec<SourceId>,
    /// Committed by another task: done.
    elsewhere: HashSet<SourceId>,
}

impl Ingest<'_> {
    fn receive(&mut self, shutdown: &AtomicBool) -> anyhow::Result<Inbox> {
        let mut inbox = Inbox::default();
        let Some((queue, conf)) = &self.queue else {
            // CloudWatch only: pace the cycles by the poll interval.
            if let Some((_, every)) = &self.cloudwatch {
                let due = self
                    .last_poll
                    .map(|t| t + *every)
                    .unwrap_or_else(Instant::now);
                sleep_unless(shutdown, due.saturating_duration_since(Instant::now()));
            }
            return Ok(inbox);
        };
        let visibility = Duration::from_secs(conf.visibility_seconds);
        // Long-poll for the first messages; take what else is waiting without waiting, up to
        // the cycle's limit. With log groups to poll, wait no longer than their next poll.
        let mut wait = Duration::from_secs(conf.wait_seconds);
        if let (Some((_, every)), Some(last)) = (&self.cloudwatch, self.last_poll) {
            wait = wait.min((last + *every).saturating_duration_since(Instant::now()));
        }
        let mut msgs: Vec<Message> = Vec::new();
        loop {
            let got = queue
                .receive(10, wait, visibility)
                .inspect_err(|_| self.core.metrics.error("sqs"))?;
            let n = got.len();
            msgs.extend(got);
            if n < 10 || msgs.len() >= conf.max_messages_per_cycle {
                break;
            }
            wait = Duration::ZERO;
        }
        let mut seen = HashSet::new();
        for m in msgs {
            let mut ids = Vec::new();
            match parse_message(&m.body) {
                Ok(n) => {
                    let mut any = false;
                    for o in &n.objects {
                        if let Some(src) = o.to_source() {
                            any = true;
                            ids.push(src.id.clone());
                            if seen.insert(src.id.clone()) {
                                inbox.objects.push(src);
                            }
                        } else {
                            tracing::debug!(bucket = %o.bucket, key = %o.key, "not a log object; ignored");
                        }
                    }
                    if !any {
                        self.core
                            .metrics
                            .messages_ignored
                            .fetch_add(1, Ordering::Relaxed);
                    }
                }
                Err(e) => {
                    // Never valid: keep it in the quarantine (so it is not lost) and delete it.
                    tracing::warn!(message = %m.id, error = %e, "queue message quarantined");
                    self.core
                        .metrics
                        .messages_poison
                        .fetch_add(1, Ordering::Relaxed);
                    self.core.lake.quarantine(QuarantineRecord::line(
                        &format!("{}#{}", queue.url(), m.id),
                        1,
                        e.to_string(),
                        m.body.as_bytes(),
                    ));
                }
            }
            inbox.messages.push((m.receipt, ids));
            if let Some(t) = m.sent_ms {
                inbox.sent_ms.push(t);
            }
        }
        // Oldest delivery first, as a replay orders them.
        inbox.objects.sort_by(|a, b| {
            let t = |o: &SourceObject| flowtrail_ingest::keys::delivery_time_ms(&o.id.key);
            (t(a), &a.id.key).cmp(&(t(b), &b.id.key))
        });
        Ok(inbox)
    }

    /// One cycle: receive, claim, process, settle the claims, acknowledge.
    fn ingest_cycle(&mut self, shutdown: &AtomicBool) -> anyhow::Result<()> {
        let inbox = self.receive(shutdown)?;
        let poll_due = self
            .cloudwatch
            .as_ref()
            .is_some_and(|(_, every)| self.last_poll.is_none_or(|t| t.elapsed() >= *every));
        if inbox.messages.is_empty() && !poll_due {
            self.housekeeping()?;
            return Ok(());
        }
        let visibility = self
            .queue
            .as_ref()
            .map(|(_, c)| Duration::from_secs(c.visibility_seconds))
            .unwrap_or(Duration::from_secs(60));
        let queue = self.queue.as_ref().map(|(q, _)| q.clone());
        let claimed = self.claim(inbox.objects);
        let claims = self.claims.clone();
        let done = AtomicBool::new(false);
        let receipts: Vec<String> = inbox.messages.iter().map(|m| m.0.clone()).collect();
        let result = std::thread::scope(|scope| {
            // Keep the messages hidden while this cycle works on them.
            if let Some(q) = &queue
                && !receipts.is_empty()
            {
                let (done, receipts, mine) = (&done, &receipts, &claimed.mine);
                scope.spawn(move || {
                    let every = visibility / 3;
                    let mut next = Instant::now() + every;
                    while !done.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(50));
                        if Instant::now() >= next {
                            if let Err(e) = q.extend(receipts, visibility) {
                                tracing::warn!(error = %e, "extending message visibility failed");
                            }
                            if let Some(c) = &claims
                                && let Err(e) = c.renew(mine)
                            {
                                tracing::warn!(error = %e, "renewing the claims failed");
                            }
                            next = Instant::now() + every;
                        }
                    }
                });
            }
            let r = self.process(&claimed.objects, poll_due);
            done.store(true, Ordering::Relaxed);
            r
        });
        let stats = result?;
        // Claims done before the messages go: a message seen again is then a no-op anywhere.
        self.settle_claims(&claimed.mine);
        // Everything the messages produced is durable: acknowledge them. A message whose
        // object could not be read for now (S3 throttling, timeouts) or that another task is
        // working on is left to come back.
        let ack: Vec<String> = inbox
            .messages
            .iter()
            .filter(|(_, ids)| {
                ids.iter()
                    .all(|id| self.core.lake.ledger().is_done(id) || claimed.elsewhere.contains(id))
            })
            .map(|(r, _)| r.clone())
            .collect();
        if ack.len() < inbox.messages.len() {
            tracing::warn!(
                retried = inbox.messages.len() - ack.len(),
                "messages left on the queue: their objects were not readable this time, or another task has them"
            );
        }
        if let Some(q) = &queue
            && !ack.is_empty()
        {
            let failed = q
                .delete(&ack)
                .inspect_err(|_| self.core.metrics.error("sqs"))?;
            if failed > 0 {
                tracing::warn!(
                    failed,
                    "SQS did not delete some messages; they come back and are no-ops"
                );
            }
            // Messages that announced objects; ignored and poison ones are counted as such.
            let announced = inbox
                .messages
                .iter()
                .filter(|(r, ids)| !ids.is_empty() && ack.contains(r))
                .count();
            self.core
                .metrics
                .messages_done
                .fetch_add(announced.saturating_sub(failed) as u64, Ordering::Relaxed);
            let now = now_ms();
            for t in &inbox.sent_ms {
                self.core.metrics.observe_lag((now - t) as f64 / 1000.0);
            }
        }
        self.count(&stats);
        self.housekeeping()?;
        Ok(())
    }

    /// With a lake on S3, claim each object not in the local ledger: those another task holds
    /// are left out (their messages stay on the queue), those another task committed are done.
    /// An object whose claim fails (S3 unavailable) is left out too and tried again later.
    fn claim(&self, objects: Vec<SourceObject>) -> Claimed {
        let Some(claims) = &self.claims else {
            return Claimed {
                objects,
                ..Default::default()
            };
        };
        let mut c = Claimed::default();
        for o in objects {
            if self.core.lake.ledger().is_done(&o.id) {
                c.objects.push(o);
                continue;
            }
            match claims.claim(&o.id) {
                Ok(Claim::Mine) => {
                    c.mine.push(o.id.clone());
                    c.objects.push(o);
                }
                Ok(Claim::DoneElsewhere) => {
                    self.core
                        .metrics
                        .objects_done_elsewhere
                        .fetch_add(1, Ordering::Relaxed);
                    c.elsewhere.insert(o.id);
                }
                Ok(Claim::HeldElsewhere) => {
                    self.core
                        .metrics
                        .objects_held_elsewhere
                        .fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => {
                    self.core.metrics.error("lake");
                    tracing::warn!(object = %o.id.key, error = %e, "claiming the object failed; it is tried again later");
                }
            }
        }
        c
    }

    /// Mark done the claims of `committed` objects that are in the ledger (quarantined ones
    /// included), with those left over, once their commits are on S3.
    fn settle_claims(&mut self, committed: &[SourceId]) {
        let Some(claims) = &self.claims else {
            return;
        };
        let ledger = self.core.lake.ledger();
        self.claims_pending
            .extend(committed.iter().filter(|id| ledger.is_done(id)).cloned());
        if self.claims_pending.is_empty()
            || (self.core.lake.mirror_behind() && !self.core.lake.sync_mirror())
        {
            return;
        }
        match claims.done(&self.claims_pending) {
            Ok(()) => self.claims_pending.clear(),
            Err(e) => {
                self.core.metrics.error("lake");
                tracing::warn!(error = %e, "marking claims done failed; retried after the next cycle");
            }
        }
    }

    fn process(&mut self, objects: &[SourceObject], poll: bool) -> anyhow::Result<ReplayStats> {
        let mut stats = ReplayStats::default();
        let mut none = NoObserver;
        let observer: &mut dyn Observer = match self.core.detection.as_deref_mut() {
            Some(d) => d,
            None => &mut none,
        };
        if poll && let Some((src, _)) = &mut self.cloudwatch {
            self.last_poll = Some(Instant::now());
            let before = src.requests;
            let polled = src
                .poll()
                .inspect_err(|_| self.core.metrics.error("cloudwatch"));
            self.core
                .metrics
                .cloudwatch_requests
                .fetch_add(src.requests - before, Ordering::Relaxed);
            for p in polled? {
                self.core
                    .metrics
                    .cloudwatch_events
                    .fetch_add(p.events as u64, Ordering::Relaxed);
                replay::absorb_rows(
                    &p.unit,
                    p.table,
                    p.sink,
                    self.core.lake,
                    &self.opts,
                    observer,
                    &mut self.dedup,
                    &mut stats,
                )
                .inspect_err(|_| self.core.metrics.error("lake"))?;
                self.core.lake.set_cursor(p.cursor_name, p.cursor);
            }
        }
        // Objects, then one commit holding them, the log events and the tokens.
        let s = replay::run_with(
            objects,
            self.core.lake,
            &self.opts,
            observer,
            &mut self.dedup,
            &mut |_| {},
        )
        .inspect_err(|_| self.core.metrics.error("lake"))?;
        stats += &s;
        self.core.commit_alerts_and_save()?;
        Ok(stats)
    }

    fn count(&self, s: &ReplayStats) {
        let m = self.core.metrics;
        let add = |a: &std::sync::atomic::AtomicU64, v: u64| a.fetch_add(v, Ordering::Relaxed);
        add(&m.objects, s.objects_done);
        add(&m.objects_already_done, s.objects_already_done);
        add(&m.objects_quarantined, s.objects_quarantined);
        add(&m.flow_records, s.flow_records);
        add(&m.cloudtrail_records, s.cloudtrail_records);
        add(&m.lines_quarantined, s.lines_quarantined);
        add(&m.commits, s.commits);
    }

    /// Claims settled, the outbox retried, a snapshot when due.
    fn housekeeping(&mut self) -> anyhow::Result<()> {
        self.settle_claims(&[]);
        self.core.housekeeping()
    }
}

impl Loop for Ingest<'_> {
    fn cycle(&mut self, shutdown: &AtomicBool) -> anyhow::Result<()> {
        self.ingest_cycle(shutdown)
    }

    fn drain(&mut self) -> anyhow::Result<()> {
        self.core.commit_final()?;
        self.settle_claims(&[]);
        self.core.flush_final()
    }
}
