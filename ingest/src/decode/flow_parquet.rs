//! VPC Flow Logs delivered as parquet (`.log.parquet`): AWS names the columns with `_`
//! (`account_id`, `interface_id`) and types them INT_32 / INT_64 / STRING. Each column is
//! matched to its lake column whether it is spelled with `_` or `-`, cast to the lake type,
//! and the batch completed like the text decoder's: missing columns null, unknown columns in
//! `extra_fields` (as strings), `start`/`end` in milliseconds read as seconds, `event_time`
//! from `start`, `source_key`, key fallbacks for `account_id` and `region`.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type, SchemaRef};
use arrow::error::ArrowError;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use bytes::Bytes;
use flowtrail_core::nulls::null_array;
use flowtrail_core::schema::flows::{
    FLOW_FIELDS, FlowType, decoded_flows_schema, extra_fields_type, field_index,
};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::flow::builders::{extra_map_from_columns, flow_type};
use super::flow::format::{MAX_EPOCH_SECONDS, is_epoch};
use super::flow::{FlowDecodeOptions, FlowStats};
use crate::IngestError;
use crate::sink::DecodeSink;

/// Where each input column goes.
#[derive(Debug)]
struct ColumnMap {
    /// For each `FLOW_FIELDS` index, the input column holding it.
    known: Vec<Option<usize>>,
    /// Unknown input columns: (AWS-style name with `-`, input index).
    extra: Vec<(String, usize)>,
}

impl ColumnMap {
    fn new(schema: &SchemaRef) -> Result<ColumnMap, String> {
        let mut map = ColumnMap {
            known: vec![None; FLOW_FIELDS.len()],
            extra: Vec::new(),
        };
        for (i, field) in schema.fields().iter().enumerate() {
            let aws_name = field.name().to_ascii_lowercase().replace('_', "-");
            match field_index(&aws_name) {
                Some(fi) => {
                    if let Some(prev) = map.known[fi] {
                        return Err(format!(
                            "columns {:?} and {:?} are both {aws_name}",
                            schema.field(prev).name(),
                            field.name()
                        ));
                    }
                    map.known[fi] = Some(i);
                }
                None => {
                    if map.extra.iter().any(|(n, _)| *n == aws_name) {
                        return Err(format!("duplicate column {:?}", field.name()));
                    }
                    map.extra.push((aws_name, i));
                }
            }
        }
        Ok(map)
    }
}

/// Decode a parquet flow-log object into batches of the `flows` table.
///
/// A file that is not parquet, or is corrupt, is an [`IngestError::Format`]; batches handed to
/// the sink before a corrupt row group stay valid. Values that do not cast to the lake type
/// (a string where AWS writes an integer) become null.
pub fn decode_flow_parquet(
    key: &str,
    data: Bytes,
    opts: &FlowDecodeOptions,
    sink: &mut dyn DecodeSink,
) -> Result<FlowStats, IngestError> {
    let format_err = |reason: String| IngestError::Format {
        key: key.to_string(),
        reason,
    };
    let builder = ParquetRecordBatchReaderBuilder::try_new(data)
        .map_err(|e| format_err(format!("not a readable parquet file: {e}")))?;
    let map = ColumnMap::new(builder.schema()).map_err(&format_err)?;
    let reader = builder
        .with_batch_size(opts.batch_rows.max(1))
        .build()
        .map_err(|e| format_err(format!("not a readable parquet file: {e}")))?;
    let mut stats = FlowStats::default();
    for batch in reader {
        let batch = batch.map_err(|e| format_err(format!("reading parquet rows: {e}")))?;
        let rows = batch.num_rows() as u64;
        let out = convert(key, &batch, &map, opts).map_err(&format_err)?;
        stats.lines += rows;
        stats.records += rows;
        sink.batch(out)?;
    }
    tracing::debug!(
        key,
        records = stats.records,
        "decoded parquet flow-log object"
    );
    Ok(stats)
}

/// One input batch into a `flows` batch.
fn convert(
    key: &str,
    batch: &RecordBatch,
    map: &ColumnMap,
    opts: &FlowDecodeOptions,
) -> Result<RecordBatch, String> {
    let rows = batch.num_rows();
    let schema = decoded_flows_schema();
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    let mut start: Option<Int64Array> = None;
    for (fi, f) in FLOW_FIELDS.iter().enumerate() {
        let ty = flow_type(f.ty);
        let mut col = match map.known[fi] {
            Some(i) => {
                let input = batch.column(i);
                let cast_input = if f.ty != FlowType::Str && input.data_type().is_string() {
                    // `-` in a string column of numbers is null, like in text.
                    Arc::new(dash_to_null(
                        &to_strings(input).map_err(|e| format!("column {}: {e}", f.column))?,
                    ))
                } else {
                    input.clone()
                };
                cast(&cast_input, &ty).map_err(|e| {
                    format!(
                        "column {}: cannot read {} as {ty}: {e}",
                        f.column,
                        input.data_type()
                    )
                })?
            }
            None => null_array(&ty, rows),
        };
        if f.ty == FlowType::Str {
            let mut s = dash_to_null(col.as_string::<i32>());
            let fallback = match f.aws_name {
                "account-id" => opts.fallback_account_id.as_deref(),
                "region" => opts.fallback_region.as_deref(),
                _ => None,
            };
            if let Some(fb) = fallback.filter(|_| s.null_count() > 0) {
                s = s.iter().map(|v| Some(v.unwrap_or(fb))).collect();
            }
            col = Arc::new(s);
        }
        if is_epoch(f.aws_name) {
            let raw = col.as_primitive::<Int64Type>().clone();
            col = Arc::new(epoch_seconds(&raw));
            if f.aws_name == "start" {
                start = Some(raw);
            }
        }
        columns.push(col);
    }
    // extra_fields
    if map.extra.is_empty() {
        columns.push(null_array(&extra_fields_type(), rows));
    } else {
        let mut names = Vec::with_capacity(map.extra.len());
        let mut cols = Vec::with_capacity(map.extra.len());
        for (name, i) in &map.extra {
            names.push(name.clone());
            cols.push(dash_to_null(
                &to_strings(batch.column(*i)).map_err(|e| format!("column {name}: {e}"))?,
            ));
        }
        columns.push(
            extra_map_from_columns(&names, &cols, rows)
                .map_err(|e| format!("extra_fields: {e}"))?,
        );
    }
    // event_time
    let fallback = opts.fallback_time_ms;
    let event_time: TimestampMillisecondArray = match &start {
        Some(start) => start
            .iter()
            .map(|s| s.and_then(epoch_millis).or(fallback))
            .collect(),
        None => std::iter::repeat_n(fallback, rows).collect(),
    };
    columns.push(Arc::new(event_time.with_timezone("UTC")));
    let key = flowtrail_core::schema::one_value_dictionary(key, rows)
        .map_err(|e| format!("building a flows batch: {e}"))?;
    columns.push(Arc::new(key));
    RecordBatch::try_new(schema, columns).map_err(|e| format!("building a flows batch: {e}"))
}

/// Any column as UTF-8 strings (cast where Arrow can, display formatting otherwise).
fn to_strings(col: &ArrayRef) -> Result<StringArray, ArrowError> {
    if let Ok(c) = cast(col, &DataType::Utf8) {
        return Ok(c.as_string::<i32>().clone());
    }
    let fmt = ArrayFormatter::try_new(col.as_ref(), &FormatOptions::default())?;
    Ok((0..col.len())
        .map(|i| col.is_valid(i).then(|| fmt.value(i).to_string()))
        .collect())
}

/// `start`/`end` as epoch seconds: values above [`MAX_EPOCH_SECONDS`] are milliseconds.
fn epoch_seconds(raw: &Int64Array) -> Int64Array {
    if raw.values().iter().any(|&v| v > MAX_EPOCH_SECONDS) {
        raw.unary(|v| if v > MAX_EPOCH_SECONDS { v / 1000 } else { v })
    } else {
        raw.clone()
    }
}

/// An epoch `start` (seconds, or milliseconds above [`MAX_EPOCH_SECONDS`]) in milliseconds.
fn epoch_millis(v: i64) -> Option<i64> {
    if v > MAX_EPOCH_SECONDS {
        Some(v)
    } else {
        v.checked_mul(1000)
    }
}

/// `-` values as nulls.
fn dash_to_null(s: &StringArray) -> StringArray {
    if s.iter().any(|v| v == Some("-")) {
        s.iter().map(|v| v.filter(|v| *v != "-")).collect()
    } else {
        s.clone()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int32Array, Int64Array, MapArray, StringArray};
    use arrow::datatypes::{Field, Schema};
    use parquet::arrow::ArrowWriter;

    use super::*;
    use crate::sink::VecSink;

    const KEY: &str = "AWSLogs/aws-account-id=111122223333/aws-service=vpcflowlogs/aws-region=us-east-1/year=2026/month=01/day=09/x.log.parquet";

    /// A file shaped like AWS's delivery: `_` names, INT_32/INT_64/STRING, our columns in another
    /// order, one future column, one `-`-named column and numbers stored as strings.
    fn aws_file() -> Bytes {
        let schema = Arc::new(Schema::new(vec![
            Field::new("start", DataType::Int64, true),
            Field::new("srcport", DataType::Int32, true),
            Field::new("future_col", DataType::Int64, true),
            Field::new("account_id", DataType::Utf8, true),
            Field::new("log-status", DataType::Utf8, true),
            Field::new("region", DataType::Utf8, true),
            Field::new("bytes", DataType::Utf8, true),
            Field::new("interface_id", DataType::Utf8, true),
        ]));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![Some(1_767_866_700), None, Some(5)])),
            Arc::new(Int32Array::from(vec![Some(443), Some(22), None])),
            Arc::new(Int64Array::from(vec![Some(9), None, Some(10)])),
            Arc::new(StringArray::from(vec![
                Some("012345678901"),
                Some("-"),
                None,
            ])),
            Arc::new(StringArray::from(vec![
                Some("OK"),
                Some("NODATA"),
                Some("SKIPDATA"),
            ])),
            Arc::new(StringArray::from(vec![Some("eu-west-1"), None, Some("-")])),
            Arc::new(StringArray::from(vec![Some("840"), Some("-"), Some("x")])),
            Arc::new(StringArray::from(vec![
                Some("eni-1"),
                Some("eni-2"),
                Some("-"),
            ])),
        ];
        let batch = RecordBatch::try_new(schema.clone(), cols).unwrap();
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        Bytes::from(out)
    }

    fn strs(b: &RecordBatch, col: &str) -> Vec<Option<String>> {
        cast(b.column_by_name(col).unwrap(), &DataType::Utf8)
            .unwrap()
            .as_string::<i32>()
            .iter()
            .map(|v| v.map(str::to_string))
            .collect()
    }

    fn ints(b: &RecordBatch, col: &str) -> Vec<Option<i64>> {
        let c = cast(b.column_by_name(col).unwrap(), &DataType::Int64).unwrap();
        c.as_primitive::<Int64Type>().iter().collect()
    }

    #[test]
    fn aws_parquet_maps_to_the_decoded_flows_schema() {
        let opts = FlowDecodeOptions {
            fallback_account_id: Some("111122223333".into()),
            fallback_region: Some("us-east-1".into()),
            fallback_time_ms: Some(42),
            ..Default::default()
        };
        let mut sink = VecSink::default();
        let stats = decode_flow_parquet(KEY, aws_file(), &opts, &mut sink).unwrap();
        assert_eq!(
            stats,
            FlowStats {
                lines: 3,
                records: 3,
                quarantined: 0,
                ..Default::default()
            }
        );
        let b = &sink.batches[0];
        assert_eq!(b.schema(), decoded_flows_schema());
        let cases: &[(&str, Vec<Option<&str>>)] = &[
            (
                "account_id",
                vec![
                    Some("012345678901"),
                    Some("111122223333"),
                    Some("111122223333"),
                ],
            ),
            (
                "region",
                vec![Some("eu-west-1"), Some("us-east-1"), Some("us-east-1")],
            ),
            (
                "log_status",
                vec![Some("OK"), Some("NODATA"), Some("SKIPDATA")],
            ),
            ("interface_id", vec![Some("eni-1"), Some("eni-2"), None]),
            ("vpc_id", vec![None, None, None]),
            ("source_key", vec![Some(KEY); 3]),
        ];
        for (col, want) in cases {
            let want: Vec<Option<String>> = want.iter().map(|v| v.map(str::to_string)).collect();
            assert_eq!(strs(b, col), want, "{col}");
        }
        assert_eq!(ints(b, "srcport"), vec![Some(443), Some(22), None]);
        assert_eq!(ints(b, "bytes"), vec![Some(840), None, None]);
        assert_eq!(ints(b, "packets"), vec![None, None, None]);
        assert_eq!(
            ints(b, "event_time"),
            vec![Some(1_767_866_700_000), Some(42), Some(5000)]
        );
        let m: &MapArray = b.column_by_name("extra_fields").unwrap().as_map();
        let row = |i: usize| {
            let e = m.value(i);
            let k = e.column(0).as_string::<i32>().value(0).to_string();
            let v = e.column(1).as_string::<i32>();
            (k, v.is_valid(0).then(|| v.value(0).to_string()))
        };
        assert_eq!(row(0), ("future-col".to_string(), Some("9".to_string())));
        assert_eq!(row(1), ("future-col".to_string(), None));
    }

    #[test]
    fn batches_follow_batch_rows_and_extra_fields_null_without_unknown_columns() {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "srcport",
            DataType::Int32,
            true,
        )]));
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![Arc::new(Int32Array::from((0..5).collect::<Vec<i32>>()))],
        )
        .unwrap();
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, schema, None).unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();
        let opts = FlowDecodeOptions {
            batch_rows: 2,
            ..Default::default()
        };
        let mut sink = VecSink::default();
        decode_flow_parquet(KEY, Bytes::from(out), &opts, &mut sink).unwrap();
        let sizes: Vec<usize> = sink.batches.iter().map(|b| b.num_rows()).collect();
        assert_eq!(sizes, vec![2, 2, 1]);
        let extra = sink.batches[0].column_by_name("extra_fields").unwrap();
        assert_eq!(extra.null_count(), 2);
        assert_eq!(ints(&sink.batches[0], "event_time"), vec![None, None]);
    }

    #[test]
    fn millisecond_start_and_end_are_read_as_seconds() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("start", DataType::Int64, true),
            Field::new("end", DataType::Int64, true),
        ]));
        let cols: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![
                Some(1_512_564_058_000),
                Some(1_512_564_058),
                None,
            ])),
            Arc::new(Int64Array::from(vec![
                Some(1_512_564_118_500),
                Some(1_512_564_118),
                None,
            ])),
        ];
        let mut out = Vec::new();
        let mut w = ArrowWriter::try_new(&mut out, schema.clone(), None).unwrap();
        w.write(&RecordBatch::try_new(schema, cols).unwrap())
            .unwrap();
        w.close().unwrap();
        let mut sink = VecSink::default();
        decode_flow_parquet(
            KEY,
            Bytes::from(out),
            &FlowDecodeOptions::default(),
            &mut sink,
        )
        .unwrap();
        let b = &sink.batches[0];
        assert_eq!(
            ints(b, "start"),
            vec![Some(1_512_564_058), Some(1_512_564_058), None]
        );
        assert_eq!(
            ints(b, "end"),
            vec![Some(1_512_564_118), Some(1_512_564_118), None]
        );
        assert_eq!(
            ints(b, "event_time"),
            vec![Some(1_512_564_058_000), Some(1_512_564_058_000), None]
        );
    }

    #[test]
    fn not_parquet_or_ambiguous_columns_is_a_format_error() {
        let truncated = aws_file().slice(..100);
        let ambiguous = {
            let schema = Arc::new(Schema::new(vec![
                Field::new("account_id", DataType::Utf8, true),
                Field::new("account-id", DataType::Utf8, true),
            ]));
            let cols: Vec<ArrayRef> = vec![
                Arc::new(StringArray::from(vec!["1"])),
                Arc::new(StringArray::from(vec!["2"])),
            ];
            let mut out = Vec::new();
            let mut w = ArrowWriter::try_new(&mut out, schema.clone(), None).unwrap();
            w.write(&RecordBatch::try_new(schema, cols).unwrap())
                .unwrap();
            w.close().unwrap();
            Bytes::from(out)
        };
        let cases: Vec<(&str, Bytes, &str)> = vec![
            (
                "text",
                Bytes::from_static(b"version account-id\n2 1\n"),
                "not a readable parquet file",
            ),
            ("empty", Bytes::new(), "not a readable parquet file"),
            ("truncated", truncated, "not a readable parquet file"),
            ("ambiguous", ambiguous, "are both account-id"),
        ];
        for (name, data, frag) in cases {
            let mut sink = VecSink::default();
            match decode_flow_parquet(KEY, data, &FlowDecodeOptions::default(), &mut sink) {
                Err(IngestError::Format { key, reason }) => {
                    assert_eq!(key, KEY, "{name}");
                    assert!(reason.contains(frag), "{name}: {reason}");
                }
                other => panic!("{name}: expected a format error, got {other:?}"),
            }
        }
    }
}
