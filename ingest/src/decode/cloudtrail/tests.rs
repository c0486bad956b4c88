//! Tests of the CloudTrail decoder as the pipeline uses it: whole objects in, batches and
//! quarantine records out.

use arrow::array::{AsArray, RecordBatch};
use arrow::compute::concat_batches;
use arrow::datatypes::TimestampMillisecondType;
use flowtrail_core::schema::cloudtrail::{cloudtrail_schema, col};
use flowtrail_core::schema::{ACCOUNT_ID, REGION, SOURCE_KEY};
use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::sink::VecSink;
use flowtrail_lake::quarantine::QuarantineRecord;

type TestResult = Result<(), Box<dyn std::error::Error>>;

const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/08/x.json.gz";
const T0: i64 = 1_767_866_700_000; // 2026-01-08T10:05:00Z

/// A realistic AssumedRole management event.
fn event(id: &str) -> serde_json::Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {
            "type": "AssumedRole",
            "principalId": "AROAEXAMPLE:alice",
            "arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice",
            "accountId": "111122223333",
            "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {
                "sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE",
                    "arn": "arn:aws:iam::111122223333:role/Admin", "accountId": "111122223333", "userName": "Admin"},
                "webIdFederationData": {},
                "attributes": {"creationDate": "2026-01-08T09:00:00Z", "mfaAuthenticated": "true"}
            }
        },
        "eventTime": "2026-01-08T10:05:00Z",
        "eventSource": "ec2.amazonaws.com",
        "eventName": "AuthorizeSecurityGroupIngress",
        "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7",
        "userAgent": "aws-cli/2.15.0 Python/3.11",
        "requestParameters": {"groupId": "sg-0abc", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": 22,
            "toPort": 22, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}}]}},
        "responseElements": {"_return": true},
        "requestID": "req-1",
        "eventID": id,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management",
        "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": "ec2.us-east-1.amazonaws.com"},
        "sessionCredentialFromConsole": "true"
    })
}

fn records(events: &[serde_json::Value]) -> Vec<u8> {
    json!({ "Records": events }).to_string().into_bytes()
}

fn decode(data: &[u8]) -> (Result<CtStats, IngestError>, VecSink) {
    decode_with(data, &CloudTrailOptions::default())
}

fn decode_with(data: &[u8], opts: &CloudTrailOptions) -> (Result<CtStats, IngestError>, VecSink) {
    let mut sink = VecSink::default();
    let r = decode_cloudtrail(KEY, data, opts, &mut sink);
    (r, sink)
}

fn all(sink: &VecSink) -> Result<RecordBatch, arrow::error::ArrowError> {
    concat_batches(&cloudtrail_schema(), &sink.batches)
}

/// A string column as `Option<String>`s.
fn strs(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    match b
        .column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
    {
        Some(a) => a.iter().map(|v| v.map(str::to_owned)).collect(),
        None => panic!("no string column {name}"),
    }
}

fn bools(b: &RecordBatch, name: &str) -> Vec<Option<bool>> {
    match b.column_by_name(name).and_then(|c| c.as_boolean_opt()) {
        Some(a) => a.iter().collect(),
        None => panic!("no boolean column {name}"),
    }
}

fn s(v: &str) -> Option<String> {
    Some(v.to_owned())
}

fn stats(shape: CtShape, events: u64, records: u64, skipped: u64, quarantined: u64) -> CtStats {
    CtStats {
        shape,
        events,
        records,
        skipped,
        quarantined,
    }
}

#[test]
fn records_document_fills_every_column() -> TestResult {
    let (r, sink) = decode(&records(&[event("e1"), event("e2")]));
    assert_eq!(r?, stats(CtShape::Records, 2, 2, 0, 0));
    assert!(sink.quarantined.is_empty());
    let b = all(&sink)?;
    assert_eq!(b.schema(), cloudtrail_schema());
    assert_eq!(b.num_rows(), 2);
    let t = b
        .column_by_name(col::EVENT_TIME)
        .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>());
    assert_eq!(t.map(|t| t.value(0)), Some(T0));
    for (name, want) in [
        (col::EVENT_VERSION, "1.09"),
        (col::EVENT_SOURCE, "ec2.amazonaws.com"),
        (col::EVENT_NAME, "AuthorizeSecurityGroupIngress"),
        (col::AWS_REGION, "us-east-1"),
        (col::SOURCE_IP_ADDRESS, "203.0.113.7"),
        (col::USER_AGENT, "aws-cli/2.15.0 Python/3.11"),
        (col::REQUEST_ID, "req-1"),
        (col::EVENT_ID, "e1"),
        (col::EVENT_TYPE, "AwsApiCall"),
        (col::RECIPIENT_ACCOUNT_ID, "111122223333"),
        (col::EVENT_CATEGORY, "Management"),
        (col::USER_IDENTITY_TYPE, "AssumedRole"),
        (col::USER_IDENTITY_PRINCIPAL_ID, "AROAEXAMPLE:alice"),
        (
            col::USER_IDENTITY_ARN,
            "arn:aws:sts::111122223333:assumed-role/Admin/alice",
        ),
        (col::USER_IDENTITY_ACCOUNT_ID, "111122223333"),
        (col::USER_IDENTITY_ACCESS_KEY_ID, "ASIAEXAMPLE"),
        (
            col::SESSION_ISSUER_ARN,
            "arn:aws:iam::111122223333:role/Admin",
        ),
        (ACCOUNT_ID, "111122223333"),
        (REGION, "us-east-1"),
        (SOURCE_KEY, KEY),
    ] {
        assert_eq!(strs(&b, name)[0], s(want), "{name}");
    }
    for name in [
        col::ERROR_CODE,
        col::ERROR_MESSAGE,
        col::API_VERSION,
        col::SHARED_EVENT_ID,
        col::VPC_ENDPOINT_ID,
        col::USER_IDENTITY_USER_NAME,
        col::USER_IDENTITY_INVOKED_BY,
        col::ADDITIONAL_EVENT_DATA,
        col::RESOURCES,
        col::SERVICE_EVENT_DETAILS,
        col::EXTRA_FIELDS,
    ] {
        assert_eq!(strs(&b, name)[0], None, "{name}");
    }
    assert_eq!(strs(&b, col::EVENT_ID)[1], s("e2"));
    assert_eq!(bools(&b, col::READ_ONLY)[0], Some(false));
    assert_eq!(bools(&b, col::MANAGEMENT_EVENT)[0], Some(true));
    assert_eq!(
        bools(&b, col::SESSION_CREDENTIAL_FROM_CONSOLE)[0],
        Some(true)
    );
    assert_eq!(bools(&b, col::MFA_AUTHENTICATED)[0], Some(true));
    // JSON columns hold the member's text verbatim.
    let ev = event("e1");
    for (name, member) in [
        (col::USER_IDENTITY, "userIdentity"),
        (col::REQUEST_PARAMETERS, "requestParameters"),
        (col::RESPONSE_ELEMENTS, "responseElements"),
        (col::TLS_DETAILS, "tlsDetails"),
    ] {
        assert_eq!(strs(&b, name)[0], Some(ev[member].to_string()), "{name}");
    }
    Ok(())
}

#[test]
fn json_text_is_kept_byte_for_byte() -> TestResult {
    let doc = br#"{"Records":[{"eventTime":"2026-01-08T10:05:00Z","requestParameters":{ "b" : [1, 2.50] ,"a":"\u00e9"},
        "resources":[{"ARN":"arn:x"}],"additionalEventData":null,"errorCode":null,"userAgent":"a\"b\u00e9"}]}"#;
    let (r, sink) = decode(doc);
    assert_eq!(r?.records, 1);
    let b = all(&sink)?;
    assert_eq!(
        strs(&b, col::REQUEST_PARAMETERS)[0],
        s(r#"{ "b" : [1, 2.50] ,"a":"\u00e9"}"#)
    );
    assert_eq!(strs(&b, col::RESOURCES)[0], s(r#"[{"ARN":"arn:x"}]"#));
    assert_eq!(strs(&b, col::ADDITIONAL_EVENT_DATA)[0], None);
    assert_eq!(strs(&b, col::ERROR_CODE)[0], None);
    assert_eq!(strs(&b, col::USER_AGENT)[0], s("a\"bé"));
    assert_eq!(strs(&b, col::USER_IDENTITY)[0], None);
    Ok(())
}

#[test]
fn single_event_object() -> TestResult {
    let (r, sink) = decode(event("solo").to_string().as_bytes());
    assert_eq!(r?, stats(CtShape::SingleEvent, 1, 1, 0, 0));
    assert_eq!(strs(&all(&sink)?, col::EVENT_ID), vec![s("solo")]);
    Ok(())
}

#[test]
fn bare_array_of_events() -> TestResult {
    let (r, sink) = decode(json!([event("a"), event("b")]).to_string().as_bytes());
    assert_eq!(r?, stats(CtShape::Records, 2, 2, 0, 0));
    assert_eq!(sink.rows(), 2);
    Ok(())
}

fn envelope(message_type: &str, messages: &[String]) -> serde_json::Value {
    let log_events: Vec<_> = messages
        .iter()
        .enumerate()
        .map(|(i, m)| json!({"id": format!("3{i}"), "timestamp": T0, "message": m}))
        .collect();
    json!({"messageType": message_type, "owner": "111122223333", "logGroup": "aws-cloudtrail-logs",
        "logStream": "111122223333_CloudTrail_us-east-1", "subscriptionFilters": ["ct"], "logEvents": log_events})
}

#[test]
fn cloudwatch_data_envelope() -> TestResult {
    let msgs = [
        event("cw1").to_string(),
        "not json".to_string(),
        event("cw3").to_string(),
    ];
    let (r, sink) = decode(envelope("DATA_MESSAGE", &msgs).to_string().as_bytes());
    assert_eq!(r?, stats(CtShape::CloudWatchEnvelope, 3, 2, 0, 1));
    assert_eq!(strs(&all(&sink)?, col::EVENT_ID), vec![s("cw1"), s("cw3")]);
    let q = &sink.quarantined[0];
    assert_eq!((q.line, q.raw.as_deref()), (Some(2), Some("not json")));
    // Members in any order: logEvents before messageType.
    let text = format!(
        r#"{{"logEvents":[{{"id":"1","timestamp":1,"message":{}}}],"messageType":"DATA_MESSAGE"}}"#,
        serde_json::to_string(&event("late").to_string())?
    );
    let (r, sink) = decode(text.as_bytes());
    assert_eq!(r?.shape, CtShape::CloudWatchEnvelope);
    assert_eq!(strs(&all(&sink)?, col::EVENT_ID), vec![s("late")]);
    Ok(())
}

#[test]
fn cloudwatch_control_message_is_not_an_error() -> TestResult {
    let msgs = ["CWL CONTROL MESSAGE: Checking health of destination Firehose.".to_string()];
    let (r, sink) = decode(envelope("CONTROL_MESSAGE", &msgs).to_string().as_bytes());
    assert_eq!(r?, stats(CtShape::CloudWatchControl, 0, 0, 0, 0));
    assert!(sink.batches.is_empty() && sink.quarantined.is_empty());
    Ok(())
}

#[test]
fn firehose_concatenated_envelopes() -> TestResult {
    let mut data = envelope("CONTROL_MESSAGE", &["ping".into()]).to_string();
    data.push_str(
        &envelope(
            "DATA_MESSAGE",
            &[event("f1").to_string(), event("f2").to_string()],
        )
        .to_string(),
    );
    data.push_str(&envelope("DATA_MESSAGE", &[event("f3").to_string()]).to_string());
    let (r, sink) = decode(data.as_bytes());
    assert_eq!(r?, stats(CtShape::CloudWatchEnvelope, 3, 3, 0, 0));
    assert_eq!(
        strs(&all(&sink)?, col::EVENT_ID),
        vec![s("f1"), s("f2"), s("f3")]
    );
    Ok(())
}

#[test]
fn json_lines_quarantine_bad_lines_by_number() -> TestResult {
    let data = format!(
        "{}\n\n{{\"eventTime\":\"2026-01-08T10:05:00Z\",\"eventName\":\"X\",\"eventID\":\n{}\n42\n",
        event("l1"),
        event("l4")
    );
    let (r, sink) = decode(data.as_bytes());
    assert_eq!(r?, stats(CtShape::JsonLines, 4, 2, 0, 2));
    assert_eq!(strs(&all(&sink)?, col::EVENT_ID), vec![s("l1"), s("l4")]);
    let lines: Vec<_> = sink.quarantined.iter().map(|q| q.line).collect();
    assert_eq!(lines, vec![Some(3), Some(5)]);
    assert!(
        sink.quarantined[0].reason.contains("invalid JSON"),
        "{}",
        sink.quarantined[0].reason
    );
    assert_eq!(sink.quarantined[1].raw.as_deref(), Some("42"));
    assert!(
        sink.quarantined[1].reason.contains("not CloudTrail"),
        "{}",
        sink.quarantined[1].reason
    );
    Ok(())
}

#[test]
fn pretty_printed_documents_are_not_json_lines() -> TestResult {
    let pretty = serde_json::to_string_pretty(&json!({"Records": [event("p1"), event("p2")]}))?;
    let (r, sink) = decode(pretty.as_bytes());
    assert_eq!(r?, stats(CtShape::Records, 2, 2, 0, 0));
    assert_eq!(sink.rows(), 2);
    let half = format!("{{\"Records\": [\n{},\n{}\n]}}", event("h1"), event("h2"));
    let (r, _) = decode(half.as_bytes());
    assert_eq!(r?, stats(CtShape::Records, 2, 2, 0, 0));
    assert!(!looks_like_json_lines(b"{\"a\":1}\n"));
    assert!(looks_like_json_lines(b"\n {\"a\":1} \r\n\n{\"b\":2}"));
    Ok(())
}

#[test]
fn digest_files_yield_nothing() -> TestResult {
    let digest = json!({"awsAccountId": "111122223333", "digestStartTime": "2026-01-08T09:05:00Z",
        "digestEndTime": "2026-01-08T10:05:00Z", "digestS3Bucket": "trail", "digestS3Object": "AWSLogs/x.json.gz",
        "digestPublicKeyFingerprint": "abc", "digestSignatureAlgorithm": "SHA256withRSA",
        "newestEventTime": "2026-01-08T10:04:00Z", "oldestEventTime": "2026-01-08T09:05:00Z",
        "previousDigestS3Bucket": null, "logFiles": [{"s3Bucket": "trail", "s3Object": "x", "hashValue": "00"}]});
    let (r, sink) = decode(digest.to_string().as_bytes());
    assert_eq!(r?, stats(CtShape::Digest, 0, 0, 0, 0));
    assert!(sink.batches.is_empty() && sink.quarantined.is_empty());
    Ok(())
}

#[test]
fn insights_are_skipped() -> TestResult {
    let insight = json!({"eventVersion": "1.07", "eventTime": "2026-01-08T10:05:00Z", "awsRegion": "us-east-1",
        "eventID": "i1", "eventType": "AwsCloudTrailInsight", "recipientAccountId": "111122223333",
        "sharedEventID": "s1", "insightDetails": {"state": "Start", "eventSource": "ec2.amazonaws.com",
        "eventName": "RunInstances", "insightType": "ApiCallRateInsight"}, "eventCategory": "Insight"});
    let (r, sink) = decode(&records(&[insight.clone(), insight.clone()]));
    assert_eq!(r?, stats(CtShape::Insights, 2, 0, 2, 0));
    assert!(sink.batches.is_empty() && sink.quarantined.is_empty());
    // A management event among them is still emitted, and the shape says so.
    let (r, sink) = decode(&records(&[insight, event("m1")]));
    assert_eq!(r?, stats(CtShape::Records, 2, 1, 1, 0));
    assert_eq!(sink.rows(), 1);
    Ok(())
}

#[test]
fn empty_inputs() -> TestResult {
    for data in [&b""[..], b"  \n\t ", b"{}", b" {} \n"] {
        let (r, sink) = decode(data);
        assert_eq!(
            r?,
            stats(CtShape::Empty, 0, 0, 0, 0),
            "{:?}",
            String::from_utf8_lossy(data)
        );
        assert!(sink.batches.is_empty());
    }
    let (r, _) = decode(br#"{"Records":[]}"#);
    assert_eq!(r?, stats(CtShape::Records, 0, 0, 0, 0));
    Ok(())
}

#[test]
fn truncated_document_keeps_the_complete_events() -> TestResult {
    let full = records(&[event("t1"), event("t2"), event("t3")]);
    let cut_at = full.len() - event("t3").to_string().len() + 12; // inside the third event
    let (r, sink) = decode(&full[..cut_at]);
    match r {
        Err(IngestError::Format { key, reason }) => {
            assert_eq!(key, KEY);
            assert!(reason.contains("line 1 column"), "{reason}");
        }
        other => panic!("expected a format error, got {other:?}"),
    }
    assert_eq!(strs(&all(&sink)?, col::EVENT_ID), vec![s("t1"), s("t2")]);
    assert!(sink.quarantined.is_empty());
    Ok(())
}

#[test]
fn not_json_and_not_cloudtrail_are_format_errors() -> TestResult {
    for data in [
        &b"\x1f\x8b\x08garbage"[..],
        b"hello world",
        b"<html></html>",
        b"42",
        br#"{"foo":1,"bar":[2]}"#,
    ] {
        let (r, sink) = decode(data);
        assert!(
            matches!(r, Err(IngestError::Format { .. })),
            "{:?}: {r:?}",
            String::from_utf8_lossy(data)
        );
        assert!(sink.batches.is_empty());
    }
    let (r, _) = decode(br#"{"foo":1,"bar":[2]}"#);
    let reason = r.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(reason.contains("foo, bar"), "{reason}");
    // Trailing garbage after a good document: its events land, then the error.
    let mut data = records(&[event("g1")]);
    data.extend_from_slice(b" trailing");
    let (r, sink) = decode(&data);
    assert!(matches!(r, Err(IngestError::Format { .. })));
    assert_eq!(sink.rows(), 1);
    Ok(())
}

#[test]
fn invalid_utf8_stops_the_document_after_the_events_before_it() -> TestResult {
    let mut data = records(&[event("u1"), event("u2")]);
    let at = data.len() - 10;
    data[at] = 0xff;
    let (r, sink) = decode(&data);
    match r {
        Err(IngestError::Format { reason, .. }) => {
            assert!(reason.contains(&format!("invalid UTF-8 at byte {at}")))
        }
        other => panic!("expected a format error, got {other:?}"),
    }
    assert_eq!(strs(&all(&sink)?, col::EVENT_ID), vec![s("u1")]);
    Ok(())
}

#[test]
fn bad_events_are_quarantined_with_their_index() -> TestResult {
    let mut no_time = event("q2");
    if let Some(o) = no_time.as_object_mut() {
        o.remove("eventTime");
    }
    let mut bad_time = event("q3");
    bad_time["eventTime"] = json!("2026-13-45T99:00:00Z");
    let events = [
        event("q1"),
        no_time,
        bad_time,
        json!("just a string"),
        json!(null),
        event("q6"),
    ];
    let (r, sink) = decode(&records(&events));
    assert_eq!(r?, stats(CtShape::Records, 6, 2, 0, 4));
    assert_eq!(strs(&all(&sink)?, col::EVENT_ID), vec![s("q1"), s("q6")]);
    let got: Vec<_> = sink
        .quarantined
        .iter()
        .map(|q| (q.object.as_str(), q.line))
        .collect();
    assert_eq!(
        got,
        vec![
            (KEY, Some(2)),
            (KEY, Some(3)),
            (KEY, Some(4)),
            (KEY, Some(5))
        ]
    );
    assert!(sink.quarantined[0].reason.contains("missing eventTime"));
    assert!(sink.quarantined[1].reason.contains("unparsable eventTime"));
    assert!(
        sink.quarantined[2]
            .reason
            .contains("a string, not an event object")
    );
    assert_eq!(
        sink.quarantined[2].raw.as_deref(),
        Some(r#""just a string""#)
    );
    assert_eq!(sink.quarantined[3].raw.as_deref(), Some("null"));
    // The re-assembled raw text has every member of the event.
    let raw: serde_json::Value =
        serde_json::from_str(sink.quarantined[0].raw.as_deref().unwrap_or_default())?;
    assert_eq!(raw["eventID"], "q2");
    assert_eq!(raw["requestParameters"], event("x")["requestParameters"]);
    Ok(())
}

#[test]
fn booleans_accept_bools_and_strings() -> TestResult {
    let mut a = event("b1");
    a["readOnly"] = json!("true");
    a["managementEvent"] = json!("false");
    a["userIdentity"]["sessionContext"]["attributes"]["mfaAuthenticated"] = json!(false);
    let mut b = event("b2");
    b["readOnly"] = json!(true);
    b["managementEvent"] = json!(null);
    b["sessionCredentialFromConsole"] = json!("maybe");
    let (r, sink) = decode(&records(&[a, b]));
    assert_eq!(r?.records, 2);
    let batch = all(&sink)?;
    assert_eq!(bools(&batch, col::READ_ONLY), vec![Some(true), Some(true)]);
    assert_eq!(
        bools(&batch, col::MANAGEMENT_EVENT),
        vec![Some(false), None]
    );
    assert_eq!(
        bools(&batch, col::MFA_AUTHENTICATED),
        vec![Some(false), Some(true)]
    );
    assert_eq!(
        bools(&batch, col::SESSION_CREDENTIAL_FROM_CONSOLE),
        vec![Some(true), None]
    );
    assert_eq!(
        strs(&batch, col::EXTRA_FIELDS),
        vec![None, s(r#"{"sessionCredentialFromConsole":"maybe"}"#)]
    );
    Ok(())
}

#[test]
fn unknown_members_go_to_extra_fields() -> TestResult {
    let mut e = event("x1");
    e["addendum"] = json!({"reason": "DELIVERY_DELAY", "updatedFields": "x"});
    e["edgeDeviceDetails"] = json!(null);
    let (r, sink) = decode(&records(&[e]));
    assert_eq!(r?.records, 1);
    let extra = strs(&all(&sink)?, col::EXTRA_FIELDS)[0]
        .clone()
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&extra)?;
    assert_eq!(
        v,
        json!({"addendum": {"reason": "DELIVERY_DELAY", "updatedFields": "x"}, "edgeDeviceDetails": null})
    );
    Ok(())
}

#[test]
fn account_and_region_fallbacks() -> TestResult {
    let full = event("a1");
    let mut no_recipient = event("a2");
    for k in ["recipientAccountId", "awsRegion"] {
        no_recipient.as_object_mut().and_then(|o| o.remove(k));
    }
    let mut bare = event("a3");
    for k in ["recipientAccountId", "awsRegion", "userIdentity"] {
        bare.as_object_mut().and_then(|o| o.remove(k));
    }
    let data = records(&[full, no_recipient, bare]);

    let (r, sink) = decode(&data);
    assert_eq!(r?.records, 3);
    let b = all(&sink)?;
    assert_eq!(
        strs(&b, ACCOUNT_ID),
        vec![s("111122223333"), s("111122223333"), s("unknown")]
    );
    assert_eq!(
        strs(&b, REGION),
        vec![s("us-east-1"), s("unknown"), s("unknown")]
    );

    let opts = CloudTrailOptions {
        fallback_account_id: Some("999988887777".into()),
        fallback_region: Some("eu-west-1".into()),
        ..CloudTrailOptions::default()
    };
    let (r, sink) = decode_with(&data, &opts);
    assert_eq!(r?.records, 3);
    let b = all(&sink)?;
    assert_eq!(
        strs(&b, ACCOUNT_ID),
        vec![s("111122223333"), s("999988887777"), s("999988887777")]
    );
    assert_eq!(
        strs(&b, REGION),
        vec![s("us-east-1"), s("eu-west-1"), s("eu-west-1")]
    );
    Ok(())
}

#[test]
fn batches_are_cut_at_batch_rows() -> TestResult {
    let events: Vec<_> = (0..7).map(|i| event(&format!("r{i}"))).collect();
    let opts = CloudTrailOptions {
        batch_rows: 3,
        ..CloudTrailOptions::default()
    };
    let (r, sink) = decode_with(&records(&events), &opts);
    assert_eq!(r?.records, 7);
    let sizes: Vec<_> = sink.batches.iter().map(|b| b.num_rows()).collect();
    assert_eq!(sizes, vec![3, 3, 1]);
    Ok(())
}

#[test]
fn events_api_numbers_by_caller() -> TestResult {
    let good = event("c1").to_string();
    let mut bad = event("c2");
    bad["eventTime"] = json!("later");
    let bad = bad.to_string();
    let items = [
        (10, good.as_bytes()),
        (11, b"{oops".as_slice()),
        (12, bad.as_bytes()),
        (13, b"\xff\xfe".as_slice()),
    ];
    let mut sink = VecSink::default();
    let st = decode_cloudtrail_events(KEY, items, &CloudTrailOptions::default(), &mut sink)?;
    assert_eq!(st, stats(CtShape::JsonLines, 4, 1, 0, 3));
    let lines: Vec<_> = sink.quarantined.iter().map(|q| q.line).collect();
    assert_eq!(lines, vec![Some(11), Some(12), Some(13)]);
    // The exact message text is kept for a bad event.
    assert_eq!(sink.quarantined[1].raw.as_deref(), Some(bad.as_str()));
    let st = decode_cloudtrail_events(
        KEY,
        std::iter::empty::<(u64, &[u8])>(),
        &CloudTrailOptions::default(),
        &mut sink,
    )?;
    assert_eq!(st, stats(CtShape::Empty, 0, 0, 0, 0));
    Ok(())
}

/// A sink whose lake is gone.
struct FailingSink;

impl DecodeSink for FailingSink {
    fn batch(&mut self, _: RecordBatch) -> Result<(), IngestError> {
        Err(IngestError::Io {
            path: "/lake".into(),
            source: std::io::Error::other("disk full"),
        })
    }
    fn quarantine(&mut self, _: QuarantineRecord) {}
}

#[test]
fn sink_errors_stop_decoding_and_are_returned_as_they_are() {
    let opts = CloudTrailOptions {
        batch_rows: 1,
        ..CloudTrailOptions::default()
    };
    let data = records(&[event("s1"), event("s2")]);
    let r = decode_cloudtrail(KEY, &data, &opts, &mut FailingSink);
    assert!(matches!(r, Err(IngestError::Io { .. })), "{r:?}");
    let cw = envelope("DATA_MESSAGE", &[event("s3").to_string()]).to_string();
    let r = decode_cloudtrail(KEY, cw.as_bytes(), &opts, &mut FailingSink);
    assert!(matches!(r, Err(IngestError::Io { .. })), "{r:?}");
    let r = decode_cloudtrail(KEY, &data, &CloudTrailOptions::default(), &mut FailingSink);
    assert!(matches!(r, Err(IngestError::Io { .. })), "{r:?}");
}

proptest! {
    /// Cut a document anywhere: no panic, the rows are exactly the events complete before the
    /// cut (in order), nothing is quarantined, and only the whole document succeeds.
    #[test]
    fn any_truncation_keeps_a_prefix_of_the_events(cut in 0usize..4000) {
        let events: Vec<_> = (0..3).map(|i| event(&format!("p{i}"))).collect();
        let full = records(&events);
        let cut = cut.min(full.len());
        let (r, sink) = decode(&full[..cut]);
        let got: Vec<Option<String>> = match all(&sink) {
            Ok(b) => strs(&b, col::EVENT_ID),
            Err(e) => return Err(TestCaseError::fail(e.to_string())),
        };
        let want: Vec<Option<String>> = (0..got.len()).map(|i| s(&format!("p{i}"))).collect();
        prop_assert_eq!(&got, &want);
        prop_assert!(sink.quarantined.is_empty());
        prop_assert_eq!(r.is_ok(), cut == full.len() || cut == 0);
    }

    /// Arbitrary bytes never panic, and the counters always add up.
    #[test]
    fn arbitrary_input_never_panics(data in prop::collection::vec(any::<u8>(), 0..300)) {
        let (r, sink) = decode(&data);
        if let Ok(st) = r {
            prop_assert_eq!(st.events, st.records + st.skipped + st.quarantined);
            prop_assert_eq!(st.records as usize, sink.rows());
        }
    }
}
