//! The SNS sink: [`SnsSink::send`] writes alerts to the outbox (fsynced), then publishes what
//! waits there, unless SNS failed within the cooldown ([`RetryPolicy::cooldown`]): then it only
//! queues, and the sink's retry thread publishes once the cooldown has passed. An SNS outage
//! costs the caller one bounded flush (max attempts × call timeout) per cooldown, never more.
//!
//! Publishing stays on the caller's thread while SNS answers, on purpose: a crash then never
//! falls between SNS acknowledging an alert and the outbox logging it as sent while the
//! caller goes on to save its state, so a restart that judges the same data again sends no
//! alert twice (`tests/it/serve_crash.rs` kills the service at every step and checks it).
//! Publishing every alert on its own thread was measured to break that: the kill at the state
//! save found the thread between the acknowledgement and the log.

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
    /// Dropped to stop the retry thread.
    stop: Option<SyncSender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl SnsSink {
    /// A sink publishing with `client` on the runtime of `handle`, queuing in `outbox`; starts
    /// its retry thread.
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
        let (stop, rx) = sync_channel(1);
        let p = publisher.clone();
        let tick = policy.cooldown.max(Duration::from_secs(1));
        let thread = std::thread::Builder::new()
            .name("sns-retry".into())
            .spawn(move || retry_loop(&p, &rx, tick))
            .map_err(|e| tracing::warn!(error = %e, "no sns retry thread; queued alerts are published at the next send or flush"))
            .ok();
        Self {
            outbox,
            publisher,
            counters,
            stop: thread.is_some().then_some(stop),
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

/// The retry thread: every `tick`, when the last flush failed and its cooldown has passed,
/// flush again. Ends when the sink is dropped.
fn retry_loop(p: &SnsPublisher, stop: &Receiver<()>, tick: Duration) {
    loop {
        match stop.recv_timeout(tick) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let Ok(mut g) = p.0.lock() else { return };
        if g.failed_at.is_none() || g.cooling_down() {
            continue;
        }
        log(g.flush(), &g.outbox);
    }
}

fn log(r: Result<FlushReport, AlertsError>, outbox: &Outbox) {
    match r {
        Ok(r) => {
            if let Some(e) = &r.error {
                tracing::warn!(pending = r.pending, outbox = %outbox.dir().display(), error = %e, "sns unavailable; alerts kept in the outbox");
            }
        }
        Err(e) => tracing::warn!(error = %e, "sns publisher could not read the outbox"),
    }
}

impl Drop for SnsSink {
    fn drop(&mut self) {
        self.stop = None; // disconnects: the thread ends after any flush in progress
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
        let mut p = self
            .publisher
            .0
            .lock()
            .map_err(|e| AlertsError::Poisoned(e.to_string()))?;
        if !p.cooling_down() {
            log(p.flush(), &self.outbox); // failures keep the alerts queued; the thread retries
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
    fn a_silent_sns_costs_one_bounded_flush_per_cooldown_and_keeps_every_alert() {
        // The kernel accepts connections to a listening socket; nobody ever answers.
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let port = listener.local_addr().map(|a| a.port()).unwrap_or_default();
        let rt = tokio::runtime::Runtime::new().unwrap_or_else(|e| panic!("{e}"));
        let policy = RetryPolicy {
            max_attempts: 2,
            base_backoff: Duration::from_millis(10),
            max_backoff: Duration::from_millis(10),
            cooldown: Duration::from_secs(2),
            call_timeout: Duration::from_secs(1),
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
        let first = alert("port_scan", Severity::High);
        assert!(sink.send(&[first]).is_ok(), "an outage is not an error");
        assert_eq!(
            sink.stats().failed_flushes,
            1,
            "the first send tried and gave up"
        );
        assert_eq!(sink.outbox().len().ok(), Some(1), "the alert stays queued");
        // Within the cooldown a send only queues: the flush it skips would take 2 s.
        let mut second = alert("new_peer", Severity::Medium);
        second.id = "y".into();
        let started = Instant::now();
        assert!(sink.send(&[second]).is_ok());
        let took = started.elapsed();
        assert!(
            took < Duration::from_secs(1),
            "send waited {took:?} in the cooldown"
        );
        assert_eq!(sink.outbox().len().ok(), Some(2));
        assert_eq!(sink.stats().queued, 2);
        // After the cooldown the retry thread tries again, without any send.
        let deadline = Instant::now() + Duration::from_secs(30);
        while sink.stats().failed_flushes < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(
            sink.stats().failed_flushes,
            2,
            "the retry thread flushed again"
        );
        assert_eq!(sink.stats().published, 0);
        assert_eq!(sink.outbox().len().ok(), Some(2), "nothing is lost");
        drop(sink);
        drop(listener);
    }
}
