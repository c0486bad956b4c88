//! Who talks to whom: the entity in the middle, its biggest peers around it, each edge as
//! wide as the log of the bytes both ways. A picture of the peers table below it, not a
//! layout engine.

use std::collections::BTreeMap;

use maud::{Markup, html};

use super::layout::{bytes, entity_link};
use super::queries::Rows;

/// The drawing: wide enough for the labels left and right of the circle.
const WIDTH: f64 = 760.0;
const HEIGHT: f64 = 480.0;

/// Bytes (out + in) per peer over all ports, biggest first, at most `max`.
pub fn by_peer(peers: &Rows, max: usize) -> Vec<(String, f64)> {
    let mut m: BTreeMap<String, f64> = BTreeMap::new();
    for r in 0..peers.len() {
        if let Some(p) = peers.get(r, "peer") {
            *m.entry(p.to_string()).or_default() +=
                peers.num(r, "bytes_out") + peers.num(r, "bytes_in");
        }
    }
    let mut v: Vec<(String, f64)> = m.into_iter().collect();
    v.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    v.truncate(max);
    v
}

/// The graph, or nothing when the entity has no peers.
pub fn talkers_svg(center: &str, peers: &Rows) -> Markup {
    let v = by_peer(peers, 16);
    if v.is_empty() {
        return html! {};
    }
    let (cx, c) = (WIDTH / 2.0, HEIGHT / 2.0);
    let r = HEIGHT / 2.0 - 40.0;
    let top = v.iter().map(|p| p.1).fold(1.0, f64::max).log10().max(1.0);
    let n = v.len() as f64;
    html! {
        svg id="talkers" class="chart graph" xmlns="http://www.w3.org/2000/svg"
            viewBox=(format!("0 0 {WIDTH} {HEIGHT}")) style="max-width:760px" {
            @for (i, (peer, b)) in v.iter().enumerate() {
                @let a = std::f64::consts::TAU * i as f64 / n;
                @let (x, y) = (cx + r * a.cos(), c + r * a.sin());
                line class="edge" x1=(cx) y1=(c) x2=(format!("{x:.1}")) y2=(format!("{y:.1}"))
                    stroke-width=(format!("{:.1}", 0.5 + 5.0 * (1.0 + b).log10() / top)) {
                    title { (peer) ": " (bytes(*b)) }
                }
                g class="node" {
                    circle cx=(format!("{x:.1}")) cy=(format!("{y:.1}")) r="5" {}
                    @let label = html! { (peer) " " (bytes(*b)) };
                    text x=(format!("{:.1}", x + if a.cos() < 0.0 { -8.0 } else { 8.0 }))
                        y=(format!("{:.1}", y + 4.0))
                        text-anchor=(if a.cos() < 0.0 { "end" } else { "start" }) {
                        @match entity_link(peer) {
                            Some(h) => a href=(h) { (label) },
                            None => (label),
                        }
                    }
                }
            }
            g class="node center" {
                circle cx=(cx) cy=(c) r="8" {}
                text x=(cx) y=(c - 14.0) text-anchor="middle" { (center) }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn peers_are_summed_over_ports_and_ranked() {
        let rows = Rows {
            columns: vec!["peer".into(), "bytes_out".into(), "bytes_in".into()],
            rows: vec![
                vec![Some("1.1.1.1".into()), Some("10".into()), Some("5".into())],
                vec![Some("2.2.2.2".into()), Some("100".into()), None],
                vec![Some("1.1.1.1".into()), Some("1".into()), Some("0".into())],
            ],
        };
        assert_eq!(
            by_peer(&rows, 5),
            vec![
                ("2.2.2.2".to_string(), 100.0),
                ("1.1.1.1".to_string(), 16.0)
            ]
        );
        let svg = talkers_svg("eni-1", &rows).into_string();
        assert_eq!(svg.matches("class=\"edge\"").count(), 2);
        assert!(svg.contains("href=\"/entity/ip/2.2.2.2\""));
        assert!(
            talkers_svg("eni-1", &Rows::default())
                .into_string()
                .is_empty()
        );
    }
}
