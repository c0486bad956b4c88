//! The band of `volume_spike` as it leaves the engine: judged on the instance's own history
//! after its warm-up, on its peer group when it is new; and every finding explained on the way
//! out (`why`, steps, evidence SQL and rows).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use flowtrail_core::{Finding, Table};

use crate::engine::{Engine, EngineOptions};
use crate::rules::RuleSet;
use crate::testutil::{Flow, flows};

const H: i64 = 3_600_000;
const T0: i64 = 1_767_657_600_000; // 2026-01-06T00:00:00Z

/// An app instance's hour: ~1 MB to a partner and 200 KB to a database, times `scale`.
fn hour(eni: &'static str, ip: &str, t: i64, scale: i64) -> Vec<Flow> {
    let flow = |dst: &str, dport, bytes, m: i64| Flow {
        eni,
        instance: None,
        subnet: Some("subnet-app"),
        src: ip.into(),
        dst: dst.into(),
        sport: 50000,
        dport,
        bytes,
        action: "ACCEPT",
        t_ms: t + m * 60_000,
    };
    vec![
        flow("52.94.10.1", 443, 1_000_000 * scale, 1),
        flow("10.0.9.9", 5432, 200_000, 2),
    ]
}

fn run(batches: Vec<Vec<Flow>>) -> Vec<Finding> {
    let mut e = Engine::new(
        EngineOptions::default(),
        RuleSet::load(&[], false).unwrap(),
        None,
    )
    .unwrap();
    let mut out = Vec::new();
    for b in batches {
        out.extend(e.observe(Table::Flows, &flows(&b)).unwrap());
    }
    out.extend(e.finish().unwrap());
    out
}

fn fleet(hours: std::ops::Range<i64>, spike: Option<(&str, i64)>) -> Vec<Vec<Flow>> {
    let mut out = Vec::new();
    for hr in hours {
        let t = T0 + hr * H;
        for (eni, ip) in [
            ("eni-a", "10.0.1.10"),
            ("eni-b", "10.0.1.11"),
            ("eni-c", "10.0.1.12"),
        ] {
            let scale = if spike == Some((eni, hr)) { 60 } else { 1 };
            out.push(hour(eni, ip, t, scale));
        }
    }
    out
}

fn the_spike(f: &[Finding]) -> &Finding {
    let spikes: Vec<&Finding> = f.iter().filter(|f| f.detector == "volume_spike").collect();
    assert_eq!(spikes.len(), 1, "{f:#?}");
    spikes[0]
}

fn assert_explained(f: &Finding) {
    let (why, steps) = f.explanation().unwrap_or_default();
    assert!(why.contains(&f.entity.id), "{why}");
    assert!(steps.len() >= 3, "{steps:?}");
    let sql = f.evidence["sql"].as_str().unwrap_or_default();
    assert!(
        sql.contains(&format!("interface_id = '{}'", f.entity.id)),
        "{sql}"
    );
    let rows = f.evidence["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows[0]["dstaddr"], "52.94.10.1", "{rows:?}");
}

#[test]
fn a_spike_of_a_warm_instance_is_banded_on_its_own_history() {
    // Day 4, 12:00: eni-a sends 60x its usual.
    let f = run(fleet(0..96, Some(("eni-a", 84))));
    let s = the_spike(&f);
    let band = &s.evidence["band"];
    assert_eq!(band["basis"], "instance", "{band}");
    assert_eq!(band["hour_of_day"], 12);
    assert_eq!(band["unit"], "bytes_out_per_hour");
    let (low, high, obs) = (
        band["expected_low"].as_u64().unwrap(),
        band["expected_high"].as_u64().unwrap(),
        band["observed"].as_u64().unwrap(),
    );
    assert!(
        low <= 1_200_000 && 1_200_000 <= high,
        "the usual hour is inside: {band}"
    );
    assert_eq!(obs, 60_200_000);
    assert!(band["times_expected"].as_f64().unwrap() > 1.0, "{band}");
    assert_explained(s);
    assert!(
        s.explanation()
            .unwrap_or_default()
            .0
            .contains("its own history"),
        "{:?}",
        s.explanation()
    );
}

#[test]
fn a_spike_of_a_new_instance_is_banded_on_its_peer_group() {
    let mut batches = fleet(0..96, None);
    // Day 4: eni-new joins the subnet, behaves like its siblings, then spikes at 12:00.
    for hr in 72..96 {
        batches.push(hour(
            "eni-new",
            "10.0.1.50",
            T0 + hr * H,
            if hr == 84 { 60 } else { 1 },
        ));
    }
    batches.sort_by_key(|b| b[0].t_ms / H);
    let f = run(batches);
    let s = the_spike(&f);
    assert_eq!(s.entity.id, "eni-new");
    assert_eq!(s.evidence["band"]["basis"], "peer_group", "{}", s.evidence);
    assert_explained(s);
    assert!(
        s.explanation().unwrap_or_default().0.contains("peer group"),
        "{:?}",
        s.explanation()
    );
}
