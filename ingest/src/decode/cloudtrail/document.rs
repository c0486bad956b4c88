//! The top-level shapes of a CloudTrail object, told apart by their members while the object is
//! parsed once: `Records` arrays are streamed element by element into the context (so events
//! before a truncation are kept), CloudWatch Logs envelopes are opened and their messages decoded
//! as events, digests are recognized and dropped, and any other object is taken as one event
//! when it has an event's members.

use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::CtShape;
use super::event::{Element, ElementSeed, Event, TOP_FIELDS};
use super::json::{Scalar, Text, TextSeed, error_reason, scalar};
use super::state::Ctx;
use crate::IngestError;

/// What one top-level JSON value was.
#[derive(Debug)]
pub(crate) enum Doc {
    /// A CloudTrail shape; its events went to the context.
    Shape(CtShape),
    /// Valid JSON but not CloudTrail, and why.
    Unknown(String),
}

/// Decode a whole object in document mode: one top-level value, or several concatenated.
pub(crate) fn decode_document(ctx: &mut Ctx<'_>, data: &[u8]) -> Result<CtShape, IngestError> {
    // UTF-8 is checked once here, so the parser can borrow `&str`s without checking each one.
    // Invalid UTF-8 stops the object at that byte; the events before it still land.
    let (text, bad_utf8) = match std::str::from_utf8(data) {
        Ok(text) => (text, None),
        Err(e) => (
            std::str::from_utf8(&data[..e.valid_up_to()]).unwrap_or_default(),
            Some(e.valid_up_to()),
        ),
    };
    let utf8_reason = |at: usize| format!("invalid UTF-8 at byte {at}");
    let mut de = serde_json::Deserializer::from_str(text);
    let mut shape = CtShape::Empty;
    loop {
        match (DocSeed {
            ctx: &mut *ctx,
            whole: None,
        })
        .deserialize(&mut de)
        {
            Ok(Doc::Shape(s)) => shape = shape.then(s),
            Ok(Doc::Unknown(reason)) => return Err(ctx.fail(reason)),
            Err(e) => {
                let reason = match bad_utf8 {
                    Some(at) => utf8_reason(at),
                    None => error_reason(&e),
                };
                return Err(ctx.fail(reason));
            }
        }
        // Anything but whitespace after the value: another concatenated document (Firehose).
        if de.end().is_ok() {
            break;
        }
    }
    match bad_utf8 {
        Some(at) => Err(ctx.fail(utf8_reason(at))),
        None => Ok(shape),
    }
}

/// Reads one top-level value of any shape, sending its events to the context.
pub(crate) struct DocSeed<'c, 'x, 'w> {
    pub(crate) ctx: &'c mut Ctx<'x>,
    /// The value's exact text when it is all of a line or message (for quarantine).
    pub(crate) whole: Option<&'w str>,
}

impl<'de> DeserializeSeed<'de> for DocSeed<'_, '_, '_> {
    type Value = Doc;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Doc, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for DocSeed<'_, '_, '_> {
    type Value = Doc;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudTrail JSON object")
    }

    /// A bare array: events, as in a Records array.
    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Doc, A::Error> {
        records(self.ctx, seq)?;
        Ok(Doc::Shape(CtShape::Records))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Doc, A::Error> {
        let ctx = self.ctx;
        let (records_before, skipped_before) = (ctx.records(), ctx.skipped());
        let mut ev = Event::default();
        let mut saw_records = false;
        let mut digest = false;
        let mut message_type: Option<&'de str> = None;
        let mut log_events: Option<&'de str> = None;
        while let Some(key) = map.next_key_seed(TextSeed)? {
            match &*key {
                "Records" => {
                    map.next_value_seed(RecordsSeed(&mut *ctx))?;
                    saw_records = true;
                }
                "messageType" => message_type = Some(map.next_value::<&'de RawValue>()?.get()),
                "logEvents" => log_events = Some(map.next_value::<&'de RawValue>()?.get()),
                _ => {
                    digest |= key.starts_with("digest");
                    let raw: &'de RawValue = map.next_value()?;
                    ev.set(key, raw.get());
                }
            }
        }
        if saw_records {
            let only_insights = ctx.skipped() > skipped_before && ctx.records() == records_before;
            return Ok(Doc::Shape(if only_insights {
                CtShape::Insights
            } else {
                CtShape::Records
            }));
        }
        if message_type.is_some() || log_events.is_some() {
            return match envelope(ctx, message_type, log_events) {
                Ok(doc) => Ok(doc),
                Err(e) => match ctx.take_fatal() {
                    Some(fatal) => Err(ctx.stop(fatal)),
                    None => Ok(Doc::Unknown(format!(
                        "CloudWatch Logs envelope: logEvents: {e}"
                    ))),
                },
            };
        }
        if digest {
            return Ok(Doc::Shape(CtShape::Digest));
        }
        if ev.looks_like_event() {
            let shape = if ev.is_insight() {
                CtShape::Insights
            } else {
                CtShape::SingleEvent
            };
            ctx.event(ev, self.whole)
                .map_err(|e| ctx.stop::<A::Error>(e))?;
            return Ok(Doc::Shape(shape));
        }
        if ev.is_empty() {
            return Ok(Doc::Shape(CtShape::Empty));
        }
        Ok(Doc::Unknown(unknown_object(&ev)))
    }
}

/// Why an object is not CloudTrail, naming its first members.
fn unknown_object(ev: &Event<'_>) -> String {
    let known = TOP_FIELDS
        .iter()
        .zip(ev.slots.iter())
        .filter(|(_, v)| v.is_some())
        .map(|((k, _), _)| *k);
    let names: Vec<&str> = known
        .chain(ev.extra.iter().map(|(k, _)| &**k))
        .take(6)
        .collect();
    format!(
        "not a CloudTrail document or event (top-level members: {})",
        names.join(", ")
    )
}

/// A CloudWatch Logs subscription envelope: control messages carry no events; data messages
/// carry one event per log event `message`.
fn envelope(
    ctx: &mut Ctx<'_>,
    message_type: Option<&str>,
    log_events: Option<&str>,
) -> Result<Doc, serde_json::Error> {
    match message_type.map(scalar) {
        Some(Scalar::Str(t)) if t == "CONTROL_MESSAGE" => {
            return Ok(Doc::Shape(CtShape::CloudWatchControl));
        }
        Some(Scalar::Str(t)) if t == "DATA_MESSAGE" => {}
        None => {}
        Some(_) => {
            let t = message_type.unwrap_or_default();
            return Ok(Doc::Unknown(format!(
                "unknown CloudWatch Logs messageType {t}"
            )));
        }
    }
    if let Some(raw) = log_events {
        let mut de = serde_json::Deserializer::from_str(raw);
        de.deserialize_seq(LogEventsVisitor(ctx))?;
    }
    Ok(Doc::Shape(CtShape::CloudWatchEnvelope))
}

/// Stream the elements of a Records array into the context, each as soon as it is parsed.
fn records<'de, A: SeqAccess<'de>>(ctx: &mut Ctx<'_>, mut seq: A) -> Result<(), A::Error> {
    while let Some(el) = seq.next_element_seed(ElementSeed)? {
        let done = match el {
            Element::Event(ev) => ctx.event(ev, None),
            Element::Other(raw, what) => {
                ctx.bad_event(&format!("{what}, not an event object"), raw.as_bytes());
                Ok(())
            }
        };
        done.map_err(|e| ctx.stop::<A::Error>(e))?;
    }
    Ok(())
}

/// The value of `Records`: an array of events (or `null`).
struct RecordsSeed<'c, 'x>(&'c mut Ctx<'x>);

impl<'de> DeserializeSeed<'de> for RecordsSeed<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for RecordsSeed<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Records array")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<(), A::Error> {
        records(self.0, seq)
    }

    fn visit_unit<E: serde::de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// `logEvents`: each log event's `message` is decoded as one JSON text.
struct LogEventsVisitor<'c, 'x>(&'c mut Ctx<'x>);

impl<'de> Visitor<'de> for LogEventsVisitor<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of log events")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let ctx = self.0;
        while let Some(message) = seq.next_element_seed(LogEventSeed)? {
            let done = match message {
                Some(text) => ctx.decode_text(&text),
                None => {
                    ctx.bad_event("log event without a message", b"");
                    Ok(())
                }
            };
            done.map_err(|e| ctx.stop::<A::Error>(e))?;
        }
        Ok(())
    }
}

/// One log event `{"id","timestamp","message"}`: its message.
struct LogEventSeed;

impl<'de> DeserializeSeed<'de> for LogEventSeed {
    type Value = Option<Text<'de>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for LogEventSeed {
    type Value = Option<Text<'de>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a log event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut message = None;
        while let Some(key) = map.next_key_seed(TextSeed)? {
            if key == "message" {
                message = Some(map.next_value_seed(TextSeed)?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(message)
    }
}
