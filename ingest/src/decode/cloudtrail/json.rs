//! Borrowed-JSON helpers shared by the CloudTrail visitors: object keys and strings as
//! `Cow<str>` (borrowed unless the text has escapes), and reading a member's raw JSON text as a
//! scalar without a second parse in the common case.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, Visitor};

/// A string from the input: borrowed when it has no escapes, owned otherwise.
pub(crate) type Text<'a> = Cow<'a, str>;

/// Deserializes a JSON string (an object key or a value) as [`Text`], borrowing when it can.
///
/// serde's own `Cow<str>` impl always copies; this one does not.
#[derive(Clone, Copy)]
pub(crate) struct TextSeed;

impl<'de> DeserializeSeed<'de> for TextSeed {
    type Value = Text<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

/// A member's value read from its raw JSON text.
#[derive(Debug, PartialEq)]
pub(crate) enum Scalar<'a> {
    /// `null`.
    Null,
    /// A string, unescaped.
    Str(Text<'a>),
    /// `true` / `false`.
    Bool(bool),
    /// A number, as written.
    Num(&'a str),
    /// An object or array.
    Composite,
}

/// Read raw JSON text (already validated by serde_json) as a scalar. Strings without escapes are
/// sliced out of the raw text; only strings with escapes are parsed again.
pub(crate) fn scalar(raw: &str) -> Scalar<'_> {
    match raw.as_bytes().first() {
        Some(b'"') => match raw.get(1..raw.len() - 1) {
            Some(inner) if memchr::memchr(b'\\', inner.as_bytes()).is_none() => {
                Scalar::Str(Cow::Borrowed(inner))
            }
            _ => match serde_json::from_str::<String>(raw) {
                Ok(s) => Scalar::Str(Cow::Owned(s)),
                Err(_) => Scalar::Composite,
            },
        },
        Some(b'n') | None => Scalar::Null,
        Some(b't') => Scalar::Bool(true),
        Some(b'f') => Scalar::Bool(false),
        Some(b'{' | b'[') => Scalar::Composite,
        Some(_) => Scalar::Num(raw),
    }
}

/// A string column's value: strings as they are, numbers and booleans as written, `null` as
/// `Ok(None)`; `Err(())` for objects and arrays.
pub(crate) fn text_of(raw: &str) -> Result<Option<Text<'_>>, ()> {
    match scalar(raw) {
        Scalar::Null => Ok(None),
        Scalar::Str(s) => Ok(Some(s)),
        Scalar::Num(n) => Ok(Some(Cow::Borrowed(n))),
        Scalar::Bool(b) => Ok(Some(Cow::Borrowed(if b { "true" } else { "false" }))),
        Scalar::Composite => Err(()),
    }
}

/// A boolean column's value: `true`/`false`, or the strings `"true"`/`"false"` (any case) as
/// CloudTrail writes some flags; `null` as `Ok(None)`; `Err(())` for anything else.
pub(crate) fn bool_of(raw: &str) -> Result<Option<bool>, ()> {
    match scalar(raw) {
        Scalar::Null => Ok(None),
        Scalar::Bool(b) => Ok(Some(b)),
        Scalar::Str(s) if s.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Scalar::Str(s) if s.eq_ignore_ascii_case("false") => Ok(Some(false)),
        _ => Err(()),
    }
}

/// Why serde_json stopped, worded for an operator: broken JSON, or JSON of the wrong shape.
pub(crate) fn error_reason(e: &serde_json::Error) -> String {
    match e.classify() {
        serde_json::error::Category::Data => format!("not CloudTrail: {e}"),
        _ => format!("invalid JSON: {e}"),
    }
}

/// Append `s` to `out` as a JSON string literal.
pub(crate) fn push_json_string(out: &mut String, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(s);
        out.push('"');
    } else {
        out.push_str(&serde_json::Value::String(s.to_owned()).to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_from_raw_text() {
        assert_eq!(scalar(r#""abc""#), Scalar::Str(Cow::Borrowed("abc")));
        assert!(matches!(scalar(r#""abc""#), Scalar::Str(Cow::Borrowed(_))));
        assert_eq!(
            scalar(r#""a\"b\u00e9""#),
            Scalar::Str(Cow::Owned("a\"bé".into()))
        );
        assert_eq!(scalar(r#""""#), Scalar::Str(Cow::Borrowed("")));
        assert_eq!(scalar("null"), Scalar::Null);
        assert_eq!(scalar("true"), Scalar::Bool(true));
        assert_eq!(scalar("false"), Scalar::Bool(false));
        assert_eq!(scalar("-1.5e3"), Scalar::Num("-1.5e3"));
        assert_eq!(scalar("{}"), Scalar::Composite);
        assert_eq!(scalar("[1]"), Scalar::Composite);
    }

    #[test]
    fn bools_accept_strings_and_reject_others() {
        assert_eq!(bool_of("true"), Ok(Some(true)));
        assert_eq!(bool_of(r#""false""#), Ok(Some(false)));
        assert_eq!(bool_of(r#""TRUE""#), Ok(Some(true)));
        assert_eq!(bool_of("null"), Ok(None));
        assert_eq!(bool_of(r#""maybe""#), Err(()));
        assert_eq!(bool_of("1"), Err(()));
        assert_eq!(
            text_of("12").map(|o| o.map(|c| c.into_owned())),
            Ok(Some("12".into()))
        );
        assert_eq!(text_of("{}"), Err(()));
    }

    #[test]
    fn json_strings_are_escaped_only_when_needed() {
        let mut s = String::new();
        push_json_string(&mut s, "plain");
        push_json_string(&mut s, "q\"\n");
        assert_eq!(s, r#""plain""q\"\n""#);
    }
}
