//! Object keys in the AWS S3 delivery layouts, as AWS names them.
//!
//! - flow logs, daily folders: `AWSLogs/<acct>/vpcflowlogs/<region>/YYYY/MM/DD/<file>`
//! - flow logs, hourly folders: `AWSLogs/<acct>/vpcflowlogs/<region>/YYYY/MM/DD/HH/<file>`
//! - flow logs, Hive-style: `AWSLogs/aws-account-id=<a>/aws-service=vpcflowlogs/aws-region=<r>/`
//!   `year=YYYY/month=MM/day=DD/hour=HH/<file>`
//! - with `<file>` = `<acct>_vpcflowlogs_<region>_<fl-id>_<YYYYMMDDTHHmmZ>_<hash8>.log.gz`
//! - CloudTrail: `AWSLogs/[o-org/]<acct>/CloudTrail/<region>/YYYY/MM/DD/`
//!   `<acct>_CloudTrail_<region>_<YYYYMMDDTHHmmZ>_<rand16>.json.gz`
//! - CloudTrail digests: `AWSLogs/[o-org/]<acct>/CloudTrail-Digest/<region>/YYYY/MM/DD/`
//!   `<acct>_CloudTrail-Digest_<region>_<trail>_<region>_<YYYYMMDDTHHmmssZ>.json.gz`

use crate::time::{civil, compact_minute, compact_second};

/// Folder layout of a flow log's S3 destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowLayout {
    /// `YYYY/MM/DD/` (the default).
    Daily,
    /// `YYYY/MM/DD/HH/` (per-hour partitions).
    Hourly,
    /// `aws-account-id=…/…/year=YYYY/month=MM/day=DD/hour=HH/` (Hive-compatible prefixes).
    Hive,
}

/// Key of a flow-log object delivered at `ts` (window start).
pub fn flow_key(
    layout: FlowLayout,
    account: &str,
    region: &str,
    flow_log_id: &str,
    ts: i64,
    hash8: &str,
) -> String {
    let c = civil(ts);
    let file = format!(
        "{account}_vpcflowlogs_{region}_{flow_log_id}_{}_{hash8}.log.gz",
        compact_minute(ts)
    );
    match layout {
        FlowLayout::Daily => format!(
            "AWSLogs/{account}/vpcflowlogs/{region}/{:04}/{:02}/{:02}/{file}",
            c.year, c.month, c.day
        ),
        FlowLayout::Hourly => format!(
            "AWSLogs/{account}/vpcflowlogs/{region}/{:04}/{:02}/{:02}/{:02}/{file}",
            c.year, c.month, c.day, c.hour
        ),
        FlowLayout::Hive => format!(
            "AWSLogs/aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/\
             year={:04}/month={:02}/day={:02}/hour={:02}/{file}",
            c.year, c.month, c.day, c.hour
        ),
    }
}

fn trail_prefix(org: Option<&str>, account: &str) -> String {
    match org {
        Some(o) => format!("AWSLogs/{o}/{account}"),
        None => format!("AWSLogs/{account}"),
    }
}

/// Key of a CloudTrail log file delivered at `ts`.
pub fn cloudtrail_key(
    org: Option<&str>,
    account: &str,
    region: &str,
    ts: i64,
    rand16: &str,
) -> String {
    let c = civil(ts);
    format!(
        "{}/CloudTrail/{region}/{:04}/{:02}/{:02}/{account}_CloudTrail_{region}_{}_{rand16}.json.gz",
        trail_prefix(org, account),
        c.year,
        c.month,
        c.day,
        compact_minute(ts)
    )
}

/// Key of a CloudTrail digest file delivered at `ts`.
pub fn digest_key(org: Option<&str>, account: &str, region: &str, trail: &str, ts: i64) -> String {
    let c = civil(ts);
    format!(
        "{}/CloudTrail-Digest/{region}/{:04}/{:02}/{:02}/{account}_CloudTrail-Digest_{region}_{trail}_{region}_{}.json.gz",
        trail_prefix(org, account),
        c.year,
        c.month,
        c.day,
        compact_second(ts)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_767_657_600 + 2 * 86_400 + 10 * 3600 + 5 * 60; // 2026-01-08T10:05Z

    #[test]
    fn flow_keys_in_each_layout() {
        let daily = flow_key(
            FlowLayout::Daily,
            "012345678901",
            "us-east-1",
            "fl-0a1b",
            T,
            "1a2b3c4d",
        );
        assert_eq!(
            daily,
            "AWSLogs/012345678901/vpcflowlogs/us-east-1/2026/01/08/\
             012345678901_vpcflowlogs_us-east-1_fl-0a1b_20260108T1005Z_1a2b3c4d.log.gz"
        );
        let hourly = flow_key(
            FlowLayout::Hourly,
            "012345678901",
            "us-west-2",
            "fl-9",
            T,
            "00000000",
        );
        assert!(hourly.starts_with("AWSLogs/012345678901/vpcflowlogs/us-west-2/2026/01/08/10/"));
        let hive = flow_key(
            FlowLayout::Hive,
            "210987654321",
            "eu-west-1",
            "fl-9",
            T,
            "00000000",
        );
        assert!(hive.starts_with(
            "AWSLogs/aws-account-id=210987654321/aws-service=vpcflowlogs/aws-region=eu-west-1/\
             year=2026/month=01/day=08/hour=10/210987654321_vpcflowlogs_eu-west-1_fl-9_"
        ));
    }

    #[test]
    fn trail_keys() {
        let k = cloudtrail_key(None, "012345678901", "us-east-1", T, "AbCdEfGh12345678");
        assert_eq!(
            k,
            "AWSLogs/012345678901/CloudTrail/us-east-1/2026/01/08/\
             012345678901_CloudTrail_us-east-1_20260108T1005Z_AbCdEfGh12345678.json.gz"
        );
        let org = cloudtrail_key(Some("o-exampleorg1"), "210987654321", "eu-west-1", T, "x");
        assert!(
            org.starts_with("AWSLogs/o-exampleorg1/210987654321/CloudTrail/eu-west-1/2026/01/08/")
        );
        let d = digest_key(None, "012345678901", "us-east-1", "management-trail", T);
        assert!(
            d.contains("/CloudTrail-Digest/us-east-1/2026/01/08/012345678901_CloudTrail-Digest_")
        );
        assert!(d.ends_with("_management-trail_us-east-1_20260108T100500Z.json.gz"));
    }
}
