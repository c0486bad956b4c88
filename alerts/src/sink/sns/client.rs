//! The SNS client: the SDK's own retries off (the publisher has the one retry loop) and a
//! per-call timeout, so a stalled endpoint costs a bounded time per attempt.

use std::time::Duration;

use aws_config::SdkConfig;
use aws_sdk_sns::Client;

use super::RetryPolicy;

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
