//! Each ENI's own address, learned from its records: the one address present in every record
//! logged on the interface. Flow formats without `flow-direction` (the default v2) need it to
//! tell which side of a private-to-private record is local, both for the flow baselines and
//! for the behaviour detectors.
//!
//! An interface's records come in runs (a flow log writes each interface's records
//! together), so learning and asking both try the ENI of the row before first.

use super::hourly::Map;

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
    /// One record of `eni` between `src` and `dst`: an address not in it is not the ENI's.
    pub(crate) fn observe(&mut self, eni: &str, src: &str, dst: &str) {
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
}
