//! Settings of the network-behaviour detectors (`[detection.network]` in the service config):
//! the operator's tiers and the tier-to-tier flows they allow, DNS resolvers besides the
//! VPC's, mining-pool ports and addresses, and thresholds. Written as strings (TOML), compiled
//! once into [`Compiled`]; [`BehaviourOptions::compile`] refuses what cannot be meant (an
//! allow rule naming an undeclared tier, a bad CIDR or port range) so a typo fails the start
//! instead of silently allowing or alerting.
//!
//! ```toml
//! [detection.network]
//! dns_resolvers = ["10.200.0.2"]           # corporate resolvers (private space is fine)
//! [[detection.network.tiers]]
//! name = "app"
//! cidrs = ["10.0.11.0/24", "10.0.12.0/24"]
//! [[detection.network.tiers]]
//! name = "db"
//! cidrs = ["10.0.21.0/24"]
//! [[detection.network.allow]]
//! from = "app"                             # a tier name or a CIDR block
//! to = "db"
//! ports = [5432, "6379-6380"]              # none: any port
//! ```

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use super::net::Cidr;
use crate::DetectError;

/// Options of the network-behaviour detectors.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BehaviourOptions {
    /// Hours of learning before `lateral_movement`, `c2_beaconing` and the volume detectors
    /// judge: from a client tier's first hour for its edges, from an instance's first hour for
    /// its known destinations and norms. Two days: an administrator's first session of the
    /// week, a day after the start, is not lateral movement.
    pub warmup_hours: u32,
    /// Named tiers (a tier is one or more CIDR blocks). Addresses in no tier are grouped by
    /// their /24.
    pub tiers: Vec<TierConfig>,
    /// Allowed tier-to-tier flows. When any is declared, an accepted flow between two
    /// different declared tiers that no entry allows is `disallowed_tier_flow`.
    pub allow: Vec<AllowFlow>,
    /// DNS resolvers besides the VPC's (addresses or CIDR blocks). When any is declared, DNS
    /// to any other private address is judged too; otherwise only public resolvers are.
    pub dns_resolvers: Vec<String>,
    /// VPC blocks whose resolver (base + 2) is allowed (169.254.169.253 always is).
    pub vpc_cidrs: Vec<String>,
    /// Remote ports of cryptocurrency mining pools (stratum).
    pub mining_ports: Vec<u16>,
    /// Known mining-pool addresses or blocks (any port).
    pub mining_pools: Vec<String>,
    /// `crypto_mining`: least duration of one connection to a pool, minutes.
    pub mining_min_minutes: u32,
    /// `c2_beaconing` thresholds.
    pub beacon: BeaconOptions,
    /// `dns_tunnel` and `slow_exfiltration` thresholds.
    pub volume: VolumeOptions,
}

/// `dns_tunnel` and `slow_exfiltration` thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VolumeOptions {
    /// `dns_tunnel`: least bytes sent to port 53 in an hour.
    pub dns_min_bytes: u64,
    /// `slow_exfiltration`: least ratio of an hour's bytes to the new network over the
    /// instance's usual hourly bytes to the internet.
    pub exfil_ratio: f32,
    /// `slow_exfiltration`: least bytes to the new network in each hour.
    pub exfil_min_hour_bytes: u64,
    /// `slow_exfiltration`: least hours in a row.
    pub exfil_min_hours: u32,
    /// `slow_exfiltration`: least bytes over those hours.
    pub exfil_min_bytes: u64,
}

impl Default for VolumeOptions {
    fn default() -> Self {
        Self {
            dns_min_bytes: 5_000_000,
            exfil_ratio: 3.0,
            exfil_min_hour_bytes: 1_000_000,
            exfil_min_hours: 4,
            exfil_min_bytes: 20_000_000,
        }
    }
}

/// `c2_beaconing` thresholds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BeaconOptions {
    /// Least consecutive hours of contact.
    pub min_hours: u32,
    /// Least connections over those hours.
    pub min_connections: u32,
    /// Most coefficient of variation (std / mean) of the intervals between connections.
    pub max_cv: f32,
    /// Most mean bytes per connection (a beacon is small).
    pub max_mean_bytes: u64,
    /// Shortest mean interval, seconds.
    pub min_interval_s: f32,
}

impl Default for BeaconOptions {
    fn default() -> Self {
        Self {
            min_hours: 6,
            min_connections: 24,
            max_cv: 0.25,
            max_mean_bytes: 64 * 1024,
            min_interval_s: 5.0,
        }
    }
}

impl Default for BehaviourOptions {
    fn default() -> Self {
        Self {
            warmup_hours: 48,
            tiers: Vec::new(),
            allow: Vec::new(),
            dns_resolvers: Vec::new(),
            vpc_cidrs: Vec::new(),
            mining_ports: vec![3333, 4444, 5555, 7777, 14433, 14444, 45560, 45700],
            mining_pools: Vec::new(),
            mining_min_minutes: 20,
            beacon: BeaconOptions::default(),
            volume: VolumeOptions::default(),
        }
    }
}

/// A named tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TierConfig {
    /// Name, used in allow rules and alert titles.
    pub name: String,
    /// Its blocks.
    pub cidrs: Vec<String>,
}

/// One allowed flow: from a tier or block, to a tier or block, on some ports.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowFlow {
    /// Client side: a declared tier's name or a CIDR block.
    pub from: String,
    /// Server side: a declared tier's name or a CIDR block.
    pub to: String,
    /// Service ports: numbers or `"lo-hi"` ranges; empty allows every port.
    #[serde(default)]
    pub ports: Vec<PortSpec>,
}

/// A port or a range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PortSpec {
    /// One port.
    One(u16),
    /// `"lo-hi"`.
    Range(String),
}

/// One side of an allow rule.
#[derive(Debug, Clone, PartialEq)]
pub enum Side {
    /// A declared tier.
    Tier(String),
    /// A block.
    Net(Cidr),
}

/// An allow entry, compiled: from, to, port ranges (empty: any port).
pub type AllowRule = (Side, Side, Vec<(i32, i32)>);

/// [`BehaviourOptions`] ready to use.
#[derive(Debug, Clone, Default)]
pub struct Compiled {
    /// Tier name and blocks, in declaration order.
    pub tiers: Vec<(String, Vec<Cidr>)>,
    /// The allow entries.
    pub allow: Vec<AllowRule>,
    /// Declared resolvers.
    pub resolvers: Vec<Cidr>,
    /// Resolvers that are always fine (the VPCs' base + 2, the link-local resolver).
    pub vpc_resolvers: Vec<IpAddr>,
    /// Mining-pool ports.
    pub mining_ports: BTreeSet<i32>,
    /// Mining-pool blocks.
    pub mining_pools: Vec<Cidr>,
}

fn bad(reason: String) -> DetectError {
    DetectError::Config {
        path: "[detection.network]".into(),
        reason,
    }
}

fn cidrs(list: &[String], what: &str) -> Result<Vec<Cidr>, DetectError> {
    list.iter()
        .map(|s| Cidr::parse(s).map_err(|e| bad(format!("{what}: {e}"))))
        .collect()
}

impl PortSpec {
    fn range(&self) -> Result<(i32, i32), String> {
        match self {
            PortSpec::One(p) => Ok((i32::from(*p), i32::from(*p))),
            PortSpec::Range(s) => {
                let parse = |x: &str| x.trim().parse::<u16>().ok();
                match s.split_once('-').map(|(a, b)| (parse(a), parse(b))) {
                    Some((Some(a), Some(b))) if a <= b => Ok((i32::from(a), i32::from(b))),
                    _ => Err(format!("port range {s:?} is not lo-hi")),
                }
            }
        }
    }
}

impl BehaviourOptions {
    /// Check and compile.
    pub fn compile(&self) -> Result<Compiled, DetectError> {
        let mut c = Compiled::default();
        let mut names = BTreeSet::new();
        for t in &self.tiers {
            if t.name.is_empty() || !names.insert(t.name.clone()) {
                return Err(bad(format!("tier name {:?} is empty or repeated", t.name)));
            }
            if t.cidrs.is_empty() {
                return Err(bad(format!("tier {:?} has no cidrs", t.name)));
            }
            c.tiers.push((
                t.name.clone(),
                cidrs(&t.cidrs, &format!("tier {}", t.name))?,
            ));
        }
        let side = |s: &str| -> Result<Side, DetectError> {
            if names.contains(s) {
                return Ok(Side::Tier(s.to_string()));
            }
            Cidr::parse(s).map(Side::Net).map_err(|_| {
                bad(format!(
                    "allow: {s:?} is neither a declared tier nor a CIDR"
                ))
            })
        };
        for a in &self.allow {
            let ports = a
                .ports
                .iter()
                .map(|p| p.range().map_err(|e| bad(format!("allow: {e}"))))
                .collect::<Result<Vec<_>, _>>()?;
            c.allow.push((side(&a.from)?, side(&a.to)?, ports));
        }
        c.resolvers = cidrs(&self.dns_resolvers, "dns_resolvers")?;
        c.vpc_resolvers = cidrs(&self.vpc_cidrs, "vpc_cidrs")?
            .iter()
            .map(|b| b.base_plus(2))
            .collect();
        c.vpc_resolvers.push(IpAddr::from([169, 254, 169, 253]));
        c.vpc_resolvers
            .push(IpAddr::from([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x253]));
        c.mining_ports = self.mining_ports.iter().map(|p| i32::from(*p)).collect();
        c.mining_pools = cidrs(&self.mining_pools, "mining_pools")?;
        Ok(c)
    }
}

impl Compiled {
    /// The declared tier of an address.
    pub fn tier_of(&self, ip: &IpAddr) -> Option<&str> {
        self.tiers
            .iter()
            .find(|(_, blocks)| blocks.iter().any(|b| b.contains(ip)))
            .map(|(n, _)| n.as_str())
    }

    /// Whether an allow rule covers a flow from `src` (tier `st`) to `dst` (tier `dt`) on
    /// `port`.
    pub fn allowed(&self, src: &IpAddr, st: &str, dst: &IpAddr, dt: &str, port: i32) -> bool {
        let hit = |s: &Side, ip: &IpAddr, tier: &str| match s {
            Side::Tier(t) => t == tier,
            Side::Net(b) => b.contains(ip),
        };
        self.allow.iter().any(|(f, t, ports)| {
            hit(f, src, st)
                && hit(t, dst, dt)
                && (ports.is_empty() || ports.iter().any(|(lo, hi)| (*lo..=*hi).contains(&port)))
        })
    }

    /// Whether DNS to `ip` is to a resolver the operator or the VPC provides.
    pub fn known_resolver(&self, ip: &IpAddr) -> bool {
        self.vpc_resolvers.contains(ip) || self.resolvers.iter().any(|b| b.contains(ip))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(text: &str) -> Result<BehaviourOptions, String> {
        toml::from_str(text).map_err(|e| e.to_string())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn allow_rules_match_tiers_blocks_and_ports() -> Result<(), String> {
        let o = opts(
            r#"
            dns_resolvers = ["10.200.0.2"]
            [[tiers]]
            name = "app"
            cidrs = ["10.0.11.0/24"]
            [[tiers]]
            name = "db"
            cidrs = ["10.0.21.0/24"]
            [[allow]]
            from = "app"
            to = "db"
            ports = [5432, "6379-6380"]
            [[allow]]
            from = "10.0.1.216/32"
            to = "db"
            "#,
        )?;
        let c = o.compile().map_err(|e| e.to_string())?;
        let (app, db) = (ip("10.0.11.5"), ip("10.0.21.7"));
        assert_eq!(c.tier_of(&app), Some("app"));
        assert!(c.allowed(&app, "app", &db, "db", 5432));
        assert!(c.allowed(&app, "app", &db, "db", 6380));
        assert!(!c.allowed(&app, "app", &db, "db", 22));
        assert!(
            !c.allowed(&db, "db", &app, "app", 5432),
            "direction matters"
        );
        assert!(
            c.allowed(&ip("10.0.1.216"), "x", &db, "db", 22),
            "no ports: any"
        );
        assert!(c.known_resolver(&ip("10.200.0.2")));
        assert!(c.known_resolver(&ip("169.254.169.253")));
        assert!(!c.known_resolver(&ip("8.8.8.8")));
        Ok(())
    }

    #[test]
    fn typos_fail_the_start() -> Result<(), String> {
        for text in [
            "[[allow]]\nfrom = \"ap\"\nto = \"10.0.0.0/8\"",
            "[[tiers]]\nname = \"a\"\ncidrs = [\"10.0.0.0/40\"]",
            "[[tiers]]\nname = \"a\"\ncidrs = [\"10.0.0.0/8\"]\n[[allow]]\nfrom = \"a\"\nto = \"a\"\nports = [\"9-1\"]",
            "dns_resolvers = [\"resolver\"]",
        ] {
            assert!(opts(text)?.compile().is_err(), "{text}");
        }
        assert!(
            opts("allow_all = true").is_err(),
            "unknown keys are refused"
        );
        Ok(())
    }
}
