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
fn spilling_every_held_batch_changes_no_finding() {
    let spike = 3 * 24 + 11;
    let mut plain = engine();
    let expected = run(&mut plain, fleet_days(4, Some(spike)));
    let spill = tempfile::tempdir().unwrap();
    let mut spilling = Engine::new(
        EngineOptions {
            hold_memory_mb: 0,
            spill_dir: Some(spill.path().join("spill")),
            ..Default::default()
        },
        RuleSet::load(&[], true).unwrap(),
        None,
    )
    .unwrap();
    // Built-in rules too: their scans stream the spilled rows.
    let mut with_rules = Engine::new(
        EngineOptions::default(),
        RuleSet::load(&[], true).unwrap(),
        None,
    )
    .unwrap();
    let mut batches = fleet_days(4, Some(spike));
    // A port scan in hour 30 (after that hour's batches), for the rules to find.
    batches.insert(
        31 * 3,
        (0..300)
            .map(|i| Flow {
                eni: "eni-b",
                instance: None,
                subnet: Some("subnet-app"),
                src: "203.0.113.66".into(),
                dst: "10.0.1.11".into(),
                sport: 40000,
                dport: 1000 + i,
                bytes: 44,
                action: "REJECT",
                t_ms: T0 + 30 * H + 60_000 + i64::from(i) * 100,
            })
            .collect(),
    );
    let want = run(&mut with_rules, batches.clone());
    let got = run(&mut spilling, batches);
    let key = |f: &Vec<Finding>| {
        let mut k: Vec<String> = f
            .iter()
            .map(|f| {
                format!(
                    "{} {} {} {}",
                    f.detector, f.entity.id, f.first_seen_ms, f.evidence
                )
            })
            .collect();
        k.sort();
        k
    };
    assert!(want.iter().any(|f| f.detector == "port_scan"), "{want:#?}");
    assert!(
        want.iter().any(|f| f.detector == "volume_spike"),
        "{want:#?}"
    );
    assert_eq!(key(&got), key(&want));
    assert_eq!(
        key(&expected),
        key(&want
            .into_iter()
            .filter(|f| f.detector != "port_scan")
            .collect()),
        "the rules add only the scan"
    );
    let s = spilling.stats();
    assert!(
        s.spills > 0 && s.spilled_rows > 0 && s.spilled_bytes > 0,
        "{s:?}"
    );
    assert_eq!(spilling.held_bytes(), 0);
    let left = std::fs::read_dir(spill.path().join("spill"))
        .unwrap()
        .count();
    assert_eq!(left, 0, "every spill file is removed once judged");
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
    // Reverse the order of the three instances' batches inside every hour, and swap every
    // pair of hours' first batches: all within the grace period, so nothing is late.
    let mut shuffled: Vec<Vec<Flow>> = Vec::new();
    for block in fleet_days(4, Some(spike)).chunks(3) {
        shuffled.extend(block.iter().rev().cloned());
    }
    for pair in (0..shuffled.len() / 6).map(|i| i * 6) {
        shuffled.swap(pair, pair + 3);
    }
    let mut e = engine();
    let b = run(&mut e, shuffled);
    assert_eq!(
        e.stats().late_rows,
        0,
        "the reordering stays within the grace period"
    );
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

// Workload peer groups: web instances (steady ~1 MB/h to a partner) and batch instances (a
// heartbeat every hour, 2 GB to S3 at 02:00), spread over the same three subnets.

const WEBS: [&str; 6] = ["eni-w1", "eni-w2", "eni-w3", "eni-w4", "eni-w5", "eni-w6"];
const BATCHES: [&str; 6] = ["eni-b1", "eni-b2", "eni-b3", "eni-b4", "eni-b5", "eni-b6"];
const SUBNETS: [&str; 3] = ["subnet-x", "subnet-y", "subnet-z"];

fn flow(
    eni: &'static str,
    subnet: &'static str,
    src: &str,
    dst: &str,
    dport: i32,
    bytes: i64,
    t: i64,
) -> Flow {
    Flow {
        eni,
        instance: None,
        subnet: Some(subnet),
        src: src.into(),
        dst: dst.into(),
        sport: 50000,
        dport,
        bytes,
        action: "ACCEPT",
        t_ms: t,
    }
}

/// A web hour: ~1 MB (±20%, varying by hour and instance) to the partner, 200 KB to the db.
fn web_hour(
    eni: &'static str,
    subnet: &'static str,
    ip: &str,
    i: i64,
    hr: i64,
    scale: i64,
) -> Vec<Flow> {
    let jitter = 80 + (hr * 7 + i * 13) % 41; // 80..=120 %
    let t = T0 + hr * H;
    vec![
        flow(
            eni,
            subnet,
            ip,
            "52.94.10.1",
            443,
            10_000 * jitter * scale,
            t + 60_000,
        ),
        flow(eni, subnet, ip, "10.0.9.9", 5432, 200_000, t + 120_000),
    ]
}

/// A batch hour: a 20 KB heartbeat to the scheduler; 2 GB to S3 at 02:00.
fn batch_hour(eni: &'static str, subnet: &'static str, ip: &str, hr: i64) -> Vec<Flow> {
    let t = T0 + hr * H;
    let mut v = vec![flow(eni, subnet, ip, "10.0.9.20", 8443, 20_000, t + 60_000)];
    if hr % 24 == 2 {
        v.push(flow(
            eni,
            subnet,
            ip,
            "52.216.8.10",
            443,
            2_000_000_000,
            t + 240_000,
        ));
    }
    v
}

/// One batch per instance-hour, for `hours` hours.
fn mixed_fleet(hours: std::ops::Range<i64>) -> Vec<Vec<Flow>> {
    let mut batches = Vec::new();
    for hr in hours {
        for (i, eni) in WEBS.iter().enumerate() {
            let s = SUBNETS[i % 3];
            batches.push(web_hour(
                eni,
                s,
                &format!("10.0.{}.{}", i % 3 + 1, 10 + i),
                i as i64,
                hr,
                1,
            ));
        }
        for (i, eni) in BATCHES.iter().enumerate() {
            let s = SUBNETS[(i + 1) % 3];
            batches.push(batch_hour(
                eni,
                s,
                &format!("10.0.{}.{}", (i + 1) % 3 + 1, 100 + i),
                hr,
            ));
        }
    }
    batches
}

fn cluster_of(e: &Engine, entity: &str) -> u32 {
    e.flow_baselines().profile(entity).unwrap().cluster.unwrap()
}

#[test]
fn a_mixed_fleet_clusters_into_its_two_workload_kinds_not_its_subnets() {
    let mut e = engine();
    let f = run(&mut e, mixed_fleet(0..72));
    assert!(f.is_empty(), "{f:#?}");
    let groups = e.flow_baselines().groups().expect("clustered");
    assert_eq!(groups.k(), 2, "{groups:#?}");
    assert_eq!(groups.entities, 12);
    let web = cluster_of(&e, WEBS[0]);
    let batch = cluster_of(&e, BATCHES[0]);
    assert_ne!(web, batch);
    for w in WEBS {
        assert_eq!(cluster_of(&e, w), web, "{w}");
    }
    for b in BATCHES {
        assert_eq!(cluster_of(&e, b), batch, "{b}");
    }
    assert_eq!(
        e.flow_baselines().group_name(WEBS[0]),
        Some(format!("workload-{web}"))
    );
}

#[test]
fn a_new_web_instance_in_another_subnet_borrows_the_web_group() {
    let mut e = engine();
    let mut batches = mixed_fleet(0..96);
    // Day 4: eni-new starts in a subnet of its own, behaves like a web instance, and sends
    // 60x its usual at 12:00.
    for hr in 72..96 {
        let scale = if hr == 84 { 60 } else { 1 };
        batches.push(web_hour("eni-new", "subnet-new", "10.0.7.50", 6, hr, scale));
    }
    batches.sort_by_key(|v| v[0].t_ms / H);
    let f = run(&mut e, batches);
    let web = cluster_of(&e, WEBS[0]);
    assert_eq!(cluster_of(&e, "eni-new"), web);
    assert_eq!(f.len(), 1, "only the spike: {f:#?}");
    let spike = &f[0];
    assert_eq!(spike.detector, "volume_spike");
    assert_eq!(spike.entity.id, "eni-new");
    assert_eq!(spike.first_seen_ms, T0 + 84 * H + 60_000);
    assert_eq!(spike.evidence["baseline"], "peer group");
    assert_eq!(spike.evidence["peer_group"], format!("workload-{web}"));
    assert!(spike.evidence["ratio"].as_f64().unwrap() > 10.0);
}

#[test]
fn workload_clusters_are_deterministic_across_runs_and_input_order() {
    let hours = || {
        let mut b = mixed_fleet(0..96);
        for hr in 72..96 {
            b.push(web_hour(
                "eni-new",
                "subnet-new",
                "10.0.7.50",
                6,
                hr,
                if hr == 84 { 60 } else { 1 },
            ));
        }
        b.sort_by_key(|v| v[0].t_ms / H);
        b
    };
    let mut a = engine();
    let fa = run(&mut a, hours());
    let mut b = engine();
    let fb = run(&mut b, hours());
    // Another order: inside every hour, instances in reverse order and rows reversed.
    let mut by_hour: std::collections::BTreeMap<i64, Vec<Vec<Flow>>> = Default::default();
    for v in hours() {
        by_hour.entry(v[0].t_ms / H).or_default().push(v);
    }
    let mut shuffled = Vec::new();
    for block in by_hour.values() {
        for v in block.iter().rev() {
            shuffled.push(v.iter().rev().cloned().collect::<Vec<Flow>>());
        }
    }
    let mut c = engine();
    let fc = run(&mut c, shuffled);
    // And another batching: one batch per hour.
    let merged: Vec<Vec<Flow>> = by_hour.values().map(|b| b.concat()).collect();
    let mut d = engine();
    let fd = run(&mut d, merged);
    assert_eq!(fa, fd);
    assert_eq!(d.flow_baselines().groups(), a.flow_baselines().groups());
    assert_eq!(c.stats().late_rows + d.stats().late_rows, 0);
    assert_eq!(fa, fb);
    assert_eq!(fa, fc);
    assert!(!fa.is_empty());
    let (ga, gb, gc) = (
        a.flow_baselines().groups().unwrap(),
        b.flow_baselines().groups().unwrap(),
        c.flow_baselines().groups().unwrap(),
    );
    assert_eq!(ga, gb);
    assert_eq!(ga, gc);
    for id in WEBS.iter().chain(&BATCHES).chain(&["eni-new"]) {
        let ca = cluster_of(&a, id);
        assert_eq!(ca, cluster_of(&b, id), "{id}");
        assert_eq!(ca, cluster_of(&c, id), "{id}");
    }
}
