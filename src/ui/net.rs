//! An entity of the network seen through the flows table, from one summary query per page
//! (see `queries::flow_summary`): its own addresses (per interface, the address on most of its
//! flows, a private one on a tie), where the records place it (instance, subnet, VPC when the
//! format carries them), its hourly bytes out and in, its peers and its biggest flows.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use datafusion::prelude::SessionContext;

use super::band::HourPoint;
use super::queries::{self, NetEntity, Rows};

/// One summary row: the flows of one interface, hour, address pair, port, protocol, action.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowSum {
    pub eni: String,
    pub placement: [String; 3],
    pub hour: i64,
    pub src: String,
    pub dst: String,
    pub port: String,
    pub protocol: String,
    pub action: String,
    pub bytes: f64,
    pub packets: f64,
    pub flows: f64,
    pub first_s: i64,
    pub last_s: i64,
}

/// What the flows say about an entity over a range of days.
#[derive(Debug, Default)]
pub struct Traffic {
    pub addrs: Vec<String>,
    pub sums: Vec<FlowSum>,
}

fn is_private(a: &str) -> bool {
    a.parse::<std::net::Ipv4Addr>()
        .map(|ip| ip.is_private())
        .unwrap_or(false)
}

/// Seconds since the epoch of a `date`/`hour` partition pair.
pub fn partition_hour(date: &str, hour: &str) -> Option<i64> {
    let d = NaiveDate::parse_from_str(date, "%Y-%m-%d").ok()?;
    let h: u32 = hour.parse().ok()?;
    Some(d.and_hms_opt(h, 0, 0)?.and_utc().timestamp())
}

fn parse(rows: &Rows) -> Vec<FlowSum> {
    let s = |r, c| rows.get(r, c).unwrap_or("").to_string();
    (0..rows.len())
        .filter_map(|r| {
            Some(FlowSum {
                eni: s(r, "interface_id"),
                placement: [s(r, "instance_id"), s(r, "subnet_id"), s(r, "vpc_id")],
                hour: partition_hour(rows.get(r, "date")?, rows.get(r, "hour")?)?,
                src: s(r, "srcaddr"),
                dst: s(r, "dstaddr"),
                port: s(r, "port"),
                protocol: s(r, "protocol"),
                action: s(r, "action"),
                bytes: rows.num(r, "bytes"),
                packets: rows.num(r, "packets"),
                flows: rows.num(r, "flows"),
                first_s: rows.num(r, "first_s") as i64,
                last_s: rows.num(r, "last_s") as i64,
            })
        })
        .collect()
}

/// Per interface, its own address: the one on most flows, a private one on a tie.
pub fn own_addresses(sums: &[FlowSum]) -> Vec<String> {
    let mut n: BTreeMap<(&str, &str), f64> = BTreeMap::new();
    for f in sums {
        for a in [&f.src, &f.dst] {
            if !a.is_empty() {
                *n.entry((&f.eni, a)).or_default() += f.flows;
            }
        }
    }
    let mut best: BTreeMap<&str, (f64, bool, &str)> = BTreeMap::new();
    for ((eni, addr), c) in n {
        let cand = (c, is_private(addr), addr);
        let e = best.entry(eni).or_insert(cand);
        if (cand.0, cand.1) > (e.0, e.1) {
            *e = cand;
        }
    }
    let mut v: Vec<String> = best.into_values().map(|b| b.2.to_string()).collect();
    v.sort();
    v.dedup();
    v
}

/// The entity's summary over `days` (a date predicate).
pub async fn traffic(ctx: &SessionContext, e: &NetEntity, days: &str) -> anyhow::Result<Traffic> {
    // An instance the inventory knows is read by its interfaces: one scan, not two.
    let resolved;
    let e = match e {
        NetEntity::Instance(id) => {
            let r = queries::run(ctx, queries::instance_interfaces(id)).await?;
            let enis: Vec<String> = (0..r.len())
                .filter_map(|i| r.get(i, "interface_id").map(str::to_string))
                .collect();
            resolved = NetEntity::InstanceOn(id.clone(), enis);
            match &resolved {
                NetEntity::InstanceOn(_, v) if !v.is_empty() => &resolved,
                _ => e,
            }
        }
        _ => e,
    };
    let sums = parse(&queries::run(ctx, queries::flow_summary(e, days)).await?);
    let addrs = match e {
        NetEntity::Ip(ip) => vec![ip.clone()],
        _ => own_addresses(&sums),
    };
    Ok(Traffic { addrs, sums })
}

impl Traffic {
    fn outbound(&self, f: &FlowSum) -> bool {
        self.addrs.contains(&f.src)
    }

    /// Hourly bytes out and in (sparse; see `band::densify`).
    pub fn hourly(&self) -> Vec<HourPoint> {
        let mut m: BTreeMap<i64, (f64, f64)> = BTreeMap::new();
        for f in &self.sums {
            let e = m.entry(f.hour).or_default();
            if self.outbound(f) {
                e.0 += f.bytes;
            }
            if self.addrs.contains(&f.dst) {
                e.1 += f.bytes;
            }
        }
        m.into_iter()
            .map(|(hour, (o, i))| HourPoint {
                hour,
                bytes_out: o,
                bytes_in: i,
            })
            .collect()
    }

    /// Interface → instance, subnet, VPC as the records name them, with first and last seen.
    pub fn placement(&self) -> Rows {
        let mut m: BTreeMap<(&str, &[String; 3]), (i64, i64)> = BTreeMap::new();
        for f in &self.sums {
            let e = m
                .entry((&f.eni, &f.placement))
                .or_insert((f.first_s, f.last_s));
            e.0 = e.0.min(f.first_s);
            e.1 = e.1.max(f.last_s);
        }
        let cols = [
            "interface_id",
            "instance_id",
            "subnet_id",
            "vpc_id",
            "first_seen",
            "last_seen",
        ];
        Rows {
            columns: cols.iter().map(|c| c.to_string()).collect(),
            rows: m
                .into_iter()
                .map(|((eni, p), (a, b))| {
                    let mut r = vec![Some(eni.to_string())];
                    r.extend(p.iter().map(|v| (!v.is_empty()).then(|| v.clone())));
                    r.extend([Some(stamp(a)), Some(stamp(b))]);
                    r
                })
                .collect(),
        }
    }

    /// Peers, ports and bytes each way between `from` and `to` (seconds; hours overlapping).
    pub fn peers(&self, from: i64, to: i64) -> Rows {
        type Key<'a> = (&'a str, &'a str, &'a str);
        let mut m: BTreeMap<Key<'_>, [f64; 4]> = BTreeMap::new();
        for f in self
            .sums
            .iter()
            .filter(|f| f.hour + 3600 > from && f.hour <= to)
        {
            let out = self.outbound(f);
            let peer = if out { &f.dst } else { &f.src };
            let e = m.entry((peer, &f.port, &f.protocol)).or_default();
            e[if out { 0 } else { 1 }] += f.bytes;
            e[2] += f.flows;
            if f.action == "REJECT" {
                e[3] += f.flows;
            }
        }
        let mut v: Vec<(Key<'_>, [f64; 4])> = m.into_iter().collect();
        v.sort_by(|a, b| {
            (b.1[0] + b.1[1])
                .total_cmp(&(a.1[0] + a.1[1]))
                .then(a.0.cmp(&b.0))
        });
        let cols = [
            "peer",
            "port",
            "protocol",
            "bytes_out",
            "bytes_in",
            "flows",
            "rejected",
        ];
        Rows {
            columns: cols.iter().map(|c| c.to_string()).collect(),
            rows: v
                .into_iter()
                .take(40)
                .map(|((p, port, proto), n)| {
                    let mut r = vec![
                        Some(p.to_string()),
                        Some(port.to_string()),
                        Some(proto.to_string()),
                    ];
                    r.extend(n.iter().map(|x| Some(format!("{x:.0}"))));
                    r
                })
                .collect(),
        }
    }

    /// The biggest summed flows between `from` and `to` (seconds), at most 20.
    pub fn biggest(&self, from: i64, to: i64) -> Rows {
        let mut v: Vec<&FlowSum> = self
            .sums
            .iter()
            .filter(|f| f.last_s >= from && f.first_s <= to)
            .collect();
        v.sort_by(|a, b| b.bytes.total_cmp(&a.bytes).then(a.first_s.cmp(&b.first_s)));
        let cols = [
            "hour",
            "interface_id",
            "srcaddr",
            "dstaddr",
            "port",
            "protocol",
            "action",
            "flows",
            "packets",
            "bytes",
        ];
        Rows {
            columns: cols.iter().map(|c| c.to_string()).collect(),
            rows: v
                .into_iter()
                .take(20)
                .map(|f| {
                    [
                        stamp(f.hour),
                        f.eni.clone(),
                        f.src.clone(),
                        f.dst.clone(),
                        f.port.clone(),
                        f.protocol.clone(),
                        f.action.clone(),
                        format!("{:.0}", f.flows),
                        format!("{:.0}", f.packets),
                        format!("{:.0}", f.bytes),
                    ]
                    .into_iter()
                    .map(Some)
                    .collect()
                })
                .collect(),
        }
    }
}

fn stamp(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn f(eni: &str, hour: i64, src: &str, dst: &str, bytes: f64, flows: f64) -> FlowSum {
        FlowSum {
            eni: eni.into(),
            hour: hour * 3600,
            src: src.into(),
            dst: dst.into(),
            port: "443".into(),
            protocol: "6".into(),
            action: "ACCEPT".into(),
            bytes,
            flows,
            first_s: hour * 3600 + 5,
            last_s: hour * 3600 + 600,
            ..Default::default()
        }
    }

    #[test]
    fn the_address_on_most_flows_is_the_interfaces_own_and_a_tie_goes_private() {
        let s = vec![
            f("eni-1", 0, "10.0.0.5", "8.8.8.8", 1.0, 30.0),
            f("eni-1", 0, "1.1.1.1", "10.0.0.5", 1.0, 10.0),
            f("eni-2", 0, "52.1.1.1", "10.0.0.9", 1.0, 7.0),
        ];
        assert_eq!(own_addresses(&s), vec!["10.0.0.5", "10.0.0.9"]);
    }

    #[test]
    fn hours_peers_and_biggest_flows_come_from_the_summary() {
        let t = Traffic {
            addrs: vec!["10.0.0.5".into()],
            sums: vec![
                f("eni-1", 1, "10.0.0.5", "8.8.8.8", 100.0, 1.0),
                f("eni-1", 1, "8.8.8.8", "10.0.0.5", 40.0, 1.0),
                f("eni-1", 2, "10.0.0.5", "9.9.9.9", 5000.0, 2.0),
            ],
        };
        let h = t.hourly();
        assert_eq!(h.len(), 2);
        assert_eq!((h[0].bytes_out, h[0].bytes_in), (100.0, 40.0));
        let p = t.peers(0, 10 * 3600);
        assert_eq!(p.get(0, "peer"), Some("9.9.9.9"));
        assert_eq!(p.get(1, "bytes_out"), Some("100"));
        assert_eq!(p.get(1, "bytes_in"), Some("40"));
        // Only the hours asked for.
        assert_eq!(t.peers(2 * 3600, 3 * 3600).len(), 1);
        let b = t.biggest(2 * 3600, 3 * 3600);
        assert_eq!(b.len(), 1);
        assert_eq!(b.get(0, "bytes"), Some("5000"));
        assert_eq!(t.placement().get(0, "interface_id"), Some("eni-1"));
    }

    #[test]
    fn partitions_name_hours() {
        assert_eq!(partition_hour("2026-01-08", "11"), Some(1_767_870_000));
        assert_eq!(partition_hour("2026-01-08", "x"), None);
    }
}
