//! The traffic chart: an inline SVG of an entity's hourly bytes out (and in) over the days of
//! the window, drawn over its baseline band. The y axis is logarithmic (`log10(1 + bytes)`):
//! a 100x spike and the band it leaves must both be visible on one chart. Elements carry ids
//! and classes a test (or a stylesheet) can find: `#traffic-chart`, `#baseline-band`,
//! `#observed-out`, `#observed-in`, `.alert-window`, `#evidence-band`.

use maud::{Markup, html};

use super::band::{BandPoint, HourPoint};
use super::layout::bytes;

/// Plot geometry (SVG user units).
const W: f64 = 960.0;
const H: f64 = 300.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

/// What the chart shows.
#[derive(Debug, Default)]
pub struct TrafficChart<'a> {
    pub series: &'a [HourPoint],
    pub band: &'a [BandPoint],
    /// The alert's first and last seen (seconds), shaded.
    pub window: Option<(i64, i64)>,
    /// The band the alert itself recorded (at its hour): (hour, low, high).
    pub evidence_band: Option<(i64, f64, f64)>,
}

/// Maps hours and bytes to SVG coordinates.
#[derive(Debug, Clone, Copy)]
pub struct Scale {
    x0: i64,
    x1: i64,
    ymax: f64,
}

impl Scale {
    pub fn new(c: &TrafficChart<'_>) -> Option<Scale> {
        let x0 = c.series.iter().map(|p| p.hour).min()?;
        let x1 = c.series.iter().map(|p| p.hour).max()?.max(x0 + 3600);
        let top = c
            .series
            .iter()
            .flat_map(|p| [p.bytes_out, p.bytes_in])
            .chain(c.band.iter().map(|b| b.high))
            .chain(c.evidence_band.map(|e| e.2))
            .fold(1.0, f64::max);
        Some(Scale {
            x0,
            x1,
            ymax: log(top).ceil().max(1.0),
        })
    }

    pub fn x(&self, hour: i64) -> f64 {
        let f = (hour - self.x0) as f64 / (self.x1 - self.x0) as f64;
        LEFT + f.clamp(0.0, 1.0) * (W - LEFT - RIGHT)
    }

    pub fn y(&self, bytes: f64) -> f64 {
        let f = log(bytes) / self.ymax;
        H - BOTTOM - f.clamp(0.0, 1.0) * (H - TOP - BOTTOM)
    }
}

fn log(b: f64) -> f64 {
    (1.0 + b.max(0.0)).log10()
}

fn pts(v: impl Iterator<Item = (f64, f64)>) -> String {
    v.map(|(x, y)| format!("{x:.1},{y:.1}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The band as one polygon: the high edge left to right, the low edge back.
pub fn band_points(s: &Scale, band: &[BandPoint]) -> String {
    let upper = band.iter().map(|b| (s.x(b.hour), s.y(b.high)));
    let lower = band.iter().rev().map(|b| (s.x(b.hour), s.y(b.low)));
    pts(upper.chain(lower))
}

fn stamp(hour: i64) -> String {
    chrono::DateTime::from_timestamp(hour, 0)
        .map(|t| t.format("%Y-%m-%d %H:00").to_string())
        .unwrap_or_default()
}

/// The chart, or a note when there is nothing to draw.
pub fn traffic_svg(c: &TrafficChart<'_>) -> Markup {
    let Some(s) = Scale::new(c) else {
        return html! { p class="no-data" { "No flow records for this entity in the window." } };
    };
    let out = pts(c.series.iter().map(|p| (s.x(p.hour), s.y(p.bytes_out))));
    let inb = pts(c.series.iter().map(|p| (s.x(p.hour), s.y(p.bytes_in))));
    html! {
        svg id="traffic-chart" class="chart" xmlns="http://www.w3.org/2000/svg"
            viewBox=(format!("0 0 {W} {H}")) role="img"
            aria-label="hourly bytes out and in against the baseline band" {
            (axes(&s))
            @if let Some((a, b)) = c.window {
                rect class="alert-window" x=(format!("{:.1}", s.x(a - a.rem_euclid(3600))))
                    y=(TOP) height=(H - TOP - BOTTOM)
                    width=(format!("{:.1}", (s.x(b - b.rem_euclid(3600) + 3600) - s.x(a - a.rem_euclid(3600))).max(2.0))) {}
            }
            @if !c.band.is_empty() {
                polygon id="baseline-band" class="band" points=(band_points(&s, c.band)) {
                    title { "baseline: 10th-90th percentile of bytes out at this hour on the other days" }
                }
            }
            polyline id="observed-in" class="observed-in" points=(inb) {}
            polyline id="observed-out" class="observed" points=(out) {}
            @for p in c.series.iter().filter(|p| p.bytes_out > 0.0) {
                circle class="point" cx=(format!("{:.1}", s.x(p.hour))) cy=(format!("{:.1}", s.y(p.bytes_out))) r="2.5" {
                    title { (stamp(p.hour)) " UTC: " (bytes(p.bytes_out)) " out, " (bytes(p.bytes_in)) " in" }
                }
            }
            @if let Some((h, lo, hi)) = c.evidence_band {
                line id="evidence-band" class="evidence-band" x1=(format!("{:.1}", s.x(h))) x2=(format!("{:.1}", s.x(h)))
                    y1=(format!("{:.1}", s.y(hi))) y2=(format!("{:.1}", s.y(lo))) {
                    title { "the alert's expected range: " (bytes(lo)) " - " (bytes(hi)) }
                }
            }
        }
        p class="legend" {
            span class="key key-band" {} " baseline band (bytes out) "
            span class="key key-out" {} " bytes out "
            span class="key key-in" {} " bytes in "
            @if c.window.is_some() { span class="key key-window" {} " alert window" }
            @if c.evidence_band.is_some() { span class="key key-evidence" {} " the alert's expected range" }
            " (log scale, UTC hours)"
        }
    }
}

fn axes(s: &Scale) -> Markup {
    let ticks: Vec<(f64, String)> = (0..=s.ymax as i32)
        .step_by(if s.ymax > 6.0 { 2 } else { 1 })
        .map(|e| {
            let b = 10f64.powi(e);
            (s.y(b - 1.0), bytes(b))
        })
        .collect();
    let days: Vec<i64> = (s.x0..=s.x1)
        .step_by(3600)
        .filter(|h| h.rem_euclid(86_400) == 0)
        .collect();
    html! {
        g class="axes" {
            line x1=(LEFT) x2=(LEFT) y1=(TOP) y2=(H - BOTTOM) {}
            line x1=(LEFT) x2=(W - RIGHT) y1=(H - BOTTOM) y2=(H - BOTTOM) {}
            @for (y, label) in &ticks {
                line class="grid" x1=(LEFT) x2=(W - RIGHT) y1=(format!("{y:.1}")) y2=(format!("{y:.1}")) {}
                text x=(LEFT - 6.0) y=(format!("{:.1}", y + 4.0)) text-anchor="end" { (label) }
            }
            @for d in &days {
                line class="grid" x1=(format!("{:.1}", s.x(*d))) x2=(format!("{:.1}", s.x(*d))) y1=(TOP) y2=(H - BOTTOM) {}
                text x=(format!("{:.1}", s.x(*d) + 4.0)) y=(H - BOTTOM + 16.0) {
                    (stamp(*d).get(..10).unwrap_or(""))
                }
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn series() -> Vec<HourPoint> {
        (0..48)
            .map(|h| HourPoint {
                hour: h * 3600,
                bytes_out: if h == 35 { 1e7 } else { 1e5 },
                bytes_in: 1e4,
            })
            .collect()
    }

    fn coords(svg: &str, id: &str) -> Vec<(f64, f64)> {
        let at = svg.find(&format!("id=\"{id}\"")).unwrap();
        let rest = &svg[at..];
        let p = rest.find("points=\"").unwrap() + 8;
        let end = rest[p..].find('"').unwrap();
        rest[p..p + end]
            .split(' ')
            .map(|xy| {
                let (x, y) = xy.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn band_and_observed_series_are_drawn_inside_the_plot() {
        let s = series();
        let band: Vec<BandPoint> = s
            .iter()
            .map(|p| BandPoint {
                hour: p.hour,
                low: 5e4,
                high: 2e5,
            })
            .collect();
        let svg = traffic_svg(&TrafficChart {
            series: &s,
            band: &band,
            window: Some((35 * 3600 + 60, 35 * 3600 + 3000)),
            evidence_band: Some((35 * 3600, 5e4, 2e5)),
        })
        .into_string();
        for id in [
            "traffic-chart",
            "baseline-band",
            "observed-out",
            "observed-in",
            "evidence-band",
        ] {
            assert!(svg.contains(&format!("id=\"{id}\"")), "{id} missing");
        }
        assert!(svg.contains("class=\"alert-window\""));
        let out = coords(&svg, "observed-out");
        assert_eq!(out.len(), 48);
        let band_pts = coords(&svg, "baseline-band");
        assert_eq!(band_pts.len(), 96, "upper and lower edge");
        for (x, y) in out.iter().chain(&band_pts) {
            assert!((LEFT..=W - RIGHT).contains(x), "x {x}");
            assert!((TOP..=H - BOTTOM).contains(y), "y {y}");
        }
        // Time runs left to right; the spike is the highest point (smallest y), above the band.
        assert!(out.windows(2).all(|w| w[0].0 < w[1].0));
        let spike = out[35].1;
        assert!(out.iter().all(|p| p.1 >= spike));
        assert!(spike < band_pts[35].1, "the spike is above the band's top");
        assert!(
            band_pts[0].1 < band_pts[95].1,
            "the top edge is above the bottom edge"
        );
    }

    #[test]
    fn the_scale_puts_zero_at_the_bottom_and_the_maximum_near_the_top() {
        let s = series();
        let c = TrafficChart {
            series: &s,
            ..Default::default()
        };
        let sc = Scale::new(&c).unwrap();
        assert_eq!(sc.y(0.0), H - BOTTOM);
        assert!(sc.y(1e7) >= TOP && sc.y(1e7) < TOP + (H - TOP - BOTTOM) * 0.2);
        assert_eq!(sc.x(0), LEFT);
        assert_eq!(sc.x(47 * 3600), W - RIGHT);
        assert!(sc.y(1e5) > sc.y(1e6), "more bytes are higher up");
    }

    #[test]
    fn no_data_is_a_note_not_an_empty_chart() {
        let html = traffic_svg(&TrafficChart::default()).into_string();
        assert!(html.contains("no-data"));
        assert!(!html.contains("<svg"));
        // A series without band draws no band polygon.
        let s = series();
        let svg = traffic_svg(&TrafficChart {
            series: &s,
            ..Default::default()
        })
        .into_string();
        assert!(svg.contains("observed-out") && !svg.contains("baseline-band"));
    }
}
