//! The SQS queue of S3 notifications: receive (long poll), extend the visibility of messages
//! being worked on, delete them once their objects are durable. A blocking API over a runtime
//! handle, like [`super::s3::S3Fetcher`], for the synchronous pipeline.
//!
//! The acknowledgement contract is in `design.md` beside this file: a message is deleted only
//! after everything its objects produced is durable; until then its visibility is extended, and
//! if the process dies it comes back and the lake's ledger makes it a no-op.

use std::time::Duration;

use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    ChangeMessageVisibilityBatchRequestEntry, DeleteMessageBatchRequestEntry,
    MessageSystemAttributeName,
};
use tokio::runtime::Handle;

use crate::IngestError;

/// A received message.
#[derive(Debug, Clone)]
pub struct Message {
    /// Message id.
    pub id: String,
    /// Receipt handle (for delete and visibility changes).
    pub receipt: String,
    /// Body.
    pub body: String,
    /// When SQS received it (ms since the epoch), for lag.
    pub sent_ms: Option<i64>,
    /// How many times it has been received (1 the first time).
    pub receive_count: u32,
}

/// One queue.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
    handle: Handle,
    url: String,
}

impl SqsQueue {
    /// The queue at `url`, called through `client` on `handle`'s runtime.
    pub fn new(client: Client, handle: Handle, url: impl Into<String>) -> Self {
        Self {
            client,
            handle,
            url: url.into(),
        }
    }

    /// The queue URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Receive up to `max` (1..=10) messages, waiting up to `wait` for the first (long poll),
    /// hidden from other consumers for `visibility`.
    pub fn receive(
        &self,
        max: i32,
        wait: Duration,
        visibility: Duration,
    ) -> Result<Vec<Message>, IngestError> {
        self.handle.block_on(async {
            let resp = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(max.clamp(1, 10))
                .wait_time_seconds(wait.as_secs().min(20) as i32)
                .visibility_timeout(visibility.as_secs().clamp(1, 43_200) as i32)
                .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
                .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
                .send()
                .await
                .map_err(|e| IngestError::aws("ReceiveMessage", &self.url, &e))?;
            Ok(resp
                .messages()
                .iter()
                .filter_map(|m| {
                    let attr = |n: MessageSystemAttributeName| {
                        m.attributes().and_then(|a| a.get(&n)).cloned()
                    };
                    Some(Message {
                        id: m.message_id()?.to_string(),
                        receipt: m.receipt_handle()?.to_string(),
                        body: m.body().unwrap_or_default().to_string(),
                        sent_ms: attr(MessageSystemAttributeName::SentTimestamp)
                            .and_then(|v| v.parse().ok()),
                        receive_count: attr(MessageSystemAttributeName::ApproximateReceiveCount)
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(1),
                    })
                })
                .collect())
        })
    }

    /// Delete messages (acknowledge), ten per request. Returns how many SQS failed to delete
    /// (they come back after their visibility timeout and are no-ops then).
    pub fn delete(&self, receipts: &[String]) -> Result<usize, IngestError> {
        let mut failed = 0;
        for chunk in receipts.chunks(10) {
            let entries: Vec<DeleteMessageBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    DeleteMessageBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r)
                        .build()
                        .ok()
                })
                .collect();
            let resp = self.handle.block_on(async {
                self.client
                    .delete_message_batch()
                    .queue_url(&self.url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| IngestError::aws("DeleteMessageBatch", &self.url, &e))
            })?;
            failed += resp.failed().len();
        }
        Ok(failed)
    }

    /// Keep messages hidden for another `visibility` (while their objects are processed).
    pub fn extend(&self, receipts: &[String], visibility: Duration) -> Result<(), IngestError> {
        for chunk in receipts.chunks(10) {
            let entries: Vec<ChangeMessageVisibilityBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .filter_map(|(i, r)| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(i.to_string())
                        .receipt_handle(r)
                        .visibility_timeout(visibility.as_secs().clamp(1, 43_200) as i32)
                        .build()
                        .ok()
                })
                .collect();
            self.handle.block_on(async {
                self.client
                    .change_message_visibility_batch()
                    .queue_url(&self.url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| IngestError::aws("ChangeMessageVisibilityBatch", &self.url, &e))
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_sqs::config::http::HttpResponse;
    use aws_sdk_sqs::error::SdkError;
    use aws_sdk_sqs::operation::receive_message::ReceiveMessageError;

    use super::*;

    fn receive_failed(status: u16, code: &str) -> SdkError<ReceiveMessageError, HttpResponse> {
        flowtrail_aws::test_util::service_error(status, code)
    }

    const URL: &str = "https://sqs.eu-west-1.amazonaws.com/123456789012/flowtrail";

    #[test]
    fn sqs_errors_name_the_queue_and_carry_the_edge_verdict() {
        let throttled = IngestError::aws(
            "ReceiveMessage",
            URL,
            &receive_failed(400, "ThrottlingException"),
        );
        assert!(throttled.is_retryable(), "{throttled}");
        let msg = throttled.to_string();
        assert!(msg.starts_with(&format!("ReceiveMessage {URL}: ")), "{msg}");
        assert!(msg.contains("ThrottlingException"), "{msg}");
        // Not an input error: a failing queue stops the run as before.
        assert!(!throttled.is_input_error());

        let unavailable = IngestError::aws(
            "DeleteMessageBatch",
            URL,
            &receive_failed(503, "ServiceUnavailable"),
        );
        assert!(unavailable.is_retryable(), "{unavailable}");
        let timeout: SdkError<ReceiveMessageError, HttpResponse> = SdkError::timeout_error("slow");
        assert!(IngestError::aws("ReceiveMessage", URL, &timeout).is_retryable());

        for (status, code) in [(400, "AccessDenied"), (403, "AccessDeniedException")] {
            let denied = IngestError::aws("ReceiveMessage", URL, &receive_failed(status, code));
            assert!(!denied.is_retryable(), "{denied}");
            assert!(denied.to_string().contains(code), "{denied}");
        }
        let missing = IngestError::aws(
            "ReceiveMessage",
            URL,
            &receive_failed(400, "AWS.SimpleQueueService.NonExistentQueue"),
        );
        assert!(!missing.is_retryable(), "{missing}");
    }
}
