//! Deterministic pseudo-random numbers: SplitMix64, integer-only helpers.
//!
//! Everything the generator draws comes from here, so the same seed gives byte-identical output
//! on every platform. No floating-point transcendental functions are used (their last bits can
//! differ between libms); shapes such as "log-normal-ish" sizes are built from integer draws.

/// A SplitMix64 generator.
#[derive(Debug, Clone)]
pub struct Rng {
    state: u64,
}

/// FNV-1a over a label, to derive independent streams by name.
fn fnv1a(label: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in label.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    /// An independent stream for `label` under `seed` (stable: does not depend on draw order).
    pub fn derive(seed: u64, label: &str) -> Self {
        let mut r = Self::new(seed ^ fnv1a(label));
        r.next_u64();
        r
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (`n == 0` gives 0).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// Uniform in `lo..hi` (`hi <= lo` gives `lo`).
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo))
    }

    /// True with probability `num / den`.
    pub fn chance(&mut self, num: u64, den: u64) -> bool {
        self.below(den) < num
    }

    /// A uniformly chosen element; `items` must not be empty.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    /// An index chosen with the given integer weights (all zero gives 0).
    pub fn weighted(&mut self, weights: &[u32]) -> usize {
        let total: u64 = weights.iter().map(|w| u64::from(*w)).sum();
        let mut x = self.below(total);
        for (i, w) in weights.iter().enumerate() {
            let w = u64::from(*w);
            if x < w {
                return i;
            }
            x -= w;
        }
        0
    }

    /// A positive size around `median`, heavy-tailed: a product of a few integer factors, so
    /// most values sit within 4x of the median and a few reach 30x.
    pub fn skewed(&mut self, median: u64) -> u64 {
        let mut v = median.max(1) * 64;
        for _ in 0..3 {
            // factor in [1/2, 2) with more mass near 1, as a ratio over 64
            let f = 32 + self.below(33) + self.below(33) + self.below(31);
            v = v * f / 64;
        }
        if self.chance(1, 50) {
            v *= self.range(4, 16);
        }
        (v / 64).max(1)
    }

    /// Count of events for an expected rate given in hundredths (e.g. 250 = 2.5 on average).
    pub fn count(&mut self, rate_centi: u64) -> u64 {
        let whole = rate_centi / 100;
        let frac = rate_centi % 100;
        // spread whole over [0, 2*whole] keeping the mean, plus a Bernoulli for the fraction
        let base = if whole == 0 {
            0
        } else {
            self.below(whole + 1) + self.below(whole + 1)
        };
        base + u64::from(self.chance(frac, 100))
    }

    /// `n` lowercase hex digits.
    pub fn hex(&mut self, n: usize) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        (0..n)
            .map(|_| char::from(HEX[self.below(16) as usize]))
            .collect()
    }

    /// `n` characters from an alphabet (ASCII).
    pub fn from_alphabet(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| char::from(*self.pick(alphabet))).collect()
    }

    /// `n` uppercase letters and digits (access key ids, principal ids).
    pub fn upper_alnum(&mut self, n: usize) -> String {
        self.from_alphabet(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", n)
    }

    /// A random (version 4 looking) UUID string.
    pub fn uuid(&mut self) -> String {
        let a = self.hex(8);
        let b = self.hex(4);
        let c = self.hex(3);
        let d = self.hex(3);
        let e = self.hex(12);
        let variant = *self.pick(b"89ab");
        format!("{a}-{b}-4{c}-{}{d}-{e}", char::from(variant))
    }

    /// A public-looking IPv4 address (not private, loopback, link-local, multicast or reserved).
    pub fn public_ipv4(&mut self) -> u32 {
        loop {
            let ip = (self.next_u64() >> 32) as u32;
            let a = ip >> 24;
            let b = (ip >> 16) & 0xff;
            let private = a == 10
                || a == 0
                || a == 127
                || a >= 224
                || (a == 172 && (16..32).contains(&b))
                || (a == 192 && b == 168)
                || (a == 169 && b == 254)
                || (a == 100 && (64..128).contains(&b));
            if !private {
                return ip;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_sequence() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        let xs: Vec<u64> = (0..1000).map(|_| a.next_u64()).collect();
        let ys: Vec<u64> = (0..1000).map(|_| b.next_u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(Rng::new(43).next_u64(), Rng::new(42).next_u64());
    }

    #[test]
    fn known_values_do_not_drift() {
        // SplitMix64 reference values for seed 0 (as in the original C implementation).
        let mut r = Rng::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn derive_is_stable_and_independent() {
        assert_eq!(
            Rng::derive(7, "flows").next_u64(),
            Rng::derive(7, "flows").next_u64()
        );
        assert_ne!(
            Rng::derive(7, "flows").next_u64(),
            Rng::derive(7, "trail").next_u64()
        );
    }

    #[test]
    fn helpers_stay_in_range() {
        let mut r = Rng::new(1);
        for _ in 0..10_000 {
            assert!(r.below(10) < 10);
            let x = r.range(5, 9);
            assert!((5..9).contains(&x));
            assert!(r.skewed(1000) >= 1);
            let ip = r.public_ipv4();
            assert_ne!(ip >> 24, 10);
        }
        assert_eq!(r.below(0), 0);
        let u = r.uuid();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "4");
        assert_eq!(r.hex(17).len(), 17);
    }
}
