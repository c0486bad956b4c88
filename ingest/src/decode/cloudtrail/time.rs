//! `eventTime` into UTC milliseconds: a fast path for what CloudTrail writes
//! (`2026-01-08T10:05:00Z`, optionally with fractional seconds), and chrono's RFC 3339 parser
//! for everything else (offsets, leap seconds). Digits past milliseconds are truncated.

use chrono::{DateTime, NaiveDate};

/// Milliseconds since the epoch, or `None` when `s` is not an RFC 3339 date-time.
pub(crate) fn parse_event_time(s: &str) -> Option<i64> {
    fast(s.as_bytes()).or_else(|| {
        DateTime::parse_from_rfc3339(s)
            .ok()
            .map(|t| t.timestamp_millis())
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fff…]Z` only.
fn fast(b: &[u8]) -> Option<i64> {
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let digit = |i: usize| -> Option<u32> {
        let c = b[i].wrapping_sub(b'0');
        (c < 10).then_some(u32::from(c))
    };
    let two = |i: usize| -> Option<u32> { Some(digit(i)? * 10 + digit(i + 1)?) };
    let year = two(0)? * 100 + two(2)?;
    let (month, day, hour, min, sec) = (two(5)?, two(8)?, two(11)?, two(14)?, two(17)?);
    let mut i = 19;
    let mut ms = 0u32;
    if b[i] == b'.' {
        i += 1;
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            if i - start < 3 {
                ms = ms * 10 + u32::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return None;
        }
        for _ in (i - start).min(3)..3 {
            ms *= 10;
        }
    }
    if i + 1 != b.len() || !matches!(b[i], b'Z' | b'z') || hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    let t = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_hms_milli_opt(hour, min, sec, ms)?;
    Some(t.and_utc().timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_event_times() {
        let base = 1_767_866_700_000; // 2026-01-08T10:05:00Z
        let cases: &[(&str, Option<i64>)] = &[
            ("2026-01-08T10:05:00Z", Some(base)),
            ("2026-01-08T10:05:00.5Z", Some(base + 500)),
            ("2026-01-08T10:05:00.123Z", Some(base + 123)),
            ("2026-01-08T10:05:00.123456789Z", Some(base + 123)),
            ("2026-01-08T11:05:00+01:00", Some(base)),
            ("2026-01-08t10:05:00z", Some(base)),
            ("1969-12-31T23:59:59Z", Some(-1000)),
            ("2026-02-30T10:05:00Z", None),
            ("2026-01-08T24:00:00Z", None),
            ("2026-01-08T10:05:00", None),
            ("2026-01-08T10:05:00.Z", None),
            ("2026-01-08", None),
            ("yesterday", None),
            ("", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_event_time(s), *want, "{s}");
        }
    }
}
