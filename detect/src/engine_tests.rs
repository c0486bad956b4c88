//! Engine behaviour over synthetic fleets: warm-up, nightly jobs, peer groups, order
//! independence, late data and state size.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use flowtrail_core::{Finding, Table};

use crate::engine::{Engine, EngineOptions};
use crate::rules::RuleSet;
use crate::testutil::{Flow, flows};

const H: i64 = 3_600_000;
const T0: i64 = 1_767_657_600_000; // 2026-01-06T00:00:00Z

fn engine() -> Engine {
    Engine::new(
        EngineOptions::default(),
        RuleSet::load(&[], false).unwrap(),
        None,
    )
    .unwrap()
}

/// An app instance's normal hour: ~1 MB out to a partner and an internal peer, every hour;
/// `backup_gb` at 02:00 to a fixed partner.
fn hour(eni: &'static str, ip: &str, t: i64, scale: i64, backup: bool) -> Vec<Flow> {
    let mut v = vec![
        Flow {
            eni,
            instance: None,
            subnet: Some("subnet-app"),
            src: ip.into(),
            dst: "52.94.10.1".into(),
            sport: 50000,
            dport: 443,
            bytes: 1_000_000 * scale,
            action: "ACCEPT",
            t_ms: t + 60_000,
        },
        Flow {
            eni,
            instance: None,
            subnet: Some("subnet-app"),
            src: ip.into(),
            dst: "10.0.9.9".into(),
            sport: 50001,
            dport: 5432,
            bytes: 200_000,
            action: "ACCEPT",
            t_ms: t + 120_000,
        },
        // Background scanning: rejected inbound from random internet addresses.
        Flow {
            eni,
            instance: None,
            subnet: Some("subnet-app"),
            src: format!("45.{}.{}.7", (t / H) % 200, (t / H) % 97),
            dst: ip.into(),
            sport: 40000,
            dport: ((t / H) % 60000) as i32 + 1,
            bytes: 60,
            action: "REJECT",
            t_ms: t + 180_000,
        },
    ];
    if backup {
        v.push(Flow {
            eni,
            instance: None,
            subnet: Some("subnet-app"),
            src: ip.into(),
            dst: "198.51.100.10".into(),
            sport: 50002,
            dport: 443,
            bytes: 4_000_000_000,
            action: "ACCEPT",
            t_ms: t + 240_000,
        });
    }
    v
}

fn run(engine: &mut Engine, batches: Vec<Vec<Flow>>) -> Vec<Finding> {
    let mut out = Vec::new();
    for b in batches {
        out.extend(engine.observe(Table::Flows, &flows(&b)).unwrap());
    }
    out.extend(engine.finish().unwrap());
    out
}

fn fleet_days(days: i64, spike_at: Option<i64>) -> Vec<Vec<Flow>> {
    let mut batches = Vec::new();
    for hr in 0..days * 24 {
        let t = T0 + hr * H;
        let backup = hr % 24 == 2;
        let scale = if Some(hr) == spike_at { 60 } else { 1 };
        batches.push(hour("eni-a", "10.0.1.10", t, scale, backup));
        batches.push(hour("eni-b", "10.0.1.11", t, 1, false));
        batches.push(hour("eni-c", "10.0.1.12", t, 1, false));
    }
    batches
}

#[test]
fn steady_fleet_with_nightly_backup_and_scanning_is_quiet() {
    let mut e = engine();
    let f = run(&mut e, fleet_days(4, None));
    assert!(f.is_empty(), "{f:#?}");
    assert_eq!(e.flow_baselines().len(), 3);
}

#[test]
fn a_spike_after_warmup_is_found_once_with_evidence() {
    let mut e = engine();
    let spike = 3 * 24 + 11;
    let f = run(&mut e, fleet_days(4, Some(spike)));
    let spikes: Vec<&Finding> = f.iter().filter(|f| f.detector == "volume_spike").collect();
    assert_eq!(spikes.len(), 1, "{f:#?}");
    assert_eq!(spikes[0].entity.id, "eni-a");
    assert_eq!(spikes[0].first_seen_ms, T0 + spike * H + 60_000);
    assert!(spikes[0].evidence["ratio"].as_f64().unwrap() > 10.0);
    assert_eq!(spikes[0].evidence["top_peers"][0]["remote"], "52.94.10.1");
}

#[test]
fn no_alert_during_warmup() {
    let mut e = engine();
    let f = run(&mut e, fleet_days(2, Some(5)));
    assert!(f.iter().all(|f| f.detector != "volume_spike"), "{f:#?}");
}

#[test]
fn a_new_instance_borrows_its_group_and_is_judged_by_it() {
    let mut e = engine();
    let mut batches = fleet_days(3, None);
    // Day 4: eni-new joins the subnet, behaves like its siblings, then spikes at 12:00.
    for hr in 72..96 {
        let t = T0 + hr * H;
        batches.push(hour("eni-b", "10.0.1.11", t, 1, false));
        batches.push(hour("eni-c", "10.0.1.12", t, 1, false));
        batches.push(hour(
            "eni-new",
            "10.0.1.50",
            t,
            if hr == 84 { 60 } else { 1 },
            false,
        ));
    }
    let f = run(&mut e, batches);
    let spikes: Vec<&Finding> = f.iter().filter(|f| f.detector == "volume_spike").collect();
    assert_eq!(spikes.len(), 1, "{f:#?}");
    assert_eq!(spikes[0].entity.id, "eni-new");
    assert_eq!(spikes[0].evidence["baseline"], "peer group");
    assert!(
        f.iter().all(|f| f.detector != "new_peer"),
        "its siblings know the partner: {f:#?}"
    );
}

#[test]
fn a_new_external_network_after_warmup_is_a_new_peer_and_scanners_never_are() {
    let mut e = engine();
    let mut batches = fleet_days(2, None);
    let t = T0 + 50 * H;
    batches.push(vec![Flow {
        eni: "eni-a",
        instance: None,
        subnet: Some("subnet-app"),
        src: "10.0.1.10".into(),
        dst: "185.220.101.47".into(),
        sport: 50500,
        dport: 443,
        bytes: 30_000_000,
        action: "ACCEPT",
        t_ms: t,
    }]);
    batches.push(vec![Flow {
        eni: "eni-a",
        instance: None,
        subnet: Some("subnet-app"),
        src: "203.0.113.66".into(),
        dst: "10.0.1.10".into(),
        sport: 55555,
        dport: 22,
        bytes: 80,
        action: "REJECT",
        t_ms: t,
    }]);
    let f = run(&mut e, batches);
    let peers: Vec<&Finding> = f.iter().filter(|f| f.detector == "new_peer").collect();
    assert_eq!(peers.len(), 1, "{f:#?}");
    assert_eq!(peers[0].evidence["remote"], "185.220.101.47");
    assert_eq!(peers[0].dedupe_key, "eni-a|185.220");
}

#[test]
fn the_same_input_in_another_order_gives_the_same_findings() {
    let spike = 3 * 24 + 11;
    let a = run(&mut engine(), fleet_days(4, Some(spike)));
    // Reverse the order of the batches inside every 3-hour block: within the grace period.
    let mut shuffled = Vec::new();
    for block in fleet_days(4, Some(spike)).chunks(3 * 3) {
        shuffled.extend(block.iter().rev().cloned());
    }
    let b = run(&mut engine(), shuffled);
    assert_eq!(a, b);
    assert!(!a.is_empty());
}

#[test]
fn rows_later_than_the_grace_are_counted_not_judged() {
    let mut e = engine();
    let _ = run(&mut e, fleet_days(1, None));
    let mut e = engine();
    for b in fleet_days(1, None) {
        e.observe(Table::Flows, &flows(&b)).unwrap();
    }
    let late = hour("eni-a", "10.0.1.10", T0, 1, false);
    e.observe(Table::Flows, &flows(&late)).unwrap();
    assert_eq!(e.stats().late_rows, 3);
}

#[test]
fn baselines_survive_a_restart_and_stay_under_4_kib_per_instance() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = Engine::new(
        EngineOptions::default(),
        RuleSet::load(&[], false).unwrap(),
        Some(dir.path()),
    )
    .unwrap();
    let _ = run(&mut e, fleet_days(3, None));
    e.save().unwrap();
    let size = std::fs::metadata(dir.path().join("flow_baselines.json"))
        .unwrap()
        .len();
    let per_entity = size / e.flow_baselines().len() as u64;
    assert!(per_entity < 4096, "{per_entity} bytes per entity");
    let restored = Engine::new(
        EngineOptions::default(),
        RuleSet::load(&[], false).unwrap(),
        Some(dir.path()),
    )
    .unwrap();
    let (a, b) = (
        e.flow_baselines().profile("eni-a").unwrap(),
        restored.flow_baselines().profile("eni-a").unwrap(),
    );
    assert_eq!(a.hours, b.hours);
    assert_eq!(a.out_by_hour, b.out_by_hour);
    assert_eq!(a.peers, b.peers);
    eprintln!("baseline state: {per_entity} bytes per entity");
}
