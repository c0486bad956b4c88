//! The lake path layout:
//! `<lake>/<table>/account_id=<id>/region=<region>/date=YYYY-MM-DD/hour=HH/<unique>.parquet`
//! (`alerts` and `inventory` partitioned by `date=` only), plus the lake's private folders (`_quarantine/`,
//! `_ledger/`). Partition values are sanitized so that no value can escape the lake.

use std::fmt;

use chrono::{DateTime, Datelike, Timelike, Utc};

/// A lake table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Table {
    /// VPC Flow Logs records.
    Flows,
    /// CloudTrail events.
    Cloudtrail,
    /// Alerts emitted by detection.
    Alerts,
    /// What is known of each network interface (instance, subnet, VPC, tags), with validity
    /// times: snapshots written by detection.
    Inventory,
}

impl Table {
    /// Every table.
    pub const ALL: [Table; 4] = [
        Table::Flows,
        Table::Cloudtrail,
        Table::Alerts,
        Table::Inventory,
    ];

    /// The table's folder and SQL name.
    pub fn name(self) -> &'static str {
        match self {
            Table::Flows => "flows",
            Table::Cloudtrail => "cloudtrail",
            Table::Alerts => "alerts",
            Table::Inventory => "inventory",
        }
    }
}

impl fmt::Display for Table {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Folder (under the lake root) holding quarantined input, as JSONL files.
pub const QUARANTINE_DIR: &str = "_quarantine";
/// Folder (under the lake root) holding the commit ledger.
pub const LEDGER_DIR: &str = "_ledger";

/// The partition a row lands in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartitionKey {
    /// Account id (`unknown` when the data carries none).
    pub account_id: String,
    /// Region (`unknown` when the data carries none).
    pub region: String,
    /// `(year, month, day)` of the event time.
    pub ymd: (i32, u32, u32),
    /// Hour of the event time.
    pub hour: u32,
}

impl PartitionKey {
    /// The partition of an event at `ms` (UTC milliseconds).
    pub fn at(account_id: &str, region: &str, ms: i64) -> Self {
        let t = DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default();
        Self {
            account_id: sanitize(account_id),
            region: sanitize(region),
            ymd: (t.year(), t.month(), t.day()),
            hour: t.hour(),
        }
    }

    /// `YYYY-MM-DD`.
    pub fn date(&self) -> String {
        format!("{:04}-{:02}-{:02}", self.ymd.0, self.ymd.1, self.ymd.2)
    }

    /// The partition folder relative to the lake root, with `/` separators.
    pub fn dir(&self, table: Table) -> String {
        match table {
            Table::Alerts | Table::Inventory => format!("{}/date={}", table.name(), self.date()),
            _ => format!(
                "{}/account_id={}/region={}/date={}/hour={:02}",
                table.name(),
                self.account_id,
                self.region,
                self.date(),
                self.hour
            ),
        }
    }
}

/// The start (UTC ms) of the day a `date=YYYY-MM-DD` folder name stands for, the inverse of
/// [`PartitionKey::dir`]'s `date=` segment; `None` for any other name.
pub fn date_segment_ms(segment: &str) -> Option<i64> {
    let d = segment.strip_prefix("date=")?;
    let day = chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok()?;
    Some(day.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis())
}

/// The hour an `hour=HH` folder name stands for; `None` for any other name.
pub fn hour_segment(segment: &str) -> Option<i64> {
    segment.strip_prefix("hour=")?.parse().ok()
}

/// The start (UTC ms) of the hour partition a lake path is in
/// (`.../date=YYYY-MM-DD/hour=HH/...`); `None` when the path names no day or no hour.
pub fn hour_start_of_path(rel: &str) -> Option<i64> {
    let mut day = None;
    let mut hour = None;
    for part in rel.split('/') {
        if part.starts_with("date=") {
            day = date_segment_ms(part);
        } else if part.starts_with("hour=") {
            hour = hour_segment(part);
        }
    }
    Some(day? + hour? * 3_600_000)
}

/// Make a partition value safe as one path segment: only `[A-Za-z0-9._-]` survive (others
/// become `_`), no leading dot (so never `.` or `..`), never empty.
pub fn sanitize(value: &str) -> String {
    let mut s: String = value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    while s.contains("..") {
        s = s.replace("..", "__");
    }
    if s.starts_with('.') {
        s.replace_range(0..1, "_");
    }
    if s.is_empty() {
        s.push_str("unknown");
    }
    s.truncate(128);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_dir_follows_the_layout() {
        // 2026-01-08T10:05:00Z
        let k = PartitionKey::at("012345678901", "us-east-1", 1_767_866_700_000);
        assert_eq!(
            k.dir(Table::Flows),
            "flows/account_id=012345678901/region=us-east-1/date=2026-01-08/hour=10"
        );
        assert_eq!(k.dir(Table::Alerts), "alerts/date=2026-01-08");
        assert_eq!(k.dir(Table::Inventory), "inventory/date=2026-01-08");
    }

    #[test]
    fn partition_paths_parse_back_to_their_hour() {
        let k = PartitionKey::at("012345678901", "us-east-1", 1_767_866_700_000);
        let rel = format!("{}/f.parquet", k.dir(Table::Flows));
        assert_eq!(hour_start_of_path(&rel), Some(1_767_866_400_000));
        assert_eq!(date_segment_ms("date=2026-01-08"), Some(1_767_830_400_000));
        assert_eq!(hour_segment("hour=10"), Some(10));
        assert_eq!(date_segment_ms("date=2026-13-01"), None);
        assert_eq!(date_segment_ms("hour=10"), None);
        assert_eq!(hour_segment("hour=x"), None);
        assert_eq!(hour_start_of_path("alerts/date=2026-01-08/a.parquet"), None);
        assert_eq!(hour_start_of_path("flows/hour=10/a.parquet"), None);
    }

    #[test]
    fn hostile_partition_values_cannot_escape() {
        assert_eq!(sanitize(".."), "__");
        assert_eq!(sanitize("../../etc"), "______etc");
        assert_eq!(sanitize("/abs"), "_abs");
        assert_eq!(sanitize(""), "unknown");
        assert_eq!(sanitize("é"), "_");
        for v in ["..", ".", "a/b", "a\\b", "\u{202e}x"] {
            let s = sanitize(v);
            assert!(
                !s.contains('/') && !s.contains('\\') && !s.starts_with('.'),
                "{s}"
            );
        }
    }
}
