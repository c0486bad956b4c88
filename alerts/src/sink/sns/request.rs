//! One `PublishBatch` request: each alert as an entry (body in the sink's format, attributes
//! `severity`, `detector`, `account_id`; group and deduplication ids on FIFO topics) and what
//! SNS answered, entry by entry.

use aws_sdk_sns::Client;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::{MessageAttributeValue, PublishBatchRequestEntry};

use flowtrail_core::Alert;

use super::retry::is_retryable;
use crate::outbox::Pending;
use crate::sink::AlertFormat;

/// What one call came to.
pub(crate) enum Attempt {
    /// Entries (indexes into the batch) SNS accepted, and those to retry.
    Done {
        ok: Vec<usize>,
        retry: Vec<usize>,
        permanent: Vec<(usize, String)>,
    },
    /// The call failed as a whole.
    Failed { retryable: bool, reason: String },
}

fn attr(v: &str) -> Option<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(v)
        .build()
        .ok()
}

pub(crate) fn entry(
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

/// One `PublishBatch` call for the entries `todo` (indexes into `chunk`) of one topic.
pub(crate) async fn publish(
    client: &Client,
    format: AlertFormat,
    topic: &str,
    chunk: &[Pending],
    todo: &[usize],
    fifo: bool,
) -> Attempt {
    let mut req = client.publish_batch().topic_arn(topic);
    let mut permanent = Vec::new();
    let mut sent = Vec::new();
    for &i in todo {
        match entry(i, &chunk[i].alert, fifo, format) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::sns::testutil::alert;
    use flowtrail_core::Severity;

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
