//! The committed sample: a small fleet in two accounts over three days (2026-01-06 .. 08),
//! normal traffic plus the labeled scenarios, written under `<out>/aws/AWSLogs/…` with the
//! labels under `<out>/scenarios/`.

use std::fs;
use std::io;
use std::path::Path;

use crate::cloudtrail::{Delivered, TrailStream, write_digest, write_log_file};
use crate::fleet::{Fleet, Iface, Peers, Role, ip_str};
use crate::flowlog::{CUSTOM_V5, DEFAULT_V2, FileBuilder, FlowRecord, Status};
use crate::json::J;
use crate::layout::{FlowLayout, flow_key};
use crate::output::{Sink, Stats};
use crate::prng::Rng;
use crate::scenarios::{ACCOUNT_A, ACCOUNT_B, Cast, D0, ORG_ID, Scenarios, flow_log, stream};
use crate::time::{DAY, rfc3339};
use crate::traffic::{Model, WINDOW};
use crate::trail_events::{Identities, background};

/// Seed of the committed sample.
pub const SAMPLE_SEED: u64 = 20_260_106;
/// Days in the sample.
pub const SAMPLE_DAYS: i64 = 3;
/// Traffic scale of the sample in percent of the model's base rates (keeps it under ~3 MB).
pub const SAMPLE_SCALE_PCT: u64 = 70;
/// The flow-log window holding two malformed lines.
pub const QUARANTINE_WINDOW: i64 = D0 + DAY + 10 * 3600;

/// The sample fleet and its principals.
#[derive(Debug)]
pub struct SampleWorld {
    /// Interfaces and flow logs.
    pub fleet: Fleet,
    /// Outside addresses.
    pub peers: Peers,
    /// Interfaces the scenarios use.
    pub cast: Cast,
    /// Principals of account A.
    pub ids_a: Identities,
    /// Principals of account B.
    pub ids_b: Identities,
}

fn instances_of(fleet: &Fleet, account: &str) -> Vec<(String, String)> {
    fleet
        .ifaces
        .iter()
        .filter(|f| f.account_id == account)
        .filter_map(|f| {
            f.instance_id
                .clone()
                .map(|id| (f.role.as_str().to_string(), id))
        })
        .collect()
}

/// Build the sample fleet from a seed.
pub fn world(seed: u64) -> SampleWorld {
    let mut rng = Rng::derive(seed, "fleet");
    let r = &mut rng;
    let mut fleet = Fleet::default();
    let always = i64::MIN;

    let mut v = fleet.add_vpc(
        r,
        ACCOUNT_A,
        "us-east-1",
        0,
        &DEFAULT_V2,
        FlowLayout::Daily,
        -5,
    );
    let pub_a = fleet.add_subnet(r, &mut v, 1, "use1-az1");
    let pub_b = fleet.add_subnet(r, &mut v, 2, "use1-az2");
    let app_a = fleet.add_subnet(r, &mut v, 11, "use1-az1");
    let app_b = fleet.add_subnet(r, &mut v, 12, "use1-az2");
    let db_a = fleet.add_subnet(r, &mut v, 21, "use1-az1");
    let db_b = fleet.add_subnet(r, &mut v, 22, "use1-az2");
    fleet.add_iface(r, &v, pub_a, Role::Web, "web-1", always);
    fleet.add_iface(r, &v, pub_b, Role::Web, "web-2", always);
    fleet.add_iface(r, &v, pub_a, Role::Web, "web-3", always);
    let bastion = fleet.add_iface(r, &v, pub_a, Role::Bastion, "bastion-1", always);
    fleet.add_iface(r, &v, pub_b, Role::LoadBalancer, "nlb-1", always);
    fleet.add_iface(r, &v, app_a, Role::App, "app-1", always);
    fleet.add_iface(r, &v, app_b, Role::App, "app-2", always);
    let app3 = fleet.add_iface(r, &v, app_a, Role::App, "app-3", always);
    let app4 = fleet.add_iface(r, &v, app_b, Role::App, "app-4", D0 + 2 * DAY + 8 * 3600);
    let db1 = fleet.add_iface(r, &v, db_a, Role::Db, "db-1", always);
    fleet.add_iface(r, &v, db_b, Role::Db, "db-2", always);

    let mut v = fleet.add_vpc(
        r,
        ACCOUNT_A,
        "us-west-2",
        1,
        &DEFAULT_V2,
        FlowLayout::Hourly,
        -8,
    );
    let s = fleet.add_subnet(r, &mut v, 11, "usw2-az1");
    fleet.add_iface(r, &v, s, Role::Batch, "batch-1", always);
    fleet.add_iface(r, &v, s, Role::Batch, "batch-2", always);

    let mut v = fleet.add_vpc(
        r,
        ACCOUNT_B,
        "eu-west-1",
        2,
        &CUSTOM_V5,
        FlowLayout::Hive,
        0,
    );
    let pub_a = fleet.add_subnet(r, &mut v, 1, "euw1-az1");
    let pub_b = fleet.add_subnet(r, &mut v, 2, "euw1-az2");
    let app = fleet.add_subnet(r, &mut v, 11, "euw1-az1");
    let db = fleet.add_subnet(r, &mut v, 21, "euw1-az2");
    fleet.add_iface(r, &v, pub_a, Role::Web, "web-1", always);
    fleet.add_iface(r, &v, pub_b, Role::Web, "web-2", always);
    fleet.add_iface(r, &v, app, Role::App, "app-1", always);
    fleet.add_iface(r, &v, db, Role::Db, "db-1", always);

    let peers = Peers::new(r, 2_000);
    let ids_a = Identities::new(
        r,
        ACCOUNT_A,
        &["us-east-1", "us-west-2"],
        &instances_of(&fleet, ACCOUNT_A),
        &["dev-jordan", "backup-admin"],
    );
    let ids_b = Identities::new(
        r,
        ACCOUNT_B,
        &["eu-west-1", "us-east-1"],
        &instances_of(&fleet, ACCOUNT_B),
        &[],
    );
    SampleWorld {
        fleet,
        peers,
        cast: Cast {
            bastion,
            app3,
            db1,
            app4,
        },
        ids_a,
        ids_b,
    }
}

/// What one flow log wrote.
#[derive(Debug, Clone)]
pub struct FlowLogReport {
    /// Flow log id.
    pub id: String,
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Format name.
    pub format: &'static str,
    /// Layout.
    pub layout: FlowLayout,
    /// Objects.
    pub files: u64,
    /// Records.
    pub records: u64,
}

/// What the sample run wrote.
#[derive(Debug, Clone)]
pub struct SampleReport {
    /// Totals.
    pub stats: Stats,
    /// Per flow log.
    pub flow_logs: Vec<FlowLogReport>,
    /// Events per trail stream `(account, region, files, events)`.
    pub trails: Vec<(String, String, u64, u64)>,
}

fn bad_lines(iface: &Iface, t0: i64) -> (String, String) {
    let web = ip_str(iface.ip);
    (
        format!(
            "2 {} {} 198.51.100.77 {web} http 443 6 5 420 {} {} ACCEPT OK",
            iface.log_account,
            iface.eni,
            t0 + 10,
            t0 + 40
        ),
        format!(
            "2 {} {} {web} 198.51.100.77 443 49152 6",
            iface.log_account, iface.eni
        ),
    )
}

/// Write the sample under `out` (`out/aws/AWSLogs/…`, `out/scenarios/*.json`), replacing an
/// existing `out/aws/AWSLogs`.
pub fn write_sample(out: &Path) -> io::Result<SampleReport> {
    let seed = SAMPLE_SEED;
    let w = world(seed);
    let aws = out.join("aws");
    let old = aws.join("AWSLogs");
    if old.exists() {
        fs::remove_dir_all(&old)?;
    }
    let mut sink = Sink::new(&aws);
    let mut sc = Scenarios::new(seed, &w.fleet, &w.peers, w.cast, &w.ids_a, &w.ids_b);
    let end = D0 + SAMPLE_DAYS * DAY;

    // ---- flow logs
    let model = Model {
        fleet: &w.fleet,
        peers: &w.peers,
        scale_pct: SAMPLE_SCALE_PCT,
    };
    let n_fl = w.fleet.flow_logs.len();
    let mut rngs: Vec<Rng> = (0..n_fl)
        .map(|i| Rng::derive(seed, &format!("flows/{i}")))
        .collect();
    let mut names = Rng::derive(seed, "flow-names");
    let mut reports: Vec<FlowLogReport> = w
        .fleet
        .flow_logs
        .iter()
        .map(|d| FlowLogReport {
            id: d.id.clone(),
            account: d.account_id.clone(),
            region: d.region.clone(),
            format: d.format.name,
            layout: d.layout,
            files: 0,
            records: 0,
        })
        .collect();
    let mut recs: Vec<FlowRecord> = Vec::new();
    let (mut learned_bytes, mut learned_windows) = (0u64, 0u64);
    let mut quarantine = J::Null;
    let mut t0 = D0;
    while t0 < end {
        if t0 == D0 + 2 * DAY {
            let mean = learned_bytes / learned_windows.max(1);
            sc.exfil_per_window = 50 * mean;
            sc.finish_labels(mean);
        }
        for fl in 0..n_fl {
            let (del_fl, del_t) = sc.deleted_flow_log;
            if fl == del_fl && t0 + WINDOW > del_t {
                continue;
            }
            recs.clear();
            model.window(&mut rngs[fl], fl, t0, &mut recs);
            for c in sc.conns_in(fl, t0, t0 + WINDOW) {
                c.emit(&mut recs);
            }
            if recs.is_empty() {
                continue;
            }
            recs.sort_by_key(|r| (r.start, r.iface));
            if t0 < D0 + 2 * DAY && fl == flow_log::A_USE1 {
                learned_windows += 1;
                learned_bytes += recs
                    .iter()
                    .filter(|r| r.iface == sc.exfil_iface && r.egress && r.status == Status::Ok)
                    .map(|r| r.bytes)
                    .sum::<u64>();
            }
            let def = &w.fleet.flow_logs[fl];
            let key = flow_key(
                def.layout,
                &def.account_id,
                &def.region,
                &def.id,
                t0,
                &names.hex(8),
            );
            let mut b = FileBuilder::new(def.format);
            let inject = fl == flow_log::A_USE1 && t0 == QUARANTINE_WINDOW;
            let mut bad = Vec::new();
            for (k, r) in recs.iter().enumerate() {
                b.push(r, &w.fleet.ifaces[r.iface]);
                if inject && (k == 2 || k == 7) {
                    let (l1, l2) = bad_lines(&w.fleet.ifaces[r.iface], t0);
                    let (line, reason) = if k == 2 {
                        (l1, "srcport is not an integer (\"http\")")
                    } else {
                        (l2, "8 fields where the header names 14")
                    };
                    let n = b.push_raw(&line);
                    bad.push(J::obj([
                        ("line", J::Int(n as i64)),
                        ("reason", J::s(reason)),
                        ("text", J::s(line)),
                    ]));
                }
            }
            if inject {
                quarantine = J::Arr(vec![J::obj([
                    ("object", J::s(key.clone())),
                    (
                        "lines",
                        J::Arr(
                            bad.iter()
                                .filter_map(|o| match o {
                                    J::Obj(v) => v.first().map(|(_, n)| n.clone()),
                                    _ => None,
                                })
                                .collect(),
                        ),
                    ),
                    ("good_records", J::Int(b.records() as i64)),
                    ("details", J::Arr(bad)),
                ])]);
            }
            reports[fl].files += 1;
            reports[fl].records += b.records() as u64;
            sink.stats.flow_files += 1;
            sink.stats.flow_records += b.records() as u64;
            sink.write_gz(&key, &b.finish())?;
        }
        t0 += WINDOW;
    }

    // ---- CloudTrail
    let streams = [
        (
            TrailStream {
                account: ACCOUNT_A.into(),
                region: "us-east-1".into(),
                org: None,
                trail: "management-trail".into(),
                utc_offset_h: -5,
            },
            1_200u64,
        ),
        (
            TrailStream {
                account: ACCOUNT_A.into(),
                region: "us-west-2".into(),
                org: None,
                trail: "management-trail".into(),
                utc_offset_h: -8,
            },
            300,
        ),
        (
            TrailStream {
                account: ACCOUNT_B.into(),
                region: "eu-west-1".into(),
                org: Some(ORG_ID.into()),
                trail: "org-trail".into(),
                utc_offset_h: 0,
            },
            800,
        ),
        (
            TrailStream {
                account: ACCOUNT_B.into(),
                region: "us-east-1".into(),
                org: Some(ORG_ID.into()),
                trail: "org-trail".into(),
                utc_offset_h: -5,
            },
            60,
        ),
    ];
    let launches = crate::launches::fleet_launches(seed, &w.fleet, &w.ids_a, &w.ids_b);
    let mut launch_files = Rng::derive(seed, "launch-files");
    let dup_at = [D0 + DAY + 6 * 3600, D0 + 2 * DAY + 16 * 3600];
    let mut dups = Vec::new();
    let mut trails = Vec::new();
    for (si, (st, rate)) in streams.iter().enumerate() {
        let mut rng = Rng::derive(seed, &format!("trail/{si}"));
        let ids = if st.account == ACCOUNT_A {
            &w.ids_a
        } else {
            &w.ids_b
        };
        let mut specials: Vec<_> = sc
            .events
            .iter()
            .filter(|s| s.stream == si)
            .map(|s| s.event.clone())
            .collect();
        specials.sort_by_key(|e| e.time);
        let mut delivered: Vec<(i64, Delivered)> = Vec::new();
        let mut prev: Vec<(i64, String, String)> = Vec::new();
        let mut next_dup = 0;
        let (mut files, mut events) = (0u64, 0u64);
        // The fleet's launches, the day before: one file, delivered five minutes after the last.
        let launched: Vec<(i64, String)> = launches
            .iter()
            .filter(|(s, _)| *s == si)
            .map(|(_, e)| (e.time, e.to_json().to_json()))
            .collect();
        if let Some(last) = launched.iter().map(|(t, _)| *t).max() {
            write_log_file(&mut sink, &mut launch_files, st, last + 300, &launched)?;
            files += 1;
            events += launched.len() as u64;
        }
        let mut t = D0;
        while t < end {
            let t1 = (t + rng.range(300, 901) as i64).min(end);
            let mut evs = background(&mut rng, ids, &st.region, t, t1, *rate, st.utc_offset_h);
            if st.account == ACCOUNT_A {
                let (g0, g1) = sc.trail_gap;
                evs.retain(|e| e.time <= g0 || e.time >= g1);
            }
            evs.extend(
                specials
                    .iter()
                    .filter(|e| e.time >= t && e.time < t1)
                    .cloned(),
            );
            evs.sort_by_key(|e| e.time);
            let mut ser: Vec<(i64, String)> = Vec::new();
            let mut dup_ids = Vec::new();
            if si == stream::A_USE1
                && next_dup < dup_at.len()
                && t >= dup_at[next_dup]
                && prev.len() >= 2
            {
                // CloudTrail re-delivers the last two events of the previous file.
                for (pt, pid, pj) in &prev[prev.len() - 2..] {
                    ser.push((*pt, pj.clone()));
                    dup_ids.push(pid.clone());
                }
                next_dup += 1;
            }
            ser.extend(evs.iter().map(|e| (e.time, e.to_json().to_json())));
            if !ser.is_empty() {
                let d = write_log_file(&mut sink, &mut rng, st, t, &ser)?;
                files += 1;
                events += ser.len() as u64;
                if !dup_ids.is_empty() {
                    let first = delivered
                        .last()
                        .map(|(_, d)| d.key.clone())
                        .unwrap_or_default();
                    for id in dup_ids {
                        dups.push(J::obj([
                            ("event_id", J::s(id)),
                            (
                                "objects",
                                J::Arr(vec![J::s(first.clone()), J::s(d.key.clone())]),
                            ),
                        ]));
                    }
                }
                prev = evs
                    .iter()
                    .map(|e| (e.time, e.event_id.clone(), e.to_json().to_json()))
                    .collect();
                delivered.push((t, d));
            }
            t = t1;
        }
        if si == stream::A_USE1 {
            for day in 0..SAMPLE_DAYS {
                let (s, e) = (D0 + day * DAY, D0 + day * DAY + 3600);
                let files: Vec<Delivered> = delivered
                    .iter()
                    .filter(|(t, _)| *t >= s && *t < e)
                    .map(|(_, d)| d.clone())
                    .collect();
                write_digest(
                    &mut sink,
                    &mut rng,
                    st,
                    "example-cloudtrail-logs",
                    s,
                    e,
                    &files,
                )?;
            }
        }
        trails.push((st.account.clone(), st.region.clone(), files, events));
    }

    // ---- labels
    let scen = out.join("scenarios");
    fs::create_dir_all(&scen)?;
    let labels = J::obj([
        (
            "dataset",
            J::s(
                "flowtrail sample: 2 accounts, 3 flow logs, 4 CloudTrail streams, 2026-01-06T00:00:00Z to 2026-01-09T00:00:00Z (seed 20260106)",
            ),
        ),
        (
            "labels",
            J::Arr(sc.labels.iter().map(|l| l.to_json()).collect()),
        ),
        ("quarantine_expected", quarantine),
        ("duplicate_event_ids", J::Arr(dups)),
    ]);
    let benign = J::Arr(sc.benign.iter().map(|l| l.to_json()).collect());
    let fleet_doc = fleet_json(&w.fleet);
    for (name, doc) in [
        ("labels.json", labels),
        ("benign.json", benign),
        ("fleet.json", fleet_doc),
    ] {
        let text = doc.to_pretty();
        fs::write(scen.join(name), &text)?;
        sink.stats.other_files += 1;
        sink.stats.disk_bytes += text.len() as u64;
    }
    Ok(SampleReport {
        stats: sink.stats,
        flow_logs: reports,
        trails,
    })
}

/// The fleet as `fleet.json` describes it (flow logs, interfaces, ids and addresses).
pub(crate) fn fleet_json(fleet: &Fleet) -> J {
    J::obj([
        (
            "flow_logs",
            J::Arr(
                fleet
                    .flow_logs
                    .iter()
                    .map(|d| {
                        J::obj([
                            ("id", J::s(d.id.clone())),
                            ("account_id", J::s(d.account_id.clone())),
                            ("region", J::s(d.region.clone())),
                            ("vpc_id", J::s(d.vpc_id.clone())),
                            ("format", J::s(d.format.format_string())),
                            ("layout", J::s(format!("{:?}", d.layout).to_lowercase())),
                        ])
                    })
                    .collect(),
            ),
        ),
        (
            "interfaces",
            J::Arr(
                fleet
                    .ifaces
                    .iter()
                    .map(|f| {
                        J::obj([
                            ("name", J::s(f.name.clone())),
                            ("role", J::s(f.role.as_str())),
                            ("instance_id", f.instance_id.clone().map_or(J::Null, J::Str)),
                            ("interface_id", J::s(f.eni.clone())),
                            ("private_ip", J::s(ip_str(f.ip))),
                            ("account_id", J::s(f.account_id.clone())),
                            ("flow_log_account_id", J::s(f.log_account.clone())),
                            ("region", J::s(f.region.clone())),
                            ("vpc_id", J::s(f.vpc_id.clone())),
                            ("subnet_id", J::s(f.subnet_id.clone())),
                            ("az_id", J::s(f.az_id.clone())),
                            (
                                "active_from",
                                if f.active_from == i64::MIN {
                                    J::Null
                                } else {
                                    J::s(rfc3339(f.active_from))
                                },
                            ),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
}
