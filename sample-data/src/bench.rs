//! The large benchmark set: a bigger fleet, ~1,000 records per flow-log object as AWS
//! delivers them, default and custom formats mixed, CloudTrail files every 5 minutes per
//! account/region. Streams window by window: memory stays at one object's worth.
//!
//! The shape can be changed for benchmark matrices ([`BenchSpec`]): records per object, a
//! grid fleet of accounts × regions (one VPC and flow log each), one record format for every
//! flow log (the default v2, the custom v5 or a 40-field custom format in a seeded random
//! order), the hours the objects are spread over (few or many partitions), and the events per
//! CloudTrail document. The default spec writes the same bytes as before these options.

use std::io;
use std::path::Path;

use crate::cloudtrail::{TrailStream, write_log_file};
use crate::fleet::{Fleet, Iface, Peers, Role};
use crate::flowlog::{
    CUSTOM_V5, DEFAULT_V2, FileBuilder, FlowFormat, FlowRecord, Status, push_u64,
};
use crate::layout::{FlowLayout, flow_key};
use crate::output::{Sink, Stats};
use crate::prng::Rng;
use crate::scenarios::{ACCOUNT_A, ACCOUNT_B, ORG_ID};
use crate::traffic::{Model, WINDOW};
use crate::trail_events::{Identities, mix};

/// Record format of the flow logs in a bench set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchFormat {
    /// Each flow log its own: the default v2 and the custom v5 format (in a grid fleet,
    /// alternating by flow log).
    Mixed,
    /// The default (version 2) format, 14 fields, everywhere.
    V2,
    /// The custom v5 format (25 fields, a different order from the default) everywhere.
    V5,
    /// 40 fields (every field of versions 2 to 8), in an order drawn from the seed.
    Wide40,
}

impl BenchFormat {
    /// Parse `mixed`, `v2`, `v5` or `wide40`.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "mixed" => Some(Self::Mixed),
            "v2" | "default" => Some(Self::V2),
            "v5" | "custom-v5" => Some(Self::V5),
            "wide40" | "custom-40" | "40" => Some(Self::Wide40),
            _ => None,
        }
    }
}

/// Which fleet writes the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BenchFleet {
    /// Four VPCs in two accounts (us-east-1, us-west-2; eu-west-1, us-east-1) in daily,
    /// hourly and Hive-style folders; CloudTrail for the four account/regions.
    Classic,
    /// `accounts` × `regions` VPCs, one flow log each in daily folders, CloudTrail per
    /// account/region (odd accounts under an organization-trail prefix).
    Grid {
        /// Accounts (1..=20).
        accounts: u32,
        /// Regions per account (1..=10).
        regions: u32,
    },
}

/// What to generate.
#[derive(Debug, Clone, Copy)]
pub struct BenchSpec {
    /// Flow-log records (approximate to within one object).
    pub flow_records: u64,
    /// CloudTrail events.
    pub trail_events: u64,
    /// Seed.
    pub seed: u64,
    /// Records per flow-log object, on average (±10%).
    pub records_per_object: u64,
    /// The fleet.
    pub fleet: BenchFleet,
    /// Record format of the flow logs.
    pub format: BenchFormat,
    /// Spread the objects evenly over this many hours (several objects per 5-minute window
    /// when there are more than fit): few partitions with a small number. `None`: one object
    /// per flow log every 5 minutes, as long as the records last.
    pub hours: Option<u64>,
    /// CloudTrail events per document, on average (±25%). `None`: the events spread over the
    /// flow-log windows (every 5 minutes per account/region).
    pub events_per_file: Option<u64>,
    /// Shuffle each flow-log object's records, so that no interface's records come in runs
    /// (the worst case for detection's shortcuts for runs); the records and the objects are
    /// the same as without.
    pub shuffle_records: bool,
}

impl Default for BenchSpec {
    fn default() -> Self {
        Self {
            flow_records: 5_000_000,
            trail_events: 200_000,
            seed: 1,
            records_per_object: RECORDS_PER_OBJECT,
            fleet: BenchFleet::Classic,
            format: BenchFormat::Mixed,
            hours: None,
            events_per_file: None,
            shuffle_records: false,
        }
    }
}

/// Start of the bench set: 2026-02-01T00:00:00Z.
pub const BENCH_START: i64 = 1_769_904_000;

/// Records per flow-log object, on average.
pub const RECORDS_PER_OBJECT: u64 = 1_000;

/// Regions of a grid fleet, with two availability-zone ids each.
const GRID_REGIONS: [(&str, [&str; 2]); 10] = [
    ("us-east-1", ["use1-az1", "use1-az2"]),
    ("us-west-2", ["usw2-az1", "usw2-az2"]),
    ("eu-west-1", ["euw1-az1", "euw1-az2"]),
    ("eu-central-1", ["euc1-az1", "euc1-az2"]),
    ("ap-southeast-2", ["apse2-az1", "apse2-az2"]),
    ("ap-northeast-1", ["apne1-az1", "apne1-az4"]),
    ("ca-central-1", ["cac1-az1", "cac1-az2"]),
    ("sa-east-1", ["sae1-az1", "sae1-az2"]),
    ("eu-north-1", ["eun1-az1", "eun1-az2"]),
    ("ap-south-1", ["aps1-az1", "aps1-az2"]),
];

/// Account id `k` of a grid fleet (the first two are the sample's accounts).
fn grid_account(k: u32) -> String {
    match k {
        0 => ACCOUNT_A.to_string(),
        1 => ACCOUNT_B.to_string(),
        _ => format!("{:012}", 100_000_000_000 + u64::from(k) * 111_111_111),
    }
}

#[allow(clippy::too_many_arguments)]
fn add_vpc(
    fleet: &mut Fleet,
    r: &mut Rng,
    account: &str,
    region: &str,
    octet: u8,
    format: &'static FlowFormat,
    layout: FlowLayout,
    azs: [&str; 2],
) {
    let mut v = fleet.add_vpc(r, account, region, octet, format, layout, 0);
    let subnets: Vec<usize> = (0..6u8)
        .map(|k| {
            fleet.add_subnet(
                r,
                &mut v,
                [1, 2, 11, 12, 21, 22][k as usize],
                azs[usize::from(k % 2)],
            )
        })
        .collect();
    let plan: &[(Role, usize, usize)] = &[
        (Role::Web, 10, 0),
        (Role::LoadBalancer, 2, 0),
        (Role::Bastion, 2, 0),
        (Role::App, 12, 2),
        (Role::Db, 4, 4),
        (Role::Batch, 6, 2),
    ];
    for &(role, n, sub) in plan {
        for k in 0..n {
            let s = subnets[sub + k % 2];
            fleet.add_iface(
                r,
                &v,
                s,
                role,
                &format!("{}-{}", role.as_str(), k + 1),
                i64::MIN,
            );
        }
    }
}

/// The fleet, the outside world, and the principals and trail of every account/region.
struct World {
    fleet: Fleet,
    peers: Peers,
    ids: Vec<Identities>,
    streams: Vec<TrailStream>,
}

impl World {
    fn identities(&self, account: &str) -> &Identities {
        self.ids
            .iter()
            .find(|i| i.account == account)
            .unwrap_or(&self.ids[0])
    }
}

fn instances(fleet: &Fleet, acct: &str) -> Vec<(String, String)> {
    fleet
        .ifaces
        .iter()
        .filter(|f| f.account_id == acct)
        .filter_map(|f| {
            f.instance_id
                .clone()
                .map(|id| (f.role.as_str().to_string(), id))
        })
        .collect()
}

fn stream(account: &str, region: &str, org: bool) -> TrailStream {
    TrailStream {
        account: account.into(),
        region: region.into(),
        org: org.then(|| ORG_ID.into()),
        trail: if org { "org-trail" } else { "management-trail" }.into(),
        utc_offset_h: 0,
    }
}

fn classic_world(seed: u64, format: BenchFormat) -> World {
    let pick = |own: &'static FlowFormat| match format {
        BenchFormat::Mixed => own,
        BenchFormat::V2 => &DEFAULT_V2,
        BenchFormat::V5 | BenchFormat::Wide40 => &CUSTOM_V5,
    };
    let mut r = Rng::derive(seed, "bench-fleet");
    let mut fleet = Fleet::default();
    let vpcs: [(&str, &str, &'static FlowFormat, FlowLayout, [&str; 2]); 4] = [
        (
            ACCOUNT_A,
            "us-east-1",
            &DEFAULT_V2,
            FlowLayout::Daily,
            ["use1-az1", "use1-az2"],
        ),
        (
            ACCOUNT_A,
            "us-west-2",
            &DEFAULT_V2,
            FlowLayout::Hourly,
            ["usw2-az1", "usw2-az2"],
        ),
        (
            ACCOUNT_B,
            "eu-west-1",
            &CUSTOM_V5,
            FlowLayout::Hive,
            ["euw1-az1", "euw1-az2"],
        ),
        (
            ACCOUNT_B,
            "us-east-1",
            &CUSTOM_V5,
            FlowLayout::Daily,
            ["use1-az4", "use1-az6"],
        ),
    ];
    for (k, (acct, region, own, layout, azs)) in vpcs.into_iter().enumerate() {
        add_vpc(
            &mut fleet,
            &mut r,
            acct,
            region,
            k as u8,
            pick(own),
            layout,
            azs,
        );
    }
    let peers = Peers::new(&mut r, 50_000);
    let ids_a = Identities::new(
        &mut r,
        ACCOUNT_A,
        &["us-east-1", "us-west-2"],
        &instances(&fleet, ACCOUNT_A),
        &[],
    );
    let ids_b = Identities::new(
        &mut r,
        ACCOUNT_B,
        &["eu-west-1", "us-east-1"],
        &instances(&fleet, ACCOUNT_B),
        &[],
    );
    World {
        fleet,
        peers,
        ids: vec![ids_a, ids_b],
        streams: vec![
            stream(ACCOUNT_A, "us-east-1", false),
            stream(ACCOUNT_A, "us-west-2", false),
            stream(ACCOUNT_B, "eu-west-1", true),
            stream(ACCOUNT_B, "us-east-1", true),
        ],
    }
}

fn grid_world(seed: u64, format: BenchFormat, accounts: u32, regions: u32) -> World {
    let accounts = accounts.clamp(1, 20);
    let regions = regions.clamp(1, GRID_REGIONS.len() as u32) as usize;
    let mut r = Rng::derive(seed, "bench-grid-fleet");
    let mut fleet = Fleet::default();
    let mut streams = Vec::new();
    for a in 0..accounts {
        let acct = grid_account(a);
        for (region, azs) in &GRID_REGIONS[..regions] {
            let n = fleet.flow_logs.len();
            let fmt: &'static FlowFormat = match format {
                BenchFormat::Mixed if n % 2 == 1 => &CUSTOM_V5,
                BenchFormat::Mixed | BenchFormat::V2 => &DEFAULT_V2,
                BenchFormat::V5 | BenchFormat::Wide40 => &CUSTOM_V5,
            };
            add_vpc(
                &mut fleet,
                &mut r,
                &acct,
                region,
                n as u8,
                fmt,
                FlowLayout::Daily,
                *azs,
            );
            streams.push(stream(&acct, region, a % 2 == 1));
        }
    }
    let peers = Peers::new(&mut r, 50_000);
    let region_names: Vec<&str> = GRID_REGIONS[..regions].iter().map(|(n, _)| *n).collect();
    let ids = (0..accounts)
        .map(|a| {
            let acct = grid_account(a);
            Identities::new(&mut r, &acct, &region_names, &instances(&fleet, &acct), &[])
        })
        .collect();
    World {
        fleet,
        peers,
        ids,
        streams,
    }
}

/// Every field of flow-log versions 2 to 8, in the documented order.
pub const WIDE40_FIELDS: [&str; 40] = [
    "version",
    "account-id",
    "interface-id",
    "srcaddr",
    "dstaddr",
    "srcport",
    "dstport",
    "protocol",
    "packets",
    "bytes",
    "start",
    "end",
    "action",
    "log-status",
    "vpc-id",
    "subnet-id",
    "instance-id",
    "tcp-flags",
    "type",
    "pkt-srcaddr",
    "pkt-dstaddr",
    "region",
    "az-id",
    "sublocation-type",
    "sublocation-id",
    "pkt-src-aws-service",
    "pkt-dst-aws-service",
    "flow-direction",
    "traffic-path",
    "ecs-cluster-arn",
    "ecs-cluster-name",
    "ecs-container-instance-arn",
    "ecs-container-instance-id",
    "ecs-container-id",
    "ecs-second-container-id",
    "ecs-service-name",
    "ecs-task-definition-arn",
    "ecs-task-arn",
    "ecs-task-id",
    "reject-reason",
];

/// The 40-field order of a seed: [`WIDE40_FIELDS`] shuffled (indices into it).
pub fn wide40_order(seed: u64) -> [usize; 40] {
    let mut order: [usize; 40] = std::array::from_fn(|k| k);
    let mut r = Rng::derive(seed, "bench-wide40-order");
    for k in (1..order.len()).rev() {
        let j = r.below(k as u64 + 1) as usize;
        order.swap(k, j);
    }
    order
}

/// ECS metadata of an interface that runs a task (the app tier), for the v7 fields.
struct Ecs {
    cluster_arn: String,
    cluster_name: String,
    container_instance_arn: String,
    container_instance_id: String,
    container_id: String,
    service_name: String,
    task_definition_arn: String,
    task_arn: String,
    task_id: String,
}

fn ecs_meta(r: &mut Rng, f: &Iface) -> Option<Ecs> {
    if f.role != Role::App {
        return None;
    }
    let base = format!("arn:aws:ecs:{}:{}", f.region, f.account_id);
    let cluster_name = "app-cluster".to_string();
    let ci = r.hex(32);
    let task = r.hex(32);
    Some(Ecs {
        cluster_arn: format!("{base}:cluster/{cluster_name}"),
        container_instance_arn: format!("{base}:container-instance/{cluster_name}/{ci}"),
        container_instance_id: ci,
        container_id: format!("{}-{}", task, r.hex(10)),
        service_name: "app-service".to_string(),
        task_definition_arn: format!("{base}:task-definition/app:{}", r.range(1, 40)),
        task_arn: format!("{base}:task/{cluster_name}/{task}"),
        task_id: task,
        cluster_name,
    })
}

fn push_ip(buf: &mut Vec<u8>, ip: u32) {
    for (k, shift) in [24u32, 16, 8, 0].into_iter().enumerate() {
        if k > 0 {
            buf.push(b'.');
        }
        push_u64(buf, u64::from((ip >> shift) & 0xff));
    }
}

/// `pkt-*-aws-service` of an address: the generator's S3 and AWS API blocks.
fn aws_service(ip: u32) -> &'static [u8] {
    match ip >> 16 {
        0x34d8 => b"S3",              // 52.216/16
        0x345e | 0x03da => b"AMAZON", // 52.94/16, 3.218/16
        _ => b"-",
    }
}

/// Writes flow-log bodies in the 40-field format.
struct Wide40 {
    order: [usize; 40],
    header: Vec<u8>,
    ecs: Vec<Option<Ecs>>,
}

impl Wide40 {
    fn new(seed: u64, fleet: &Fleet) -> Self {
        let order = wide40_order(seed);
        let header = order
            .iter()
            .map(|&k| WIDE40_FIELDS[k])
            .collect::<Vec<_>>()
            .join(" ");
        let mut r = Rng::derive(seed, "bench-ecs");
        let ecs = fleet.ifaces.iter().map(|f| ecs_meta(&mut r, f)).collect();
        Self {
            order,
            header: header.into_bytes(),
            ecs,
        }
    }

    fn body(&self, recs: &[FlowRecord], fleet: &Fleet) -> Vec<u8> {
        let mut b = Vec::with_capacity(self.header.len() + 1 + recs.len() * 420);
        b.extend_from_slice(&self.header);
        b.push(b'\n');
        for r in recs {
            let f = &fleet.ifaces[r.iface];
            let ecs = self.ecs[r.iface].as_ref();
            let data = r.status == Status::Ok;
            for (k, &field) in self.order.iter().enumerate() {
                if k > 0 {
                    b.push(b' ');
                }
                let s = |b: &mut Vec<u8>, v: Option<&str>| match v {
                    Some(v) if data => b.extend_from_slice(v.as_bytes()),
                    _ => b.push(b'-'),
                };
                match field {
                    0 => b.push(b'8'),
                    1 => b.extend_from_slice(f.log_account.as_bytes()),
                    2 => b.extend_from_slice(f.eni.as_bytes()),
                    10 => push_u64(&mut b, r.start.max(0) as u64),
                    11 => push_u64(&mut b, r.end.max(0) as u64),
                    13 => b.extend_from_slice(match r.status {
                        Status::Ok => b"OK",
                        Status::NoData => b"NODATA",
                        Status::SkipData => b"SKIPDATA",
                    }),
                    14 => b.extend_from_slice(f.vpc_id.as_bytes()),
                    15 => b.extend_from_slice(f.subnet_id.as_bytes()),
                    16 => match &f.instance_id {
                        Some(id) => b.extend_from_slice(id.as_bytes()),
                        None => b.push(b'-'),
                    },
                    21 => b.extend_from_slice(f.region.as_bytes()),
                    22 => b.extend_from_slice(f.az_id.as_bytes()),
                    _ if !data => b.push(b'-'),
                    3 | 19 => push_ip(&mut b, r.src),
                    4 | 20 => push_ip(&mut b, r.dst),
                    5 => push_u64(&mut b, u64::from(r.sport)),
                    6 => push_u64(&mut b, u64::from(r.dport)),
                    7 => push_u64(&mut b, u64::from(r.proto)),
                    8 => push_u64(&mut b, r.packets),
                    9 => push_u64(&mut b, r.bytes),
                    12 => b.extend_from_slice(if r.accept { b"ACCEPT" } else { b"REJECT" }),
                    17 => push_u64(&mut b, u64::from(r.tcp_flags)),
                    18 => b.extend_from_slice(b"IPv4"),
                    23 | 24 => b.push(b'-'),
                    25 => b.extend_from_slice(aws_service(r.src)),
                    26 => b.extend_from_slice(aws_service(r.dst)),
                    27 => b.extend_from_slice(if r.egress { b"egress" } else { b"ingress" }),
                    28 => {
                        if r.traffic_path == 0 {
                            b.push(b'-');
                        } else {
                            push_u64(&mut b, u64::from(r.traffic_path));
                        }
                    }
                    29 => s(&mut b, ecs.map(|e| e.cluster_arn.as_str())),
                    30 => s(&mut b, ecs.map(|e| e.cluster_name.as_str())),
                    31 => s(&mut b, ecs.map(|e| e.container_instance_arn.as_str())),
                    32 => s(&mut b, ecs.map(|e| e.container_instance_id.as_str())),
                    33 => s(&mut b, ecs.map(|e| e.container_id.as_str())),
                    34 => b.push(b'-'),
                    35 => s(&mut b, ecs.map(|e| e.service_name.as_str())),
                    36 => s(&mut b, ecs.map(|e| e.task_definition_arn.as_str())),
                    37 => s(&mut b, ecs.map(|e| e.task_arn.as_str())),
                    38 => s(&mut b, ecs.map(|e| e.task_id.as_str())),
                    // Rejected by VPC Block Public Access: a share of the rejected probes.
                    _ => b.extend_from_slice(if !r.accept && r.sport % 8 == 0 {
                        b"BPA"
                    } else {
                        b"-"
                    }),
                }
            }
            b.push(b'\n');
        }
        b
    }
}

/// Write the bench set under `out`.
pub fn write_bench(out: &Path, spec: BenchSpec) -> io::Result<Stats> {
    let world = match spec.fleet {
        BenchFleet::Classic => classic_world(spec.seed, spec.format),
        BenchFleet::Grid { accounts, regions } => {
            grid_world(spec.seed, spec.format, accounts, regions)
        }
    };
    let fleet = &world.fleet;
    let wide = (spec.format == BenchFormat::Wide40).then(|| Wide40::new(spec.seed, fleet));
    let model = Model {
        fleet,
        peers: &world.peers,
        scale_pct: 400,
    };
    let rpo = spec.records_per_object.max(1);
    let n_fl = fleet.flow_logs.len() as u64;
    let windows = spec.flow_records.div_ceil(n_fl * rpo).max(1);
    let n_streams = world.streams.len() as u64;
    let per_file = match spec.events_per_file {
        Some(n) => n.max(1),
        None => spec.trail_events.div_ceil(n_streams * windows).max(1),
    };
    // Rounds (one object per flow log and one document per trail each): for `hours`.
    let rounds = windows.max(spec.trail_events.div_ceil(n_streams * per_file));
    let mut rng = Rng::derive(spec.seed, "bench");
    // Its own stream, so that shuffling leaves every other draw as it was.
    let mut shuffler = Rng::derive(spec.seed, "bench-shuffle");
    let mut sink = Sink::new(out);
    let mut recs: Vec<FlowRecord> = Vec::with_capacity(2 * rpo.min(1 << 20) as usize);
    let (mut flows_left, mut events_left) = (spec.flow_records, spec.trail_events);
    let mut round = 0u64;
    while flows_left > 0 || events_left > 0 {
        let t0 = match spec.hours {
            Some(h) => BENCH_START + (round * h * 3600 / rounds) as i64 / WINDOW * WINDOW,
            None => BENCH_START + round as i64 * WINDOW,
        };
        for fl in 0..fleet.flow_logs.len() {
            if flows_left == 0 {
                break;
            }
            let target = rng.range(rpo * 9 / 10, rpo * 11 / 10 + 1).min(flows_left);
            recs.clear();
            while (recs.len() as u64) < target {
                model.window(&mut rng, fl, t0, &mut recs);
            }
            recs.truncate(target as usize);
            if spec.shuffle_records {
                for k in (1..recs.len()).rev() {
                    recs.swap(k, shuffler.below(k as u64 + 1) as usize);
                }
            }
            let def = &fleet.flow_logs[fl];
            let body = match &wide {
                Some(w) => w.body(&recs, fleet),
                None => {
                    let mut b = FileBuilder::new(def.format);
                    for rec in &recs {
                        b.push(rec, &fleet.ifaces[rec.iface]);
                    }
                    b.finish()
                }
            };
            let key = flow_key(
                def.layout,
                &def.account_id,
                &def.region,
                &def.id,
                t0,
                &rng.hex(8),
            );
            sink.stats.flow_files += 1;
            sink.stats.flow_records += target;
            flows_left -= target;
            sink.write_gz(&key, &body)?;
        }
        for st in &world.streams {
            if events_left == 0 {
                break;
            }
            let n = rng
                .range(per_file * 3 / 4, per_file * 5 / 4 + 1)
                .clamp(1, events_left);
            let ids = world.identities(&st.account);
            let mut evs = mix(&mut rng, ids, &st.region, t0, t0 + WINDOW, n, true);
            evs.sort_by_key(|e| e.time);
            let ser: Vec<(i64, String)> = evs
                .iter()
                .map(|e| (e.time, e.to_json().to_json()))
                .collect();
            write_log_file(&mut sink, &mut rng, st, t0 + WINDOW, &ser)?;
            events_left -= n;
        }
        round += 1;
    }
    Ok(sink.stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wide40_order_is_a_permutation() {
        let mut o = wide40_order(1).to_vec();
        assert_ne!(o, (0..40).collect::<Vec<_>>());
        o.sort_unstable();
        assert_eq!(o, (0..40).collect::<Vec<_>>());
    }

    #[test]
    fn formats_parse() {
        assert_eq!(BenchFormat::parse("wide40"), Some(BenchFormat::Wide40));
        assert_eq!(BenchFormat::parse("v2"), Some(BenchFormat::V2));
        assert_eq!(BenchFormat::parse("v9"), None);
    }
}
