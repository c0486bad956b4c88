//! How long the service waits after a failed cycle, from what the failure says about trying
//! again.
//!
//! Every AWS call's error carries the AWS edge's verdict (`flowtrail_aws::classify`, through
//! `IngestError::is_retryable` and `LakeError::is_retryable`). A transient failure (throttling,
//! a 5xx, a timeout, a dropped connection) is retried after 2 s, doubling to 32 s while it
//! lasts. A permanent one (access denied, a queue or bucket that does not exist, a full disk)
//! fails the same way until someone changes the cause: the service waits the longest at once,
//! rather than hammering the API, and says so, and `/metrics` counts the two apart
//! (`flowtrail_cycle_failures_total{retryable=...}`) so an alarm can page on the permanent
//! ones. The service keeps running either way: the queue keeps its messages, and once the
//! cause is fixed the next cycle takes them.

use std::time::Duration;

use flowtrail_ingest::IngestError;
use flowtrail_lake::LakeError;

/// The longest wait between failed cycles.
pub const MAX_WAIT: Duration = Duration::from_secs(32);

/// What a failed cycle's error says about trying again: `Some(false)` when the first
/// classified error in its chain will fail the same way, `Some(true)` when it may pass,
/// `None` when nothing in the chain is classified (treated as transient).
pub fn retryable(e: &anyhow::Error) -> Option<bool> {
    e.chain().find_map(|cause| {
        if let Some(i) = cause.downcast_ref::<IngestError>() {
            Some(i.is_retryable())
        } else {
            cause
                .downcast_ref::<LakeError>()
                .map(LakeError::is_retryable)
        }
    })
}

/// The wait before the next cycle after `failures` failed cycles in a row, the last one with
/// `retryable`'s verdict.
pub fn wait(failures: u32, retryable: Option<bool>) -> Duration {
    match retryable {
        Some(false) => MAX_WAIT,
        _ => Duration::from_secs(1u64 << failures.clamp(1, 5)),
    }
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;

    fn aws(retryable: bool) -> anyhow::Error {
        let e = IngestError::Aws {
            op: "ReceiveMessage".into(),
            target: "https://sqs.eu-west-1.amazonaws.com/1/q".into(),
            retryable,
            reason: "test".into(),
        };
        anyhow::Error::new(e).context("receiving notifications")
    }

    #[test]
    fn a_permanent_failure_waits_the_longest_at_once() {
        let denied = aws(false);
        assert_eq!(retryable(&denied), Some(false));
        assert_eq!(wait(1, retryable(&denied)), MAX_WAIT);
    }

    #[test]
    fn a_transient_or_unclassified_failure_backs_off_doubling() {
        let throttled = aws(true);
        assert_eq!(retryable(&throttled), Some(true));
        let waits: Vec<u64> = (1..=7)
            .map(|n| wait(n, retryable(&throttled)).as_secs())
            .collect();
        assert_eq!(waits, vec![2, 4, 8, 16, 32, 32, 32]);
        let other: anyhow::Result<()> = Err(std::io::Error::other("disk")).context("saving state");
        let other = other
            .err()
            .unwrap_or_else(|| anyhow::anyhow!("unreachable"));
        assert_eq!(retryable(&other), None);
        assert_eq!(wait(1, retryable(&other)).as_secs(), 2);
    }

    #[test]
    fn a_lake_error_deep_in_the_chain_is_classified() {
        let lake = LakeError::Aws {
            op: "PutObject".into(),
            target: "s3://b/lake/x".into(),
            retryable: false,
            reason: "AccessDenied".into(),
        };
        let e = anyhow::Error::new(IngestError::Lake(lake)).context("committing");
        assert_eq!(retryable(&e), Some(false));
    }
}
