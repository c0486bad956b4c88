//! One closed hour of flows, oriented and grouped for the behaviour detectors.
//!
//! Only ACCEPTed TCP/UDP records count. Each is oriented client → server: the server is the
//! side with the lower port (a service port answers ephemeral ones), so a request and its
//! response land on the same contact, and a flow logged on both interfaces counts once.
//! Contacts are kept per (client address, server address, service port, protocol):
//! `internal` when both ends are private, `external` when the client is private and the
//! server public (inbound internet clients are not the instance's behaviour). External
//! contacts also keep their connections (client ports: a new connection is a new port), with
//! first start, last end and bytes: what beaconing and long-lived mining connections are
//! judged on.
//!
//! Addresses are interned to numbers so the per-record work allocates nothing after an
//! address's first record. The entity behind a client address is learned from the records
//! logged on its own interface (`flow-direction`, or the interface's address learned in a
//! first pass: the one address in every record of the interface).

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int32Type, Int64Type, TimestampMillisecondType};

use flowtrail_core::EntityKind;
use flowtrail_core::schema::flows::col;
use flowtrail_core::schema::{ACCOUNT_ID, EVENT_TIME, REGION};

use crate::DetectError;
use crate::baseline::hourly::{EniAddrs, Map, get, is_private, s};
use crate::keep::Batches;

/// Connections kept per contact in an hour (a beacon every second is 3,600).
pub const MAX_CONNS: usize = 4096;

/// Who an address is.
#[derive(Debug, Clone, PartialEq)]
pub struct Who {
    /// Instance or interface.
    pub kind: EntityKind,
    /// Its id.
    pub id: String,
    /// Account.
    pub account: Option<String>,
    /// Region.
    pub region: Option<String>,
}

/// One connection (client port) of a contact.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Conn {
    /// First start, seconds.
    pub start_s: i64,
    /// Last end, seconds.
    pub end_s: i64,
    /// Bytes either way.
    pub bytes: u64,
}

/// A client's traffic to one server port in the hour.
#[derive(Debug, Clone, Default)]
pub struct Contact {
    /// Bytes either way.
    pub bytes: u64,
    /// Bytes the client sent.
    pub bytes_out: u64,
    /// Records.
    pub records: u64,
    /// First event time, ms.
    pub first_ms: i64,
    /// Last event time, ms.
    pub last_ms: i64,
    /// Connections by client port (external contacts only, at most [`MAX_CONNS`]).
    pub conns: Map<i32, Conn>,
    /// The entity of a record logged on the client's side, if any.
    pub who: Option<Who>,
}

/// (client, server, service port, protocol), addresses as [`Hour::addr`] indices.
pub type Key = (u32, u32, i32, i32);

/// One hour, grouped.
#[derive(Debug, Default)]
pub struct Hour {
    addrs: Vec<String>,
    index: Map<String, u32>,
    /// Address index → the entity whose interface has it.
    pub locals: Map<u32, Who>,
    /// Private client → private server.
    pub internal: Map<Key, Contact>,
    /// Private client → public server.
    pub external: Map<Key, Contact>,
}

impl Hour {
    /// The address of an index.
    pub fn addr(&self, i: u32) -> &str {
        self.addrs.get(i as usize).map(String::as_str).unwrap_or("")
    }

    fn intern(&mut self, a: &str) -> u32 {
        if let Some(i) = self.index.get(a) {
            return *i;
        }
        let i = self.addrs.len() as u32;
        self.addrs.push(a.to_string());
        self.index.insert(a.to_string(), i);
        i
    }

    /// The entity behind a client address: its interface's, else the contact's record's,
    /// else the address itself.
    pub fn who(&self, client: u32, c: &Contact) -> Who {
        self.locals
            .get(&client)
            .or(c.who.as_ref())
            .cloned()
            .unwrap_or_else(|| Who {
                kind: EntityKind::Ip,
                id: self.addr(client).to_string(),
                account: None,
                region: None,
            })
    }
}

fn int<'a, T: arrow::datatypes::ArrowPrimitiveType>(
    b: &'a RecordBatch,
    name: &str,
) -> Option<&'a arrow::array::PrimitiveArray<T>> {
    b.column_by_name(name)
        .and_then(|c| c.as_primitive_opt::<T>())
}

fn val<T>(a: Option<&arrow::array::PrimitiveArray<T>>, i: usize) -> Option<T::Native>
where
    T: arrow::datatypes::ArrowPrimitiveType,
{
    a.and_then(|a| (!a.is_null(i)).then(|| a.value(i)))
}

/// Group the hour's rows.
pub fn scan(batches: &(impl Batches + ?Sized)) -> Result<Hour, DetectError> {
    let mut enis = EniAddrs::default();
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
    let mut h = Hour::default();
    batches.visit(&mut |b| scan_batch(&mut h, &enis, b))?;
    Ok(h)
}

fn scan_batch(h: &mut Hour, enis: &EniAddrs, b: &RecordBatch) {
    let (inst, eni, src, dst) = (
        s(b, col::INSTANCE_ID),
        s(b, col::INTERFACE_ID),
        s(b, col::SRCADDR),
        s(b, col::DSTADDR),
    );
    let (action, dir, acct, region) = (
        s(b, col::ACTION),
        s(b, col::FLOW_DIRECTION),
        s(b, ACCOUNT_ID),
        s(b, REGION),
    );
    let (sport, dport, proto) = (
        int::<Int32Type>(b, col::SRCPORT),
        int::<Int32Type>(b, col::DSTPORT),
        int::<Int32Type>(b, col::PROTOCOL),
    );
    let (bytes, start, end) = (
        int::<Int64Type>(b, col::BYTES),
        int::<Int64Type>(b, col::START),
        int::<Int64Type>(b, col::END),
    );
    let time = int::<TimestampMillisecondType>(b, EVENT_TIME);
    for i in 0..b.num_rows() {
        if get(action, i) != Some("ACCEPT") {
            continue;
        }
        let p = val(proto, i).unwrap_or(6);
        let (Some(x), Some(y), Some(sp), Some(dp)) =
            (get(src, i), get(dst, i), val(sport, i), val(dport, i))
        else {
            continue;
        };
        if p != 6 && p != 17 {
            continue;
        }
        let t = val(time, i).unwrap_or(0);
        let (client, server, port, cport) = if dp <= sp {
            (x, y, dp, sp)
        } else {
            (y, x, sp, dp)
        };
        let e = get(eni, i);
        let local = match get(dir, i) {
            Some("egress") => Some(x),
            Some("ingress") => Some(y),
            _ => e.and_then(|e| enis.addr(e)).filter(|a| *a == x || *a == y),
        };
        let who = || match (get(inst, i), e) {
            (Some(id), _) => Some((EntityKind::Instance, id)),
            (None, Some(e)) => Some((EntityKind::Eni, e)),
            _ => None,
        };
        let mk = |(kind, id): (EntityKind, &str)| Who {
            kind,
            id: id.to_string(),
            account: get(acct, i).map(str::to_string),
            region: get(region, i).map(str::to_string),
        };
        if let (Some(l), Some(w)) = (local, who()) {
            let li = h.intern(l);
            let better = match h.locals.get(&li) {
                None => true,
                Some(old) => old.kind != EntityKind::Instance && w.0 == EntityKind::Instance,
            };
            if better {
                h.locals.insert(li, mk(w));
            }
        }
        if !is_private(client) {
            continue;
        }
        let ext = !is_private(server);
        let key = (h.intern(client), h.intern(server), port, p);
        let map = if ext {
            &mut h.external
        } else {
            &mut h.internal
        };
        let c = map.entry(key).or_default();
        let n = val(bytes, i).unwrap_or(0).max(0) as u64;
        if c.records == 0 {
            c.first_ms = t;
            c.last_ms = t;
        }
        c.records += 1;
        c.bytes += n;
        if x == client {
            c.bytes_out += n;
        }
        c.first_ms = c.first_ms.min(t);
        c.last_ms = c.last_ms.max(t);
        // A record of a public server is logged on the client's side (a NAT gateway's
        // interface aside, which has no instance id: an instance's record wins).
        if local == Some(client) || (ext && local.is_none()) {
            let better = match (&c.who, who()) {
                (None, Some(_)) => true,
                (Some(old), Some(w)) => {
                    old.kind != EntityKind::Instance && w.0 == EntityKind::Instance
                }
                _ => false,
            };
            if better {
                c.who = who().map(mk);
            }
        }
        if ext {
            let st = val(start, i).unwrap_or(t / 1000);
            let en = val(end, i).unwrap_or(st);
            let room = c.conns.len() < MAX_CONNS;
            match c.conns.get_mut(&cport) {
                Some(k) => {
                    k.start_s = k.start_s.min(st);
                    k.end_s = k.end_s.max(en);
                    k.bytes += n;
                }
                None if room => {
                    c.conns.insert(
                        cport,
                        Conn {
                            start_s: st,
                            end_s: en,
                            bytes: n,
                        },
                    );
                }
                None => {}
            }
        }
    }
}
