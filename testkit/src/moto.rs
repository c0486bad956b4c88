//! moto server for the AWS integration tests: started as a child process on a free port,
//! killed on drop. The tests talk to it over HTTP with the real SDK clients (in the test) and
//! the real binaries (child processes given the endpoint and credentials by [`set_env`]).
//!
//! A missing `moto_server` fails the test (never skips it): install it with
//! `pip install 'moto[server]'` (`scripts/test` does). Failing loudly is the point of a test
//! helper, hence the panics.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The region of every client and child pointed at moto.
pub const REGION: &str = "us-east-1";
/// moto's test credentials (moto accepts any; these are what every test gives).
pub const ACCESS_KEY_ID: &str = "testing";
/// The secret that goes with [`ACCESS_KEY_ID`].
pub const SECRET_ACCESS_KEY: &str = "testing";

/// A running `moto_server`, stopped when dropped.
pub struct Moto {
    child: Option<Child>,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Whether `GET /moto-api/` answers with an HTTP status line.
fn answers(port: u16) -> bool {
    let Ok(mut s) =
        TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), Duration::from_millis(300))
    else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(b"GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut buf = [0u8; 12];
    matches!(s.read(&mut buf), Ok(n) if n >= 12 && buf.starts_with(b"HTTP/1."))
}

impl Moto {
    /// Start moto server and wait until it answers.
    pub fn start() -> Moto {
        let port = free_port();
        let child = match Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
        {
            Ok(c) => c,
            Err(e) => panic!(
                "cannot start moto_server ({e}): these tests need moto server; install it with \
                 `python3 -m pip install 'moto[s3,sns,sqs,logs,ec2,autoscaling]' flask flask-cors` (scripts/test does this)"
            ),
        };
        let mut m = Moto {
            child: Some(child),
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let started = Instant::now();
        while !answers(port) {
            if let Some(status) = m.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                panic!(
                    "moto_server exited ({status}) before answering; is `moto[server]` installed completely (flask, flask-cors)?"
                );
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "moto_server did not answer on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        m
    }

    /// Stop the server (an outage), keeping the port reserved in name only.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Set the credentials, region and endpoint of this server on a child command, and clear
    /// anything from the environment that would point elsewhere.
    pub fn env(&self, cmd: &mut Command) {
        set_env(cmd, &self.endpoint);
    }

    /// SDK configuration for the test's own clients, over rustls with `ring` as the product's.
    pub async fn sdk_config(&self) -> aws_config::SdkConfig {
        let creds = aws_credential_types::Credentials::new(
            ACCESS_KEY_ID,
            SECRET_ACCESS_KEY,
            None,
            None,
            "moto",
        );
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(REGION))
            .credentials_provider(creds)
            .endpoint_url(&self.endpoint)
            .http_client(http)
            .load()
            .await
    }
}

/// Point a child command at `endpoint` with moto's test credentials.
pub fn set_env(cmd: &mut Command, endpoint: &str) {
    for k in [
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_SNS",
        "AWS_ENDPOINT_URL_SQS",
        "AWS_ENDPOINT_URL_EC2",
        "AWS_ENDPOINT_URL_AUTO_SCALING",
    ] {
        cmd.env_remove(k);
    }
    cmd.env("AWS_ACCESS_KEY_ID", ACCESS_KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET_ACCESS_KEY)
        .env("AWS_REGION", REGION)
        .env("AWS_DEFAULT_REGION", REGION)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", endpoint);
}

impl Drop for Moto {
    fn drop(&mut self) {
        self.stop();
    }
}
