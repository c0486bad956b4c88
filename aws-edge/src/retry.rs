//! One retry classification for every AWS call flowtrail makes.
//!
//! A failed call is a [`Failure`]: a [`Timeout`](Failure::Timeout) (the call or the connection
//! ran out of time), [`Transient`](Failure::Transient) (the service or the network may answer
//! differently in a moment: throttling, HTTP 5xx or 429, a dropped connection, an unreadable
//! response) or [`Permanent`](Failure::Permanent) (asking again gets the same answer: access
//! denied, no such bucket, a malformed request). The first two are worth another attempt, later
//! or at once; the SDK's own retries have usually been spent by the time a caller sees either.
//!
//! The error codes are those AWS documents as throttling or server-side for the services
//! flowtrail calls (S3's `SlowDown`, SQS's and SNS's `Throttling`, CloudWatch Logs'
//! `ThrottlingException`, EC2's `RequestLimitExceeded`, KMS behind SNS and S3); a 5xx status
//! counts whatever its code, so a new server-side code is retried without being listed.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

/// Error codes that mean "too many requests; slow down and try again".
pub const THROTTLING_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "RequestThrottled",
    "TooManyRequestsException",
    "RequestLimitExceeded",
    "BandwidthLimitExceeded",
    "LimitExceededException",
    "SlowDown",
    "ProvisionedThroughputExceededException",
    "ProvisionedThroughputExceeded",
    "EC2ThrottledException",
    "PriorRequestNotComplete",
    "TransactionInProgressException",
    "KMSThrottling",
    "KMSThrottlingException",
];

/// Error codes that mean "the service failed on its side".
pub const SERVER_CODES: &[&str] = &[
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "ServiceUnavailable",
    "ServiceUnavailableException",
];

/// Error codes that mean "the request took too long" (S3 answers 400 `RequestTimeout` when an
/// upload stalls).
pub const TIMEOUT_CODES: &[&str] = &["RequestTimeout", "RequestTimeoutException"];

/// What a failed AWS call says about trying it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// The call, the connection or the request ran out of time.
    Timeout,
    /// Throttling, a server-side failure, a dropped connection or an unreadable response.
    Transient,
    /// The same request fails the same way (denied, missing, malformed).
    Permanent,
}

impl Failure {
    /// Whether repeating the call may succeed.
    pub fn is_retryable(self) -> bool {
        !matches!(self, Failure::Permanent)
    }
}

/// Classify a failed SDK call (any service: the error type only has to carry AWS's error code).
pub fn classify<E: ProvideErrorMetadata>(e: &SdkError<E, HttpResponse>) -> Failure {
    match e {
        SdkError::TimeoutError(_) => Failure::Timeout,
        SdkError::DispatchFailure(d) => {
            if d.is_timeout() {
                Failure::Timeout
            } else if d.is_user() {
                Failure::Permanent
            } else {
                Failure::Transient
            }
        }
        SdkError::ResponseError(_) => Failure::Transient,
        SdkError::ServiceError(s) => classify_service(
            s.raw().status().as_u16(),
            s.err().code().unwrap_or_default(),
        ),
        // Construction failures (the request could not be built) and future variants.
        _ => Failure::Permanent,
    }
}

/// Classify a service's answer by its HTTP status and AWS error code.
pub fn classify_service(status: u16, code: &str) -> Failure {
    if TIMEOUT_CODES.contains(&code) {
        Failure::Timeout
    } else if status >= 500
        || status == 429
        || THROTTLING_CODES.contains(&code)
        // Services coin new throttling codes (`KMSThrottlingException`, ...).
        || code.contains("Throttl")
        || SERVER_CODES.contains(&code)
    {
        Failure::Transient
    } else {
        Failure::Permanent
    }
}

#[cfg(test)]
mod tests {
    use aws_smithy_runtime_api::client::result::ConnectorError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    type Error = SdkError<ErrorMetadata, HttpResponse>;

    fn response(status: u16) -> HttpResponse {
        let status = StatusCode::try_from(status).unwrap_or_else(|e| panic!("{e}"));
        HttpResponse::new(status, SdkBody::empty())
    }

    fn service(status: u16, code: &str) -> Error {
        let meta = ErrorMetadata::builder().code(code).message("m").build();
        SdkError::service_error(meta, response(status))
    }

    fn boxed(msg: &str) -> Box<dyn std::error::Error + Send + Sync> {
        msg.into()
    }

    #[test]
    fn throttling_codes_are_transient_whatever_the_status() {
        for code in [
            "Throttling",
            "ThrottlingException",
            "TooManyRequestsException",
            "RequestLimitExceeded",
            "SlowDown",
            "ProvisionedThroughputExceededException",
            "KMSThrottling",
        ] {
            assert_eq!(classify(&service(400, code)), Failure::Transient, "{code}");
        }
        assert_eq!(classify(&service(503, "SlowDown")), Failure::Transient);
        assert_eq!(
            classify(&service(400, "SomeThrottlingNews")),
            Failure::Transient
        );
    }

    #[test]
    fn server_side_failures_are_transient() {
        for code in ["InternalError", "InternalFailure", "ServiceUnavailable"] {
            assert_eq!(classify(&service(400, code)), Failure::Transient, "{code}");
        }
        // A 5xx or 429 counts whatever its code, even one nobody listed.
        assert_eq!(classify(&service(500, "Whatever")), Failure::Transient);
        assert_eq!(classify(&service(502, "")), Failure::Transient);
        assert_eq!(classify(&service(429, "")), Failure::Transient);
    }

    #[test]
    fn client_errors_are_permanent() {
        for (status, code) in [
            (403, "AccessDenied"),
            (404, "NoSuchKey"),
            (404, "NoSuchBucket"),
            (400, "InvalidParameter"),
            (400, "AuthorizationError"),
            (400, "KMSDisabled"),
            (499, ""),
        ] {
            assert_eq!(
                classify(&service(status, code)),
                Failure::Permanent,
                "{status} {code}"
            );
        }
        // A code that merely contains a listed one is not it.
        assert_eq!(classify(&service(400, "NotSlowDown")), Failure::Permanent);
    }

    #[test]
    fn timeouts_are_timeouts() {
        let e: Error = SdkError::timeout_error(boxed("operation timed out"));
        assert_eq!(classify(&e), Failure::Timeout);
        let e: Error = SdkError::dispatch_failure(ConnectorError::timeout(boxed("connect")));
        assert_eq!(classify(&e), Failure::Timeout);
        assert_eq!(classify(&service(400, "RequestTimeout")), Failure::Timeout);
        assert!(Failure::Timeout.is_retryable());
    }

    #[test]
    fn connection_and_response_failures_are_transient_but_a_bad_request_is_not() {
        let e: Error = SdkError::dispatch_failure(ConnectorError::io(boxed("reset")));
        assert_eq!(classify(&e), Failure::Transient);
        let e: Error = SdkError::dispatch_failure(ConnectorError::other(boxed("tls"), None));
        assert_eq!(classify(&e), Failure::Transient);
        let e: Error = SdkError::response_error(boxed("truncated xml"), response(200));
        assert_eq!(classify(&e), Failure::Transient);
        let e: Error = SdkError::dispatch_failure(ConnectorError::user(boxed("bad uri")));
        assert_eq!(classify(&e), Failure::Permanent);
        let e: Error = SdkError::construction_failure(boxed("missing bucket"));
        assert_eq!(classify(&e), Failure::Permanent);
        assert!(Failure::Transient.is_retryable());
        assert!(!Failure::Permanent.is_retryable());
    }
}
