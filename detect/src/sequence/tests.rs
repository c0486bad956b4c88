#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray, new_null_array};

use flowtrail_core::alert::alert_time;
use flowtrail_core::schema::cloudtrail::cloudtrail_schema;

use super::*;

const MIN: i64 = 60_000;
pub(crate) const T0: i64 = 1_767_600_000_000;

/// A CloudTrail row: `(event_name, error_code, request_parameters, response_elements)`.
pub(crate) type Row<'a> = (&'a str, Option<&'a str>, &'a str, &'a str);

/// CloudTrail rows; every other column null (times [`T0`]).
pub(crate) fn trail(rows: &[Row<'_>]) -> RecordBatch {
    let schema = cloudtrail_schema();
    let cols: Vec<ArrayRef> = schema
        .fields()
        .iter()
        .map(|f| -> ArrayRef {
            let pick: Option<fn(&Row<'_>) -> Option<String>> = match f.name().as_str() {
                "event_name" => Some(|r| Some(r.0.to_string())),
                "error_code" => Some(|r| r.1.map(str::to_string)),
                "request_parameters" => Some(|r| Some(r.2.to_string())),
                "response_elements" => Some(|r| Some(r.3.to_string())),
                _ => None,
            };
            match pick {
                Some(g) => Arc::new(StringArray::from(rows.iter().map(g).collect::<Vec<_>>())),
                None if !f.is_nullable() => {
                    let v = Arc::new(StringArray::from(vec![rfc3339(T0); rows.len()]));
                    arrow::compute::cast(&(v as ArrayRef), f.data_type()).unwrap()
                }
                None => new_null_array(f.data_type(), rows.len()),
            }
        })
        .collect();
    RecordBatch::try_new(schema, cols).unwrap()
}

fn alert(id: &str, det: &str, sev: Severity, kind: EntityKind, entity: &str, t: i64) -> Alert {
    Alert {
        why: String::new(),
        next_steps: Vec::new(),
        asset: None,
        id: id.into(),
        detector: det.into(),
        severity: sev,
        title: "t".into(),
        account_id: Some("123456789012".into()),
        region: Some("us-east-1".into()),
        entity: Entity {
            kind,
            id: entity.into(),
        },
        first_seen: alert_time(t),
        last_seen: alert_time(t + 5 * MIN),
        count: 1,
        dedupe_key: id.into(),
        attack: Default::default(),
        evidence: json!({}),
    }
}

fn with(mut a: Alert, ev: serde_json::Value) -> Alert {
    a.evidence = ev;
    a
}

fn linked() -> Sequences {
    let mut s = Sequences::default();
    s.learn(&[trail(&[(
        "RunInstances",
        None,
        "{}",
        r#"{"instancesSet": {"items": [{"instanceId": "i-1", "privateIpAddress": "10.0.1.5", "groupSet": {"items": [{"groupId": "sg-a"}]}}]}}"#,
    )])]);
    s
}

fn opened(sev: Severity, t: i64) -> Alert {
    alert(
        "a1",
        "security_group_change",
        sev,
        EntityKind::SecurityGroup,
        "sg-a",
        t,
    )
}

fn brute(t: i64) -> Alert {
    with(
        alert(
            "a2",
            "ssh_brute_force",
            Severity::High,
            EntityKind::Ip,
            "203.0.113.9",
            t,
        ),
        json!({"target": "10.0.1.5", "accepted": 3}),
    )
}

#[test]
fn admin_access_shortly_after_a_group_is_opened_is_one_critical_sequence() {
    let mut s = linked();
    assert!(s.observe(&[opened(Severity::Critical, T0)]).is_empty());
    let out = s.observe(&[brute(T0 + 20 * MIN)]);
    assert_eq!(out.len(), 1);
    let f = &out[0];
    assert_eq!(
        (f.detector.as_str(), f.severity),
        (DETECTOR, Severity::Critical)
    );
    assert_eq!(
        f.entity,
        Entity {
            kind: EntityKind::Instance,
            id: "i-1".into()
        }
    );
    assert_eq!(f.evidence["parts"][0]["alert_id"], "a1");
    assert_eq!(f.evidence["parts"][1]["detector"], "ssh_brute_force");
    assert_eq!((f.first_seen_ms, f.last_seen_ms), (T0, T0 + 25 * MIN));
    // Seen again: not a second sequence.
    assert!(s.observe(&[brute(T0 + 20 * MIN)]).is_empty());
}

#[test]
fn order_of_arrival_does_not_matter_and_a_third_stage_raises_it_again() {
    let mut s = linked();
    let spike = alert(
        "a3",
        "volume_spike",
        Severity::Medium,
        EntityKind::Instance,
        "i-1",
        T0 + 2 * 60 * MIN,
    );
    assert!(s.observe(&[spike]).is_empty());
    let out = s.observe(&[brute(T0 + 20 * MIN), opened(Severity::High, T0)]);
    assert_eq!(
        out.len(),
        1,
        "the whole chain, not its sub-chains: {out:#?}"
    );
    assert_eq!(
        out[0].evidence["stages"],
        json!(["exposure", "access", "impact"])
    );
    assert_eq!(out[0].severity, Severity::Critical);
}

#[test]
fn benign_look_alikes_are_not_sequences() {
    // A change that raises no exposure, then a brute force.
    let mut s = linked();
    s.observe(&[opened(Severity::Medium, T0)]);
    assert!(s.observe(&[brute(T0 + 20 * MIN)]).is_empty());
    // Access more than a day after the exposure, or well before it.
    let mut s = linked();
    s.observe(&[opened(Severity::Critical, T0)]);
    assert!(s.observe(&[brute(T0 + 25 * 60 * MIN)]).is_empty());
    let mut s = linked();
    s.observe(&[brute(T0)]);
    assert!(
        s.observe(&[opened(Severity::Critical, T0 + 60 * MIN)])
            .is_empty()
    );
    // A group with no known instance: no link to the brute-forced address.
    let mut s = Sequences::default();
    s.observe(&[opened(Severity::Critical, T0)]);
    assert!(s.observe(&[brute(T0 + 20 * MIN)]).is_empty());
}

#[test]
fn a_key_created_for_a_user_then_used_from_elsewhere_is_a_credential_sequence() {
    let mut s = Sequences::default();
    let admin = "arn:aws:iam::123456789012:user/alice";
    let bob = "arn:aws:iam::123456789012:user/bob";
    let key = with(
        alert(
            "k",
            "access_key_created",
            Severity::High,
            EntityKind::Principal,
            admin,
            T0,
        ),
        json!({"target_user": "bob"}),
    );
    assert!(s.observe(&[key]).is_empty());
    let recon = alert(
        "r",
        "api_recon",
        Severity::Medium,
        EntityKind::Principal,
        bob,
        T0 + 90 * MIN,
    );
    let out = s.observe(&[recon]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].entity.id, bob);
    assert_eq!(out[0].severity, Severity::Critical);
    // Recon by a principal nobody created keys for is only recon.
    let other = alert(
        "r2",
        "api_recon",
        Severity::Medium,
        EntityKind::Principal,
        "arn:aws:iam::123456789012:user/carol",
        T0,
    );
    assert!(s.observe(&[other]).is_empty());
}

#[test]
fn sessions_file_under_their_role_and_state_survives_a_restart() -> Result<(), DetectError> {
    assert_eq!(
        principal_key("arn:aws:sts::123456789012:assumed-role/ci/run-1"),
        "arn:aws:iam::123456789012:role/ci"
    );
    let dir = tempfile::tempdir().map_err(|source| DetectError::Io {
        path: "tmp".into(),
        source,
    })?;
    let mut s = linked();
    s.observe(&[opened(Severity::Critical, T0)]);
    s.save(dir.path())?;
    let mut back = Sequences::load(dir.path())?;
    assert_eq!(back.observe(&[brute(T0 + 30 * MIN)]).len(), 1);
    Ok(())
}

#[test]
fn state_stays_bounded() {
    let mut s = Sequences::default();
    let many: Vec<Alert> = (0..(MAX_PARTS + 10))
        .map(|k| {
            alert(
                &format!("v{k}"),
                "volume_spike",
                Severity::Medium,
                EntityKind::Instance,
                "i-9",
                T0 + k as i64 * MIN,
            )
        })
        .collect();
    s.observe(&many);
    assert_eq!(s.parts["i-9"].len(), MAX_PARTS);
    // Three days on, the old parts are gone.
    let late = alert(
        "late",
        "new_peer",
        Severity::Medium,
        EntityKind::Instance,
        "i-8",
        T0 + 3 * WINDOW_MS,
    );
    s.observe(&[late]);
    assert!(!s.parts.contains_key("i-9"));
}

fn ssh(src: &str, action: &'static str, t: i64) -> crate::testutil::Flow {
    crate::testutil::Flow {
        eni: "eni-1",
        instance: Some("i-1"),
        subnet: None,
        src: src.into(),
        dst: "10.0.1.5".into(),
        sport: 50_000,
        dport: 22,
        bytes: 5_000,
        action,
        t_ms: t,
    }
}

fn hour(rows: &[crate::testutil::Flow]) -> Vec<RecordBatch> {
    vec![crate::testutil::flows(rows)]
}

#[test]
fn admin_access_accepted_from_the_internet_after_the_opening_is_a_sequence()
-> Result<(), DetectError> {
    // Flows first, the exposure alert later (the rules run after the hour closes).
    let mut s = linked();
    assert!(
        s.learn_flows(&hour(&[ssh("203.0.113.50", "ACCEPT", T0 + 30 * MIN)]))?
            .is_empty()
    );
    let out = s.observe(&[opened(Severity::Critical, T0)]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].evidence["path"], EXPOSURE_ADMIN_ACCESS);
    assert_eq!(
        out[0].evidence["parts"][1]["sources"],
        json!(["203.0.113.50"])
    );
    assert_eq!(
        (out[0].entity.id.as_str(), out[0].severity),
        ("i-1", Severity::Critical)
    );
    // The exposure alert first, the access an hour later.
    let mut s = linked();
    s.observe(&[opened(Severity::High, T0)]);
    let out = s.learn_flows(&hour(&[ssh("198.51.100.7", "ACCEPT", T0 + 70 * MIN)]))?;
    assert_eq!(out.len(), 1);
    assert!(
        s.learn_flows(&hour(&[ssh("198.51.100.7", "ACCEPT", T0 + 80 * MIN)]))?
            .is_empty(),
        "once"
    );
    Ok(())
}

#[test]
fn admin_access_look_alikes_are_not_sequences() -> Result<(), DetectError> {
    let quiet = |flows: &[crate::testutil::Flow], sev: Severity| -> Result<bool, DetectError> {
        let mut s = linked();
        s.observe(&[opened(sev, T0)]);
        Ok(s.learn_flows(&hour(flows))?.is_empty())
    };
    assert!(
        quiet(&[ssh("10.0.0.9", "ACCEPT", T0 + MIN)], Severity::Critical)?,
        "from inside"
    );
    assert!(
        quiet(
            &[ssh("203.0.113.50", "REJECT", T0 + MIN)],
            Severity::Critical
        )?,
        "rejected"
    );
    assert!(
        quiet(
            &[ssh("203.0.113.50", "ACCEPT", T0 + 8 * 60 * MIN)],
            Severity::Critical
        )?,
        "long after"
    );
    assert!(
        quiet(&[ssh("203.0.113.50", "ACCEPT", T0 + MIN)], Severity::Medium)?,
        "no exposure raised"
    );
    // Already one sequence with the brute force: not a second one for the same opening.
    let mut s = linked();
    assert_eq!(
        s.observe(&[opened(Severity::Critical, T0), brute(T0 + 20 * MIN)])
            .len(),
        1
    );
    assert!(
        s.learn_flows(&hour(&[ssh("203.0.113.9", "ACCEPT", T0 + 21 * MIN)]))?
            .is_empty()
    );
    Ok(())
}
