//! The HTML around every page: head, style, navigation, tables of query rows (values that name
//! an interface, instance, principal or address link to its page), and number formatting. All
//! text goes through maud, which escapes it; nothing here builds HTML by string concatenation.

use maud::{DOCTYPE, Markup, PreEscaped, html};

use super::queries::Rows;

const STYLE: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#1d2430;background:#f6f7f9}
header{background:#1d2430;color:#fff;padding:10px 24px}header a{color:#fff;text-decoration:none;font-weight:600}
main{padding:16px 24px;max-width:1280px}h1{font-size:20px;margin:8px 0}h2{font-size:16px;margin:22px 0 8px}
table{border-collapse:collapse;background:#fff;margin:4px 0 12px;font-size:13px}
th,td{border:1px solid #d8dce3;padding:3px 7px;text-align:left;vertical-align:top}th{background:#eef0f4}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}td{max-width:520px;overflow-wrap:break-word}
.sev{white-space:nowrap;padding:1px 6px;border-radius:3px;color:#fff;font-size:12px}
.sev-critical{background:#8b0000}.sev-high{background:#c0392b}.sev-medium{background:#d68910}.sev-low{background:#2874a6}.sev-info{background:#7f8c8d}
pre{background:#fff;border:1px solid #d8dce3;padding:8px;overflow-x:auto;white-space:pre-wrap}
.chart{width:100%;max-width:960px;background:#fff;border:1px solid #d8dce3}
.chart .axes line{stroke:#9aa3b0}.chart .grid{stroke:#eceef2}.chart text{font-size:11px;fill:#5b6573}
.band{fill:#5d9bd5;fill-opacity:.35;stroke:#2e75b6;stroke-width:.8}
.observed{fill:none;stroke:#c0392b;stroke-width:1.8}.observed-in{fill:none;stroke:#7f8c8d;stroke-width:1;stroke-dasharray:3 2}
.point{fill:#c0392b}.alert-window{fill:#f5b041;fill-opacity:.25}.evidence-band{stroke:#1a5276;stroke-width:5;stroke-opacity:.7}
.key{display:inline-block;width:14px;height:8px;margin-left:10px}.key-band{background:#8fbce6}.key-out{background:#c0392b}
.key-in{background:#7f8c8d}.key-window{background:#f5b041}.key-evidence{background:#1a5276}
dl.kv{display:grid;grid-template-columns:max-content auto;gap:2px 14px;background:#fff;border:1px solid #d8dce3;padding:8px}
dl.kv dt{font-weight:600}dl.kv dd{margin:0;overflow-wrap:anywhere}
form.filters{display:flex;gap:10px;align-items:end;flex-wrap:wrap;background:#fff;border:1px solid #d8dce3;padding:8px}
form.filters label{display:flex;flex-direction:column;font-size:12px}
.note{color:#5b6573}footer{color:#8a93a0;font-size:12px;padding:16px 24px}
.graph .edge{stroke:#5d9bd5}.graph .node circle{fill:#fff;stroke:#1d2430}.graph .center circle{fill:#c0392b}.graph text{font-size:11px}
"#;

/// A whole page.
pub fn page(title: &str, body: Markup, elapsed_ms: u128) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " - flowtrail" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header { a href="/" { "flowtrail" } " · investigation (read-only)" }
                main { (body) }
                footer { "rendered in " span id="render-ms" { (elapsed_ms) } " ms from the lake" }
            }
        }
    }
    .into_string()
}

/// A severity badge.
pub fn severity(s: &str) -> Markup {
    html! { span class=(format!("sev sev-{}", s.to_ascii_lowercase())) { (s) } }
}

/// `rows` as a table with id `id`; cells naming an entity link to its page.
pub fn table(id: &str, rows: &Rows) -> Markup {
    if rows.is_empty() {
        return html! { p class="note" id=(id) { "None." } };
    }
    html! {
        table id=(id) {
            thead { tr { @for c in &rows.columns { th { (c) } } } }
            tbody {
                @for r in &rows.rows {
                    tr { @for (c, v) in rows.columns.iter().zip(r) { (cell(c, v.as_deref().unwrap_or(""))) } }
                }
            }
        }
    }
}

/// One cell: numbers right-aligned (bytes humanized with the exact value in the tooltip),
/// entity ids linked.
pub fn cell(column: &str, v: &str) -> Markup {
    if column.starts_with("bytes")
        && let Ok(n) = v.parse::<f64>()
    {
        return html! { td class="num" title=(v) { (bytes(n)) } };
    }
    if column == "severity" {
        return html! { td { (severity(v)) } };
    }
    if column == "id" && !v.is_empty() && v.bytes().all(|b| b.is_ascii_hexdigit()) {
        return html! { td { a href=(format!("/alert/{v}")) { code { (v) } } } };
    }
    if !v.is_empty() && v.parse::<f64>().is_ok() && !is_ipv4(v) {
        return html! { td class="num" { (v) } };
    }
    match entity_link(v) {
        Some(href) => html! { td { a href=(href) { (v) } } },
        None => html! { td { (v) } },
    }
}

fn is_ipv4(v: &str) -> bool {
    v.parse::<std::net::Ipv4Addr>().is_ok()
}

/// An EC2 id: `prefix` then hex digits only (a title that starts with an id is not one).
fn is_aws_id(v: &str, prefix: &str) -> bool {
    v.strip_prefix(prefix)
        .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// The page of an entity id, when it looks like one.
pub fn entity_link(v: &str) -> Option<String> {
    let kind = if is_aws_id(v, "eni-") {
        "eni"
    } else if is_aws_id(v, "i-") {
        "instance"
    } else if is_ipv4(v) {
        "ip"
    } else if (v.starts_with("arn:aws:iam::") || v.starts_with("arn:aws:sts::"))
        && !v.contains(char::is_whitespace)
    {
        return Some(format!("/principal/{}", path_escape(v)));
    } else {
        return None;
    };
    Some(format!("/entity/{kind}/{}", path_escape(v)))
}

/// The page of an alert's entity.
pub fn entity_href(kind: &str, id: &str) -> String {
    match kind {
        "principal" => format!("/principal/{}", path_escape(id)),
        _ => format!("/entity/{}/{}", path_escape(kind), path_escape(id)),
    }
}

/// Percent-encode a path segment (keeping `/` and `:` for readable ARNs).
pub fn path_escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~:/@".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// Bytes in KB/MB/GB (powers of 1000, as the alert titles print them).
pub fn bytes(n: f64) -> String {
    let units = ["B", "KB", "MB", "GB", "TB"];
    let mut v = n;
    let mut u = 0;
    while v >= 1000.0 && u < units.len() - 1 {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} {}", units[u])
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// A definition list of (term, value) pairs, values that name entities linked.
pub fn kv(id: &str, pairs: &[(String, String)]) -> Markup {
    html! {
        dl class="kv" id=(id) {
            @for (k, v) in pairs {
                dt { (k) }
                dd {
                    @match entity_link(v) {
                        Some(h) => a href=(h) { (v) },
                        None => (v),
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn every_value_is_escaped() {
        let rows = Rows {
            columns: vec!["title<".into(), "entity_id".into()],
            rows: vec![vec![
                Some("<script>alert(1)</script> & \"q\"".into()),
                Some("arn:aws:iam::1:user/x\"><img/src=x>".into()),
            ]],
        };
        let html = page("<b>t</b>", table("t", &rows), 1);
        assert!(!html.contains("<script>alert"), "{html}");
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;"));
        assert!(html.contains("title&lt;"));
        assert!(!html.contains("<img"), "{html}");
        // The link's target is percent-encoded, its text escaped.
        assert!(
            html.contains("href=\"/principal/arn:aws:iam::1:user/x%22%3E%3Cimg/src%3Dx%3E\""),
            "{html}"
        );
        assert!(html.contains("<title>&lt;b&gt;t&lt;/b&gt; - flowtrail</title>"));
    }

    #[test]
    fn entity_ids_link_to_their_pages() {
        assert_eq!(entity_link("eni-0abc").unwrap(), "/entity/eni/eni-0abc");
        assert_eq!(entity_link("i-0abc").unwrap(), "/entity/instance/i-0abc");
        assert_eq!(entity_link("10.0.1.5").unwrap(), "/entity/ip/10.0.1.5");
        // A sentence that starts with an id (an alert's title in a table cell) is no id.
        assert_eq!(
            entity_link("eni-0abc12345 (10.0.1.5) reached 28 hosts"),
            None
        );
        assert_eq!(entity_link("i-do-not-know"), None);
        assert_eq!(
            entity_link("arn:aws:iam::1:user/a+b@c").unwrap(),
            "/principal/arn:aws:iam::1:user/a%2Bb@c"
        );
        assert_eq!(entity_link("arn:aws:iam::1:user/a b"), None);
        assert_eq!(entity_link("high"), None);
        let id = cell("id", "b2c958ab").into_string();
        assert!(id.contains("href=\"/alert/b2c958ab\""), "{id}");
        assert!(!cell("id", "x'y").into_string().contains("href"));
        assert_eq!(
            entity_href("security_group", "sg-1"),
            "/entity/security_group/sg-1"
        );
    }

    #[test]
    fn bytes_read_like_the_titles() {
        assert_eq!(bytes(512.0), "512 B");
        assert_eq!(bytes(10_788_486.0), "10.8 MB");
        assert_eq!(bytes(0.0), "0 B");
    }
}
