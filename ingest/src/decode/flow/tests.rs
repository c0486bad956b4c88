//! End-to-end tests of the text decoder through its public entry points.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;

use arrow::array::{Array, AsArray, MapArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use flate2::Compression;
use flate2::write::GzEncoder;
use flowtrail_core::nulls::batch_memory_size;
use flowtrail_core::schema::flows::{FLOW_FIELDS, FlowType, decoded_flows_schema};
use proptest::prelude::*;

use super::*;
use crate::sink::VecSink;

const KEY: &str = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/08/x.log.gz";
const V2_HEADER: &str = "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status";

fn gz(data: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

fn decode_with(data: &[u8], opts: &FlowDecodeOptions) -> (VecSink, Result<FlowStats, IngestError>) {
    let mut sink = VecSink::default();
    let mut reader = ObjectReader::new(KEY, data, 1 << 34);
    let r = decode_flow_text(KEY, &mut reader, opts, &mut sink);
    (sink, r)
}

fn decode(data: &str) -> (VecSink, FlowStats) {
    let (sink, r) = decode_with(data.as_bytes(), &FlowDecodeOptions::default());
    (sink, r.unwrap())
}

/// A string column across all batches.
fn strs(sink: &VecSink, col: &str) -> Vec<Option<String>> {
    let mut out = Vec::new();
    for b in &sink.batches {
        let c = cast(b.column_by_name(col).unwrap(), &DataType::Utf8).unwrap();
        out.extend(c.as_string::<i32>().iter().map(|v| v.map(str::to_string)));
    }
    out
}

/// An integer (or timestamp) column across all batches, as i64.
fn ints(sink: &VecSink, col: &str) -> Vec<Option<i64>> {
    let mut out = Vec::new();
    for b in &sink.batches {
        let c = b.column_by_name(col).unwrap();
        let c = if let DataType::Timestamp(..) = c.data_type() {
            cast(c, &DataType::Int64).unwrap()
        } else {
            cast(c, &DataType::Int64).unwrap()
        };
        out.extend(c.as_primitive::<Int64Type>().iter());
    }
    out
}

/// `extra_fields` of one row: (key, value) entries, or None for a null map.
type ExtraRow = Option<Vec<(String, Option<String>)>>;

/// `extra_fields` per row across all batches.
fn extras(sink: &VecSink) -> Vec<ExtraRow> {
    let mut out = Vec::new();
    for b in &sink.batches {
        let m = b.column_by_name("extra_fields").unwrap();
        let m: &MapArray = m.as_map();
        for row in 0..m.len() {
            if m.is_null(row) {
                out.push(None);
                continue;
            }
            let entries = m.value(row);
            let k = entries.column(0).as_string::<i32>();
            let v = entries.column(1).as_string::<i32>();
            out.push(Some(
                (0..k.len())
                    .map(|i| {
                        (
                            k.value(i).to_string(),
                            v.is_valid(i).then(|| v.value(i).to_string()),
                        )
                    })
                    .collect(),
            ));
        }
    }
    out
}

fn reasons(sink: &VecSink) -> Vec<(Option<u64>, String)> {
    sink.quarantined
        .iter()
        .map(|q| (q.line, q.reason.clone()))
        .collect()
}

/// A value for every documented field, distinct per field.
fn sample_value(i: usize, ty: FlowType, name: &str) -> String {
    match (ty, name) {
        (_, "srcport" | "dstport") => (1000 + i).to_string(),
        (_, "protocol") => "6".to_string(),
        (_, "start") => "1767866700".to_string(),
        (_, "end") => "1767866760".to_string(),
        (FlowType::Str, _) => format!("v-{name}"),
        (_, _) => (i * 7).to_string(),
    }
}

#[test]
fn every_documented_field_maps_in_any_order() {
    // Every field, in reverse order, plus the v2 subset shuffled.
    let mut names: Vec<&str> = FLOW_FIELDS.iter().map(|f| f.aws_name).collect();
    names.reverse();
    let values: Vec<String> = names
        .iter()
        .map(|n| {
            let i = FLOW_FIELDS.iter().position(|f| f.aws_name == *n).unwrap();
            sample_value(i, FLOW_FIELDS[i].ty, n)
        })
        .collect();
    let text = format!("{}\n{}\n", names.join(" "), values.join(" "));
    let (sink, stats) = decode(&text);
    assert_eq!(
        stats,
        FlowStats {
            lines: 2,
            records: 1,
            quarantined: 0,
            ..Default::default()
        }
    );
    assert_eq!(sink.batches[0].schema(), decoded_flows_schema());
    for (i, f) in FLOW_FIELDS.iter().enumerate() {
        let want = sample_value(i, f.ty, f.aws_name);
        match f.ty {
            FlowType::Str => assert_eq!(strs(&sink, f.column), vec![Some(want)], "{}", f.column),
            _ => assert_eq!(
                ints(&sink, f.column),
                vec![Some(want.parse().unwrap())],
                "{}",
                f.column
            ),
        }
    }
    assert_eq!(extras(&sink), vec![None]);
    assert_eq!(ints(&sink, "event_time"), vec![Some(1_767_866_700_000)]);
}

#[test]
fn fields_absent_from_the_format_are_null() {
    let (sink, _) = decode(&format!(
        "{V2_HEADER}\n2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 1767866760 ACCEPT OK\n"
    ));
    for f in FLOW_FIELDS.iter().filter(|f| f.version > 2) {
        let all_null = sink.batches[0]
            .column_by_name(f.column)
            .map(|c| c.null_count() == c.len());
        assert_eq!(all_null, Some(true), "{}", f.column);
    }
    assert_eq!(strs(&sink, "action"), vec![Some("ACCEPT".into())]);
}

#[test]
fn dash_is_null_for_every_type_and_nodata_skipdata_rows_are_kept() {
    let all: Vec<&str> = FLOW_FIELDS.iter().map(|f| f.aws_name).collect();
    let dashes = vec!["-"; all.len()].join(" ");
    let text = format!(
        "{V2_HEADER}\n2 123456789012 eni-1 - - - - - - - 1767866700 1767866760 - NODATA\n2 123456789012 eni-1 - - - - - - - 1767866700 1767866760 - SKIPDATA\n"
    );
    let (sink, stats) = decode(&text);
    assert_eq!(stats.records, 2);
    assert_eq!(
        strs(&sink, "log_status"),
        vec![Some("NODATA".into()), Some("SKIPDATA".into())]
    );
    assert_eq!(ints(&sink, "srcport"), vec![None, None]);
    assert_eq!(ints(&sink, "bytes"), vec![None, None]);
    assert_eq!(strs(&sink, "srcaddr"), vec![None, None]);

    let (sink, _) = decode(&format!("{}\n{dashes}\n", all.join(" ")));
    for f in FLOW_FIELDS {
        let c = sink.batches[0].column_by_name(f.column).unwrap();
        assert_eq!(c.null_count(), 1, "{}", f.column);
    }
    assert_eq!(ints(&sink, "event_time"), vec![None]);
}

#[test]
fn account_id_stays_a_string() {
    let (sink, _) = decode(&format!(
        "{V2_HEADER}\n2 012345678901 eni-1 - - - - - - - 1 2 - NODATA\n2 unknown eni-1 - - - - - - - 1 2 - NODATA\n"
    ));
    assert_eq!(
        strs(&sink, "account_id"),
        vec![Some("012345678901".into()), Some("unknown".into())]
    );
}

#[test]
fn unknown_fields_are_kept_in_extra_fields() {
    let text = "version future-a srcport future-b\n11 x1 443 -\n11 - 80 y2\n";
    let (sink, stats) = decode(text);
    assert_eq!(stats.records, 2);
    assert_eq!(
        extras(&sink),
        vec![
            Some(vec![
                ("future-a".into(), Some("x1".into())),
                ("future-b".into(), None)
            ]),
            Some(vec![
                ("future-a".into(), None),
                ("future-b".into(), Some("y2".into()))
            ]),
        ]
    );
    assert_eq!(ints(&sink, "srcport"), vec![Some(443), Some(80)]);
}

#[test]
fn event_time_source_key_and_fallbacks() {
    struct Case {
        name: &'static str,
        text: &'static str,
        fb_account: Option<&'static str>,
        fb_region: Option<&'static str>,
        fb_time: Option<i64>,
        account: Option<&'static str>,
        region: Option<&'static str>,
        event_time: Option<i64>,
    }
    let cases = [
        Case {
            name: "start",
            text: "start account-id region\n100 111 eu-west-1\n",
            fb_account: Some("999"),
            fb_region: Some("us-east-1"),
            fb_time: Some(5),
            account: Some("111"),
            region: Some("eu-west-1"),
            event_time: Some(100_000),
        },
        Case {
            name: "dashes use fallbacks",
            text: "start account-id region\n- - -\n",
            fb_account: Some("999"),
            fb_region: Some("us-east-1"),
            fb_time: Some(5),
            account: Some("999"),
            region: Some("us-east-1"),
            event_time: Some(5),
        },
        Case {
            name: "dashes, no fallbacks",
            text: "start account-id region\n- - -\n",
            fb_account: None,
            fb_region: None,
            fb_time: None,
            account: None,
            region: None,
            event_time: None,
        },
        Case {
            name: "absent use fallbacks",
            text: "srcport\n22\n",
            fb_account: Some("012"),
            fb_region: Some("ap-south-1"),
            fb_time: Some(7),
            account: Some("012"),
            region: Some("ap-south-1"),
            event_time: Some(7),
        },
        Case {
            name: "absent, no fallbacks",
            text: "srcport\n22\n",
            fb_account: None,
            fb_region: None,
            fb_time: None,
            account: None,
            region: None,
            event_time: None,
        },
    ];
    for c in cases {
        let opts = FlowDecodeOptions {
            fallback_account_id: c.fb_account.map(Into::into),
            fallback_region: c.fb_region.map(Into::into),
            fallback_time_ms: c.fb_time,
            ..Default::default()
        };
        let (sink, r) = decode_with(c.text.as_bytes(), &opts);
        assert_eq!(r.ok().map(|s| s.records), Some(1), "{}", c.name);
        assert_eq!(
            strs(&sink, "account_id"),
            vec![c.account.map(Into::into)],
            "{}",
            c.name
        );
        assert_eq!(
            strs(&sink, "region"),
            vec![c.region.map(Into::into)],
            "{}",
            c.name
        );
        assert_eq!(ints(&sink, "event_time"), vec![c.event_time], "{}", c.name);
        assert_eq!(
            strs(&sink, "source_key"),
            vec![Some(KEY.to_string())],
            "{}",
            c.name
        );
        let ty = sink.batches[0]
            .column_by_name("event_time")
            .map(|c| c.data_type().clone());
        assert_eq!(ty, Some(flowtrail_core::schema::timestamp_type()));
        // The key is held once, as a dictionary of its one value.
        let key = sink.batches[0].column_by_name("source_key").unwrap();
        let key = key.as_dictionary::<arrow::datatypes::Int32Type>();
        assert_eq!(key.values().len(), 1, "{}", c.name);
        assert!(key.keys().values().iter().all(|&k| k == 0), "{}", c.name);
    }
}

#[test]
fn header_detection_and_format_errors() {
    let v5 = FlowFormat::parse("${account-id} ${srcport} ${region}").unwrap();
    let v2_line =
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 1767866760 ACCEPT OK";
    /// Ok(records) or Err(a fragment of the format error).
    type Want = Result<u64, &'static str>;
    // (name, input, configured format, want)
    let cases: Vec<(&str, String, Option<FlowFormat>, Want)> = vec![
        ("header", format!("{V2_HEADER}\n{v2_line}\n"), None, Ok(1)),
        (
            "header wins over config",
            format!("{V2_HEADER}\n{v2_line}\n"),
            Some(v5.clone()),
            Ok(1),
        ),
        (
            "blank lines before the header",
            format!("\n  \n{V2_HEADER}\n{v2_line}\n"),
            None,
            Ok(1),
        ),
        (
            "header-less, default v2",
            format!("{v2_line}\n{v2_line}\n"),
            None,
            Ok(2),
        ),
        (
            "header-less, configured",
            "012345678901 22 us-east-1\n".into(),
            Some(v5.clone()),
            Ok(1),
        ),
        (
            "header-less, no format",
            "012345678901 22 us-east-1\n".into(),
            None,
            Err("no header line and no configured format"),
        ),
        (
            "duplicate header field",
            "version srcport srcport\n2 1 2\n".into(),
            None,
            Err("duplicate field \"srcport\""),
        ),
        ("empty object", String::new(), None, Ok(0)),
        ("header only", format!("{V2_HEADER}\n"), None, Ok(0)),
    ];
    for (name, input, format, want) in cases {
        let opts = FlowDecodeOptions {
            format,
            ..Default::default()
        };
        let (sink, got) = decode_with(input.as_bytes(), &opts);
        match (want, got) {
            (Ok(n), Ok(stats)) => {
                assert_eq!(stats.records, n, "{name}");
                assert_eq!(sink.rows() as u64, n, "{name}");
                assert!(
                    sink.quarantined.is_empty(),
                    "{name}: {:?}",
                    sink.quarantined
                );
            }
            (Err(frag), Err(IngestError::Format { key, reason })) => {
                assert_eq!(key, KEY, "{name}");
                assert!(reason.contains(frag), "{name}: {reason}");
            }
            (want, got) => panic!("{name}: want {want:?}, got {got:?}"),
        }
    }
}

#[test]
fn bad_lines_are_quarantined_with_line_and_reason() {
    let text = [
        V2_HEADER, // 1
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 1767866760 ACCEPT OK", // 2 good
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 1767866760 ACCEPT", // 3
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 abc 49152 6 10 840 1767866700 1767866760 ACCEPT OK", // 4
        "", // 5 blank
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 70000 6 10 840 1767866700 1767866760 ACCEPT OK", // 6
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 256 10 840 1767866700 1767866760 ACCEPT OK", // 7
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 -840 1767866700 1767866760 ACCEPT OK", // 8
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 -1 840 1767866700 1767866760 ACCEPT OK", // 9
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 17678667.5 1767866760 ACCEPT OK", // 10
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 soon ACCEPT OK", // 11
        "2 123456789012 eni-\u{ff} 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 1767866760 ACCEPT OK", // 12 valid UTF-8
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 1767866760 ACCEPT OK 9", // 13 good, one extra value
        "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 1767866760 REJECT OK", // 14 good
    ]
    .join("\n");
    let mut bytes = text.into_bytes();
    // Line 15: invalid UTF-8 in a string field.
    bytes.extend_from_slice(b"\n2 123456789012 eni-\xff\xfe 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 1767866760 ACCEPT OK\n");
    let (sink, r) = decode_with(&bytes, &FlowDecodeOptions::default());
    let stats = r.unwrap();
    let want: Vec<(Option<u64>, String)> = [
        (3, "expected 14 fields, found 13"),
        (4, "srcport: invalid integer \"abc\""),
        (6, "dstport: 70000 out of range 0..=65535"),
        (7, "protocol: 256 out of range 0..=255"),
        (8, "bytes: -840 out of range 0..=9223372036854775807"),
        (9, "packets: -1 out of range 0..=9223372036854775807"),
        (10, "start: invalid integer \"17678667.5\""),
        (11, "end: invalid integer \"soon\""),
        (15, "interface-id: invalid UTF-8 \"eni-\u{fffd}\u{fffd}\""),
    ]
    .iter()
    .map(|(l, r)| (Some(*l), r.to_string()))
    .collect();
    assert_eq!(reasons(&sink), want);
    assert_eq!(
        stats,
        FlowStats {
            lines: 15,
            records: 4,
            quarantined: 9,
            extra_values: 1,
        }
    );
    assert_eq!(
        strs(&sink, "interface_id"),
        vec![
            Some("eni-1".into()),
            Some("eni-\u{ff}".into()),
            Some("eni-1".into()),
            Some("eni-1".into())
        ]
    );
    let q = &sink.quarantined[1];
    assert_eq!(q.object, KEY);
    assert!(q.raw.as_deref().unwrap_or("").contains(" abc "));
}

#[test]
fn crlf_tabs_and_runs_of_spaces() {
    let text = format!(
        "{V2_HEADER}\r\n2  123456789012\teni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 1767866760 ACCEPT OK \r\n\r\n2 1 eni-2 - - - - - - - 1 2 - NODATA"
    );
    let (sink, stats) = decode(&text);
    assert_eq!(
        stats,
        FlowStats {
            lines: 4,
            records: 2,
            quarantined: 0,
            ..Default::default()
        }
    );
    assert_eq!(
        strs(&sink, "log_status"),
        vec![Some("OK".into()), Some("NODATA".into())]
    );
    assert_eq!(
        strs(&sink, "account_id"),
        vec![Some("123456789012".into()), Some("1".into())]
    );
}

fn v2_lines(n: usize) -> String {
    let mut s = format!("{V2_HEADER}\n");
    for i in 0..n {
        s.push_str(&format!(
            "2 123456789012 eni-{i:08x} 10.0.{}.{} 172.16.0.1 {} 443 6 {} {} 1767866700 1767866760 ACCEPT OK\n",
            i % 256,
            (i / 256) % 256,
            1024 + i % 60000,
            i % 100,
            i * 40
        ));
    }
    s
}

#[test]
fn truncated_gzip_keeps_complete_lines_then_fails_naming_the_key() {
    let text = v2_lines(20_000);
    let data = gz(text.as_bytes());
    let cut = &data[..data.len() * 3 / 4];
    let (sink, r) = decode_with(cut, &FlowDecodeOptions::default());
    match r {
        Err(IngestError::Decompress { key, .. }) => assert_eq!(key, KEY),
        other => panic!("expected a decompress error, got {other:?}"),
    }
    let rows = sink.rows();
    assert!(rows > 1000 && rows < 20_000, "{rows}");
    // Only complete lines: the rows are exactly the first `rows` records.
    let ids = strs(&sink, "interface_id");
    assert_eq!(
        ids.last().cloned().flatten(),
        Some(format!("eni-{:08x}", rows - 1))
    );
    assert!(sink.quarantined.is_empty());
}

#[test]
fn size_limit_mid_stream_keeps_what_was_decoded() {
    let text = v2_lines(50_000);
    let data = gz(text.as_bytes());
    let mut sink = VecSink::default();
    let mut reader = ObjectReader::new(KEY, &data, (text.len() / 2) as u64);
    let r = decode_flow_text(KEY, &mut reader, &FlowDecodeOptions::default(), &mut sink);
    assert!(matches!(r, Err(IngestError::TooLarge { .. })), "{r:?}");
    assert!(sink.rows() > 10_000);
}

#[test]
fn multi_member_gzip_decodes_every_member() {
    let mut data = gz(format!("{V2_HEADER}\n2 1 eni-a - - - - - - - 1 2 - NODATA\n").as_bytes());
    data.extend(gz(b"2 1 eni-b - - - - - - - 1 2 - NODATA\n"));
    data.extend(gz(b"2 1 eni-c - - - - - - - 1 2 - SKIPDATA\n"));
    let (sink, r) = decode_with(&data, &FlowDecodeOptions::default());
    assert_eq!(r.unwrap().records, 3);
    assert_eq!(
        strs(&sink, "interface_id"),
        vec![
            Some("eni-a".into()),
            Some("eni-b".into()),
            Some("eni-c".into())
        ]
    );
}

#[test]
fn batches_are_cut_every_batch_rows() {
    let opts = FlowDecodeOptions {
        batch_rows: 3,
        ..Default::default()
    };
    let (sink, r) = decode_with(v2_lines(10).as_bytes(), &opts);
    assert_eq!(r.unwrap().records, 10);
    let sizes: Vec<usize> = sink.batches.iter().map(|b| b.num_rows()).collect();
    assert_eq!(sizes, vec![3, 3, 3, 1]);
    assert!(
        sink.batches
            .iter()
            .all(|b| b.schema() == decoded_flows_schema())
    );
}

#[test]
fn lines_across_chunk_boundaries_and_overlong_lines() {
    // ~3 chunks of records, a bad line far past the first chunk, and one over-long line.
    let mut text = v2_lines(30_000);
    text.push_str("2 1 eni-x - - bad - - - - 1 2 - NODATA\n"); // line 30_002
    text.push_str(&"x".repeat(text::CHUNK + 10));
    text.push('\n'); // line 30_003
    text.push_str("2 1 eni-last - - - - - - - 1 2 - NODATA"); // line 30_004, no newline
    let (sink, r) = decode_with(
        gz(text.as_bytes()).as_slice(),
        &FlowDecodeOptions::default(),
    );
    let stats = r.unwrap();
    assert_eq!(
        stats,
        FlowStats {
            lines: 30_004,
            records: 30_001,
            quarantined: 2,
            ..Default::default()
        }
    );
    let q = reasons(&sink);
    assert_eq!(
        q[0],
        (Some(30_002), "srcport: invalid integer \"bad\"".to_string())
    );
    assert_eq!(
        q[1],
        (
            Some(30_003),
            format!("line longer than {} bytes", text::CHUNK)
        )
    );
    let ids = strs(&sink, "interface_id");
    assert_eq!(ids.last().cloned().flatten().as_deref(), Some("eni-last"));
    assert_eq!(ids[29_999].as_deref(), Some("eni-0000752f"));
}

#[test]
fn cloudwatch_lines_keep_their_own_line_numbers() {
    let format = FlowFormat::parse("${version} ${srcport} ${account-id}").unwrap();
    let lines: Vec<(u64, &[u8])> = vec![
        (7, b"5 22 012345678901\n"),
        (9, b"5 x 1"),
        (11, b""),
        (12, b"5 - -\r\n"),
    ];
    let opts = FlowDecodeOptions {
        fallback_account_id: Some("999".into()),
        ..Default::default()
    };
    let mut sink = VecSink::default();
    let stats = decode_flow_lines(KEY, lines, &format, &opts, &mut sink).unwrap();
    assert_eq!(
        stats,
        FlowStats {
            lines: 4,
            records: 2,
            quarantined: 1,
            ..Default::default()
        }
    );
    assert_eq!(
        reasons(&sink),
        vec![(Some(9), "srcport: invalid integer \"x\"".to_string())]
    );
    assert_eq!(
        strs(&sink, "account_id"),
        vec![Some("012345678901".into()), Some("999".into())]
    );
    assert_eq!(ints(&sink, "srcport"), vec![Some(22), None]);
}

// ---- property: any field order, any values, written with a header, decode back equal ----

#[derive(Debug, Clone)]
enum Val {
    Null,
    Int(i64),
    Str(String),
}

fn value_strategy(name: &'static str, ty: FlowType) -> BoxedStrategy<Val> {
    let (min, max) = format::int_range(name, ty);
    let max = if format::is_epoch(name) {
        format::MAX_EPOCH_SECONDS
    } else {
        max.min(1 << 40)
    };
    let chars: Vec<char> = "abcXYZ019.:/_-é漢".chars().collect();
    let s = proptest::collection::vec(proptest::sample::select(chars), 1..12)
        .prop_map(|c| c.into_iter().collect::<String>())
        .prop_filter("not a lone dash", |s| s != "-");
    match ty {
        FlowType::Str => prop_oneof![1 => Just(Val::Null), 6 => s.prop_map(Val::Str)].boxed(),
        _ => prop_oneof![1 => Just(Val::Null), 6 => (min..=max).prop_map(Val::Int)].boxed(),
    }
}

fn render(v: &Val) -> String {
    match v {
        Val::Null => "-".into(),
        Val::Int(i) => i.to_string(),
        Val::Str(s) => s.clone(),
    }
}

fn case_strategy() -> impl Strategy<Value = (Vec<usize>, Vec<Vec<Val>>, bool)> {
    // A random subset of fields in random order (indexes into FLOW_FIELDS; one past the end is an
    // unknown field), then 1..20 rows of values.
    let all: Vec<usize> = (0..=FLOW_FIELDS.len()).collect();
    (
        proptest::sample::subsequence(all, 1..=FLOW_FIELDS.len() + 1).prop_shuffle(),
        any::<bool>(),
    )
        .prop_flat_map(|(fields, gzip)| {
            let row: Vec<BoxedStrategy<Val>> = fields
                .iter()
                .map(|&i| match FLOW_FIELDS.get(i) {
                    Some(f) => value_strategy(f.aws_name, f.ty),
                    None => value_strategy("future-field", FlowType::Str),
                })
                .collect();
            (
                Just(fields),
                proptest::collection::vec(row, 1..20),
                Just(gzip),
            )
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn round_trip_any_field_order((fields, rows, gzip) in case_strategy()) {
        let names: Vec<&str> = fields.iter().map(|&i| FLOW_FIELDS.get(i).map_or("future-field", |f| f.aws_name)).collect();
        let mut text = names.join(" ");
        text.push('\n');
        for row in &rows {
            text.push_str(&row.iter().map(render).collect::<Vec<_>>().join(" "));
            text.push('\n');
        }
        let data = if gzip { gz(text.as_bytes()) } else { text.into_bytes() };
        let opts = FlowDecodeOptions { batch_rows: 7, ..Default::default() };
        let (sink, r) = decode_with(&data, &opts);
        let stats = r.map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(stats.records as usize, rows.len());
        prop_assert!(sink.quarantined.is_empty());
        for (fi, f) in FLOW_FIELDS.iter().enumerate() {
            let want: Vec<Val> = match fields.iter().position(|&i| i == fi) {
                Some(pos) => rows.iter().map(|r| r[pos].clone()).collect(),
                None => vec![Val::Null; rows.len()],
            };
            match f.ty {
                FlowType::Str => {
                    let want: Vec<Option<String>> = want.iter().map(|v| match v { Val::Str(s) => Some(s.clone()), _ => None }).collect();
                    prop_assert_eq!(strs(&sink, f.column), want, "{}", f.column);
                }
                _ => {
                    let want: Vec<Option<i64>> = want.iter().map(|v| match v { Val::Int(i) => Some(*i), _ => None }).collect();
                    prop_assert_eq!(ints(&sink, f.column), want, "{}", f.column);
                }
            }
        }
        let extra_pos = fields.iter().position(|&i| i == FLOW_FIELDS.len());
        let want_extra: Vec<ExtraRow> = rows
            .iter()
            .map(|r| extra_pos.map(|p| vec![("future-field".to_string(), match &r[p] { Val::Str(s) => Some(s.clone()), _ => None })]))
            .collect();
        prop_assert_eq!(extras(&sink), want_extra);
        let start_pos = fields.iter().position(|&i| FLOW_FIELDS.get(i).is_some_and(|f| f.aws_name == "start"));
        let want_time: Vec<Option<i64>> = rows
            .iter()
            .map(|r| match start_pos.map(|p| &r[p]) { Some(Val::Int(s)) => Some(s * 1000), _ => None })
            .collect();
        prop_assert_eq!(ints(&sink, "event_time"), want_time);
    }
}

// ---- formats seen in public flow-log test vectors ----

#[test]
fn millisecond_start_and_end_are_stored_as_seconds() {
    let text = format!(
        "{V2_HEADER}\n\
         2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1512564058000 1512564118999 ACCEPT OK\n\
         2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1512564058 1512564118 ACCEPT OK\n\
         2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 100000000000 100000000001 ACCEPT OK\n"
    );
    let (sink, stats) = decode(&text);
    assert_eq!(stats.records, 3);
    assert!(sink.quarantined.is_empty(), "{:?}", reasons(&sink));
    assert_eq!(
        ints(&sink, "start"),
        vec![
            Some(1_512_564_058),
            Some(1_512_564_058),
            Some(100_000_000_000)
        ]
    );
    assert_eq!(
        ints(&sink, "end"),
        vec![Some(1_512_564_118), Some(1_512_564_118), Some(100_000_000)]
    );
    // event_time keeps the milliseconds given (2017-12-06T12:40:58Z).
    assert_eq!(
        ints(&sink, "event_time"),
        vec![
            Some(1_512_564_058_000),
            Some(1_512_564_058_000),
            Some(100_000_000_000_000)
        ]
    );
}

#[test]
fn values_past_the_end_of_the_format_are_kept_in_extra_fields() {
    let text = format!(
        "{V2_HEADER}\n\
         2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 1767866760 ACCEPT OK\n\
         2 123456789012 eni-2 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 1767866760 REJECT OK vpc-9 -\n\
         2 123456789012 eni-3 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 1767866760 ACCEPT\n"
    );
    let (sink, stats) = decode(&text);
    assert_eq!(
        stats,
        FlowStats {
            lines: 4,
            records: 2,
            quarantined: 1,
            extra_values: 2,
        }
    );
    assert_eq!(
        strs(&sink, "interface_id"),
        vec![Some("eni-1".into()), Some("eni-2".into())]
    );
    assert_eq!(
        strs(&sink, "action"),
        vec![Some("ACCEPT".into()), Some("REJECT".into())]
    );
    assert_eq!(
        extras(&sink),
        vec![
            None,
            Some(vec![
                ("_extra_15".into(), Some("vpc-9".into())),
                ("_extra_16".into(), None)
            ])
        ]
    );
    assert_eq!(
        reasons(&sink),
        vec![(Some(4), "expected 14 fields, found 13".to_string())]
    );
}

#[test]
fn extra_values_join_the_unknown_fields_of_the_format() {
    let text = "version future-a srcport\n11 x1 443\n11 x2 80 tail\n";
    let opts = FlowDecodeOptions {
        batch_rows: 1,
        ..Default::default()
    };
    for opts in [FlowDecodeOptions::default(), opts] {
        let (sink, r) = decode_with(text.as_bytes(), &opts);
        assert_eq!(r.unwrap().extra_values, 1);
        assert_eq!(
            extras(&sink),
            vec![
                Some(vec![("future-a".into(), Some("x1".into()))]),
                Some(vec![
                    ("future-a".into(), Some("x2".into())),
                    ("_extra_4".into(), Some("tail".into()))
                ]),
            ]
        );
    }
}

/// Counts WARN events (a minimal subscriber, so the test needs no logging crate).
#[derive(Default)]
struct WarnCounter(std::sync::atomic::AtomicUsize);

impl tracing::Subscriber for WarnCounter {
    fn enabled(&self, _: &tracing::Metadata<'_>) -> bool {
        true
    }
    fn new_span(&self, _: &tracing::span::Attributes<'_>) -> tracing::span::Id {
        tracing::span::Id::from_u64(1)
    }
    fn record(&self, _: &tracing::span::Id, _: &tracing::span::Record<'_>) {}
    fn record_follows_from(&self, _: &tracing::span::Id, _: &tracing::span::Id) {}
    fn event(&self, event: &tracing::Event<'_>) {
        if *event.metadata().level() == tracing::Level::WARN {
            self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }
    fn enter(&self, _: &tracing::span::Id) {}
    fn exit(&self, _: &tracing::span::Id) {}
}

#[test]
fn extra_values_warn_once_per_object() {
    let mut text = format!("{V2_HEADER}\n");
    for _ in 0..5 {
        text.push_str(
            "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 1767866760 ACCEPT OK x y\n",
        );
    }
    let counter = std::sync::Arc::new(WarnCounter::default());
    let stats = tracing::subscriber::with_default(counter.clone(), || {
        let (_, r) = decode_with(text.as_bytes(), &FlowDecodeOptions::default());
        r.unwrap()
    });
    assert_eq!(stats.records, 5);
    assert_eq!(stats.extra_values, 10);
    assert_eq!(counter.0.load(std::sync::atomic::Ordering::Relaxed), 1);
}

const V2_LINE: &str =
    "2 123456789012 eni-1 10.0.0.1 10.0.0.2 443 49152 6 10 840 1767866700 1767866760 ACCEPT OK";

#[test]
fn cloudwatch_export_lines_are_unwrapped() {
    let text = format!(
        "{{\"timestamp\": 1767866700000, \"message\": \"{V2_LINE}\", \"ingestionTime\": 1767866760000}}\n\
         {{\"message\":\"2 123456789012 eni-2\\u0020- - - - - - - 1767866700 1767866760 - NODATA\\n\"}}\n\
         {{\"timestamp\": 1767866700000}}\n\
         {{\"message\": \"2 123456789012 eni-3 - - - - - - - x 1767866760 - NODATA\"}}\n\
         {V2_LINE}\n"
    );
    let (sink, stats) = decode(&text);
    assert_eq!(stats.records, 3, "{:?}", reasons(&sink));
    assert_eq!(
        strs(&sink, "interface_id"),
        vec![
            Some("eni-1".into()),
            Some("eni-2".into()),
            Some("eni-1".into())
        ]
    );
    assert_eq!(
        strs(&sink, "log_status"),
        vec![Some("OK".into()), Some("NODATA".into()), Some("OK".into())]
    );
    let q = reasons(&sink);
    assert_eq!(q.len(), 2, "{q:?}");
    assert_eq!(q[0].0, Some(3));
    assert!(q[0].1.contains("missing field `message`"), "{q:?}");
    assert_eq!(q[1], (Some(4), "start: invalid integer \"x\"".to_string()));
    // The quarantined line is the line as read.
    assert!(
        sink.quarantined[1]
            .raw
            .as_deref()
            .is_some_and(|r| r.starts_with("{\"message\""))
    );

    // After a header, and through the CloudWatch Logs entry point.
    let wrapped = format!("{{\"message\": \"{V2_LINE}\"}}");
    let (sink, stats) = decode(&format!("{V2_HEADER}\n{wrapped}\n"));
    assert_eq!((stats.records, sink.quarantined.len()), (1, 0));
    let mut sink = VecSink::default();
    let lines: Vec<(u64, &[u8])> = vec![(1, wrapped.as_bytes())];
    let stats = decode_flow_lines(
        KEY,
        lines,
        &FlowFormat::default_v2(),
        &FlowDecodeOptions::default(),
        &mut sink,
    )
    .unwrap();
    assert_eq!(stats.records, 1);
    assert_eq!(strs(&sink, "srcaddr"), vec![Some("10.0.0.1".into())]);
}

#[test]
fn a_byte_order_mark_before_the_first_line_is_skipped() {
    let custom = "\u{feff}account-id srcport region\n012345678901 22 eu-west-1\n";
    let (sink, stats) = decode(custom);
    assert_eq!(stats.records, 1, "{:?}", reasons(&sink));
    assert_eq!(strs(&sink, "account_id"), vec![Some("012345678901".into())]);
    assert_eq!(ints(&sink, "srcport"), vec![Some(22)]);

    let headerless = format!("\u{feff}{V2_LINE}\n{V2_LINE}\n");
    let (sink, stats) = decode(&headerless);
    assert_eq!((stats.records, stats.quarantined), (2, 0));
    assert_eq!(ints(&sink, "version"), vec![Some(2), Some(2)]);

    let gz_headerless = gz(headerless.as_bytes());
    let opts = FlowDecodeOptions {
        format: Some(FlowFormat::default_v2()),
        ..Default::default()
    };
    let (sink, r) = decode_with(&gz_headerless, &opts);
    assert_eq!(r.unwrap().records, 2);
    assert!(sink.quarantined.is_empty());
}

#[test]
fn a_small_object_makes_a_small_batch() {
    let text = v2_lines(50);
    for data in [text.clone().into_bytes(), gz(text.as_bytes())] {
        let (sink, r) = decode_with(&data, &FlowDecodeOptions::default());
        assert_eq!(r.unwrap().records, 50);
        assert_eq!(sink.batches.len(), 1);
        let size = batch_memory_size(&sink.batches[0]);
        assert!(size < 64 << 10, "a 50-row batch holds {size} bytes");
    }
}

#[test]
fn batches_of_a_large_object_hold_about_their_rows() {
    // Larger than the first chunk and the first row estimate: the builders grow, and every
    // batch holds buffers trimmed to its rows.
    let text = v2_lines(30_000);
    let opts = FlowDecodeOptions {
        batch_rows: 20_000,
        ..Default::default()
    };
    let (sink, r) = decode_with(gz(text.as_bytes()).as_slice(), &opts);
    assert_eq!(r.unwrap().records, 30_000);
    let sizes: Vec<usize> = sink.batches.iter().map(|b| b.num_rows()).collect();
    assert_eq!(sizes, vec![20_000, 10_000]);
    let bytes: Vec<usize> = sink.batches.iter().map(batch_memory_size).collect();
    // The second batch has half the rows of the first, and about half its bytes.
    assert!(bytes[1] * 10 < bytes[0] * 6, "{bytes:?}");
    assert!(bytes[0] / 20_000 < 1024, "{bytes:?}");
    let ids = strs(&sink, "interface_id");
    assert_eq!(ids[29_999].as_deref(), Some("eni-0000752f"));
}
