//! `crypto_mining`: an instance holding a long connection to a cryptocurrency mining pool,
//! one hour at a time (no state).
//!
//! A pool is recognised by its port (stratum's usual ones, `mining_ports`) or its address
//! (`mining_pools`). On a pool port, one connection (a client port) must last at least
//! `mining_min_minutes` within the hour: a miner keeps its session open for hours, while a
//! developer tool or a short test on 4444 or 5555 does not. A declared pool address alerts at
//! any duration. Only public servers count (5555 inside the VPC is someone's service).
//! High: the instance's compute is being used by someone else. Mining over 443 to an
//! undeclared pool is not seen here (`volume_spike` and `c2_beaconing` may see it).

use std::collections::BTreeMap;
use std::net::IpAddr;

use flowtrail_core::alert::StaticAttack;
use flowtrail_core::{Finding, Severity};

use super::config::Compiled;
use super::hour::Hour;

/// Detector id.
pub const DETECTOR: &str = "crypto_mining";
/// Impact (TA0040): Resource Hijacking (T1496), Compute Hijacking (T1496.001).
pub const ATTACK: StaticAttack = StaticAttack {
    tactics: &["TA0040"],
    techniques: &["T1496", "T1496.001"],
};

/// Judge the hour's external contacts.
pub fn close_hour(h: &Hour, c: &Compiled, min_minutes: u32) -> Vec<Finding> {
    let mut hits = BTreeMap::new();
    for (k, contact) in &h.external {
        let server = h.addr(k.1);
        let pool = server
            .parse::<IpAddr>()
            .is_ok_and(|ip| c.mining_pools.iter().any(|b| b.contains(&ip)));
        if !pool && !c.mining_ports.contains(&k.2) {
            continue;
        }
        let longest = contact
            .conns
            .values()
            .map(|x| (x.end_s - x.start_s).max(0))
            .max()
            .unwrap_or(0);
        if !pool && longest < i64::from(min_minutes) * 60 {
            continue;
        }
        hits.insert(
            (h.addr(k.0), server, k.2),
            (h.who(k.0, contact), contact, longest, pool),
        );
    }
    hits.into_iter()
        .map(|((client, server, port), (who, contact, longest, pool))| {
            let minutes = longest / 60;
            let why = if pool {
                "a known mining pool".to_string()
            } else {
                format!("port {port} is a mining-pool (stratum) port")
            };
            super::finding(
                DETECTOR,
                ATTACK,
                Severity::High,
                &who,
                format!(
                    "{} held a {minutes}-minute connection to {server}:{port}, {why}: cryptocurrency mining",
                    who.id
                ),
                format!("{}|{server}:{port}", who.id),
                (contact.first_ms, contact.last_ms),
                serde_json::json!({
                    "client": client, "remote": server, "remote_port": port,
                    "longest_connection_s": longest, "connections": contact.conns.len(),
                    "bytes": contact.bytes, "known_pool": pool,
                }),
            )
        })
        .collect()
}
