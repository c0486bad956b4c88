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

pub use super::eni_addrs::EniAddrs;
use super::eni_addrs::{LastEni, same_text};

/// Whether an address is private (RFC 1918, CGNAT, link-local, IPv6 ULA/link-local).
///
/// Asked several times for every record, so the first character decides for most: every
/// private IPv4 range starts with `1`, and the IPv6 ones with `f`.
pub fn is_private(a: &str) -> bool {
    match a.as_bytes().first() {
        Some(b'1') => {}
        Some(b'f' | b'F') => return is_private_v6(a),
        _ => return false,
    }
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
    false
}

/// IPv6 unique local (`fc00::/7`) and link-local (written `fe80:`).
fn is_private_v6(a: &str) -> bool {
    if !a.contains(':') {
        return false;
    }
    let l = a.get(..4).unwrap_or(a).to_ascii_lowercase();
    l.starts_with("fc") || l.starts_with("fd") || l.starts_with("fe80")
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
    let hour = EniAddrs::learn(batches)?;
    aggregate_learned(batches, &hour, enis)
}

/// [`aggregate`] with the hour's ENI addresses already learned (`hour`, from the same
/// batches): they narrow `enis` first, then the records are read once.
pub fn aggregate_learned(
    batches: &(impl Batches + ?Sized),
    hour: &EniAddrs,
    enis: &mut EniAddrs,
) -> Result<Map<String, HourAgg>, DetectError> {
    enis.absorb(hour);
    let enis = &*enis;
    let mut out = Entities::default();
    batches.visit(&mut |b| {
        let c = Cols::of(b);
        let mut eni = LastEni::default();
        for i in 0..b.num_rows() {
            add_record(&mut out, &c, i, enis, &mut eni);
        }
    })?;
    Ok(out.into_map())
}

/// The hour's aggregates by entity id. An entity's records come in runs (a flow log writes
/// an interface's records together), so the entity of the row before is tried first: a run
/// costs one hash lookup, not one a row.
#[derive(Default)]
struct Entities {
    ids: Vec<String>,
    aggs: Vec<HourAgg>,
    index: Map<String, usize>,
    last: Option<usize>,
}

impl Entities {
    /// The aggregate of `id`, made by `new` on its first row.
    fn of(&mut self, id: &str, new: impl FnOnce() -> HourAgg) -> Option<&mut HourAgg> {
        let k = match self.last {
            Some(k) if self.ids.get(k).is_some_and(|x| same_text(x, id)) => k,
            _ => match self.index.get(id) {
                Some(&k) => k,
                None => {
                    self.ids.push(id.to_string());
                    self.aggs.push(new());
                    self.index.insert(id.to_string(), self.aggs.len() - 1);
                    self.aggs.len() - 1
                }
            },
        };
        self.last = Some(k);
        self.aggs.get_mut(k)
    }

    fn into_map(self) -> Map<String, HourAgg> {
        self.ids.into_iter().zip(self.aggs).collect()
    }
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

/// Whether the source address `x` of a record is the local side (else `y` is):
/// `flow-direction` when present, then private vs public, then the address of the record's
/// ENI (`eni_addr`, asked only then). `None` when nothing decides.
fn local_is_src<'e>(
    dir: Option<&str>,
    x: &str,
    y: &str,
    eni_addr: impl FnOnce() -> Option<&'e str>,
) -> Option<bool> {
    match dir {
        Some("egress") => Some(true),
        Some("ingress") => Some(false),
        _ => match (is_private(x), is_private(y)) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => match eni_addr() {
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
fn add_record<'b, 'e>(
    out: &mut Entities,
    c: &Cols<'b>,
    i: usize,
    enis: &'e EniAddrs,
    last_eni: &mut LastEni<'b, 'e>,
) {
    if get(c.action, i) != Some("ACCEPT") {
        return;
    }
    let (Some(e), Some(x), Some(y)) = (get(c.eni, i), get(c.src, i), get(c.dst, i)) else {
        return;
    };
    let Some(local_is_src) = local_is_src(get(c.dir, i), x, y, || last_eni.addr(e, enis)) else {
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
    let agg = out.of(entity, || HourAgg {
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
    });
    if let Some(agg) = agg {
        agg.add(&flow);
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

    /// The first-character shortcut against the standard library's reading of the address
    /// (RFC 1918, CGNAT, link-local; IPv6 `fc00::/7` and `fe80::/16`), and text that is no
    /// address read by its prefix as before.
    #[test]
    fn private_by_first_character_equals_the_ranges() {
        use std::net::IpAddr;
        let ranges = |ip: IpAddr| match ip {
            IpAddr::V4(v) => {
                let [a, b, ..] = v.octets();
                v.is_private() || v.is_link_local() || (a == 100 && (64..=127).contains(&b))
            }
            IpAddr::V6(v) => {
                let s = v.segments()[0];
                s & 0xfe00 == 0xfc00 || s == 0xfe80
            }
        };
        for a in [
            "10.0.0.1",
            "100.64.1.1",
            "100.127.9.9",
            "100.63.1.1",
            "100.128.0.1",
            "169.254.169.254",
            "172.15.0.1",
            "172.16.0.1",
            "172.31.0.1",
            "172.32.0.1",
            "192.168.0.1",
            "192.169.0.1",
            "1.1.1.1",
            "8.8.8.8",
            "203.0.113.9",
            "fd12::1",
            "FD12::1",
            "fc00::",
            "fe80::1",
            "FE80::1",
            "fe81::1",
            "fec0::1",
            "2001:db8::1",
            "1::",
            "::1",
            "::ffff:10.0.0.1",
        ] {
            let ip: IpAddr = a.parse().unwrap_or_else(|e| panic!("{a}: {e}"));
            assert_eq!(is_private(a), ranges(ip), "{a:?}");
        }
        // Not addresses: the prefix decides, as it did before the shortcut.
        for (a, want) in [
            ("10.", true),
            ("10", false),
            ("172.", false),
            ("172.x.1.1", false),
            ("100.", false),
            ("fd", false),
            ("fd00", false),
            ("fe8", false),
            ("f", false),
            ("", false),
            ("-", false),
            (" 10.0.0.1", false),
            ("é10.0.0.1", false),
            ("fé::", false),
            ("fd::zz", true),
        ] {
            assert_eq!(is_private(a), want, "{a:?}");
        }
    }

    /// The entity shortcut (the row before's entity first) aggregates rows in runs the same
    /// as the same rows interleaved.
    #[test]
    fn runs_and_interleaved_rows_aggregate_the_same() {
        use crate::testutil::{Flow, flows};
        let enis = ["eni-a", "eni-b", "eni-c"];
        let insts = [Some("i-a"), None, Some("i-c")];
        let locals = ["10.0.0.1", "10.0.0.2", "10.0.0.3"];
        let remotes = ["10.0.0.2", "203.0.113.5", "10.0.0.1", "198.51.100.7"];
        let mut x = 11u64;
        let mut next = |n: u64| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (x >> 33) % n
        };
        let mut rows = Vec::new();
        for _ in 0..40 {
            let k = next(3) as usize;
            for _ in 0..=next(5) {
                let (local, remote) = (locals[k].to_string(), remotes[next(4) as usize].into());
                let out = next(2) == 0;
                let (src, dst) = if out {
                    (local, remote)
                } else {
                    (remote, local)
                };
                rows.push(Flow {
                    eni: enis[k],
                    instance: insts[k],
                    subnet: None,
                    src,
                    dst,
                    sport: if out { 40_000 } else { 443 },
                    dport: if out { 443 } else { 40_000 },
                    bytes: 1 + next(1000) as i64,
                    action: if next(8) == 0 { "REJECT" } else { "ACCEPT" },
                    t_ms: 1_767_830_400_000 + next(3_600_000) as i64,
                });
            }
        }
        // The same rows, one interface's next to another's: odd rows, then even ones.
        let mut mixed: Vec<Flow> = rows.iter().step_by(2).cloned().collect();
        mixed.extend(rows.iter().skip(1).step_by(2).cloned());
        let agg = |rows: &[Flow]| {
            let mut enis = EniAddrs::default();
            let mut out: Vec<_> = aggregate(&[flows(rows)], &mut enis)
                .unwrap_or_else(|e| panic!("{e}"))
                .into_iter()
                .map(|(id, a)| {
                    let mut peers: Vec<String> = a.peers.into_iter().collect();
                    peers.sort();
                    let mut ports: Vec<i32> = a.ports.into_iter().collect();
                    ports.sort();
                    let mut ext: Vec<(String, (u64, i32))> = a.ext_out.into_iter().collect();
                    ext.sort();
                    let sums = (a.bytes_out, a.ext_bytes_out, a.bytes_in, a.packets, a.flows);
                    (
                        id,
                        a.kind,
                        a.group,
                        sums,
                        (a.first_ms, a.last_ms),
                        peers,
                        ports,
                        ext,
                    )
                })
                .collect();
            out.sort_by(|a, b| a.0.cmp(&b.0));
            out
        };
        let (a, b) = (agg(&rows), agg(&mixed));
        assert_eq!(a.len(), 3, "{a:?}");
        assert!(
            a.iter().all(|e| e.3.4 > 0),
            "every entity has accepted flows"
        );
        assert_eq!(a, b);
    }
}
