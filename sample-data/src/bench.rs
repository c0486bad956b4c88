//! The large benchmark set: a bigger fleet, ~1,000 records per flow-log object as AWS
//! delivers them, default and custom formats mixed, CloudTrail files every 5 minutes per
//! account/region. Streams window by window: memory stays at one object's worth.

use std::io;
use std::path::Path;

use crate::cloudtrail::{TrailStream, write_log_file};
use crate::fleet::{Fleet, Peers, Role};
use crate::flowlog::{CUSTOM_V5, DEFAULT_V2, FileBuilder, FlowFormat, FlowRecord};
use crate::layout::{FlowLayout, flow_key};
use crate::output::{Sink, Stats};
use crate::prng::Rng;
use crate::scenarios::{ACCOUNT_A, ACCOUNT_B, ORG_ID};
use crate::traffic::{Model, WINDOW};
use crate::trail_events::{Identities, mix};

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct BenchSpec {
    /// Flow-log records (approximate to within one object).
    pub flow_records: u64,
    /// CloudTrail events.
    pub trail_events: u64,
    /// Seed.
    pub seed: u64,
}

impl Default for BenchSpec {
    fn default() -> Self {
        Self {
            flow_records: 5_000_000,
            trail_events: 200_000,
            seed: 1,
        }
    }
}

/// Start of the bench set: 2026-02-01T00:00:00Z.
pub const BENCH_START: i64 = 1_769_904_000;

/// Records per flow-log object, on average.
pub const RECORDS_PER_OBJECT: u64 = 1_000;

#[allow(clippy::too_many_arguments)]
fn add_vpc(
    fleet: &mut Fleet,
    r: &mut Rng,
    account: &str,
    region: &str,
    octet: u8,
    format: &'static FlowFormat,
    layout: FlowLayout,
    azs: [&str; 2],
) {
    let mut v = fleet.add_vpc(r, account, region, octet, format, layout, 0);
    let subnets: Vec<usize> = (0..6u8)
        .map(|k| {
            fleet.add_subnet(
                r,
                &mut v,
                [1, 2, 11, 12, 21, 22][k as usize],
                azs[usize::from(k % 2)],
            )
        })
        .collect();
    let plan: &[(Role, usize, usize)] = &[
        (Role::Web, 10, 0),
        (Role::LoadBalancer, 2, 0),
        (Role::Bastion, 2, 0),
        (Role::App, 12, 2),
        (Role::Db, 4, 4),
        (Role::Batch, 6, 2),
    ];
    for &(role, n, sub) in plan {
        for k in 0..n {
            let s = subnets[sub + k % 2];
            fleet.add_iface(
                r,
                &v,
                s,
                role,
                &format!("{}-{}", role.as_str(), k + 1),
                i64::MIN,
            );
        }
    }
}

/// Write the bench set under `out`.
pub fn write_bench(out: &Path, spec: BenchSpec) -> io::Result<Stats> {
    let mut r = Rng::derive(spec.seed, "bench-fleet");
    let mut fleet = Fleet::default();
    add_vpc(
        &mut fleet,
        &mut r,
        ACCOUNT_A,
        "us-east-1",
        0,
        &DEFAULT_V2,
        FlowLayout::Daily,
        ["use1-az1", "use1-az2"],
    );
    add_vpc(
        &mut fleet,
        &mut r,
        ACCOUNT_A,
        "us-west-2",
        1,
        &DEFAULT_V2,
        FlowLayout::Hourly,
        ["usw2-az1", "usw2-az2"],
    );
    add_vpc(
        &mut fleet,
        &mut r,
        ACCOUNT_B,
        "eu-west-1",
        2,
        &CUSTOM_V5,
        FlowLayout::Hive,
        ["euw1-az1", "euw1-az2"],
    );
    add_vpc(
        &mut fleet,
        &mut r,
        ACCOUNT_B,
        "us-east-1",
        3,
        &CUSTOM_V5,
        FlowLayout::Daily,
        ["use1-az4", "use1-az6"],
    );
    let peers = Peers::new(&mut r, 50_000);
    let inst = |acct: &str| -> Vec<(String, String)> {
        fleet
            .ifaces
            .iter()
            .filter(|f| f.account_id == acct)
            .filter_map(|f| {
                f.instance_id
                    .clone()
                    .map(|id| (f.role.as_str().to_string(), id))
            })
            .collect()
    };
    let ids_a = Identities::new(
        &mut r,
        ACCOUNT_A,
        &["us-east-1", "us-west-2"],
        &inst(ACCOUNT_A),
        &[],
    );
    let ids_b = Identities::new(
        &mut r,
        ACCOUNT_B,
        &["eu-west-1", "us-east-1"],
        &inst(ACCOUNT_B),
        &[],
    );
    let streams = [
        TrailStream {
            account: ACCOUNT_A.into(),
            region: "us-east-1".into(),
            org: None,
            trail: "management-trail".into(),
            utc_offset_h: 0,
        },
        TrailStream {
            account: ACCOUNT_A.into(),
            region: "us-west-2".into(),
            org: None,
            trail: "management-trail".into(),
            utc_offset_h: 0,
        },
        TrailStream {
            account: ACCOUNT_B.into(),
            region: "eu-west-1".into(),
            org: Some(ORG_ID.into()),
            trail: "org-trail".into(),
            utc_offset_h: 0,
        },
        TrailStream {
            account: ACCOUNT_B.into(),
            region: "us-east-1".into(),
            org: Some(ORG_ID.into()),
            trail: "org-trail".into(),
            utc_offset_h: 0,
        },
    ];

    let model = Model {
        fleet: &fleet,
        peers: &peers,
        scale_pct: 400,
    };
    let n_fl = fleet.flow_logs.len() as u64;
    let windows = spec.flow_records.div_ceil(n_fl * RECORDS_PER_OBJECT).max(1);
    let per_file = spec
        .trail_events
        .div_ceil(streams.len() as u64 * windows)
        .max(1);
    let mut rng = Rng::derive(spec.seed, "bench");
    let mut sink = Sink::new(out);
    let mut recs: Vec<FlowRecord> = Vec::with_capacity(2 * RECORDS_PER_OBJECT as usize);
    let (mut flows_left, mut events_left) = (spec.flow_records, spec.trail_events);
    let mut t0 = BENCH_START;
    while flows_left > 0 || events_left > 0 {
        for fl in 0..fleet.flow_logs.len() {
            if flows_left == 0 {
                break;
            }
            let target = rng
                .range(
                    RECORDS_PER_OBJECT * 9 / 10,
                    RECORDS_PER_OBJECT * 11 / 10 + 1,
                )
                .min(flows_left);
            recs.clear();
            while (recs.len() as u64) < target {
                model.window(&mut rng, fl, t0, &mut recs);
            }
            recs.truncate(target as usize);
            let def = &fleet.flow_logs[fl];
            let mut b = FileBuilder::new(def.format);
            for rec in &recs {
                b.push(rec, &fleet.ifaces[rec.iface]);
            }
            let key = flow_key(
                def.layout,
                &def.account_id,
                &def.region,
                &def.id,
                t0,
                &rng.hex(8),
            );
            sink.stats.flow_files += 1;
            sink.stats.flow_records += b.records() as u64;
            flows_left -= b.records() as u64;
            sink.write_gz(&key, &b.finish())?;
        }
        for st in &streams {
            if events_left == 0 {
                break;
            }
            let n = rng
                .range(per_file * 3 / 4, per_file * 5 / 4 + 1)
                .clamp(1, events_left);
            let ids = if st.account == ACCOUNT_A {
                &ids_a
            } else {
                &ids_b
            };
            let mut evs = mix(&mut rng, ids, &st.region, t0, t0 + WINDOW, n, true);
            evs.sort_by_key(|e| e.time);
            let ser: Vec<(i64, String)> = evs
                .iter()
                .map(|e| (e.time, e.to_json().to_json()))
                .collect();
            write_log_file(&mut sink, &mut rng, st, t0 + WINDOW, &ser)?;
            events_left -= n;
        }
        t0 += WINDOW;
    }
    Ok(sink.stats)
}
