//! Addresses for the network-behaviour detectors: CIDR blocks (parsed once from the
//! configuration), the default tier of an address (its /24, or /64 for IPv6), and a stable
//! 32-bit hash of an address's /16 network for compact persisted state.

use std::net::IpAddr;

use crate::baseline::hourly::peer_net;

/// An IPv4 or IPv6 block, `10.0.0.0/16` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: u128,
    mask: u128,
    v6: bool,
}

fn bits(ip: &IpAddr) -> (u128, bool) {
    match ip {
        IpAddr::V4(v) => (u128::from(u32::from(*v)), false),
        IpAddr::V6(v) => (u128::from(*v), true),
    }
}

impl Cidr {
    /// Parse `a.b.c.d/n`, `a.b.c.d`, `x::y/n`; `Err` says what is wrong.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, len) = match s.split_once('/') {
            Some((a, l)) => (a.trim(), Some(l.trim())),
            None => (s.trim(), None),
        };
        let ip: IpAddr = a
            .parse()
            .map_err(|_| format!("{s:?} is not an address or CIDR block"))?;
        let (b, v6) = bits(&ip);
        let max = if v6 { 128 } else { 32 };
        let len: u32 = match len {
            None => max,
            Some(l) => l
                .parse()
                .ok()
                .filter(|l| *l <= max)
                .ok_or_else(|| format!("{s:?}: prefix length must be 0 to {max}"))?,
        };
        let mask = if len == 0 {
            0
        } else if v6 {
            u128::MAX << (128 - len)
        } else {
            u128::from(u32::MAX << (32 - len))
        };
        Ok(Self {
            net: b & mask,
            mask,
            v6,
        })
    }

    /// Whether `ip` is inside the block.
    pub fn contains(&self, ip: &IpAddr) -> bool {
        let (b, v6) = bits(ip);
        v6 == self.v6 && b & self.mask == self.net
    }

    /// The block's base address plus `n` (the VPC resolver is base + 2).
    pub fn base_plus(&self, n: u32) -> IpAddr {
        let v = self.net.wrapping_add(u128::from(n));
        if self.v6 {
            IpAddr::V6(v.into())
        } else {
            IpAddr::V4((v as u32).into())
        }
    }
}

/// The default tier of an internal address: its /24 (IPv4) or /64 (IPv6). Stable from one
/// hour to the next whichever interface logged the record (a subnet id is only known for the
/// logging side).
pub fn default_tier(ip: &IpAddr) -> String {
    match ip {
        IpAddr::V4(v) => {
            let o = v.octets();
            format!("{}.{}.{}.0/24", o[0], o[1], o[2])
        }
        IpAddr::V6(v) => {
            let s = v.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
    }
}

/// A stable hash of the /16 (IPv6: /48) network of `addr`, for small persisted sets.
pub fn net_hash(addr: &str) -> u32 {
    (xxhash_rust::xxh3::xxh3_64(peer_net(addr).as_bytes()) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn blocks_contain_their_addresses_only() -> Result<(), String> {
        let c = Cidr::parse("10.0.16.0/20")?;
        assert!(c.contains(&ip("10.0.31.255")));
        assert!(!c.contains(&ip("10.0.32.0")));
        assert!(!c.contains(&ip("::ffff:10.0.16.1")), "families differ");
        assert!(Cidr::parse("10.200.0.2")?.contains(&ip("10.200.0.2")));
        assert!(!Cidr::parse("10.200.0.2")?.contains(&ip("10.200.0.3")));
        assert!(Cidr::parse("0.0.0.0/0")?.contains(&ip("8.8.8.8")));
        assert!(Cidr::parse("fd00::/8")?.contains(&ip("fd12::1")));
        assert_eq!(Cidr::parse("10.1.0.0/16")?.base_plus(2), ip("10.1.0.2"));
        for bad in ["10.0.0.0/33", "10.0.0", "app", "10.0.0.0/x"] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn default_tier_is_the_slash_24() {
        assert_eq!(default_tier(&ip("10.0.11.198")), "10.0.11.0/24");
        assert_eq!(default_tier(&ip("fd00:1:2:3::9")), "fd00:1:2:3::/64");
        assert_eq!(net_hash("203.0.113.9"), net_hash("203.0.7.1"));
        assert_ne!(net_hash("203.0.113.9"), net_hash("203.1.113.9"));
    }
}
