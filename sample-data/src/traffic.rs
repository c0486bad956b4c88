//! Normal traffic: connections between the fleet and its peers, shaped by role and time of
//! day, turned into the flow-log records each involved interface would log.
//!
//! A connection seen on an interface gives two records there (request and response
//! direction); a rejected inbound probe gives one. Internal (east-west) connections are logged
//! on both interfaces.

use crate::fleet::{Fleet, Peers, Role};
use crate::flowlog::{FlowRecord, Status};
use crate::prng::Rng;
use crate::time::hour_of_day;

/// Share of peak traffic by local hour of day, in percent.
pub const DIURNAL: [u64; 24] = [
    30, 25, 20, 20, 20, 25, 35, 50, 70, 85, 95, 100, 100, 100, 100, 95, 90, 85, 75, 65, 55, 45, 40,
    35,
];

/// TCP.
pub const TCP: u8 = 6;
/// UDP.
pub const UDP: u8 = 17;

/// `traffic-path` for egress within the VPC.
pub const PATH_VPC: u8 = 1;
/// `traffic-path` for egress through a virtual private gateway (VPN to on-premises).
pub const PATH_VGW: u8 = 3;
/// `traffic-path` for egress through a gateway VPC endpoint.
pub const PATH_GW_ENDPOINT: u8 = 7;
/// `traffic-path` for egress through the internet gateway.
pub const PATH_IGW: u8 = 8;

/// One connection (an aggregated flow in both directions).
#[derive(Debug, Clone, Copy)]
pub struct Conn {
    /// Initiator address.
    pub src: u32,
    /// Responder address.
    pub dst: u32,
    /// Initiator port.
    pub sport: u16,
    /// Responder port.
    pub dport: u16,
    /// Protocol.
    pub proto: u8,
    /// Packets initiator → responder.
    pub fwd_pkts: u64,
    /// Bytes initiator → responder.
    pub fwd_bytes: u64,
    /// Packets responder → initiator (0: no response).
    pub rev_pkts: u64,
    /// Bytes responder → initiator.
    pub rev_bytes: u64,
    /// Start.
    pub start: i64,
    /// End.
    pub end: i64,
    /// Whether the responder's security group accepts it.
    pub accepted: bool,
    /// Initiator interface, when it is in the fleet.
    pub src_if: Option<usize>,
    /// Responder interface, when it is in the fleet.
    pub dst_if: Option<usize>,
    /// `traffic-path` of the initiator's egress record.
    pub path_out: u8,
}

impl Conn {
    /// A TCP connection with sizes; ports, interfaces and times filled by the caller.
    pub fn tcp(src: u32, dst: u32, dport: u16, start: i64, dur: i64) -> Self {
        Self {
            src,
            dst,
            sport: 0,
            dport,
            proto: TCP,
            fwd_pkts: 1,
            fwd_bytes: 60,
            rev_pkts: 0,
            rev_bytes: 0,
            start,
            end: start + dur,
            accepted: true,
            src_if: None,
            dst_if: None,
            path_out: PATH_IGW,
        }
    }

    /// Set request/response sizes from byte counts (packets derived, ~1,200 bytes a packet).
    pub fn sizes(mut self, fwd_bytes: u64, rev_bytes: u64) -> Self {
        self.fwd_bytes = fwd_bytes.max(40);
        self.fwd_pkts = (self.fwd_bytes / 1200).max(1) + 2;
        self.rev_bytes = rev_bytes;
        self.rev_pkts = if rev_bytes == 0 {
            0
        } else {
            (rev_bytes / 1200).max(1) + 2
        };
        self
    }

    /// Write the records each fleet interface on either end would log.
    pub fn emit(&self, out: &mut Vec<FlowRecord>) {
        let tcp = self.proto == TCP;
        let responds = self.accepted && self.rev_pkts > 0;
        let base = FlowRecord {
            iface: 0,
            src: self.src,
            dst: self.dst,
            sport: self.sport,
            dport: self.dport,
            proto: self.proto,
            packets: self.fwd_pkts,
            bytes: self.fwd_bytes,
            start: self.start,
            end: self.end,
            accept: true,
            status: Status::Ok,
            tcp_flags: if !tcp {
                0
            } else if responds {
                3
            } else {
                2
            },
            egress: true,
            traffic_path: self.path_out,
        };
        let reverse = FlowRecord {
            src: self.dst,
            dst: self.src,
            sport: self.dport,
            dport: self.sport,
            packets: self.rev_pkts,
            bytes: self.rev_bytes,
            tcp_flags: if tcp { 19 } else { 0 },
            ..base
        };
        if let Some(i) = self.src_if {
            out.push(FlowRecord { iface: i, ..base });
            if responds {
                out.push(FlowRecord {
                    iface: i,
                    egress: false,
                    traffic_path: 0,
                    ..reverse
                });
            }
        }
        if let Some(j) = self.dst_if {
            out.push(FlowRecord {
                iface: j,
                egress: false,
                traffic_path: 0,
                accept: self.accepted,
                ..base
            });
            if responds {
                let back = if self.src_if.is_some() {
                    PATH_VPC
                } else {
                    PATH_IGW
                };
                out.push(FlowRecord {
                    iface: j,
                    egress: true,
                    traffic_path: back,
                    ..reverse
                });
            }
        }
    }
}

/// Ports probed by internet background scanners (none is open on the fleet).
pub const SCAN_PORTS: &[u16] = &[
    23, 25, 81, 135, 139, 445, 1433, 2323, 3306, 3389, 5060, 5432, 5900, 6379, 8080, 8443, 8888,
    9200, 27017,
];

/// The normal-traffic model over a fleet.
#[derive(Debug)]
pub struct Model<'a> {
    /// The fleet.
    pub fleet: &'a Fleet,
    /// Outside peers.
    pub peers: &'a Peers,
    /// Global rate multiplier in percent (the sample uses a low one to stay small).
    pub scale_pct: u64,
}

/// Window length (the flow-log delivery interval).
pub const WINDOW: i64 = 300;

impl Model<'_> {
    fn ephemeral(rng: &mut Rng) -> u16 {
        rng.range(32_768, 61_000) as u16
    }

    fn start_in(rng: &mut Rng, t0: i64) -> (i64, i64) {
        let s = t0 + rng.below(WINDOW as u64 - 60) as i64;
        (s, rng.range(1, 60) as i64)
    }

    /// Records for one delivery window `[t0, t0 + WINDOW)` of flow log `fl`.
    pub fn window(&self, rng: &mut Rng, fl: usize, t0: i64, out: &mut Vec<FlowRecord>) {
        let def = &self.fleet.flow_logs[fl];
        let local_hour = hour_of_day(t0 + def.utc_offset_h * 3600);
        let diurnal = DIURNAL[local_hour as usize];
        let work_hours = (8..19).contains(&local_hour);
        // scaled rate in hundredths of connections per window
        let rate = |base: u64, shaped: bool| {
            let d = if shaped { diurnal } else { 100 };
            base * d * self.scale_pct / 10_000
        };
        let webs = self.fleet.with_role(fl, Role::Web, t0);
        let apps = self.fleet.with_role(fl, Role::App, t0);
        let dbs = self.fleet.with_role(fl, Role::Db, t0);
        let p = self.peers;
        let fleet = self.fleet;
        for (i, f) in fleet.ifaces.iter().enumerate() {
            if f.flow_log != fl || !f.active(t0) {
                continue;
            }
            let before = out.len();
            match f.role {
                Role::Web => {
                    for _ in 0..rng.count(rate(300, true)) {
                        let (s, d) = Self::start_in(rng, t0);
                        let mut c = Conn::tcp(*rng.pick(&p.clients), f.ip, 443, s, d)
                            .sizes(rng.skewed(1_500), rng.skewed(24_000));
                        c.sport = Self::ephemeral(rng);
                        c.dst_if = Some(i);
                        c.emit(out);
                    }
                    if !apps.is_empty() {
                        for _ in 0..rng.count(rate(200, true)) {
                            let j = *rng.pick(&apps);
                            let (s, d) = Self::start_in(rng, t0);
                            let mut c = Conn::tcp(f.ip, fleet.ifaces[j].ip, 8080, s, d)
                                .sizes(rng.skewed(900), rng.skewed(12_000));
                            c.sport = Self::ephemeral(rng);
                            c.src_if = Some(i);
                            c.dst_if = Some(j);
                            c.path_out = PATH_VPC;
                            c.emit(out);
                        }
                    }
                }
                Role::LoadBalancer => {
                    for _ in 0..rng.count(rate(150, true)) {
                        let (s, d) = Self::start_in(rng, t0);
                        let mut c = Conn::tcp(*rng.pick(&p.clients), f.ip, 443, s, d)
                            .sizes(rng.skewed(1_400), rng.skewed(20_000));
                        c.sport = Self::ephemeral(rng);
                        c.dst_if = Some(i);
                        c.emit(out);
                    }
                    if !webs.is_empty() && rng.chance(self.scale_pct.min(100), 100) {
                        // health check of one target
                        let j = *rng.pick(&webs);
                        let (s, d) = Self::start_in(rng, t0);
                        let mut c = Conn::tcp(f.ip, fleet.ifaces[j].ip, 443, s, d).sizes(180, 420);
                        c.sport = Self::ephemeral(rng);
                        c.src_if = Some(i);
                        c.dst_if = Some(j);
                        c.path_out = PATH_VPC;
                        c.emit(out);
                    }
                }
                Role::App => {
                    if !dbs.is_empty() {
                        for _ in 0..rng.count(rate(150, true)) {
                            let j = *rng.pick(&dbs);
                            let (s, d) = Self::start_in(rng, t0);
                            let mut c = Conn::tcp(f.ip, fleet.ifaces[j].ip, 5432, s, d)
                                .sizes(rng.skewed(700), rng.skewed(6_000));
                            c.sport = Self::ephemeral(rng);
                            c.src_if = Some(i);
                            c.dst_if = Some(j);
                            c.path_out = PATH_VPC;
                            c.emit(out);
                        }
                    }
                    for _ in 0..rng.count(rate(50, true)) {
                        let (s, d) = Self::start_in(rng, t0);
                        let mut c = Conn::tcp(f.ip, *rng.pick(&p.aws_api), 443, s, d)
                            .sizes(rng.skewed(2_000), rng.skewed(3_000));
                        c.sport = Self::ephemeral(rng);
                        c.src_if = Some(i);
                        c.emit(out);
                    }
                    for _ in 0..rng.count(rate(30, true)) {
                        let (s, d) = Self::start_in(rng, t0);
                        let mut c = Conn::tcp(f.ip, *rng.pick(&p.partner_api), 443, s, d)
                            .sizes(rng.skewed(1_800), rng.skewed(2_500));
                        c.sport = Self::ephemeral(rng);
                        c.src_if = Some(i);
                        c.emit(out);
                    }
                }
                Role::Db => {
                    if let Some(&peer) = dbs.iter().find(|&&j| j != i)
                        && i < peer
                    {
                        for _ in 0..rng.count(rate(100, false)) {
                            let (s, d) = Self::start_in(rng, t0);
                            let mut c = Conn::tcp(f.ip, fleet.ifaces[peer].ip, 5432, s, d)
                                .sizes(rng.skewed(40_000), rng.skewed(600));
                            c.sport = Self::ephemeral(rng);
                            c.src_if = Some(i);
                            c.dst_if = Some(peer);
                            c.path_out = PATH_VPC;
                            c.emit(out);
                        }
                    }
                    for _ in 0..rng.count(rate(20, false)) {
                        let (s, d) = Self::start_in(rng, t0);
                        let mut c = Conn::tcp(f.ip, *rng.pick(&p.s3), 443, s, d)
                            .sizes(rng.skewed(60_000), rng.skewed(2_000));
                        c.sport = Self::ephemeral(rng);
                        c.src_if = Some(i);
                        c.path_out = PATH_GW_ENDPOINT;
                        c.emit(out);
                    }
                }
                Role::Bastion => {
                    if work_hours {
                        for _ in 0..rng.count(rate(40, false)) {
                            let (s, d) = Self::start_in(rng, t0);
                            let mut c = Conn::tcp(p.office, f.ip, 22, s, d)
                                .sizes(rng.skewed(6_000), rng.skewed(30_000));
                            c.sport = Self::ephemeral(rng);
                            c.dst_if = Some(i);
                            c.emit(out);
                        }
                        let targets: Vec<usize> = (0..fleet.ifaces.len())
                            .filter(|&j| {
                                let g = &fleet.ifaces[j];
                                j != i
                                    && g.flow_log == fl
                                    && g.instance_id.is_some()
                                    && g.active(t0)
                            })
                            .collect();
                        if !targets.is_empty() {
                            for _ in 0..rng.count(rate(25, false)) {
                                let j = *rng.pick(&targets);
                                let (s, d) = Self::start_in(rng, t0);
                                let mut c = Conn::tcp(f.ip, fleet.ifaces[j].ip, 22, s, d)
                                    .sizes(rng.skewed(5_000), rng.skewed(20_000));
                                c.sport = Self::ephemeral(rng);
                                c.src_if = Some(i);
                                c.dst_if = Some(j);
                                c.path_out = PATH_VPC;
                                c.emit(out);
                            }
                        }
                    }
                }
                Role::Batch => {
                    let minute = (t0.rem_euclid(3600)) / 60;
                    let r = if minute < 15 {
                        rate(400, false)
                    } else {
                        rate(8, false)
                    };
                    for _ in 0..rng.count(r) {
                        let (s, d) = Self::start_in(rng, t0);
                        let mut c = Conn::tcp(f.ip, *rng.pick(&p.s3), 443, s, d)
                            .sizes(rng.skewed(2_000_000), rng.skewed(4_000));
                        c.sport = Self::ephemeral(rng);
                        c.src_if = Some(i);
                        c.path_out = PATH_GW_ENDPOINT;
                        c.emit(out);
                    }
                }
            }
            if f.instance_id.is_some() {
                // DNS to the on-premises resolver, NTP to public pools
                for _ in 0..rng.count(rate(30, true)) {
                    let (s, d) = Self::start_in(rng, t0);
                    let mut c = Conn::tcp(f.ip, p.dns, 53, s, d)
                        .sizes(rng.range(60, 120), rng.range(90, 400));
                    c.proto = UDP;
                    c.sport = Self::ephemeral(rng);
                    c.src_if = Some(i);
                    c.path_out = PATH_VGW;
                    c.emit(out);
                }
                if rng.chance(self.scale_pct.min(100) * 8, 1000) {
                    let (s, d) = Self::start_in(rng, t0);
                    let mut c = Conn::tcp(f.ip, *rng.pick(&p.ntp), 123, s, d).sizes(76, 76);
                    c.proto = UDP;
                    c.sport = 123;
                    c.src_if = Some(i);
                    c.emit(out);
                }
            }
            if out.len() == before && rng.chance(1, 6) {
                out.push(FlowRecord::status_only(i, Status::NoData, t0, t0 + 59));
            }
        }
        // Internet background scanning of public interfaces: normal, always rejected.
        let public: Vec<usize> = (0..fleet.ifaces.len())
            .filter(|&j| {
                let g = &fleet.ifaces[j];
                g.flow_log == fl && g.role.public() && g.active(t0)
            })
            .collect();
        if !public.is_empty() {
            for _ in 0..rng.count(rate(200, false)) {
                let j = *rng.pick(&public);
                let (s, _) = Self::start_in(rng, t0);
                let mut c = Conn::tcp(
                    rng.public_ipv4(),
                    fleet.ifaces[j].ip,
                    *rng.pick(SCAN_PORTS),
                    s,
                    0,
                );
                c.sport = Self::ephemeral(rng);
                c.fwd_bytes = 40 + 4 * rng.below(6);
                c.accepted = false;
                c.dst_if = Some(j);
                c.emit(out);
            }
        }
        // An occasional SKIPDATA (capacity or internal error) on one interface.
        if rng.chance(1, 400)
            && let Some(i) = fleet
                .ifaces
                .iter()
                .position(|f| f.flow_log == fl && f.active(t0))
        {
            out.push(FlowRecord::status_only(i, Status::SkipData, t0, t0 + 60));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejected_probe_gives_one_record() {
        let mut out = Vec::new();
        let mut c = Conn::tcp(1, 2, 23, 100, 0);
        c.accepted = false;
        c.dst_if = Some(0);
        c.emit(&mut out);
        assert_eq!(out.len(), 1);
        assert!(!out[0].accept && !out[0].egress && out[0].tcp_flags == 2);
    }

    #[test]
    fn internal_connection_is_logged_on_both_ends() {
        let mut out = Vec::new();
        let mut c = Conn::tcp(1, 2, 5432, 100, 5).sizes(500, 5000);
        c.src_if = Some(0);
        c.dst_if = Some(1);
        c.path_out = PATH_VPC;
        c.emit(&mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(out.iter().filter(|r| r.iface == 0).count(), 2);
        assert!(out.iter().all(|r| r.accept));
        assert!(
            out.iter()
                .filter(|r| r.egress)
                .all(|r| r.traffic_path == PATH_VPC)
        );
    }
}
