//! An `s3://bucket/prefix` location: the address of a source archive or of a lake on S3.
//! It lives with the lake because the lake's S3 mirror and claims address their objects with
//! it; the S3 source re-exports it (`source::s3::S3Url`), so the dependency runs one way,
//! source → lake.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use tokio::runtime::Handle;

use crate::LakeError;

/// An `s3://bucket/prefix` location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    /// Bucket.
    pub bucket: String,
    /// Key prefix (may be empty).
    pub prefix: String,
}

impl S3Url {
    /// Parse `s3://bucket[/prefix]`; `None` when `s` is not an S3 URL.
    pub fn parse(s: &str) -> Option<S3Url> {
        let rest = s.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return None;
        }
        Some(S3Url {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// The key of `rel` (a path relative to this location).
    pub fn key(&self, rel: &str) -> String {
        let p = self.prefix.trim_end_matches('/');
        if p.is_empty() {
            rel.to_string()
        } else {
            format!("{p}/{rel}")
        }
    }

    /// The path of `key` in `bucket` relative to this location, when it is inside it.
    pub fn rel_of(&self, bucket: &str, key: &str) -> Option<String> {
        if bucket != self.bucket {
            return None;
        }
        let p = self.prefix.trim_end_matches('/');
        if p.is_empty() {
            return Some(key.to_string());
        }
        key.strip_prefix(p)
            .and_then(|k| k.strip_prefix('/'))
            .map(str::to_string)
    }

    /// A [`LakeError::Aws`] for the SDK call `op` on `key` of this bucket that failed with `e`,
    /// retryable as the AWS edge classifies it ([`flowtrail_aws::classify`]).
    pub fn sdk_error<E>(&self, op: &str, key: &str, e: &SdkError<E, HttpResponse>) -> LakeError
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
    {
        self.error(
            op,
            key,
            DisplayErrorContext(e),
            flowtrail_aws::classify(e).is_retryable(),
        )
    }

    /// A [`LakeError::Aws`] for `op` on `key` of this bucket that is not an SDK call's failure
    /// (a body cut short, a marker that cannot be encoded, a file the lake lacks), `retryable`
    /// as the caller knows it.
    pub fn error(
        &self,
        op: &str,
        key: &str,
        e: impl std::fmt::Display,
        retryable: bool,
    ) -> LakeError {
        LakeError::Aws {
            op: op.to_string(),
            target: format!("s3://{}/{key}", self.bucket),
            retryable,
            reason: e.to_string(),
        }
    }

    /// The object at `key` of this bucket and its ETag; `None` when S3 answers that there is
    /// none (404: S3 is strongly consistent, so a key that is not there now is gone, not late).
    pub fn get_if_exists(
        &self,
        client: &Client,
        handle: &Handle,
        key: &str,
    ) -> Result<Option<(Vec<u8>, String)>, LakeError> {
        handle.block_on(async {
            let r = match client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
            {
                Ok(r) => r,
                Err(e) if e.raw_response().map(|r| r.status().as_u16()) == Some(404) => {
                    return Ok(None);
                }
                Err(e) => return Err(self.sdk_error("GetObject", key, &e)),
            };
            let etag = r.e_tag().unwrap_or_default().to_string();
            // The response was cut short: the connection, not the object, is at fault.
            let body = r.body.collect().await.map_err(|e| {
                let reason = format!("reading the body: {}", DisplayErrorContext(&e));
                self.error("GetObject", key, reason, true)
            })?;
            Ok(Some((body.into_bytes().to_vec(), etag)))
        })
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::operation::get_object::GetObjectError;

    use super::*;

    fn get_object_failed(status: u16, code: &str) -> SdkError<GetObjectError, HttpResponse> {
        flowtrail_aws::test_util::service_error(status, code)
    }

    #[test]
    fn s3_errors_name_the_object_and_carry_the_edge_verdict() {
        let url = S3Url {
            bucket: "b".into(),
            prefix: "lake".into(),
        };
        let key = url.key("_ledger/1.json");
        let slow = url.sdk_error("GetObject", &key, &get_object_failed(503, "SlowDown"));
        assert!(slow.is_retryable(), "{slow}");
        let msg = slow.to_string();
        assert!(
            msg.starts_with("GetObject s3://b/lake/_ledger/1.json: "),
            "{msg}"
        );
        assert!(msg.contains("SlowDown"), "{msg}");
        // Throttling under a 400, a bare 5xx and a timeout are retryable as well.
        for e in [
            get_object_failed(400, "Throttling"),
            get_object_failed(500, "InternalError"),
            SdkError::timeout_error("slow"),
        ] {
            let e = url.sdk_error("GetObject", &key, &e);
            assert!(e.is_retryable(), "{e}");
        }

        let denied = url.sdk_error("PutObject", &key, &get_object_failed(403, "AccessDenied"));
        assert!(!denied.is_retryable(), "{denied}");
        assert!(denied.to_string().contains("AccessDenied"), "{denied}");
        let missing = url.sdk_error("GetObject", &key, &get_object_failed(404, "NoSuchKey"));
        assert!(!missing.is_retryable(), "{missing}");

        // Failures that are no SDK call's keep the caller's verdict.
        assert!(
            url.error("GetObject", &key, "cut short", true)
                .is_retryable()
        );
        assert!(
            !url.error("GetObject", &key, "NoSuchKey", false)
                .is_retryable()
        );
    }

    #[test]
    fn parses_s3_urls() {
        assert_eq!(
            S3Url::parse("s3://b/p/q"),
            Some(S3Url {
                bucket: "b".into(),
                prefix: "p/q".into()
            })
        );
        assert_eq!(
            S3Url::parse("s3://b"),
            Some(S3Url {
                bucket: "b".into(),
                prefix: String::new()
            })
        );
        assert_eq!(S3Url::parse("s3:///x"), None);
        assert_eq!(S3Url::parse("/tmp/x"), None);
    }
}
