//! Object keys in the AWS S3 delivery layouts, and what they say about an object.
//!
//! - plain: `[prefix/]AWSLogs/[o-org/]<account>/<service>/<region>/YYYY/MM/DD/[HH/]<file>`
//!   with service `vpcflowlogs`, `CloudTrail`, `CloudTrail-Digest` or `CloudTrail-Insight`;
//! - Hive-style flow logs: `[prefix/]AWSLogs/aws-account-id=<a>/aws-service=vpcflowlogs/`
//!   `aws-region=<r>/year=YYYY/month=MM/day=DD/[hour=HH/]<file>`.
//!
//! A key outside these layouts is still classified by its file name where possible (an
//! `_vpcflowlogs_` or `_CloudTrail_` name), so a flat folder of downloads works too.

use chrono::NaiveDate;

/// What an object holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ObjectKind {
    /// VPC Flow Logs, text (usually `.log.gz`).
    FlowLogText,
    /// VPC Flow Logs delivered as parquet.
    FlowLogParquet,
    /// CloudTrail management/data events (`{"Records":[...]}`).
    CloudTrail,
    /// CloudTrail digest file (integrity hashes, no events).
    CloudTrailDigest,
    /// CloudTrail Insights events (not management events).
    CloudTrailInsight,
    /// Not something flowtrail reads.
    Unknown,
}

impl ObjectKind {
    /// Whether the object carries records for the lake.
    pub fn is_data(self) -> bool {
        matches!(
            self,
            Self::FlowLogText | Self::FlowLogParquet | Self::CloudTrail
        )
    }
}

/// What a key says about its object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyInfo {
    /// What it holds.
    pub kind: ObjectKind,
    /// Account id from the path.
    pub account_id: Option<String>,
    /// Organization id (`o-…`) for organization trails.
    pub org_id: Option<String>,
    /// Region from the path.
    pub region: Option<String>,
    /// Delivery date from the path.
    pub date: Option<NaiveDate>,
    /// Delivery hour from the path (hourly partitions).
    pub hour: Option<u32>,
}

fn kind_of_service(service: &str, file: &str) -> ObjectKind {
    match service {
        "vpcflowlogs" => {
            if file.ends_with(".parquet") {
                ObjectKind::FlowLogParquet
            } else {
                ObjectKind::FlowLogText
            }
        }
        "CloudTrail" => ObjectKind::CloudTrail,
        "CloudTrail-Digest" => ObjectKind::CloudTrailDigest,
        "CloudTrail-Insight" | "CloudTrail-Insights" => ObjectKind::CloudTrailInsight,
        _ => ObjectKind::Unknown,
    }
}

fn kind_of_file(file: &str) -> ObjectKind {
    if file.contains("_CloudTrail-Digest_") {
        ObjectKind::CloudTrailDigest
    } else if file.contains("_CloudTrail-Insight") {
        ObjectKind::CloudTrailInsight
    } else if file.contains("_CloudTrail_") {
        ObjectKind::CloudTrail
    } else if file.contains("_vpcflowlogs_") {
        kind_of_service("vpcflowlogs", file)
    } else {
        ObjectKind::Unknown
    }
}

fn num<T: std::str::FromStr>(s: &str) -> Option<T> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// The delivery time AWS writes into file names (`..._20260108T1005Z_...`), in ms.
pub fn delivery_time_ms(key: &str) -> Option<i64> {
    let file = key.rsplit('/').next()?;
    let b = file.as_bytes();
    (0..b.len().saturating_sub(13)).find_map(|i| {
        let w = &b[i..i + 14];
        let digits = |r: std::ops::Range<usize>| w[r].iter().all(u8::is_ascii_digit);
        if digits(0..8) && w[8] == b'T' && digits(9..13) && w[13] == b'Z' {
            let s = std::str::from_utf8(w).ok()?;
            chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%MZ")
                .ok()
                .map(|t| t.and_utc().timestamp_millis())
        } else {
            None
        }
    })
}

/// Parse `YYYY/MM/DD[/HH]` (plain) from the segments after the region.
fn plain_date(rest: &[&str]) -> (Option<NaiveDate>, Option<u32>) {
    let date = match rest {
        [y, m, d, ..] => match (num(y), num(m), num(d)) {
            (Some(y), Some(m), Some(d)) => NaiveDate::from_ymd_opt(y, m, d),
            _ => None,
        },
        _ => None,
    };
    // An hour folder is a 2-digit segment that is not the file name.
    let hour = match rest {
        [_, _, _, h, _file, ..] if h.len() == 2 => num::<u32>(h).filter(|h| *h < 24),
        _ => None,
    };
    (date, hour)
}

fn hive_value<'a>(seg: &'a str, name: &str) -> Option<&'a str> {
    seg.strip_prefix(name)?.strip_prefix('=')
}

/// Classify a key and read what its path says.
pub fn parse_key(key: &str) -> KeyInfo {
    let segs: Vec<&str> = key.split('/').filter(|s| !s.is_empty()).collect();
    let file = segs.last().copied().unwrap_or("");
    let mut info = KeyInfo {
        kind: kind_of_file(file),
        account_id: None,
        org_id: None,
        region: None,
        date: None,
        hour: None,
    };
    let Some(pos) = segs.iter().position(|s| *s == "AWSLogs") else {
        return info;
    };
    let mut rest = &segs[pos + 1..];
    // Hive-style layout.
    if let Some(first) = rest.first() {
        if let Some(acct) = hive_value(first, "aws-account-id") {
            info.account_id = Some(acct.to_string());
            let mut y = None;
            let mut mo = None;
            let mut d = None;
            for s in &rest[1..] {
                if let Some(v) = hive_value(s, "aws-service") {
                    info.kind = kind_of_service(v, file);
                } else if let Some(v) = hive_value(s, "aws-region") {
                    info.region = Some(v.to_string());
                } else if let Some(v) = hive_value(s, "year") {
                    y = num::<i32>(v);
                } else if let Some(v) = hive_value(s, "month") {
                    mo = num::<u32>(v);
                } else if let Some(v) = hive_value(s, "day") {
                    d = num::<u32>(v);
                } else if let Some(v) = hive_value(s, "hour") {
                    info.hour = num::<u32>(v).filter(|h| *h < 24);
                }
            }
            if let (Some(y), Some(mo), Some(d)) = (y, mo, d) {
                info.date = NaiveDate::from_ymd_opt(y, mo, d);
            }
            return info;
        }
        if first.starts_with("o-") {
            info.org_id = Some(first.to_string());
            rest = &rest[1..];
        }
    }
    if let [account, service, region, tail @ ..] = rest {
        info.account_id = Some(account.to_string());
        let k = kind_of_service(service, file);
        if k != ObjectKind::Unknown {
            info.kind = k;
        }
        info.region = Some(region.to_string());
        let (date, hour) = plain_date(tail);
        info.date = date;
        info.hour = hour;
    }
    info
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, day)
    }

    #[test]
    fn delivery_time_comes_from_the_file_name() {
        assert_eq!(
            delivery_time_ms("a/1_CloudTrail_us-east-1_20260108T1005Z_x.json.gz"),
            Some(1_767_866_700_000)
        );
        assert_eq!(delivery_time_ms("a/b/no-time.log.gz"), None);
        assert_eq!(
            delivery_time_ms("20260108T1005Z/x"),
            None,
            "only the file name counts"
        );
    }

    #[test]
    #[allow(clippy::type_complexity)]
    fn table_of_layouts() {
        let cases: &[(
            &str,
            ObjectKind,
            Option<&str>,
            Option<&str>,
            Option<NaiveDate>,
            Option<u32>,
        )] = &[
            (
                "AWSLogs/012345678901/vpcflowlogs/us-east-1/2026/01/08/012345678901_vpcflowlogs_us-east-1_fl-1_20260108T1005Z_ab.log.gz",
                ObjectKind::FlowLogText,
                Some("012345678901"),
                Some("us-east-1"),
                d(2026, 1, 8),
                None,
            ),
            (
                "logs/AWSLogs/111122223333/vpcflowlogs/eu-west-1/2026/01/08/10/f_vpcflowlogs_x.log.gz",
                ObjectKind::FlowLogText,
                Some("111122223333"),
                Some("eu-west-1"),
                d(2026, 1, 8),
                Some(10),
            ),
            (
                "AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=01/day=09/hour=23/x.log.parquet",
                ObjectKind::FlowLogParquet,
                Some("111122223333"),
                Some("us-east-1"),
                d(2026, 1, 9),
                Some(23),
            ),
            (
                "AWSLogs/o-abc123/111122223333/CloudTrail/us-east-1/2026/01/08/111122223333_CloudTrail_us-east-1_20260108T1005Z_x.json.gz",
                ObjectKind::CloudTrail,
                Some("111122223333"),
                Some("us-east-1"),
                d(2026, 1, 8),
                None,
            ),
            (
                "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/01/08/111122223333_CloudTrail-Digest_us-east-1_t_20260108T1005Z.json.gz",
                ObjectKind::CloudTrailDigest,
                Some("111122223333"),
                Some("us-east-1"),
                d(2026, 1, 8),
                None,
            ),
            (
                "AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2026/01/08/x.json.gz",
                ObjectKind::CloudTrailInsight,
                Some("111122223333"),
                Some("us-east-1"),
                d(2026, 1, 8),
                None,
            ),
            (
                "downloads/123_CloudTrail_us-east-1_x.json.gz",
                ObjectKind::CloudTrail,
                None,
                None,
                None,
                None,
            ),
            ("README.md", ObjectKind::Unknown, None, None, None, None),
        ];
        for (key, kind, acct, region, date, hour) in cases {
            let i = parse_key(key);
            assert_eq!(i.kind, *kind, "{key}");
            assert_eq!(i.account_id.as_deref(), *acct, "{key}");
            assert_eq!(i.region.as_deref(), *region, "{key}");
            assert_eq!(i.date, *date, "{key}");
            assert_eq!(i.hour, *hour, "{key}");
        }
        assert_eq!(parse_key(cases[3].0).org_id.as_deref(), Some("o-abc123"));
    }
}
