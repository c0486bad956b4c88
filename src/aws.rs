//! The AWS side of a run: one tokio runtime for the SDK clients (the pipeline itself is
//! synchronous and calls them through its handle), the shared SDK configuration with the
//! endpoint override, S3 source listing and the SNS alert sink.

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context;

use flowtrail_alerts::outbox::Outbox;
use flowtrail_alerts::sink::sns::{FlushReport, RetryPolicy, Router, SnsSink, sns_client};
use flowtrail_ingest::source::DateRange;
use flowtrail_ingest::source::s3::{Listing, S3Fetcher, S3Url};

/// The runtime and configuration the AWS clients of one command share.
pub struct Aws {
    runtime: tokio::runtime::Runtime,
    conf: aws_config::SdkConfig,
}

impl std::fmt::Debug for Aws {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Aws")
            .field("endpoint_url", &self.conf.endpoint_url())
            .finish()
    }
}

impl Aws {
    /// Start the runtime and load the configuration (`--endpoint-url` wins over
    /// `AWS_ENDPOINT_URL`).
    pub fn new(endpoint_url: Option<&str>) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("flowtrail-aws")
            .enable_all()
            .build()
            .context("starting the AWS runtime")?;
        let conf = runtime.block_on(flowtrail_ingest::aws::sdk_config(endpoint_url));
        Ok(Self { runtime, conf })
    }

    /// A fetcher for S3 sources.
    pub fn s3_fetcher(&self) -> S3Fetcher {
        S3Fetcher::new(
            flowtrail_ingest::aws::s3_client(&self.conf),
            self.runtime.handle().clone(),
        )
    }

    /// List an `s3://` source.
    pub fn list_s3(
        &self,
        fetcher: &S3Fetcher,
        url: &S3Url,
        range: &DateRange,
    ) -> anyhow::Result<Listing> {
        fetcher
            .list(url, range)
            .with_context(|| format!("listing {url}"))
    }

    /// The SNS sink over the outbox at `outbox`, shared so the caller can flush it at the end.
    pub fn sns_sink(&self, outbox: &Path, router: Router) -> anyhow::Result<Arc<Mutex<SnsSink>>> {
        let outbox = Outbox::open(outbox)
            .with_context(|| format!("opening the alert outbox {}", outbox.display()))?;
        let policy = RetryPolicy::default();
        let client = sns_client(&self.conf, &policy);
        Ok(Arc::new(Mutex::new(SnsSink::new(
            client,
            self.runtime.handle().clone(),
            outbox,
            router,
            policy,
        ))))
    }
}

/// Flush the sink's outbox and say what happened (a warning when alerts stay queued).
pub fn flush_sns(sink: &Arc<Mutex<SnsSink>>, when: &str) -> anyhow::Result<FlushReport> {
    let mut s = sink.lock().map_err(|e| anyhow::anyhow!("sns sink: {e}"))?;
    let r = s.flush().context("flushing the alert outbox")?;
    if let Some(e) = &r.error {
        tracing::warn!(pending = r.pending, outbox = %s.outbox().dir().display(), error = %e, "sns unavailable {when}; alerts kept in the outbox");
    }
    if r.unrouted > 0 {
        tracing::warn!(
            unrouted = r.unrouted,
            "alerts in the outbox match no sns route and no default topic"
        );
    }
    Ok(r)
}
