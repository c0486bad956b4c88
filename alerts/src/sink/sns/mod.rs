//! Alerts to Amazon SNS through the durable [`Outbox`](crate::outbox::Outbox).
//!
//! `SnsSink::send` writes the alerts to the outbox (fsynced) and returns: that is the
//! [`AlertSink`](crate::sink::AlertSink) contract (durable when it returns Ok; delivery may
//! lag). It then publishes what waits in the outbox, unless SNS failed within the cooldown;
//! the sink's retry thread publishes after it. An SNS outage delays alerts and never loses
//! them, and costs a sender one bounded flush per cooldown.
//!
//! Publishing: alerts are routed to a topic ([`Router`]: the first matching route, else the
//! default topic), grouped by topic and sent with `PublishBatch`, at most 10 per call. The
//! message body is the alert JSON in the sink's format (native unless set with
//! [`SnsSink::set_format`]; the outbox keeps the native form either way); the message attributes
//! `severity`, `detector` and `account_id` (type `String`) let subscriptions filter. On FIFO
//! topics (`.fifo`) `MessageGroupId` is the detector and `MessageDeduplicationId` the alert id.
//! Throttling, 5xx, timeouts and connection failures are retried with exponential backoff and
//! full jitter, a bounded number of times ([`RetryPolicy`]); the SDK's own retries are off so
//! this is the one retry loop. A file leaves the outbox only when SNS listed its entry as
//! successful.
//!
//! One concern per file: [`config`] (routes), [`client`], [`request`] (one `PublishBatch`),
//! [`retry`] (what to retry, backoff), [`publisher`] (flushing the outbox), [`sink`] (the
//! sink and its retry thread). The sink owns a tokio runtime handle; it must not be called
//! from inside that runtime.

pub mod client;
pub mod config;
pub mod publisher;
pub mod request;
pub mod retry;
pub mod sink;
#[cfg(test)]
pub(crate) mod testutil;

pub use client::sns_client;
pub use config::{Route, Router};
pub use publisher::{FlushReport, SnsPublisher, SnsStats};
pub use retry::RetryPolicy;
pub use sink::SnsSink;

/// Most entries SNS takes in one `PublishBatch`.
pub const MAX_BATCH: usize = 10;
