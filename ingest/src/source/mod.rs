//! Sources of input objects. A source lists [`SourceObject`]s; the replay pipeline opens and
//! decodes them: [`local`] (a folder in the AWS S3 layout) and [`s3`] (an archive bucket, listed
//! by date prefix). The listing/fetch/resume contract is in `design.md` beside this file.

pub mod cloudwatch;
pub mod local;
pub mod notification;
pub mod s3;
pub mod sqs;

use std::path::PathBuf;

use chrono::NaiveDate;

use crate::keys::KeyInfo;
use flowtrail_lake::SourceId;

/// Where an object's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A local file.
    Local(PathBuf),
    /// An S3 object (the key as stored, not normalized).
    S3 {
        /// Bucket.
        bucket: String,
        /// Key.
        key: String,
    },
}

/// One input object.
#[derive(Debug, Clone)]
pub struct SourceObject {
    /// Identity recorded in the ledger (normalized key, size, ETag).
    pub id: SourceId,
    /// Where to read it.
    pub location: Location,
    /// What its key says.
    pub info: KeyInfo,
}

/// An inclusive range of delivery dates to read (from `--from` / `--to`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DateRange {
    /// First date, inclusive.
    pub from: Option<NaiveDate>,
    /// Last date, inclusive.
    pub to: Option<NaiveDate>,
}

impl DateRange {
    /// Whether an object delivered on `date` may hold events in range. Delivery lags event
    /// time by minutes (flow logs) to about an hour (CloudTrail), so a day of slack is kept
    /// on the late side; the exact cut is made on event time later.
    pub fn may_contain(&self, date: Option<NaiveDate>) -> bool {
        let Some(d) = date else { return true };
        if self.from.is_some_and(|from| d < from) {
            return false;
        }
        if self.to.is_some_and(|to| d > to + chrono::Days::new(1)) {
            return false;
        }
        true
    }
}

/// The ledger key of an object: from its `AWSLogs/` segment on when there is one (so the same
/// archive replayed from a different root is still recognized), else the key as given.
pub fn normalize_key(key: &str) -> String {
    let key = key.trim_start_matches('/');
    if key.starts_with("AWSLogs/") {
        return key.to_string();
    }
    match key.find("/AWSLogs/") {
        Some(p) => key[p + 1..].to_string(),
        None => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalize_from_awslogs() {
        assert_eq!(normalize_key("sample-data/aws/AWSLogs/1/x"), "AWSLogs/1/x");
        assert_eq!(normalize_key("AWSLogs/1/x"), "AWSLogs/1/x");
        assert_eq!(normalize_key("a/b.gz"), "a/b.gz");
    }

    #[test]
    fn date_range_keeps_a_day_of_slack_late() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok();
        let r = DateRange {
            from: d("2026-01-07"),
            to: d("2026-01-07"),
        };
        assert!(!r.may_contain(d("2026-01-06")));
        assert!(r.may_contain(d("2026-01-07")));
        assert!(r.may_contain(d("2026-01-08")));
        assert!(!r.may_contain(d("2026-01-09")));
        assert!(r.may_contain(None));
    }
}
