//! Inputs in the AWS formats and the S3 layout: flow log and CloudTrail object keys, default-format
//! flow lines, CloudTrail events and documents, gzip, and [`put`] to write an object under a
//! temp dir as S3 would hold it (`AWSLogs/<account>/<service>/<region>/<yyyy>/<mm>/<dd>/...`).

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

/// The account of the objects [`flow_key`], [`ct_key`], [`flow_text`] and [`ct_event`] make.
pub const ACCT: &str = "012345678901";

/// `text` gzipped, as AWS delivers flow logs and CloudTrail.
pub fn gz(text: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(text).unwrap();
    e.finish().unwrap()
}

/// Write `bytes` at `key` under `root` (folders created); its path.
pub fn put(root: &Path, key: &str, bytes: &[u8]) -> PathBuf {
    let p = root.join(key);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

/// The key of flow log object `n` of 2026-01-`day` (10:`n` UTC) of [`ACCT`].
pub fn flow_key(day: u32, n: u32) -> String {
    format!(
        "AWSLogs/{ACCT}/vpcflowlogs/us-east-1/2026/01/{day:02}/{ACCT}_vpcflowlogs_us-east-1_fl-0abc_202601{day:02}T10{n:02}Z_deadbeef.log.gz"
    )
}

/// The key of CloudTrail object `n` of 2026-01-`day` (10:`n` UTC) of [`ACCT`].
pub fn ct_key(day: u32, n: u32) -> String {
    format!(
        "AWSLogs/{ACCT}/CloudTrail/us-east-1/2026/01/{day:02}/{ACCT}_CloudTrail_us-east-1_202601{day:02}T10{n:02}Z_abcdef0123456789.json.gz"
    )
}

/// Default-format flow lines starting at `t0` (seconds).
pub fn flow_text(rows: usize, t0: i64) -> String {
    let mut s = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for i in 0..rows {
        let t = t0 + i as i64;
        s.push_str(&format!(
            "2 {ACCT} eni-0a1b2c3d 10.0.1.{} 10.0.2.9 {} 443 6 10 {} {t} {} ACCEPT OK\n",
            i % 250,
            40000 + i % 1000,
            1000 + i,
            t + 60
        ));
    }
    s
}

/// A CloudTrail event of [`ACCT`]: `name` (on security group `sg-1`, port 22) at `time`.
pub fn ct_event(id: &str, name: &str, time: &str) -> String {
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"AIDA1","arn":"arn:aws:iam::{ACCT}:user/alice","accountId":"{ACCT}","accessKeyId":"AKIA1","userName":"alice"}},"eventTime":"{time}","eventSource":"ec2.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.7","userAgent":"aws-cli/2","requestParameters":{{"groupId":"sg-1","ipPermissions":{{"items":[{{"fromPort":22}}]}}}},"responseElements":null,"requestID":"r-{id}","eventID":"{id}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{ACCT}","eventCategory":"Management"}}"#
    )
}

/// 2026-01-08T08:00:00Z, the start of the hours [`hourly_key`] names.
pub const T8: i64 = 1_767_859_200;
/// A second account.
pub const ACCT2: &str = "210987654321";

/// The key of an object `service` delivered for `acct` on 2026-01-08 at `hour`:`minute`.
pub fn hourly_key(acct: &str, service: &str, hour: i64, minute: i64, ext: &str) -> String {
    let region = "us-east-1";
    let stamp = format!("20260108T{hour:02}{minute:02}Z");
    format!(
        "AWSLogs/{acct}/{service}/{region}/2026/01/08/{acct}_{service}_{region}_{stamp}_{:08x}.{ext}",
        hour * 60 + minute
    )
}

/// Flow lines of `acct` from `t0` (seconds) over 25 minutes, `salt` telling objects apart.
pub fn hour_flow_lines(acct: &str, t0: i64, rows: usize, salt: usize) -> String {
    let mut s = String::from(
        "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
    );
    for i in 0..rows {
        let t = t0 + (i as i64 * 7) % 1500;
        s.push_str(&format!(
            "2 {acct} eni-0{salt:02} 10.0.{salt}.{} 10.0.9.9 {} 443 6 10 {} {t} {} ACCEPT OK\n",
            i % 200,
            40000 + i,
            500 + i * 3 + salt,
            t + 60
        ));
    }
    s
}

/// Flow lines of a port scan from 10.0.1.99 (119 ports rejected from `t`, in seconds), then a
/// malformed line.
pub fn port_scan_and_a_bad_line(acct: &str, t: i64) -> String {
    let mut s = String::new();
    for port in 1..120 {
        s.push_str(&format!(
            "2 {acct} eni-0aa 10.0.1.99 10.0.9.10 51515 {port} 6 1 40 {} {} REJECT OK\n",
            t + port,
            t + port + 5
        ));
    }
    s.push_str("2 this line is broken\n");
    s
}

/// A CloudTrail document of `acct` with `(event id, event name, time)` events (security group
/// changes open to 0.0.0.0/0).
pub fn ct_doc(acct: &str, events: &[(&str, &str, String)]) -> String {
    let evs: Vec<String> = events
        .iter()
        .map(|(id, name, time)| {
            ct_event(id, name, time).replace(ACCT, acct).replace(
                "\"groupId\":\"sg-1\"",
                "\"groupId\":\"sg-1\",\"cidrIp\":\"0.0.0.0/0\"",
            )
        })
        .collect();
    format!(r#"{{"Records":[{}]}}"#, evs.join(","))
}
