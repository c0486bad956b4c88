//! Listing a replay's sources (local folders, S3 prefixes) into the objects to read, with a
//! warning for a source that holds none.

use std::path::{Path, PathBuf};

use anyhow::Context;

use flowtrail_ingest::replay::ReplayOptions;
use flowtrail_ingest::source::s3::S3Url;
use flowtrail_ingest::source::{DateRange, SourceObject, local};

/// What the listings of all sources found.
#[derive(Default)]
pub(super) struct Found {
    pub objects: Vec<SourceObject>,
    pub ignored: u64,
    pub out_of_range: u64,
    pub unreadable: u64,
    pub loops: u64,
    pub s3_keys: u64,
    pub s3_requests: u64,
}

/// List every source (local folders, S3 prefixes); warn about a source with no log object.
pub(super) fn list_sources(
    sources: &[PathBuf],
    s3_urls: &[Option<S3Url>],
    aws: Option<&crate::aws::Aws>,
    range: &DateRange,
    opts: &mut ReplayOptions,
) -> anyhow::Result<Found> {
    let mut found = Found::default();
    for (src, url) in sources.iter().zip(s3_urls) {
        if let (Some(url), Some(aws)) = (url, aws) {
            let fetcher = opts.s3.get_or_insert_with(|| aws.s3_fetcher()).clone();
            let l = aws.list_s3(&fetcher, url, range)?;
            found.s3_keys += l.keys_listed;
            found.s3_requests += l.list_requests;
            if l.objects.is_empty() {
                warn_no_objects(src, l.keys_listed, l.ignored, l.out_of_range, "");
            }
            found.ignored += l.ignored;
            found.out_of_range += l.out_of_range;
            found.objects.extend(l.objects);
            continue;
        }
        let l = local::list(src, range).context("listing a source folder")?;
        if l.objects.is_empty() {
            let mut skipped = String::new();
            if l.unreadable > 0 {
                skipped += &format!(", {} unreadable", l.unreadable);
            }
            if l.loops > 0 {
                skipped += &format!(", {} symlink loops or repeated links", l.loops);
            }
            warn_no_objects(src, l.files_found(), l.ignored, l.out_of_range, &skipped);
        }
        found.ignored += l.ignored;
        found.out_of_range += l.out_of_range;
        found.unreadable += l.unreadable;
        found.loops += l.loops;
        found.objects.extend(l.objects);
    }
    Ok(found)
}

/// A source that yields nothing to read is most often a wrong path or layout: say so.
fn warn_no_objects(src: &Path, found: u64, ignored: u64, out_of_range: u64, skipped: &str) {
    tracing::warn!(
        "no flow-log or CloudTrail objects to read in {}: {found} files found, {ignored} not in the AWS log layout (.../AWSLogs/<account>/vpcflowlogs|CloudTrail/<region>/YYYY/MM/DD/...), {out_of_range} outside --from/--to{skipped}",
        src.display()
    );
}
