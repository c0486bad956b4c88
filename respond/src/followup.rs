//! Follow-up alerts: every isolation step (taken, or in dry run, planned) becomes an alert of
//! detector `isolation_action` in the same JSON contract as flowtrail's alerts, naming the
//! source alert. They are appended to a JSONL file (fsynced) first, then published to SNS with
//! the `severity`, `detector` and `account_id` message attributes subscriptions filter on.
//!
//! Ids are stable (source alert, action, target), so a consumer can drop repeats.

use std::io::Write;
use std::path::PathBuf;

use aws_sdk_sns::types::MessageAttributeValue;
use serde_json::{Value, json};

use flowtrail_core::alert::{alert_id, alert_time};
use flowtrail_core::{Alert, Entity, EntityKind, Severity};

use crate::RespondError;
use crate::config::FOLLOWUP_DETECTOR;

/// What one follow-up says.
#[derive(Debug, Clone)]
pub struct Action<'a> {
    /// The source alert.
    pub source: &'a Alert,
    /// The instance acted on.
    pub instance: &'a str,
    /// Action name (`tag`, `detach_from_asg`, `quarantine`, `snapshot`, `skipped`, …).
    pub action: &'a str,
    /// What the action touched.
    pub target: &'a str,
    /// Planned only (dry run).
    pub dry_run: bool,
    /// Details (the step, the API's answer).
    pub details: Value,
    /// When (ms).
    pub at_ms: i64,
}

/// The follow-up alert for `a`: `medium` for a change made, `info` for a dry run or a skip.
pub fn followup(a: &Action<'_>) -> Alert {
    let key = format!(
        "{FOLLOWUP_DETECTOR}|{}|{}|{}",
        a.source.id, a.action, a.target
    );
    let changed = !a.dry_run && a.action != "skipped";
    let verb = if a.dry_run { "would" } else { "did" };
    Alert {
        why: String::new(),
        next_steps: Vec::new(),
        asset: None,
        id: alert_id(FOLLOWUP_DETECTOR, &key, 0),
        detector: FOLLOWUP_DETECTOR.into(),
        severity: if changed {
            Severity::Medium
        } else {
            Severity::Info
        },
        title: format!(
            "Isolation of {} {verb} {} {} (alert {} {})",
            a.instance, a.action, a.target, a.source.detector, a.source.id
        ),
        account_id: a.source.account_id.clone(),
        region: a.source.region.clone(),
        entity: Entity {
            kind: EntityKind::Instance,
            id: a.instance.to_string(),
        },
        first_seen: alert_time(a.at_ms),
        last_seen: alert_time(a.at_ms),
        count: 1,
        dedupe_key: key,
        // The response belongs to the source alert's activity.
        attack: a.source.attack.clone(),
        evidence: json!({
            "source_alert_id": a.source.id,
            "source_detector": a.source.detector,
            "source_severity": a.source.severity,
            "action": a.action,
            "target": a.target,
            "dry_run": a.dry_run,
            "details": a.details,
        }),
    }
}

/// Where follow-ups go.
#[derive(Debug, Clone)]
pub struct FollowUps {
    sns: Option<(aws_sdk_sns::Client, String)>,
    jsonl: Option<PathBuf>,
}

fn attr(v: &str) -> Option<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .ok()
}

impl FollowUps {
    /// Sinks: an SNS topic and/or a JSONL file.
    pub fn new(sns: Option<(aws_sdk_sns::Client, String)>, jsonl: Option<PathBuf>) -> Self {
        Self { sns, jsonl }
    }

    /// Write `alerts` to the file, then publish them.
    pub async fn send(&self, alerts: &[Alert]) -> Result<(), RespondError> {
        if alerts.is_empty() {
            return Ok(());
        }
        if let Some(p) = &self.jsonl {
            let io = |source| RespondError::Io {
                path: p.clone(),
                source,
            };
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .map_err(io)?;
            let mut buf = Vec::new();
            for a in alerts {
                serde_json::to_writer(&mut buf, a).map_err(|e| io(std::io::Error::other(e)))?;
                buf.push(b'\n');
            }
            f.write_all(&buf).map_err(io)?;
            f.sync_data().map_err(io)?;
        }
        if let Some((client, topic)) = &self.sns {
            for a in alerts {
                let body = serde_json::to_string(a).map_err(|e| RespondError::Aws {
                    op: "Publish",
                    target: topic.clone(),
                    retryable: false,
                    reason: e.to_string(),
                })?;
                let mut req = client
                    .publish()
                    .topic_arn(topic)
                    .message(body)
                    .subject("flowtrail isolation_action");
                for (k, v) in [
                    ("severity", Some(a.severity.as_str())),
                    ("detector", Some(a.detector.as_str())),
                    ("account_id", a.account_id.as_deref()),
                ] {
                    if let Some(v) = v.and_then(attr) {
                        req = req.message_attributes(k, v);
                    }
                }
                req.send()
                    .await
                    .map_err(|e| RespondError::aws("Publish", topic.as_str(), e))?;
            }
        }
        Ok(())
    }
}
