//! One hour of flows, aggregated per entity (the instance, or the ENI when the flow log has no
//! instance id): bytes/packets/flows in and out, distinct peers and ports, and the external
//! hosts the entity itself reached out to (for novelty).
//!
//! Direction: a record is written at one ENI; `flow-direction` says which side is local when
//! the format has it. Otherwise an address that is private on one side and public on the other
//! decides, and for private-to-private flows the ENI's own address (the one address present in
//! every record of the ENI, learned as records go by) decides. REJECTed records count for
//! nothing here: internet background scanning is not traffic of the instance.

use std::collections::{HashMap, HashSet};

/// Hash maps keyed by addresses and ids from the logs: foldhash, randomly seeded per process
/// (several times faster than SipHash here, and still not predictable by whoever sends the
/// traffic).
pub type Map<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
/// See [`Map`].
pub type Set<K> = HashSet<K, foldhash::fast::RandomState>;

use arrow::array::{Array, AsArray, PrimitiveArray, RecordBatch, StringArray};
use arrow::datatypes::{Int32Type, Int64Type, TimestampMillisecondType};

use flowtrail_core::EntityKind;
use flowtrail_core::schema::flows::col;

use crate::DetectError;
use crate::keep::Batches;

/// Whether an address is private (RFC 1918, CGNAT, link-local, IPv6 ULA/link-local).
pub fn is_private(a: &str) -> bool {
    if a.starts_with("10.") || a.starts_with("192.168.") || a.starts_with("169.254.") {
        return true;
    }
    let second = |rest: &str| -> u32 {
        rest.split('.')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    if let Some(rest) = a.strip_prefix("172.") {
        return (16..=31).contains(&second(rest));
    }
    if let Some(rest) = a.strip_prefix("100.") {
        return (64..=127).contains(&second(rest));
    }
    if a.contains(':') {
        let l = a.to_ascii_lowercase();
        return l.starts_with("fc") || l.starts_with("fd") || l.starts_with("fe80");
    }
    false
}

/// The /16 (IPv4) or /48 (IPv6) network of an address: the unit of "a peer" for novelty, so
/// a provider rotating addresses inside its range is not a new peer every hour. The address up
/// to its second `.` (IPv6: third `:`), or the whole address when it has fewer; a slice of it,
/// since it is asked for every external peer of every entity each hour.
pub fn peer_net(a: &str) -> &str {
    let (sep, keep) = if a.contains(':') { (':', 3) } else { ('.', 2) };
    match a.match_indices(sep).nth(keep - 1) {
        Some((end, _)) => &a[..end],
        None => a,
    }
}

/// One entity's hour.
#[derive(Debug, Clone, Default)]
pub struct HourAgg {
    /// Instance or ENI.
    pub kind: Option<EntityKind>,
    /// Account.
    pub account_id: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Peer group (subnet, or the /24 of the ENI's address).
    pub group: Option<String>,
    /// Bytes sent.
    pub bytes_out: u64,
    /// Bytes sent to external (public) addresses.
    pub ext_bytes_out: u64,
    /// Bytes received.
    pub bytes_in: u64,
    /// Packets either way.
    pub packets: u64,
    /// Accepted records.
    pub flows: u64,
    /// Distinct remote addresses.
    pub peers: Set<String>,
    /// Distinct local ports served and remote ports reached.
    pub ports: Set<i32>,
    /// External hosts this entity reached out to: remote address → (bytes out, remote port).
    pub ext_out: Map<String, (u64, i32)>,
    /// First and last event time (ms).
    pub first_ms: i64,
    /// Last event time (ms).
    pub last_ms: i64,
}

/// ENI → its own address, learned from records.
#[derive(Debug, Default)]
pub struct EniAddrs {
    cand: Map<String, (Option<String>, Option<String>)>,
}

impl EniAddrs {
    /// One record of `eni` between `src` and `dst`: an address not in it is not the ENI's.
    pub(crate) fn observe(&mut self, eni: &str, src: &str, dst: &str) {
        match self.cand.get_mut(eni) {
            None => {
                self.cand.insert(
                    eni.to_string(),
                    (Some(src.to_string()), Some(dst.to_string())),
                );
            }
            Some((a, b)) => {
                if a.as_deref().is_some_and(|x| x != src && x != dst) {
                    *a = None;
                }
                if b.as_deref().is_some_and(|x| x != src && x != dst) {
                    *b = None;
                }
            }
        }
    }

    /// The ENI's address when known (exactly one candidate left).
    pub fn addr(&self, eni: &str) -> Option<&str> {
        match self.cand.get(eni) {
            Some((Some(a), None)) | Some((None, Some(a))) => Some(a),
            Some((Some(a), Some(b))) if a == b => Some(a),
            _ => None,
        }
    }
}

/// A string column of `b` by name, when it is one.
pub(crate) fn s<'a>(b: &'a RecordBatch, name: &str) -> Option<&'a StringArray> {
    b.column_by_name(name)
        .and_then(|c| c.as_string_opt::<i32>())
}

/// Row `i` of a string column, when present and not null.
pub(crate) fn get(a: Option<&StringArray>, i: usize) -> Option<&str> {
    a.and_then(|a| if a.is_null(i) { None } else { Some(a.value(i)) })
}

/// Aggregate `batches` (flows schema) per entity, learning ENI addresses into `enis`.
/// Two passes: the ENIs' addresses first, then the records.
pub fn aggregate(
    batches: &(impl Batches + ?Sized),
    enis: &mut EniAddrs,
) -> Result<Map<String, HourAgg>, DetectError> {
    let mut out: Map<String, HourAgg> = Map::default();
    // Pass 1: learn ENI addresses.
    batches.visit(&mut |b| {
        let (eni, src, dst) = (
            s(b, col::INTERFACE_ID),
            s(b, col::SRCADDR),
            s(b, col::DSTADDR),
        );
        for i in 0..b.num_rows() {
            if let (Some(e), Some(x), Some(y)) = (get(eni, i), get(src, i), get(dst, i)) {
                enis.observe(e, x, y);
            }
        }
    })?;
    batches.visit(&mut |b| {
        let c = Cols::of(b);
        for i in 0..b.num_rows() {
            add_record(&mut out, &c, i, enis);
        }
    })?;
    Ok(out)
}

/// The flows columns aggregation reads (`None` when a batch lacks one).
struct Cols<'a> {
    inst: Option<&'a StringArray>,
    eni: Option<&'a StringArray>,
    src: Option<&'a StringArray>,
    dst: Option<&'a StringArray>,
    action: Option<&'a StringArray>,
    dir: Option<&'a StringArray>,
    subnet: Option<&'a StringArray>,
    acct: Option<&'a StringArray>,
    region: Option<&'a StringArray>,
    sport: Option<&'a PrimitiveArray<Int32Type>>,
    dport: Option<&'a PrimitiveArray<Int32Type>>,
    bytes: Option<&'a PrimitiveArray<Int64Type>>,
    pkts: Option<&'a PrimitiveArray<Int64Type>>,
    time: Option<&'a PrimitiveArray<TimestampMillisecondType>>,
}

impl<'a> Cols<'a> {
    fn of(b: &'a RecordBatch) -> Self {
        Self {
            inst: s(b, col::INSTANCE_ID),
            eni: s(b, col::INTERFACE_ID),
            src: s(b, col::SRCADDR),
            dst: s(b, col::DSTADDR),
            action: s(b, col::ACTION),
            dir: s(b, col::FLOW_DIRECTION),
            subnet: s(b, col::SUBNET_ID),
            acct: s(b, col::ACCOUNT_ID),
            region: s(b, col::REGION),
            sport: b
                .column_by_name(col::SRCPORT)
                .and_then(|c| c.as_primitive_opt::<Int32Type>()),
            dport: b
                .column_by_name(col::DSTPORT)
                .and_then(|c| c.as_primitive_opt::<Int32Type>()),
            bytes: b
                .column_by_name(col::BYTES)
                .and_then(|c| c.as_primitive_opt::<Int64Type>()),
            pkts: b
                .column_by_name(col::PACKETS)
                .and_then(|c| c.as_primitive_opt::<Int64Type>()),
            time: b
                .column_by_name(flowtrail_core::schema::EVENT_TIME)
                .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>()),
        }
    }
}

/// A count column's row `i`: null, negative or absent count as 0.
fn count(a: Option<&PrimitiveArray<Int64Type>>, i: usize) -> u64 {
    a.map(|v| {
        if v.is_null(i) {
            0
        } else {
            v.value(i).max(0) as u64
        }
    })
    .unwrap_or(0)
}

/// Whether the source address `x` of a record at ENI `e` is the local side (else `y` is):
/// `flow-direction` when present, then private vs public, then the ENI's learned address.
/// `None` when nothing decides.
fn local_is_src(dir: Option<&str>, e: &str, x: &str, y: &str, enis: &EniAddrs) -> Option<bool> {
    match dir {
        Some("egress") => Some(true),
        Some("ingress") => Some(false),
        _ => match (is_private(x), is_private(y)) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => match enis.addr(e) {
                Some(a) if a == x => Some(true),
                Some(a) if a == y => Some(false),
                _ => None,
            },
        },
    }
}

/// One accepted flow as its entity saw it.
struct Flow<'r> {
    local_is_src: bool,
    remote: &'r str,
    lport: i32,
    rport: i32,
    bytes: u64,
    packets: u64,
    t: i64,
}

/// Row `i` into its entity's aggregate; a REJECTed row, or one whose local side is unknown,
/// counts for nothing.
fn add_record(out: &mut Map<String, HourAgg>, c: &Cols<'_>, i: usize, enis: &EniAddrs) {
    if get(c.action, i) != Some("ACCEPT") {
        return;
    }
    let (Some(e), Some(x), Some(y)) = (get(c.eni, i), get(c.src, i), get(c.dst, i)) else {
        return;
    };
    let Some(local_is_src) = local_is_src(get(c.dir, i), e, x, y, enis) else {
        return;
    };
    let sport = c.sport.map(|p| p.value(i)).unwrap_or(0);
    let dport = c.dport.map(|p| p.value(i)).unwrap_or(0);
    let (remote, lport, rport) = if local_is_src {
        (y, sport, dport)
    } else {
        (x, dport, sport)
    };
    let (entity, kind) = match get(c.inst, i) {
        Some(id) => (id, EntityKind::Instance),
        None => (e, EntityKind::Eni),
    };
    let t = c.time.map(|v| v.value(i)).unwrap_or(0);
    let flow = Flow {
        local_is_src,
        remote,
        lport,
        rport,
        bytes: count(c.bytes, i),
        packets: count(c.pkts, i),
        t,
    };
    // One lookup for the rows of a known entity (nearly all); a key is allocated only for an
    // entity's first row.
    match out.get_mut(entity) {
        Some(agg) => agg.add(&flow),
        None => {
            let mut agg = HourAgg {
                kind: Some(kind),
                account_id: get(c.acct, i).map(str::to_string),
                region: get(c.region, i).map(str::to_string),
                group: get(c.subnet, i).map(str::to_string).or_else(|| {
                    enis.addr(e)
                        .map(|a| a.rsplit_once('.').map(|(n, _)| n).unwrap_or(a).to_string())
                }),
                first_ms: t,
                last_ms: t,
                ..HourAgg::default()
            };
            agg.add(&flow);
            out.insert(entity.to_string(), agg);
        }
    }
}

impl HourAgg {
    /// Count one flow: times, volumes, peers, ports, and the external hosts it reached.
    fn add(&mut self, f: &Flow<'_>) {
        let (remote, n) = (f.remote, f.bytes);
        self.first_ms = self.first_ms.min(f.t);
        self.last_ms = self.last_ms.max(f.t);
        self.flows += 1;
        self.packets += f.packets;
        if f.local_is_src {
            self.bytes_out += n;
            if !is_private(remote) {
                self.ext_bytes_out += n;
            }
        } else {
            self.bytes_in += n;
        }
        if self.peers.len() < 4096 && !self.peers.contains(remote) {
            self.peers.insert(remote.to_string());
        }
        if self.ports.len() < 4096 {
            self.ports.insert(f.lport.min(f.rport));
        }
        // The entity initiated: it sent from an ephemeral port to a service port.
        if f.local_is_src && !is_private(remote) && f.rport < f.lport && f.rport > 0 {
            match self.ext_out.get_mut(remote) {
                Some(e) => e.0 += n,
                None => {
                    self.ext_out.insert(remote.to_string(), (n, f.rport));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_ranges() {
        for a in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.1",
            "192.168.1.1",
            "100.64.0.1",
            "fd00::1",
        ] {
            assert!(is_private(a), "{a}");
        }
        for a in [
            "172.32.0.1",
            "8.8.8.8",
            "100.128.0.1",
            "2001:db8::1",
            "11.0.0.1",
        ] {
            assert!(!is_private(a), "{a}");
        }
        assert_eq!(peer_net("203.0.113.9"), "203.0");
    }

    #[test]
    fn peer_net_is_the_first_two_or_three_groups() {
        // The old definition: the groups split, the first ones joined again.
        let joined = |a: &str| {
            let (sep, keep) = if a.contains(':') { (':', 3) } else { ('.', 2) };
            a.split(sep)
                .take(keep)
                .collect::<Vec<_>>()
                .join(&sep.to_string())
        };
        for a in [
            "203.0.113.9",
            "10.1",
            "10",
            "",
            "2001:db8:85a3::8a2e:370:7334",
            "2001:db8",
            "fe80::1",
            "::1",
            "::",
            "1.2.3.4.5",
            "a:b:c:d",
        ] {
            assert_eq!(peer_net(a), joined(a), "{a:?}");
        }
    }

    #[test]
    fn eni_address_is_the_one_in_every_record() {
        let mut e = EniAddrs::default();
        e.observe("eni-1", "10.0.0.5", "10.0.1.9");
        assert_eq!(e.addr("eni-1"), None);
        e.observe("eni-1", "10.0.2.7", "10.0.0.5");
        assert_eq!(e.addr("eni-1"), Some("10.0.0.5"));
    }
}
