use super::*;
use flowtrail_core::{Entity, EntityKind};

const DAY: i64 = DAY_MS;

fn change(t: i64, actor: &str, ua: &str, ip: &str, exposure: &str, sev: Severity) -> Finding {
    Finding {
        detector: "security_group_change".into(),
        severity: sev,
        title: "t".into(),
        account_id: Some("123456789012".into()),
        region: Some("us-east-1".into()),
        entity: Entity {
            kind: EntityKind::SecurityGroup,
            id: format!("sg-{t}"),
        },
        first_seen_ms: t,
        last_seen_ms: t,
        dedupe_key: format!("sg-{t}"),
        evidence: json!({
            "exposure": exposure, "actor": actor, "user_agent": ua,
            "source_ips": [ip], "automation": ua.contains("Terraform"),
        }),
        attack: Default::default(),
    }
}

const TF: &str = "APN/1.0 HashiCorp/1.0 Terraform/1.7.5 terraform-provider-aws/5.40.0";
const CLI: &str = "aws-cli/2.15.30 Python/3.11.8";
const CI: &str = "arn:aws:iam::123456789012:role/ci-deployer";
const ALICE: &str = "arn:aws:iam::123456789012:user/alice";

#[test]
fn terraform_applies_of_non_exposing_changes_stay_quiet() {
    let mut r = RoutineChanges::new(RoutineOptions::default());
    for day in [0, 3, 6] {
        let batch: Vec<Finding> = (0..30)
            .map(|k| {
                change(
                    day * DAY + k * 1_000,
                    CI,
                    TF,
                    "203.0.113.7",
                    "none",
                    Severity::Low,
                )
            })
            .collect();
        assert!(r.filter(batch).is_empty(), "day {day}: an apply is routine");
    }
    assert_eq!(r.dropped(), 90);
}

#[test]
fn exposure_always_alerts_with_its_severity() {
    let mut r = RoutineChanges::new(RoutineOptions::default());
    for day in 0..4 {
        r.filter(vec![change(
            day * DAY,
            CI,
            TF,
            "203.0.113.7",
            "none",
            Severity::Low,
        )]);
    }
    let out = r.filter(vec![change(
        5 * DAY,
        CI,
        TF,
        "203.0.113.7",
        "world_admin",
        Severity::Critical,
    )]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].severity, Severity::Critical);
    assert_eq!(out[0].evidence["routine"]["earlier_days"], 4);
}

#[test]
fn an_unusual_actor_alerts_until_it_becomes_routine() {
    let mut r = RoutineChanges::new(RoutineOptions::default());
    let alice = |day: i64, ip: &str| {
        change(
            day * DAY + 3_600_000,
            ALICE,
            CLI,
            ip,
            "none",
            Severity::Medium,
        )
    };
    assert_eq!(
        r.filter(vec![alice(0, "198.51.100.23")]).len(),
        1,
        "never seen"
    );
    assert_eq!(
        r.filter(vec![alice(1, "198.51.100.23")]).len(),
        1,
        "one earlier day"
    );
    assert!(
        r.filter(vec![alice(2, "198.51.100.99")]).is_empty(),
        "routine now"
    );
    let out = r.filter(vec![alice(3, "192.0.2.5")]);
    assert_eq!(out.len(), 1, "a new network is unusual");
    assert_eq!(out[0].severity, Severity::Medium);
}

#[test]
fn iac_from_a_known_actor_in_a_new_network_alerts_as_medium() {
    let mut r = RoutineChanges::new(RoutineOptions::default());
    r.filter(vec![change(
        0,
        CI,
        TF,
        "203.0.113.7",
        "none",
        Severity::Low,
    )]);
    let out = r.filter(vec![change(
        DAY,
        CI,
        TF,
        "192.0.2.5",
        "none",
        Severity::Low,
    )]);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].severity, Severity::Medium);
    // Other detectors pass untouched.
    let mut other = change(DAY, CI, TF, "192.0.2.5", "none", Severity::Low);
    other.detector = "port_scan".into();
    assert_eq!(r.filter(vec![other]).len(), 1);
}

#[test]
fn state_is_bounded_and_survives_a_restart() -> Result<(), DetectError> {
    let mut r = RoutineChanges::new(RoutineOptions {
        max_actors: 3,
        ..Default::default()
    });
    for k in 0..10 {
        let who = format!("arn:aws:iam::123456789012:user/u{k}");
        r.filter(vec![change(
            k * 1_000,
            &who,
            CLI,
            "198.51.100.1",
            "none",
            Severity::Medium,
        )]);
    }
    assert_eq!(r.actors.len(), 3);
    let dir = tempfile::tempdir().map_err(|source| DetectError::Io {
        path: "tmp".into(),
        source,
    })?;
    for day in 0..2 {
        r.filter(vec![change(
            day * DAY,
            ALICE,
            CLI,
            "198.51.100.1",
            "none",
            Severity::Medium,
        )]);
    }
    r.save(dir.path())?;
    let mut back = RoutineChanges::load(dir.path(), RoutineOptions::default())?;
    let out = back.filter(vec![change(
        2 * DAY,
        ALICE,
        CLI,
        "198.51.100.1",
        "none",
        Severity::Medium,
    )]);
    assert!(out.is_empty(), "alice's two days were restored");
    Ok(())
}

fn login_profile(t: i64, by: &str, user: &str, reset: bool) -> Finding {
    let mut f = change(t, by, CLI, "198.51.100.1", "none", Severity::High);
    f.detector = onboarding::DETECTOR.into();
    f.entity = Entity {
        kind: EntityKind::Principal,
        id: by.into(),
    };
    f.evidence =
        json!({"event_names": "CreateLoginProfile", "target_user": user, "reset_required": reset});
    f
}

#[test]
fn an_onboarding_password_is_routine_and_a_backdoor_password_is_not() {
    use crate::sequence::tests::trail;
    let mut r = RoutineChanges::new(RoutineOptions::default());
    // The helper's rows carry no identity: the creator ARN and account come from these columns.
    let mut b = trail(&[("CreateUser", None, r#"{"userName": "New.Hire"}"#, "{}")]);
    let schema = b.schema();
    let cols: Vec<arrow::array::ArrayRef> = schema
        .fields()
        .iter()
        .zip(b.columns())
        .map(|(f, c)| -> arrow::array::ArrayRef {
            match f.name().as_str() {
                "user_identity_arn" => {
                    std::sync::Arc::new(arrow::array::StringArray::from(vec![ALICE]))
                }
                "account_id" => {
                    std::sync::Arc::new(arrow::array::StringArray::from(vec!["123456789012"]))
                }
                "user_identity_type" => {
                    std::sync::Arc::new(arrow::array::StringArray::from(vec!["IAMUser"]))
                }
                _ => c.clone(),
            }
        })
        .collect();
    b = RecordBatch::try_new(schema, cols).unwrap_or_else(|e| panic!("{e}"));
    r.learn(&[b]);
    let created = crate::sequence::tests::T0;
    let at = created + 5 * 60_000;
    assert!(
        r.filter(vec![login_profile(at, ALICE, "new.hire", true)])
            .is_empty(),
        "onboarding"
    );
    assert_eq!(
        r.filter(vec![login_profile(at, ALICE, "new.hire", false)])
            .len(),
        1,
        "no reset"
    );
    assert_eq!(
        r.filter(vec![login_profile(at, ALICE, "bob", true)]).len(),
        1,
        "an existing user"
    );
    assert_eq!(
        r.filter(vec![login_profile(at, CI, "new.hire", true)])
            .len(),
        1,
        "another creator"
    );
    assert_eq!(
        r.filter(vec![login_profile(
            created + 2 * DAY,
            ALICE,
            "new.hire",
            true
        )])
        .len(),
        1,
        "days later"
    );
}

fn scan(t: i64, src: &str) -> Finding {
    let mut f = change(t, CI, CLI, "198.51.100.1", "none", Severity::Medium);
    f.detector = scanners::DETECTOR.into();
    f.entity = Entity {
        kind: EntityKind::Ip,
        id: src.into(),
    };
    f.evidence = json!({});
    f
}

#[test]
fn a_scanner_in_the_same_weekly_slot_for_two_weeks_is_routine() {
    let mut r = RoutineChanges::new(RoutineOptions::default());
    let week = 7 * DAY;
    let t = 3 * DAY + 2 * 3_600_000;
    assert_eq!(r.filter(vec![scan(t, "10.0.5.9")]).len(), 1, "first week");
    assert_eq!(
        r.filter(vec![scan(t + week + 600_000, "10.0.5.9")]).len(),
        1,
        "second week"
    );
    // Third week, ten minutes before the usual hour: learned.
    assert!(
        r.filter(vec![scan(t + 2 * week - 600_000, "10.0.5.9")])
            .is_empty()
    );
    // Another source, or the same one on another day, alerts.
    assert_eq!(r.filter(vec![scan(t + 2 * week, "10.0.7.7")]).len(), 1);
    assert_eq!(
        r.filter(vec![scan(t + 2 * week + DAY, "10.0.5.9")]).len(),
        1
    );
}

#[test]
fn a_first_apply_by_an_unusual_actor_is_one_alert_listing_its_groups() {
    let mut r = RoutineChanges::new(RoutineOptions::default());
    let batch: Vec<Finding> = (0..30)
        .map(|k| change(k * 1_000, CI, CLI, "203.0.113.7", "none", Severity::Medium))
        .collect();
    let out = r.filter(batch);
    assert_eq!(out.len(), 1, "one alert for the apply");
    assert_eq!(out[0].entity.id, CI);
    assert_eq!(out[0].evidence["changes"], 30);
    assert_eq!(
        out[0].evidence["groups"].as_array().map(Vec::len),
        Some(MAX_LISTED)
    );
    // An exposing change in the same apply keeps its own alert.
    let mut both: Vec<Finding> = (0..3)
        .map(|k| {
            change(
                DAY + k * 1_000,
                CI,
                CLI,
                "203.0.113.7",
                "none",
                Severity::Medium,
            )
        })
        .collect();
    both.push(change(
        DAY + 5_000,
        CI,
        CLI,
        "203.0.113.7",
        "world_admin",
        Severity::Critical,
    ));
    let out = r.filter(both);
    assert_eq!(out.len(), 2);
    assert!(out.iter().any(|f| f.severity == Severity::Critical));
}

#[test]
fn a_merged_alert_names_the_events_of_every_change() {
    let mut r = RoutineChanges::new(RoutineOptions::default());
    let batch: Vec<Finding> = (0..4)
        .map(|k| {
            let mut f = change(k * 1_000, CI, CLI, "203.0.113.7", "none", Severity::Medium);
            if let Some(o) = f.evidence.as_object_mut() {
                // The first two changes share an event (one call changing two groups).
                o.insert("event_ids".into(), json!([format!("ev-{}", k / 2 * 2)]));
            }
            f
        })
        .collect();
    let out = r.filter(batch);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].evidence["event_ids"], json!(["ev-0", "ev-2"]));
}
