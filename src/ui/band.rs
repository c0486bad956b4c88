//! The entity's hourly traffic as a dense series, and its baseline band: for each hour of the
//! day, a low and a high quantile (10th and 90th by default) of the entity's own bytes at that
//! hour on the other days of the window. The alert's day is left out, so a spike does not widen
//! the band it is compared with.

/// One hour of traffic: `hour` is seconds since the epoch at the start of the hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourPoint {
    pub hour: i64,
    pub bytes_out: f64,
    pub bytes_in: f64,
}

/// The expected range of bytes out at one hour.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPoint {
    pub hour: i64,
    pub low: f64,
    pub high: f64,
}

const DAY: i64 = 86_400;

/// `points` made dense from the first day's midnight to the last day's last hour: an hour
/// without flows is 0 bytes, not a gap.
pub fn densify(points: &[HourPoint]) -> Vec<HourPoint> {
    let (Some(first), Some(last)) = (
        points.iter().map(|p| p.hour).min(),
        points.iter().map(|p| p.hour).max(),
    ) else {
        return vec![];
    };
    let start = first - first.rem_euclid(DAY);
    let end = last - last.rem_euclid(DAY) + DAY;
    let mut out: Vec<HourPoint> = (0..(end - start) / 3600)
        .map(|i| HourPoint {
            hour: start + i * 3600,
            bytes_out: 0.0,
            bytes_in: 0.0,
        })
        .collect();
    for p in points {
        let i = ((p.hour - start) / 3600) as usize;
        if let Some(slot) = out.get_mut(i) {
            slot.bytes_out += p.bytes_out;
            slot.bytes_in += p.bytes_in;
        }
    }
    out
}

/// The `q` quantile (0..=1) of `v` with linear interpolation; `None` when empty.
pub fn quantile(v: &mut [f64], q: f64) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

/// The band over every hour of `series` (dense), learned from the days other than the one
/// starting at `skip_day` (seconds, a midnight). Hours of the day with no other day have no
/// band point.
pub fn band(series: &[HourPoint], skip_day: i64, low_q: f64, high_q: f64) -> Vec<BandPoint> {
    let mut by_hour: Vec<Vec<f64>> = vec![vec![]; 24];
    for p in series {
        if p.hour - p.hour.rem_euclid(DAY) != skip_day {
            by_hour[(p.hour.rem_euclid(DAY) / 3600) as usize].push(p.bytes_out);
        }
    }
    let per_hour: Vec<Option<(f64, f64)>> = by_hour
        .into_iter()
        .map(|mut v| Some((quantile(&mut v, low_q)?, quantile(&mut v, high_q)?)))
        .collect();
    series
        .iter()
        .filter_map(|p| {
            let (low, high) = per_hour[(p.hour.rem_euclid(DAY) / 3600) as usize]?;
            Some(BandPoint {
                hour: p.hour,
                low,
                high,
            })
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn p(hour: i64, out: f64) -> HourPoint {
        HourPoint {
            hour: hour * 3600,
            bytes_out: out,
            bytes_in: 0.0,
        }
    }

    #[test]
    fn quantiles_interpolate() {
        assert_eq!(quantile(&mut [], 0.5), None);
        assert_eq!(quantile(&mut [3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(quantile(&mut [0.0, 10.0], 0.9), Some(9.0));
        assert_eq!(quantile(&mut [5.0], 0.1), Some(5.0));
    }

    #[test]
    fn gaps_become_zero_hours_over_whole_days() {
        let d = densify(&[p(2, 5.0), p(30, 7.0)]);
        assert_eq!(d.len(), 48);
        assert_eq!(d[2].bytes_out, 5.0);
        assert_eq!(d[30].bytes_out, 7.0);
        assert_eq!(d[3].bytes_out, 0.0);
        assert!(densify(&[]).is_empty());
    }

    #[test]
    fn the_alert_day_does_not_widen_its_own_band() {
        // Three days: 100 and 200 bytes at 11:00 on the first two, a 1 MB spike on the third.
        let s = densify(&[p(11, 100.0), p(35, 200.0), p(59, 1e6)]);
        let b = band(&s, 2 * DAY, 0.1, 0.9);
        let at = |h: i64| b.iter().find(|x| x.hour == h * 3600).copied().unwrap();
        let spike = at(59);
        assert!((spike.low - 110.0).abs() < 1e-9, "{spike:?}");
        assert!((spike.high - 190.0).abs() < 1e-9, "{spike:?}");
        assert_eq!(at(12).high, 0.0);
        // Without leaving the spike's day out, the band would reach it.
        let with = band(&s, -1, 0.1, 0.9);
        assert!(with.iter().any(|x| x.high > 1e5));
    }
}
