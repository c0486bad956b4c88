//! Network activity of an unseen scenario beyond the normal-traffic model: the four
//! flow-log attacks of the plan (port scan, SSH brute force, exfiltration, reverse shell) and
//! the benign look-alikes (nightly backup, weekly heavy job, internet scanner sweeps and SSH
//! noise), plus log-agent uploads that give every instance a realistic byte baseline.

use crate::fleet::{Role, ip, ip_str};
use crate::flowlog::FlowRecord;
use crate::prng::Rng;
use crate::scenarios::Label;
use crate::time::DAY;
use crate::traffic::{Conn, PATH_GW_ENDPOINT, PATH_IGW, PATH_VPC};

use super::labels::{entity_of, label};
use super::plan::{Plan, ScanShape};
use super::world::World;

/// Flow-log connections of the story, sized except for the exfiltration.
#[derive(Debug, Default)]
pub struct NetStory {
    /// `(flow log, connection)`, sorted by start.
    pub conns: Vec<(usize, Conn)>,
    /// Exfiltration connections; bytes set once the victim's normal volume is known.
    pub exfil: Vec<(usize, Conn)>,
    /// Attack labels.
    pub labels: Vec<Label>,
    /// Benign look-alike labels.
    pub benign: Vec<Label>,
}

const COMMON_PORTS: &[u16] = &[
    21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1433, 1521, 2049, 3306,
    3389, 5432, 5900, 6379, 8000, 8080, 8443, 9000, 9200, 11211, 27017,
];

pub(super) fn ephemeral(rng: &mut Rng) -> u16 {
    rng.range(32_768, 61_000) as u16
}

/// `n` distinct ports: the common ones first (shuffled), then random ones.
fn ports(rng: &mut Rng, n: usize) -> Vec<u16> {
    let mut v: Vec<u16> = COMMON_PORTS.to_vec();
    for i in 0..v.len() {
        let j = i + rng.below((v.len() - i) as u64) as usize;
        v.swap(i, j);
    }
    while v.len() < n {
        let p = rng.range(1, 65_536) as u16;
        if !v.contains(&p) {
            v.push(p);
        }
    }
    v.truncate(n);
    v
}

fn open_port(role: Role, port: u16) -> bool {
    match role {
        Role::Web | Role::LoadBalancer => port == 443 || port == 80,
        Role::App => port == 8080,
        Role::Db => port == 5432,
        Role::Bastion => port == 22,
        Role::Batch => false,
    }
}

impl NetStory {
    pub(super) fn push(&mut self, fl: usize, c: Conn) {
        self.conns.push((fl, c));
    }

    fn scan(&mut self, w: &World, rng: &mut Rng, p: &Plan) {
        let (si, t0, dur, shape) = p.scan;
        let s = &w.fleet.ifaces[si];
        let fl = s.flow_log;
        let vpc_base = s.ip & 0xffff_0000;
        let mut known: Vec<(u32, Option<usize>)> = (0..w.fleet.ifaces.len())
            .filter(|&j| {
                j != si && w.fleet.ifaces[j].flow_log == fl && w.fleet.ifaces[j].active(t0)
            })
            .map(|j| (w.fleet.ifaces[j].ip, Some(j)))
            .collect();
        let (targets, port_list) = match shape {
            ScanShape::Vertical { ports: n } => {
                let t = known[rng.below(known.len() as u64) as usize];
                (vec![t], ports(rng, n))
            }
            ScanShape::Block { hosts, ports: n } => {
                while known.len() < hosts {
                    let third = *rng.pick(&[1u32, 2, 11, 12, 21, 22, 31]);
                    let cand = vpc_base | (third << 8) | rng.range(4, 254) as u32;
                    if !known.iter().any(|(x, _)| *x == cand) {
                        known.push((cand, None));
                    }
                }
                known.truncate(hosts);
                (known, ports(rng, n))
            }
        };
        let mut probes: Vec<(u32, Option<usize>, u16)> = targets
            .iter()
            .flat_map(|&(a, j)| port_list.iter().map(move |&p| (a, j, p)))
            .collect();
        for i in 0..probes.len() {
            let j = i + rng.below((probes.len() - i) as u64) as usize;
            probes.swap(i, j);
        }
        let n = probes.len() as i64;
        for (k, &(addr, tif, port)) in probes.iter().enumerate() {
            let t = t0 + k as i64 * dur / n;
            let mut c = Conn::tcp(s.ip, addr, port, t, 0);
            c.sport = ephemeral(rng);
            c.src_if = Some(si);
            c.dst_if = tif;
            c.path_out = PATH_VPC;
            let open = tif.is_some_and(|j| open_port(w.fleet.ifaces[j].role, port));
            if open {
                c = c.sizes(60, 60);
                c.fwd_pkts = 2;
                c.rev_pkts = 1;
            } else {
                c.accepted = tif.is_none();
            }
            self.push(fl, c);
        }
        let what = match shape {
            ScanShape::Vertical { ports } => format!("{ports} ports on one host"),
            ScanShape::Block { hosts, ports } => format!("{hosts} hosts x {ports} ports"),
        };
        self.labels.push(label(
            "port_scan",
            "instance",
            &entity_of(&w.fleet, si),
            &s.account_id,
            &s.region,
            t0,
            t0 + dur,
            format!(
                "{} ({}) scans {what} ({n} probes) in {} minutes",
                s.name,
                ip_str(s.ip),
                (dur + 59) / 60
            ),
        ));
    }

    fn brute(&mut self, w: &World, rng: &mut Rng, p: &Plan) {
        let (ti, t0, attempts, per_min, accepted) = p.brute;
        let tg = &w.fleet.ifaces[ti];
        let attacker = rng.public_ipv4();
        let mut sport = ephemeral(rng);
        let mut t_ms = t0 * 1000;
        for _ in 0..attempts {
            let t = t_ms / 1000;
            let mut c = Conn::tcp(attacker, tg.ip, 22, t, rng.range(2, 9) as i64);
            if accepted {
                c = c.sizes(rng.range(2_400, 4_200), rng.range(3_000, 5_200));
            } else {
                c.fwd_pkts = rng.range(1, 4);
                c.fwd_bytes = 60 * c.fwd_pkts;
                c.accepted = false;
            }
            c.sport = sport;
            sport = if sport >= 60_990 {
                32_768
            } else {
                sport + rng.range(1, 9) as u16
            };
            c.dst_if = Some(ti);
            self.push(tg.flow_log, c);
            t_ms += 60_000 / per_min as i64 * rng.range(60, 141) as i64 / 100;
        }
        let end = t_ms / 1000;
        let broke_in = accepted && rng.chance(1, 2);
        if broke_in {
            let mut c = Conn::tcp(attacker, tg.ip, 22, end, rng.range(60, 600) as i64)
                .sizes(rng.range(20_000, 90_000), rng.range(80_000, 400_000));
            c.sport = sport;
            c.dst_if = Some(ti);
            self.push(tg.flow_log, c);
        }
        self.labels.push(label(
            "ssh_brute_force",
            "instance",
            &entity_of(&w.fleet, ti),
            &tg.account_id,
            &tg.region,
            t0,
            end,
            format!(
                "{attempts} SSH attempts ({per_min}/min, {}) from {} to {} ({}){}",
                if accepted {
                    "accepted by the security group"
                } else {
                    "rejected"
                },
                ip_str(attacker),
                tg.name,
                ip_str(tg.ip),
                if broke_in {
                    ", then one long session"
                } else {
                    ""
                }
            ),
        ));
    }

    fn exfil(&mut self, w: &World, rng: &mut Rng, p: &Plan) -> (u32, u16) {
        let (vi, t0, dur, _, port) = p.exfil;
        let v = &w.fleet.ifaces[vi];
        let dst = rng.public_ipv4();
        let mut t = t0;
        while t < t0 + dur {
            let mut c = Conn::tcp(v.ip, dst, port, t, 59);
            c.sport = ephemeral(rng);
            c.src_if = Some(vi);
            c.path_out = PATH_IGW;
            self.exfil.push((v.flow_log, c));
            t += 60;
        }
        self.labels.push(label(
            "volume_spike",
            "instance",
            &entity_of(&w.fleet, vi),
            &v.account_id,
            &v.region,
            t0,
            t0 + dur,
            format!(
                "{} ({}) uploads to {}:{port} for {} minutes: EXFIL_BYTES",
                v.name,
                ip_str(v.ip),
                ip_str(dst),
                dur / 60
            ),
        ));
        self.labels.push(label(
            "new_peer",
            "instance",
            &entity_of(&w.fleet, vi),
            &v.account_id,
            &v.region,
            t0,
            t0 + dur,
            format!(
                "{} talks to {}:{port} for the first time (the exfiltration destination)",
                v.name,
                ip_str(dst)
            ),
        ));
        (dst, port)
    }

    fn shell(&mut self, w: &World, rng: &mut Rng, p: &Plan) {
        let (si, t0, dur, port) = p.shell;
        let s = &w.fleet.ifaces[si];
        let c2 = rng.public_ipv4();
        let sport = ephemeral(rng);
        // the stager fetches tools, then the shell sends command output every minute
        let mut c = Conn::tcp(s.ip, c2, port, t0, rng.range(5, 30) as i64)
            .sizes(rng.range(300, 900), rng.range(2_000_000, 20_000_000));
        c.sport = ephemeral(rng);
        c.src_if = Some(si);
        self.push(s.flow_log, c);
        let mut t = t0 + 30;
        let mut sent = 0;
        while t < t0 + dur {
            let out = rng.range(2_000, 40_000);
            sent += out;
            let mut c = Conn::tcp(s.ip, c2, port, t, 59).sizes(out, rng.range(500, 4_000));
            c.sport = sport;
            c.src_if = Some(si);
            self.push(s.flow_log, c);
            t += 60;
        }
        self.labels.push(label(
            "new_peer",
            "instance",
            &entity_of(&w.fleet, si),
            &s.account_id,
            &s.region,
            t0,
            t0 + dur,
            format!(
                "{} ({}) downloads tools from never-seen {}:{port} and keeps a reverse shell to it for {} minutes ({sent} bytes of output)",
                s.name,
                ip_str(s.ip),
                ip_str(c2),
                dur / 60
            ),
        ));
    }

    fn backup(&mut self, w: &World, rng: &mut Rng) {
        let db = &w.fleet.ifaces[w.backup_db];
        let off = w.fleet.flow_logs[db.flow_log].utc_offset_h;
        let gb = rng.range(2, 7);
        for day in 0..w.days {
            let t0 = w.day(day) + (2 - off).rem_euclid(24) * 3600;
            for minute in 0..60 {
                let per = gb * 1_000_000_000 / 60 * rng.range(80, 121) / 100;
                let mut c = Conn::tcp(db.ip, w.peers.backup_partner, 443, t0 + minute * 60, 59)
                    .sizes(per, per / 200);
                c.sport = 44_310;
                c.src_if = Some(w.backup_db);
                self.push(db.flow_log, c);
            }
        }
        let t0 = w.day(0) + (2 - off).rem_euclid(24) * 3600;
        self.benign.push(label(
            "volume_spike",
            "instance",
            &entity_of(&w.fleet, w.backup_db),
            &db.account_id,
            &db.region,
            t0,
            t0 + (w.days - 1) * DAY + 3600,
            format!(
                "nightly backup: {} sends ~{gb} GB to the backup partner {}:443 from 02:00 to 03:00 local time every night",
                db.name,
                ip_str(w.peers.backup_partner)
            ),
        ));
    }

    fn weekly(&mut self, w: &World, rng: &mut Rng) {
        let b = &w.fleet.ifaces[w.weekly];
        let off = w.fleet.flow_logs[b.flow_log].utc_offset_h;
        let gb = rng.range(8, 26);
        let hours = rng.range(2, 4) as i64;
        let mut day = 0;
        while day < w.days {
            let t0 = w.day(day) + (1 - off).rem_euclid(24) * 3600;
            for minute in 0..hours * 60 {
                let per = gb * 1_000_000_000 / (hours as u64 * 60) * rng.range(85, 116) / 100;
                let mut c = Conn::tcp(b.ip, *rng.pick(&w.peers.s3), 443, t0 + minute * 60, 59)
                    .sizes(per, per / 500);
                c.sport = ephemeral(rng);
                c.src_if = Some(w.weekly);
                c.path_out = PATH_GW_ENDPOINT;
                self.push(b.flow_log, c);
            }
            self.benign.push(label(
                "volume_spike",
                "instance",
                &entity_of(&w.fleet, w.weekly),
                &b.account_id,
                &b.region,
                t0,
                t0 + hours * 3600,
                format!(
                    "weekly heavy job: {} uploads ~{gb} GB to S3 (gateway endpoint) from 01:00 local for {hours} hours",
                    b.name
                ),
            ));
            day += 7;
        }
    }

    fn scanners(&mut self, w: &World, rng: &mut Rng) {
        let public: Vec<usize> = (0..w.fleet.ifaces.len())
            .filter(|&i| w.fleet.ifaces[i].role.public())
            .collect();
        for day in 0..w.days {
            // scanner sweeps: one source, every public interface, one to three ports
            for _ in 0..rng.range(3, 7) {
                let src = rng.public_ipv4();
                let t0 = w.day(day) + rng.below((DAY - 900) as u64) as i64;
                let n_ports = rng.range(1, 4) as usize;
                let ps = ports(rng, n_ports);
                let mut t = t0;
                for &i in &public {
                    let g = &w.fleet.ifaces[i];
                    if !g.active(t) {
                        continue;
                    }
                    for &port in &ps {
                        let mut c = Conn::tcp(src, g.ip, port, t, 0);
                        c.sport = ephemeral(rng);
                        c.fwd_bytes = 44;
                        c.accepted = false;
                        c.dst_if = Some(i);
                        if open_port(g.role, port) {
                            c = c.sizes(60, 60);
                            c.fwd_pkts = 2;
                            c.rev_pkts = 1;
                            c.accepted = true;
                        }
                        self.push(g.flow_log, c);
                        t += rng.range(0, 20) as i64;
                    }
                }
            }
            // SSH noise: a few password guesses from many sources
            for &i in &public {
                let g = &w.fleet.ifaces[i];
                for _ in 0..rng.range(4, 16) {
                    let src = rng.public_ipv4();
                    let mut t = w.day(day) + rng.below((DAY - 600) as u64) as i64;
                    for _ in 0..rng.range(1, 5) {
                        let mut c = Conn::tcp(src, g.ip, 22, t, rng.range(1, 6) as i64);
                        if g.role == Role::Bastion {
                            c = c.sizes(rng.range(1_500, 3_000), rng.range(2_000, 4_000));
                        } else {
                            c.accepted = false;
                        }
                        c.sport = ephemeral(rng);
                        c.dst_if = Some(i);
                        self.push(g.flow_log, c);
                        t += rng.range(3, 40) as i64;
                    }
                }
            }
        }
        self.benign.push(label(
            "port_scan",
            "ip",
            "*",
            "*",
            "*",
            w.d0,
            w.day(w.days),
            "internet background scanning: sources sweep every public interface on one to three ports, and a few SSH password guesses per source; mostly REJECT".into(),
        ));
    }
}

/// Build the network story of a plan.
pub fn story(w: &World, plan: &Plan) -> (NetStory, u32) {
    let mut rng = Rng::derive(w.seed, "unseen/net");
    let r = &mut rng;
    let mut s = NetStory::default();
    s.scan(w, r, plan);
    s.brute(w, r, plan);
    let (dst, _) = s.exfil(w, r, plan);
    s.shell(w, r, plan);
    s.backup(w, r);
    s.weekly(w, r);
    s.scanners(w, r);
    super::chain::net(
        &mut s,
        w,
        &mut Rng::derive(w.seed, "unseen/chain/net"),
        plan,
    );
    s.conns.sort_by_key(|(_, c)| c.start);
    (s, dst)
}

/// Log-agent uploads in `[t0, t1)` for flow log `fl`: every instance ships its logs to a
/// regional endpoint about every 20 minutes, sized by the time of day (smooth: log volume
/// follows load).
pub fn agent_traffic(
    w: &World,
    rng: &mut Rng,
    fl: usize,
    t0: i64,
    t1: i64,
    out: &mut Vec<FlowRecord>,
) {
    let def = &w.fleet.flow_logs[fl];
    let local = (t0 + def.utc_offset_h * 3600).rem_euclid(DAY) / 3600;
    let shape = crate::traffic::DIURNAL[local as usize];
    let endpoint = ip(52, 46, 128, 0) | (fl as u32 * 7 + 3);
    for (i, f) in w.fleet.ifaces.iter().enumerate() {
        if f.flow_log != fl || f.instance_id.is_none() || !f.active(t0) {
            continue;
        }
        if !rng.chance((t1 - t0) as u64, 1_200) {
            continue;
        }
        let s = t0 + rng.below((t1 - t0 - 30).max(1) as u64) as i64;
        // log volume follows load: smooth, no heavy tail
        let bytes = 300_000 * shape / 100 * rng.range(70, 141) / 100;
        let mut c = Conn::tcp(f.ip, endpoint, 443, s, rng.range(1, 20) as i64)
            .sizes(bytes, rng.range(2_000, 6_000));
        c.sport = ephemeral(rng);
        c.src_if = Some(i);
        c.emit(out);
    }
}
