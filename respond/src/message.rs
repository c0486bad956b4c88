//! SQS message bodies: a flowtrail alert as JSON (an SNS subscription with raw message
//! delivery), or the SNS envelope around one (`{"Type":"Notification","Message":"<alert>"}`).

use flowtrail_core::Alert;
use serde::Deserialize;

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Type")]
    kind: Option<String>,
    #[serde(rename = "Message")]
    message: String,
}

/// The alert in a message body, or why there is none.
pub fn parse_body(body: &str) -> Result<Alert, String> {
    if let Ok(a) = serde_json::from_str::<Alert>(body) {
        return Ok(a);
    }
    match serde_json::from_str::<Envelope>(body) {
        Ok(e) if e.kind.as_deref().is_none_or(|k| k == "Notification") => {
            serde_json::from_str::<Alert>(&e.message)
                .map_err(|err| format!("SNS message is not a flowtrail alert: {err}"))
        }
        Ok(e) => Err(format!(
            "SNS {} message, not a notification",
            e.kind.unwrap_or_default()
        )),
        Err(err) => Err(format!("not a flowtrail alert: {err}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALERT: &str = r#"{"id":"a1","detector":"volume_spike","severity":"high","title":"t","account_id":"111122223333","region":"us-east-1","entity":{"kind":"instance","id":"i-1"},"first_seen":"2026-01-08T10:00:00Z","last_seen":"2026-01-08T11:00:00Z","count":1,"dedupe_key":"k","evidence":{}}"#;

    #[test]
    fn raw_and_enveloped_alerts() {
        assert_eq!(
            parse_body(ALERT).map(|a| a.entity.id).ok(),
            Some("i-1".into())
        );
        let env = serde_json::json!({"Type": "Notification", "MessageId": "m", "Message": ALERT})
            .to_string();
        assert_eq!(parse_body(&env).map(|a| a.id).ok(), Some("a1".into()));
        let confirm =
            serde_json::json!({"Type": "SubscriptionConfirmation", "Message": "x"}).to_string();
        assert!(parse_body(&confirm).is_err_and(|e| e.contains("SubscriptionConfirmation")));
        assert!(parse_body("hello").is_err());
        let env = serde_json::json!({"Type": "Notification", "Message": "{}"}).to_string();
        assert!(parse_body(&env).is_err());
    }
}
