//! VPC Flow Logs text decoder: S3 objects (a header line naming the fields, then one record per
//! line) and header-less CloudWatch Logs events (the format comes from config), into Arrow
//! batches of the `flows` table ([`flows_schema`], with `source_key` held as a dictionary of the
//! object's one key: [`decoded_flows_schema`]).
//!
//! - [`format`](mod@format): [`FlowFormat`] (field order from a header or an AWS `LogFormat` string) and the
//!   plan mapping line positions to lake columns;
//! - `line`: field splitting, the hand-written integer parser and per-field checks;
//! - `builders`: column buffers and batch assembly;
//! - `row`: one line into the builders or quarantine, batching to the sink;
//! - `text`: streaming an object in chunks, header detection.
//!
//! Every documented field of every version (v2 to v11) maps to its lake column in any order;
//! fields the format lacks are null, `-` is null for every type, unknown fields go to
//! `extra_fields`. A bad line is quarantined with its line number and a reason naming the field;
//! the rest of the object still decodes.
//!
//! [`flows_schema`]: flowtrail_core::schema::flows::flows_schema
//! [`decoded_flows_schema`]: flowtrail_core::schema::flows::decoded_flows_schema

pub(crate) mod builders;
pub mod format;
mod line;
mod row;
mod text;

#[cfg(test)]
mod tests;

pub use format::FlowFormat;

use crate::IngestError;
use crate::compress::ObjectReader;
use crate::sink::DecodeSink;

/// Rows the builders are first sized for when the object's size is not known yet (they grow).
pub(crate) const DEFAULT_ROWS_HINT: usize = 1024;

/// How to decode flow-log text.
#[derive(Clone, Debug)]
pub struct FlowDecodeOptions {
    /// Rows per batch handed to the sink (default 65 536).
    pub batch_rows: usize,
    /// The format of header-less input (CloudWatch Logs delivery); used when the first line is
    /// not a header. Without it, header-less lines of 14 fields are read as the default format.
    pub format: Option<FlowFormat>,
    /// Account id (from the object key) for records with no `account-id` field or `-`.
    pub fallback_account_id: Option<String>,
    /// Region (from the object key) for records with no `region` field or `-`.
    pub fallback_region: Option<String>,
    /// `event_time` (UTC milliseconds) for records whose `start` is null or absent.
    pub fallback_time_ms: Option<i64>,
}

impl Default for FlowDecodeOptions {
    fn default() -> Self {
        Self {
            batch_rows: 65_536,
            format: None,
            fallback_account_id: None,
            fallback_region: None,
            fallback_time_ms: None,
        }
    }
}

/// What decoding one object did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FlowStats {
    /// Physical lines read, header and blank lines included.
    pub lines: u64,
    /// Records handed to the sink.
    pub records: u64,
    /// Lines quarantined.
    pub quarantined: u64,
    /// Values past the end of the format on records that had more values than it names (kept
    /// in `extra_fields` as `_extra_<position>`).
    pub extra_values: u64,
}

/// Stream-decode one flow-log object (a header line, then records; or header-less records, see
/// [`FlowDecodeOptions::format`]) into batches of the `flows` table.
///
/// Memory is bounded and follows the object: it is read in chunks of at most 1 MiB (a small
/// object in one small buffer), builders start at the object's row count when it fits in the
/// first chunk, and batches go to the sink every [`FlowDecodeOptions::batch_rows`] rows.
/// A UTF-8 byte order mark before the first line is skipped, and CloudWatch Logs export lines
/// (`{"message": "<record>", ...}`) are unwrapped. Bad lines are quarantined. A bad header (duplicate
/// fields) or header-less input with no usable format is an [`IngestError::Format`]. If the
/// reader fails part way (corrupt or truncated gzip, size limit), the records of the complete
/// lines before the failure are handed to the sink first, then the reader's error is returned.
pub fn decode_flow_text(
    key: &str,
    reader: &mut ObjectReader<'_>,
    opts: &FlowDecodeOptions,
    sink: &mut dyn DecodeSink,
) -> Result<FlowStats, IngestError> {
    text::decode(key, reader, opts, sink)
}

/// Decode header-less lines (CloudWatch Logs events), each with its own line number, in
/// `format`. A trailing `\n` / `\r\n` on a line is ignored; blank lines are skipped.
pub fn decode_flow_lines<'a>(
    key: &str,
    lines: impl IntoIterator<Item = (u64, &'a [u8])>,
    format: &FlowFormat,
    opts: &FlowDecodeOptions,
    sink: &mut dyn DecodeSink,
) -> Result<FlowStats, IngestError> {
    let lines = lines.into_iter();
    let rows_hint = match lines.size_hint() {
        (0, _) => DEFAULT_ROWS_HINT,
        (n, _) => n,
    };
    let mut dec = row::RowDecoder::new(key, format.clone(), opts, rows_hint);
    let mut n = 0;
    for (line_no, line) in lines {
        n += 1;
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        dec.check_utf8 = !line.is_ascii();
        dec.line(line_no, line, sink)?;
    }
    let mut stats = dec.finish(sink)?;
    stats.lines = n;
    Ok(stats)
}
