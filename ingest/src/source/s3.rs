//! An S3 archive bucket in the AWS delivery layout (`s3://bucket/prefix`).
//!
//! Listing reads only the date prefixes asked for: the account/service/region folders are
//! discovered with delimiter listings, then each day in range is listed whole
//! (`.../YYYY/MM/DD/`, or `year=/month=/day=/` in the Hive flow-log layout). Without a range, or
//! when the prefix does not lead to an `AWSLogs/` tree, the prefix is listed whole and keys are
//! filtered by their date. The contract (listing, fetch, errors, resume) is written up in
//! `design.md` beside this file.
//!
//! Fetching ([`S3Fetcher`]) reads a whole object into memory with `GetObject`; the replay's
//! decode workers are std threads and call it through a tokio runtime [`Handle`].

use std::collections::BTreeSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use chrono::{Datelike, NaiveDate};
use tokio::runtime::Handle;

use super::{DateRange, Location, SourceObject, normalize_key};
use crate::IngestError;
use crate::keys::{ObjectKind, parse_key};
use flowtrail_lake::SourceId;
pub use flowtrail_lake::s3url::S3Url;

/// Day listings in flight at once.
const LIST_CONCURRENCY: usize = 16;

/// Longest range of days listed day by day; a longer one walks the year/month/day folders.
const MAX_ENUMERATED_DAYS: i64 = 3_660;

/// Services whose objects carry records (digests and Insights are not listed at all).
const DATA_SERVICES: [&str; 2] = ["vpcflowlogs", "CloudTrail"];

/// What an S3 listing found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Objects to read, in delivery-time order.
    pub objects: Vec<SourceObject>,
    /// Keys that are not flow logs or CloudTrail (ignored).
    pub ignored: u64,
    /// Keys listed but outside the date range (only when a prefix had to be listed whole).
    pub out_of_range: u64,
    /// Keys returned by S3 in all.
    pub keys_listed: u64,
    /// `ListObjectsV2` requests made.
    pub list_requests: u64,
}

/// Turn an SDK error into an [`IngestError::S3`] naming the object (or prefix), retryable as
/// the AWS edge classifies it (timeouts, connection errors, throttling, 5xx), so the replay
/// leaves a transiently unreadable object for the next run.
fn sdk_error<E>(
    op: &'static str,
    bucket: &str,
    key: &str,
    e: SdkError<E, HttpResponse>,
) -> IngestError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    IngestError::S3 {
        op,
        bucket: bucket.to_string(),
        key: key.to_string(),
        retryable: flowtrail_aws::classify(&e).is_retryable(),
        reason: DisplayErrorContext(&e).to_string(),
    }
}

/// Everything below `prefix`, paginated. Counts requests and keys.
async fn list_all(
    client: &Client,
    bucket: &str,
    prefix: &str,
    counters: &Counters,
) -> Result<Vec<(String, u64, Option<String>)>, IngestError> {
    let mut out = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let page = page.map_err(|e| sdk_error("ListObjectsV2", bucket, prefix, e))?;
        for o in page.contents() {
            let Some(key) = o.key() else { continue };
            if key.ends_with('/') {
                continue; // a "folder" placeholder
            }
            counters.keys.fetch_add(1, Ordering::Relaxed);
            let size = o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0);
            let etag = o.e_tag().map(|t| t.trim_matches('"').to_string());
            out.push((key.to_string(), size, etag));
        }
    }
    Ok(out)
}

/// The immediate "sub-folders" of `prefix` (common prefixes with delimiter `/`).
async fn list_dirs(
    client: &Client,
    bucket: &str,
    prefix: &str,
    counters: &Counters,
) -> Result<Vec<String>, IngestError> {
    let mut out = Vec::new();
    let mut pages = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .delimiter("/")
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        counters.requests.fetch_add(1, Ordering::Relaxed);
        let page = page.map_err(|e| sdk_error("ListObjectsV2", bucket, prefix, e))?;
        out.extend(
            page.common_prefixes()
                .iter()
                .filter_map(|p| p.prefix())
                .map(str::to_string),
        );
    }
    Ok(out)
}

#[derive(Debug, Default)]
struct Counters {
    requests: AtomicU64,
    keys: AtomicU64,
}

/// The last path segment of a folder prefix (`a/b/c/` → `c`).
fn last_segment(dir: &str) -> &str {
    dir.trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

/// Where a prefix stands in the `AWSLogs/` tree.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Level {
    /// At `AWSLogs/` (children: accounts, `o-org` folders, `aws-account-id=`).
    AwsLogs,
    /// At an organization folder (children: accounts).
    Org,
    /// At an account (children: services).
    Account,
    /// At a service (children: regions).
    Service,
    /// At a region of the plain layout (children: `YYYY/MM/DD`).
    Region,
    /// At a region of the Hive layout (children: `year=/month=/day=`).
    HiveRegion,
    /// Somewhere else: list whole.
    Other,
}

/// The level of a folder prefix that contains `AWSLogs/`, from the segments after it.
fn level_of(prefix: &str) -> Level {
    let Some(p) = prefix
        .find("AWSLogs/")
        .filter(|&p| p == 0 || prefix.as_bytes()[p - 1] == b'/')
    else {
        return Level::Other;
    };
    let segs: Vec<&str> = prefix[p + "AWSLogs/".len()..]
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    let hive = segs
        .first()
        .is_some_and(|s| s.starts_with("aws-account-id="));
    if hive {
        return match segs.len() {
            0 => Level::AwsLogs,
            1 => Level::Account,
            2 if segs[1] == "aws-service=vpcflowlogs" => Level::Service,
            3 if segs[2].starts_with("aws-region=") => Level::HiveRegion,
            _ => Level::Other,
        };
    }
    let org = segs.first().is_some_and(|s| s.starts_with("o-"));
    let segs = if org { &segs[1..] } else { &segs[..] };
    match segs.len() {
        0 if org => Level::Org,
        0 => Level::AwsLogs,
        1 => Level::Account,
        2 if DATA_SERVICES.contains(&segs[1]) => Level::Service,
        3 if DATA_SERVICES.contains(&segs[1]) => Level::Region,
        _ => Level::Other,
    }
}

/// Day folders to list under a region folder for `range`, or `None` when the range is open or
/// too long to enumerate (walk the date folders instead).
fn days_in(range: &DateRange) -> Option<Vec<NaiveDate>> {
    let (from, to) = (range.from?, range.to?);
    let last = to + chrono::Days::new(1); // the late-delivery slack of `DateRange::may_contain`
    if (last - from).num_days() > MAX_ENUMERATED_DAYS {
        return None;
    }
    Some(from.iter_days().take_while(|d| *d <= last).collect())
}

fn day_prefix(region_dir: &str, hive: bool, d: NaiveDate) -> String {
    if hive {
        format!(
            "{region_dir}year={:04}/month={:02}/day={:02}/",
            d.year(),
            d.month(),
            d.day()
        )
    } else {
        format!(
            "{region_dir}{:04}/{:02}/{:02}/",
            d.year(),
            d.month(),
            d.day()
        )
    }
}

/// Parse a year, month or day folder name (`2026`, `year=2026`).
fn date_part(dir: &str) -> Option<u32> {
    let s = last_segment(dir);
    let s = s.split_once('=').map_or(s, |(_, v)| v);
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Walk `YYYY/` → `MM/` → `DD/` under a region folder, pruning by `range`; returns the day
/// prefixes to list.
async fn walk_days(
    client: &Client,
    bucket: &str,
    region_dir: &str,
    range: &DateRange,
    counters: &Counters,
) -> Result<Vec<String>, IngestError> {
    let year_ok = |y: i32| {
        range.from.is_none_or(|f| y >= f.year())
            && range
                .to
                .is_none_or(|t| y <= (t + chrono::Days::new(1)).year())
    };
    let month_ok = |y: i32, m: u32| {
        let first = NaiveDate::from_ymd_opt(y, m, 1);
        let next = if m == 12 {
            NaiveDate::from_ymd_opt(y + 1, 1, 1)
        } else {
            NaiveDate::from_ymd_opt(y, m + 1, 1)
        };
        match (first, next) {
            (Some(first), Some(next)) => {
                range.from.is_none_or(|f| next > f)
                    && range.to.is_none_or(|t| first <= t + chrono::Days::new(1))
            }
            _ => false,
        }
    };
    let mut out = Vec::new();
    for ydir in list_dirs(client, bucket, region_dir, counters).await? {
        let Some(y) = date_part(&ydir).and_then(|y| i32::try_from(y).ok()) else {
            continue;
        };
        if !year_ok(y) {
            continue;
        }
        for mdir in list_dirs(client, bucket, &ydir, counters).await? {
            let Some(m) = date_part(&mdir) else { continue };
            if !month_ok(y, m) {
                continue;
            }
            for ddir in list_dirs(client, bucket, &mdir, counters).await? {
                let date = date_part(&ddir).and_then(|d| NaiveDate::from_ymd_opt(y, m, d));
                if date.is_some() && range.may_contain(date) {
                    out.push(ddir);
                }
            }
        }
    }
    Ok(out)
}

/// Discover the prefixes to list whole below `prefix` for `range`.
async fn plan(
    client: &Client,
    bucket: &str,
    prefix: &str,
    range: &DateRange,
    counters: &Counters,
) -> Result<Vec<String>, IngestError> {
    let mut todo = vec![prefix.to_string()];
    let mut whole = Vec::new();
    while let Some(dir) = todo.pop() {
        match level_of(&dir) {
            Level::Other => {
                // Above `AWSLogs/`: descend into it when it is there, else list the prefix whole.
                if !dir.contains("AWSLogs/") {
                    let child = format!("{dir}AWSLogs/");
                    if list_dirs(client, bucket, &dir, counters)
                        .await?
                        .contains(&child)
                    {
                        todo.push(child);
                        continue;
                    }
                }
                whole.push(dir);
            }
            Level::AwsLogs | Level::Org | Level::Account => {
                for child in list_dirs(client, bucket, &dir, counters).await? {
                    if matches!(
                        level_of(&child),
                        Level::Org | Level::Account | Level::Service
                    ) {
                        todo.push(child);
                    } else {
                        tracing::debug!(prefix = %child, "s3 listing: folder skipped (not flow logs or CloudTrail)");
                    }
                }
            }
            Level::Service => todo.extend(list_dirs(client, bucket, &dir, counters).await?),
            lvl @ (Level::Region | Level::HiveRegion) => match days_in(range) {
                Some(days) => whole.extend(
                    days.into_iter()
                        .map(|d| day_prefix(&dir, lvl == Level::HiveRegion, d)),
                ),
                None => whole.extend(walk_days(client, bucket, &dir, range, counters).await?),
            },
        }
    }
    Ok(whole)
}

/// List the objects of `url` for `range`; runs on the current tokio runtime.
pub async fn list(client: &Client, url: &S3Url, range: &DateRange) -> Result<Listing, IngestError> {
    let counters = Arc::new(Counters::default());
    let mut prefix = url.prefix.trim_start_matches('/').to_string();
    if !prefix.is_empty() && !prefix.ends_with('/') {
        prefix.push('/');
    }
    let bounded = range.from.is_some() || range.to.is_some();
    let prefixes = if bounded {
        plan(client, &url.bucket, &prefix, range, &counters).await?
    } else {
        vec![prefix]
    };
    tracing::debug!(bucket = %url.bucket, prefixes = prefixes.len(), "s3 listing planned");

    let mut keys = BTreeSet::new();
    let mut set = tokio::task::JoinSet::new();
    let mut pending = prefixes.into_iter();
    loop {
        while set.len() < LIST_CONCURRENCY {
            let Some(p) = pending.next() else { break };
            let (client, bucket, counters) = (client.clone(), url.bucket.clone(), counters.clone());
            set.spawn(async move { list_all(&client, &bucket, &p, &counters).await });
        }
        let Some(done) = set.join_next().await else {
            break;
        };
        let found = done.map_err(|e| IngestError::Read {
            key: url.to_string(),
            source: std::io::Error::other(format!("listing task failed: {e}")),
        })??;
        keys.extend(found);
    }

    let mut out = Listing {
        keys_listed: counters.keys.load(Ordering::Relaxed),
        list_requests: counters.requests.load(Ordering::Relaxed),
        ..Default::default()
    };
    let mut objects: Vec<(i64, SourceObject)> = Vec::new();
    for (key, size, etag) in keys {
        let norm = normalize_key(&key);
        let info = parse_key(&norm);
        if info.kind == ObjectKind::Unknown {
            out.ignored += 1;
            continue;
        }
        if !range.may_contain(info.date) {
            out.out_of_range += 1;
            continue;
        }
        let t = crate::keys::delivery_time_ms(&norm)
            .or_else(|| {
                info.date
                    .and_then(|d| d.and_hms_opt(info.hour.unwrap_or(0), 0, 0))
                    .map(|t| t.and_utc().timestamp_millis())
            })
            .unwrap_or(i64::MIN);
        objects.push((
            t,
            SourceObject {
                id: SourceId {
                    key: norm,
                    size,
                    etag,
                },
                location: Location::S3 {
                    bucket: url.bucket.clone(),
                    key,
                },
                info,
            },
        ));
    }
    // Delivery-time order, then key order (as the local source): detection closes hours by a
    // watermark.
    objects.sort_by(|a, b| (a.0, &a.1.id.key).cmp(&(b.0, &b.1.id.key)));
    out.objects = objects.into_iter().map(|(_, o)| o).collect();
    Ok(out)
}

/// Reads whole S3 objects for the replay's decode workers (std threads) through a runtime
/// handle.
#[derive(Debug, Clone)]
pub struct S3Fetcher {
    client: Client,
    handle: Handle,
}

impl S3Fetcher {
    /// A fetcher using `client` on the runtime of `handle`.
    pub fn new(client: Client, handle: Handle) -> Self {
        Self { client, handle }
    }

    /// The client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The runtime handle.
    pub fn handle(&self) -> &Handle {
        &self.handle
    }

    /// `GetObject` the whole body (after the SDK's standard retries). Must not be called from
    /// inside the runtime.
    pub fn get(&self, bucket: &str, key: &str) -> Result<Vec<u8>, IngestError> {
        self.handle.block_on(async {
            let resp = self
                .client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|e| sdk_error("GetObject", bucket, key, e))?;
            // The response was cut short: the connection, not the object, is at fault.
            let body = resp.body.collect().await.map_err(|e| IngestError::S3 {
                op: "GetObject",
                bucket: bucket.to_string(),
                key: key.to_string(),
                retryable: true,
                reason: format!("reading the body: {}", DisplayErrorContext(&e)),
            })?;
            Ok(body.into_bytes().to_vec())
        })
    }

    /// List `url` for `range` (blocking on the runtime).
    pub fn list(&self, url: &S3Url, range: &DateRange) -> Result<Listing, IngestError> {
        self.handle.block_on(list(&self.client, url, range))
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
        let slow = sdk_error(
            "GetObject",
            "b",
            "AWSLogs/1.gz",
            get_object_failed(503, "SlowDown"),
        );
        assert!(slow.is_retryable() && slow.is_input_error());
        let msg = slow.to_string();
        assert!(
            msg.starts_with("reading s3://b/AWSLogs/1.gz: GetObject: "),
            "{msg}"
        );
        assert!(msg.contains("SlowDown"), "{msg}");
        // The cause is in the message and not chained again (an error report prints it once).
        assert!(std::error::Error::source(&slow).is_none());

        let denied = sdk_error(
            "GetObject",
            "b",
            "k",
            get_object_failed(403, "AccessDenied"),
        );
        assert!(!denied.is_retryable() && denied.is_input_error());

        let timeout: SdkError<GetObjectError, HttpResponse> = SdkError::timeout_error("slow");
        assert!(sdk_error("ListObjectsV2", "b", "p/", timeout).is_retryable());
    }

    #[test]
    fn levels_of_prefixes() {
        assert_eq!(level_of(""), Level::Other);
        assert_eq!(level_of("logs/"), Level::Other);
        assert_eq!(level_of("logs/AWSLogs/"), Level::AwsLogs);
        assert_eq!(level_of("AWSLogs/"), Level::AwsLogs);
        assert_eq!(level_of("AWSLogs/o-abc/"), Level::Org);
        assert_eq!(level_of("AWSLogs/o-abc/111/"), Level::Account);
        assert_eq!(level_of("AWSLogs/111/"), Level::Account);
        assert_eq!(level_of("AWSLogs/111/vpcflowlogs/"), Level::Service);
        assert_eq!(level_of("AWSLogs/111/CloudTrail-Digest/"), Level::Other);
        assert_eq!(
            level_of("AWSLogs/o-abc/111/CloudTrail/us-east-1/"),
            Level::Region
        );
        assert_eq!(
            level_of("AWSLogs/111/vpcflowlogs/us-east-1/2026/"),
            Level::Other
        );
        assert_eq!(level_of("AWSLogs/aws-account-id=111/"), Level::Account);
        assert_eq!(
            level_of("AWSLogs/aws-account-id=111/aws-service=vpcflowlogs/"),
            Level::Service
        );
        assert_eq!(
            level_of("AWSLogs/aws-account-id=111/aws-service=vpcflowlogs/aws-region=eu-west-1/"),
            Level::HiveRegion
        );
        assert_eq!(level_of("x/NotAWSLogs/"), Level::Other);
    }

    #[test]
    fn days_of_a_range_include_the_late_slack_day() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let r = DateRange {
            from: d("2026-01-30"),
            to: d("2026-02-01"),
        };
        let days = days_in(&r).unwrap_or_default();
        assert_eq!(days.len(), 4);
        assert_eq!(day_prefix("A/r/", false, days[2]), "A/r/2026/02/01/");
        assert_eq!(
            day_prefix("A/aws-region=r/", true, days[3]),
            "A/aws-region=r/year=2026/month=02/day=02/"
        );
        assert_eq!(
            days_in(&DateRange {
                from: d("2026-01-01"),
                to: None
            }),
            None
        );
        assert_eq!(date_part("a/year=2026/"), Some(2026));
        assert_eq!(date_part("a/07/"), Some(7));
        assert_eq!(date_part("a/x/"), None);
    }
}
