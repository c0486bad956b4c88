//! CloudTrail records (as in a `{"Records":[...]}` file) into a `cloudtrail` batch, the way
//! the ingest decoder fills the table: typed top-level columns, the free-form members as their
//! raw JSON text, the flat `userIdentity` columns, `account_id` from `recipientAccountId` (else
//! `userIdentity.accountId`) and `region` from `awsRegion`. The ingest crate is not a
//! dependency of detect, so the tests carry this small copy of that mapping.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs, dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{ArrayRef, BooleanArray, StringArray, TimestampMillisecondArray};
use arrow::record_batch::RecordBatch;
use chrono::DateTime;
use flowtrail_core::schema::cloudtrail::{CT_COLUMNS, CtType, cloudtrail_schema};
use serde_json::value::RawValue;

/// JSON member name of each top-level column.
const MEMBERS: &[(&str, &str)] = &[
    ("eventVersion", "event_version"),
    ("eventSource", "event_source"),
    ("eventName", "event_name"),
    ("awsRegion", "aws_region"),
    ("sourceIPAddress", "source_ip_address"),
    ("userAgent", "user_agent"),
    ("errorCode", "error_code"),
    ("errorMessage", "error_message"),
    ("requestID", "request_id"),
    ("eventID", "event_id"),
    ("eventType", "event_type"),
    ("apiVersion", "api_version"),
    ("managementEvent", "management_event"),
    ("readOnly", "read_only"),
    ("recipientAccountId", "recipient_account_id"),
    ("sharedEventID", "shared_event_id"),
    ("vpcEndpointId", "vpc_endpoint_id"),
    ("eventCategory", "event_category"),
    (
        "sessionCredentialFromConsole",
        "session_credential_from_console",
    ),
    ("userIdentity", "user_identity"),
    ("requestParameters", "request_parameters"),
    ("responseElements", "response_elements"),
    ("additionalEventData", "additional_event_data"),
    ("resources", "resources"),
    ("tlsDetails", "tls_details"),
    ("serviceEventDetails", "service_event_details"),
];

/// `userIdentity` members (or paths) of the flat identity columns.
const IDENTITY: &[(&[&str], &str)] = &[
    (&["type"], "user_identity_type"),
    (&["principalId"], "user_identity_principal_id"),
    (&["arn"], "user_identity_arn"),
    (&["accountId"], "user_identity_account_id"),
    (&["accessKeyId"], "user_identity_access_key_id"),
    (&["userName"], "user_identity_user_name"),
    (&["invokedBy"], "user_identity_invoked_by"),
    (
        &["sessionContext", "sessionIssuer", "arn"],
        "session_issuer_arn",
    ),
    (
        &["sessionContext", "attributes", "mfaAuthenticated"],
        "mfa_authenticated",
    ),
];

#[derive(Clone)]
enum Cell {
    Null,
    Str(String),
    Bool(bool),
    Time(i64),
}

fn text_of(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn bool_of(v: &serde_json::Value) -> Option<bool> {
    match v {
        serde_json::Value::Bool(b) => Some(*b),
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("true") => Some(true),
        serde_json::Value::String(s) if s.eq_ignore_ascii_case("false") => Some(false),
        _ => None,
    }
}

fn cell(ty: CtType, raw: &RawValue) -> Cell {
    let text = raw.get();
    if text == "null" {
        return Cell::Null;
    }
    let v: serde_json::Value = serde_json::from_str(text).unwrap();
    match ty {
        CtType::Json => Cell::Str(text.to_string()),
        CtType::Str => text_of(&v).map_or(Cell::Null, Cell::Str),
        CtType::Bool => bool_of(&v).map_or(Cell::Null, Cell::Bool),
        CtType::Time => Cell::Null,
    }
}

/// One record (its raw JSON text) into its cells by column name.
fn row(record: &str) -> HashMap<&'static str, Cell> {
    let members: HashMap<String, &RawValue> = serde_json::from_str(record).unwrap();
    let mut out = HashMap::new();
    let ty_of = |column: &str| CT_COLUMNS.iter().find(|c| c.column == column).unwrap().ty;
    for (member, column) in MEMBERS {
        if let Some(raw) = members.get(*member) {
            out.insert(*column, cell(ty_of(column), raw));
        }
    }
    let time = members
        .get("eventTime")
        .and_then(|raw| serde_json::from_str::<String>(raw.get()).ok())
        .and_then(|s| DateTime::parse_from_rfc3339(&s).ok())
        .map(|t| t.timestamp_millis())
        .expect("eventTime");
    out.insert("event_time", Cell::Time(time));
    if let Some(raw) = members.get("userIdentity") {
        let id: serde_json::Value = serde_json::from_str(raw.get()).unwrap();
        for (path, column) in IDENTITY {
            let v = path.iter().try_fold(&id, |v, k| v.get(*k));
            let c = match (v, ty_of(column)) {
                (Some(v), CtType::Bool) => bool_of(v).map_or(Cell::Null, Cell::Bool),
                (Some(v), _) => text_of(v).map_or(Cell::Null, Cell::Str),
                (None, _) => Cell::Null,
            };
            out.insert(*column, c);
        }
    }
    let str_of = |c: Option<&Cell>| match c {
        Some(Cell::Str(s)) => Some(s.clone()),
        _ => None,
    };
    let account = str_of(out.get("recipient_account_id"))
        .or_else(|| str_of(out.get("user_identity_account_id")))
        .unwrap_or_else(|| "unknown".into());
    let region = str_of(out.get("aws_region")).unwrap_or_else(|| "unknown".into());
    out.insert("account_id", Cell::Str(account));
    out.insert("region", Cell::Str(region));
    out.insert("source_key", Cell::Str("test".into()));
    out
}

/// A `cloudtrail` batch of the records (each the raw JSON text of one event).
pub fn cloudtrail_batch<S: AsRef<str>>(records: &[S]) -> RecordBatch {
    let rows: Vec<_> = records.iter().map(|r| row(r.as_ref())).collect();
    let schema = cloudtrail_schema();
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            let cells = rows.iter().map(|r| r.get(f.name().as_str()).cloned());
            match f.data_type() {
                arrow::datatypes::DataType::Boolean => Arc::new(BooleanArray::from(
                    cells
                        .map(|c| match c {
                            Some(Cell::Bool(b)) => Some(b),
                            _ => None,
                        })
                        .collect::<Vec<_>>(),
                )),
                arrow::datatypes::DataType::Timestamp(..) => Arc::new(
                    TimestampMillisecondArray::from(
                        cells
                            .map(|c| match c {
                                Some(Cell::Time(t)) => Some(t),
                                _ => None,
                            })
                            .collect::<Vec<_>>(),
                    )
                    .with_timezone("UTC"),
                ),
                _ => Arc::new(StringArray::from(
                    cells
                        .map(|c| match c {
                            Some(Cell::Str(s)) => Some(s),
                            _ => None,
                        })
                        .collect::<Vec<_>>(),
                )),
            }
        })
        .collect();
    RecordBatch::try_new(schema, cols).unwrap()
}

/// The raw text of each record of a JSON array (a Stratus Red Team detonation log).
pub fn array_records(text: &str) -> Vec<String> {
    let records: Vec<&RawValue> = serde_json::from_str(text).unwrap();
    records.iter().map(|r| r.get().to_string()).collect()
}

/// The `detect/` folder.
pub fn detect_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
}

/// The corpus folder the environment variable `var` names. Corpus tests are `#[ignore]`d; run
/// with `--ignored` and without the variable they fail here rather than pass unchecked.
pub fn corpus_dir(var: &str, what: &str) -> PathBuf {
    let Some(dir) = std::env::var_os(var).filter(|v| !v.is_empty()) else {
        panic!("{var} is not set: point it at {what} (see docs/corpora.md)");
    };
    let dir = PathBuf::from(dir);
    assert!(
        dir.is_dir(),
        "{var}={}: not a folder; expected {what} (see docs/corpora.md)",
        dir.display()
    );
    dir
}
