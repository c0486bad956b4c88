//! The behaviour detectors on hours of synthetic flows: each attack shape, and the benign
//! look-alikes that must stay quiet (a new instance in a known tier, an app calling its
//! database, a monitoring agent polling a long-known endpoint, a backup job, a declared
//! corporate resolver, short flows on a pool port).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use arrow::array::RecordBatch;

use super::*;
use crate::testutil::{Flow, flows};

/// 2026-01-01T00:00Z.
const T0: i64 = 1_767_225_600_000;
const H: i64 = 3_600_000;

fn flow(
    eni: &'static str,
    inst: &'static str,
    src: &str,
    dst: &str,
    ports: (i32, i32),
    bytes: i64,
    t_ms: i64,
) -> Flow {
    Flow {
        eni,
        instance: Some(inst),
        subnet: None,
        src: src.into(),
        dst: dst.into(),
        sport: ports.0,
        dport: ports.1,
        bytes,
        action: "ACCEPT",
        t_ms,
    }
}

/// A record to a second peer, so the interface's own address is learned.
fn anchor(eni: &'static str, inst: &'static str, src: &str, t_ms: i64) -> Flow {
    flow(eni, inst, src, "129.6.15.28", (40999, 123), 76, t_ms)
}

fn run(b: &mut Behaviour, hour: i64, rows: &[Flow]) -> Vec<Finding> {
    let batch: Vec<RecordBatch> = if rows.is_empty() {
        vec![]
    } else {
        vec![flows(rows)]
    };
    b.close_hour(T0 + hour * H, &batch)
        .unwrap_or_else(|e| panic!("{e}"))
}

/// The defaults with a one-day warm-up, so the cases stay short.
fn opts() -> BehaviourOptions {
    BehaviourOptions {
        warmup_hours: 24,
        ..Default::default()
    }
}

fn ids(f: &[Finding]) -> Vec<&str> {
    f.iter().map(|f| f.detector.as_str()).collect()
}

/// The app tier calling the database, the web tier calling the app tier, in hour `hr`.
fn routine(hr: i64) -> Vec<Flow> {
    let t = T0 + hr * H + 60_000;
    vec![
        flow(
            "eni-app1",
            "i-app1",
            "10.0.11.5",
            "10.0.21.7",
            (41000, 5432),
            5_000,
            t,
        ),
        anchor("eni-app1", "i-app1", "10.0.11.5", t),
        flow(
            "eni-web1",
            "i-web1",
            "10.0.1.9",
            "10.0.11.5",
            (52000, 8080),
            9_000,
            t,
        ),
        anchor("eni-web1", "i-web1", "10.0.1.9", t),
        // database replication inside its tier
        flow(
            "eni-db1",
            "i-db1",
            "10.0.21.7",
            "10.0.21.8",
            (43000, 5433),
            90_000,
            t,
        ),
        anchor("eni-db1", "i-db1", "10.0.21.7", t),
    ]
}

fn learned(opts: BehaviourOptions) -> Behaviour {
    let mut b = Behaviour::new(opts).unwrap_or_else(|e| panic!("{e}"));
    for hr in 0..26 {
        let f = run(&mut b, hr, &routine(hr));
        assert!(f.is_empty(), "hour {hr}: {:?}", ids(&f));
    }
    b
}

#[test]
fn a_new_port_between_tiers_is_lateral_movement_but_routine_and_new_instances_are_not() {
    let mut b = learned(opts());
    assert!(b.known_edges() >= 2);
    let t = T0 + 30 * H + 60_000;
    let mut rows = routine(30);
    // A new instance of the app tier calls the database on the usual port.
    rows.push(flow(
        "eni-app9",
        "i-app9",
        "10.0.11.50",
        "10.0.21.7",
        (41500, 5432),
        4_000,
        t,
    ));
    rows.push(anchor("eni-app9", "i-app9", "10.0.11.50", t));
    // The database replicates on a new port inside its own tier.
    rows.push(flow(
        "eni-db1",
        "i-db1",
        "10.0.21.7",
        "10.0.21.8",
        (43001, 7000),
        10,
        t,
    ));
    let f = run(&mut b, 30, &rows);
    assert!(f.is_empty(), "{:?}", ids(&f));
    // The app instance opens SSH to the database tier.
    let mut rows = routine(31);
    let t = T0 + 31 * H + 120_000;
    rows.push(flow(
        "eni-app1",
        "i-app1",
        "10.0.11.5",
        "10.0.21.7",
        (41777, 22),
        3_000,
        t,
    ));
    rows.push(flow(
        "eni-app1",
        "i-app1",
        "10.0.21.7",
        "10.0.11.5",
        (22, 41777),
        3_000,
        t,
    ));
    // And RDP to the web tier: one alert for the client's hour, naming both tiers.
    rows.push(flow(
        "eni-app1",
        "i-app1",
        "10.0.11.5",
        "10.0.1.9",
        (41779, 3389),
        3_000,
        t,
    ));
    let f = run(&mut b, 31, &rows);
    assert_eq!(ids(&f), [lateral::LATERAL]);
    assert_eq!(
        f[0].severity,
        Severity::High,
        "SSH is remote administration"
    );
    assert_eq!(f[0].entity.id, "i-app1");
    assert!(
        f[0].title.contains("port 22, 3389") && f[0].title.contains("2 tiers"),
        "{}",
        f[0].title
    );
    assert_eq!(f[0].attack.tactics, ["TA0008"]);
    // Learned once alerted: the next hour is quiet.
    let mut rows = routine(32);
    rows.push(flow(
        "eni-app1",
        "i-app1",
        "10.0.11.5",
        "10.0.21.7",
        (41778, 22),
        3_000,
        T0 + 32 * H,
    ));
    assert!(run(&mut b, 32, &rows).is_empty());
}

#[test]
fn a_new_subnet_learns_its_own_edges_before_it_is_judged() {
    let mut b = learned(opts());
    let mut alerts = Vec::new();
    for hr in 30..60 {
        let t = T0 + hr * H + 60_000;
        let mut rows = routine(hr);
        rows.push(flow(
            "eni-new",
            "i-new",
            "10.0.12.4",
            "10.0.21.7",
            (41000, 5432),
            100,
            t,
        ));
        rows.push(anchor("eni-new", "i-new", "10.0.12.4", t));
        if hr == 58 {
            rows.push(flow(
                "eni-new",
                "i-new",
                "10.0.12.4",
                "10.0.21.7",
                (41001, 3389),
                100,
                t,
            ));
        }
        alerts.extend(run(&mut b, hr, &rows).into_iter().map(|f| (hr, f.detector)));
    }
    assert_eq!(alerts, [(58, lateral::LATERAL.to_string())]);
}

fn policy() -> BehaviourOptions {
    toml::from_str(
        r#"
        [[tiers]]
        name = "app"
        cidrs = ["10.0.11.0/24"]
        [[tiers]]
        name = "db"
        cidrs = ["10.0.21.0/24"]
        [[allow]]
        from = "app"
        to = "db"
        ports = [5432]
        "#,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn a_flow_outside_the_declared_tier_policy_alerts_from_the_first_hour() {
    let mut b = Behaviour::new(policy()).unwrap_or_else(|e| panic!("{e}"));
    let t = T0 + 60_000;
    let mut rows = routine(0);
    assert!(
        run(&mut b, 0, &rows).is_empty(),
        "app -> db:5432 is allowed"
    );
    rows.push(flow(
        "eni-app1",
        "i-app1",
        "10.0.11.5",
        "10.0.21.7",
        (41900, 6379),
        10,
        t,
    ));
    // Rejected traffic is not a flow that happened.
    rows.push(Flow {
        action: "REJECT",
        ..flow(
            "eni-app1",
            "i-app1",
            "10.0.11.5",
            "10.0.21.7",
            (41901, 11211),
            10,
            t,
        )
    });
    let f = run(&mut b, 1, &rows);
    assert_eq!(ids(&f), [lateral::DISALLOWED]);
    assert_eq!(f[0].severity, Severity::High);
    assert!(
        f[0].title.contains("tier app") && f[0].title.contains("6379"),
        "{}",
        f[0].title
    );
}

fn regular(
    dst: &str,
    port: i32,
    every_s: i64,
    bytes: i64,
    hr: i64,
    jitter: impl Fn(i64) -> i64,
) -> Vec<Flow> {
    (0..(3600 / every_s))
        .map(|i| {
            let t = T0 + hr * H + (i * every_s + every_s / 2 + jitter(i)) * 1000;
            let sport = 30000 + ((hr * 3600 / every_s + i) % 30000) as i32;
            flow(
                "eni-app1",
                "i-app1",
                "10.0.11.5",
                dst,
                (sport, port),
                bytes,
                t,
            )
        })
        .collect()
}

/// Deterministic jitter of up to ±`pct`% of `every_s`.
fn jitter(every_s: i64, pct: i64) -> impl Fn(i64) -> i64 {
    move |i| ((i * 7919) % 21 - 10) * every_s * pct / 1000
}

#[test]
fn regular_small_connections_to_a_new_address_are_beaconing_and_a_known_agent_is_not() {
    let mut b = Behaviour::new(opts()).unwrap_or_else(|e| panic!("{e}"));
    let mut found = Vec::new();
    for hr in 0..40 {
        // A monitoring agent polls its SaaS endpoint every 60 s from the first hour.
        let mut rows = regular("52.94.8.1", 443, 60, 2_000, hr, jitter(60, 5));
        rows.push(anchor("eni-app1", "i-app1", "10.0.11.5", T0 + hr * H));
        if hr >= 28 {
            // An implant checks in every 60 s (±10%) with a few hundred bytes.
            rows.extend(regular("185.220.101.47", 443, 60, 600, hr, jitter(60, 10)));
            // Irregular browsing of a new site: not periodic.
            rows.extend((0..40).map(|i| {
                let t = T0 + hr * H + ((i * i * 37) % 3500) * 1000;
                flow(
                    "eni-app1",
                    "i-app1",
                    "10.0.11.5",
                    "93.184.216.34",
                    (50000 + i as i32, 443),
                    900,
                    t,
                )
            }));
            // A bulk copy every 10 minutes to a new bucket: large, not a beacon.
            rows.extend(regular("54.231.0.9", 443, 600, 200_000_000, hr, |_| 0));
        }
        // (The hourly bulk copy to a new bucket is slow_exfiltration's to judge.)
        for f in run(&mut b, hr, &rows) {
            if f.detector != volume::SLOW_EXFIL {
                found.push((hr, f));
            }
        }
    }
    let got: Vec<(i64, &str)> = found
        .iter()
        .map(|(h, f)| (*h, f.detector.as_str()))
        .collect();
    assert_eq!(got, [(33, beacon::DETECTOR)], "one alert, after six hours");
    let f = &found[0].1;
    assert!(f.title.contains("185.220.101.47:443"), "{}", f.title);
    assert_eq!(f.severity, Severity::Medium, "a web port");
    let state = serde_json::to_vec(b.beacons("i-app1").unwrap()).unwrap_or_default();
    assert!(state.len() <= 4096, "{} bytes", state.len());
}

#[test]
fn beaconing_state_survives_a_restart_and_stays_small() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut b = Behaviour::new(opts()).unwrap_or_else(|e| panic!("{e}"));
    let mut alerts = Vec::new();
    for hr in 0..40 {
        if hr == 30 {
            b.save(dir.path()).unwrap_or_else(|e| panic!("{e}"));
            b = Behaviour::load(dir.path(), opts()).unwrap_or_else(|e| panic!("{e}"));
        }
        let mut rows = vec![anchor("eni-app1", "i-app1", "10.0.11.5", T0 + hr * H)];
        if hr >= 26 {
            rows.extend(regular("45.9.20.11", 8081, 120, 300, hr, jitter(120, 5)));
            // Many other new destinations, a few connections each: the pairs stay capped.
            rows.extend((0..40).flat_map(|d| {
                (0..4).map(move |i| {
                    let t = T0 + hr * H + (d * 80 + i * 600) * 1000;
                    let dst = format!("{}.{}.7.1", 60 + d, hr);
                    flow(
                        "eni-app1",
                        "i-app1",
                        "10.0.11.5",
                        &dst,
                        (20000 + (d * 4 + i) as i32, 443),
                        100,
                        t,
                    )
                })
            }));
        }
        alerts.extend(
            run(&mut b, hr, &rows)
                .into_iter()
                .map(|f| (hr, f.detector, f.severity)),
        );
    }
    assert!(
        alerts.contains(&(31, beacon::DETECTOR.to_string(), Severity::High)),
        "{alerts:?} {:?}",
        b.beacons("i-app1")
    );
    let st = b.beacons("i-app1").unwrap();
    assert!(st.pairs.len() <= beacon::MAX_PAIRS);
    let size = serde_json::to_vec(st).unwrap_or_default().len();
    assert!(size <= 4096, "{size} bytes");
}

#[test]
fn a_long_connection_to_a_pool_port_is_mining_and_short_or_internal_ones_are_not() {
    let mut b = Behaviour::new(opts()).unwrap_or_else(|e| panic!("{e}"));
    let hr = 3;
    let mut rows = vec![anchor("eni-app1", "i-app1", "10.0.11.5", T0 + hr * H)];
    // One stratum session, a record a minute for 45 minutes.
    rows.extend((0..45).map(|m| {
        flow(
            "eni-app1",
            "i-app1",
            "10.0.11.5",
            "51.15.58.224",
            (38000, 3333),
            400,
            T0 + hr * H + m * 60_000,
        )
    }));
    // A 3-minute test on 4444, and a long session with an internal service on 5555.
    rows.extend((0..3).map(|m| {
        flow(
            "eni-app1",
            "i-app1",
            "10.0.11.5",
            "198.51.100.4",
            (38001, 4444),
            400,
            T0 + hr * H + m * 60_000,
        )
    }));
    rows.extend((0..50).map(|m| {
        flow(
            "eni-app1",
            "i-app1",
            "10.0.11.5",
            "10.0.30.4",
            (38002, 5555),
            400,
            T0 + hr * H + m * 60_000,
        )
    }));
    let f = run(&mut b, hr, &rows);
    assert_eq!(ids(&f), [mining::DETECTOR]);
    assert_eq!(f[0].severity, Severity::High);
    assert!(f[0].title.contains("51.15.58.224:3333"), "{}", f[0].title);
    assert_eq!(f[0].attack.techniques, ["T1496", "T1496.001"]);
}

fn dns_rows(hr: i64) -> Vec<Flow> {
    let t = T0 + hr * H + 1_000;
    vec![
        anchor("eni-app1", "i-app1", "10.0.11.5", t),
        flow(
            "eni-app1",
            "i-app1",
            "10.0.11.5",
            "10.200.0.2",
            (50001, 53),
            80,
            t,
        ),
        flow(
            "eni-app1",
            "i-app1",
            "10.200.0.2",
            "10.0.11.5",
            (53, 50001),
            200,
            t,
        ),
    ]
}

#[test]
fn dns_to_a_public_resolver_is_rogue_and_a_declared_corporate_one_is_not() {
    let mut b = Behaviour::new(opts()).unwrap_or_else(|e| panic!("{e}"));
    let t = T0 + 1_000;
    assert!(
        run(&mut b, 0, &dns_rows(0)).is_empty(),
        "private, nothing declared"
    );
    let mut rows = dns_rows(1);
    rows.push(flow(
        "eni-app1",
        "i-app1",
        "10.0.11.5",
        "8.8.8.8",
        (50002, 53),
        80,
        t,
    ));
    rows.push(flow(
        "eni-app1",
        "i-app1",
        "8.8.8.8",
        "10.0.11.5",
        (53, 50002),
        200,
        t,
    ));
    let f = run(&mut b, 1, &rows);
    assert_eq!(ids(&f), [dns::DETECTOR]);
    assert!(
        f[0].title.contains("8.8.8.8") && f[0].title.contains("public"),
        "{}",
        f[0].title
    );

    let declared: BehaviourOptions =
        toml::from_str("dns_resolvers = [\"10.200.0.2\"]").unwrap_or_else(|e| panic!("{e}"));
    let mut b = Behaviour::new(declared).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        run(&mut b, 0, &dns_rows(0)).is_empty(),
        "the declared resolver"
    );
    let mut rows = dns_rows(1);
    rows.push(flow(
        "eni-app1",
        "i-app1",
        "10.0.11.5",
        "10.9.9.9",
        (50003, 53),
        80,
        t,
    ));
    let f = run(&mut b, 1, &rows);
    assert_eq!(ids(&f), [dns::DETECTOR]);
    assert!(f[0].title.contains("10.9.9.9"), "{}", f[0].title);
}

#[test]
fn learned_edges_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let b = learned(opts());
    b.save(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let mut b = Behaviour::load(dir.path(), opts()).unwrap_or_else(|e| panic!("{e}"));
    assert!(run(&mut b, 40, &routine(40)).is_empty());
    let mut rows = routine(41);
    rows.push(flow(
        "eni-web1",
        "i-web1",
        "10.0.1.9",
        "10.0.21.7",
        (52001, 5432),
        10,
        T0 + 41 * H,
    ));
    assert_eq!(ids(&run(&mut b, 41, &rows)), [lateral::LATERAL]);
}

#[test]
fn every_detector_names_its_attack_ids() {
    for (id, a) in DETECTORS {
        assert!(!a.tactics.is_empty() && !a.techniques.is_empty(), "{id}");
    }
}

/// One record from the app instance to `dst`:`port` in hour `hr`, `bytes` sent.
fn sent(dst: &str, port: i32, bytes: i64, hr: i64) -> Flow {
    flow(
        "eni-app1",
        "i-app1",
        "10.0.11.5",
        dst,
        (45000, port),
        bytes,
        T0 + hr * H + 600_000,
    )
}

#[test]
fn a_dns_volume_far_above_the_norm_is_tunnelling_and_twice_the_norm_is_not() {
    let mut b = Behaviour::new(opts()).unwrap_or_else(|e| panic!("{e}"));
    let mut found = Vec::new();
    for hr in 0..32 {
        let dns = match hr {
            29 => 40_000,
            31 => 30_000_000,
            _ => 20_000,
        };
        let rows = [
            anchor("eni-app1", "i-app1", "10.0.11.5", T0 + hr * H),
            sent("10.200.0.2", 53, dns, hr),
        ];
        found.extend(run(&mut b, hr, &rows).into_iter().map(|f| (hr, f)));
    }
    let got: Vec<(i64, &str)> = found
        .iter()
        .map(|(h, f)| (*h, f.detector.as_str()))
        .collect();
    assert_eq!(got, [(31, volume::DNS_TUNNEL)]);
    assert_eq!(found[0].1.severity, Severity::High);
    assert!(found[0].1.title.contains("30.0 MB"), "{}", found[0].1.title);
}

#[test]
fn hours_of_a_few_times_the_usual_to_a_new_network_are_slow_exfiltration_and_backups_are_not() {
    let mut b = Behaviour::new(opts()).unwrap_or_else(|e| panic!("{e}"));
    let mut found = Vec::new();
    for hr in 0..72 {
        let mut rows = vec![
            anchor("eni-app1", "i-app1", "10.0.11.5", T0 + hr * H),
            // Its usual: 2 MB an hour to a long-known SaaS endpoint.
            sent("52.94.8.1", 443, 2_000_000, hr),
        ];
        if hr % 24 == 2 {
            // The nightly backup to its usual bucket, from the first night.
            rows.push(sent("198.51.100.10", 443, 4_000_000_000, hr));
        }
        if hr == 50 {
            // A new backup target: one heavy hour, then quiet.
            rows.push(sent("203.0.113.50", 443, 4_000_000_000, hr));
        }
        if (60..67).contains(&hr) {
            // 10 MB an hour to a new network, about 5x the usual, for seven hours.
            rows.push(sent("185.220.101.47", 8443, 10_000_000, hr));
        }
        found.extend(run(&mut b, hr, &rows).into_iter().map(|f| (hr, f)));
    }
    let got: Vec<(i64, &str)> = found
        .iter()
        .map(|(h, f)| (*h, f.detector.as_str()))
        .collect();
    assert_eq!(
        got,
        [(63, volume::SLOW_EXFIL)],
        "one alert, on the fourth hour"
    );
    let f = &found[0].1;
    assert!(
        f.title.contains("185.220.101.47:8443") && f.title.contains("4 hours"),
        "{}",
        f.title
    );
    assert_eq!(f.attack.tactics, ["TA0010"]);
    let v = b.volume("i-app1").unwrap();
    let beacons = b.beacons("i-app1").unwrap();
    let size = serde_json::to_vec(v).unwrap_or_default().len()
        + serde_json::to_vec(beacons).unwrap_or_default().len();
    assert!(size <= 4096, "{size} bytes of state for one instance");
}

#[test]
fn the_engine_runs_the_detectors_and_saves_their_state_with_the_baselines() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let rules = crate::rules::RuleSet::load(&[], false).unwrap_or_else(|e| panic!("{e}"));
    let mut e = crate::Engine::new(crate::EngineOptions::default(), rules, None)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut rows = routine(0);
    rows.push(flow(
        "eni-app1",
        "i-app1",
        "10.0.11.5",
        "8.8.8.8",
        (50002, 53),
        80,
        T0 + 1_000,
    ));
    e.observe(flowtrail_core::Table::Flows, &flows(&rows))
        .unwrap_or_else(|e| panic!("{e}"));
    let f = e.finish().unwrap_or_else(|e| panic!("{e}"));
    assert!(
        f.iter().any(|f| f.detector == dns::DETECTOR),
        "{:?}",
        ids(&f)
    );
    e.save_to(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    let b = Behaviour::load(dir.path(), opts()).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(b.known_edges(), 2, "app -> db and web -> app, restored");
}

#[test]
fn a_bastion_reaching_one_more_tier_over_ssh_is_its_habit_and_a_web_server_opening_ssh_is_not() {
    let mut b = Behaviour::new(opts()).unwrap_or_else(|e| panic!("{e}"));
    let ssh = |src: &str, eni: &'static str, inst: &'static str, dst: &str, hr: i64| {
        vec![
            flow(
                eni,
                inst,
                src,
                dst,
                (50100, 22),
                40_000,
                T0 + hr * H + 60_000,
            ),
            anchor(eni, inst, src, T0 + hr * H),
        ]
    };
    let mut found = Vec::new();
    for hr in 0..30 {
        let mut rows = routine(hr);
        if hr == 10 {
            // Working hours of day one: the bastion administers the app tier.
            rows.extend(ssh("10.0.2.216", "eni-bast", "i-bast", "10.0.11.5", hr));
        }
        if hr == 27 {
            // Day two: the database tier, never reached from the bastion before.
            rows.extend(ssh("10.0.2.216", "eni-bast", "i-bast", "10.0.21.7", hr));
        }
        if hr == 29 {
            rows.extend(ssh("10.0.1.9", "eni-web1", "i-web1", "10.0.11.5", hr));
        }
        found.extend(
            run(&mut b, hr, &rows)
                .into_iter()
                .map(|f| (hr, f.entity.id)),
        );
    }
    assert_eq!(found, [(29, "i-web1".to_string())]);
}

#[test]
fn by_default_a_tier_learns_for_two_days_so_a_first_admin_session_on_day_two_is_quiet() {
    let mut b = Behaviour::new(BehaviourOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut found = Vec::new();
    for hr in 0..52 {
        let mut rows = routine(hr);
        let t = T0 + hr * H + 60_000;
        if hr == 30 || hr == 50 {
            // The bastion's first session, on day two; on day three, RDP nowhere used before.
            let port = if hr == 30 { 22 } else { 3389 };
            rows.push(flow(
                "eni-bast",
                "i-bast",
                "10.0.2.216",
                "10.0.21.7",
                (50100, port),
                9_000,
                t,
            ));
        }
        rows.push(anchor("eni-bast", "i-bast", "10.0.2.216", t));
        // Its routine from the first hour: DNS to the corporate resolver.
        rows.push(flow(
            "eni-bast",
            "i-bast",
            "10.0.2.216",
            "10.200.0.2",
            (50200, 53),
            90,
            t,
        ));
        found.extend(run(&mut b, hr, &rows).into_iter().map(|f| (hr, f.detector)));
    }
    assert_eq!(found, [(50, lateral::LATERAL.to_string())]);
}
