//! One parsed [`Event`] into one [`Row`] of cells: typed top-level columns, the free-form
//! members as their raw JSON text, the `userIdentity` columns, and `extra_fields` (unknown
//! members, plus known ones whose JSON type does not fit their column). The only reasons to
//! refuse an event are about `eventTime`, the one required column.

use std::borrow::Cow;

use flowtrail_core::schema::cloudtrail::{CT_COLUMNS, CtType};

use super::builders::{
    C_EVENT_TIME, C_EXTRA_FIELDS, C_MFA_AUTHENTICATED, C_SESSION_ISSUER_ARN, C_UI_ACCESS_KEY_ID,
    C_UI_ACCOUNT_ID, C_UI_ARN, C_UI_INVOKED_BY, C_UI_PRINCIPAL_ID, C_UI_TYPE, C_UI_USER_NAME, Cell,
    NCOLS, Row,
};
use super::event::{Event, TOP_FIELDS, slot};
use super::identity::parse_identity;
use super::json::{Scalar, Text, bool_of, push_json_string, scalar, text_of};
use super::time::parse_event_time;

/// The row for `ev`, or why it cannot have one.
pub(crate) fn to_row<'a>(ev: &Event<'a>) -> Result<Row<'a>, String> {
    let event_time = event_time(ev.slots[slot::EVENT_TIME])?;
    let mut cells = [const { Cell::Null }; NCOLS];
    cells[C_EVENT_TIME] = Cell::Time(event_time);
    // Known members whose type does not fit their column: kept in `extra_fields`.
    let mut misfits: Vec<(&'static str, &'a str)> = Vec::new();
    for (&(name, c), raw) in TOP_FIELDS.iter().zip(ev.slots.iter()) {
        let Some(raw) = *raw else { continue };
        let cell = match CT_COLUMNS[c].ty {
            CtType::Time => continue,
            CtType::Json if raw == "null" => Cell::Null,
            CtType::Json => Cell::Str(Cow::Borrowed(raw)),
            CtType::Str => match text_of(raw) {
                Ok(Some(s)) => Cell::Str(s),
                Ok(None) => Cell::Null,
                Err(()) => {
                    misfits.push((name, raw));
                    Cell::Null
                }
            },
            CtType::Bool => match bool_of(raw) {
                Ok(Some(b)) => Cell::Bool(b),
                Ok(None) => Cell::Null,
                Err(()) => {
                    misfits.push((name, raw));
                    Cell::Null
                }
            },
        };
        cells[c] = cell;
    }
    if let Some(raw) = ev.slots[slot::USER_IDENTITY] {
        let id = parse_identity(raw);
        let text = |v: Option<Text<'a>>| v.map_or(Cell::Null, Cell::Str);
        cells[C_UI_TYPE] = text(id.ty);
        cells[C_UI_PRINCIPAL_ID] = text(id.principal_id);
        cells[C_UI_ARN] = text(id.arn);
        cells[C_UI_ACCOUNT_ID] = text(id.account_id);
        cells[C_UI_ACCESS_KEY_ID] = text(id.access_key_id);
        cells[C_UI_USER_NAME] = text(id.user_name);
        cells[C_UI_INVOKED_BY] = text(id.invoked_by);
        cells[C_SESSION_ISSUER_ARN] = text(id.session_issuer_arn);
        cells[C_MFA_AUTHENTICATED] = id.mfa_authenticated.map_or(Cell::Null, Cell::Bool);
    }
    if !ev.extra.is_empty() || !misfits.is_empty() {
        let members = misfits
            .iter()
            .map(|(k, v)| (*k, *v))
            .chain(ev.extra.iter().map(|(k, v)| (&**k, *v)));
        cells[C_EXTRA_FIELDS] = Cell::Str(Cow::Owned(json_object(members)));
    }
    Ok(Row { cells })
}

fn event_time(raw: Option<&str>) -> Result<i64, String> {
    match raw.map(scalar) {
        None | Some(Scalar::Null) => Err("missing eventTime".into()),
        Some(Scalar::Str(s)) => {
            parse_event_time(&s).ok_or_else(|| format!("unparsable eventTime {s:?}"))
        }
        Some(_) => Err(format!(
            "eventTime is not a string: {}",
            raw.unwrap_or_default()
        )),
    }
}

/// `{"k":raw,...}` from members whose values are raw JSON text.
fn json_object<'k, 'v>(members: impl Iterator<Item = (&'k str, &'v str)>) -> String {
    let mut out = String::from("{");
    for (i, (k, v)) in members.enumerate() {
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

#[cfg(test)]
mod tests {
    use super::super::builders::col_index;
    use super::super::event::EventVisitor;
    use super::*;
    use flowtrail_core::schema::cloudtrail::col;
    use serde::Deserializer;

    fn row_of(text: &str) -> Result<Result<Row<'_>, String>, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_str(text);
        let ev = de.deserialize_map(EventVisitor)?;
        // The row borrows from `text`, not from `ev`.
        Ok(to_row(&ev))
    }

    fn cell<'r>(row: &'r Row<'_>, name: &str) -> &'r Cell<'r> {
        &row.cells[CT_COLUMNS
            .iter()
            .position(|c| c.column == name)
            .unwrap_or(usize::MAX)]
    }

    #[test]
    fn misfit_types_go_to_extra_fields() -> Result<(), serde_json::Error> {
        let text = r#"{"eventTime":"2026-01-08T10:05:00Z","eventName":{"odd":1},"readOnly":"maybe",
            "managementEvent":"TRUE","errorCode":404,"newField":[1]}"#;
        let row = row_of(text)?.map_err(serde::de::Error::custom)?;
        assert_eq!(cell(&row, col::EVENT_NAME), &Cell::Null);
        assert_eq!(cell(&row, col::READ_ONLY), &Cell::Null);
        assert_eq!(cell(&row, col::MANAGEMENT_EVENT), &Cell::Bool(true));
        assert_eq!(cell(&row, col::ERROR_CODE), &Cell::Str("404".into()));
        let Cell::Str(extra) = cell(&row, col::EXTRA_FIELDS) else {
            panic!("no extra_fields")
        };
        let v: serde_json::Value = serde_json::from_str(extra)?;
        assert_eq!(
            v,
            serde_json::json!({"eventName": {"odd": 1}, "readOnly": "maybe", "newField": [1]})
        );
        assert_eq!(col_index(col::EVENT_TIME), 0);
        Ok(())
    }

    #[test]
    fn event_time_problems_refuse_the_event() -> Result<(), serde_json::Error> {
        for (text, reason) in [
            (r#"{"eventName":"X"}"#, "missing eventTime"),
            (r#"{"eventTime":null}"#, "missing eventTime"),
            (r#"{"eventTime":"soon"}"#, "unparsable eventTime"),
            (r#"{"eventTime":12}"#, "eventTime is not a string"),
        ] {
            match row_of(text)? {
                Ok(_) => panic!("{text} accepted"),
                Err(r) => assert!(r.starts_with(reason), "{text}: {r}"),
            }
        }
        Ok(())
    }
}
