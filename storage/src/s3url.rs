//! An `s3://bucket/prefix` location: the address of a source archive or of a lake on S3.
//! It lives with the lake because the lake's S3 mirror and claims address their objects with
//! it; the S3 source re-exports it (`source::s3::S3Url`), so the dependency runs one way,
//! source → lake.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::DisplayErrorContext;
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

    /// An [`LakeError::Aws`] for `op` on `key` of this bucket.
    pub fn error(&self, op: &str, key: &str, e: impl std::fmt::Display) -> LakeError {
        LakeError::Aws {
            op: op.to_string(),
            target: format!("s3://{}/{key}", self.bucket),
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
                Err(e) => return Err(self.error("GetObject", key, DisplayErrorContext(e))),
            };
            let etag = r.e_tag().unwrap_or_default().to_string();
            let body = r
                .body
                .collect()
                .await
                .map_err(|e| self.error("GetObject", key, e))?;
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
    use super::*;

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
