//! The baseline band of a baseline detector's alert: what was expected of the entity at that
//! hour of day, what was observed, how far out that is and whose history the expectation came
//! from. Detectors that learn in log space (`ln(1 + bytes)`, mean and standard deviation) give
//! their model here and get the band in the units an analyst reads (`evidence.band`).

use serde::Serialize;

/// Whose history the expectation comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// The entity's own history.
    Instance,
    /// Its peer group (a new entity, or one with too little history of its own).
    PeerGroup,
}

/// `evidence.band`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Band {
    /// UTC hour of day (0-23) the expectation is for.
    pub hour_of_day: u32,
    /// Low end of the expected range.
    pub expected_low: u64,
    /// High end of the expected range (the alert threshold).
    pub expected_high: u64,
    /// What was observed.
    pub observed: u64,
    /// Unit of the three values (`bytes_out_per_hour`, …).
    pub unit: &'static str,
    /// `observed / expected_high`, one decimal.
    pub times_expected: f64,
    /// What `times_expected` divides by (always `expected_high`).
    pub times_expected_of: &'static str,
    /// Standard deviations above the expected mean, in log space, one decimal.
    pub z_score: f64,
    /// Whose history.
    pub basis: Basis,
}

impl Band {
    /// The band of a log-space model `ln(1 + x) ~ (mean, std)`, `sigmas` wide either side.
    pub fn from_log_model(
        hour_of_day: u32,
        (mean, std): (f32, f32),
        sigmas: f32,
        observed: u64,
        unit: &'static str,
        basis: Basis,
    ) -> Self {
        let (mean, std, sigmas) = (f64::from(mean), f64::from(std), f64::from(sigmas));
        let low = (mean - sigmas * std).exp_m1().max(0.0);
        let high = (mean + sigmas * std).exp_m1().max(0.0);
        let x = (observed as f64).ln_1p();
        let z = if std > 0.0 { (x - mean) / std } else { 0.0 };
        Band {
            hour_of_day,
            expected_low: low.round() as u64,
            expected_high: high.round() as u64,
            observed,
            unit,
            times_expected: round1(observed as f64 / high.max(1.0)),
            times_expected_of: "expected_high",
            z_score: round1(z),
            basis,
        }
    }

    /// The band of a detector that alerts above a fixed `threshold` (its `expected_high`) on
    /// top of a log-space model of the usual value (its `expected_low` is one deviation under
    /// the mean).
    pub fn from_threshold(
        hour_of_day: u32,
        (mean, std): (f32, f32),
        threshold: u64,
        observed: u64,
        unit: &'static str,
        basis: Basis,
    ) -> Self {
        let mut b = Self::from_log_model(hour_of_day, (mean, std), 1.0, observed, unit, basis);
        b.expected_high = threshold.max(b.expected_low);
        b.times_expected = round1(observed as f64 / (b.expected_high as f64).max(1.0));
        b
    }

    /// As JSON for the evidence.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or(serde_json::Value::Null)
    }
}

fn round1(x: f64) -> f64 {
    if x.is_finite() {
        (x * 10.0).round() / 10.0
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spike_is_far_above_the_band_of_its_own_history() {
        // Usually ~100 KB an hour (ln 100_001 ≈ 11.51), std 0.5, 4 sigmas wide.
        let b = Band::from_log_model(
            11,
            (11.51, 0.5),
            4.0,
            10_788_486,
            "bytes_out_per_hour",
            Basis::Instance,
        );
        assert_eq!(b.hour_of_day, 11);
        assert!(b.expected_low < 100_000 && b.expected_low > 10_000, "{b:?}");
        assert!(
            b.expected_high > 100_000 && b.expected_high < 1_000_000,
            "{b:?}"
        );
        assert!(b.times_expected > 10.0, "{b:?}");
        assert!(b.z_score > 4.0, "{b:?}");
        let v = b.to_json();
        assert_eq!(v["basis"], "instance");
        assert_eq!(v["unit"], "bytes_out_per_hour");
        assert_eq!(v["times_expected_of"], "expected_high");
    }

    #[test]
    fn a_peer_group_band_says_so_and_a_normal_hour_is_inside() {
        let b = Band::from_log_model(
            3,
            (11.51, 0.5),
            4.0,
            100_000,
            "bytes_out_per_hour",
            Basis::PeerGroup,
        );
        assert_eq!(b.to_json()["basis"], "peer_group");
        assert!(
            b.expected_low <= b.observed && b.observed <= b.expected_high,
            "{b:?}"
        );
        assert!(b.times_expected < 1.0);
        // No spread: the z-score is 0, not infinite.
        let flat = Band::from_log_model(0, (0.0, 0.0), 4.0, 5, "bytes", Basis::Instance);
        assert_eq!(flat.z_score, 0.0);
        assert_eq!(flat.expected_high, 0);
        assert_eq!(flat.times_expected, 5.0);
    }

    #[test]
    fn a_threshold_band_measures_against_the_threshold() {
        let b = Band::from_threshold(
            2,
            (11.51, 0.5),
            5_000_000,
            20_000_000,
            "bytes_out_per_hour",
            Basis::Instance,
        );
        assert_eq!(b.expected_high, 5_000_000);
        assert_eq!(b.times_expected, 4.0);
        assert!(b.expected_low < 100_000);
    }
}
