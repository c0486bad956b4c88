//! The row decoder shared by every text entry point: checks one line against the format,
//! quarantines it with a reason or appends it to the builders, and hands a batch to the sink
//! every `batch_rows` rows.

use super::builders::FlowBatchBuilder;
use super::format::{FlowFormat, Plan, Slot};
use super::line::{Cell, parse_cell, split_fields};
use super::{FlowDecodeOptions, FlowStats};
use crate::IngestError;
use crate::quarantine::{DecodeSink, QuarantineRecord};

/// Cut a batch early once this many bytes of lines are buffered (keeps i32 string offsets and
/// memory bounded even with very long lines).
const MAX_BATCH_BYTES: usize = 256 << 20;

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
    pending_bytes: usize,
    /// Check string fields for valid UTF-8 (false while the input is known to be ASCII).
    pub check_utf8: bool,
    pub stats: FlowStats,
}

impl<'a> RowDecoder<'a> {
    pub fn new(key: &'a str, format: FlowFormat, opts: &'a FlowDecodeOptions) -> Self {
        let plan = Plan::new(&format);
        let batch_rows = opts.batch_rows.max(1);
        let mut str_fallback = vec![None; plan.str_fields.len()];
        if let (Some(col), Some(v)) = (plan.account_col, opts.fallback_account_id.as_deref()) {
            str_fallback[col] = Some(v.as_bytes());
        }
        if let (Some(col), Some(v)) = (plan.region_col, opts.fallback_region.as_deref()) {
            str_fallback[col] = Some(v.as_bytes());
        }
        let builder = FlowBatchBuilder::new(&plan, batch_rows);
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
        let line = super::line::strip_cr(line);
        split_fields(line, &mut self.spans);
        if self.spans.is_empty() {
            return Ok(());
        }
        if self.spans.len() != self.plan.slots.len() {
            let reason = format!(
                "expected {} fields, found {}",
                self.plan.slots.len(),
                self.spans.len()
            );
            self.quarantine(line_no, reason, line, sink);
            return Ok(());
        }
        self.cells.clear();
        for (pos, (&slot, &span)) in self.plan.slots.iter().zip(self.spans.iter()).enumerate() {
            let raw = &line[span.0 as usize..span.1 as usize];
            let format = &self.format;
            match parse_cell(slot, raw, span, self.check_utf8, || {
                format.fields()[pos].clone()
            }) {
                Ok(cell) => self.cells.push(cell),
                Err(reason) => {
                    self.quarantine(line_no, reason, line, sink);
                    return Ok(());
                }
            }
        }
        self.append(line);
        self.pending_bytes += line.len();
        if self.builder.rows() >= self.batch_rows || self.pending_bytes >= MAX_BATCH_BYTES {
            self.flush(sink)?;
        }
        Ok(())
    }

    /// Append the parsed cells of a valid line.
    #[inline]
    fn append(&mut self, line: &[u8]) {
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
                (Slot::I64 { col, .. }, Cell::Int(v)) => b.i64s[col].append(v),
                (Slot::I64 { col, .. }, _) => b.i64s[col].append_null(),
                (Slot::Extra { idx }, cell) => {
                    b.extra_keys.append(self.plan.extra_names[idx].as_bytes());
                    match cell {
                        Cell::Str(s, e) => b.extra_values.append(&line[s as usize..e as usize]),
                        _ => b.extra_values.append_null(),
                    }
                }
            }
        }
        if let Some(pos) = self.plan.start_pos {
            // `start` is range-checked to 0..=i64::MAX/1000, so this cannot overflow.
            match (self.cells[pos], self.opts.fallback_time_ms) {
                (Cell::Int(start), _) => b.event_time.append(start * 1000),
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
