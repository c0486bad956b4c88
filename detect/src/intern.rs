//! Numbering the strings a closed hour's rows repeat (addresses, interface and instance ids)
//! so the per-row work compares and hashes numbers.
//!
//! A string of up to 23 bytes (every IPv4 address, interface and instance id) is looked up
//! as three machine words with its length in the last byte: hashing it is three word
//! hashes and comparing it three word compares, with no call to `memcmp` and no hashing of
//! bytes one chunk at a time. Longer strings (most IPv6 addresses) go through an ordinary
//! string map. Each distinct string is stored once.

use crate::baseline::hourly::Map;

/// The longest string kept as words.
const SHORT: usize = 23;

/// Strings numbered from 0 in order of first sight.
#[derive(Debug, Default)]
pub struct Interner {
    short: Map<[u64; 3], u32>,
    long: Map<Box<str>, u32>,
    names: Vec<Box<str>>,
}

/// `s` as three words (bytes zero-padded, length in the last byte), when it fits.
fn words(s: &str) -> Option<[u64; 3]> {
    let b = s.as_bytes();
    if b.len() > SHORT {
        return None;
    }
    let mut buf = [0u8; 24];
    buf[..b.len()].copy_from_slice(b);
    buf[SHORT] = b.len() as u8;
    let w = |i: usize| {
        let mut x = [0u8; 8];
        x.copy_from_slice(&buf[i * 8..i * 8 + 8]);
        u64::from_ne_bytes(x)
    };
    Some([w(0), w(1), w(2)])
}

impl Interner {
    /// The number of `s`, given one at its first sight.
    pub fn id(&mut self, s: &str) -> u32 {
        let next = self.names.len() as u32;
        let (id, new) = match words(s) {
            Some(k) => {
                let id = *self.short.entry(k).or_insert(next);
                (id, id == next)
            }
            None => match self.long.get(s) {
                Some(id) => (*id, false),
                None => {
                    self.long.insert(s.into(), next);
                    (next, true)
                }
            },
        };
        if new {
            self.names.push(s.into());
        }
        id
    }

    /// The number of `s`, if it has one.
    pub fn get(&self, s: &str) -> Option<u32> {
        match words(s) {
            Some(k) => self.short.get(&k).copied(),
            None => self.long.get(s).copied(),
        }
    }

    /// The string of number `id` (empty for a number never given).
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", |s| s)
    }

    /// Strings numbered.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether nothing is numbered.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn short_long_and_padding_lookalikes_are_distinct() {
        let mut i = Interner::default();
        let v6 = "2001:db8:1234:5678:9abc:def0:1234:5678";
        let names = [
            "10.0.0.1",
            "",
            "a",
            "a\0",
            "eni-0123456789abcdef0",
            v6,
            "i-0123456789abcdef0",
        ];
        let ids: Vec<u32> = names.iter().map(|s| i.id(s)).collect();
        assert_eq!(ids, [0, 1, 2, 3, 4, 5, 6]);
        for (s, id) in names.iter().zip(&ids) {
            assert_eq!(i.id(s), *id);
            assert_eq!(i.get(s), Some(*id));
            assert_eq!(i.name(*id), *s);
        }
        assert_eq!(i.get("10.0.0.2"), None);
        assert_eq!(i.len(), 7);
        // 23 bytes are words, 24 a string.
        let (a, b) = ("x".repeat(23), "x".repeat(24));
        assert_eq!((i.id(&a), i.id(&b)), (7, 8));
        assert_eq!((i.name(7), i.name(8)), (a.as_str(), b.as_str()));
    }

    proptest! {
        #[test]
        fn equal_strings_and_only_they_share_a_number(xs in prop::collection::vec("[a-c\\x00:.]{0,30}", 1..60)) {
            let mut i = Interner::default();
            let ids: Vec<u32> = xs.iter().map(|s| i.id(s)).collect();
            for (a, ia) in xs.iter().zip(&ids) {
                prop_assert_eq!(i.name(*ia), a.as_str());
                for (b, ib) in xs.iter().zip(&ids) {
                    prop_assert_eq!(a == b, ia == ib);
                }
            }
        }
    }
}
