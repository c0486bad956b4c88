//! Entity pages. `/entity/{eni|instance|ip}/{id}`: where the flow records place it, its hourly
//! traffic against its band over the lake's last days, who it talks to (a graph and the peers
//! table), the alerts naming it and the CloudTrail calls naming it. Other kinds (a security
//! group, ...) get the alerts and CloudTrail parts. `/principal/{arn}`: the alerts on the
//! principal, its calls by name and its CloudTrail timeline.

use std::path::Path;

use maud::{Markup, html};

use super::Ui;
use super::band;
use super::chart::{TrafficChart, traffic_svg};
use super::graph::talkers_svg;
use super::layout::table;
use super::queries::{self, NetEntity, TrailSubject};
use super::routes::PageError;

/// Days of the lake an entity page covers (the last ones).
const DAYS: usize = 8;

/// The first and last of the lake's last `DAYS` days of `table` (from the partition folders
/// `<table>/account_id=*/region=*/date=*`, without a query), if any.
fn last_days(lake: &Path, table: &str) -> Option<(String, String)> {
    let sub = |p: &Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(p)
            .map(|d| {
                d.filter_map(|e| Some(e.ok()?.path()))
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default()
    };
    let mut days: Vec<String> = sub(&lake.join(table))
        .iter()
        .flat_map(|a| sub(a))
        .flat_map(|r| sub(&r))
        .filter_map(|d| Some(d.file_name()?.to_str()?.strip_prefix("date=")?.to_string()))
        .collect();
    days.sort();
    days.dedup();
    let first = days.len().saturating_sub(DAYS);
    Some((days.get(first)?.clone(), days.last()?.clone()))
}

/// `/entity/{kind}/{id}`.
pub async fn render(ui: &Ui, kind: &str, id: &str) -> Result<(String, Markup), PageError> {
    let ctx = ui.ctx().await?;
    let net = match kind {
        "eni" => Some(NetEntity::Eni(id.into())),
        "instance" => Some(NetEntity::Instance(id.into())),
        "ip" => Some(NetEntity::Ip(id.into())),
        _ => None,
    };
    let days = last_days(ui.lake(), "flows");
    // CloudTrail over the same days as the traffic (all of it when the lake has no flows).
    let trail_days = days
        .as_ref()
        .map_or("TRUE".into(), |(a, b)| queries::dates(a, b));
    let (inventory, alerts, trail, network) = tokio::join!(
        queries::run(&ctx, queries::inventory(id)),
        queries::run(&ctx, queries::alerts_about(id)),
        queries::run(
            &ctx,
            queries::trail(&TrailSubject::Mentions(id.into()), &trail_days)
        ),
        network(&ctx, net.as_ref(), days.clone()),
    );
    let title = format!("{kind} {id}");
    let body = html! {
        h1 id="entity-title" { (title) }
        @if net.is_some() {
            h2 { "Inventory" }
            p class="note" { "The newest inventory snapshot's interfaces for it (from CloudTrail and v3+ flow records)." }
            (table("inventory", &inventory?))
        }
        (network?)
        h2 { "Alerts naming it" }
        (table("entity-alerts", &alerts?))
        h2 { "CloudTrail calls naming it" }
        (table("cloudtrail-timeline", &trail?))
    };
    Ok((title, body))
}

async fn network(
    ctx: &datafusion::prelude::SessionContext,
    net: Option<&NetEntity>,
    days: Option<(String, String)>,
) -> Result<Markup, PageError> {
    let Some(n) = net else { return Ok(html! {}) };
    let Some((from, to)) = days else {
        return Ok(html! { p class="note" { "The lake has no flow records." } });
    };
    let t = super::net::traffic(ctx, n, &queries::dates(&from, &to)).await?;
    let series = band::densify(&t.hourly());
    let last_day = series
        .last()
        .map(|p| p.hour - p.hour.rem_euclid(86_400))
        .unwrap_or(0);
    let band_pts = band::band(&series, last_day, 0.1, 0.9);
    let peers = t.peers(i64::MIN / 2, i64::MAX / 2);
    Ok(html! {
        h2 { "Where the flow records place it" }
        p class="note" { "Own address(es): " (t.addrs.join(", ")) ". Instance, subnet and VPC appear where the flow-log format carries them." }
        (table("placement", &t.placement()))
        h2 { "Hourly traffic, " (from) " to " (to) }
        p class="note" { "The band is the 10th-90th percentile of bytes out at each hour on the days before the last." }
        (traffic_svg(&TrafficChart { series: &series, band: &band_pts, ..Default::default() }))
        h2 { "Who it talks to" }
        (talkers_svg(n.id(), &peers))
        (table("peers", &peers))
    })
}

/// `/principal/{arn}`.
pub async fn principal(ui: &Ui, arn: &str) -> Result<(String, Markup), PageError> {
    let ctx = ui.ctx().await?;
    // The lake's last days of CloudTrail.
    let days =
        last_days(ui.lake(), "cloudtrail").map_or("TRUE".into(), |(a, b)| queries::dates(&a, &b));
    let (alerts, summary, trail) = tokio::join!(
        queries::run(&ctx, queries::alerts_about(arn)),
        queries::run(&ctx, queries::principal_summary(arn, &days)),
        queries::run(
            &ctx,
            queries::trail(&TrailSubject::Principal(arn.into()), &days)
        ),
    );
    let title = format!("principal {arn}");
    let body = html! {
        h1 id="entity-title" { (title) }
        h2 { "Alerts naming it" }
        (table("entity-alerts", &alerts?))
        h2 { "Its calls by name" }
        (table("principal-calls", &summary?))
        h2 { "CloudTrail timeline" }
        (table("cloudtrail-timeline", &trail?))
    };
    Ok((title, body))
}
