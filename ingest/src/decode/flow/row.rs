//! The row decoder shared by every text entry point: checks one line against the format,
//! quarantines it with a reason or appends it to the builders, and hands a batch to the sink
//! every `batch_rows` rows.
//!
//! A line may also be a CloudWatch Logs export record, `{"message": "<record>", ...}`: the
//! record is unwrapped first. Values past the end of the format are kept in `extra_fields`
//! under `_extra_<position>` (1-based), counted, and warned about once per object.

use std::borrow::Cow;

use super::builders::FlowBatchBuilder;
use super::format::{FlowFormat, MAX_FIELDS, Plan, Slot};
use super::line::{Cell, parse_cell, split_fields, strip_cr};
use super::{FlowDecodeOptions, FlowStats};
use crate::IngestError;
use crate::sink::DecodeSink;
use flowtrail_lake::quarantine::QuarantineRecord;

/// Cut a batch early once this many bytes of lines are buffered (keeps i32 string offsets and
/// memory bounded even with very long lines).
const MAX_BATCH_BYTES: usize = 256 << 20;

/// A CloudWatch Logs export line: the record is the `message` member; other members
/// (`timestamp`, `ingestionTime`, ...) are ignored.
#[derive(serde::Deserialize)]
struct Wrapped<'a> {
    #[serde(borrow)]
    message: Cow<'a, str>,
}

/// Whether a line is a JSON object (a CloudWatch Logs export record) rather than a record.
#[inline]
pub(crate) fn is_wrapped(line: &[u8]) -> bool {
    line.trim_ascii_start().first() == Some(&b'{')
}

/// The record inside a CloudWatch Logs export line, without trailing whitespace; or why there
/// is none.
pub(crate) fn unwrap_message(line: &[u8]) -> Result<Cow<'_, str>, String> {
    let w: Wrapped<'_> = serde_json::from_slice(line)
        .map_err(|e| format!("JSON line is not a CloudWatch Logs export record: {e}"))?;
    Ok(match w.message {
        Cow::Borrowed(m) => Cow::Borrowed(m.trim_end()),
        Cow::Owned(m) => Cow::Owned(m.trim_end().to_string()),
    })
}

/// Decodes lines of one format for one object.
#[derive(Debug)]
pub(crate) struct RowDecoder<'a> {
    key: &'a str,
    format: FlowFormat,
    plan: Plan,
    builder: FlowBatchBuilder,
    /// Fallback bytes per string builder (`account-id`, `region`) for a `-` value.
    str_fallback: Vec<Option<&'a [u8]>>,
    opts: &'a FlowDecodeOptions,
    batch_rows: usize,
    spans: Vec<(u32, u32)>,
    cells: Vec<Cell>,
    /// `_extra_<n>` keys for values past the end of the format, by position past the end.
    trailing_names: Vec<String>,
    pending_bytes: usize,
    /// Check string fields for valid UTF-8 (false while the input is known to be ASCII).
    pub check_utf8: bool,
    pub stats: FlowStats,
}

impl<'a> RowDecoder<'a> {
    /// A decoder for `format`, with builders sized for about `rows_hint` rows (at most a
    /// batch; they grow past it).
    pub fn new(
        key: &'a str,
        format: FlowFormat,
        opts: &'a FlowDecodeOptions,
        rows_hint: usize,
    ) -> Self {
        let plan = Plan::new(&format);
        let batch_rows = opts.batch_rows.max(1);
        let mut str_fallback = vec![None; plan.str_fields.len()];
        if let (Some(col), Some(v)) = (plan.account_col, opts.fallback_account_id.as_deref()) {
            str_fallback[col] = Some(v.as_bytes());
        }
        if let (Some(col), Some(v)) = (plan.region_col, opts.fallback_region.as_deref()) {
            str_fallback[col] = Some(v.as_bytes());
        }
        let builder = FlowBatchBuilder::new(&plan, rows_hint.clamp(1, batch_rows));
        let n = format.len();
        Self {
            key,
            format,
            plan,
            builder,
            str_fallback,
            opts,
            batch_rows,
            spans: Vec::with_capacity(n + 1),
            cells: Vec::with_capacity(n),
            trailing_names: Vec::new(),
            pending_bytes: 0,
            check_utf8: true,
            stats: FlowStats::default(),
        }
    }

    /// Decode one physical line (without its `\n`; a trailing `\r` is allowed). Blank lines are
    /// skipped.
    #[inline]
    pub fn line(
        &mut self,
        line_no: u64,
        line: &[u8],
        sink: &mut dyn DecodeSink,
    ) -> Result<(), IngestError> {
        let line = strip_cr(line);
        if is_wrapped(line) {
            return self.wrapped(line_no, line, sink);
        }
        self.record(line_no, line, line, sink)
    }

    /// A CloudWatch Logs export line: decode the record inside it.
    #[cold]
    fn wrapped(
        &mut self,
        line_no: u64,
        line: &[u8],
        sink: &mut dyn DecodeSink,
    ) -> Result<(), IngestError> {
        match unwrap_message(line) {
            Ok(msg) if msg.trim_start().is_empty() => {
                self.quarantine(line_no, "empty message".to_string(), line, sink);
                Ok(())
            }
            Ok(msg) => self.record(line_no, msg.as_bytes(), line, sink),
            Err(reason) => {
                self.quarantine(line_no, reason, line, sink);
                Ok(())
            }
        }
    }

    /// Decode one record; `raw` is the line as read, for quarantine.
    #[inline]
    fn record(
        &mut self,
        line_no: u64,
        line: &[u8],
        raw: &[u8],
        sink: &mut dyn DecodeSink,
    ) -> Result<(), IngestError> {
        split_fields(line, &mut self.spans);
        if self.spans.is_empty() {
            return Ok(());
        }
        let n = self.plan.slots.len();
        if self.spans.len() < n || self.spans.len() > n.max(MAX_FIELDS) {
            let reason = format!("expected {n} fields, found {}", self.spans.len());
            self.quarantine(line_no, reason, raw, sink);
            return Ok(());
        }
        self.cells.clear();
        let fields = self.spans.iter().enumerate();
        for (pos, &span) in fields {
            let slot = self
                .plan
                .slots
                .get(pos)
                .copied()
                .unwrap_or(Slot::Extra { idx: usize::MAX });
            let raw_field = &line[span.0 as usize..span.1 as usize];
            let format = &self.format;
            match parse_cell(slot, raw_field, span, self.check_utf8, || {
                format
                    .fields()
                    .get(pos)
                    .cloned()
                    .unwrap_or_else(|| trailing_name(pos))
            }) {
                Ok(cell) => self.cells.push(cell),
                Err(reason) => {
                    self.quarantine(line_no, reason, raw, sink);
                    return Ok(());
                }
            }
        }
        if self.spans.len() > n {
            self.note_trailing(line_no, self.spans.len() - n);
        }
        self.append(line);
        self.pending_bytes += line.len();
        if self.builder.rows() >= self.batch_rows || self.pending_bytes >= MAX_BATCH_BYTES {
            self.flush(sink)?;
        }
        Ok(())
    }

    /// Count values past the end of the format; warn on the first line of the object that has
    /// them.
    fn note_trailing(&mut self, line_no: u64, extra: usize) {
        if self.stats.extra_values == 0 {
            tracing::warn!(
                key = self.key,
                line = line_no,
                fields = self.plan.slots.len(),
                extra,
                "flow-log line has more values than its format names; the extra values are kept in extra_fields as _extra_<position> (warned once per object)"
            );
        }
        self.stats.extra_values += extra as u64;
        let n = self.plan.slots.len();
        while self.trailing_names.len() < extra {
            self.trailing_names
                .push(trailing_name(n + self.trailing_names.len()));
        }
    }

    /// Append the parsed cells of a valid line.
    #[inline]
    fn append(&mut self, line: &[u8]) {
        let n = self.plan.slots.len();
        let b = &mut self.builder;
        for (&slot, &cell) in self.plan.slots.iter().zip(self.cells.iter()) {
            match (slot, cell) {
                (Slot::Str { col }, Cell::Str(s, e)) => {
                    b.strs[col].append(&line[s as usize..e as usize])
                }
                (Slot::Str { col }, _) => match self.str_fallback[col] {
                    Some(v) => b.strs[col].append(v),
                    None => b.strs[col].append_null(),
                },
                (Slot::I32 { col, .. }, Cell::Int(v)) => b.i32s[col].append(v as i32),
                (Slot::I32 { col, .. }, _) => b.i32s[col].append_null(),
                (Slot::I64 { col, .. } | Slot::Epoch { col }, Cell::Int(v)) => {
                    b.i64s[col].append(v)
                }
                (Slot::Epoch { col }, Cell::Millis(ms)) => b.i64s[col].append(ms / 1000),
                (Slot::I64 { col, .. } | Slot::Epoch { col }, _) => b.i64s[col].append_null(),
                (Slot::Extra { idx }, cell) => {
                    let value = str_value(line, cell);
                    b.push_extra(self.plan.extra_names[idx].as_bytes(), value);
                }
            }
        }
        for (name, &cell) in self.trailing_names.iter().zip(&self.cells[n..]) {
            b.push_extra(name.as_bytes(), str_value(line, cell));
        }
        if let Some(pos) = self.plan.start_pos {
            // Seconds are at most MAX_EPOCH_SECONDS, so `* 1000` cannot overflow.
            match (self.cells[pos], self.opts.fallback_time_ms) {
                (Cell::Int(start), _) => b.event_time.append(start * 1000),
                (Cell::Millis(ms), _) => b.event_time.append(ms),
                (_, Some(t)) => b.event_time.append(t),
                (_, None) => b.event_time.append_null(),
            }
        }
        b.row_done();
        self.stats.records += 1;
    }

    fn quarantine(&mut self, line_no: u64, reason: String, line: &[u8], sink: &mut dyn DecodeSink) {
        tracing::debug!(key = self.key, line = line_no, %reason, "flow-log line quarantined");
        self.stats.quarantined += 1;
        sink.quarantine(QuarantineRecord::line(self.key, line_no, reason, line));
    }

    /// Hand the rows decoded so far to the sink as one batch.
    pub fn flush(&mut self, sink: &mut dyn DecodeSink) -> Result<(), IngestError> {
        if self.builder.rows() == 0 {
            return Ok(());
        }
        let batch = self
            .builder
            .finish(
                &self.plan,
                self.key,
                self.opts.fallback_account_id.as_deref(),
                self.opts.fallback_region.as_deref(),
                self.opts.fallback_time_ms,
            )
            .map_err(|source| IngestError::Arrow {
                context: format!("building a flows batch for {}", self.key),
                source,
            })?;
        self.pending_bytes = 0;
        sink.batch(batch)
    }

    /// Flush what is left and return the counters.
    pub fn finish(mut self, sink: &mut dyn DecodeSink) -> Result<FlowStats, IngestError> {
        self.flush(sink)?;
        Ok(self.stats)
    }
}

/// The `extra_fields` key of the value at (0-based) line position `pos` past the format.
fn trailing_name(pos: usize) -> String {
    format!("_extra_{}", pos + 1)
}

/// A string cell's bytes (`None` for `-`).
#[inline]
fn str_value(line: &[u8], cell: Cell) -> Option<&[u8]> {
    match cell {
        Cell::Str(s, e) => Some(&line[s as usize..e as usize]),
        _ => None,
    }
}
