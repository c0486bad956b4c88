//! Building blocks of evidence SQL: quoting, the alert's time window as partition and
//! event-time predicates (so `flowtrail query` prunes to the hours behind the alert), and the
//! entity as a predicate on `flows` or `cloudtrail`.
//!
//! Every query built here is a plain `SELECT` over the lake's tables, runnable as is with
//! `flowtrail query "<sql>" --lake DIR` (and by Athena or DuckDB over the same files).

use chrono::{DateTime, SecondsFormat, Utc};
use flowtrail_core::{Entity, EntityKind};

const HOUR_MS: i64 = 3_600_000;

/// The `flows` columns evidence queries return.
pub const FLOW_COLUMNS: &str = "event_time, account_id, interface_id, instance_id, srcaddr, dstaddr, srcport, dstport, protocol, packets, bytes, action";

/// The `cloudtrail` columns evidence queries return.
pub const CLOUDTRAIL_COLUMNS: &str = "event_time, event_id, event_name, event_source, user_identity_arn, source_ip_address, error_code, aws_region";

/// A SQL string literal (`'` doubled).
pub fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `col IN ('a', 'b')` (`FALSE` for no values, so the query stays valid).
pub fn in_list<S: AsRef<str>>(col: &str, values: &[S]) -> String {
    if values.is_empty() {
        return "FALSE".into();
    }
    let v: Vec<String> = values.iter().map(|s| quote(s.as_ref())).collect();
    format!("{col} IN ({})", v.join(", "))
}

/// The whole hours around an alert's first and last evidence, `[from, to)` in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start of the first hour (ms).
    pub from_ms: i64,
    /// End of the last hour (ms, exclusive).
    pub to_ms: i64,
}

fn ts(ms: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(ms).unwrap_or_default()
}

impl Window {
    /// The hours from `first_ms`'s to `last_ms`'s, inclusive.
    pub fn of(first_ms: i64, last_ms: i64) -> Self {
        let from_ms = first_ms.div_euclid(HOUR_MS) * HOUR_MS;
        let to_ms = last_ms.max(first_ms).div_euclid(HOUR_MS) * HOUR_MS + HOUR_MS;
        Window { from_ms, to_ms }
    }

    /// `date`/`hour` partition predicate (the hours of the window).
    pub fn partitions(&self) -> String {
        let (a, b) = (ts(self.from_ms), ts(self.to_ms - 1));
        let (da, db) = (a.format("%Y-%m-%d"), b.format("%Y-%m-%d"));
        let (ha, hb) = (a.format("%H"), b.format("%H"));
        if da.to_string() == db.to_string() {
            format!("date = '{da}' AND hour BETWEEN '{ha}' AND '{hb}'")
        } else {
            format!("date BETWEEN '{da}' AND '{db}'")
        }
    }

    /// Partitions and `event_time` within the window (`flows`, `cloudtrail`).
    pub fn predicate(&self) -> String {
        format!(
            "{} AND event_time >= TIMESTAMP '{}' AND event_time < TIMESTAMP '{}'",
            self.partitions(),
            rfc(self.from_ms),
            rfc(self.to_ms)
        )
    }

    /// The `alerts` table's `date` partitions and `first_seen` within the window widened by
    /// `days` either side (alerts of a sequence may be days apart).
    pub fn alerts_predicate(&self, days: i64) -> String {
        let day = 24 * HOUR_MS;
        let (a, b) = (ts(self.from_ms - days * day), ts(self.to_ms + days * day));
        format!(
            "date BETWEEN '{}' AND '{}'",
            a.format("%Y-%m-%d"),
            b.format("%Y-%m-%d")
        )
    }
}

/// RFC 3339 UTC with seconds, as `flowtrail query --format json` prints timestamps.
pub fn rfc(ms: i64) -> String {
    ts(ms).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The entity as a predicate on `flows` (`None` for kinds flows do not carry).
pub fn flows_entity(e: &Entity) -> Option<String> {
    let id = quote(&e.id);
    match e.kind {
        EntityKind::Instance => Some(format!("instance_id = {id}")),
        EntityKind::Eni => Some(format!("interface_id = {id}")),
        EntityKind::Ip => Some(format!("(srcaddr = {id} OR dstaddr = {id})")),
        EntityKind::Principal | EntityKind::SecurityGroup => None,
    }
}

/// The entity as a predicate on `cloudtrail`.
pub fn cloudtrail_entity(e: &Entity) -> String {
    let id = quote(&e.id);
    match e.kind {
        EntityKind::Principal => format!("user_identity_arn = {id}"),
        EntityKind::Ip => format!("source_ip_address = {id}"),
        // A resource id appears in the request or the response.
        _ => {
            format!("(strpos(request_parameters, {id}) > 0 OR strpos(response_elements, {id}) > 0)")
        }
    }
}

/// `SELECT <FLOW_COLUMNS> FROM flows WHERE <window> AND <extra> ORDER BY …`.
pub fn flows_query(w: &Window, extra: &[String], order: &str) -> String {
    let mut q = format!("SELECT {FLOW_COLUMNS} FROM flows WHERE {}", w.predicate());
    for e in extra {
        q.push_str(" AND ");
        q.push_str(e);
    }
    q.push_str(" ORDER BY ");
    q.push_str(order);
    q
}

/// `SELECT <CLOUDTRAIL_COLUMNS> FROM cloudtrail WHERE <window> AND <extra> ORDER BY event_time`.
pub fn cloudtrail_query(w: &Window, extra: &[String]) -> String {
    let mut q = format!(
        "SELECT {CLOUDTRAIL_COLUMNS} FROM cloudtrail WHERE {}",
        w.predicate()
    );
    for e in extra {
        q.push_str(" AND ");
        q.push_str(e);
    }
    q.push_str(" ORDER BY event_time, event_id");
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_whole_hours_and_prune_by_partition() {
        // 2026-01-08T11:01:36Z .. 11:57:50Z
        let w = Window::of(1_767_870_096_000, 1_767_873_470_000);
        assert_eq!(w.to_ms - w.from_ms, HOUR_MS);
        assert_eq!(
            w.partitions(),
            "date = '2026-01-08' AND hour BETWEEN '11' AND '11'"
        );
        assert!(
            w.predicate()
                .contains("event_time >= TIMESTAMP '2026-01-08T11:00:00Z'")
        );
        assert!(
            w.predicate()
                .contains("event_time < TIMESTAMP '2026-01-08T12:00:00Z'")
        );
        // Across midnight: the dates.
        let w = Window::of(1_767_830_400_000 - 1, 1_767_830_400_000);
        assert_eq!(w.partitions(), "date BETWEEN '2026-01-07' AND '2026-01-08'");
        assert_eq!(
            w.alerts_predicate(1),
            "date BETWEEN '2026-01-06' AND '2026-01-09'"
        );
    }

    #[test]
    fn literals_are_quoted() {
        assert_eq!(quote("o'hara"), "'o''hara'");
        assert_eq!(
            in_list("event_id", &["a", "b'"]),
            "event_id IN ('a', 'b''')"
        );
        assert_eq!(in_list::<&str>("event_id", &[]), "FALSE");
        let e = Entity {
            kind: EntityKind::Ip,
            id: "10.0.0.1".into(),
        };
        assert_eq!(
            flows_entity(&e).as_deref(),
            Some("(srcaddr = '10.0.0.1' OR dstaddr = '10.0.0.1')")
        );
        assert_eq!(cloudtrail_entity(&e), "source_ip_address = '10.0.0.1'");
    }
}
