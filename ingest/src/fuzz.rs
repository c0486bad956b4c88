//! Entry points of the fuzz targets in `fuzz/` (cargo-fuzz), kept here as ordinary functions so
//! that a plain `cargo test` replays the saved corpus and every crasher ever found
//! (`ingest/tests/fuzz_regressions.rs`) without a nightly toolchain.
//!
//! Each entry decodes arbitrary bytes the way replay does and checks the decoder's contract
//! beyond "does not panic": every row lands in a partition folder inside the lake, every
//! quarantine record names the object and a line that exists, and the counters add up. A broken
//! contract panics, which is what the fuzzer reports.

use crate::compress::ObjectReader;
use crate::decode::cloudtrail::{CloudTrailOptions, decode_cloudtrail};
use crate::decode::flow::{FlowDecodeOptions, FlowFormat, decode_flow_text};
use crate::sink::VecSink;
use flowtrail_core::Table;
use flowtrail_lake::partition;

/// Key given to the decoders (quarantine records must name it).
pub const FUZZ_KEY: &str = "AWSLogs/012345678901/vpcflowlogs/us-east-1/2026/01/08/fuzz.log";

/// Bound on the decompressed bytes of one fuzz input (gzip input may expand).
const LIMIT: u64 = 1 << 24;

fn check_sink(sink: &VecSink, lines: Option<u64>) {
    for b in &sink.batches {
        let parts = partition::split(b).unwrap_or_else(|e| panic!("partition split failed: {e}"));
        for (key, part) in parts {
            for table in Table::ALL {
                let dir = key.dir(table);
                assert!(
                    !dir.starts_with('/') && !dir.split('/').any(|s| s == ".." || s == "."),
                    "partition folder escapes the lake: {dir:?}"
                );
            }
            assert!(part.num_rows() > 0, "empty partition batch");
        }
    }
    for q in &sink.quarantined {
        assert!(
            q.object.starts_with("AWSLogs/"),
            "quarantine record without the object: {q:?}"
        );
        assert!(!q.reason.is_empty(), "quarantine record without a reason");
        if let (Some(line), Some(lines)) = (q.line, lines) {
            assert!(
                line >= 1 && line <= lines.max(1),
                "line {line} of {lines}: {q:?}"
            );
        }
    }
}

/// Flow-log text: the first byte picks the options (a configured header-less format or not,
/// tiny batches or not); the rest is the object as stored (plain or gzip).
pub fn flow_text(data: &[u8]) {
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let mut opts = FlowDecodeOptions {
        batch_rows: if sel & 1 == 1 { 3 } else { 65_536 },
        fallback_account_id: Some("012345678901".into()),
        fallback_region: Some("us-east-1".into()),
        fallback_time_ms: Some(1_767_866_700_000),
        ..Default::default()
    };
    if sel & 2 == 2 {
        opts.format = FlowFormat::parse(
            "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} \
             ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status} ${vpc-id} \
             ${tcp-flags} ${flow-direction}",
        )
        .ok();
    }
    let mut reader = ObjectReader::new(FUZZ_KEY, body, LIMIT);
    let mut sink = VecSink::default();
    match decode_flow_text(FUZZ_KEY, &mut reader, &opts, &mut sink) {
        Ok(stats) => {
            assert_eq!(
                stats.records as usize,
                sink.rows(),
                "records counted and handed over differ"
            );
            assert_eq!(stats.quarantined as usize, sink.quarantined.len());
            check_sink(&sink, Some(stats.lines));
        }
        Err(e) => {
            assert!(
                e.to_string().contains(FUZZ_KEY),
                "error does not name the object: {e}"
            );
            check_sink(&sink, None);
        }
    }
}

/// A CloudTrail object as stored (plain or gzip): any of the shapes the decoder accepts.
pub fn cloudtrail(data: &[u8]) {
    let key = "AWSLogs/012345678901/CloudTrail/us-east-1/2026/01/08/fuzz.json.gz";
    let Ok(doc) = ObjectReader::new(key, data, LIMIT).read_all() else {
        return;
    };
    let opts = CloudTrailOptions {
        batch_rows: 4,
        fallback_account_id: Some("012345678901".into()),
        fallback_region: Some("us-east-1".into()),
    };
    let mut sink = VecSink::default();
    match decode_cloudtrail(key, &doc, &opts, &mut sink) {
        Ok(stats) => {
            assert_eq!(stats.records as usize, sink.rows());
            assert_eq!(
                stats.events,
                stats.records + stats.skipped + stats.quarantined,
                "events = records + skipped + quarantined"
            );
            check_sink(&sink, None);
        }
        Err(e) => {
            assert!(
                e.to_string().contains(key),
                "error does not name the object: {e}"
            );
            check_sink(&sink, None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_accept_good_and_bad_input() {
        flow_text(b"\0version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n2 012345678901 eni-1 10.0.0.1 10.0.0.2 1 2 6 1 1 1767866700 1767866760 ACCEPT OK\nbad line\n");
        flow_text(b"\x03");
        cloudtrail(
            br#"{"Records":[{"eventID":"a","eventTime":"2026-01-08T10:00:00Z","eventName":"X"}]}"#,
        );
        cloudtrail(b"{\"Records\":[");
    }
}
