//! AWS fixtures shared by the moto tests: a runtime for the test's own SDK calls, a small
//! archive, CloudTrail the detectors alert on, an SNS topic with a subscribed queue and a
//! queue drain.

use std::collections::BTreeMap;
use std::path::Path;

use super::*;
use flowtrail_testkit::moto::Moto;

pub const T7: i64 = 1_767_780_300; // 2026-01-07T10:05:00Z
pub const DAY: i64 = 86_400;

/// An S3 client for moto (path-style addressing).
pub fn s3_client(conf: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(conf)
            .force_path_style(true)
            .build(),
    )
}

pub fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// A small archive: flow logs on Jan 5..10, CloudTrail on Jan 7 and 8, one corrupt object on
/// Jan 7, a digest file. Returns (key, bytes) pairs.
pub fn archive() -> Vec<(String, Vec<u8>)> {
    let mut objs = Vec::new();
    for day in 5..=10u32 {
        let t = T7 + (i64::from(day) - 7) * DAY;
        objs.push((flow_key(day, 5), gz(flow_text(200, t).as_bytes())));
        objs.push((
            flow_key(day, 10),
            gz(flow_text(50 + day as usize, t + 600).as_bytes()),
        ));
    }
    for (day, t) in [(7u32, "2026-01-07T10:06:00Z"), (8, "2026-01-08T10:06:00Z")] {
        let doc = format!(
            r#"{{"Records":[{},{}]}}"#,
            ct_event(&format!("e-{day}-1"), "AuthorizeSecurityGroupIngress", t),
            ct_event(&format!("e-{day}-2"), "DescribeInstances", t)
        );
        objs.push((ct_key(day, 15), gz(doc.as_bytes())));
    }
    let mut corrupt = gz(flow_text(100, T7).as_bytes());
    corrupt.truncate(corrupt.len() / 2);
    objs.push((flow_key(7, 30), corrupt));
    objs.push((
        format!("AWSLogs/{ACCT}/CloudTrail-Digest/us-east-1/2026/01/07/{ACCT}_CloudTrail-Digest_us-east-1_t_us-east-1_20260107T1100Z.json.gz"),
        gz(b"{}"),
    ));
    objs
}

/// CloudTrail that the built-in detectors alert on.
pub fn attack() -> Vec<(String, Vec<u8>)> {
    let ev = |id: &str, name: &str, source: &str, t: &str| {
        ct_event(id, name, t).replace("ec2.amazonaws.com", source)
    };
    let doc = format!(
        r#"{{"Records":[{},{},{},{}]}}"#,
        ev(
            "a-1",
            "StopLogging",
            "cloudtrail.amazonaws.com",
            "2026-01-08T10:06:00Z"
        ),
        ev(
            "a-2",
            "DeleteFlowLogs",
            "ec2.amazonaws.com",
            "2026-01-08T10:07:00Z"
        ),
        ev(
            "a-3",
            "CreateAccessKey",
            "iam.amazonaws.com",
            "2026-01-08T10:08:00Z"
        ),
        ev(
            "a-4",
            "AuthorizeSecurityGroupIngress",
            "ec2.amazonaws.com",
            "2026-01-08T10:09:00Z"
        ),
    );
    vec![(ct_key(8, 15), gz(doc.as_bytes()))]
}

pub struct Topic {
    pub arn: String,
    pub queue_url: String,
}

pub fn topic_with_queue(moto: &Moto, name: &str) -> Topic {
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let sns = aws_sdk_sns::Client::new(&conf);
        let sqs = aws_sdk_sqs::Client::new(&conf);
        let arn = sns
            .create_topic()
            .name(name)
            .send()
            .await
            .unwrap()
            .topic_arn
            .unwrap();
        let queue_url = sqs
            .create_queue()
            .queue_name(format!("{name}-q"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap();
        let queue_arn =
            attrs.attributes().unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn].clone();
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .attributes("RawMessageDelivery", "true")
            .send()
            .await
            .unwrap();
        Topic { arn, queue_url }
    })
}

/// Everything in the queue: (body, attributes).
pub fn drain(moto: &Moto, queue_url: &str) -> Vec<(String, BTreeMap<String, String>)> {
    rt().block_on(async {
        let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
        let mut out = Vec::new();
        let mut empty = 0;
        while empty < 2 {
            let r = sqs
                .receive_message()
                .queue_url(queue_url)
                .max_number_of_messages(10)
                .message_attribute_names("All")
                .wait_time_seconds(1)
                .send()
                .await
                .unwrap();
            let msgs = r.messages();
            if msgs.is_empty() {
                empty += 1;
                continue;
            }
            for m in msgs {
                let attrs = m
                    .message_attributes()
                    .map(|a| {
                        a.iter()
                            .map(|(k, v)| {
                                (k.clone(), v.string_value().unwrap_or_default().to_string())
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                out.push((m.body().unwrap_or_default().to_string(), attrs));
                sqs.delete_message()
                    .queue_url(queue_url)
                    .receipt_handle(m.receipt_handle().unwrap())
                    .send()
                    .await
                    .unwrap();
            }
        }
        out
    })
}

/// Every object under `bucket/prefix` downloaded into `dir` (same relative paths).
pub fn download_prefix(moto: &Moto, bucket: &str, prefix: &str, dir: &Path) -> Vec<String> {
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let s3 = s3_client(&conf);
        let listed = s3
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .send()
            .await
            .unwrap();
        let mut keys = Vec::new();
        for o in listed.contents() {
            let key = o.key().unwrap();
            let rel = key.strip_prefix(prefix).unwrap();
            let body = s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .unwrap()
                .body
                .collect()
                .await
                .unwrap()
                .into_bytes();
            put(dir, rel, &body);
            keys.push(rel.to_string());
        }
        keys
    })
}

pub fn create_bucket_with(moto: &Moto, bucket: &str, prefix: &str, objs: &[(String, Vec<u8>)]) {
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let s3 = s3_client(&conf);
        s3.create_bucket().bucket(bucket).send().await.unwrap();
        for (k, bytes) in objs {
            s3.put_object()
                .bucket(bucket)
                .key(format!("{prefix}{k}"))
                .body(bytes.clone().into())
                .send()
                .await
                .unwrap();
        }
    });
}
