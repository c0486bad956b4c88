//! Alerts to Amazon SNS through the durable [`Outbox`].
//!
//! [`SnsSink::send`] writes the alerts to the outbox (fsynced) and returns: that is the
//! [`AlertSink`] contract (durable when it returns Ok; delivery may lag). It then tries to
//! publish everything waiting in the outbox, unless SNS failed within the last
//! [`RetryPolicy::cooldown`]; an SNS outage delays alerts and never loses them.
//!
//! Publishing: alerts are routed to a topic ([`Router`]: the first matching route, else the
//! default topic), grouped by topic and sent with `PublishBatch`, at most 10 per call. The
//! message body is the alert JSON in the sink's [`AlertFormat`] (native unless set with
//! [`SnsSink::set_format`]; the outbox keeps the native form either way); the message attributes
//! `severity`, `detector` and `account_id` (type `String`) let subscriptions filter. On FIFO
//! topics (`.fifo`) `MessageGroupId` is the detector and `MessageDeduplicationId` the alert id.
//! Throttling, 5xx, timeouts and connection failures are retried with exponential backoff and
//! full jitter, a bounded number of times ([`RetryPolicy`]); the SDK's own retries are off so
//! this is the one retry loop. A file leaves the outbox only when SNS listed its entry as
//! successful.
//!
//! The sink is synchronous (the replay is) and owns a tokio runtime [`Handle`]; it must not be
//! called from inside that runtime.

use std::collections::BTreeMap;
use std::hash::{BuildHasher, Hasher};
use std::time::{Duration, Instant};

use aws_config::SdkConfig;
use aws_sdk_sns::Client;
use aws_sdk_sns::config::http::HttpResponse;
use aws_sdk_sns::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};
use serde::Deserialize;
use tokio::runtime::Handle;

use flowtrail_core::{Alert, Severity};

use super::{AlertFormat, AlertSink};
use crate::AlertsError;
use crate::outbox::{Outbox, Pending};

/// Most entries SNS takes in one `PublishBatch`.
pub const MAX_BATCH: usize = 10;

/// One routing rule: alerts at or above `min_severity` and (when `detectors` is not empty) of
/// one of `detectors` go to `topic_arn`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Lowest severity routed here (any when absent).
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Detector ids routed here (any when empty).
    #[serde(default)]
    pub detectors: Vec<String>,
    /// Destination topic.
    pub topic_arn: String,
}

impl Route {
    fn matches(&self, a: &Alert) -> bool {
        self.min_severity.is_none_or(|m| a.severity >= m)
            && (self.detectors.is_empty() || self.detectors.contains(&a.detector))
    }
}

/// Picks the topic of each alert: the first matching route, else the default topic.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Router {
    /// Routes, in order.
    #[serde(default)]
    pub routes: Vec<Route>,
    /// Topic of alerts no route takes.
    #[serde(default)]
    pub default_topic: Option<String>,
}

impl Router {
    /// Everything to one topic.
    pub fn single(topic_arn: impl Into<String>) -> Self {
        Self {
            routes: Vec::new(),
            default_topic: Some(topic_arn.into()),
        }
    }

    /// The topic for `a`, if any.
    pub fn topic_for(&self, a: &Alert) -> Option<&str> {
        self.routes
            .iter()
            .find(|r| r.matches(a))
            .map(|r| r.topic_arn.as_str())
            .or(self.default_topic.as_deref())
    }
}

/// How hard to try before leaving alerts in the outbox for later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per batch (the first included).
    pub max_attempts: u32,
    /// First backoff; doubles per attempt.
    pub base_backoff: Duration,
    /// Largest backoff.
    pub max_backoff: Duration,
    /// After a failed flush, sends only write to the outbox for this long.
    pub cooldown: Duration,
    /// Timeout of one `PublishBatch` call.
    pub call_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            cooldown: Duration::from_secs(30),
            call_timeout: Duration::from_secs(10),
        }
    }
}

impl RetryPolicy {
    /// Full-jitter backoff before attempt `attempt + 1` (`attempt` ≥ 1).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .base_backoff
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
        let cap = exp.min(self.max_backoff);
        let r = std::collections::hash_map::RandomState::new()
            .build_hasher()
            .finish();
        cap.mul_f64((r >> 11) as f64 / (1u64 << 53) as f64)
    }
}

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

/// An SNS client for `conf`: the SDK's retries off (the sink has its own backoff) and a
/// per-call timeout.
pub fn sns_client(conf: &SdkConfig, policy: &RetryPolicy) -> Client {
    let timeouts = aws_config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(3).min(policy.call_timeout))
        .operation_timeout(policy.call_timeout)
        .build();
    let c = aws_sdk_sns::config::Builder::from(conf)
        .retry_config(aws_config::retry::RetryConfig::disabled())
        .timeout_config(timeouts)
        .build();
    Client::from_conf(c)
}

/// Alerts to SNS via the outbox (see the module docs).
#[derive(Debug)]
pub struct SnsSink {
    client: Client,
    handle: Handle,
    outbox: Outbox,
    router: Router,
    policy: RetryPolicy,
    failed_at: Option<Instant>,
    stats: SnsStats,
    format: AlertFormat,
}

enum Attempt {
    /// Entries (indexes into the batch) SNS accepted, and those to retry.
    Done {
        ok: Vec<usize>,
        retry: Vec<usize>,
        permanent: Vec<(usize, String)>,
    },
    /// The call failed as a whole.
    Failed { retryable: bool, reason: String },
}

fn is_retryable<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    match e {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            true
        }
        SdkError::ServiceError(s) => {
            let code = s.err().code().unwrap_or_default();
            s.raw().status().as_u16() >= 500
                || code.contains("Throttl")
                || matches!(
                    code,
                    "InternalError" | "InternalFailure" | "ServiceUnavailable" | "KMSThrottling"
                )
        }
        _ => false,
    }
}

fn attr(v: &str) -> Option<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .ok()
}

fn entry(
    i: usize,
    a: &Alert,
    fifo: bool,
    format: AlertFormat,
) -> Result<PublishBatchRequestEntry, String> {
    let body = format.render(a).map_err(|e| e.to_string())?;
    let mut b = PublishBatchRequestEntry::builder()
        .id(format!("a{i}"))
        .message(body);
    for (k, v) in [
        ("severity", Some(a.severity.as_str())),
        ("detector", Some(a.detector.as_str())),
        ("account_id", a.account_id.as_deref()),
    ] {
        // SNS refuses empty attribute values: leave an unknown account out.
        if let Some(attr) = v.filter(|v| !v.is_empty()).and_then(attr) {
            b = b.message_attributes(k, attr);
        }
    }
    if fifo {
        b = b
            .message_group_id(&a.detector)
            .message_deduplication_id(&a.id);
    }
    b.build().map_err(|e| e.to_string())
}

impl SnsSink {
    /// A sink publishing with `client` on the runtime of `handle`, queuing in `outbox`.
    pub fn new(
        client: Client,
        handle: Handle,
        outbox: Outbox,
        router: Router,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            client,
            handle,
            outbox,
            router,
            policy,
            failed_at: None,
            stats: SnsStats::default(),
            format: AlertFormat::Native,
        }
    }

    /// Publish message bodies in `format` from now on.
    pub fn set_format(&mut self, format: AlertFormat) {
        self.format = format;
    }

    /// Counters so far.
    pub fn stats(&self) -> SnsStats {
        self.stats
    }

    /// The outbox.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Publish everything in the outbox now (at startup, at the end of a run, or from
    /// `send`). Failures are in the report, not an error: the alerts stay in the outbox. An
    /// error is returned only when the outbox itself cannot be read or changed.
    pub fn flush(&mut self) -> Result<FlushReport, AlertsError> {
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
            self.stats.failed_flushes += 1;
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
            let outcome = self
                .handle
                .block_on(self.publish(topic, chunk, &todo, fifo));
            let reason = match outcome {
                Attempt::Done {
                    ok,
                    retry,
                    permanent,
                } => {
                    let done: Vec<&Pending> = ok.iter().map(|i| &chunk[*i]).collect();
                    self.outbox.delivered(&done)?;
                    self.stats.published += ok.len() as u64;
                    report.published += ok.len() as u64;
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
            self.stats.retries += 1;
            let wait = self.policy.backoff(attempt);
            tracing::debug!(topic, attempt, wait_ms = wait.as_millis() as u64, reason = %reason, "sns publish failed; retrying");
            std::thread::sleep(wait);
        }
    }

    async fn publish(&self, topic: &str, chunk: &[Pending], todo: &[usize], fifo: bool) -> Attempt {
        let mut req = self.client.publish_batch().topic_arn(topic);
        let mut permanent = Vec::new();
        let mut sent = Vec::new();
        for &i in todo {
            match entry(i, &chunk[i].alert, fifo, self.format) {
                Ok(e) => {
                    req = req.publish_batch_request_entries(e);
                    sent.push(i);
                }
                Err(reason) => permanent.push((i, reason)),
            }
        }
        if sent.is_empty() {
            return Attempt::Done {
                ok: Vec::new(),
                retry: Vec::new(),
                permanent,
            };
        }
        match req.send().await {
            Ok(out) => {
                let index = |id: &str| id.strip_prefix('a').and_then(|n| n.parse::<usize>().ok());
                let ok: Vec<usize> = out
                    .successful()
                    .iter()
                    .filter_map(|s| s.id().and_then(index))
                    .collect();
                let mut retry = Vec::new();
                for f in out.failed() {
                    let Some(i) = index(f.id()) else { continue };
                    if f.sender_fault() {
                        permanent.push((
                            i,
                            format!("{}: {}", f.code(), f.message().unwrap_or_default()),
                        ));
                    } else {
                        retry.push(i);
                    }
                }
                Attempt::Done {
                    ok,
                    retry,
                    permanent,
                }
            }
            Err(e) => Attempt::Failed {
                retryable: is_retryable(&e),
                reason: DisplayErrorContext(&e).to_string(),
            },
        }
    }
}

impl AlertSink for SnsSink {
    fn send(&mut self, alerts: &[Alert]) -> Result<(), AlertsError> {
        if alerts.is_empty() {
            return Ok(());
        }
        self.outbox.put(alerts)?;
        self.stats.queued += alerts.len() as u64;
        if self
            .failed_at
            .is_some_and(|t| t.elapsed() < self.policy.cooldown)
        {
            return Ok(()); // SNS failed a moment ago: keep them queued, the next flush sends them
        }
        let r = self.flush()?;
        if let Some(e) = &r.error {
            tracing::warn!(pending = r.pending, outbox = %self.outbox.dir().display(), error = %e, "sns unavailable; alerts kept in the outbox");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowtrail_core::{Entity, EntityKind};

    fn alert(det: &str, sev: Severity) -> Alert {
        Alert {
            why: String::new(),
            next_steps: Vec::new(),
            asset: None,
            id: "x".into(),
            detector: det.into(),
            severity: sev,
            title: "t".into(),
            account_id: None,
            region: None,
            entity: Entity {
                kind: EntityKind::Ip,
                id: "1".into(),
            },
            first_seen: "2026-01-08T10:00:00Z".into(),
            last_seen: "2026-01-08T10:00:00Z".into(),
            count: 1,
            dedupe_key: "k".into(),
            attack: Default::default(),
            evidence: serde_json::json!({}),
        }
    }

    #[test]
    fn routes_first_match_then_default() {
        let r = Router {
            routes: vec![
                Route {
                    min_severity: Some(Severity::Critical),
                    detectors: vec![],
                    topic_arn: "crit".into(),
                },
                Route {
                    min_severity: None,
                    detectors: vec!["port_scan".into()],
                    topic_arn: "scans".into(),
                },
            ],
            default_topic: Some("all".into()),
        };
        assert_eq!(
            r.topic_for(&alert("root_activity", Severity::Critical)),
            Some("crit")
        );
        assert_eq!(
            r.topic_for(&alert("port_scan", Severity::Low)),
            Some("scans")
        );
        assert_eq!(r.topic_for(&alert("new_peer", Severity::High)), Some("all"));
        assert_eq!(
            Router::default().topic_for(&alert("new_peer", Severity::High)),
            None
        );
    }

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let p = RetryPolicy::default();
        for attempt in 1..40 {
            assert!(p.backoff(attempt) <= p.max_backoff);
        }
        assert!(p.backoff(1) <= p.base_backoff);
    }

    #[test]
    fn fifo_entries_carry_group_and_dedupe_ids() -> Result<(), String> {
        let mut a = alert("port_scan", Severity::High);
        a.account_id = Some("012345678901".into());
        let e = entry(3, &a, true, AlertFormat::Native)?;
        assert_eq!(e.id(), "a3");
        assert_eq!(e.message_group_id(), Some("port_scan"));
        assert_eq!(e.message_deduplication_id(), Some("x"));
        let attrs = e.message_attributes().ok_or("no attributes")?;
        assert_eq!(
            attrs.get("severity").and_then(|v| v.string_value()),
            Some("high")
        );
        assert_eq!(
            attrs.get("account_id").and_then(|v| v.string_value()),
            Some("012345678901")
        );
        let e = entry(
            0,
            &alert("port_scan", Severity::High),
            false,
            AlertFormat::Ocsf,
        )?;
        let body: serde_json::Value =
            serde_json::from_str(e.message()).map_err(|e| e.to_string())?;
        assert_eq!(
            body["class_uid"], 2004,
            "the ocsf format reaches the message body"
        );
        assert!(e.message_group_id().is_none());
        assert!(
            e.message_attributes()
                .is_some_and(|m| !m.contains_key("account_id"))
        );
        Ok(())
    }
}
