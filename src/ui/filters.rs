//! The alert list's filters, from the query string (`?severity=high&detector=port_scan&
//! account=012345678901&from=2026-01-07&to=2026-01-08`) to a SQL predicate. Every value is
//! validated against what it can be (a severity, an identifier, a date or RFC 3339 time) before
//! it is quoted into SQL; a bad value is an error naming it, not an empty list.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;

use super::queries::lit;

/// Severities, lowest first.
pub const SEVERITIES: [&str; 5] = ["info", "low", "medium", "high", "critical"];

/// The raw query string of the list page.
#[derive(Debug, Default, Clone, Deserialize)]
pub struct AlertFilter {
    #[serde(default)]
    pub severity: Option<String>,
    #[serde(default)]
    pub detector: Option<String>,
    #[serde(default)]
    pub account: Option<String>,
    #[serde(default)]
    pub from: Option<String>,
    #[serde(default)]
    pub to: Option<String>,
}

/// A filter value that cannot be.
#[derive(Debug, PartialEq, Eq)]
pub struct FilterError {
    pub field: &'static str,
    pub value: String,
    pub reason: &'static str,
}

impl std::fmt::Display for FilterError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "bad filter {}={:?}: {}",
            self.field, self.value, self.reason
        )
    }
}

impl std::error::Error for FilterError {}

fn set(v: &Option<String>) -> Option<&str> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty())
}

/// Letters, digits and `_ - . : /`, as detector ids and account ids are.
pub fn is_ident(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 256
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-.:/@+=,".contains(c))
}

/// A point in time: `YYYY-MM-DD` (midnight UTC, or the next midnight when `end`) or RFC 3339.
fn instant(field: &'static str, v: &str, end: bool) -> Result<DateTime<Utc>, FilterError> {
    if let Ok(d) = NaiveDate::parse_from_str(v, "%Y-%m-%d") {
        let d = if end { d.succ_opt().unwrap_or(d) } else { d };
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| FilterError {
            field,
            value: v.into(),
            reason: "expected YYYY-MM-DD or an RFC 3339 time",
        })
}

fn ts(t: DateTime<Utc>) -> String {
    format!("TIMESTAMP '{}'", t.format("%Y-%m-%dT%H:%M:%SZ"))
}

impl AlertFilter {
    /// The predicate over `alerts` (alerts started within the range; `date` partitions pruned).
    pub fn to_sql(&self) -> Result<String, FilterError> {
        let mut p = vec!["TRUE".to_string()];
        if let Some(s) = set(&self.severity) {
            if !SEVERITIES.contains(&s) {
                return Err(bad("severity", s, "not a severity"));
            }
            p.push(format!("severity = {}", lit(s)));
        }
        for (field, v, col) in [
            ("detector", &self.detector, "detector"),
            ("account", &self.account, "account_id"),
        ] {
            if let Some(s) = set(v) {
                if !is_ident(s) {
                    return Err(bad(field, s, "not an identifier"));
                }
                p.push(format!("{col} = {}", lit(s)));
            }
        }
        if let Some(s) = set(&self.from) {
            let t = instant("from", s, false)?;
            p.push(format!("date >= '{}'", t.format("%Y-%m-%d")));
            p.push(format!("first_seen >= {}", ts(t)));
        }
        if let Some(s) = set(&self.to) {
            let t = instant("to", s, true)?;
            // The partition of the last instant before `t`.
            let last = t - chrono::Duration::milliseconds(1);
            p.push(format!("date <= '{}'", last.format("%Y-%m-%d")));
            p.push(format!("first_seen < {}", ts(t)));
        }
        Ok(p.join(" AND "))
    }

    /// The value of a filter for the form (as typed).
    pub fn value(&self, field: &str) -> &str {
        let v = match field {
            "severity" => &self.severity,
            "detector" => &self.detector,
            "account" => &self.account,
            "from" => &self.from,
            "to" => &self.to,
            _ => &None,
        };
        v.as_deref().unwrap_or("")
    }
}

fn bad(field: &'static str, v: &str, reason: &'static str) -> FilterError {
    FilterError {
        field,
        value: v.into(),
        reason,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn f(sev: &str, det: &str, acct: &str, from: &str, to: &str) -> AlertFilter {
        let o = |s: &str| (!s.is_empty()).then(|| s.to_string());
        AlertFilter {
            severity: o(sev),
            detector: o(det),
            account: o(acct),
            from: o(from),
            to: o(to),
        }
    }

    #[test]
    fn no_filter_is_everything() {
        assert_eq!(AlertFilter::default().to_sql().unwrap(), "TRUE");
        assert_eq!(f(" ", "", "", "", "").to_sql().unwrap(), "TRUE");
    }

    #[test]
    fn each_filter_becomes_a_predicate() {
        let s = f(
            "high",
            "port_scan",
            "012345678901",
            "2026-01-07",
            "2026-01-08",
        )
        .to_sql()
        .unwrap();
        assert!(s.contains("severity = 'high'"), "{s}");
        assert!(s.contains("detector = 'port_scan'"), "{s}");
        assert!(s.contains("account_id = '012345678901'"), "{s}");
        // Both days inclusive: the partitions of the 7th and 8th, times before the 9th.
        assert!(s.contains("date >= '2026-01-07'"), "{s}");
        assert!(s.contains("date <= '2026-01-08'"), "{s}");
        assert!(
            s.contains("first_seen < TIMESTAMP '2026-01-09T00:00:00Z'"),
            "{s}"
        );
    }

    #[test]
    fn an_rfc3339_bound_is_kept_to_the_second() {
        let s = f("", "", "", "2026-01-08T10:30:00+01:00", "")
            .to_sql()
            .unwrap();
        assert!(
            s.contains("first_seen >= TIMESTAMP '2026-01-08T09:30:00Z'"),
            "{s}"
        );
    }

    #[test]
    fn bad_values_are_refused_not_quoted() {
        let e = f("urgent", "", "", "", "").to_sql().unwrap_err();
        assert_eq!(e.field, "severity");
        let e = f("", "x' OR '1'='1", "", "", "").to_sql().unwrap_err();
        assert_eq!(e.field, "detector");
        let e = f("", "", "", "yesterday", "").to_sql().unwrap_err();
        assert_eq!(e.field, "from");
        assert!(f("", "", "", "", "2026-13-01").to_sql().is_err());
    }
}
