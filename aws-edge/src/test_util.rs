//! Failed SDK calls built by hand, for the unit tests of the crates that classify them.
//!
//! Behind the `test-util` feature: a crate enables it in its `[dev-dependencies]` only, so no
//! production build carries it.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::{CreateUnhandledError, SdkError};
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::error::ErrorMetadata;

/// The error an operation returns when AWS answers `status` with error `code`, for any
/// operation's error type (`GetObjectError`, `ReceiveMessageError`, ...).
///
/// # Panics
/// When `status` is not an HTTP status (a test's own mistake).
pub fn service_error<E: CreateUnhandledError>(
    status: u16,
    code: &str,
) -> SdkError<E, HttpResponse> {
    let status = StatusCode::try_from(status).unwrap_or_else(|e| panic!("status {status}: {e}"));
    let meta = ErrorMetadata::builder().code(code).message("m").build();
    let source = format!("{code} (HTTP {status})").into();
    SdkError::service_error(
        E::create_unhandled_error(source, Some(meta)),
        HttpResponse::new(status, SdkBody::empty()),
    )
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::error::metadata::ProvideErrorMetadata;

    use super::*;
    use crate::{Failure, classify};

    /// An operation error of the shape the SDK generates: its metadata is what the builder gave.
    #[derive(Debug)]
    struct OpError(ErrorMetadata);

    impl CreateUnhandledError for OpError {
        fn create_unhandled_error(
            _source: Box<dyn std::error::Error + Send + Sync + 'static>,
            meta: Option<ErrorMetadata>,
        ) -> Self {
            OpError(meta.unwrap_or_default())
        }
    }

    impl ProvideErrorMetadata for OpError {
        fn meta(&self) -> &ErrorMetadata {
            &self.0
        }
    }

    #[test]
    fn the_built_error_carries_status_and_code() {
        let e = service_error::<OpError>(503, "SlowDown");
        assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(503));
        assert_eq!(
            e.as_service_error().and_then(|s| s.code()),
            Some("SlowDown")
        );
        assert_eq!(classify(&e), Failure::Transient);
        let denied = service_error::<OpError>(403, "AccessDenied");
        assert_eq!(classify(&denied), Failure::Permanent);
    }
}
