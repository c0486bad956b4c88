//! The service's counters and gauges, rendered in the Prometheus text format for `/metrics`,
//! and the health verdict for `/healthz`. Plain atomics: the pipeline thread writes, the HTTP
//! task reads.

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};

/// Upper bounds (seconds) of the lag histogram buckets.
const LAG_BUCKETS: [f64; 14] = [
    0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 3600.0,
];

/// Error kinds counted in `flowtrail_errors_total`.
pub const ERROR_KINDS: [&str; 5] = ["sqs", "cloudwatch", "lake", "detection", "sns"];

#[derive(Debug, Default)]
struct Histogram {
    buckets: [u64; LAG_BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Everything `/metrics` shows.
#[derive(Debug, Default)]
pub struct Metrics {
    /// S3 objects read (notified).
    pub objects: AtomicU64,
    /// Objects already in the lake when notified again (redelivery, replay overlap).
    pub objects_already_done: AtomicU64,
    /// Objects quarantined whole.
    pub objects_quarantined: AtomicU64,
    /// Objects another task had committed to the S3 lake (its claim marker says done).
    pub objects_done_elsewhere: AtomicU64,
    /// Objects another task was working on (its claim held): left for a later cycle.
    pub objects_held_elsewhere: AtomicU64,
    /// Flow records written.
    pub flow_records: AtomicU64,
    /// CloudTrail events written.
    pub cloudtrail_records: AtomicU64,
    /// Lines/events quarantined.
    pub lines_quarantined: AtomicU64,
    /// SQS messages deleted after their objects were durable.
    pub messages_done: AtomicU64,
    /// SQS messages with nothing to read (`s3:TestEvent`, other event types, other keys).
    pub messages_ignored: AtomicU64,
    /// SQS messages that were not notifications (quarantined, then deleted).
    pub messages_poison: AtomicU64,
    /// CloudWatch Logs events read.
    pub cloudwatch_events: AtomicU64,
    /// CloudWatch Logs API calls.
    pub cloudwatch_requests: AtomicU64,
    /// Alerts raised, by severity (info..critical).
    pub alerts: [AtomicU64; 5],
    /// Alerts waiting in the outbox.
    pub outbox_pending: AtomicU64,
    /// Lake commits.
    pub commits: AtomicU64,
    /// Cycles completed.
    pub cycles: AtomicU64,
    /// Errors by kind ([`ERROR_KINDS`]).
    pub errors: [AtomicU64; ERROR_KINDS.len()],
    /// Unix ms of the last completed cycle.
    pub last_cycle_ms: AtomicI64,
    /// Unix ms the service started.
    pub started_ms: AtomicI64,
    /// Detection watermark (ms), 0 before data.
    pub watermark_ms: AtomicI64,
    /// Hours open in detection.
    pub open_hours: AtomicU64,
    /// Bytes of `flows` rows detection holds in memory.
    pub held_bytes: AtomicU64,
    /// `flows` rows detection spilled to local disk.
    pub spilled_rows: AtomicU64,
    /// Lake commits judged by a follower (`[detection] source = "lake"`).
    pub commits_followed: AtomicU64,
    /// Messages a follower keeps in flight until their hours are judged.
    pub messages_in_flight: AtomicU64,
    /// Failed cycles: [may pass if retried, will fail the same way].
    cycle_failures: [AtomicU64; 2],
    lag: Mutex<Histogram>,
}

impl Metrics {
    /// Count an error of `kind`.
    pub fn error(&self, kind: &str) {
        if let Some(i) = ERROR_KINDS.iter().position(|k| *k == kind) {
            self.errors[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Count a failed cycle, by whether retrying it may succeed.
    pub fn cycle_failed(&self, retryable: bool) {
        self.cycle_failures[usize::from(!retryable)].fetch_add(1, Ordering::Relaxed);
    }

    /// Record a notification-to-lake lag.
    pub fn observe_lag(&self, seconds: f64) {
        if let Ok(mut h) = self.lag.lock() {
            for (i, b) in LAG_BUCKETS.iter().enumerate() {
                if seconds <= *b {
                    h.buckets[i] += 1;
                }
            }
            h.count += 1;
            h.sum += seconds.max(0.0);
        }
    }

    /// Healthy when a cycle completed within `max_silence_ms` (the pipeline thread is not
    /// stuck); the reason otherwise.
    pub fn health(&self, now_ms: i64, max_silence_ms: i64) -> Result<(), String> {
        let last = self.last_cycle_ms.load(Ordering::Relaxed);
        let since = if last == 0 {
            self.started_ms.load(Ordering::Relaxed)
        } else {
            last
        };
        let silent = now_ms - since;
        if silent > max_silence_ms {
            return Err(format!(
                "no cycle completed for {} s (limit {} s)",
                silent / 1000,
                max_silence_ms / 1000
            ));
        }
        Ok(())
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut o = String::new();
        self.render_ingest(&mut o);
        self.render_outcomes(&mut o);
        self.render_detection(&mut o);
        self.render_lag(&mut o);
        o
    }

    /// What was read: objects, rows, quarantine, SQS messages, CloudWatch Logs.
    fn render_ingest(&self, o: &mut String) {
        counter(
            o,
            "flowtrail_objects_total",
            "S3 objects by outcome.",
            &[
                ("{outcome=\"read\"}", load(&self.objects)),
                (
                    "{outcome=\"already_done\"}",
                    load(&self.objects_already_done),
                ),
                ("{outcome=\"quarantined\"}", load(&self.objects_quarantined)),
                (
                    "{outcome=\"done_elsewhere\"}",
                    load(&self.objects_done_elsewhere),
                ),
                (
                    "{outcome=\"held_elsewhere\"}",
                    load(&self.objects_held_elsewhere),
                ),
            ],
        );
        counter(
            o,
            "flowtrail_records_total",
            "Rows written to the lake.",
            &[
                ("{table=\"flows\"}", load(&self.flow_records)),
                ("{table=\"cloudtrail\"}", load(&self.cloudtrail_records)),
            ],
        );
        counter(
            o,
            "flowtrail_quarantined_total",
            "Lines or events quarantined.",
            &[("", load(&self.lines_quarantined))],
        );
        counter(
            o,
            "flowtrail_sqs_messages_total",
            "SQS messages by outcome.",
            &[
                ("{outcome=\"done\"}", load(&self.messages_done)),
                ("{outcome=\"ignored\"}", load(&self.messages_ignored)),
                ("{outcome=\"poison\"}", load(&self.messages_poison)),
            ],
        );
        counter(
            o,
            "flowtrail_cloudwatch_events_total",
            "CloudWatch Logs events read.",
            &[("", load(&self.cloudwatch_events))],
        );
        counter(
            o,
            "flowtrail_cloudwatch_requests_total",
            "CloudWatch Logs API calls.",
            &[("", load(&self.cloudwatch_requests))],
        );
    }

    /// What came of it: alerts by severity, errors by kind, commits, cycles.
    fn render_outcomes(&self, o: &mut String) {
        let sev = ["info", "low", "medium", "high", "critical"];
        let alerts: Vec<(String, u64)> = sev
            .iter()
            .zip(&self.alerts)
            .map(|(s, a)| (format!("{{severity=\"{s}\"}}"), load(a)))
            .collect();
        let alerts: Vec<(&str, u64)> = alerts.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        counter(o, "flowtrail_alerts_total", "Alerts raised.", &alerts);
        let errors: Vec<(String, u64)> = ERROR_KINDS
            .iter()
            .zip(&self.errors)
            .map(|(k, a)| (format!("{{kind=\"{k}\"}}"), load(a)))
            .collect();
        let errors: Vec<(&str, u64)> = errors.iter().map(|(l, v)| (l.as_str(), *v)).collect();
        counter(o, "flowtrail_errors_total", "Errors by kind.", &errors);
        counter(
            o,
            "flowtrail_commits_total",
            "Lake commits.",
            &[("", load(&self.commits))],
        );
        counter(
            o,
            "flowtrail_cycles_total",
            "Pipeline cycles completed.",
            &[("", load(&self.cycles))],
        );
        counter(
            o,
            "flowtrail_cycle_failures_total",
            "Failed cycles, by whether retrying may succeed (false: permissions, a missing queue, bucket or log group, a full disk).",
            &[
                ("{retryable=\"true\"}", load(&self.cycle_failures[0])),
                ("{retryable=\"false\"}", load(&self.cycle_failures[1])),
            ],
        );
    }

    /// Where detection stands: commits followed, messages in flight, outbox, last cycle,
    /// watermark, open hours, rows held and spilled.
    fn render_detection(&self, o: &mut String) {
        counter(
            o,
            "flowtrail_commits_followed_total",
            "Lake commits judged by a detection task following the lake.",
            &[("", load(&self.commits_followed))],
        );
        gauge(
            o,
            "flowtrail_sqs_messages_in_flight",
            "Commit notifications held until their hours are judged (following the lake).",
            load(&self.messages_in_flight) as f64,
        );
        gauge(
            o,
            "flowtrail_outbox_pending",
            "Alerts waiting in the outbox for SNS.",
            load(&self.outbox_pending) as f64,
        );
        gauge(
            o,
            "flowtrail_last_cycle_timestamp_seconds",
            "When the last cycle completed.",
            self.last_cycle_ms.load(Ordering::Relaxed) as f64 / 1000.0,
        );
        gauge(
            o,
            "flowtrail_detection_watermark_seconds",
            "Detection watermark (event time).",
            self.watermark_ms.load(Ordering::Relaxed) as f64 / 1000.0,
        );
        gauge(
            o,
            "flowtrail_detection_open_hours",
            "Hours waiting for the watermark.",
            load(&self.open_hours) as f64,
        );
        gauge(
            o,
            "flowtrail_detection_held_bytes",
            "Bytes of flows rows held in memory until their hour is judged.",
            load(&self.held_bytes) as f64,
        );
        counter(
            o,
            "flowtrail_detection_spilled_rows_total",
            "Flows rows held on local disk because memory was over [detection] hold_memory_mb.",
            &[("", load(&self.spilled_rows))],
        );
    }

    /// The notification-to-lake lag histogram (cumulative buckets).
    fn render_lag(&self, o: &mut String) {
        if let Ok(h) = self.lag.lock() {
            let name = "flowtrail_notification_lag_seconds";
            let _ = writeln!(
                o,
                "# HELP {name} From the SQS message's arrival to its objects committed in the lake.\n# TYPE {name} histogram"
            );
            for (b, n) in LAG_BUCKETS.iter().zip(h.buckets) {
                let _ = writeln!(o, "{name}_bucket{{le=\"{b}\"}} {n}");
            }
            let _ = writeln!(o, "{name}_bucket{{le=\"+Inf\"}} {}", h.count);
            let _ = writeln!(o, "{name}_sum {}", h.sum);
            let _ = writeln!(o, "{name}_count {}", h.count);
        }
    }
}

fn load(a: &AtomicU64) -> u64 {
    a.load(Ordering::Relaxed)
}

/// A counter with its help, type and one sample per label set (`""` for none).
fn counter(o: &mut String, name: &str, help: &str, samples: &[(&str, u64)]) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} counter");
    for (labels, v) in samples {
        let _ = writeln!(o, "{name}{labels} {v}");
    }
}

/// A gauge with its help, type and value.
fn gauge(o: &mut String, name: &str, help: &str, v: f64) {
    let _ = writeln!(o, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_a_cumulative_histogram() {
        let m = Metrics::default();
        m.objects.fetch_add(3, Ordering::Relaxed);
        m.alerts[3].fetch_add(2, Ordering::Relaxed);
        m.error("sns");
        m.cycle_failed(false);
        m.observe_lag(0.3);
        m.observe_lag(4.0);
        let t = m.render();
        assert!(
            t.contains("flowtrail_objects_total{outcome=\"read\"} 3"),
            "{t}"
        );
        assert!(t.contains("flowtrail_alerts_total{severity=\"high\"} 2"));
        assert!(t.contains("flowtrail_errors_total{kind=\"sns\"} 1"));
        assert!(t.contains("flowtrail_cycle_failures_total{retryable=\"false\"} 1"));
        assert!(t.contains("flowtrail_cycle_failures_total{retryable=\"true\"} 0"));
        assert!(t.contains("flowtrail_notification_lag_seconds_bucket{le=\"0.5\"} 1"));
        assert!(t.contains("flowtrail_notification_lag_seconds_bucket{le=\"5\"} 2"));
        assert!(t.contains("flowtrail_notification_lag_seconds_count 2"));
    }

    #[test]
    fn unhealthy_when_no_cycle_completes() {
        let m = Metrics::default();
        m.started_ms.store(1_000, Ordering::Relaxed);
        assert!(m.health(50_000, 60_000).is_ok());
        let e = m.health(100_000, 60_000).unwrap_err();
        assert!(e.contains("no cycle completed for 99 s"), "{e}");
        m.last_cycle_ms.store(95_000, Ordering::Relaxed);
        assert!(m.health(100_000, 60_000).is_ok());
    }
}
