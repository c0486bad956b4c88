//! Volume over hours, per instance: `dns_tunnel` and `slow_exfiltration`.
//!
//! - `dns_tunnel`: bytes sent to port 53 in an hour far above the instance's own norm (at
//!   least `dns_min_bytes`, 10x its usual and 4 standard deviations above it on a log scale).
//!   Queries to the VPC resolver are not in flow logs, so an instance that only uses it has a
//!   norm of zero: megabytes to any resolver it can be seen reaching is the signal.
//! - `slow_exfiltration`: hours in a row, each sending one *new* external network (/16) at
//!   least `exfil_ratio` times the instance's usual hourly bytes out to the internet (and at
//!   least `exfil_min_hour_bytes`), for `exfil_min_hours` hours and `exfil_min_bytes` in all.
//!   Each hour stays under `volume_spike`'s 10x; the sum is what gives it away. A network is
//!   known once reached during the warm-up, or lightly (below the hourly threshold) later: a
//!   nightly backup to its usual bucket is known, and a new backup target sends one heavy hour
//!   a night, not hours in a row. One trail is followed per instance: the heaviest new
//!   network; a quiet hour ends it.
//!
//! State per instance: two running statistics, at most [`MAX_KNOWN`] known networks (32-bit
//! hashes) and one trail, well under 1 KiB of JSON. Hours of an instance being followed are
//! learned after they are judged; bytes of an active trail are not learned as normal.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use flowtrail_core::alert::StaticAttack;
use flowtrail_core::{Finding, Severity};

use super::config::VolumeOptions;
use super::hour::{Hour, Who};
use super::net::net_hash;
use crate::baseline::human_bytes;
use crate::baseline::stats::Ewma;
use crate::explain::band::{Band, Basis};

/// Detector id: DNS volume far above the instance's norm.
pub const DNS_TUNNEL: &str = "dns_tunnel";
/// Detector id: hours of a few times the usual bytes to one new network.
pub const SLOW_EXFIL: &str = "slow_exfiltration";
/// `dns_tunnel`: Command and Control (TA0011) over DNS (T1071.004), Exfiltration (TA0010)
/// Over Unencrypted Non-C2 Protocol (T1048.003).
pub const DNS_TUNNEL_ATTACK: StaticAttack = StaticAttack {
    tactics: &["TA0011", "TA0010"],
    techniques: &["T1071.004", "T1048.003"],
};
/// `slow_exfiltration`: Exfiltration (TA0010): Data Transfer Size Limits (T1030), Over
/// Alternative Protocol (T1048).
pub const SLOW_EXFIL_ATTACK: StaticAttack = StaticAttack {
    tactics: &["TA0010"],
    techniques: &["T1030", "T1048"],
};
/// Known networks per instance.
pub const MAX_KNOWN: usize = 32;
const FORGET_MS: i64 = 30 * 24 * 3_600_000;

/// A new network receiving heavy hours in a row.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Trail {
    /// Hash of the network.
    pub net: u32,
    /// Its busiest address.
    pub remote: String,
    /// Its port.
    pub port: i32,
    /// First hour (ms).
    pub since_ms: i64,
    /// Last hour (ms).
    pub hour_ms: i64,
    /// Hours in a row.
    pub hours: u32,
    /// Bytes sent.
    pub bytes: u64,
    /// Already alerted.
    pub alerted: bool,
}

/// One instance's volume profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Volume {
    /// Hours seen.
    pub hours: u32,
    /// Last hour seen (ms).
    pub last_ms: i64,
    /// ln(1 + bytes sent to port 53) per hour.
    pub dns: Ewma,
    /// ln(1 + bytes sent to the internet) per hour.
    pub ext: Ewma,
    /// Hashes of known external networks.
    pub known: Vec<u32>,
    /// The new network followed, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trail: Option<Trail>,
}

/// Every instance's volume profile.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct VolumeState {
    entities: BTreeMap<String, Volume>,
}

/// One instance's hour.
#[derive(Debug, Default)]
struct Agg {
    who: Option<Who>,
    first_ms: i64,
    last_ms: i64,
    dns: u64,
    ext: u64,
    /// Network hash → (bytes out, busiest address, its bytes, its port).
    nets: BTreeMap<u32, (u64, String, u64, i32)>,
}

fn ln1p(x: u64) -> f32 {
    (x as f64).ln_1p() as f32
}

fn aggregate(h: &Hour) -> BTreeMap<String, Agg> {
    let mut out: BTreeMap<String, Agg> = BTreeMap::new();
    for (map, external) in [(&h.external, true), (&h.internal, false)] {
        for (k, c) in map {
            let who = h.who(k.0, c);
            let a = out.entry(who.id.clone()).or_insert_with(|| Agg {
                first_ms: c.first_ms,
                last_ms: c.last_ms,
                ..Default::default()
            });
            a.who.get_or_insert(who);
            a.first_ms = a.first_ms.min(c.first_ms);
            a.last_ms = a.last_ms.max(c.last_ms);
            if k.2 == 53 {
                a.dns += c.bytes_out;
            }
            if external {
                a.ext += c.bytes_out;
                let remote = h.addr(k.1);
                let n = a.nets.entry(net_hash(remote)).or_default();
                n.0 += c.bytes_out;
                if c.bytes_out > n.2 || n.1.is_empty() {
                    *n = (n.0, remote.to_string(), c.bytes_out, k.2);
                }
            }
        }
    }
    out
}

impl VolumeState {
    /// One instance's profile.
    pub fn get(&self, id: &str) -> Option<&Volume> {
        self.entities.get(id)
    }

    /// Judge the hour, then learn it.
    pub fn close_hour(
        &mut self,
        hour_ms: i64,
        h: &Hour,
        o: &VolumeOptions,
        warmup_hours: u32,
    ) -> Vec<Finding> {
        let mut out = Vec::new();
        for (id, a) in aggregate(h) {
            let v = self.entities.entry(id).or_default();
            let warm = v.hours >= warmup_hours;
            let usual = (v.ext.mean as f64).exp_m1().max(0.0) as u64;
            let threshold = o
                .exfil_min_hour_bytes
                .max((usual as f64 * f64::from(o.exfil_ratio)) as u64);
            let Some(who) = &a.who else { continue };
            if warm {
                out.extend(dns_tunnel(v, &a, who, o));
                out.extend(follow(v, &a, who, o, hour_ms, threshold));
            }
            learn(v, &a, warm, hour_ms, threshold);
        }
        self.entities.retain(|_, v| v.last_ms + FORGET_MS > hour_ms);
        out
    }
}

/// UTC hour of day of `ms`.
fn hour_of_day(ms: i64) -> u32 {
    (ms.div_euclid(3_600_000).rem_euclid(24)) as u32
}

fn dns_tunnel(v: &Volume, a: &Agg, who: &Who, o: &VolumeOptions) -> Option<Finding> {
    let x = ln1p(a.dns);
    let usual = (v.dns.mean as f64).exp_m1().max(0.0) as u64;
    let ratio = ((x - v.dns.mean) as f64).exp();
    if a.dns < o.dns_min_bytes || ratio < 10.0 || x <= v.dns.mean + 4.0 * v.dns.std().max(0.5) {
        return None;
    }
    Some(super::finding(
        DNS_TUNNEL,
        DNS_TUNNEL_ATTACK,
        Severity::High,
        who,
        format!(
            "{} sent {} of DNS in an hour, usually {}: DNS tunnelling",
            who.id,
            human_bytes(a.dns),
            human_bytes(usual)
        ),
        format!("{}|dns", who.id),
        (a.first_ms, a.last_ms),
        serde_json::json!({"dns_bytes_out": a.dns, "usual_dns_bytes_out": usual,
            "band": Band::from_log_model(
                hour_of_day(a.first_ms),
                (v.dns.mean, v.dns.std().max(0.5)),
                4.0,
                a.dns,
                "dns_bytes_out_per_hour",
                Basis::Instance,
            ).to_json()}),
    ))
}

/// Extend, end or start the instance's trail; a finding when it is long enough.
fn follow(
    v: &mut Volume,
    a: &Agg,
    who: &Who,
    o: &VolumeOptions,
    hour_ms: i64,
    threshold: u64,
) -> Option<Finding> {
    let heavy = |net: &u32| a.nets.get(net).filter(|n| n.0 >= threshold);
    if let Some(t) = v.trail.as_mut() {
        match heavy(&t.net) {
            Some(n) if t.hour_ms < hour_ms => {
                t.hours += 1;
                t.bytes += n.0;
                t.hour_ms = hour_ms;
            }
            _ => {
                // A quiet hour: the network was a one-off, now known.
                if v.known.len() < MAX_KNOWN && !v.known.contains(&t.net) {
                    v.known.push(t.net);
                }
                v.trail = None;
            }
        }
    }
    if v.trail.is_none() {
        let start = a
            .nets
            .iter()
            .filter(|(net, n)| !v.known.contains(net) && n.0 >= threshold)
            .max_by_key(|(_, n)| n.0);
        v.trail = start.map(|(net, n)| Trail {
            net: *net,
            remote: n.1.clone(),
            port: n.3,
            since_ms: hour_ms,
            hour_ms,
            hours: 1,
            bytes: n.0,
            alerted: false,
        });
    }
    let t = v.trail.as_mut()?;
    if t.alerted || t.hours < o.exfil_min_hours || t.bytes < o.exfil_min_bytes {
        return None;
    }
    t.alerted = true;
    let usual = (v.ext.mean as f64).exp_m1().max(0.0) as u64;
    Some(super::finding(
        SLOW_EXFIL,
        SLOW_EXFIL_ATTACK,
        Severity::High,
        who,
        format!(
            "{} sent {} to {}:{} over {} hours in a row, each hour several times its usual {} to the internet, a network it never used: slow exfiltration",
            who.id,
            human_bytes(t.bytes),
            t.remote,
            t.port,
            t.hours,
            human_bytes(usual)
        ),
        format!("{}|{}", who.id, t.remote),
        (t.since_ms, a.last_ms),
        serde_json::json!({
            "remote": t.remote, "remote_port": t.port, "hours": t.hours, "bytes_out": t.bytes,
            "usual_hourly_bytes_out": usual, "hourly_threshold": threshold,
            "band": Band::from_threshold(
                hour_of_day(hour_ms),
                (v.ext.mean, v.ext.std()),
                threshold,
                t.bytes / u64::from(t.hours.max(1)),
                "bytes_out_per_hour_to_the_network",
                Basis::Instance,
            ).to_json(),
        }),
    ))
}

fn learn(v: &mut Volume, a: &Agg, warm: bool, hour_ms: i64, threshold: u64) {
    v.hours = v.hours.saturating_add(1);
    v.last_ms = hour_ms;
    let trail = v
        .trail
        .as_ref()
        .and_then(|t| a.nets.get(&t.net))
        .map_or(0, |n| n.0);
    let mut dns = ln1p(a.dns);
    if warm {
        // Do not learn an attack as normal.
        dns = dns.min(v.dns.mean + 4.0 * v.dns.std().max(0.5));
    }
    v.dns.push(dns);
    v.ext.push(ln1p(a.ext.saturating_sub(trail)));
    for (net, n) in &a.nets {
        if v.known.len() >= MAX_KNOWN {
            break;
        }
        if (!warm || n.0 < threshold) && !v.known.contains(net) {
            v.known.push(*net);
        }
    }
}
