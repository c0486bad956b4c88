//! A fixed-size Bloom filter: the set of peers an instance has talked to, in 1 KiB whatever
//! the number of peers (false positives only make a new peer look known, never the reverse).

use serde::{Deserialize, Serialize};

const BITS: usize = 8192;
const WORDS: usize = BITS / 64;
const HASHES: u64 = 4;

/// 8192 bits, 4 hashes: ~0.5% false positives at 500 members.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bloom {
    #[serde(with = "words_hex")]
    words: Vec<u64>,
}

/// An item's bit positions ([`Bloom::probe`]).
#[derive(Debug, Clone, Copy)]
pub struct Probe([usize; HASHES as usize]);

impl Default for Bloom {
    fn default() -> Self {
        Self {
            words: vec![0; WORDS],
        }
    }
}

impl Bloom {
    fn positions(item: &[u8]) -> impl Iterator<Item = usize> {
        let h = xxhash_rust::xxh3::xxh3_128(item);
        let (a, b) = (h as u64, (h >> 64) as u64 | 1);
        (0..HASHES).map(move |i| (a.wrapping_add(i.wrapping_mul(b)) % BITS as u64) as usize)
    }

    /// Add an item.
    pub fn insert(&mut self, item: &[u8]) {
        for p in Self::positions(item) {
            if let Some(w) = self.words.get_mut(p / 64) {
                *w |= 1 << (p % 64);
            }
        }
    }

    /// Whether the item may have been added (never false for an added item).
    pub fn contains(&self, item: &[u8]) -> bool {
        self.contains_probe(&Self::probe(item))
    }

    /// An item's bit positions, hashed once to test it against many filters.
    pub fn probe(item: &[u8]) -> Probe {
        let mut out = [0; HASHES as usize];
        for (slot, p) in out.iter_mut().zip(Self::positions(item)) {
            *slot = p;
        }
        Probe(out)
    }

    /// [`Bloom::contains`] for a probed item.
    pub fn contains_probe(&self, probe: &Probe) -> bool {
        probe.0.iter().all(|p| {
            self.words
                .get(p / 64)
                .is_some_and(|w| w & (1 << (p % 64)) != 0)
        })
    }
}

mod words_hex {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(words: &[u64], s: S) -> Result<S::Ok, S::Error> {
        let mut out = String::with_capacity(words.len() * 16);
        for w in words {
            out.push_str(&format!("{w:016x}"));
        }
        s.serialize_str(&out)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u64>, D::Error> {
        let s = String::deserialize(d)?;
        if s.len() != super::WORDS * 16 {
            return Err(serde::de::Error::custom("bloom: wrong length"));
        }
        (0..super::WORDS)
            .map(|i| {
                u64::from_str_radix(&s[i * 16..i * 16 + 16], 16).map_err(serde::de::Error::custom)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_found_and_round_trip() -> Result<(), serde_json::Error> {
        let mut b = Bloom::default();
        for i in 0..500u32 {
            b.insert(&i.to_le_bytes());
        }
        assert!((0..500u32).all(|i| b.contains(&i.to_le_bytes())));
        let fp = (1000..11_000u32)
            .filter(|i| b.contains(&i.to_le_bytes()))
            .count();
        assert!(fp < 200, "false positives {fp} of 10000");
        let back: Bloom = serde_json::from_str(&serde_json::to_string(&b)?)?;
        assert_eq!(back, b);
        Ok(())
    }
}
