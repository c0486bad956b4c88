//! The site's SQL: every statement the pages run, built from validated inputs with quoted
//! literals, and run through the same read-only guard as `flowtrail query` (no DDL, no DML, no
//! SET). Results come back as strings, the form the pages print them in.

use anyhow::Context;
use arrow::array::RecordBatch;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::prelude::SessionContext;

use crate::lake_tables;

/// Rows of a query, every value formatted as text (null stays `None`).
#[derive(Debug, Default, Clone)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

impl Rows {
    fn index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// The value of column `name` in row `r` (`None` when null, missing or empty).
    pub fn get(&self, r: usize, name: &str) -> Option<&str> {
        let i = self.index(name)?;
        let v = self.rows.get(r)?.get(i)?.as_deref()?;
        (!v.is_empty()).then_some(v)
    }

    /// The number in column `name` of row `r`, 0 when null or not a number.
    pub fn num(&self, r: usize, name: &str) -> f64 {
        self.get(r, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0)
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

/// A SQL string literal: `'` doubled. Inputs reaching here are validated first (no control
/// characters or backslashes), so this is the whole of the quoting.
pub fn lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Run `sql` read-only.
pub async fn run(ctx: &SessionContext, sql: impl AsRef<str>) -> anyhow::Result<Rows> {
    let sql = sql.as_ref();
    let t = std::time::Instant::now();
    let df = ctx
        .sql_with_options(sql, lake_tables::read_only_sql())
        .await
        .with_context(|| format!("planning {sql}"))?;
    let planned = t.elapsed().as_millis();
    let batches = df.collect().await.context("running the query")?;
    let rows = to_rows(&batches)?;
    tracing::debug!(
        planned_ms = planned,
        total_ms = t.elapsed().as_millis() as u64,
        rows = rows.len(),
        sql,
        "ui query"
    );
    Ok(rows)
}

fn to_rows(batches: &[RecordBatch]) -> anyhow::Result<Rows> {
    let mut out = Rows::default();
    let opts = FormatOptions::default().with_null("");
    for b in batches {
        if out.columns.is_empty() {
            out.columns = b
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().clone())
                .collect();
        }
        let fmts = b
            .columns()
            .iter()
            .map(|c| ArrayFormatter::try_new(c.as_ref(), &opts))
            .collect::<Result<Vec<_>, _>>()?;
        for r in 0..b.num_rows() {
            let row = (0..b.num_columns())
                .map(|c| (!b.column(c).is_null(r)).then(|| fmts[c].value(r).to_string()))
                .collect();
            out.rows.push(row);
        }
    }
    Ok(out)
}

/// The alert columns the pages read, list columns joined (steps with U+001F).
pub const ALERT_COLUMNS: &str = "id, detector, severity, title, account_id, region, entity_kind, \
    entity_id, first_seen, last_seen, CAST(to_unixtime(first_seen) AS BIGINT) AS first_s, \
    CAST(to_unixtime(last_seen) AS BIGINT) AS last_s, count, dedupe_key, evidence, \
    array_to_string(attack_tactics, ', ') AS tactics, \
    array_to_string(attack_techniques, ', ') AS techniques, why, \
    array_to_string(next_steps, chr(31)) AS next_steps, asset, date";

/// One alert by id.
pub fn alert(id: &str) -> String {
    format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE id = {} LIMIT 1",
        lit(id)
    )
}

/// The list page: alerts matching `where_sql` (from [`super::filters`]), newest first.
pub fn alert_list(where_sql: &str) -> String {
    format!(
        "SELECT id, severity, detector, title, account_id, entity_kind, entity_id, first_seen, \
         last_seen, count FROM alerts WHERE {where_sql} ORDER BY first_seen DESC, id LIMIT 500"
    )
}

/// The values the list's filter menus offer.
pub const FILTER_VALUES: &str = "SELECT DISTINCT 'detector' AS k, detector AS v FROM alerts \
    UNION ALL SELECT DISTINCT 'account', account_id FROM alerts WHERE account_id IS NOT NULL \
    ORDER BY k, v";

/// Alerts naming `entity_id` (as entity or anywhere in the evidence).
pub fn alerts_about(entity_id: &str) -> String {
    format!(
        "SELECT id, severity, detector, title, first_seen FROM alerts WHERE entity_id = {0} \
         OR strpos(evidence, {0}) > 0 ORDER BY first_seen LIMIT 100",
        lit(entity_id)
    )
}

/// Which flow rows belong to an entity of the network: an interface, the interfaces of an
/// instance, or an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NetEntity {
    Eni(String),
    Instance(String),
    /// An instance whose interfaces the inventory names.
    InstanceOn(String, Vec<String>),
    Ip(String),
}

impl NetEntity {
    /// The flows predicate; an instance's interfaces are those its flow records name within
    /// `days` and those the inventory attaches to it.
    pub fn predicate(&self, days: &str) -> String {
        match self {
            NetEntity::Eni(id) => format!("interface_id = {}", lit(id)),
            NetEntity::Instance(id) => format!(
                "interface_id IN (SELECT DISTINCT interface_id FROM flows WHERE {days} AND \
                 instance_id = {0} UNION SELECT DISTINCT interface_id FROM inventory \
                 WHERE instance_id = {0})",
                lit(id)
            ),
            NetEntity::InstanceOn(_, enis) => format!("interface_id IN {}", in_list(enis)),
            NetEntity::Ip(ip) => format!("(srcaddr = {0} OR dstaddr = {0})", lit(ip)),
        }
    }

    pub fn id(&self) -> &str {
        match self {
            NetEntity::Eni(s)
            | NetEntity::Instance(s)
            | NetEntity::InstanceOn(s, _)
            | NetEntity::Ip(s) => s,
        }
    }
}

fn in_list(v: &[String]) -> String {
    if v.is_empty() {
        return "(NULL)".into();
    }
    let v: Vec<String> = v.iter().map(|a| lit(a)).collect();
    format!("({})", v.join(", "))
}

/// The interfaces the inventory has seen an instance on.
pub fn instance_interfaces(instance: &str) -> String {
    format!(
        "SELECT DISTINCT interface_id FROM inventory WHERE instance_id = {} \
         AND interface_id IS NOT NULL ORDER BY interface_id LIMIT 100",
        lit(instance)
    )
}

/// A partition filter on `date` (inclusive, `YYYY-MM-DD`).
pub fn dates(from: &str, to: &str) -> String {
    format!("date >= {} AND date <= {}", lit(from), lit(to))
}

/// A partition filter on `date` and `hour` covering the hours from `from` to `to` (seconds,
/// UTC; at most 62 days).
pub fn hours(from: i64, to: i64) -> String {
    let day = |t: i64| {
        chrono::DateTime::from_timestamp(t, 0)
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    };
    if to < from {
        return "FALSE".into();
    }
    let to = to.min(from + 62 * 86_400);
    let mut parts = vec![];
    let mut start = from - from.rem_euclid(86_400);
    while start <= to {
        let (lo, hi) = (from.max(start) - start, to.min(start + 86_399) - start);
        parts.push(format!(
            "(date = '{}' AND hour >= '{:02}' AND hour <= '{:02}')",
            day(start),
            lo / 3600,
            hi / 3600
        ));
        start += 86_400;
    }
    format!("({})", parts.join(" OR "))
}

/// The entity's flows over `days`, summed per interface, hour, address pair, service port
/// (the lower of the two ports), protocol and action: one scan of the lake per page, from
/// which the addresses, placement, hourly series, peers and biggest flows are drawn.
pub fn flow_summary(e: &NetEntity, days: &str) -> String {
    format!(
        "SELECT interface_id, instance_id, subnet_id, vpc_id, date, hour, srcaddr, dstaddr, \
         LEAST(srcport, dstport) AS port, protocol, action, SUM(bytes) AS bytes, \
         SUM(packets) AS packets, COUNT(*) AS flows, \
         CAST(to_unixtime(MIN(event_time)) AS BIGINT) AS first_s, \
         CAST(to_unixtime(MAX(event_time)) AS BIGINT) AS last_s \
         FROM flows WHERE {days} AND {p} \
         GROUP BY interface_id, instance_id, subnet_id, vpc_id, date, hour, srcaddr, dstaddr, \
         LEAST(srcport, dstport), protocol, action LIMIT {SUMMARY_ROWS}",
        p = e.predicate(days)
    )
}

/// At most this many summary rows are read for one page.
pub const SUMMARY_ROWS: usize = 200_000;

/// What the newest inventory snapshot says of an interface, instance or address.
pub fn inventory(id: &str) -> String {
    format!(
        "SELECT interface_id, instance_id, private_ip, subnet_id, vpc_id, security_groups, \
         image_id, instance_profile, name, tags, valid_from, valid_to, source FROM inventory \
         WHERE snapshot_time = (SELECT MAX(snapshot_time) FROM inventory) \
         AND (interface_id = {0} OR instance_id = {0} OR private_ip = {0}) \
         ORDER BY valid_from LIMIT 50",
        lit(id)
    )
}

/// Who the entity is in CloudTrail: the principal's own calls, or the calls naming the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrailSubject {
    Principal(String),
    Mentions(String),
}

/// The CloudTrail timeline of a subject within `days`.
pub fn trail(s: &TrailSubject, days: &str) -> String {
    let p = match s {
        TrailSubject::Principal(arn) => format!("user_identity_arn = {}", lit(arn)),
        TrailSubject::Mentions(id) => format!(
            "(source_ip_address = {0} OR strpos(coalesce(request_parameters, ''), {0}) > 0 \
             OR strpos(coalesce(response_elements, ''), {0}) > 0 \
             OR strpos(coalesce(resources, ''), {0}) > 0)",
            lit(id)
        ),
    };
    format!(
        "SELECT event_time, event_name, event_source, user_identity_arn, source_ip_address, \
         error_code, recipient_account_id FROM cloudtrail WHERE {days} AND {p} \
         ORDER BY event_time, event_name LIMIT 200"
    )
}

/// A principal's calls by name, most frequent first.
pub fn principal_summary(arn: &str, days: &str) -> String {
    format!(
        "SELECT event_name, event_source, COUNT(*) AS calls, \
         SUM(CASE WHEN error_code IS NULL THEN 0 ELSE 1 END) AS denied, \
         COUNT(DISTINCT source_ip_address) AS source_ips, MIN(event_time) AS first_seen, \
         MAX(event_time) AS last_seen FROM cloudtrail WHERE {days} AND user_identity_arn = {} \
         GROUP BY 1, 2 ORDER BY calls DESC, event_name LIMIT 100",
        lit(arn)
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn literals_double_their_quotes() {
        assert_eq!(lit("a'b"), "'a''b'");
        assert!(alert("x' OR '1'='1").contains("'x'' OR ''1''=''1'"));
    }

    #[test]
    fn an_instance_reads_the_interfaces_it_was_seen_on() {
        let p = NetEntity::Instance("i-1".into()).predicate("date = 'd'");
        assert!(p.contains("date = 'd' AND instance_id = 'i-1'"), "{p}");
        assert!(
            p.contains("FROM inventory WHERE instance_id = 'i-1'"),
            "{p}"
        );
        let p = NetEntity::InstanceOn("i-1".into(), vec!["eni-1".into(), "eni-2".into()])
            .predicate("TRUE");
        assert_eq!(p, "interface_id IN ('eni-1', 'eni-2')");
        let p = NetEntity::Ip("10.0.0.1".into()).predicate("TRUE");
        assert!(p.contains("dstaddr = '10.0.0.1'"), "{p}");
    }

    #[test]
    fn an_hour_window_prunes_dates_and_hours() {
        // 2026-01-08T11:01:36Z +- 12 h: from 23:00 on the 7th to 23:00 on the 8th.
        let t = 1_767_870_096;
        assert_eq!(
            hours(t - 43_200, t + 43_200),
            "((date = '2026-01-07' AND hour >= '23' AND hour <= '23') OR \
             (date = '2026-01-08' AND hour >= '00' AND hour <= '23'))"
        );
        assert_eq!(
            hours(t, t + 60),
            "((date = '2026-01-08' AND hour >= '11' AND hour <= '11'))"
        );
        assert_eq!(hours(t, t - 1), "FALSE");
    }

    #[test]
    fn the_summary_prunes_by_date_and_entity() {
        let q = flow_summary(
            &NetEntity::Eni("eni-1".into()),
            &dates("2026-01-01", "2026-01-08"),
        );
        assert!(
            q.contains("date >= '2026-01-01' AND date <= '2026-01-08' AND interface_id = 'eni-1'"),
            "{q}"
        );
    }
}
