//! The alert list (`/`): the lake's alerts, newest first, filtered by severity, detector,
//! account and time range from the query string; each title links to the alert's page.

use maud::{Markup, html};

use super::Ui;
use super::filters::{AlertFilter, SEVERITIES};
use super::layout::{entity_href, severity};
use super::queries::{self, Rows};
use super::routes::PageError;

/// The page's title and body.
pub async fn render(ui: &Ui, f: &AlertFilter) -> Result<(String, Markup), PageError> {
    let pred = f.to_sql().map_err(|e| PageError::BadInput(e.to_string()))?;
    let ctx = ui.ctx().await?;
    let (alerts, values) = tokio::join!(
        queries::run(&ctx, queries::alert_list(&pred)),
        queries::run(&ctx, queries::FILTER_VALUES),
    );
    let (alerts, values) = (alerts?, values?);
    let body = html! {
        h1 { "Alerts" }
        (form(f, &values))
        p class="note" id="alert-count" { (alerts.len()) " alert(s)" @if alerts.len() == 500 { " (the first 500)" } }
        (alert_table(&alerts))
    };
    Ok(("Alerts".into(), body))
}

fn options(values: &Rows, key: &str) -> Vec<String> {
    (0..values.len())
        .filter(|&r| values.get(r, "k") == Some(key))
        .filter_map(|r| values.get(r, "v").map(str::to_string))
        .collect()
}

fn select(name: &str, label: &str, current: &str, choices: &[String]) -> Markup {
    html! {
        label { (label)
            select name=(name) {
                option value="" { "any" }
                @for c in choices {
                    option value=(c) selected[c == current] { (c) }
                }
            }
        }
    }
}

fn form(f: &AlertFilter, values: &Rows) -> Markup {
    let sev: Vec<String> = SEVERITIES.iter().rev().map(|s| s.to_string()).collect();
    html! {
        form class="filters" method="get" action="/" id="filters" {
            (select("severity", "severity", f.value("severity"), &sev))
            (select("detector", "detector", f.value("detector"), &options(values, "detector")))
            (select("account", "account", f.value("account"), &options(values, "account")))
            label { "from (UTC)" input type="text" name="from" placeholder="2026-01-07" value=(f.value("from")); }
            label { "to (UTC)" input type="text" name="to" placeholder="2026-01-08" value=(f.value("to")); }
            button type="submit" { "filter" }
            a href="/" { "clear" }
        }
    }
}

fn alert_table(a: &Rows) -> Markup {
    html! {
        table id="alerts" {
            thead { tr { th { "first seen (UTC)" } th { "severity" } th { "detector" } th { "title" }
                th { "entity" } th { "account" } th { "count" } } }
            tbody {
                @for r in 0..a.len() {
                    @let id = a.get(r, "id").unwrap_or("");
                    @let kind = a.get(r, "entity_kind").unwrap_or("");
                    @let ent = a.get(r, "entity_id").unwrap_or("");
                    tr class="alert-row" data-detector=(a.get(r, "detector").unwrap_or("")) {
                        td { (a.get(r, "first_seen").unwrap_or("")) }
                        td { (severity(a.get(r, "severity").unwrap_or(""))) }
                        td { (a.get(r, "detector").unwrap_or("")) }
                        td { a class="alert-link" href=(format!("/alert/{}", super::layout::path_escape(id))) { (a.get(r, "title").unwrap_or("")) } }
                        td { a href=(entity_href(kind, ent)) { (kind) " " (ent) } }
                        td { (a.get(r, "account_id").unwrap_or("")) }
                        td class="num" { (a.get(r, "count").unwrap_or("")) }
                    }
                }
            }
        }
    }
}
