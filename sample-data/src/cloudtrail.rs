//! CloudTrail log files (`{"Records":[...]}`, gzip) and digest files, per trail stream
//! (account × region, optionally under an organization prefix).

use std::io;

use crate::json::J;
use crate::layout::{cloudtrail_key, digest_key};
use crate::output::Sink;
use crate::prng::Rng;
use crate::time::rfc3339;

/// Where one account/region's trail delivers.
#[derive(Debug, Clone)]
pub struct TrailStream {
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Organization id when delivered by an organization trail.
    pub org: Option<String>,
    /// Trail name.
    pub trail: String,
    /// Offset of local time from UTC in hours.
    pub utc_offset_h: i64,
}

/// A delivered log file, for digests.
#[derive(Debug, Clone)]
pub struct Delivered {
    /// Object key.
    pub key: String,
    /// Oldest event time.
    pub oldest: i64,
    /// Newest event time.
    pub newest: i64,
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Write one log file at delivery time `ts` holding `events` (already serialized records).
pub fn write_log_file(
    sink: &mut Sink,
    rng: &mut Rng,
    stream: &TrailStream,
    ts: i64,
    events: &[(i64, String)],
) -> io::Result<Delivered> {
    let key = cloudtrail_key(
        stream.org.as_deref(),
        &stream.account,
        &stream.region,
        ts,
        &rng.from_alphabet(ALNUM, 16),
    );
    let mut body =
        String::with_capacity(events.iter().map(|(_, e)| e.len() + 1).sum::<usize>() + 16);
    body.push_str("{\"Records\":[");
    for (i, (_, e)) in events.iter().enumerate() {
        if i > 0 {
            body.push(',');
        }
        body.push_str(e);
    }
    body.push_str("]}");
    sink.write_gz(&key, body.as_bytes())?;
    sink.stats.trail_files += 1;
    sink.stats.trail_events += events.len() as u64;
    Ok(Delivered {
        key,
        oldest: events.iter().map(|(t, _)| *t).min().unwrap_or(ts),
        newest: events.iter().map(|(t, _)| *t).max().unwrap_or(ts),
    })
}

/// Write a digest file for `[start, end)` listing `files` (hashes are placeholders: the
/// generator does not sign anything).
pub fn write_digest(
    sink: &mut Sink,
    rng: &mut Rng,
    stream: &TrailStream,
    bucket: &str,
    start: i64,
    end: i64,
    files: &[Delivered],
) -> io::Result<String> {
    let key = digest_key(
        stream.org.as_deref(),
        &stream.account,
        &stream.region,
        &stream.trail,
        end,
    );
    let oldest = files.iter().map(|f| f.oldest).min().unwrap_or(start);
    let newest = files.iter().map(|f| f.newest).max().unwrap_or(start);
    let log_files = files
        .iter()
        .map(|f| {
            J::obj([
                ("s3Bucket", J::s(bucket)),
                ("s3Object", J::s(f.key.clone())),
                ("hashValue", J::s(rng.hex(64))),
                ("hashAlgorithm", J::s("SHA-256")),
                ("newestEventTime", J::s(rfc3339(f.newest))),
                ("oldestEventTime", J::s(rfc3339(f.oldest))),
            ])
        })
        .collect();
    let doc = J::obj([
        ("awsAccountId", J::s(stream.account.clone())),
        ("digestStartTime", J::s(rfc3339(start))),
        ("digestEndTime", J::s(rfc3339(end))),
        ("digestS3Bucket", J::s(bucket)),
        ("digestS3Object", J::s(key.clone())),
        ("digestPublicKeyFingerprint", J::s(rng.hex(32))),
        ("digestSignatureAlgorithm", J::s("SHA256withRSA")),
        ("newestEventTime", J::s(rfc3339(newest))),
        ("oldestEventTime", J::s(rfc3339(oldest))),
        ("previousDigestS3Bucket", J::Null),
        ("previousDigestS3Object", J::Null),
        ("previousDigestHashValue", J::Null),
        ("previousDigestHashAlgorithm", J::Null),
        ("previousDigestSignature", J::Null),
        ("logFiles", J::Arr(log_files)),
    ]);
    sink.write_gz(&key, doc.to_json().as_bytes())?;
    sink.stats.digest_files += 1;
    Ok(key)
}
