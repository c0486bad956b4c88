//! `flowtrail serve` as a child process against moto, for the service tests: start it (and wait
//! for `/healthz`), read its metrics, stop it with SIGTERM or SIGKILL; a bucket whose new objects
//! are announced on an SQS queue.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use super::awsfix::*;
use super::http::{get_with, wait_until_answering};
use flowtrail_testkit::moto::{self, Moto};

pub use super::http::free_port;

/// GET `path` on the service; (status code, body).
pub fn get(port: u16, path: &str) -> Option<(u16, String)> {
    get_with(port, path, Duration::from_secs(5))
}

/// A sample of a metric (`name{labels}` as rendered), or 0.
pub fn metric(port: u16, sample: &str) -> f64 {
    let Some((200, body)) = get(port, "/metrics") else {
        return -1.0;
    };
    body.lines()
        .find_map(|l| l.strip_prefix(sample)?.trim().parse().ok())
        .unwrap_or(0.0)
}

pub fn wait_for(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let t = Instant::now();
    while !f() {
        assert!(t.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A running `flowtrail serve`; its stderr is appended to `<dir>/serve.log`. Killed on drop
/// (and the log printed when the test is failing).
pub struct Serve {
    child: Child,
    pub port: u16,
    pub log: PathBuf,
}

impl Serve {
    pub fn start(moto: &Moto, dir: &Path, args: &[&str]) -> Serve {
        Self::start_with(moto, dir, args, &[])
    }

    pub fn start_with(moto: &Moto, dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Serve {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_flowtrail"));
        moto::set_env(&mut cmd, &moto.endpoint);
        cmd.current_dir(dir)
            .arg("serve")
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .args(args)
            .env("FLOWTRAIL_LOG", "info")
            .env_remove("FLOWTRAIL_CRASH_AT")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(dir.join("serve.log"))
                    .unwrap(),
            ));
        let child = cmd.spawn().unwrap();
        let mut s = Serve {
            child,
            port,
            log: dir.join("serve.log"),
        };
        let log = dir.join("serve.log");
        wait_until_answering(&mut s.child, port, "/healthz", || {
            std::fs::read_to_string(&log).unwrap_or_default()
        });
        s
    }

    /// Its exit status, if it has ended.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().unwrap()
    }

    pub fn sigterm(mut self) -> ExitStatus {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let t = Instant::now();
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                return st;
            }
            assert!(
                t.elapsed() < Duration::from_secs(30),
                "no exit within 30 s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn sigkill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "--- {} ---\n{}",
                self.log.display(),
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A bucket whose ObjectCreated events go to a new queue; returns the queue URL.
pub fn bucket_notifying_queue(moto: &Moto, bucket: &str) -> String {
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let s3 = s3_client(&conf);
        let sqs = aws_sdk_sqs::Client::new(&conf);
        s3.create_bucket().bucket(bucket).send().await.unwrap();
        let url = sqs
            .create_queue()
            .queue_name(format!("{bucket}-events"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes()
            .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
            .clone();
        use aws_sdk_s3::types::{Event, NotificationConfiguration, QueueConfiguration};
        s3.put_bucket_notification_configuration()
            .bucket(bucket)
            .notification_configuration(
                NotificationConfiguration::builder()
                    .queue_configurations(
                        QueueConfiguration::builder()
                            .queue_arn(arn)
                            .events(Event::S3ObjectCreated)
                            .build()
                            .unwrap(),
                    )
                    .build(),
            )
            .send()
            .await
            .unwrap();
        url
    })
}

/// Send `body` to the queue as it is (not an S3 notification).
pub fn send_raw(moto: &Moto, queue_url: &str, body: &str) {
    rt().block_on(async {
        let sqs = aws_sdk_sqs::Client::new(&moto.sdk_config().await);
        sqs.send_message()
            .queue_url(queue_url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    });
}

pub fn put_objects(moto: &Moto, bucket: &str, objs: &[(String, Vec<u8>)]) {
    rt().block_on(async {
        let conf = moto.sdk_config().await;
        let s3 = s3_client(&conf);
        for (k, b) in objs {
            s3.put_object()
                .bucket(bucket)
                .key(k)
                .body(b.clone().into())
                .send()
                .await
                .unwrap();
        }
    });
}

pub fn ids(alerts: &[serde_json::Value]) -> BTreeSet<String> {
    alerts
        .iter()
        .map(|a| a["id"].as_str().unwrap().to_string())
        .collect()
}

/// Per table, a query listing every column that identifies a row, sorted: two lakes hold the
/// same rows when these agree.
pub const ROW_QUERIES: &[(&str, &str)] = &[
    (
        "flows",
        "SELECT source_key, account_id, interface_id, srcaddr, dstaddr, srcport, dstport, action, \
         packets, bytes, start, \"end\", log_status, date, hour FROM flows \
         ORDER BY source_key, interface_id, srcaddr, srcport, dstport, start, bytes",
    ),
    (
        "cloudtrail",
        "SELECT source_key, event_id, event_name, event_time, account_id, request_id FROM cloudtrail \
         ORDER BY event_id, source_key",
    ),
    (
        "alerts",
        "SELECT id, detector, severity, entity_id, first_seen, last_seen, count, dedupe_key FROM alerts \
         ORDER BY id",
    ),
];
