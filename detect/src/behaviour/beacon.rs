//! `c2_beaconing`: an instance opening small connections to one new external address at a
//! regular interval for hours, judged by periodicity, not volume.
//!
//! Arrivals are connection starts (a new client port is a new connection; one long
//! connection is one arrival, so a persistent session does not look periodic at the flow
//! log's aggregation interval). Starts within 2 s of the previous one are one burst. For each
//! (instance, address, port) the intervals between arrivals are folded, hour after hour, into
//! a running mean and variance (Welford); an interval close to a multiple of the mean (a
//! missed beacon) counts as that many intervals. A pair alerts once when it has been in
//! contact every hour for `min_hours`, with at least `min_connections` connections, a
//! coefficient of variation of the intervals at most `max_cv` and a small mean size per
//! connection. A gap of an hour ends the streak (the pair is forgotten).
//!
//! Not beaconing: destinations the instance reached during its own warm-up (a monitoring
//! agent or health check polling a long-known SaaS endpoint every 60 s: the /16 is known),
//! destinations that at least [`POPULAR`] instances reach in the same hour (a fleet-wide
//! agent), and NTP (periodic by design, pools rotate).
//!
//! State is bounded per instance: at most [`MAX_KNOWN`] known networks (32-bit hashes of
//! their /16) and [`MAX_PAIRS`] pairs being followed (about 3 KiB of JSON). When the pairs
//! are full, a stale or clearly irregular one makes room; otherwise the newcomer waits. New
//! pairs are admitted most connections first, then most regular. Instances not seen for [`FORGET_MS`] are dropped.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use flowtrail_core::alert::StaticAttack;
use flowtrail_core::{Finding, Severity};

use super::config::BeaconOptions;
use super::hour::{Contact, Hour, Key, Who};
use super::net::net_hash;

/// Detector id.
pub const DETECTOR: &str = "c2_beaconing";
/// Command and Control (TA0011): Application Layer Protocol (T1071), Non-Application Layer
/// Protocol (T1095).
pub const ATTACK: StaticAttack = StaticAttack {
    tactics: &["TA0011"],
    techniques: &["T1071", "T1095"],
};
/// Known networks per instance.
pub const MAX_KNOWN: usize = 64;
/// Pairs followed per instance.
pub const MAX_PAIRS: usize = 10;
/// Instances reaching one network in an hour that make it a fleet-wide agent's.
pub const POPULAR: usize = 3;
/// Instances unseen this long are forgotten.
pub const FORGET_MS: i64 = 30 * 24 * 3_600_000;
const HOUR_MS: i64 = 3_600_000;
const BURST_S: i64 = 2;

/// One (address, port) followed for an instance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    /// Remote address.
    pub dst: String,
    /// Remote port.
    pub port: i32,
    /// Protocol number.
    pub proto: i32,
    /// First hour of the streak (ms).
    pub since_ms: i64,
    /// Last hour with contact (ms).
    pub hour_ms: i64,
    /// Last connection start (s).
    pub last_s: i64,
    /// Hours in the streak.
    pub hours: u32,
    /// Intervals folded.
    pub n: u32,
    /// Mean interval (s).
    pub mean: f32,
    /// Sum of squared deviations (Welford).
    pub m2: f32,
    /// Connections.
    pub conns: u32,
    /// Bytes of those connections.
    pub bytes: u64,
    /// Already alerted in this streak.
    pub alerted: bool,
}

impl Pair {
    /// Coefficient of variation of the intervals.
    pub fn cv(&self) -> f32 {
        if self.n < 2 || self.mean <= 0.0 {
            return f32::INFINITY;
        }
        (self.m2 / self.n as f32).max(0.0).sqrt() / self.mean
    }

    fn push(&mut self, mut d: f32) {
        if self.n >= 5 && self.mean > 0.0 {
            let k = (d / self.mean).round();
            if k >= 2.0 && (d - k * self.mean).abs() <= 0.2 * self.mean {
                d /= k;
            }
        }
        self.n = self.n.saturating_add(1);
        let delta = d - self.mean;
        self.mean += delta / self.n as f32;
        self.m2 += delta * (d - self.mean);
    }

    /// Fold this hour's connection starts (sorted).
    fn fold(&mut self, starts: &[i64]) {
        let mut prev = (self.conns > 0).then_some(self.last_s);
        for &a in starts {
            match prev {
                Some(p) if a - p < BURST_S => continue,
                Some(p) => self.push((a - p) as f32),
                None => {}
            }
            prev = Some(a);
            self.conns = self.conns.saturating_add(1);
            self.last_s = a;
        }
    }
}

/// One instance's beaconing state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Beacons {
    /// First hour seen (ms).
    pub first_ms: i64,
    /// Last hour seen (ms).
    pub last_ms: i64,
    /// Hashes of networks reached during the warm-up.
    pub known: Vec<u32>,
    /// Pairs followed.
    pub pairs: Vec<Pair>,
}

/// Every instance's beaconing state.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct BeaconState {
    entities: BTreeMap<String, Beacons>,
}

/// The hour's external contacts of each instance.
type ByWho<'a> = BTreeMap<String, (Who, Vec<(&'a Key, &'a Contact)>)>;

/// The starts of a contact's connections, sorted, and their mean size.
fn arrivals(c: &Contact) -> (Vec<i64>, u64) {
    let mut s: Vec<i64> = c.conns.values().map(|k| k.start_s).collect();
    s.sort_unstable();
    let n = c.conns.len().max(1) as u64;
    (s, c.conns.values().map(|k| k.bytes).sum::<u64>() / n)
}

/// Coefficient of variation of one hour's intervals (bursts merged), if at least two.
fn hour_cv(starts: &[i64]) -> Option<f32> {
    let mut p = Pair::default();
    p.fold(starts);
    (p.n >= 2).then(|| p.cv())
}

impl BeaconState {
    /// Instances followed.
    pub fn len(&self) -> usize {
        self.entities.len()
    }

    /// None followed.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// One instance's state.
    pub fn get(&self, id: &str) -> Option<&Beacons> {
        self.entities.get(id)
    }

    /// Judge and learn the hour's external contacts.
    pub fn close_hour(
        &mut self,
        hour_ms: i64,
        h: &Hour,
        o: &BeaconOptions,
        warm_ms: i64,
    ) -> Vec<Finding> {
        let mut by_who: ByWho<'_> = BTreeMap::new();
        let mut reach: HashMap<u32, Vec<String>> = HashMap::new();
        for (k, c) in &h.external {
            let who = h.who(k.0, c);
            let r = reach.entry(net_hash(h.addr(k.1))).or_default();
            if !r.contains(&who.id) && r.len() < POPULAR {
                r.push(who.id.clone());
            }
            by_who
                .entry(who.id.clone())
                .or_insert_with(|| (who, Vec::new()))
                .1
                .push((k, c));
        }
        let mut out = Vec::new();
        for (id, (who, mut contacts)) in by_who {
            contacts.sort_by_key(|(k, _)| (h.addr(k.1), k.2, k.3));
            let st = self.entities.entry(id).or_insert_with(|| Beacons {
                first_ms: hour_ms,
                ..Default::default()
            });
            st.last_ms = hour_ms;
            if hour_ms < st.first_ms + warm_ms {
                for (k, _) in &contacts {
                    let n = net_hash(h.addr(k.1));
                    if st.known.len() < MAX_KNOWN && !st.known.contains(&n) {
                        st.known.push(n);
                    }
                }
                continue;
            }
            let mut fresh: Vec<(f32, &Key, Vec<i64>, u64)> = Vec::new();
            for (k, c) in contacts {
                let n = net_hash(h.addr(k.1));
                if k.2 == 123
                    || st.known.contains(&n)
                    || reach.get(&n).map_or(0, Vec::len) >= POPULAR
                {
                    continue;
                }
                let (starts, size) = arrivals(c);
                let dst = h.addr(k.1);
                match st
                    .pairs
                    .iter_mut()
                    .find(|p| p.dst == dst && p.port == k.2 && p.proto == k.3)
                {
                    Some(p) => update(p, hour_ms, &starts, size, c.conns.len()),
                    None => {
                        if let Some(cv) = hour_cv(&starts).filter(|cv| *cv <= 2.0 * o.max_cv) {
                            fresh.push((cv, k, starts, size));
                        }
                    }
                }
            }
            // Most evidence first (a pair must reach `min_connections`), then most regular.
            fresh.sort_by(|a, b| b.2.len().cmp(&a.2.len()).then(a.0.total_cmp(&b.0)));
            for (_, k, starts, size) in fresh {
                let Some(slot) = room(&mut st.pairs, hour_ms, o.max_cv) else {
                    break;
                };
                let mut p = Pair {
                    dst: h.addr(k.1).to_string(),
                    port: k.2,
                    proto: k.3,
                    since_ms: hour_ms,
                    ..Default::default()
                };
                update(&mut p, hour_ms, &starts, size, starts.len());
                match st.pairs.get_mut(slot) {
                    Some(old) => *old = p,
                    None => st.pairs.push(p),
                }
            }
            for p in st.pairs.iter_mut().filter(|p| p.hour_ms == hour_ms) {
                if judge(p, o) {
                    p.alerted = true;
                    out.push(finding(&who, p));
                }
            }
        }
        // A pair without contact this hour ends its streak; long-gone instances go.
        for b in self.entities.values_mut() {
            b.pairs.retain(|p| p.hour_ms >= hour_ms);
        }
        self.entities.retain(|_, b| b.last_ms + FORGET_MS > hour_ms);
        out
    }
}

fn update(p: &mut Pair, hour_ms: i64, starts: &[i64], size: u64, conns: usize) {
    if p.hour_ms + HOUR_MS < hour_ms {
        // Not seen last hour: a new streak.
        *p = Pair {
            dst: std::mem::take(&mut p.dst),
            port: p.port,
            proto: p.proto,
            since_ms: hour_ms,
            ..Default::default()
        };
    }
    if p.hour_ms != hour_ms {
        p.hours = p.hours.saturating_add(1);
    }
    p.hour_ms = hour_ms;
    let later: Vec<i64> = starts
        .iter()
        .copied()
        .filter(|s| p.conns == 0 || *s > p.last_s)
        .collect();
    p.fold(&later);
    p.bytes = p.bytes.saturating_add(size.saturating_mul(conns as u64));
}

/// A slot for a new pair: a free one, a stale one, or the most irregular one.
fn room(pairs: &mut [Pair], hour_ms: i64, max_cv: f32) -> Option<usize> {
    if pairs.len() < MAX_PAIRS {
        return Some(pairs.len());
    }
    if let Some(i) = pairs.iter().position(|p| p.hour_ms < hour_ms) {
        return Some(i);
    }
    pairs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.n >= 10 && p.cv() > 2.0 * max_cv)
        .max_by(|a, b| a.1.cv().total_cmp(&b.1.cv()))
        .map(|(i, _)| i)
}

fn judge(p: &Pair, o: &BeaconOptions) -> bool {
    let mean_bytes = p.bytes / u64::from(p.conns.max(1));
    !p.alerted
        && p.hours >= o.min_hours
        && p.conns >= o.min_connections
        && p.mean >= o.min_interval_s
        && p.cv() <= o.max_cv
        && mean_bytes <= o.max_mean_bytes
}

fn finding(who: &Who, p: &Pair) -> Finding {
    let cv = (p.cv() * 100.0).round() / 100.0;
    let web = matches!(p.port, 80 | 443 | 8080 | 8443);
    let evidence = serde_json::json!({
        "remote": p.dst, "remote_port": p.port, "protocol": p.proto,
        "interval_s": p.mean.round(), "cv": cv, "hours": p.hours, "connections": p.conns,
        "mean_bytes": p.bytes / u64::from(p.conns.max(1)),
    });
    super::finding(
        DETECTOR,
        ATTACK,
        if web {
            Severity::Medium
        } else {
            Severity::High
        },
        who,
        format!(
            "{} contacted {}:{} every {:.0} s for {} hours ({} small connections, a new destination): command-and-control beaconing",
            who.id, p.dst, p.port, p.mean, p.hours, p.conns
        ),
        format!("{}|{}:{}", who.id, p.dst, p.port),
        (p.since_ms, p.last_s.saturating_mul(1000)),
        evidence,
    )
}
