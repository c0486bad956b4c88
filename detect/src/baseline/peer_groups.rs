//! What the warm members of each peer group know, gathered once per closed hour: their
//! expectations at that hour of day (sorted, for the median), the remote ports they reached
//! (counted) and the members themselves (for the networks in their Bloom filters).
//!
//! Judging an entity against its group then costs the group's size at most, not the fleet's:
//! scanning every profile for every entity, and again for every external peer of every
//! entity, made a close grow with the square of the fleet (`benches/fleet.rs`). Each
//! question leaves the entity being judged out, as a scan that skipped it did.

use std::collections::HashMap;

use super::bloom::Bloom;
use super::hourly::Map;
use super::{BaselineOptions, GroupKey, Profile};

/// One group's warm members at the hour of day being judged.
#[derive(Debug, Default)]
struct Members<'a> {
    /// (entity, profile) of every warm member.
    warm: Vec<(&'a str, &'a Profile)>,
    /// (mean, spread) of the members with an expectation at this hour, sorted by mean.
    expected: Vec<(f32, f32)>,
    /// The two largest spreads in `expected`, never below 0.
    top_spread: [f32; 2],
    /// Remote port → how many times the warm members list it.
    ports: Map<i32, u32>,
}

impl<'a> Members<'a> {
    fn add(&mut self, entity: &'a str, p: &'a Profile, h: usize) {
        self.warm.push((entity, p));
        if let Some((mean, spread)) = p.expected(h) {
            self.expected.push((mean, spread));
            let [a, b] = &mut self.top_spread;
            if spread > *a {
                *b = *a;
                *a = spread;
            } else if spread > *b {
                *b = spread;
            }
        }
        for port in &p.ports {
            *self.ports.entry(*port).or_default() += 1;
        }
    }
}

/// The peer groups of the warm profiles at one hour of day.
#[derive(Debug)]
pub(super) struct PeerGroups<'a> {
    opts: &'a BaselineOptions,
    h: usize,
    clusters: Map<u32, Members<'a>>,
    nets: HashMap<&'a str, Members<'a>, foldhash::fast::RandomState>,
}

/// The entity being judged, left out of its group's answers.
#[derive(Debug, Clone, Copy)]
pub(super) struct Judging<'p> {
    /// Its id.
    pub entity: &'p str,
    /// Its profile, if it has one.
    pub profile: Option<&'p Profile>,
}

impl<'a> PeerGroups<'a> {
    /// Gather the warm profiles at hour of day `h`.
    pub fn build(
        profiles: &'a HashMap<String, Profile>,
        opts: &'a BaselineOptions,
        h: usize,
    ) -> Self {
        let mut g = Self {
            opts,
            h,
            clusters: Map::default(),
            nets: HashMap::default(),
        };
        for (k, p) in profiles.iter().filter(|(_, p)| p.warm(opts)) {
            if let Some(c) = p.cluster {
                g.clusters.entry(c).or_default().add(k, p, h);
            }
            if let Some(net) = p.group.as_deref() {
                g.nets.entry(net).or_default().add(k, p, h);
            }
        }
        for m in g.clusters.values_mut().chain(g.nets.values_mut()) {
            m.expected.sort_by(|a, b| a.0.total_cmp(&b.0));
        }
        g
    }

    fn members(&self, group: GroupKey<'_>) -> Option<&Members<'a>> {
        match group {
            GroupKey::Cluster(c) => self.clusters.get(&c),
            GroupKey::Net(n) => self.nets.get(n),
        }
    }

    /// The judged entity's profile when it is itself a warm member of `group`.
    fn own<'p>(&self, group: GroupKey<'_>, who: Judging<'p>) -> Option<&'p Profile> {
        who.profile.filter(|p| p.warm(self.opts) && group.has(p))
    }

    /// The group's expectation from its other warm members: the median mean and the largest
    /// spread, or None when fewer than two have one.
    pub fn expected(&self, group: GroupKey<'_>, who: Judging<'_>) -> Option<(f32, f32)> {
        let m = self.members(group)?;
        let own = self.own(group, who).and_then(|p| p.expected(self.h));
        let n = m.expected.len() - usize::from(own.is_some());
        if n < 2 {
            return None;
        }
        let k = n / 2;
        let (mid, spread) = match own {
            None => (m.expected.get(k)?.0, m.top_spread[0]),
            Some((mean, spread)) => {
                // The list without one entry equal to the entity's own.
                let at = m.expected.partition_point(|e| e.0.total_cmp(&mean).is_lt());
                let mid = m.expected.get(if k < at { k } else { k + 1 })?.0;
                let top = m.top_spread;
                (mid, if spread == top[0] { top[1] } else { top[0] })
            }
        };
        Some((mid, spread))
    }

    /// Whether the group has a warm member besides the entity.
    pub fn any_warm(&self, group: GroupKey<'_>, who: Judging<'_>) -> bool {
        self.members(group)
            .is_some_and(|m| m.warm.len() > usize::from(self.own(group, who).is_some()))
    }

    /// Whether another warm member reached remote port `port`.
    pub fn knows_port(&self, group: GroupKey<'_>, port: i32, who: Judging<'_>) -> bool {
        let Some(m) = self.members(group) else {
            return false;
        };
        let all = m.ports.get(&port).copied().unwrap_or(0) as usize;
        let own = self
            .own(group, who)
            .map_or(0, |p| p.ports.iter().filter(|x| **x == port).count());
        all > own
    }

    /// Whether another warm member reached network `net`.
    pub fn knows_net(&self, group: GroupKey<'_>, net: &str, who: Judging<'_>) -> bool {
        let Some(m) = self.members(group) else {
            return false;
        };
        let probe = Bloom::probe(net.as_bytes());
        m.warm
            .iter()
            .any(|(k, p)| *k != who.entity && p.peers.contains_probe(&probe))
    }
}

#[cfg(test)]
mod tests {
    use flowtrail_core::EntityKind;
    use proptest::prelude::*;

    use super::*;

    /// One profile: (cluster, subnet, hours, values at the judged hour, ports, networks).
    type Spec = (Option<u32>, Option<bool>, u32, Vec<u8>, Vec<i32>, Vec<u8>);

    fn profiles(specs: &[Spec], h: usize) -> HashMap<String, Profile> {
        let mut out = HashMap::new();
        for (i, (cluster, net, hours, xs, ports, nets)) in specs.iter().enumerate() {
            let group = net.map(|a| if a { "subnet-a" } else { "subnet-b" }.to_string());
            let mut p = Profile::new(EntityKind::Instance, group, 0);
            p.cluster = *cluster;
            p.hours = *hours;
            for x in xs {
                p.out_by_hour[h].push(f32::from(*x));
            }
            p.ports.clone_from(ports);
            for n in nets {
                p.peers.insert(format!("52.{n}").as_bytes());
            }
            out.insert(format!("i-{i}"), p);
        }
        out
    }

    /// The scans the index replaces: every profile, the judged entity skipped.
    fn scan_expected(
        ps: &HashMap<String, Profile>,
        o: &BaselineOptions,
        g: GroupKey<'_>,
        h: usize,
        skip: &str,
    ) -> Option<(f32, f32)> {
        let mut means: Vec<(f32, f32)> = ps
            .iter()
            .filter(|(k, p)| k.as_str() != skip && g.has(p) && p.warm(o))
            .filter_map(|(_, p)| p.expected(h))
            .collect();
        if means.len() < 2 {
            return None;
        }
        means.sort_by(|a, b| a.0.total_cmp(&b.0));
        let spread = means.iter().map(|m| m.1).fold(0.0, f32::max);
        Some((means[means.len() / 2].0, spread))
    }

    fn scan_knows(
        ps: &HashMap<String, Profile>,
        o: &BaselineOptions,
        g: GroupKey<'_>,
        (net, port): (&str, i32),
        skip: &str,
    ) -> (bool, bool, bool) {
        let others = || {
            ps.iter()
                .filter(move |(k, p)| k.as_str() != skip && g.has(p) && p.warm(o))
        };
        (
            others().any(|(_, p)| p.peers.contains(net.as_bytes())),
            others().any(|(_, p)| p.ports.contains(&port)),
            others().next().is_some(),
        )
    }

    fn spec() -> impl Strategy<Value = Spec> {
        (
            prop::option::of(0u32..3),
            prop::option::of(any::<bool>()),
            prop_oneof![Just(3u32), Just(24), Just(30)],
            prop::collection::vec(0u8..4, 0..4),
            prop::collection::vec(0i32..5, 0..4),
            prop::collection::vec(0u8..5, 0..3),
        )
    }

    proptest! {
        #[test]
        fn answers_as_a_scan_of_every_profile(specs in prop::collection::vec(spec(), 0..24)) {
            let (o, h) = (BaselineOptions::default(), 5);
            let ps = profiles(&specs, h);
            let idx = PeerGroups::build(&ps, &o, h);
            let keys = (0..3).map(GroupKey::Cluster)
                .chain([GroupKey::Net("subnet-a"), GroupKey::Net("subnet-b")]);
            for g in keys {
                for i in 0..=specs.len() {
                    let entity = format!("i-{i}");
                    let who = Judging { entity: &entity, profile: ps.get(&entity) };
                    prop_assert_eq!(idx.expected(g, who), scan_expected(&ps, &o, g, h, &entity));
                    for (net, port) in [("52.0", 0), ("52.3", 2), ("52.4", 4)] {
                        let want = scan_knows(&ps, &o, g, (net, port), &entity);
                        let got = (
                            idx.knows_net(g, net, who),
                            idx.knows_port(g, port, who),
                            idx.any_warm(g, who),
                        );
                        prop_assert_eq!(got, want);
                    }
                }
            }
        }
    }
}
