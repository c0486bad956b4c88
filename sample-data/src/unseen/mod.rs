//! An unseen evaluation scenario (`flowtrail-gen scenario`): a different fleet, timeline and
//! attack plan per seed, for checking that detection generalizes beyond the committed sample.
//!
//! Modules, one concern each: [`world`] (accounts, regions, VPCs, instances, principals),
//! [`formats`] (custom flow-log formats), [`plan`] (when, where and how hard each of the 11
//! attack kinds happens), [`net`] (flow-log attacks and benign network look-alikes),
//! [`trail`] (CloudTrail attacks and benign look-alikes), [`chain`] (an attack sequence over
//! both: a group opened, SSH brute-forced and broken into), [`routine`] (routine change that
//! must stay quiet: Terraform applies, an onboarding), [`labels`] (the label files);
//! this file writes the objects. Flow-log objects cover 10 minutes each.

pub mod chain;
pub mod formats;
pub mod labels;
pub mod net;
pub mod plan;
pub mod routine;
pub mod trail;
pub mod world;

use std::fs;
use std::io;
use std::path::Path;

use crate::cloudtrail::{Delivered, write_digest, write_log_file};
use crate::flowlog::{FileBuilder, FlowRecord, Status};
use crate::layout::flow_key;
use crate::output::{Sink, Stats};
use crate::prng::Rng;
use crate::sample::FlowLogReport;
use crate::scenarios::Label;
use crate::time::rfc3339;
use crate::traffic::{Model, WINDOW};
use crate::trail_events::background;

/// Flow-log delivery interval of the scenario (seconds).
pub const FILE_WINDOW: i64 = 600;
/// Traffic scale in percent of the model's base rates (keeps 8 days under 150k records).
pub const SCALE_PCT: u64 = 20;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScenarioSpec {
    /// Days (at least 3; attacks fall on day 2 or later).
    pub days: i64,
    /// Seed.
    pub seed: u64,
}

impl Default for ScenarioSpec {
    fn default() -> Self {
        Self { days: 8, seed: 7 }
    }
}

/// What a scenario run wrote.
#[derive(Debug, Clone)]
pub struct ScenarioReport {
    /// Totals.
    pub stats: Stats,
    /// Per flow log.
    pub flow_logs: Vec<FlowLogReport>,
    /// Per trail stream `(account, region, org, files, events)`.
    pub trails: Vec<(String, String, Option<String>, u64, u64)>,
    /// The attack labels.
    pub labels: Vec<Label>,
    /// First day.
    pub start: String,
}

/// Write the scenario under `out` (`out/aws/AWSLogs/…`, `out/scenarios/*.json`), replacing an
/// existing `out/aws/AWSLogs`.
pub fn write_scenario(out: &Path, spec: ScenarioSpec) -> io::Result<ScenarioReport> {
    let days = spec.days.max(3);
    let w = world::build(spec.seed, days);
    let p = plan::draw(&w);
    let (mut ns, _) = net::story(&w, &p);
    let ts = trail::story(&w, &p);
    let aws = out.join("aws");
    let old = aws.join("AWSLogs");
    if old.exists() {
        fs::remove_dir_all(&old)?;
    }
    let mut sink = Sink::new(&aws).with_level(1);
    let end = w.day(days);

    // ---- flow logs
    let model = Model {
        fleet: &w.fleet,
        peers: &w.peers,
        scale_pct: SCALE_PCT,
    };
    let n_fl = w.fleet.flow_logs.len();
    let mut rngs: Vec<Rng> = (0..n_fl)
        .map(|i| Rng::derive(w.seed, &format!("unseen/flows/{i}")))
        .collect();
    let mut names = Rng::derive(w.seed, "unseen/flow-names");
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
    let victim = p.exfil.0;
    let victim_fl = w.fleet.ifaces[victim].flow_log;
    let (mut learned, mut windows) = (0u64, 0u64);
    let mut per_conn = 0u64;
    let mut recs: Vec<FlowRecord> = Vec::new();
    let mut from = 0usize;
    let mut t0 = w.d0;
    while t0 < end {
        if t0 == w.day(2) {
            let mean = learned / windows.max(1);
            per_conn = mean * p.exfil.3 / 10;
            let text = format!(
                "{} bytes per 10 minutes, {}x its mean of {mean} on days 0-1",
                per_conn * 10,
                p.exfil.3
            );
            for l in &mut ns.labels {
                l.description = l.description.replace("EXFIL_BYTES", &text);
            }
        }
        let t1 = t0 + FILE_WINDOW;
        let upto = from + ns.conns[from..].partition_point(|(_, c)| c.start < t1);
        for fl in 0..n_fl {
            let (del_fl, del_t) = p.delete_fl;
            if fl == del_fl && t1 > del_t {
                continue;
            }
            recs.clear();
            let mut s = t0;
            while s < t1 {
                model.window(&mut rngs[fl], fl, s, &mut recs);
                s += WINDOW;
            }
            net::agent_traffic(&w, &mut rngs[fl], fl, t0, t1, &mut recs);
            for (f, c) in &ns.conns[from..upto] {
                if *f == fl {
                    c.emit(&mut recs);
                }
            }
            for (f, c) in &ns.exfil {
                if *f == fl && c.start >= t0 && c.start < t1 {
                    c.sizes(per_conn, per_conn / 90).emit(&mut recs);
                }
            }
            if recs.is_empty() {
                continue;
            }
            recs.sort_by_key(|r| (r.start, r.iface));
            if t0 < w.day(2) && fl == victim_fl {
                windows += 1;
                learned += recs
                    .iter()
                    .filter(|r| r.iface == victim && r.egress && r.status == Status::Ok)
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
            for r in &recs {
                b.push(r, &w.fleet.ifaces[r.iface]);
            }
            reports[fl].files += 1;
            reports[fl].records += b.records() as u64;
            sink.stats.flow_files += 1;
            sink.stats.flow_records += b.records() as u64;
            sink.write_gz(&key, &b.finish())?;
        }
        from = upto;
        t0 = t1;
    }

    // ---- CloudTrail
    let (gap_acct, gap0, gap1) = ts.gap;
    let mut trails = Vec::new();
    for (si, stream) in w.streams.iter().enumerate() {
        let st = &stream.st;
        let ids = &w.accounts[stream.account].ids;
        let mut rng = Rng::derive(w.seed, &format!("unseen/trail/{si}"));
        let mut specials: Vec<_> = ts
            .events
            .iter()
            .filter(|(s, _)| *s == si)
            .map(|(_, e)| e.clone())
            .collect();
        specials.sort_by_key(|e| e.time);
        let hidden = |t: i64| stream.account == gap_acct && t > gap0 && t < gap1;
        let (mut files, mut events) = (0u64, 0u64);
        let mut delivered: Vec<(i64, Delivered)> = Vec::new();
        let mut t = w.d0;
        while t < end {
            let t1 = (t + rng.range(300, 901) as i64).min(end);
            let mut evs = background(
                &mut rng,
                ids,
                &st.region,
                t,
                t1,
                stream.rate,
                st.utc_offset_h,
            );
            evs.extend(
                specials
                    .iter()
                    .filter(|e| e.time >= t && e.time < t1)
                    .cloned(),
            );
            evs.retain(|e| !hidden(e.time));
            evs.sort_by_key(|e| e.time);
            if !evs.is_empty() {
                let ser: Vec<(i64, String)> = evs
                    .iter()
                    .map(|e| (e.time, e.to_json().to_json()))
                    .collect();
                let d = write_log_file(&mut sink, &mut rng, st, t, &ser)?;
                files += 1;
                events += ser.len() as u64;
                delivered.push((t, d));
            }
            t = t1;
        }
        if st.org.is_none()
            && w.streams.iter().position(|s| s.account == stream.account) == Some(si)
        {
            for day in 0..days {
                let (s, e) = (w.day(day), w.day(day + 1));
                let files: Vec<Delivered> = delivered
                    .iter()
                    .filter(|(t, _)| *t >= s && *t < e)
                    .map(|(_, d)| d.clone())
                    .collect();
                let bucket = format!("{}-cloudtrail-logs", st.account);
                write_digest(&mut sink, &mut rng, st, &bucket, s, e, &files)?;
            }
        }
        trails.push((
            st.account.clone(),
            st.region.clone(),
            st.org.clone(),
            files,
            events,
        ));
    }

    // ---- labels
    let mut attack_labels = ns.labels;
    attack_labels.extend(ts.labels);
    labels::number(&mut attack_labels, "A");
    let mut benign = ns.benign;
    benign.extend(ts.benign);
    labels::number(&mut benign, "B");
    let dataset = format!(
        "flowtrail unseen scenario (seed {}): {} accounts, {} flow logs, {} CloudTrail streams, {} to {}",
        spec.seed,
        w.accounts.len(),
        n_fl,
        w.streams.len(),
        rfc3339(w.d0),
        rfc3339(end)
    );
    let bytes = labels::write(
        &out.join("scenarios"),
        &dataset,
        &attack_labels,
        &benign,
        &w.fleet,
    )?;
    sink.stats.other_files += 3;
    sink.stats.disk_bytes += bytes;
    Ok(ScenarioReport {
        stats: sink.stats,
        flow_logs: reports,
        trails,
        labels: attack_labels,
        start: rfc3339(w.d0),
    })
}
