//! When to try again: which SNS failures are worth retrying (throttling, 5xx, timeouts,
//! connection failures: the AWS edge's one classification, [`flowtrail_aws::classify`], shared
//! with the S3 reads), and the bounded, jittered backoff between attempts.

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use aws_sdk_sns::config::http::HttpResponse;
use aws_sdk_sns::error::{ProvideErrorMetadata, SdkError};

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

/// Whether a failed call may succeed if repeated.
pub(crate) fn is_retryable<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> bool {
    flowtrail_aws::classify(e).is_retryable()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_bounded_and_jittered() {
        let p = RetryPolicy::default();
        for attempt in 1..40 {
            assert!(p.backoff(attempt) <= p.max_backoff);
        }
        assert!(p.backoff(1) <= p.base_backoff);
    }
}
