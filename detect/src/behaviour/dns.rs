//! `rogue_dns_resolver`: DNS (port 53) from an instance to a resolver that is neither the
//! VPC's nor one the operator declared, one hour at a time.
//!
//! The VPC resolver (base + 2 of a VPC block in `vpc_cidrs`, and 169.254.169.253) is always
//! fine; flow logs do not even record traffic to it. A public resolver is judged always
//! (queries to 8.8.8.8 bypass the VPC's DNS logging and firewall, and are how DNS tunnels
//! leave). A private resolver is judged only once the operator has declared resolvers
//! (`dns_resolvers`): without that list a corporate resolver over VPN cannot be told from
//! anything else. A declared resolver may itself query anything (it forwards).
//! Medium: often a misconfiguration, sometimes malware with its own resolver or a tunnel.

use std::collections::BTreeMap;
use std::net::IpAddr;

use flowtrail_core::alert::StaticAttack;
use flowtrail_core::{Finding, Severity};

use super::config::Compiled;
use super::hour::{Contact, Hour, Key};

/// Detector id.
pub const DETECTOR: &str = "rogue_dns_resolver";
/// Command and Control (TA0011) over DNS (T1071.004); Exfiltration (TA0010) Over Alternative
/// Protocol (T1048).
pub const ATTACK: StaticAttack = StaticAttack {
    tactics: &["TA0011", "TA0010"],
    techniques: &["T1071.004", "T1048"],
};

fn judged(h: &Hour, c: &Compiled, k: &Key, external: bool) -> bool {
    if k.2 != 53 {
        return false;
    }
    let (Ok(client), Ok(server)) = (h.addr(k.0).parse::<IpAddr>(), h.addr(k.1).parse::<IpAddr>())
    else {
        return false;
    };
    if c.known_resolver(&server) || c.known_resolver(&client) {
        return false;
    }
    external || !c.resolvers.is_empty()
}

/// Judge the hour's DNS contacts.
pub fn close_hour(h: &Hour, c: &Compiled) -> Vec<Finding> {
    let mut hits: BTreeMap<(&str, &str), (&Key, &Contact, bool)> = BTreeMap::new();
    for (map, external) in [(&h.external, true), (&h.internal, false)] {
        for (k, contact) in map {
            if judged(h, c, k, external) {
                hits.insert((h.addr(k.0), h.addr(k.1)), (k, contact, external));
            }
        }
    }
    hits.into_iter()
        .map(|((client, server), (k, contact, external))| {
            let who = h.who(k.0, contact);
            let kind = if external { "public" } else { "undeclared private" };
            super::finding(
                DETECTOR,
                ATTACK,
                Severity::Medium,
                &who,
                format!(
                    "{} sent DNS to {server}, a {kind} resolver that is neither the VPC's nor a declared one ({} records, {})",
                    who.id,
                    contact.records,
                    crate::baseline::human_bytes(contact.bytes)
                ),
                format!("{}|{server}", who.id),
                (contact.first_ms, contact.last_ms),
                serde_json::json!({
                    "client": client, "resolver": server, "public": external,
                    "records": contact.records, "bytes": contact.bytes,
                }),
            )
        })
        .collect()
}
