//! The Lambda shape of the responder: an SQS event (`{"Records":[{"messageId","body",…}]}`, as
//! an SQS event source mapping delivers it) in, a partial batch response
//! (`{"batchItemFailures":[{"itemIdentifier": messageId}]}`) out, so that only the records that
//! failed are retried (`ReportBatchItemFailures`). Bodies that are not alerts, and alerts the
//! filter does not select, count as handled, as in the queue loop.

use serde_json::{Value, json};
use tracing::warn;

use crate::Responder;
use crate::message::parse_body;

/// Handle every record of `event`; the response names the records to retry.
pub async fn handle_sqs_event(r: &Responder, event: &Value) -> Value {
    let mut failures = Vec::new();
    let records = event
        .get("Records")
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    for rec in records {
        let id = rec.get("messageId").and_then(Value::as_str).unwrap_or("");
        let body = rec.get("body").and_then(Value::as_str).unwrap_or("");
        match parse_body(body) {
            Err(why) => warn!(message = id, reason = %why, "not an alert, dropped"),
            Ok(alert) => {
                if let Err(e) = r.handle(&alert).await {
                    warn!(message = id, alert = %alert.id, error = %e, "isolation failed; reported for a retry");
                    failures.push(json!({ "itemIdentifier": id }));
                }
            }
        }
    }
    json!({ "batchItemFailures": failures })
}
