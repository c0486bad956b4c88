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
use flowtrail_ingest::source::sqs::SqsQueue;
use flowtrail_lake::claims::Claims;

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
        let runtime = Self::runtime_for_clients()?;
        let conf = runtime.block_on(flowtrail_ingest::aws::sdk_config(endpoint_url));
        Ok(Self { runtime, conf })
    }

    /// Start the runtime with fixed credentials, region `us-east-1` and `endpoint_url`: for an
    /// AWS-compatible endpoint (moto server in the tests, LocalStack) when the process
    /// environment cannot carry them (several services in one process).
    pub fn with_credentials(
        endpoint_url: &str,
        access_key_id: &str,
        secret_access_key: &str,
    ) -> anyhow::Result<Self> {
        let runtime = Self::runtime_for_clients()?;
        let creds = aws_sdk_sqs::config::Credentials::new(
            access_key_id,
            secret_access_key,
            None,
            None,
            "flowtrail-static",
        );
        let conf = runtime.block_on(
            aws_config::defaults(aws_config::BehaviorVersion::latest())
                .http_client(flowtrail_ingest::aws::http_client())
                .retry_config(aws_config::retry::RetryConfig::standard())
                .credentials_provider(creds)
                .region(aws_config::Region::new(
                    flowtrail_ingest::aws::DEFAULT_REGION,
                ))
                .endpoint_url(endpoint_url)
                .load(),
        );
        Ok(Self { runtime, conf })
    }

    fn runtime_for_clients() -> anyhow::Result<tokio::runtime::Runtime> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("flowtrail-aws")
            .enable_all()
            .build()
            .context("starting the AWS runtime")
    }

    /// The runtime the clients run on.
    pub fn runtime(&self) -> &tokio::runtime::Runtime {
        &self.runtime
    }

    /// The SQS queue at `url`.
    pub fn sqs_queue(&self, url: &str) -> SqsQueue {
        SqsQueue::new(
            flowtrail_ingest::aws::sqs_client(&self.conf),
            self.runtime.handle().clone(),
            url,
        )
    }

    /// A CloudWatch Logs client.
    pub fn logs_client(&self) -> aws_sdk_cloudwatchlogs::Client {
        flowtrail_ingest::aws::logs_client(&self.conf)
    }

    /// A fetcher for S3 sources.
    pub fn s3_fetcher(&self) -> S3Fetcher {
        S3Fetcher::new(
            flowtrail_ingest::aws::s3_client(&self.conf),
            self.runtime.handle().clone(),
        )
    }

    /// The claim markers of the lake at `url` for this process, with `lease` (the SQS
    /// visibility timeout).
    pub fn claims(&self, url: &S3Url, lease: std::time::Duration) -> Claims {
        Claims::new(
            flowtrail_ingest::aws::s3_client(&self.conf),
            self.runtime.handle().clone(),
            url.clone(),
            lease,
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
        let outbox = Outbox::open(outbox).context("opening the alert outbox")?;
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
/// The sink is not held while SNS is called: detection keeps queuing alerts meanwhile.
pub fn flush_sns(sink: &Arc<Mutex<SnsSink>>, when: &str) -> anyhow::Result<FlushReport> {
    let (publisher, outbox) = {
        let s = sink.lock().map_err(|e| anyhow::anyhow!("sns sink: {e}"))?;
        (s.publisher(), s.outbox().dir().to_path_buf())
    };
    let r = publisher.flush().context("flushing the alert outbox")?;
    if let Some(e) = &r.error {
        tracing::warn!(pending = r.pending, outbox = %outbox.display(), error = %e, "sns unavailable {when}; alerts kept in the outbox");
    }
    if r.unrouted > 0 {
        tracing::warn!(
            unrouted = r.unrouted,
            "alerts in the outbox match no sns route and no default topic"
        );
    }
    Ok(r)
}

/// Copy the state directory's files to `url` (`s3://bucket/prefix`). Returns files copied.
pub fn save_snapshot(aws: &Aws, url: &str, state: &Path) -> anyhow::Result<usize> {
    let url = S3Url::parse(url).with_context(|| format!("{url:?} is not an s3:// URL"))?;
    let client = flowtrail_ingest::aws::s3_client(&aws.conf);
    let mut n = 0;
    let Ok(entries) = std::fs::read_dir(state) else {
        return Ok(0);
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') || !e.path().is_file() {
            continue;
        }
        let bytes =
            std::fs::read(e.path()).with_context(|| format!("reading {}", e.path().display()))?;
        let key = format!("{}{name}", prefix_dir(&url.prefix));
        aws.runtime
            .block_on(
                client
                    .put_object()
                    .bucket(&url.bucket)
                    .key(&key)
                    .body(bytes.into())
                    .send(),
            )
            .map_err(|e| anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))
            .with_context(|| format!("snapshot to s3://{}/{key}", url.bucket))?;
        n += 1;
    }
    Ok(n)
}

/// When the state directory has no saved state yet (a new task), fetch the snapshot at `url`.
/// Returns files restored.
pub fn restore_snapshot(aws: &Aws, url: &str, state: &Path) -> anyhow::Result<usize> {
    if state.join("engine.json").exists() {
        return Ok(0);
    }
    let url = S3Url::parse(url).with_context(|| format!("{url:?} is not an s3:// URL"))?;
    let client = flowtrail_ingest::aws::s3_client(&aws.conf);
    let prefix = prefix_dir(&url.prefix);
    let listed = aws
        .runtime
        .block_on(
            client
                .list_objects_v2()
                .bucket(&url.bucket)
                .prefix(&prefix)
                .send(),
        )
        .map_err(|e| anyhow::anyhow!("{}", aws_sdk_s3::error::DisplayErrorContext(e)))
        .with_context(|| format!("listing the snapshot s3://{}/{prefix}", url.bucket))?;
    std::fs::create_dir_all(state).with_context(|| format!("creating {}", state.display()))?;
    let mut n = 0;
    for o in listed.contents() {
        let Some(key) = o.key() else { continue };
        let name = &key[prefix.len()..];
        if name.is_empty() || name.contains('/') || name.starts_with('.') {
            continue;
        }
        let bytes = aws
            .runtime
            .block_on(async {
                let r = client
                    .get_object()
                    .bucket(&url.bucket)
                    .key(key)
                    .send()
                    .await?;
                Ok::<_, anyhow::Error>(r.body.collect().await?.into_bytes())
            })
            .with_context(|| format!("reading s3://{}/{key}", url.bucket))?;
        let path = state.join(name);
        flowtrail_core::durable::write_atomic(&path, &bytes)
            .with_context(|| format!("writing {}", path.display()))?;
        n += 1;
    }
    Ok(n)
}

fn prefix_dir(prefix: &str) -> String {
    if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/")
    }
}

/// Whether a `--lake` value names a lake on S3.
pub fn lake_on_s3(lake: &Path) -> Option<S3Url> {
    lake.to_str().and_then(S3Url::parse)
}

/// Open the lake: a local directory, or for `s3://bucket/prefix` a staging directory under
/// `state` whose commits are copied to S3 (its ledger fetched from S3 when the staging
/// directory is new). `aws` is required for an S3 lake.
pub fn open_lake(
    lake: &Path,
    state: &Path,
    aws: Option<&Aws>,
    opts: flowtrail_lake::WriterOptions,
) -> anyhow::Result<flowtrail_lake::LakeWriter> {
    use flowtrail_lake::LakeWriter;
    use flowtrail_lake::mirror::S3Mirror;
    let Some(url) = lake_on_s3(lake) else {
        return LakeWriter::open(lake, opts)
            .with_context(|| format!("opening the lake at {}", lake.display()));
    };
    let aws = aws.context("an S3 lake needs the AWS clients")?;
    let staging = state.join("lake-staging");
    let mirror = S3Mirror::new(
        flowtrail_ingest::aws::s3_client(&aws.conf),
        aws.runtime.handle().clone(),
        url.clone(),
    );
    let seeded = mirror
        .seed_ledger(&staging)
        .with_context(|| format!("reading the lake's ledger from {url}"))?;
    if seeded > 0 {
        tracing::info!(commits = seeded, lake = %url, "ledger fetched from the S3 lake");
    }
    let mut w = LakeWriter::open(&staging, opts)
        .with_context(|| format!("opening the staging lake {}", staging.display()))?;
    w.set_mirror(mirror)
        .with_context(|| format!("copying earlier commits to {url}"))?;
    Ok(w)
}
