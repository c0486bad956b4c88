//! The decoding context for one object (or one run of events): the sink, the builders, the
//! counters and the numbering of events for quarantine. Every event, good or bad, passes through
//! [`Ctx::event`] or [`Ctx::bad_event`], which keeps `events = records + skipped + quarantined`.

use serde::de::DeserializeSeed;

use super::builders::CtBuilders;
use super::columns::to_row;
use super::document::{Doc, DocSeed};
use super::event::Event;
use super::json::error_reason;
use super::{CloudTrailOptions, CtShape, CtStats};
use crate::IngestError;
use crate::sink::DecodeSink;
use flowtrail_lake::quarantine::QuarantineRecord;

/// The decoding context.
pub(crate) struct Ctx<'x> {
    pub(crate) key: &'x str,
    opts: &'x CloudTrailOptions,
    sink: &'x mut (dyn DecodeSink + 'x),
    builders: CtBuilders,
    batch_rows: usize,
    /// The number every event gets (a line number), instead of its ordinal.
    number: Option<u64>,
    events: u64,
    records: u64,
    skipped: u64,
    quarantined: u64,
    /// An error from the sink, raised inside a serde visitor; it wins over the serde error that
    /// carried it out.
    fatal: Option<IngestError>,
}

impl<'x> Ctx<'x> {
    /// A context for about `rows_hint` events (builders are sized for it, up to a batch).
    pub(crate) fn new(
        key: &'x str,
        opts: &'x CloudTrailOptions,
        sink: &'x mut (dyn DecodeSink + 'x),
        rows_hint: usize,
    ) -> Self {
        let batch_rows = opts.batch_rows.max(1);
        Self {
            key,
            opts,
            sink,
            builders: CtBuilders::new(rows_hint.clamp(1, batch_rows)),
            batch_rows,
            number: None,
            events: 0,
            records: 0,
            skipped: 0,
            quarantined: 0,
            fatal: None,
        }
    }

    /// Number the following events `n` (a line or caller-given number); `None`: by ordinal.
    pub(crate) fn set_number(&mut self, n: Option<u64>) {
        self.number = n;
    }

    /// Rows emitted so far.
    pub(crate) fn records(&self) -> u64 {
        self.records
    }

    /// Events skipped so far.
    pub(crate) fn skipped(&self) -> u64 {
        self.skipped
    }

    fn next_number(&mut self) -> u64 {
        self.events += 1;
        self.number.unwrap_or(self.events)
    }

    /// One parsed event. `exact` is its input text when at hand (a line, a message); otherwise a
    /// quarantine record carries the event re-assembled from its members.
    pub(crate) fn event(&mut self, ev: Event<'_>, exact: Option<&str>) -> Result<(), IngestError> {
        let n = self.next_number();
        if ev.is_insight() {
            self.skipped += 1;
            return Ok(());
        }
        match to_row(&ev) {
            Ok(row) => {
                self.builders.append(&row, self.opts);
                self.records += 1;
                if self.builders.len() >= self.batch_rows {
                    self.flush()?;
                }
            }
            Err(reason) => {
                let raw = match exact {
                    Some(text) => text.to_owned(),
                    None => ev.reassemble(),
                };
                self.quarantine(n, &format!("event {n}: {reason}"), raw.as_bytes());
            }
        }
        Ok(())
    }

    /// An event that could not be parsed at all (not an object, not JSON, not UTF-8).
    pub(crate) fn bad_event(&mut self, reason: &str, raw: &[u8]) {
        let n = self.next_number();
        self.quarantine(n, &format!("event {n}: {reason}"), raw);
    }

    fn quarantine(&mut self, n: u64, reason: &str, raw: &[u8]) {
        tracing::debug!(
            key = self.key,
            line = n,
            reason,
            "cloudtrail event quarantined"
        );
        self.quarantined += 1;
        self.sink
            .quarantine(QuarantineRecord::line(self.key, n, reason, raw));
    }

    /// Keep a sink error raised inside a visitor; returns the serde error to unwind with.
    pub(crate) fn stop<E: serde::de::Error>(&mut self, e: IngestError) -> E {
        let msg = e.to_string();
        self.fatal = Some(e);
        E::custom(format_args!("stopped: {msg}"))
    }

    /// The sink error that stopped parsing, if that is what happened.
    pub(crate) fn take_fatal(&mut self) -> Option<IngestError> {
        self.fatal.take()
    }

    /// One JSON text holding events on its own (a JSON-lines line, a CloudWatch message): any
    /// problem with it is quarantined under the current number.
    pub(crate) fn decode_text(&mut self, text: &str) -> Result<(), IngestError> {
        let mut de = serde_json::Deserializer::from_str(text);
        let seen = self.events;
        let mut outcome = DocSeed {
            ctx: &mut *self,
            whole: Some(text),
        }
        .deserialize(&mut de);
        // More than one value on the line: decode them all.
        while matches!(outcome, Ok(Doc::Shape(_))) && de.end().is_err() {
            outcome = DocSeed {
                ctx: &mut *self,
                whole: Some(text),
            }
            .deserialize(&mut de);
        }
        match outcome {
            Ok(Doc::Shape(_)) => Ok(()),
            Ok(Doc::Unknown(reason)) => {
                self.bad_event(&reason, text.as_bytes());
                Ok(())
            }
            Err(e) => {
                if let Some(fatal) = self.take_fatal() {
                    return Err(fatal);
                }
                let reason = if self.events == seen {
                    error_reason(&e)
                } else {
                    format!(
                        "after {} event(s): {}",
                        self.events - seen,
                        error_reason(&e)
                    )
                };
                self.bad_event(&reason, text.as_bytes());
                Ok(())
            }
        }
    }

    /// Hand the rows so far to the sink.
    pub(crate) fn flush(&mut self) -> Result<(), IngestError> {
        if let Some(batch) = self.builders.finish(self.key)? {
            self.sink.batch(batch)?;
        }
        Ok(())
    }

    /// Flush, then stop with a format error (the sink's own error wins).
    pub(crate) fn fail(&mut self, reason: String) -> IngestError {
        if let Some(fatal) = self.take_fatal() {
            return fatal;
        }
        match self.flush() {
            Ok(()) => IngestError::Format {
                key: self.key.to_owned(),
                reason,
            },
            Err(e) => e,
        }
    }

    /// Flush and report.
    pub(crate) fn finish(mut self, shape: CtShape) -> Result<CtStats, IngestError> {
        self.flush()?;
        Ok(CtStats {
            shape,
            events: self.events,
            records: self.records,
            skipped: self.skipped,
            quarantined: self.quarantined,
        })
    }
}
