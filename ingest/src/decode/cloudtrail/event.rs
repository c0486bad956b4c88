//! One CloudTrail event as parsed: the raw JSON text of each known top-level member, in a fixed
//! slot per field, and the unknown members in order. Nothing is interpreted here (that is
//! `columns`), so parsing never fails on a value's type and a bad event can be quarantined
//! with all of its members.
//!
//! [`ElementSeed`] reads one element of a Records array: an [`Event`] for an object, or the
//! element's JSON text and kind for anything else.

use std::fmt;

use flowtrail_core::schema::cloudtrail::col;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::builders::col_index;
use super::json::{Scalar, Text, TextSeed, push_json_string, scalar};

/// Slot numbers of the known top-level fields (indexes into [`TOP_FIELDS`]).
pub(crate) mod slot {
    pub(crate) const EVENT_VERSION: usize = 0;
    pub(crate) const USER_IDENTITY: usize = 1;
    pub(crate) const EVENT_TIME: usize = 2;
    pub(crate) const EVENT_SOURCE: usize = 3;
    pub(crate) const EVENT_NAME: usize = 4;
    pub(crate) const AWS_REGION: usize = 5;
    pub(crate) const SOURCE_IP_ADDRESS: usize = 6;
    pub(crate) const USER_AGENT: usize = 7;
    pub(crate) const ERROR_CODE: usize = 8;
    pub(crate) const ERROR_MESSAGE: usize = 9;
    pub(crate) const REQUEST_PARAMETERS: usize = 10;
    pub(crate) const RESPONSE_ELEMENTS: usize = 11;
    pub(crate) const ADDITIONAL_EVENT_DATA: usize = 12;
    pub(crate) const REQUEST_ID: usize = 13;
    pub(crate) const EVENT_ID: usize = 14;
    pub(crate) const EVENT_TYPE: usize = 15;
    pub(crate) const API_VERSION: usize = 16;
    pub(crate) const MANAGEMENT_EVENT: usize = 17;
    pub(crate) const READ_ONLY: usize = 18;
    pub(crate) const RESOURCES: usize = 19;
    pub(crate) const RECIPIENT_ACCOUNT_ID: usize = 20;
    pub(crate) const SERVICE_EVENT_DETAILS: usize = 21;
    pub(crate) const SHARED_EVENT_ID: usize = 22;
    pub(crate) const VPC_ENDPOINT_ID: usize = 23;
    pub(crate) const EVENT_CATEGORY: usize = 24;
    pub(crate) const TLS_DETAILS: usize = 25;
    pub(crate) const SESSION_CREDENTIAL_FROM_CONSOLE: usize = 26;
}

/// Number of known top-level fields.
pub(crate) const N_TOP: usize = 27;

/// Known top-level fields in slot order: JSON member name and the column it fills.
pub(crate) const TOP_FIELDS: [(&str, usize); N_TOP] = [
    ("eventVersion", col_index(col::EVENT_VERSION)),
    ("userIdentity", col_index(col::USER_IDENTITY)),
    ("eventTime", col_index(col::EVENT_TIME)),
    ("eventSource", col_index(col::EVENT_SOURCE)),
    ("eventName", col_index(col::EVENT_NAME)),
    ("awsRegion", col_index(col::AWS_REGION)),
    ("sourceIPAddress", col_index(col::SOURCE_IP_ADDRESS)),
    ("userAgent", col_index(col::USER_AGENT)),
    ("errorCode", col_index(col::ERROR_CODE)),
    ("errorMessage", col_index(col::ERROR_MESSAGE)),
    ("requestParameters", col_index(col::REQUEST_PARAMETERS)),
    ("responseElements", col_index(col::RESPONSE_ELEMENTS)),
    ("additionalEventData", col_index(col::ADDITIONAL_EVENT_DATA)),
    ("requestID", col_index(col::REQUEST_ID)),
    ("eventID", col_index(col::EVENT_ID)),
    ("eventType", col_index(col::EVENT_TYPE)),
    ("apiVersion", col_index(col::API_VERSION)),
    ("managementEvent", col_index(col::MANAGEMENT_EVENT)),
    ("readOnly", col_index(col::READ_ONLY)),
    ("resources", col_index(col::RESOURCES)),
    ("recipientAccountId", col_index(col::RECIPIENT_ACCOUNT_ID)),
    ("serviceEventDetails", col_index(col::SERVICE_EVENT_DETAILS)),
    ("sharedEventID", col_index(col::SHARED_EVENT_ID)),
    ("vpcEndpointId", col_index(col::VPC_ENDPOINT_ID)),
    ("eventCategory", col_index(col::EVENT_CATEGORY)),
    ("tlsDetails", col_index(col::TLS_DETAILS)),
    (
        "sessionCredentialFromConsole",
        col_index(col::SESSION_CREDENTIAL_FROM_CONSOLE),
    ),
];

/// The slot of a known top-level field.
pub(crate) fn slot_of(key: &str) -> Option<usize> {
    use slot::*;
    Some(match key {
        "eventVersion" => EVENT_VERSION,
        "userIdentity" => USER_IDENTITY,
        "eventTime" => EVENT_TIME,
        "eventSource" => EVENT_SOURCE,
        "eventName" => EVENT_NAME,
        "awsRegion" => AWS_REGION,
        "sourceIPAddress" => SOURCE_IP_ADDRESS,
        "userAgent" => USER_AGENT,
        "errorCode" => ERROR_CODE,
        "errorMessage" => ERROR_MESSAGE,
        "requestParameters" => REQUEST_PARAMETERS,
        "responseElements" => RESPONSE_ELEMENTS,
        "additionalEventData" => ADDITIONAL_EVENT_DATA,
        "requestID" => REQUEST_ID,
        "eventID" => EVENT_ID,
        "eventType" => EVENT_TYPE,
        "apiVersion" => API_VERSION,
        "managementEvent" => MANAGEMENT_EVENT,
        "readOnly" => READ_ONLY,
        "resources" => RESOURCES,
        "recipientAccountId" => RECIPIENT_ACCOUNT_ID,
        "serviceEventDetails" => SERVICE_EVENT_DETAILS,
        "sharedEventID" => SHARED_EVENT_ID,
        "vpcEndpointId" => VPC_ENDPOINT_ID,
        "eventCategory" => EVENT_CATEGORY,
        "tlsDetails" => TLS_DETAILS,
        "sessionCredentialFromConsole" => SESSION_CREDENTIAL_FROM_CONSOLE,
        _ => return None,
    })
}

/// `eventType` of CloudTrail Insights records.
const INSIGHT_EVENT_TYPE: &str = "AwsCloudTrailInsight";

/// One event's members as raw JSON text borrowed from the input.
#[derive(Debug, Default)]
pub(crate) struct Event<'a> {
    /// Raw text of each known field, by slot.
    pub(crate) slots: [Option<&'a str>; N_TOP],
    /// Unknown members in input order.
    pub(crate) extra: Vec<(Text<'a>, &'a str)>,
}

impl<'a> Event<'a> {
    /// Record one member (a repeated known field keeps its last value).
    pub(crate) fn set(&mut self, key: Text<'a>, raw: &'a str) {
        match slot_of(&key) {
            Some(i) => self.slots[i] = Some(raw),
            None => self.extra.push((key, raw)),
        }
    }

    /// No members at all.
    pub(crate) fn is_empty(&self) -> bool {
        self.extra.is_empty() && self.slots.iter().all(Option::is_none)
    }

    /// Has one of the members every CloudTrail event has.
    pub(crate) fn looks_like_event(&self) -> bool {
        use slot::*;
        [
            EVENT_VERSION,
            EVENT_TIME,
            EVENT_NAME,
            EVENT_ID,
            EVENT_SOURCE,
        ]
        .iter()
        .any(|&s| self.slots[s].is_some())
    }

    /// A CloudTrail Insights record rather than an API event.
    pub(crate) fn is_insight(&self) -> bool {
        self.slots[slot::EVENT_TYPE]
            .is_some_and(|raw| matches!(scalar(raw), Scalar::Str(s) if s == INSIGHT_EVENT_TYPE))
    }

    /// The event as one JSON object: known fields in slot order, then unknown ones in input
    /// order (for quarantine, when the exact input text is not at hand).
    pub(crate) fn reassemble(&self) -> String {
        let mut out = String::from("{");
        let known = TOP_FIELDS
            .iter()
            .zip(self.slots.iter())
            .filter_map(|((k, _), v)| v.map(|v| (*k, v)));
        let unknown = self.extra.iter().map(|(k, v)| (&**k, *v));
        for (i, (k, v)) in known.chain(unknown).enumerate() {
            if i > 0 {
                out.push(',');
            }
            push_json_string(&mut out, k);
            out.push(':');
            out.push_str(v);
        }
        out.push('}');
        out
    }
}

/// Reads the members of an event object into an [`Event`].
pub(crate) struct EventVisitor;

impl<'de> Visitor<'de> for EventVisitor {
    type Value = Event<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudTrail event object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut ev = Event::default();
        while let Some(key) = map.next_key_seed(TextSeed)? {
            let raw: &'de RawValue = map.next_value()?;
            ev.set(key, raw.get());
        }
        Ok(ev)
    }
}

/// One element of a Records array.
// Short-lived and moved once per element; boxing the event would cost an allocation per event.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Element<'a> {
    /// An object.
    Event(Event<'a>),
    /// Anything else: its JSON text and what it is ("a string", ...).
    Other(String, &'static str),
}

/// Reads one element of a Records array as an [`Element`].
pub(crate) struct ElementSeed;

impl<'de> DeserializeSeed<'de> for ElementSeed {
    type Value = Element<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(ElementVisitor)
    }
}

struct ElementVisitor;

impl ElementVisitor {
    fn other<E>(v: serde_json::Value, what: &'static str) -> Result<Element<'static>, E> {
        Ok(Element::Other(v.to_string(), what))
    }
}

impl<'de> Visitor<'de> for ElementVisitor {
    type Value = Element<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudTrail event")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        EventVisitor.visit_map(map).map(Element::Event)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut items = Vec::new();
        while let Some(v) = seq.next_element::<serde_json::Value>()? {
            items.push(v);
        }
        Self::other(serde_json::Value::Array(items), "an array")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Self::other(v.into(), "a string")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Self::other(v.into(), "a boolean")
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Self::other(v.into(), "a number")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Self::other(v.into(), "a number")
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Self::other(v.into(), "a number")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Self::other(serde_json::Value::Null, "null")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_table_and_match_agree() {
        for (i, (k, _)) in TOP_FIELDS.iter().enumerate() {
            assert_eq!(slot_of(k), Some(i), "{k}");
        }
        assert_eq!(slot_of("eventtime"), None);
    }

    #[test]
    fn events_borrow_their_members_and_reassemble() -> Result<(), serde_json::Error> {
        let text = r#"{"eventTime":"2026-01-08T10:05:00Z","zNew":{"a":[1, 2]},"userIdentity":null,"q\"k":1}"#;
        let mut de = serde_json::Deserializer::from_str(text);
        let ev = de.deserialize_map(EventVisitor)?;
        assert_eq!(
            ev.slots[slot::EVENT_TIME],
            Some(r#""2026-01-08T10:05:00Z""#)
        );
        assert_eq!(ev.slots[slot::USER_IDENTITY], Some("null"));
        assert_eq!(ev.extra.len(), 2);
        let back: serde_json::Value = serde_json::from_str(&ev.reassemble())?;
        let orig: serde_json::Value = serde_json::from_str(text)?;
        assert_eq!(back, orig);
        Ok(())
    }
}
