//! An alert's page: the story (title, severity, entity, first/last seen, why, next steps, the
//! asset behind it), the evidence (its rows, its SQL, its other fields), the entity's hourly
//! traffic over the days around the alert against its baseline band, its peers and ports in
//! the alert's hours, and the CloudTrail timeline of the principal or resource.

use chrono::{DateTime, Duration, Utc};
use maud::{Markup, html};
use serde_json::Value;

use super::Ui;
use super::band;
use super::chart::{TrafficChart, traffic_svg};
use super::layout::{entity_href, kv, path_escape, severity, table};
use super::net::Traffic;
use super::queries::{self, NetEntity, Rows, TrailSubject};
use super::routes::PageError;

/// Days of traffic before the alert's day on the chart (and for its band).
const DAYS_BEFORE: i64 = 7;
/// Seconds of CloudTrail shown either side of the alert.
const TRAIL_MARGIN: i64 = 12 * 3600;

/// The alert row as the page reads it.
struct Alert {
    rows: Rows,
}

impl Alert {
    fn s(&self, c: &str) -> &str {
        self.rows.get(0, c).unwrap_or("")
    }
    fn secs(&self, c: &str) -> i64 {
        self.rows.num(0, c) as i64
    }
}

fn ts(t: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| format!("TIMESTAMP '{}'", d.format("%Y-%m-%dT%H:%M:%SZ")))
        .unwrap_or_else(|| "TIMESTAMP '1970-01-01T00:00:00Z'".into())
}

fn day(t: i64, offset_days: i64) -> String {
    DateTime::<Utc>::from_timestamp(t, 0)
        .map(|d| {
            (d + Duration::days(offset_days))
                .format("%Y-%m-%d")
                .to_string()
        })
        .unwrap_or_default()
}

/// The flows-table view of the alert's entity, when it is one of the network.
fn net_entity(kind: &str, id: &str) -> Option<NetEntity> {
    match kind {
        "eni" => Some(NetEntity::Eni(id.into())),
        "instance" => Some(NetEntity::Instance(id.into())),
        "ip" => Some(NetEntity::Ip(id.into())),
        _ => None,
    }
}

/// The page's title and body.
pub async fn render(ui: &Ui, id: &str) -> Result<(String, Markup), PageError> {
    let ctx = ui.ctx().await?;
    let rows = queries::run(&ctx, queries::alert(id)).await?;
    if rows.is_empty() {
        return Err(PageError::NotFound(format!("no alert {id} in the lake")));
    }
    let a = Alert { rows };
    let evidence: Value = serde_json::from_str(a.s("evidence")).unwrap_or(Value::Null);
    let (first, last) = (a.secs("first_s"), a.secs("last_s"));
    let (kind, ent) = (a.s("entity_kind"), a.s("entity_id"));
    let subject = match kind {
        "principal" => TrailSubject::Principal(ent.into()),
        _ => TrailSubject::Mentions(ent.into()),
    };
    // CloudTrail half a day either side of the alert, pruned to those hours' partitions.
    let trail_days = format!(
        "{} AND event_time >= {} AND event_time <= {}",
        queries::hours(first - TRAIL_MARGIN, last + TRAIL_MARGIN),
        ts(first - TRAIL_MARGIN),
        ts(last + TRAIL_MARGIN)
    );
    let net = net_entity(kind, ent);
    let flow_days = queries::dates(&day(first, -DAYS_BEFORE), &day(last, 1));
    let (trail, traffic) = tokio::join!(
        queries::run(&ctx, queries::trail(&subject, &trail_days)),
        async {
            match &net {
                Some(n) => super::net::traffic(&ctx, n, &flow_days).await.map(Some),
                None => Ok(None),
            }
        },
    );
    let (trail, traffic) = (trail?, traffic?);
    let ev_rows = evidence_rows(&ctx, traffic.as_ref(), &trail, first, last, &evidence).await;
    let body = html! {
        h1 id="alert-title" { (a.s("title")) }
        (story(&a, kind, ent))
        @if let (Some(n), Some(t)) = (&net, &traffic) { (traffic_section(n, t, first, last, &evidence)) }
        (steps_and_asset(&a))
        h2 { "Evidence" }
        (ev_rows)
        (evidence_details(&evidence))
        h2 { "CloudTrail timeline" }
        p class="note" { @match &subject {
            TrailSubject::Principal(p) => { "Calls by " (p) ", 12 hours either side." },
            TrailSubject::Mentions(m) => { "Calls naming " (m) ", 12 hours either side." },
        } }
        (table("cloudtrail-timeline", &trail))
    };
    Ok((a.s("title").to_string(), body))
}

/// Who, what, when, and why in plain words.
fn story(a: &Alert, kind: &str, ent: &str) -> Markup {
    let attack = [a.s("tactics"), a.s("techniques")]
        .iter()
        .filter(|s| !s.is_empty())
        .copied()
        .collect::<Vec<_>>()
        .join("; ");
    html! {
        dl class="kv" id="alert-story" {
            dt { "severity" } dd { (severity(a.s("severity"))) }
            dt { "detector" } dd { a href=(format!("/?detector={}", path_escape(a.s("detector")))) { (a.s("detector")) } }
            dt { "entity" } dd { a id="alert-entity" href=(entity_href(kind, ent)) { (kind) " " (ent) } }
            @if let Some((id, label)) = instance_of(a.s("asset")) {
                dt { "instance" } dd { a id="alert-instance" href=(entity_href("instance", &id)) { (label) } }
            }
            dt { "account / region" } dd { (a.s("account_id")) " / " (a.s("region")) }
            dt { "first seen (UTC)" } dd { (a.s("first_seen")) }
            dt { "last seen (UTC)" } dd { (a.s("last_seen")) }
            dt { "count" } dd { (a.s("count")) }
            @if !attack.is_empty() { dt { "ATT&CK" } dd { (attack) } }
            dt { "id" } dd { code { (a.s("id")) } }
        }
        h2 { "Why" }
        @if a.s("why").is_empty() {
            p class="note" id="alert-why" { "This alert carries no explanation; the evidence below is what it rests on." }
        } @else {
            p id="alert-why" { (a.s("why")) }
        }
    }
}

/// The instance in the asset JSON and how to name it: `Name (i-…), env=…, team=…`.
fn instance_of(raw: &str) -> Option<(String, String)> {
    let v: Value = serde_json::from_str(raw).ok()?;
    let id = v.get("instance_id")?.as_str()?.to_string();
    let tags = v.get("tags").and_then(Value::as_object);
    let tag = |k: &str| tags.and_then(|t| t.get(k)).and_then(Value::as_str);
    let mut label = match tag("Name") {
        Some(name) => format!("{name} ({id})"),
        None => id.clone(),
    };
    for (k, t) in tags.into_iter().flatten() {
        if let (false, Some(t)) = (k == "Name", t.as_str()) {
            label.push_str(&format!(", {k}={t}"));
        }
    }
    Some((id, label))
}

/// What to do, and the instance behind the entity.
fn steps_and_asset(a: &Alert) -> Markup {
    let steps: Vec<&str> = a
        .s("next_steps")
        .split('\u{1f}')
        .filter(|s| !s.trim().is_empty())
        .collect();
    html! {
        h2 { "Next steps" }
        @if steps.is_empty() {
            p class="note" id="next-steps" { "None recorded with this alert." }
        } @else {
            ol id="next-steps" { @for s in &steps { li { (s) } } }
        }
        (asset(a.s("asset")))
    }
}

/// The asset JSON as pairs: scalars as they are, `tags` as `k=v` pairs, other values as JSON.
fn asset_pairs(v: &Value) -> Vec<(String, String)> {
    let Value::Object(m) = v else { return vec![] };
    m.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, v)| {
            let text = match v {
                Value::String(s) => s.clone(),
                Value::Object(t) if k == "tags" => t
                    .iter()
                    .map(|(tk, tv)| {
                        format!(
                            "{tk}={}",
                            tv.as_str().map_or(tv.to_string(), str::to_string)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(", "),
                other => other.to_string(),
            };
            (k.clone(), text)
        })
        .collect()
}

fn asset(raw: &str) -> Markup {
    let v: Value = serde_json::from_str(raw).unwrap_or(Value::Null);
    let pairs = asset_pairs(&v);
    html! {
        h2 { "Asset" }
        @if pairs.is_empty() {
            p class="note" id="asset" { "The lake does not say which instance is behind this entity; the entity page lists what the flow records tell." }
        } @else {
            (kv("asset", &pairs))
        }
    }
}

/// `evidence.rows` as a table (objects' keys as columns in first-seen order).
fn json_rows(rows: &[Value]) -> Rows {
    let mut out = Rows::default();
    for r in rows {
        if let Value::Object(m) = r {
            for k in m.keys() {
                if !out.columns.contains(k) {
                    out.columns.push(k.clone());
                }
            }
        }
    }
    for r in rows {
        let cells = out
            .columns
            .iter()
            .map(|c| match r.get(c) {
                None | Some(Value::Null) => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(v) => Some(v.to_string()),
            })
            .collect();
        out.rows.push(cells);
    }
    out
}

/// The rows behind the alert: its own `evidence.rows`, else its `evidence.sql` run read-only,
/// else the entity's biggest flows or the CloudTrail calls between first and last seen.
async fn evidence_rows(
    ctx: &datafusion::prelude::SessionContext,
    traffic: Option<&Traffic>,
    trail: &Rows,
    first: i64,
    last: i64,
    ev: &Value,
) -> Markup {
    let sql = ev.get("sql").and_then(Value::as_str).unwrap_or("");
    if let Some(Value::Array(rows)) = ev.get("rows") {
        return html! {
            p class="note" { "The rows the alert recorded:" }
            (table("evidence-rows", &json_rows(rows))) (sql_block(sql))
        };
    }
    if !sql.is_empty() {
        let limited = format!(
            "SELECT * FROM ({}) LIMIT 50",
            sql.trim().trim_end_matches(';')
        );
        return match queries::run(ctx, &limited).await {
            Ok(r) => {
                html! { p class="note" { "The rows of the alert's evidence query:" } (table("evidence-rows", &r)) (sql_block(sql)) }
            }
            Err(e) => {
                html! { p class="note" { "The evidence query failed: " (format!("{e:#}")) } (sql_block(sql)) }
            }
        };
    }
    match traffic {
        Some(t) => html! {
            p class="note" { "The entity's biggest flows (summed per hour, address pair and port) between first and last seen:" }
            (table("evidence-rows", &t.biggest(first, last)))
        },
        None => html! {
            p class="note" { "The CloudTrail calls between first and last seen:" }
            (table("evidence-rows", &within(trail, first, last)))
        },
    }
}

/// The rows of `trail` whose `event_time` is within [from, to] (seconds).
fn within(trail: &Rows, from: i64, to: i64) -> Rows {
    let keep = |r: &Vec<Option<String>>| {
        let i = trail.columns.iter().position(|c| c == "event_time");
        i.and_then(|i| r.get(i)?.as_deref())
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
            .is_some_and(|t| (from..=to).contains(&t.timestamp()))
    };
    Rows {
        columns: trail.columns.clone(),
        rows: trail.rows.iter().filter(|r| keep(r)).cloned().collect(),
    }
}

fn sql_block(sql: &str) -> Markup {
    html! {
        @if !sql.is_empty() {
            details open { summary { "Evidence SQL (run it with " code { "flowtrail query" } ")" }
                pre id="evidence-sql" { (sql) } }
        }
    }
}

/// The evidence's other fields.
fn evidence_details(ev: &Value) -> Markup {
    let Value::Object(m) = ev else {
        return html! {};
    };
    let pairs: Vec<(String, String)> = m
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "sql" | "rows"))
        .map(|(k, v)| {
            (
                k.clone(),
                v.as_str().map_or_else(|| v.to_string(), str::to_string),
            )
        })
        .collect();
    html! { @if !pairs.is_empty() { h2 { "Details" } (kv("evidence-details", &pairs)) } }
}

/// `evidence.band` as (low, high) when it says so: `{low, high}` (or `lo`/`hi`, `p10`/`p90`,
/// `expected_low`/`expected_high`) or `[low, high]`.
pub fn evidence_band(ev: &Value) -> Option<(f64, f64)> {
    let b = ev.get("band")?;
    if let Some([lo, hi]) = b.as_array().map(Vec::as_slice) {
        return Some((lo.as_f64()?, hi.as_f64()?));
    }
    for (l, h) in [
        ("low", "high"),
        ("lo", "hi"),
        ("p10", "p90"),
        ("expected_low", "expected_high"),
    ] {
        if let (Some(lo), Some(hi)) = (
            b.get(l).and_then(Value::as_f64),
            b.get(h).and_then(Value::as_f64),
        ) {
            return Some((lo, hi));
        }
    }
    None
}

/// The chart and the peers of a network entity.
fn traffic_section(n: &NetEntity, t: &Traffic, first: i64, last: i64, ev: &Value) -> Markup {
    let series = band::densify(&t.hourly());
    let alert_day = first - first.rem_euclid(86_400);
    let band_pts = band::band(&series, alert_day, 0.1, 0.9);
    let hour = first - first.rem_euclid(3600);
    let chart = traffic_svg(&TrafficChart {
        series: &series,
        band: &band_pts,
        window: Some((first, last)),
        evidence_band: evidence_band(ev).map(|(lo, hi)| (hour, lo, hi)),
    });
    html! {
        h2 { "Hourly traffic against its baseline" }
        p class="note" { "Bytes out and in of " (n.id()) " (own address " (t.addrs.join(", ")) ") per hour; the band is the 10th-90th percentile of its bytes out at the same hour on the other days shown." }
        (chart)
        h2 { "Peers and ports, an hour either side of the alert" }
        (table("peers", &t.peers(first - 3600, last + 3600)))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_evidence_band_is_read_in_its_likely_shapes() {
        let v = |s: &str| serde_json::from_str::<Value>(s).unwrap();
        assert_eq!(
            evidence_band(&v(r#"{"band":{"low":1,"high":5}}"#)),
            Some((1.0, 5.0))
        );
        assert_eq!(evidence_band(&v(r#"{"band":[2,3]}"#)), Some((2.0, 3.0)));
        assert_eq!(
            evidence_band(&v(r#"{"band":{"p10":1.5,"p90":9}}"#)),
            Some((1.5, 9.0))
        );
        assert_eq!(evidence_band(&v(r#"{"band":"wide"}"#)), None);
        assert_eq!(evidence_band(&v(r#"{"ratio":3}"#)), None);
    }

    #[test]
    fn the_story_names_the_instance_behind_the_entity() {
        let asset = r#"{"instance_id":"i-03f8","tags":{"Name":"app-3","team":"store<front>"}}"#;
        assert_eq!(
            instance_of(asset),
            Some((
                "i-03f8".to_string(),
                "app-3 (i-03f8), team=store<front>".to_string()
            ))
        );
        assert_eq!(
            instance_of(r#"{"instance_id":"i-1"}"#)
                .map(|x| x.1)
                .as_deref(),
            Some("i-1")
        );
        assert_eq!(instance_of(r#"{"eni_id":"eni-1"}"#), None);
        assert_eq!(instance_of(""), None);
    }

    #[test]
    fn evidence_rows_become_a_table_and_the_asset_pairs() {
        let rows = vec![
            serde_json::json!({"srcaddr": "10.0.0.1", "bytes": 5}),
            serde_json::json!({"srcaddr": "10.0.0.2", "dstport": 443}),
        ];
        let t = json_rows(&rows);
        assert_eq!(t.columns, vec!["bytes", "srcaddr", "dstport"]);
        assert_eq!(t.get(1, "dstport"), Some("443"));
        assert_eq!(t.get(1, "bytes"), None);
        let a = asset_pairs(
            &serde_json::json!({"instance_id": "i-1", "tags": {"Name": "web"}, "vpc_id": null}),
        );
        assert_eq!(
            a,
            vec![
                ("instance_id".into(), "i-1".into()),
                ("tags".into(), "Name=web".into())
            ]
        );
        let html = asset("").into_string();
        assert!(html.contains("does not say"), "{html}");
    }
}
