//! Each ENI's own address, learned from its records: the one address present in every record
//! logged on the interface. Flow formats without `flow-direction` (the default v2) need it to
//! tell which side of a private-to-private record is local, both for the flow baselines and
//! for the behaviour detectors.
//!
//! An interface's records come in runs (a flow log writes each interface's records
//! together), so learning and asking both try the ENI of the row before first.
//!
//! A closed hour is read for this once ([`EniAddrs::learn`], in `Engine::judge_flows`), and
//! both detectors use the result: the behaviour scan as it is, the baselines merged into the
//! addresses they keep across hours ([`EniAddrs::absorb`]).

use flowtrail_core::schema::flows::col;

use super::hourly::{Map, get, s};
use crate::DetectError;
use crate::keep::Batches;

/// Whether two ids or addresses are the same text. A shortcut for runs asks this of every
/// row and is mostly told "no" when rows are not in runs: ids of one kind have one length
/// and differ in their last characters, so their last eight bytes settle most pairs without
/// a full compare.
#[inline]
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let tail = |x: &[u8]| {
        x.len()
            .checked_sub(8)
            .and_then(|at| x.get(at..))
            .and_then(|t| <[u8; 8]>::try_from(t).ok())
            .map(u64::from_ne_bytes)
    };
    tail(a) == tail(b) && a == b
}

/// ENI → its own address, learned from records.
#[derive(Debug, Default)]
pub struct EniAddrs {
    index: Map<String, usize>,
    /// Each ENI and its two candidates (the addresses of its first record still in every
    /// record since).
    cand: Vec<(String, Option<String>, Option<String>)>,
    /// The ENI observed last: its records come in runs, which then skip the lookup.
    last: Option<usize>,
}

impl EniAddrs {
    /// The addresses of the ENIs of `batches` (`flows` rows): one pass over the rows.
    pub fn learn(batches: &(impl Batches + ?Sized)) -> Result<EniAddrs, DetectError> {
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
        Ok(enis)
    }

    /// Narrow these candidates by `later`'s records, as if they had been observed one by one:
    /// an address in every one of `later`'s records of an ENI is one of `later`'s two
    /// candidates for it, so a candidate survives when it is one of them.
    pub fn absorb(&mut self, later: &EniAddrs) {
        for (eni, la, lb) in &later.cand {
            let Some(&k) = self.index.get(eni) else {
                self.index.insert(eni.clone(), self.cand.len());
                self.cand.push((eni.clone(), la.clone(), lb.clone()));
                continue;
            };
            if let Some((_, a, b)) = self.cand.get_mut(k) {
                for slot in [a, b] {
                    if slot
                        .as_deref()
                        .is_some_and(|x| la.as_deref() != Some(x) && lb.as_deref() != Some(x))
                    {
                        *slot = None;
                    }
                }
            }
        }
        self.last = None;
    }

    /// One record of `eni` between `src` and `dst`: an address not in it is not the ENI's.
    pub fn observe(&mut self, eni: &str, src: &str, dst: &str) {
        let k = match self.last {
            Some(k) if self.cand.get(k).is_some_and(|c| same_text(&c.0, eni)) => k,
            _ => match self.index.get(eni) {
                Some(&k) => k,
                None => {
                    self.index.insert(eni.to_string(), self.cand.len());
                    self.cand.push((
                        eni.to_string(),
                        Some(src.to_string()),
                        Some(dst.to_string()),
                    ));
                    self.last = Some(self.cand.len() - 1);
                    return;
                }
            },
        };
        self.last = Some(k);
        if let Some((_, a, b)) = self.cand.get_mut(k) {
            if a.as_deref().is_some_and(|x| x != src && x != dst) {
                *a = None;
            }
            if b.as_deref().is_some_and(|x| x != src && x != dst) {
                *b = None;
            }
        }
    }

    /// The ENI's address when known (exactly one candidate left).
    pub fn addr(&self, eni: &str) -> Option<&str> {
        let (_, a, b) = self.cand.get(*self.index.get(eni)?)?;
        match (a, b) {
            (Some(a), None) | (None, Some(a)) => Some(a),
            (Some(a), Some(b)) if a == b => Some(a),
            _ => None,
        }
    }
}

/// The ENI of the row before and its learned address: rows of one ENI come in runs.
#[derive(Default)]
pub(crate) struct LastEni<'b, 'e> {
    last: Option<(&'b str, Option<&'e str>)>,
}

impl<'b, 'e> LastEni<'b, 'e> {
    /// `enis.addr(e)`, looked up only when `e` is not the ENI of the row before.
    pub(crate) fn addr(&mut self, e: &'b str, enis: &'e EniAddrs) -> Option<&'e str> {
        match self.last {
            Some((prev, a)) if same_text(prev, e) => a,
            _ => {
                let a = enis.addr(e);
                self.last = Some((e, a));
                a
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_text_is_equality() {
        let texts = [
            "",
            "a",
            "10.0.0.1",
            "10.0.0.2",
            "eni-0123456789abcdef0",
            "eni-1123456789abcdef0",
            "eni-0123456789abcdef1",
            "i-0123456789abcdef0",
            "fd00::1",
            "x10.0.0.1",
            "é-10.0.0.1",
        ];
        for a in texts {
            for b in texts {
                assert_eq!(same_text(a, b), a == b, "{a:?} {b:?}");
            }
        }
    }

    #[test]
    fn eni_address_is_the_one_in_every_record() {
        let mut e = EniAddrs::default();
        e.observe("eni-1", "10.0.0.5", "10.0.1.9");
        assert_eq!(e.addr("eni-1"), None);
        e.observe("eni-1", "10.0.2.7", "10.0.0.5");
        assert_eq!(e.addr("eni-1"), Some("10.0.0.5"));
        // Another ENI's records in between (the shortcut for runs must not mix them up).
        e.observe("eni-2", "10.0.0.5", "10.0.3.3");
        e.observe("eni-2", "10.0.3.3", "10.0.4.4");
        e.observe("eni-1", "10.0.0.5", "10.0.3.3");
        assert_eq!(e.addr("eni-1"), Some("10.0.0.5"));
        assert_eq!(e.addr("eni-2"), Some("10.0.3.3"));
        e.observe("eni-1", "10.0.9.9", "10.0.8.8");
        assert_eq!(e.addr("eni-1"), None, "no address in every record");
        assert_eq!(e.addr("eni-2"), Some("10.0.3.3"));
        assert_eq!(e.addr("eni-3"), None);
    }

    /// Absorbing a later hour learned on its own narrows exactly as observing its records
    /// one by one would (random hours: ENIs whose own address stays, changes, or is absent).
    #[test]
    fn absorbing_a_later_hour_equals_observing_it() {
        let mut x = 5u64;
        let mut next = |n: u64| {
            x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (x >> 33) % n
        };
        let addrs = ["10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"];
        for _ in 0..200 {
            let hours: Vec<Vec<(String, &str, &str)>> = (0..3)
                .map(|_| {
                    (0..next(12))
                        .map(|_| {
                            let eni = format!("eni-{}", next(3));
                            let own = addrs[next(2) as usize];
                            let other = addrs[next(4) as usize];
                            if next(2) == 0 {
                                (eni, own, other)
                            } else {
                                (eni, other, own)
                            }
                        })
                        .collect()
                })
                .collect();
            let mut one_by_one = EniAddrs::default();
            let mut absorbed = EniAddrs::default();
            for hour in &hours {
                let mut learned = EniAddrs::default();
                for (e, a, b) in hour {
                    one_by_one.observe(e, a, b);
                    learned.observe(e, a, b);
                }
                absorbed.absorb(&learned);
            }
            let cands = |e: &EniAddrs| {
                let mut v = e.cand.clone();
                v.sort();
                v
            };
            assert_eq!(cands(&one_by_one), cands(&absorbed), "{hours:?}");
            for k in 0..3 {
                let eni = format!("eni-{k}");
                assert_eq!(one_by_one.addr(&eni), absorbed.addr(&eni), "{eni}");
            }
        }
    }
}
