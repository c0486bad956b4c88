//! CloudTrail decoder: whole objects (S3 delivery, CloudWatch Logs subscription data, exports)
//! and single CloudWatch Logs event messages into batches of exactly
//! [`cloudtrail_schema`](flowtrail_core::schema::cloudtrail::cloudtrail_schema).
//!
//! # Shapes
//!
//! [`decode_cloudtrail`] tells the shape from the content, never from the key:
//!
//! | content | [`CtShape`] | rows |
//! |---|---|---|
//! | `{"Records":[...]}` (also a bare top-level `[...]` of events) | `Records` | one per event |
//! | the same with `eventType: "AwsCloudTrailInsight"` records | `Insights` | none, counted in `skipped` |
//! | one event object (`eventVersion`/`eventTime`/`eventName`/... at top level) | `SingleEvent` | one |
//! | `{"messageType":"DATA_MESSAGE","logEvents":[{"message":"<event>"}...]}` | `CloudWatchEnvelope` | one per log event |
//! | `{"messageType":"CONTROL_MESSAGE",...}` | `CloudWatchControl` | none |
//! | digest file (`digestStartTime`, `digestPublicKeyFingerprint`, ...) | `Digest` | none |
//! | one JSON object per line (CloudWatch exports) | `JsonLines` | one per event line |
//! | whitespace, `{}` | `Empty` | none |
//!
//! Documents concatenated without a separator (what Kinesis Data Firehose writes when it
//! delivers CloudWatch Logs subscription data to S3) are decoded one after the other.
//!
//! # Bad input
//!
//! - A bad event (missing or unparsable `eventTime`, an array element that is not an object, a
//!   JSON-lines line or CloudWatch message that is not JSON) is quarantined and the other events
//!   still land. The quarantine record's `line` is: for an element of a Records array, its
//!   1-based index in the array (counting on across concatenated documents); for a CloudWatch
//!   envelope, the 1-based index of the log event (counting on across envelopes); for JSON
//!   lines, the 1-based line number (blank lines count); for [`decode_cloudtrail_events`], the
//!   number the caller passed with the event. Its raw text is the line or message itself, or
//!   for an element of a Records array the element re-assembled from its members (same members
//!   and values; known fields first, then unknown ones in their order).
//! - A document that cannot be parsed on (truncated, not JSON, invalid UTF-8) or is JSON but not
//!   CloudTrail returns [`IngestError::Format`] naming the key, with serde's line and column.
//!   The events complete before that point were already handed to the sink: the Records array
//!   is streamed element by element through a serde `SeqAccess` visitor.
//! - A field of the wrong JSON type (an object where a string belongs, `readOnly: "maybe"`)
//!   leaves its column null and keeps the member in `extra_fields`: nothing is lost, and the
//!   event is not quarantined for it.
//!
//! # Counters
//!
//! `CtStats::events = records + skipped + quarantined`: every event seen is emitted, skipped
//! (Insights) or quarantined.
//!
//! # Speed
//!
//! One pass of serde_json over borrowed text (`&str`, UTF-8 checked once up front): every
//! top-level member of an event is captured as a borrowed `&RawValue`, strings without escapes
//! are borrowed straight from the input, and only `userIdentity` is read a second time for its
//! flat columns. No `serde_json::Value` trees, no per-event `String`s in the common case.
//!
//! # Files
//!
//! - `document`: the top-level shapes (Records streaming, envelopes, digests, single events).
//! - `event`: one event's members as borrowed raw JSON, by known field.
//! - `json`: small borrowed-JSON helpers (keys, scalars).
//! - `columns`: one event into one row of cells (types, `extra_fields`, `eventTime`).
//! - `identity`: the flat columns read from `userIdentity`.
//! - `time`: RFC 3339 `eventTime` into UTC milliseconds.
//! - `builders`: Arrow builders for the table, batch by batch.
//! - `state`: the decoding context (sink, counters, numbering, flushing).

mod builders;
mod columns;
mod document;
mod event;
mod identity;
mod json;
mod state;
mod time;

#[cfg(test)]
mod tests;

use crate::IngestError;
use crate::sink::DecodeSink;

use state::Ctx;

/// Options for [`decode_cloudtrail`] and [`decode_cloudtrail_events`].
#[derive(Clone, Debug)]
pub struct CloudTrailOptions {
    /// Rows per emitted batch (at least 1).
    pub batch_rows: usize,
    /// `account_id` for events without `recipientAccountId` (e.g. from the object key).
    pub fallback_account_id: Option<String>,
    /// `region` for events without `awsRegion` (e.g. from the object key).
    pub fallback_region: Option<String>,
}

impl Default for CloudTrailOptions {
    fn default() -> Self {
        Self {
            batch_rows: 16_384,
            fallback_account_id: None,
            fallback_region: None,
        }
    }
}

/// What an object turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtShape {
    /// `{"Records":[...]}`: the S3 delivery format.
    Records,
    /// One event object.
    SingleEvent,
    /// CloudWatch Logs subscription data (`DATA_MESSAGE`).
    CloudWatchEnvelope,
    /// CloudWatch Logs subscription `CONTROL_MESSAGE` (no events).
    CloudWatchControl,
    /// A CloudTrail digest file (no events).
    Digest,
    /// CloudTrail Insights records (skipped).
    Insights,
    /// One JSON object per line.
    JsonLines,
    /// Nothing: whitespace or `{}`.
    Empty,
}

impl CtShape {
    /// The shape of two documents concatenated in one object.
    fn then(self, next: CtShape) -> CtShape {
        use CtShape::*;
        match (self, next) {
            (a, b) if a == b => a,
            (Empty, b) => b,
            (a, Empty) => a,
            (CloudWatchControl, CloudWatchEnvelope) | (CloudWatchEnvelope, CloudWatchControl) => {
                CloudWatchEnvelope
            }
            (Insights, Records) | (Records, Insights) => Records,
            (a, _) => a,
        }
    }
}

/// Counters for one decoded object (or one run of events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CtStats {
    /// What the object was.
    pub shape: CtShape,
    /// Events seen: `records + skipped + quarantined`.
    pub events: u64,
    /// Rows emitted.
    pub records: u64,
    /// Events recognized and deliberately not emitted (Insights).
    pub skipped: u64,
    /// Quarantine records emitted.
    pub quarantined: u64,
}

/// Decode one whole decompressed object.
///
/// Rows go to `sink` in batches of at most `opts.batch_rows`; bad events go to
/// `sink.quarantine`. An `Err` means the object could not be read on from some point; what was
/// decoded before it is already in the sink.
pub fn decode_cloudtrail(
    key: &str,
    data: &[u8],
    opts: &CloudTrailOptions,
    sink: &mut dyn DecodeSink,
) -> Result<CtStats, IngestError> {
    // CloudTrail events are 1-2 KB each.
    let mut ctx = Ctx::new(key, opts, sink, data.len() / 1024 + 1);
    let shape = if data.trim_ascii().is_empty() {
        CtShape::Empty
    } else if looks_like_json_lines(data) {
        decode_lines(&mut ctx, data)?;
        CtShape::JsonLines
    } else {
        document::decode_document(&mut ctx, data)?
    };
    ctx.finish(shape)
}

/// Decode events one JSON text each (CloudWatch Logs event messages), numbered by the caller
/// (the number is the quarantine record's `line`).
pub fn decode_cloudtrail_events<'a>(
    key: &str,
    events: impl IntoIterator<Item = (u64, &'a [u8])>,
    opts: &CloudTrailOptions,
    sink: &mut dyn DecodeSink,
) -> Result<CtStats, IngestError> {
    let events = events.into_iter();
    let mut ctx = Ctx::new(key, opts, sink, events.size_hint().0.max(16));
    let mut any = false;
    for (n, bytes) in events {
        any = true;
        ctx.set_number(Some(n));
        decode_one_text(&mut ctx, bytes)?;
    }
    ctx.finish(if any {
        CtShape::JsonLines
    } else {
        CtShape::Empty
    })
}

/// Whether `data` holds one JSON object per line: the first non-blank line is a whole
/// object on its own (`{...}`) and the next non-blank line starts another. A pretty-printed
/// document fails the first test (its first line is `{` or `{"Records": [`).
fn looks_like_json_lines(data: &[u8]) -> bool {
    let mut rest = data;
    let mut first: Option<&[u8]> = None;
    while !rest.is_empty() {
        let (line, tail) = match memchr::memchr(b'\n', rest) {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        rest = tail;
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        match first {
            None => {
                if !(line.len() >= 2 && line.starts_with(b"{") && line.ends_with(b"}")) {
                    return false;
                }
                first = Some(line);
            }
            Some(_) => return line.starts_with(b"{"),
        }
    }
    false
}

/// One JSON object per line; every line is decoded on its own and numbered by its line.
fn decode_lines(ctx: &mut Ctx<'_>, data: &[u8]) -> Result<(), IngestError> {
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        let line = line.trim_ascii();
        if line.is_empty() {
            continue;
        }
        ctx.set_number(Some(i as u64 + 1));
        decode_one_text(ctx, line)?;
    }
    Ok(())
}

/// One line or message: UTF-8 check, then any shape (usually one event).
fn decode_one_text(ctx: &mut Ctx<'_>, bytes: &[u8]) -> Result<(), IngestError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => ctx.decode_text(text),
        Err(e) => {
            let reason = format!("invalid UTF-8 at byte {}", e.valid_up_to());
            ctx.bad_event(&reason, bytes);
            Ok(())
        }
    }
}
