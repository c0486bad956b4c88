//! Detection on UNSEEN data: for two seeds, `flowtrail-gen scenario` builds a different fleet
//! (accounts, regions, flow-log formats, layouts, instances) and injects the 11 attack kinds at
//! seed-dependent times, places and magnitudes, plus an attack sequence (a security group
//! opened to SSH, then an accepted brute force: one `attack_sequence` alert besides its parts),
//! with benign look-alikes every day and routine change (Terraform applies of dozens of
//! security-group changes every few days, an onboarding). The real binary replays it; alerts
//! are scored against the labels with the golden sample test's rule. Targets: every attack
//! alerted (recall 1.0), at most one false alert per day, and none from background scanning,
//! the nightly backup, the weekly job, the new instance or routine change.
use crate::common;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use crate::common::score::{aliases, matches, ms, same_entity_and_time};
use flowtrail_sample::{ScenarioSpec, write_scenario};
use serde_json::Value;

const DAYS: i64 = 8;

fn read(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn brief(v: &Value) -> String {
    format!(
        "{} {} {} {}..{} {}",
        v["detector"], v["entity"], v["entity_id"], v["first_seen"], v["last_seen"], v["title"]
    )
}

/// What a false alert looks like: a benign label's id and description, background scanning, or
/// nothing known.
fn attribute(alert: &Value, benign: &[Value], fleet: &Value) -> String {
    let d = alert["detector"].as_str().unwrap();
    let entity = alert["entity"]["id"].as_str().unwrap();
    if (d == "port_scan" || d == "ssh_brute_force")
        && aliases(fleet, entity).len() == 1
        && !entity.starts_with("10.")
    {
        return "background scanning".into();
    }
    for b in benign.iter().filter(|b| b["entity_id"] != "*") {
        if same_entity_and_time(alert, b, fleet) {
            return format!(
                "{}: {}",
                b["id"].as_str().unwrap(),
                b["description"].as_str().unwrap()
            );
        }
    }
    "unlabeled normal traffic".into()
}

struct Outcome {
    missed: Vec<String>,
    false_per_day: BTreeMap<i64, Vec<(String, String)>>,
}

fn run(seed: u64) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let started = Instant::now();
    let report = write_scenario(&data, ScenarioSpec { days: DAYS, seed }).unwrap();
    let gen_s = started.elapsed().as_secs_f64();
    let started = Instant::now();
    let lake = dir.path().join("lake");
    let out = common::replay(&data, &lake, &[]);
    assert!(
        out.status.success(),
        "seed {seed}: {}",
        common::stderr(&out)
    );
    let replay_s = started.elapsed().as_secs_f64();

    let labels = read(&data.join("scenarios/labels.json"));
    let labels = labels["labels"].as_array().unwrap().clone();
    let benign = read(&data.join("scenarios/benign.json"))
        .as_array()
        .unwrap()
        .clone();
    let fleet = read(&data.join("scenarios/fleet.json"));
    let alerts = common::read_alerts(&lake.with_extension("alerts.jsonl"));
    let d0 = ms(&report.start);
    let day_of = |t: &str| (ms(t) - d0).div_euclid(86_400_000);

    let missed: Vec<&Value> = labels
        .iter()
        .filter(|l| !alerts.iter().any(|a| matches(a, l, &fleet)))
        .collect();
    // An attack may raise more than its labelled detector (root creating an admin user is
    // also privilege escalation): an alert on a labelled attack's entity and time is true.
    let false_alerts: Vec<&Value> = alerts
        .iter()
        .filter(|a| !labels.iter().any(|l| same_entity_and_time(a, l, &fleet)))
        .collect();
    let found = labels.len() - missed.len();
    let true_alerts = alerts.len() - false_alerts.len();
    eprintln!(
        "seed {seed}: generated in {gen_s:.1} s, replayed in {replay_s:.1} s; {} flow records, {} CloudTrail events",
        report.stats.flow_records, report.stats.trail_events
    );
    for l in &labels {
        let hit = alerts.iter().any(|a| matches(a, l, &fleet));
        eprintln!(
            "  {} {:<22} {} {}  {}",
            if hit { "ok  " } else { "MISS" },
            l["detector"].as_str().unwrap(),
            l["start"].as_str().unwrap(),
            l["id"].as_str().unwrap(),
            l["description"].as_str().unwrap()
        );
    }
    eprintln!(
        "seed {seed}: recall {found}/{} = {:.2}, precision {true_alerts}/{} = {:.2}",
        labels.len(),
        found as f64 / labels.len().max(1) as f64,
        alerts.len(),
        true_alerts as f64 / alerts.len().max(1) as f64
    );
    let mut false_per_day: BTreeMap<i64, Vec<(String, String)>> =
        (0..DAYS).map(|d| (d, Vec::new())).collect();
    for a in &false_alerts {
        let why = attribute(a, &benign, &fleet);
        false_per_day
            .entry(day_of(a["first_seen"].as_str().unwrap()))
            .or_default()
            .push((brief(a), why));
    }
    for (day, v) in &false_per_day {
        let on_day = labels
            .iter()
            .filter(|l| day_of(l["start"].as_str().unwrap()) == *day)
            .count();
        eprintln!("  day {day}: {on_day} attacks, {} false alerts", v.len());
        for (a, why) in v {
            eprintln!(
                "      FALSE {a}\n            <- {why}\n            {}",
                alerts
                    .iter()
                    .find(|x| brief(x) == *a)
                    .map(|x| x["evidence"].to_string())
                    .unwrap_or_default()
            );
        }
    }
    Outcome {
        missed: missed
            .iter()
            .map(|l| {
                format!(
                    "{} {} {} {}",
                    l["id"], l["detector"], l["entity_id"], l["description"]
                )
            })
            .collect(),
        false_per_day,
    }
}

#[test]
fn unseen_scenarios_alert_on_every_attack_with_few_false_alerts() {
    let _heavy = common::heavy();
    let mut failures = Vec::new();
    for seed in [7u64, 1234] {
        let o = run(seed);
        if !o.missed.is_empty() {
            failures.push(format!("seed {seed}: missed attacks: {:#?}", o.missed));
        }
        for (day, v) in &o.false_per_day {
            if v.len() > 1 {
                failures.push(format!(
                    "seed {seed} day {day}: {} false alerts (at most 1): {v:#?}",
                    v.len()
                ));
            }
            for (a, why) in v {
                let forbidden = why == "background scanning"
                    || why.contains("nightly backup")
                    || why.contains("weekly heavy job")
                    || why.contains("joins its tier")
                    || why.contains("routine change");
                if forbidden {
                    failures.push(format!("seed {seed} day {day}: false alert from a must-stay-quiet look-alike: {a} <- {why}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
