//! The flat columns read out of `userIdentity` (its type, principal, ARN, account, access key,
//! user name, `invokedBy`, `sessionContext.sessionIssuer.arn` and
//! `sessionContext.attributes.mfaAuthenticated`). The raw `userIdentity` text itself goes to the
//! `user_identity` column untouched, so a member of an unexpected type here only leaves its own
//! column null.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

use super::json::{Text, TextSeed, bool_of, text_of};

/// The flat `userIdentity` columns of one event.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Identity<'a> {
    pub(crate) ty: Option<Text<'a>>,
    pub(crate) principal_id: Option<Text<'a>>,
    pub(crate) arn: Option<Text<'a>>,
    pub(crate) account_id: Option<Text<'a>>,
    pub(crate) access_key_id: Option<Text<'a>>,
    pub(crate) user_name: Option<Text<'a>>,
    pub(crate) invoked_by: Option<Text<'a>>,
    pub(crate) session_issuer_arn: Option<Text<'a>>,
    pub(crate) mfa_authenticated: Option<bool>,
}

/// Read the flat columns from `userIdentity`'s raw JSON text (already validated).
pub(crate) fn parse_identity(raw: &str) -> Identity<'_> {
    let mut out = Identity::default();
    if raw.starts_with('{') {
        let mut de = serde_json::Deserializer::from_str(raw);
        // The text was validated when the event was parsed and every visitor below accepts any
        // type, so this cannot fail; were it to, the columns read so far are kept.
        let _ = de.deserialize_map(IdentityVisitor(&mut out));
    }
    out
}

fn text<'a>(raw: &'a RawValue) -> Option<Text<'a>> {
    text_of(raw.get()).ok().flatten()
}

/// Values that are not objects where an object is expected are ignored.
macro_rules! ignore_non_objects {
    ($de:lifetime) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_seq<A: SeqAccess<$de>>(self, mut seq: A) -> Result<(), A::Error> {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(())
        }
    };
}

struct IdentityVisitor<'o, 'a>(&'o mut Identity<'a>);

impl<'a> Visitor<'a> for IdentityVisitor<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a userIdentity object")
    }

    ignore_non_objects!('a);

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        while let Some(key) = map.next_key_seed(TextSeed)? {
            let field = match &*key {
                "type" => &mut out.ty,
                "principalId" => &mut out.principal_id,
                "arn" => &mut out.arn,
                "accountId" => &mut out.account_id,
                "accessKeyId" => &mut out.access_key_id,
                "userName" => &mut out.user_name,
                "invokedBy" => &mut out.invoked_by,
                "sessionContext" => {
                    map.next_value_seed(Nested(SessionContextVisitor(&mut *out)))?;
                    continue;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
            };
            *field = text(map.next_value()?);
        }
        Ok(())
    }
}

/// Runs a visitor on a member's value with `deserialize_any`.
struct Nested<V>(V);

impl<'de, V: Visitor<'de>> DeserializeSeed<'de> for Nested<V> {
    type Value = V::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self.0)
    }
}

struct SessionContextVisitor<'o, 'a>(&'o mut Identity<'a>);

impl<'a> Visitor<'a> for SessionContextVisitor<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a sessionContext object")
    }

    ignore_non_objects!('a);

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<(), A::Error> {
        let out = self.0;
        while let Some(key) = map.next_key_seed(TextSeed)? {
            match &*key {
                "sessionIssuer" => map.next_value_seed(Nested(MemberVisitor {
                    name: "arn",
                    out: &mut *out,
                    set: set_issuer_arn,
                }))?,
                "attributes" => map.next_value_seed(Nested(MemberVisitor {
                    name: "mfaAuthenticated",
                    out: &mut *out,
                    set: set_mfa,
                }))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

fn set_issuer_arn<'a>(out: &mut Identity<'a>, raw: &'a RawValue) {
    out.session_issuer_arn = text(raw);
}

fn set_mfa<'a>(out: &mut Identity<'a>, raw: &'a RawValue) {
    out.mfa_authenticated = bool_of(raw.get()).ok().flatten();
}

/// Reads one member `name` of an object and hands its raw value to `set`.
struct MemberVisitor<'o, 'a> {
    name: &'static str,
    out: &'o mut Identity<'a>,
    set: fn(&mut Identity<'a>, &'a RawValue),
}

impl<'a> Visitor<'a> for MemberVisitor<'_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "an object with {}", self.name)
    }

    ignore_non_objects!('a);

    fn visit_map<A: MapAccess<'a>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(key) = map.next_key_seed(TextSeed)? {
            if key == self.name {
                (self.set)(&mut *self.out, map.next_value()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_role_identity() {
        let raw = r#"{"type":"AssumedRole","principalId":"AROA:alice","arn":"arn:aws:sts::111122223333:assumed-role/Admin/alice",
            "accountId":"111122223333","accessKeyId":"ASIAX","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA",
            "arn":"arn:aws:iam::111122223333:role/Admin","accountId":"111122223333","userName":"Admin"},"webIdFederationData":{},
            "attributes":{"creationDate":"2026-01-08T09:00:00Z","mfaAuthenticated":"true"}},"invokedBy":"cloudformation.amazonaws.com"}"#;
        let id = parse_identity(raw);
        assert_eq!(id.ty.as_deref(), Some("AssumedRole"));
        assert_eq!(id.account_id.as_deref(), Some("111122223333"));
        assert_eq!(id.access_key_id.as_deref(), Some("ASIAX"));
        assert_eq!(id.user_name, None);
        assert_eq!(
            id.invoked_by.as_deref(),
            Some("cloudformation.amazonaws.com")
        );
        assert_eq!(
            id.session_issuer_arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/Admin")
        );
        assert_eq!(id.mfa_authenticated, Some(true));
    }

    #[test]
    fn odd_types_only_null_their_own_columns() {
        let raw = r#"{"type":"IAMUser","sessionContext":"weird","arn":{"x":1},"userName":"bob",
            "sessionContext":{"attributes":[1,2],"sessionIssuer":{"arn":null}}}"#;
        let id = parse_identity(raw);
        assert_eq!(id.ty.as_deref(), Some("IAMUser"));
        assert_eq!(id.arn, None);
        assert_eq!(id.user_name.as_deref(), Some("bob"));
        assert_eq!(id.mfa_authenticated, None);
        assert_eq!(parse_identity("null"), Identity::default());
        assert_eq!(parse_identity(r#""AWSService""#), Identity::default());
    }
}
