//! S3 event notifications as they arrive on an SQS queue: the S3 event JSON itself, the same
//! wrapped in an SNS envelope (a topic fanning out to the queue), or an EventBridge "Object
//! Created" event. `s3:TestEvent` (sent when a notification is configured) and events other
//! than object creation are recognized and carry no objects.
//!
//! Keys in S3 notifications are URL-encoded (`+` for a space, `%XX`); they are decoded here so
//! the key matches the object's real key.

use serde::Deserialize;
use serde_json::Value;

use crate::keys::{ObjectKind, parse_key};
use crate::source::{Location, SourceObject, normalize_key};
use flowtrail_lake::SourceId;

/// An object a notification announces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotifiedObject {
    /// Bucket.
    pub bucket: String,
    /// Key, URL-decoded.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// ETag without quotes, when the notification has one.
    pub etag: Option<String>,
}

impl NotifiedObject {
    /// The pipeline's view of the object, or None when its key is not a log the pipeline reads
    /// (not under `AWSLogs/`, or a kind it does not decode).
    pub fn to_source(&self) -> Option<SourceObject> {
        let norm = normalize_key(&self.key);
        let info = parse_key(&norm);
        if info.kind == ObjectKind::Unknown {
            return None;
        }
        Some(SourceObject {
            id: SourceId {
                key: norm,
                size: self.size,
                etag: self.etag.clone(),
            },
            location: Location::S3 {
                bucket: self.bucket.clone(),
                key: self.key.clone(),
            },
            info,
        })
    }
}

/// What one queue message says.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notification {
    /// Objects created.
    pub objects: Vec<NotifiedObject>,
    /// The message was an `s3:TestEvent`.
    pub test_event: bool,
    /// Records of other kinds (deletes, restores, ...), ignored.
    pub ignored_records: usize,
}

/// Why a message body is not a notification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an S3 event notification: {0}")]
pub struct NotificationError(pub String);

#[derive(Deserialize)]
struct S3Record {
    #[serde(rename = "eventName", default)]
    event_name: String,
    s3: Option<S3Entity>,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: Named,
    object: ObjectEntity,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct ObjectEntity {
    key: String,
    #[serde(default)]
    size: u64,
    #[serde(rename = "eTag", alias = "etag", default)]
    etag: Option<String>,
}

/// Parse a message body.
pub fn parse_message(body: &str) -> Result<Notification, NotificationError> {
    let v: Value =
        serde_json::from_str(body).map_err(|e| NotificationError(format!("invalid JSON ({e})")))?;
    parse_value(&v, 0)
}

fn parse_value(v: &Value, depth: u8) -> Result<Notification, NotificationError> {
    let Some(obj) = v.as_object() else {
        return Err(NotificationError("not a JSON object".into()));
    };
    // SNS envelope: the S3 event is the string in "Message".
    if obj.get("Type").and_then(Value::as_str) == Some("Notification")
        && let Some(msg) = obj.get("Message").and_then(Value::as_str)
    {
        if depth > 1 {
            return Err(NotificationError("nested SNS envelopes".into()));
        }
        let inner: Value = serde_json::from_str(msg)
            .map_err(|e| NotificationError(format!("SNS Message is not JSON ({e})")))?;
        return parse_value(&inner, depth + 1);
    }
    if obj.get("Event").and_then(Value::as_str) == Some("s3:TestEvent") {
        return Ok(Notification {
            test_event: true,
            ..Default::default()
        });
    }
    if let Some(records) = obj.get("Records") {
        let records: Vec<S3Record> = serde_json::from_value(records.clone())
            .map_err(|e| NotificationError(format!("Records: {e}")))?;
        let mut n = Notification::default();
        for r in records {
            match r.s3 {
                Some(s3) if r.event_name.starts_with("ObjectCreated:") => {
                    n.objects.push(NotifiedObject {
                        bucket: s3.bucket.name,
                        key: url_decode(&s3.object.key),
                        size: s3.object.size,
                        etag: s3.object.etag.map(|e| e.trim_matches('"').to_string()),
                    })
                }
                _ => n.ignored_records += 1,
            }
        }
        return Ok(n);
    }
    // EventBridge: {"detail-type": "Object Created", "detail": {"bucket": .., "object": ..}}
    if let Some(detail) = obj.get("detail") {
        if obj.get("detail-type").and_then(Value::as_str) != Some("Object Created") {
            return Ok(Notification {
                ignored_records: 1,
                ..Default::default()
            });
        }
        let bucket = detail
            .pointer("/bucket/name")
            .and_then(Value::as_str)
            .ok_or_else(|| NotificationError("EventBridge event without bucket.name".into()))?;
        let o: ObjectEntity = serde_json::from_value(
            detail
                .get("object")
                .cloned()
                .ok_or_else(|| NotificationError("EventBridge event without object".into()))?,
        )
        .map_err(|e| NotificationError(format!("EventBridge object: {e}")))?;
        return Ok(Notification {
            objects: vec![NotifiedObject {
                bucket: bucket.to_string(),
                // EventBridge keys are not URL-encoded.
                key: o.key,
                size: o.size,
                etag: o.etag.map(|e| e.trim_matches('"').to_string()),
            }],
            ..Default::default()
        });
    }
    Err(NotificationError(
        "no Records, SNS Message, EventBridge detail or s3:TestEvent".into(),
    ))
}

/// Decode an S3 notification key: `+` is a space, `%XX` a byte; invalid escapes stay as they
/// are.
pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    const S3_EVENT: &str = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"logs"},"object":{"key":"AWSLogs/111122223333/vpcflowlogs/us-east-1/2026/01/08/111122223333_vpcflowlogs_us-east-1_fl-1_20260108T1005Z_ab.log.gz","size":1234,"eTag":"\"abc\""}}},{"eventName":"ObjectRemoved:Delete","s3":{"bucket":{"name":"logs"},"object":{"key":"x"}}}]}"#;

    #[test]
    fn plain_s3_event() {
        let n = parse_message(S3_EVENT).unwrap();
        assert_eq!(n.objects.len(), 1);
        assert_eq!(n.ignored_records, 1);
        let o = &n.objects[0];
        assert_eq!(o.bucket, "logs");
        assert_eq!(o.size, 1234);
        assert_eq!(o.etag.as_deref(), Some("abc"));
        let s = o.to_source().unwrap();
        assert_eq!(s.info.kind, ObjectKind::FlowLogText);
        assert_eq!(s.info.account_id.as_deref(), Some("111122223333"));
    }

    #[test]
    fn sns_wrapped_event() {
        let body =
            serde_json::json!({"Type": "Notification", "MessageId": "m", "Message": S3_EVENT})
                .to_string();
        let n = parse_message(&body).unwrap();
        assert_eq!(n.objects.len(), 1);
        assert_eq!(n.objects[0].bucket, "logs");
    }

    #[test]
    fn test_event_and_eventbridge() {
        let t = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-01-01T00:00:00Z","Bucket":"logs"}"#;
        let n = parse_message(t).unwrap();
        assert!(n.test_event);
        assert!(n.objects.is_empty());
        let eb = r#"{"detail-type":"Object Created","source":"aws.s3","detail":{"bucket":{"name":"b"},"object":{"key":"AWSLogs/1/CloudTrail/us-east-1/2026/01/08/1_CloudTrail_us-east-1_20260108T1010Z_x.json.gz","size":9,"etag":"e"}}}"#;
        let n = parse_message(eb).unwrap();
        assert!(n.objects[0].key.ends_with("_20260108T1010Z_x.json.gz"));
        assert_eq!(n.objects[0].etag.as_deref(), Some("e"));
        assert_eq!(
            n.objects[0].to_source().unwrap().info.kind,
            ObjectKind::CloudTrail
        );
    }

    #[test]
    fn junk_is_an_error_naming_why() {
        assert!(
            parse_message("not json")
                .unwrap_err()
                .0
                .contains("invalid JSON")
        );
        assert!(
            parse_message("[1]")
                .unwrap_err()
                .0
                .contains("not a JSON object")
        );
        assert!(parse_message("{}").unwrap_err().0.contains("no Records"));
        let bad_sns = r#"{"Type":"Notification","Message":"{oops"}"#;
        assert!(
            parse_message(bad_sns)
                .unwrap_err()
                .0
                .contains("SNS Message")
        );
    }

    #[test]
    fn keys_are_url_decoded() {
        assert_eq!(url_decode("a+b%2Fc%3D1"), "a b/c=1");
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("%zz"), "%zz");
        assert_eq!(url_decode("%e2%9c%93"), "✓");
    }

    #[test]
    fn keys_outside_awslogs_are_not_sources() {
        let o = NotifiedObject {
            bucket: "b".into(),
            key: "other/file.txt".into(),
            size: 1,
            etag: None,
        };
        assert!(o.to_source().is_none());
    }
}
