//! `lateral_movement` and `disallowed_tier_flow`: internal traffic between tiers.
//!
//! A *tier* is a tier the operator declared (named CIDR blocks), else the /24 of the address.
//! Every accepted internal flow between two different tiers is an edge (client tier, server
//! tier, service port, protocol); ports from 32768 up are one "high port" bucket, so
//! ephemeral-to-ephemeral traffic does not look new every hour.
//!
//! - `lateral_movement` is learned: the edges seen are remembered (at most [`MAX_PAIRS`]), and
//!   an edge never seen before, on a port its client tier never used towards any other tier,
//!   alerts once the client tier has been seen for the warm-up (a new tier, or a new subnet,
//!   learns its own edges first). A tier's habitual port reaching one more tier (a bastion's
//!   SSH, a monitoring scraper) is not a move; a web tier opening SSH to anything is. Learning is per tier, not per
//!   instance: a new instance of the app tier calling the database on the usual port is an
//!   edge the tier already knows. One alert per client per hour names its new edges.
//!   High on remote-administration ports (SSH, RDP, SMB, WinRM, VNC, Telnet, RPC), medium
//!   otherwise. Edges are learned once alerted: one alert per new edge.
//! - `disallowed_tier_flow` is declared: when the configuration allows tier-to-tier flows, an
//!   accepted flow between two different declared tiers that no allow entry covers alerts
//!   (high), from the first hour, and is not also reported as `lateral_movement`.
//!
//! Flows inside one tier (database replication, a cluster's members) are not judged.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use flowtrail_core::alert::StaticAttack;
use flowtrail_core::{Finding, Severity};

use super::config::Compiled;
use super::hour::{Hour, Who};
use super::net::default_tier;

/// Detector id: a tier reaching another on a port it never used.
pub const LATERAL: &str = "lateral_movement";
/// Detector id: an accepted flow the declared tier policy does not allow.
pub const DISALLOWED: &str = "disallowed_tier_flow";
/// Lateral Movement (TA0008): Remote Services (T1021), Exploitation of Remote Services
/// (T1210).
pub const ATTACK: StaticAttack = StaticAttack {
    tactics: &["TA0008"],
    techniques: &["T1021", "T1210"],
};
/// Edges remembered; past it, new edges are neither learned nor alerted.
pub const MAX_PAIRS: usize = 4096;
/// Ports from here up are one bucket.
pub const HIGH_PORT: i32 = 32768;
const ADMIN_PORTS: [i32; 10] = [22, 23, 135, 139, 445, 3389, 5900, 5985, 5986, 5022];

/// What the tiers have done, persisted.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TierPairs {
    /// Client tier → first hour it was seen (ms).
    tiers: BTreeMap<String, i64>,
    /// Known edges, `client>server:port/proto`.
    pairs: BTreeSet<String>,
    /// Service ports each client tier uses towards some other tier, `client:port/proto`.
    #[serde(default)]
    ports: BTreeSet<String>,
}

/// One client's judged edges in the hour.
#[derive(Debug, Default)]
struct Group {
    who: Option<Who>,
    client: String,
    src_tier: String,
    tiers: BTreeSet<String>,
    ports: BTreeSet<i32>,
    servers: BTreeSet<String>,
    bytes: u64,
    records: u64,
    first_ms: i64,
    last_ms: i64,
}

/// Servers remembered per finding (the count stops there).
const MAX_SERVERS: usize = 256;

fn port_key(port: i32, proto: i32) -> String {
    if port >= HIGH_PORT {
        format!("high/{proto}")
    } else {
        format!("{port}/{proto}")
    }
}

fn edge(st: &str, dt: &str, port: i32, proto: i32) -> String {
    format!("{st}>{dt}:{}", port_key(port, proto))
}

/// `client:port/proto` of an edge `client>server:port/proto`.
fn tier_port(edge: &str) -> Option<String> {
    let (st, rest) = edge.split_once('>')?;
    let (_, p) = rest.rsplit_once(':')?;
    Some(format!("{st}:{p}"))
}

impl TierPairs {
    /// Edges known.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// No edge known.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Judge the hour's internal edges, then learn them.
    pub fn close_hour(
        &mut self,
        hour_ms: i64,
        h: &Hour,
        c: &Compiled,
        warm_ms: i64,
    ) -> Vec<Finding> {
        if self.ports.is_empty() && !self.pairs.is_empty() {
            // State saved before the ports were kept.
            self.ports = self.pairs.iter().filter_map(|e| tier_port(e)).collect();
        }
        let mut lateral: BTreeMap<String, Group> = BTreeMap::new();
        let mut denied: BTreeMap<String, Group> = BTreeMap::new();
        let mut seen: Vec<(String, String, String)> = Vec::new();
        let mut placed = Placed::default();
        for (&(ci, si, port, proto), contact) in &h.internal {
            placed.place(h, c, ci);
            placed.place(h, c, si);
            let (Some(cp), Some(sp)) = (placed.get(ci), placed.get(si)) else {
                continue;
            };
            let (st, dt) = (&cp.tier, &sp.tier);
            if st == dt {
                continue;
            }
            let (client, server) = (h.addr(ci), h.addr(si));
            let e = edge(st, dt, port, proto);
            let tp = format!("{st}:{}", port_key(port, proto));
            let policy = !c.allow.is_empty()
                && cp.declared
                && sp.declared
                && !c.allowed(&cp.ip, st, &sp.ip, dt, port);
            let tier_warm = self
                .tiers
                .get(st)
                .is_some_and(|first| hour_ms >= first + warm_ms);
            // A port the tier already uses towards another tier is its habit (a bastion's SSH
            // reaching one more tier, a monitoring tier scraping one more), not a new move.
            let novel = !self.pairs.contains(&e)
                && !self.ports.contains(&tp)
                && tier_warm
                && self.pairs.len() < MAX_PAIRS;
            let target = if policy {
                Some(&mut denied)
            } else if novel {
                Some(&mut lateral)
            } else {
                None
            };
            if let Some(groups) = target {
                let g = groups.entry(client.to_string()).or_insert_with(|| Group {
                    who: Some(h.who(ci, contact)),
                    client: client.to_string(),
                    src_tier: st.to_string(),
                    first_ms: contact.first_ms,
                    last_ms: contact.last_ms,
                    ..Default::default()
                });
                g.ports.insert(port);
                g.tiers.insert(dt.to_string());
                if g.servers.len() < MAX_SERVERS {
                    g.servers.insert(server.to_string());
                }
                g.bytes += contact.bytes;
                g.records += contact.records;
                g.first_ms = g.first_ms.min(contact.first_ms);
                g.last_ms = g.last_ms.max(contact.last_ms);
            }
            seen.push((st.to_string(), e, tp));
        }
        seen.sort();
        for (st, e, tp) in seen {
            if self.tiers.len() < MAX_PAIRS {
                self.tiers.entry(st).or_insert(hour_ms);
            }
            if self.pairs.len() < MAX_PAIRS {
                self.pairs.insert(e);
                self.ports.insert(tp);
            }
        }
        let mut out: Vec<Finding> = denied
            .into_values()
            .map(|g| finding(DISALLOWED, g))
            .collect();
        out.extend(lateral.into_values().map(|g| finding(LATERAL, g)));
        out
    }
}

/// An address of the hour with its tier: the one the configuration declares, else its /24
/// (IPv6: /64).
struct Place {
    ip: IpAddr,
    tier: String,
    declared: bool,
}

/// The hour's addresses placed in their tiers, by address index: each address is parsed and
/// looked up once an hour, not once for every contact it has.
#[derive(Default)]
struct Placed(Vec<Option<Option<Place>>>);

impl Placed {
    /// Place address `i` of `h`, unless it is placed already (`None` inside when it does not
    /// parse).
    fn place(&mut self, h: &Hour, c: &Compiled, i: u32) {
        let i = i as usize;
        if self.0.len() <= i {
            self.0.resize_with(i + 1, || None);
        }
        if let Some(slot @ None) = self.0.get_mut(i) {
            *slot = Some(h.addr(i as u32).parse::<IpAddr>().ok().map(|ip| {
                let declared = c.tier_of(&ip);
                Place {
                    tier: declared.map_or_else(|| default_tier(&ip), str::to_string),
                    declared: declared.is_some(),
                    ip,
                }
            }));
        }
    }

    /// Address `i`'s place, when it was placed and parses.
    fn get(&self, i: u32) -> Option<&Place> {
        self.0.get(i as usize)?.as_ref()?.as_ref()
    }
}

/// `a, b, c` of at most `n` items, then `and N more`.
fn list<T: std::fmt::Display>(items: impl ExactSizeIterator<Item = T>, n: usize) -> String {
    let total = items.len();
    let mut out: Vec<String> = items.take(n).map(|x| x.to_string()).collect();
    if total > n {
        out.push(format!("and {} more", total - n));
    }
    out.join(", ")
}

fn finding(detector: &str, g: Group) -> Finding {
    let ports = list(g.ports.iter(), 8);
    let who = g.who.clone().unwrap_or_else(|| super::ip_who(&g.client));
    let hosts = match g.servers.len() {
        1 => g.servers.iter().next().cloned().unwrap_or_default(),
        n if n >= MAX_SERVERS => format!("{n}+ hosts"),
        n => format!("{n} hosts"),
    };
    let tiers = match g.tiers.len() {
        1 => g.tiers.iter().next().cloned().unwrap_or_default(),
        n => format!("{n} tiers ({})", list(g.tiers.iter(), 4)),
    };
    let (sev, title) = if detector == DISALLOWED {
        (
            Severity::High,
            format!(
                "{} ({}, tier {}) connected to {hosts} in {tiers} on port {ports}, which no allowed tier flow permits",
                who.id, g.client, g.src_tier
            ),
        )
    } else {
        let admin = g.ports.iter().any(|p| ADMIN_PORTS.contains(p));
        (
            if admin {
                Severity::High
            } else {
                Severity::Medium
            },
            format!(
                "{} ({}) reached {hosts} in {tiers} on port {ports}, which its tier {} had never used there",
                who.id, g.client, g.src_tier
            ),
        )
    };
    let servers: Vec<&String> = g.servers.iter().take(20).collect();
    let evidence = serde_json::json!({
        "client": g.client, "client_tier": g.src_tier, "server_tiers": g.tiers,
        "ports": g.ports, "servers": servers, "server_count": g.servers.len(),
        "bytes": g.bytes, "records": g.records,
    });
    super::finding(
        detector,
        ATTACK,
        sev,
        &who,
        title,
        who.id.clone(),
        (g.first_ms, g.last_ms),
        evidence,
    )
}
