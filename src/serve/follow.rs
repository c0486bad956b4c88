//! Detection that follows the lake (`[detection] source = "lake"`): ingest tasks
//! (`serve --no-detect`, as many as the load needs) commit to one S3 lake; the lake bucket
//! notifies this task's queue of every new commit record (`_ledger/<commit>.json`); this task
//! reads each commit's `flows` and `cloudtrail` files back and judges them. One engine sees
//! every row, so baselines and alerts are those of a single task ingesting everything.
//!
//! # Acknowledgement
//! A commit's message is deleted only once every hour its rows fall in is judged and the
//! detection state saved (its visibility is extended until then). A crash or a replacement
//! task gets the messages of the open hours back and rebuilds those hours from the same
//! commits, so no row is judged twice or missed, and the lake is not re-read by hour (it
//! holds commits this task has not been told of yet). A replacement waits one visibility
//! timeout before its first receive, so the messages its predecessor held are back first.
//! Messages in flight are the commits of about the grace period plus an hour (SQS allows
//! 120,000 per queue).
//!
//! A commit record holding no rows (alerts, quarantine only; this task's own alert commits)
//! is acknowledged at once; a notification received twice is judged once.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use flowtrail_core::Table;
use flowtrail_ingest::source::notification::parse_message;
use flowtrail_ingest::source::sqs::{Message, SqsQueue};
use flowtrail_lake::ledger::CommitRecord;
use flowtrail_lake::mirror::S3Mirror;
use flowtrail_lake::quarantine::QuarantineRecord;
use flowtrail_lake::reader;

use super::shared::{Core, Loop, sleep_unless};
use crate::config::SqsConfig;

const HOUR_MS: i64 = 3_600_000;

/// A message kept in flight until its hours are judged.
#[derive(Debug)]
struct Held {
    receipt: String,
    /// Its commit records (forgotten from `seen` once it is deleted).
    records: Vec<String>,
    /// End of the newest hour its rows fall in (ms).
    until_ms: i64,
}

/// The follower loop: its queue of commit notifications and what it remembers between
/// cycles.
pub(super) struct LakeFollower<'a> {
    core: Core<'a>,
    queue: SqsQueue,
    conf: SqsConfig,
    mirror: S3Mirror,
    held: Vec<Held>,
    /// Commit records judged by this process (a second notification of one is a no-op).
    seen: HashSet<String>,
    last_extend: Instant,
    /// No receive before this (a replacement lets its predecessor's messages come back).
    start_after: Instant,
}

impl<'a> LakeFollower<'a> {
    /// A follower of the lake `core.lake` mirrors, notified on `queue`.
    pub(super) fn new(core: Core<'a>, queue: SqsQueue, conf: SqsConfig) -> anyhow::Result<Self> {
        let Some(mirror) = core.lake.mirror().cloned() else {
            anyhow::bail!("following the lake needs a lake on S3");
        };
        let visibility = Duration::from_secs(conf.visibility_seconds);
        Ok(Self {
            core,
            queue,
            conf,
            mirror,
            held: Vec::new(),
            seen: HashSet::new(),
            last_extend: Instant::now(),
            start_after: Instant::now() + visibility,
        })
    }
}

/// What reading a commit gave.
enum Outcome {
    /// Its rows, fetched whole before any is judged (a failed fetch leaves the message to come
    /// back, with nothing judged twice).
    Rows(Fetched),
    /// No rows.
    Empty,
    /// Not a commit record, or a file of it unreadable as parquet: quarantined.
    Bad(String),
}

/// A commit's row files.
struct Fetched {
    /// Start of its oldest hour (ms).
    from_ms: i64,
    batches: Vec<(Table, Vec<arrow::record_batch::RecordBatch>)>,
    until_ms: i64,
}

/// A message with rows to judge this cycle: its receipt, its commit records, the end of the
/// newest hour its rows fall in (ms).
type Pending = (String, Vec<String>, i64);

/// The messages of a cycle, sorted out.
#[derive(Default)]
struct Received {
    /// Receipts to delete: poison messages and messages with no rows to judge.
    ack: Vec<String>,
    /// Messages with rows to judge.
    cycle: Vec<Pending>,
    /// Their commits, each with its message's index in `cycle` and its record's path.
    commits: Vec<(usize, String, Fetched)>,
}

impl Loop for LakeFollower<'_> {
    /// One cycle of the follower: receive commit notifications, judge their rows, save, and
    /// acknowledge the messages whose hours are all judged.
    fn cycle(&mut self, shutdown: &AtomicBool) -> anyhow::Result<()> {
        let wait_first = self.start_after.saturating_duration_since(Instant::now());
        if !wait_first.is_zero() {
            tracing::info!(
                secs = wait_first.as_secs(),
                "waiting one visibility timeout for the messages a previous task held"
            );
            sleep_unless(shutdown, wait_first);
            return Ok(());
        }
        let visibility = Duration::from_secs(self.conf.visibility_seconds);
        let msgs = self
            .queue
            .receive(10, Duration::from_secs(self.conf.wait_seconds), visibility)
            .inspect_err(|_| self.core.metrics.error("sqs"))?;
        let Received {
            mut ack,
            cycle,
            commits,
        } = self.fetch_notified(msgs);
        self.judge_commits(cycle, commits)?;
        tracing::debug!(received = ack.len() + self.held.len(), "follower cycle");
        self.core.commit_alerts_and_save()?;
        // Judged and saved: the messages whose hours are all closed go.
        self.release_judged(visibility, &mut ack);
        if !ack.is_empty() {
            let failed = self
                .queue
                .delete(&ack)
                .inspect_err(|_| self.core.metrics.error("sqs"))?;
            self.core
                .metrics
                .messages_done
                .fetch_add((ack.len() - failed) as u64, Ordering::Relaxed);
        }
        self.core.housekeeping()
    }

    fn drain(&mut self) -> anyhow::Result<()> {
        self.core.commit_final()?;
        self.core.flush_final()
    }
}

impl LakeFollower<'_> {
    /// Sort the received messages: a poison message is quarantined and acknowledged, one
    /// whose commits hold no rows (or are all judged already) acknowledged, one with a commit
    /// not readable for now left to come back; the others' commits are fetched whole.
    fn fetch_notified(&mut self, msgs: Vec<Message>) -> Received {
        let mut got = Received::default();
        for m in msgs {
            let n = match parse_message(&m.body) {
                Ok(n) => n,
                Err(e) => {
                    tracing::warn!(message = %m.id, error = %e, "queue message quarantined");
                    self.core
                        .metrics
                        .messages_poison
                        .fetch_add(1, Ordering::Relaxed);
                    self.core.lake.quarantine(QuarantineRecord::line(
                        &format!("{}#{}", self.queue.url(), m.id),
                        1,
                        e.to_string(),
                        m.body.as_bytes(),
                    ));
                    got.ack.push(m.receipt);
                    continue;
                }
            };
            let records: Vec<String> = n
                .objects
                .iter()
                .filter_map(|o| self.mirror.rel_of(&o.bucket, &o.key))
                .filter(|rel| rel.starts_with("_ledger/") && rel.ends_with(".json"))
                .collect();
            let Some(fetched) = self.fetch_unseen(records) else {
                continue;
            };
            if fetched.is_empty() {
                // No rows (or every commit already judged): nothing to wait for.
                got.ack.push(m.receipt);
                continue;
            }
            let slot = got.cycle.len();
            got.cycle.push((m.receipt, Vec::new(), i64::MIN));
            for (rel, c) in fetched {
                got.commits.push((slot, rel, c));
            }
        }
        got
    }

    /// Fetch the commits of one message not judged yet: those with rows, each with its
    /// record's path; a bad one is quarantined. `None` when one is not readable for now (the
    /// message comes back).
    fn fetch_unseen(&mut self, records: Vec<String>) -> Option<Vec<(String, Fetched)>> {
        let unseen: Vec<String> = records
            .into_iter()
            .filter(|r| !self.seen.contains(r))
            .collect();
        let mut fetched = Vec::new();
        for rel in &unseen {
            match fetch_commit(&self.mirror, rel) {
                Ok(Outcome::Rows(c)) => fetched.push((rel.clone(), c)),
                Ok(Outcome::Empty) => {}
                Ok(Outcome::Bad(reason)) => {
                    tracing::warn!(commit = %rel, %reason, "commit record quarantined");
                    self.core.lake.quarantine(QuarantineRecord::line(
                        &format!(
                            "{}/{rel}",
                            self.mirror.url().to_string().trim_end_matches('/')
                        ),
                        1,
                        reason,
                        &[],
                    ));
                }
                Err(e) => {
                    tracing::warn!(commit = %rel, error = %format!("{e:#}"), "commit not readable for now; its message comes back");
                    self.core.metrics.error("lake");
                    return None;
                }
            }
        }
        Some(fetched)
    }

    /// Judge the fetched commits, oldest rows first, and hold their messages in flight until
    /// their hours close.
    fn judge_commits(
        &mut self,
        mut cycle: Vec<Pending>,
        mut commits: Vec<(usize, String, Fetched)>,
    ) -> anyhow::Result<()> {
        // Oldest rows first: commits of several ingest tasks arrive in any order.
        commits.sort_by_key(|(_, rel, c)| (c.from_ms, rel.clone()));
        for (slot, rel, c) in commits {
            tracing::debug!(commit = %rel, until_ms = c.until_ms, "judging a lake commit");
            if let Some(d) = self.core.detection.as_deref_mut() {
                for (table, batches) in &c.batches {
                    for b in batches {
                        flowtrail_ingest::replay::Observer::on_batch(d, *table, b)
                            .map_err(|e| anyhow::anyhow!("judging {rel}: {e}"))?;
                    }
                }
            }
            self.core
                .metrics
                .commits_followed
                .fetch_add(1, Ordering::Relaxed);
            self.seen.insert(rel.clone());
            if let Some(entry) = cycle.get_mut(slot) {
                entry.1.push(rel);
                entry.2 = entry.2.max(c.until_ms);
            }
        }
        for (receipt, records, until_ms) in cycle {
            self.held.push(Held {
                receipt,
                records,
                until_ms,
            });
        }
        Ok(())
    }

    /// Move the held messages whose hours detection has closed to `ack`, and extend the
    /// visibility of the others every third of the visibility timeout.
    fn release_judged(&mut self, visibility: Duration, ack: &mut Vec<String>) {
        let closed = self
            .core
            .detection
            .as_deref()
            .and_then(|d| d.closed_until())
            .unwrap_or(i64::MIN);
        let (done, keep): (Vec<Held>, Vec<Held>) =
            self.held.drain(..).partition(|h| h.until_ms <= closed);
        self.held = keep;
        for h in done {
            // A later notification of these commits finds their hours closed: its rows
            // are late, counted and not judged again.
            for r in &h.records {
                self.seen.remove(r);
            }
            ack.push(h.receipt);
        }
        if self.last_extend.elapsed() >= visibility / 3 && !self.held.is_empty() {
            let receipts: Vec<String> = self.held.iter().map(|h| h.receipt.clone()).collect();
            if let Err(e) = self.queue.extend(&receipts, visibility) {
                tracing::warn!(error = %e, "extending message visibility failed");
            }
            self.last_extend = Instant::now();
        }
        self.core
            .metrics
            .messages_in_flight
            .store(self.held.len() as u64, Ordering::Relaxed);
    }
}

/// Fetch a commit record and its row files. `Err` only for what may work later (S3 errors);
/// a missing key is gone for good (S3 is strongly consistent), so it is `Bad`.
fn fetch_commit(mirror: &S3Mirror, rel: &str) -> anyhow::Result<Outcome> {
    let Some(bytes) = mirror.read_if_exists(rel)? else {
        return Ok(Outcome::Bad(
            "the notified commit record is not in the lake (NoSuchKey)".into(),
        ));
    };
    let rec: CommitRecord = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return Ok(Outcome::Bad(format!("not a commit record: {e}"))),
    };
    let mut out = Fetched {
        from_ms: i64::MAX,
        batches: Vec::new(),
        until_ms: i64::MIN,
    };
    for file in &rec.files {
        let table = if file.starts_with("flows/") {
            Table::Flows
        } else if file.starts_with("cloudtrail/") {
            Table::Cloudtrail
        } else {
            continue;
        };
        let hour = reader::hour_of(file).unwrap_or(i64::MIN);
        let Some(bytes) = mirror.read_if_exists(file)? else {
            return Ok(Outcome::Bad(format!(
                "{file}: named by the commit record, not in the lake (NoSuchKey)"
            )));
        };
        let batches = match reader::read_bytes(Path::new(file), bytes) {
            Ok(b) => b,
            Err(e) => return Ok(Outcome::Bad(format!("{file}: {e}"))),
        };
        out.until_ms = out.until_ms.max(hour.saturating_add(HOUR_MS));
        out.from_ms = out.from_ms.min(hour);
        out.batches.push((table, batches));
    }
    Ok(if out.batches.is_empty() {
        Outcome::Empty
    } else {
        Outcome::Rows(out)
    })
}
