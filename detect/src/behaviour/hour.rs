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

use arrow::array::{Array, AsArray, PrimitiveArray, RecordBatch, StringArray};
use arrow::datatypes::{Int32Type, Int64Type, TimestampMillisecondType};

use flowtrail_core::EntityKind;
use flowtrail_core::schema::flows::col;
use flowtrail_core::schema::{ACCOUNT_ID, EVENT_TIME, REGION};

use crate::DetectError;
use crate::baseline::eni_addrs::{EniAddrs, LastEni, same_text};
use crate::baseline::hourly::{Map, get, is_private, s};
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
    /// The two addresses used last, the latest first: a run of one interface's rows repeats
    /// its own address, so it is found without hashing.
    recent: [u32; 2],
    /// Address index → the entity whose interface has it.
    pub locals: Map<u32, Who>,
    /// Private client → private server.
    pub internal: Contacts,
    /// Private client → public server.
    pub external: Contacts,
}

/// Contacts by key, in the order first seen. The records of a connection are mostly logged
/// together (its request and response on each interface), so the contact of the row before
/// is tried first: a run of them costs one hash lookup.
#[derive(Debug, Default)]
pub struct Contacts {
    index: Map<Key, usize>,
    list: Vec<(Key, Contact)>,
    last: Option<usize>,
}

impl Contacts {
    /// The contact of `key`, new when not seen yet.
    fn entry(&mut self, key: Key) -> Option<&mut Contact> {
        let k = match self.last {
            Some(k) if self.list.get(k).is_some_and(|(x, _)| *x == key) => k,
            _ => *self.index.entry(key).or_insert_with(|| {
                self.list.push((key, Contact::default()));
                self.list.len() - 1
            }),
        };
        self.last = Some(k);
        self.list.get_mut(k).map(|(_, c)| c)
    }

    /// Every contact with its key.
    pub fn iter(&self) -> impl Iterator<Item = (&Key, &Contact)> {
        self.into_iter()
    }

    /// How many contacts.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

impl<'a> IntoIterator for &'a Contacts {
    type Item = (&'a Key, &'a Contact);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (Key, Contact)>,
        fn(&'a (Key, Contact)) -> (&'a Key, &'a Contact),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.list.iter().map(|(k, c)| (k, c))
    }
}

impl Hour {
    /// The address of an index.
    pub fn addr(&self, i: u32) -> &str {
        self.addrs.get(i as usize).map(String::as_str).unwrap_or("")
    }

    fn intern(&mut self, a: &str) -> u32 {
        let [r0, r1] = self.recent;
        let is = |i: u32| self.addrs.get(i as usize).is_some_and(|x| same_text(x, a));
        if is(r0) {
            return r0;
        }
        if is(r1) {
            self.recent = [r1, r0];
            return r1;
        }
        let i = match self.index.get(a) {
            Some(&i) => i,
            None => {
                let i = self.addrs.len() as u32;
                self.addrs.push(a.to_string());
                self.index.insert(a.to_string(), i);
                i
            }
        };
        self.recent = [i, self.recent[0]];
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
    scan_learned(batches, &EniAddrs::learn(batches)?)
}

/// [`scan`] with the hour's ENI addresses already learned from the same batches.
pub fn scan_learned(
    batches: &(impl Batches + ?Sized),
    enis: &EniAddrs,
) -> Result<Hour, DetectError> {
    let mut h = Hour::default();
    batches.visit(&mut |b| scan_batch(&mut h, enis, b))?;
    Ok(h)
}

/// The flows columns the scan reads (`None` when a batch lacks one).
struct Cols<'a> {
    inst: Option<&'a StringArray>,
    eni: Option<&'a StringArray>,
    src: Option<&'a StringArray>,
    dst: Option<&'a StringArray>,
    action: Option<&'a StringArray>,
    dir: Option<&'a StringArray>,
    acct: Option<&'a StringArray>,
    region: Option<&'a StringArray>,
    sport: Option<&'a PrimitiveArray<Int32Type>>,
    dport: Option<&'a PrimitiveArray<Int32Type>>,
    proto: Option<&'a PrimitiveArray<Int32Type>>,
    bytes: Option<&'a PrimitiveArray<Int64Type>>,
    start: Option<&'a PrimitiveArray<Int64Type>>,
    end: Option<&'a PrimitiveArray<Int64Type>>,
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
            acct: s(b, ACCOUNT_ID),
            region: s(b, REGION),
            sport: int::<Int32Type>(b, col::SRCPORT),
            dport: int::<Int32Type>(b, col::DSTPORT),
            proto: int::<Int32Type>(b, col::PROTOCOL),
            bytes: int::<Int64Type>(b, col::BYTES),
            start: int::<Int64Type>(b, col::START),
            end: int::<Int64Type>(b, col::END),
            time: int::<TimestampMillisecondType>(b, EVENT_TIME),
        }
    }

    /// The entity whose interface logged row `i`: its instance, else the interface.
    fn logged_by(&self, i: usize) -> Option<(EntityKind, &'a str)> {
        match (get(self.inst, i), get(self.eni, i)) {
            (Some(id), _) => Some((EntityKind::Instance, id)),
            (None, Some(e)) => Some((EntityKind::Eni, e)),
            _ => None,
        }
    }

    /// That entity as a [`Who`], with row `i`'s account and region.
    fn who(&self, i: usize, (kind, id): (EntityKind, &str)) -> Who {
        Who {
            kind,
            id: id.to_string(),
            account: get(self.acct, i).map(str::to_string),
            region: get(self.region, i).map(str::to_string),
        }
    }
}

fn scan_batch(h: &mut Hour, enis: &EniAddrs, b: &RecordBatch) {
    let cols = Cols::of(b);
    let mut eni = LastEni::default();
    for i in 0..b.num_rows() {
        scan_row(h, enis, &mut eni, &cols, i);
    }
}

/// Row `i`: learn the entity of its local address, and count it on its contact when the
/// client is private. Only ACCEPTed TCP/UDP rows with both addresses and ports count.
fn scan_row<'b, 'e>(
    h: &mut Hour,
    enis: &'e EniAddrs,
    last_eni: &mut LastEni<'b, 'e>,
    cols: &Cols<'b>,
    i: usize,
) {
    if get(cols.action, i) != Some("ACCEPT") {
        return;
    }
    let p = val(cols.proto, i).unwrap_or(6);
    let (Some(x), Some(y), Some(sp), Some(dp)) = (
        get(cols.src, i),
        get(cols.dst, i),
        val(cols.sport, i),
        val(cols.dport, i),
    ) else {
        return;
    };
    if p != 6 && p != 17 {
        return;
    }
    let t = val(cols.time, i).unwrap_or(0);
    let (client, server, port, cport) = if dp <= sp {
        (x, y, dp, sp)
    } else {
        (y, x, sp, dp)
    };
    // Whether the local side is the source (x) or the destination (y), when known.
    let local_is_x = match get(cols.dir, i) {
        Some("egress") => Some(true),
        Some("ingress") => Some(false),
        _ => get(cols.eni, i)
            .and_then(|e| last_eni.addr(e, enis))
            .and_then(|a| (a == x).then_some(true).or((a == y).then_some(false))),
    };
    let local = local_is_x.map(|is_x| if is_x { x } else { y });
    // Each of the two addresses is looked up in the hour's table at most once.
    let (mut xi, mut yi) = (None, None);
    let mut id = |h: &mut Hour, is_x: bool| -> u32 {
        let (slot, a) = if is_x { (&mut xi, x) } else { (&mut yi, y) };
        *slot.get_or_insert_with(|| h.intern(a))
    };
    if let (Some(is_x), Some(w)) = (local_is_x, cols.logged_by(i)) {
        let li = id(h, is_x);
        let better = match h.locals.get(&li) {
            None => true,
            Some(old) => old.kind != EntityKind::Instance && w.0 == EntityKind::Instance,
        };
        if better {
            h.locals.insert(li, cols.who(i, w));
        }
    }
    if !is_private(client) {
        return;
    }
    let ext = !is_private(server);
    let client_is_x = dp <= sp;
    let key = (id(h, client_is_x), id(h, !client_is_x), port, p);
    let map = if ext {
        &mut h.external
    } else {
        &mut h.internal
    };
    let Some(c) = map.entry(key) else {
        return;
    };
    let n = val(cols.bytes, i).unwrap_or(0).max(0) as u64;
    c.count(t, n, x == client);
    // A record of a public server is logged on the client's side (a NAT gateway's
    // interface aside, which has no instance id: an instance's record wins).
    if local == Some(client) || (ext && local.is_none()) {
        let better = match (&c.who, cols.logged_by(i)) {
            (None, Some(_)) => true,
            (Some(old), Some(w)) => old.kind != EntityKind::Instance && w.0 == EntityKind::Instance,
            _ => false,
        };
        if better {
            c.who = cols.logged_by(i).map(|w| cols.who(i, w));
        }
    }
    if ext {
        let st = val(cols.start, i).unwrap_or(t / 1000);
        let en = val(cols.end, i).unwrap_or(st);
        c.add_conn(cport, st, en, n);
    }
}

impl Contact {
    /// Count one record of `n` bytes at `t` (ms); `sent` when the client logged it as sender.
    fn count(&mut self, t: i64, n: u64, sent: bool) {
        if self.records == 0 {
            self.first_ms = t;
            self.last_ms = t;
        }
        self.records += 1;
        self.bytes += n;
        if sent {
            self.bytes_out += n;
        }
        self.first_ms = self.first_ms.min(t);
        self.last_ms = self.last_ms.max(t);
    }

    /// Extend the connection of client port `cport` (a new one while fewer than
    /// [`MAX_CONNS`] are kept).
    fn add_conn(&mut self, cport: i32, start_s: i64, end_s: i64, n: u64) {
        let room = self.conns.len() < MAX_CONNS;
        match self.conns.get_mut(&cport) {
            Some(k) => {
                k.start_s = k.start_s.min(start_s);
                k.end_s = k.end_s.max(end_s);
                k.bytes += n;
            }
            None if room => {
                self.conns.insert(
                    cport,
                    Conn {
                        start_s,
                        end_s,
                        bytes: n,
                    },
                );
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Contacts, Hour, Key};

    /// The row-before shortcut keeps one contact a key, in runs or interleaved.
    #[test]
    fn contacts_are_one_a_key() {
        let keys: [Key; 3] = [(0, 1, 443, 6), (0, 2, 443, 6), (3, 1, 53, 17)];
        let mut c = Contacts::default();
        let mut want = std::collections::BTreeMap::new();
        for (n, k) in [0, 0, 0, 1, 0, 2, 2, 1, 1, 0, 2].into_iter().enumerate() {
            let contact = c.entry(keys[k]).unwrap_or_else(|| panic!("no contact"));
            contact.records += 1;
            contact.bytes += n as u64;
            let w = want.entry(keys[k]).or_insert((0u64, 0u64));
            *w = (w.0 + 1, w.1 + n as u64);
        }
        assert_eq!(c.len(), 3);
        let got: std::collections::BTreeMap<Key, (u64, u64)> =
            c.iter().map(|(k, v)| (*k, (v.records, v.bytes))).collect();
        assert_eq!(got, want);
        let firsts: Vec<Key> = (&c).into_iter().map(|(k, _)| *k).collect();
        assert_eq!(firsts, keys.to_vec(), "in the order first seen");
    }

    /// The recent-address shortcut gives each text one number, whatever the order.
    #[test]
    fn interning_is_one_number_a_text() {
        let pool = [
            "10.0.0.1",
            "10.0.0.2",
            "10.0.0.10",
            "8.8.8.8",
            "fd00::1",
            "",
        ];
        let mut h = Hour::default();
        let mut seen = std::collections::HashMap::new();
        let mut x = 3u64;
        for _ in 0..500 {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            // runs of a local address with changing remotes, and plain interleaving
            let a = if x >> 62 == 0 {
                pool[0]
            } else {
                pool[((x >> 33) % 6) as usize]
            };
            let i = h.intern(a);
            assert_eq!(h.addr(i), a);
            assert_eq!(*seen.entry(a).or_insert(i), i, "{a} numbered twice");
        }
        assert_eq!(seen.len(), pool.len());
        let mut ids: Vec<u32> = seen.values().copied().collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), pool.len(), "distinct texts, distinct numbers");
    }
}
