//! Running statistics for baselines: mean and variance with exponential forgetting, so a
//! baseline follows a workload that changes slowly and stays small (three numbers).

use serde::{Deserialize, Serialize};

/// Mean/variance of a series, exact for the first `1/alpha` samples, then an exponentially
/// weighted moving average (EWMA) with weight `alpha`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Ewma {
    /// Samples seen (saturating).
    pub n: u32,
    /// Mean.
    pub mean: f32,
    /// Variance.
    pub var: f32,
}

/// Weight of a new sample once warmed up.
pub const ALPHA: f32 = 0.1;

impl Ewma {
    /// Add a sample.
    pub fn push(&mut self, x: f32) {
        self.n = self.n.saturating_add(1);
        let a = (1.0 / self.n as f32).max(ALPHA);
        let d = x - self.mean;
        self.mean += a * d;
        self.var = (1.0 - a) * (self.var + a * d * d);
    }

    /// Standard deviation.
    pub fn std(&self) -> f32 {
        self.var.max(0.0).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn first_samples_are_exact() {
        let mut e = Ewma::default();
        for x in [2.0, 4.0, 6.0] {
            e.push(x);
        }
        assert!((e.mean - 4.0).abs() < 1e-5);
        assert!((e.var - 8.0 / 3.0).abs() < 1e-4, "{}", e.var);
    }

    proptest! {
        // The mean stays within the range of the samples and the variance is never negative.
        #[test]
        fn mean_within_range(xs in proptest::collection::vec(-1e6f32..1e6, 1..200)) {
            let mut e = Ewma::default();
            for &x in &xs { e.push(x); }
            let lo = xs.iter().cloned().fold(f32::INFINITY, f32::min);
            let hi = xs.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            prop_assert!(e.mean >= lo - 1.0 && e.mean <= hi + 1.0);
            prop_assert!(e.var >= 0.0);
        }
    }
}
