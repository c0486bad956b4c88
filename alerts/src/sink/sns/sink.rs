//! The SNS sink: [`SnsSink::send`] writes alerts to the outbox (fsynced) and wakes the
//! sink's publisher thread, then returns. Detection never waits on SNS: an outage, a slow
//! endpoint or a long backoff holds up only the publisher thread, which retries what waits in
//! the outbox once the cooldown after a failure has passed.

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use aws_sdk_sns::Client;
use tokio::runtime::Handle;

use flowtrail_core::Alert;

use super::publisher::{Counters, FlushReport, Publisher, SnsPublisher, SnsStats};
use super::{RetryPolicy, Router};
use crate::AlertsError;
use crate::outbox::Outbox;
use crate::sink::{AlertFormat, AlertSink};

/// Alerts to SNS via the outbox (see the module docs).
#[derive(Debug)]
pub struct SnsSink {
    outbox: Outbox,
    publisher: SnsPublisher,
    counters: Arc<Counters>,
    wake: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl SnsSink {
    /// A sink publishing with `client` on the runtime of `handle`, queuing in `outbox`; starts
    /// its publisher thread.
    pub fn new(
        client: Client,
        handle: Handle,
        outbox: Outbox,
        router: Router,
        policy: RetryPolicy,
    ) -> Self {
        let counters = Arc::new(Counters::default());
        let publisher = SnsPublisher(Arc::new(Mutex::new(Publisher {
            client,
            handle,
            outbox: outbox.clone(),
            router,
            policy,
            format: AlertFormat::Native,
            counters: counters.clone(),
            failed_at: None,
        })));
        let (wake, rx) = sync_channel(1);
        let p = publisher.clone();
        let tick = policy.cooldown.max(Duration::from_secs(1));
        let thread = std::thread::Builder::new()
            .name("sns-publisher".into())
            .spawn(move || publish_loop(&p, &rx, tick))
            .map_err(|e| tracing::warn!(error = %e, "no sns publisher thread; alerts are published at flushes"))
            .ok();
        Self {
            outbox,
            publisher,
            counters,
            wake: thread.is_some().then_some(wake),
            thread,
        }
    }

    /// Publish message bodies in `format` from now on.
    pub fn set_format(&mut self, format: AlertFormat) {
        if let Ok(mut p) = self.publisher.0.lock() {
            p.format = format;
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> SnsStats {
        self.counters.snapshot()
    }

    /// The outbox.
    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// The publisher, to flush without holding the sink (see [`SnsPublisher::flush`]).
    pub fn publisher(&self) -> SnsPublisher {
        self.publisher.clone()
    }

    /// Publish everything in the outbox now and wait for the outcome (at startup, at the end
    /// of a run, at shutdown). Failures are in the report; the alerts stay in the outbox.
    pub fn flush(&mut self) -> Result<FlushReport, AlertsError> {
        self.publisher.flush()
    }
}

/// The publisher thread: flush when woken (unless SNS failed within the cooldown), and every
/// `tick` while alerts wait after a failure. Ends when the sink is dropped.
fn publish_loop(p: &SnsPublisher, wake: &Receiver<()>, tick: Duration) {
    loop {
        let woken = match wake.recv_timeout(tick) {
            Ok(()) => true,
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => return,
        };
        let Ok(mut g) = p.0.lock() else { return };
        let due = if woken {
            !g.cooling_down()
        } else {
            g.failed_at.is_some() && !g.cooling_down()
        };
        if !due {
            continue;
        }
        match g.flush() {
            Ok(r) => {
                if let Some(e) = &r.error {
                    tracing::warn!(pending = r.pending, outbox = %g.outbox.dir().display(), error = %e, "sns unavailable; alerts kept in the outbox");
                }
            }
            Err(e) => tracing::warn!(error = %e, "sns publisher could not read the outbox"),
        }
    }
}

impl Drop for SnsSink {
    fn drop(&mut self) {
        self.wake = None; // disconnects: the thread ends after any flush in progress
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl AlertSink for SnsSink {
    fn send(&mut self, alerts: &[Alert]) -> Result<(), AlertsError> {
        if alerts.is_empty() {
            return Ok(());
        }
        self.outbox.put(alerts)?;
        self.counters
            .queued
            .fetch_add(alerts.len() as u64, Ordering::Relaxed);
        if let Some(w) = &self.wake {
            let _ = w.try_send(()); // full: a wake-up is already pending
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::time::Instant;

    use aws_config::{BehaviorVersion, Region, SdkConfig};
    use aws_sdk_sns::config::{Credentials, SharedCredentialsProvider};
    use flowtrail_core::Severity;

    use super::*;
    use crate::sink::sns::sns_client;
    use crate::sink::sns::testutil::alert;

    /// An SDK configuration whose endpoint accepts connections and never answers.
    fn hanging_endpoint(port: u16) -> SdkConfig {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
                aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
            ))
            .build_https();
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(format!("http://127.0.0.1:{port}"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "a", "b", None, None, "test",
            )))
            .http_client(http)
            .build()
    }

    #[test]
    fn send_does_not_wait_on_a_hanging_sns_and_the_alert_stays_queued() {
        // The kernel accepts connections to a listening socket; nobody ever answers.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
        let policy = RetryPolicy {
            max_attempts: 2,
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(10),
            cooldown: Duration::from_secs(60),
            call_timeout: Duration::from_secs(2),
        };
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let outbox = Outbox::open(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let mut sink = SnsSink::new(
            sns_client(&hanging_endpoint(port), &policy),
            rt.handle().clone(),
            outbox,
            Router::single("arn:aws:sns:us-east-1:000000000000:alerts"),
            policy,
        );
        let started = Instant::now();
        let sent = sink.send(&[alert("port_scan", Severity::High)]);
        let took = started.elapsed();
        assert!(sent.is_ok(), "{sent:?}");
        // Publishing inline would hold send for max_attempts x call_timeout (4 s).
        assert!(took < Duration::from_secs(1), "send waited {took:?} on SNS");
        assert_eq!(
            sink.outbox().len().ok(),
            Some(1),
            "durable before send returns"
        );
        assert_eq!(sink.stats().queued, 1);
        // An explicit flush waits for the outcome: SNS never answered, the alert stays queued.
        let r = sink.flush().unwrap_or_else(|e| panic!("{e}"));
        assert!(r.error.is_some(), "{r:?}");
        assert_eq!((r.published, r.pending), (0, 1));
        assert_eq!(sink.stats().published, 0);
        drop(listener);
    }
}
