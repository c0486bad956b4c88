//! The `cloudtrail` table: flat, typed top-level columns for what detections and analysts filter
//! on, and the free-form parts of an event as JSON strings (queryable with `json_get_str` and
//! friends in `flowtrail query`). Top-level fields AWS adds later land in `extra_fields` (JSON).

use std::sync::{Arc, OnceLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use super::{ACCOUNT_ID, EVENT_TIME, REGION, SOURCE_KEY, timestamp_type};

/// Kind of a CloudTrail column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CtType {
    /// UTF-8 string.
    Str,
    /// Boolean (`readOnly`, `managementEvent`, MFA flags; CloudTrail may write them as strings).
    Bool,
    /// A JSON value kept verbatim as a string.
    Json,
    /// UTC timestamp (milliseconds).
    Time,
}

/// One CloudTrail column.
#[derive(Debug, Clone, Copy)]
pub struct CtColumn {
    /// Lake column name.
    pub column: &'static str,
    /// Column type.
    pub ty: CtType,
}

const fn c(column: &'static str, ty: CtType) -> CtColumn {
    CtColumn { column, ty }
}

use CtType::{Bool, Json, Str, Time};

/// Column names, one constant each.
pub mod col {
    #![allow(missing_docs)]
    pub const EVENT_TIME: &str = "event_time";
    pub const EVENT_VERSION: &str = "event_version";
    pub const EVENT_SOURCE: &str = "event_source";
    pub const EVENT_NAME: &str = "event_name";
    pub const AWS_REGION: &str = "aws_region";
    pub const SOURCE_IP_ADDRESS: &str = "source_ip_address";
    pub const USER_AGENT: &str = "user_agent";
    pub const ERROR_CODE: &str = "error_code";
    pub const ERROR_MESSAGE: &str = "error_message";
    pub const REQUEST_ID: &str = "request_id";
    pub const EVENT_ID: &str = "event_id";
    pub const EVENT_TYPE: &str = "event_type";
    pub const API_VERSION: &str = "api_version";
    pub const MANAGEMENT_EVENT: &str = "management_event";
    pub const READ_ONLY: &str = "read_only";
    pub const RECIPIENT_ACCOUNT_ID: &str = "recipient_account_id";
    pub const SHARED_EVENT_ID: &str = "shared_event_id";
    pub const VPC_ENDPOINT_ID: &str = "vpc_endpoint_id";
    pub const EVENT_CATEGORY: &str = "event_category";
    pub const SESSION_CREDENTIAL_FROM_CONSOLE: &str = "session_credential_from_console";
    pub const USER_IDENTITY_TYPE: &str = "user_identity_type";
    pub const USER_IDENTITY_PRINCIPAL_ID: &str = "user_identity_principal_id";
    pub const USER_IDENTITY_ARN: &str = "user_identity_arn";
    pub const USER_IDENTITY_ACCOUNT_ID: &str = "user_identity_account_id";
    pub const USER_IDENTITY_ACCESS_KEY_ID: &str = "user_identity_access_key_id";
    pub const USER_IDENTITY_USER_NAME: &str = "user_identity_user_name";
    pub const USER_IDENTITY_INVOKED_BY: &str = "user_identity_invoked_by";
    pub const SESSION_ISSUER_ARN: &str = "session_issuer_arn";
    pub const MFA_AUTHENTICATED: &str = "mfa_authenticated";
    pub const USER_IDENTITY: &str = "user_identity";
    pub const REQUEST_PARAMETERS: &str = "request_parameters";
    pub const RESPONSE_ELEMENTS: &str = "response_elements";
    pub const ADDITIONAL_EVENT_DATA: &str = "additional_event_data";
    pub const RESOURCES: &str = "resources";
    pub const TLS_DETAILS: &str = "tls_details";
    pub const SERVICE_EVENT_DETAILS: &str = "service_event_details";
    pub const EXTRA_FIELDS: &str = "extra_fields";
}

/// Every column of the table except `account_id`, `region` and `source_key`, in order.
pub const CT_COLUMNS: &[CtColumn] = &[
    c(col::EVENT_TIME, Time),
    c(col::EVENT_VERSION, Str),
    c(col::EVENT_SOURCE, Str),
    c(col::EVENT_NAME, Str),
    c(col::AWS_REGION, Str),
    c(col::SOURCE_IP_ADDRESS, Str),
    c(col::USER_AGENT, Str),
    c(col::ERROR_CODE, Str),
    c(col::ERROR_MESSAGE, Str),
    c(col::REQUEST_ID, Str),
    c(col::EVENT_ID, Str),
    c(col::EVENT_TYPE, Str),
    c(col::API_VERSION, Str),
    c(col::MANAGEMENT_EVENT, Bool),
    c(col::READ_ONLY, Bool),
    c(col::RECIPIENT_ACCOUNT_ID, Str),
    c(col::SHARED_EVENT_ID, Str),
    c(col::VPC_ENDPOINT_ID, Str),
    c(col::EVENT_CATEGORY, Str),
    c(col::SESSION_CREDENTIAL_FROM_CONSOLE, Bool),
    c(col::USER_IDENTITY_TYPE, Str),
    c(col::USER_IDENTITY_PRINCIPAL_ID, Str),
    c(col::USER_IDENTITY_ARN, Str),
    c(col::USER_IDENTITY_ACCOUNT_ID, Str),
    c(col::USER_IDENTITY_ACCESS_KEY_ID, Str),
    c(col::USER_IDENTITY_USER_NAME, Str),
    c(col::USER_IDENTITY_INVOKED_BY, Str),
    c(col::SESSION_ISSUER_ARN, Str),
    c(col::MFA_AUTHENTICATED, Bool),
    c(col::USER_IDENTITY, Json),
    c(col::REQUEST_PARAMETERS, Json),
    c(col::RESPONSE_ELEMENTS, Json),
    c(col::ADDITIONAL_EVENT_DATA, Json),
    c(col::RESOURCES, Json),
    c(col::TLS_DETAILS, Json),
    c(col::SERVICE_EVENT_DETAILS, Json),
    c(col::EXTRA_FIELDS, Json),
];

/// The `cloudtrail` table schema: [`CT_COLUMNS`], then `account_id`, `region` (the partition
/// values, also stored in the files) and `source_key`.
pub fn cloudtrail_schema() -> SchemaRef {
    static SCHEMA: OnceLock<SchemaRef> = OnceLock::new();
    SCHEMA
        .get_or_init(|| {
            let mut fields: Vec<Field> = CT_COLUMNS
                .iter()
                .map(|c| {
                    let ty = match c.ty {
                        CtType::Str | CtType::Json => DataType::Utf8,
                        CtType::Bool => DataType::Boolean,
                        CtType::Time => timestamp_type(),
                    };
                    Field::new(c.column, ty, c.column != EVENT_TIME)
                })
                .collect();
            fields.push(Field::new(ACCOUNT_ID, DataType::Utf8, false));
            fields.push(Field::new(REGION, DataType::Utf8, false));
            fields.push(Field::new(SOURCE_KEY, DataType::Utf8, false));
            Arc::new(Schema::new(fields))
        })
        .clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_time_is_a_utc_timestamp_and_required() {
        let s = cloudtrail_schema();
        let f = s.field_with_name("event_time").ok();
        assert_eq!(f.map(|f| f.data_type().clone()), Some(timestamp_type()));
        assert_eq!(f.map(|f| f.is_nullable()), Some(false));
        assert!(s.field_with_name("request_parameters").is_ok());
        assert!(s.field_with_name("account_id").is_ok());
    }
}
