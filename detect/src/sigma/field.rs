//! Sigma field names of the CloudTrail log source (the event's own JSON names, dotted for
//! nested keys) to SQL expressions over the `cloudtrail` table.
//!
//! Top-level event fields and the `userIdentity` fields the table flattens map to their
//! columns; everything under a JSON column (`requestParameters.bucketName`,
//! `userIdentity.sessionContext.sessionIssuer.type`) reads that column with `json_as_text`,
//! which gives strings without quotes and other values (booleans, numbers, arrays) as JSON
//! text. Every expression is text, so booleans compare as `'true'` / `'false'`.

/// Top-level CloudTrail fields and their columns; `true` for boolean columns (cast to text).
const TOP_LEVEL: &[(&str, &str, bool)] = &[
    ("eventTime", "event_time", true),
    ("eventVersion", "event_version", false),
    ("eventSource", "event_source", false),
    ("eventName", "event_name", false),
    ("awsRegion", "aws_region", false),
    ("sourceIPAddress", "source_ip_address", false),
    ("userAgent", "user_agent", false),
    ("errorCode", "error_code", false),
    ("errorMessage", "error_message", false),
    ("requestID", "request_id", false),
    ("eventID", "event_id", false),
    ("eventType", "event_type", false),
    ("apiVersion", "api_version", false),
    ("managementEvent", "management_event", true),
    ("readOnly", "read_only", true),
    ("recipientAccountId", "recipient_account_id", false),
    ("sharedEventID", "shared_event_id", false),
    ("vpcEndpointId", "vpc_endpoint_id", false),
    ("eventCategory", "event_category", false),
    (
        "sessionCredentialFromConsole",
        "session_credential_from_console",
        true,
    ),
];

/// `userIdentity` fields with a column of their own.
const USER_IDENTITY: &[(&str, &str, bool)] = &[
    ("userIdentity.type", "user_identity_type", false),
    (
        "userIdentity.principalId",
        "user_identity_principal_id",
        false,
    ),
    ("userIdentity.arn", "user_identity_arn", false),
    ("userIdentity.accountId", "user_identity_account_id", false),
    (
        "userIdentity.accessKeyId",
        "user_identity_access_key_id",
        false,
    ),
    ("userIdentity.userName", "user_identity_user_name", false),
    ("userIdentity.invokedBy", "user_identity_invoked_by", false),
    (
        "userIdentity.sessionContext.sessionIssuer.arn",
        "session_issuer_arn",
        false,
    ),
    (
        "userIdentity.sessionContext.attributes.mfaAuthenticated",
        "mfa_authenticated",
        true,
    ),
];

/// Fields kept as JSON text in a column of their own.
const JSON_COLUMNS: &[(&str, &str)] = &[
    ("userIdentity", "user_identity"),
    ("requestParameters", "request_parameters"),
    ("responseElements", "response_elements"),
    ("additionalEventData", "additional_event_data"),
    ("resources", "resources"),
    ("tlsDetails", "tls_details"),
    ("serviceEventDetails", "service_event_details"),
];

/// How a field is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldExpr {
    /// A text-valued SQL expression.
    pub sql: String,
    /// For a key under a JSON column: the JSON text of each enclosing value, innermost first
    /// (a value inside an array can only be found in the array's text).
    pub parents: Vec<String>,
}

/// The SQL expression reading a Sigma field, or why there is none.
pub fn field_expr(name: &str) -> Result<FieldExpr, String> {
    let column = |column: &str, boolean: bool| FieldExpr {
        sql: if boolean {
            format!("CAST({column} AS VARCHAR)")
        } else {
            column.to_string()
        },
        parents: Vec::new(),
    };
    if let Some((_, c, b)) = TOP_LEVEL
        .iter()
        .chain(USER_IDENTITY)
        .find(|(f, _, _)| *f == name)
    {
        return Ok(column(c, *b));
    }
    let (head, rest) = match name.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (name, None),
    };
    let Some((_, json_column)) = JSON_COLUMNS.iter().find(|(f, _)| *f == head) else {
        return Err(format!(
            "unknown CloudTrail field `{name}` (expected an event field such as eventName, \
             or a key under requestParameters, responseElements, additionalEventData, \
             userIdentity, resources)"
        ));
    };
    let Some(rest) = rest else {
        return Ok(column(json_column, false));
    };
    let keys: Vec<&str> = rest.split('.').collect();
    if keys.iter().any(|k| k.is_empty()) {
        return Err(format!("field `{name}`: empty key in the path"));
    }
    let path = |keys: &[&str]| {
        let mut s = format!("json_as_text({json_column}");
        for k in keys {
            s.push_str(", ");
            s.push_str(&super::expr::literal(k));
        }
        s.push(')');
        s
    };
    let parents = (1..keys.len()).rev().map(|n| path(&keys[..n])).collect();
    Ok(FieldExpr {
        sql: path(&keys),
        parents,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_json_keys_and_unknown_fields() {
        assert_eq!(
            field_expr("eventName").map(|f| f.sql),
            Ok("event_name".to_string())
        );
        assert_eq!(
            field_expr("readOnly").map(|f| f.sql),
            Ok("CAST(read_only AS VARCHAR)".to_string())
        );
        assert_eq!(
            field_expr("userIdentity.arn").map(|f| f.sql),
            Ok("user_identity_arn".to_string())
        );
        let nested = field_expr("userIdentity.sessionContext.sessionIssuer.type");
        assert_eq!(
            nested.as_ref().map(|f| f.sql.as_str()),
            Ok("json_as_text(user_identity, 'sessionContext', 'sessionIssuer', 'type')")
        );
        assert_eq!(
            nested.map(|f| f.parents),
            Ok(vec![
                "json_as_text(user_identity, 'sessionContext', 'sessionIssuer')".to_string(),
                "json_as_text(user_identity, 'sessionContext')".to_string(),
            ])
        );
        assert_eq!(
            field_expr("requestParameters").map(|f| f.sql),
            Ok("request_parameters".to_string())
        );
        assert_eq!(
            field_expr("requestParameters.it's").map(|f| f.sql),
            Ok("json_as_text(request_parameters, 'it''s')".to_string())
        );
        assert!(field_expr("eventname").is_err_and(|e| e.contains("eventname")));
        assert!(field_expr("requestParameters..x").is_err());
    }
}
