//! UTC civil time from Unix seconds, integer-only (no allocation, no `Option`), and the few
//! text forms the AWS layouts use.

/// Seconds in a day.
pub const DAY: i64 = 86_400;

/// Broken-down UTC time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
    /// Year.
    pub year: i64,
    /// Month 1-12.
    pub month: u32,
    /// Day of month 1-31.
    pub day: u32,
    /// Hour 0-23.
    pub hour: u32,
    /// Minute 0-59.
    pub minute: u32,
    /// Second 0-59.
    pub second: u32,
}

/// Unix seconds to UTC civil time (Howard Hinnant's `civil_from_days`).
pub fn civil(ts: i64) -> Civil {
    let days = ts.div_euclid(DAY);
    let secs = ts.rem_euclid(DAY);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (secs / 3600) as u32,
        minute: (secs % 3600 / 60) as u32,
        second: (secs % 60) as u32,
    }
}

/// `2026-01-08T10:05:00Z`
pub fn rfc3339(ts: i64) -> String {
    let c = civil(ts);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// `20260108T1005Z` (flow-log and CloudTrail file names)
pub fn compact_minute(ts: i64) -> String {
    let c = civil(ts);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute
    )
}

/// `20260108T100500Z` (digest file names)
pub fn compact_second(ts: i64) -> String {
    let c = civil(ts);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// Hour of day 0-23.
pub fn hour_of_day(ts: i64) -> u32 {
    (ts.rem_euclid(DAY) / 3600) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_chrono() {
        for ts in [
            0,
            1_767_657_600,
            1_767_657_600 + 2 * DAY + 36_300,
            951_782_400,
            4_102_444_799,
        ] {
            let ours = rfc3339(ts);
            let theirs = chrono::DateTime::from_timestamp(ts, 0)
                .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                .unwrap_or_default();
            assert_eq!(ours, theirs, "{ts}");
        }
        assert_eq!(
            compact_minute(1_767_657_600 + 2 * DAY + 36_300),
            "20260108T1005Z"
        );
        assert_eq!(compact_second(1_767_657_600 + 59), "20260106T000059Z");
    }
}
