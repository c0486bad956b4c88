//! The fleet model: accounts, regions, VPCs, subnets, network interfaces (mostly EC2
//! instances with a role) and the flow log that covers each VPC, plus the outside addresses
//! the fleet talks to.

use crate::flowlog::FlowFormat;
use crate::layout::FlowLayout;
use crate::prng::Rng;

/// What an interface does; decides whom it talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Public web server: internet clients on 443, calls the app tier.
    Web,
    /// Application server: calls the database tier and AWS/partner APIs.
    App,
    /// Database: replication between the pair, nightly backup, S3.
    Db,
    /// SSH jump host for the office.
    Bastion,
    /// Batch worker: hourly bursts to S3.
    Batch,
    /// A Network Load Balancer ENI (owned by AWS: account-id `unknown`, no instance-id).
    LoadBalancer,
}

impl Role {
    /// Short name used in instance names.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Web => "web",
            Self::App => "app",
            Self::Db => "db",
            Self::Bastion => "bastion",
            Self::Batch => "batch",
            Self::LoadBalancer => "nlb",
        }
    }

    /// Reachable from the internet (sees background scanning).
    pub fn public(self) -> bool {
        matches!(self, Self::Web | Self::Bastion | Self::LoadBalancer)
    }
}

/// A network interface, with its instance when it has one.
#[derive(Debug, Clone)]
pub struct Iface {
    /// Human name (`web-1`), used in labels and the README.
    pub name: String,
    /// Role.
    pub role: Role,
    /// `i-0…` (17 hex digits), `None` for service-owned ENIs.
    pub instance_id: Option<String>,
    /// `eni-0…`.
    pub eni: String,
    /// Private IPv4 address.
    pub ip: u32,
    /// Owning account.
    pub account_id: String,
    /// Value of the flow-log `account-id` field (`unknown` for AWS-service ENIs).
    pub log_account: String,
    /// Region.
    pub region: String,
    /// VPC id.
    pub vpc_id: String,
    /// Subnet id.
    pub subnet_id: String,
    /// Availability zone id (`use1-az1`).
    pub az_id: String,
    /// Unix seconds from which it exists (`i64::MIN` for always).
    pub active_from: i64,
    /// Index of the flow log covering it.
    pub flow_log: usize,
}

impl Iface {
    /// Whether the interface exists at `ts`.
    pub fn active(&self, ts: i64) -> bool {
        ts >= self.active_from
    }
}

/// A flow log (one per VPC here) and where it delivers.
#[derive(Debug, Clone)]
pub struct FlowLogDef {
    /// `fl-0…`.
    pub id: String,
    /// Account.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// VPC id.
    pub vpc_id: String,
    /// Record format.
    pub format: &'static FlowFormat,
    /// S3 folder layout.
    pub layout: FlowLayout,
    /// Offset of local time from UTC in hours (for the diurnal shape).
    pub utc_offset_h: i64,
}

/// Outside addresses the fleet talks to.
#[derive(Debug, Clone)]
pub struct Peers {
    /// Internet clients of the web tier.
    pub clients: Vec<u32>,
    /// S3 endpoints.
    pub s3: Vec<u32>,
    /// Other AWS API endpoints (STS, KMS, DynamoDB, SSM).
    pub aws_api: Vec<u32>,
    /// Public NTP servers.
    pub ntp: Vec<u32>,
    /// A payment partner's API.
    pub partner_api: Vec<u32>,
    /// The office egress address (SSH to bastions).
    pub office: u32,
    /// The backup partner receiving the nightly database backup.
    pub backup_partner: u32,
    /// The on-premises DNS resolver (over the VPN).
    pub dns: u32,
}

/// Parse a dotted quad at compile-time-free runtime (inputs are literals).
pub const fn ip(a: u8, b: u8, c: u8, d: u8) -> u32 {
    ((a as u32) << 24) | ((b as u32) << 16) | ((c as u32) << 8) | d as u32
}

/// Dotted-quad text.
pub fn ip_str(ip: u32) -> String {
    format!(
        "{}.{}.{}.{}",
        ip >> 24,
        (ip >> 16) & 0xff,
        (ip >> 8) & 0xff,
        ip & 0xff
    )
}

impl Peers {
    /// The outside world, drawn from `rng`.
    pub fn new(rng: &mut Rng, clients: usize) -> Self {
        let block = |a: u8, b: u8, n: usize, rng: &mut Rng| -> Vec<u32> {
            (0..n)
                .map(|_| ip(a, b, 0, 0) | rng.below(1 << 16) as u32)
                .collect()
        };
        let s3 = block(52, 216, 24, rng);
        let mut aws_api = block(52, 94, 12, rng);
        aws_api.extend(block(3, 218, 8, rng));
        Self {
            clients: (0..clients).map(|_| rng.public_ipv4()).collect(),
            s3,
            aws_api,
            ntp: vec![
                ip(162, 159, 200, 1),
                ip(162, 159, 200, 123),
                ip(129, 6, 15, 28),
            ],
            partner_api: vec![
                ip(54, 187, 174, 169),
                ip(54, 187, 216, 72),
                ip(54, 241, 31, 99),
            ],
            office: ip(203, 0, 113, 10),
            backup_partner: ip(198, 51, 100, 10),
            dns: ip(10, 200, 0, 2),
        }
    }
}

/// The whole fleet.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    /// Flow logs (one per VPC).
    pub flow_logs: Vec<FlowLogDef>,
    /// Interfaces.
    pub ifaces: Vec<Iface>,
}

/// A VPC being built: its flow log index, second IP octet and subnets.
#[derive(Debug, Clone)]
pub struct VpcBuilder {
    fl: usize,
    octet: u8,
    subnets: Vec<(u8, String, String)>,
}

impl Fleet {
    /// Add a VPC with its flow log; returns a builder for subnets and interfaces.
    #[allow(clippy::too_many_arguments)]
    pub fn add_vpc(
        &mut self,
        rng: &mut Rng,
        account: &str,
        region: &str,
        octet: u8,
        format: &'static FlowFormat,
        layout: FlowLayout,
        utc_offset_h: i64,
    ) -> VpcBuilder {
        let vpc_id = format!("vpc-0{}", rng.hex(16));
        self.flow_logs.push(FlowLogDef {
            id: format!("fl-0{}", rng.hex(16)),
            account_id: account.to_string(),
            region: region.to_string(),
            vpc_id,
            format,
            layout,
            utc_offset_h,
        });
        VpcBuilder {
            fl: self.flow_logs.len() - 1,
            octet,
            subnets: Vec::new(),
        }
    }

    /// Add a subnet `10.<vpc>.<third>.0/24` in availability zone `az_id`; returns its index.
    pub fn add_subnet(
        &mut self,
        rng: &mut Rng,
        vpc: &mut VpcBuilder,
        third: u8,
        az_id: &str,
    ) -> usize {
        vpc.subnets
            .push((third, format!("subnet-0{}", rng.hex(16)), az_id.to_string()));
        vpc.subnets.len() - 1
    }

    /// Add an interface in a subnet.
    pub fn add_iface(
        &mut self,
        rng: &mut Rng,
        vpc: &VpcBuilder,
        subnet: usize,
        role: Role,
        name: &str,
        active_from: i64,
    ) -> usize {
        let fl = &self.flow_logs[vpc.fl];
        let (third, subnet_id, az_id) = &vpc.subnets[subnet];
        let base = ip(10, vpc.octet, *third, 0);
        let ip = loop {
            let cand = base | rng.range(10, 250) as u32;
            if !self.ifaces.iter().any(|i| i.ip == cand) {
                break cand;
            }
        };
        let service_owned = role == Role::LoadBalancer;
        let iface = Iface {
            name: name.to_string(),
            role,
            instance_id: (!service_owned).then(|| format!("i-0{}", rng.hex(16))),
            eni: format!("eni-0{}", rng.hex(16)),
            ip,
            account_id: fl.account_id.clone(),
            log_account: if service_owned {
                "unknown".to_string()
            } else {
                fl.account_id.clone()
            },
            region: fl.region.clone(),
            vpc_id: fl.vpc_id.clone(),
            subnet_id: subnet_id.clone(),
            az_id: az_id.clone(),
            active_from,
            flow_log: vpc.fl,
        };
        self.ifaces.push(iface);
        self.ifaces.len() - 1
    }

    /// Index of the interface named `name` in flow log `fl`.
    pub fn find(&self, fl: usize, name: &str) -> Option<usize> {
        self.ifaces
            .iter()
            .position(|i| i.flow_log == fl && i.name == name)
    }

    /// Indices of active interfaces of `role` in flow log `fl` at `ts`.
    pub fn with_role(&self, fl: usize, role: Role, ts: i64) -> Vec<usize> {
        (0..self.ifaces.len())
            .filter(|&i| {
                let f = &self.ifaces[i];
                f.flow_log == fl && f.role == role && f.active(ts)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flowlog::DEFAULT_V2;

    #[test]
    fn ids_look_like_aws() {
        let mut rng = Rng::new(3);
        let mut fleet = Fleet::default();
        let mut vpc = fleet.add_vpc(
            &mut rng,
            "012345678901",
            "us-east-1",
            0,
            &DEFAULT_V2,
            FlowLayout::Daily,
            -5,
        );
        let s = fleet.add_subnet(&mut rng, &mut vpc, 1, "use1-az1");
        let i = fleet.add_iface(&mut rng, &vpc, s, Role::Web, "web-1", i64::MIN);
        let n = fleet.add_iface(&mut rng, &vpc, s, Role::LoadBalancer, "nlb-1", i64::MIN);
        let web = &fleet.ifaces[i];
        let id = web.instance_id.clone().unwrap_or_default();
        assert!(id.starts_with("i-0") && id.len() == 2 + 17, "{id}");
        assert!(web.eni.starts_with("eni-0") && web.eni.len() == 4 + 17);
        assert_eq!(web.ip >> 8, ip(10, 0, 1, 0) >> 8);
        assert_eq!(fleet.ifaces[n].log_account, "unknown");
        assert!(fleet.ifaces[n].instance_id.is_none());
        assert_eq!(ip_str(ip(10, 0, 1, 7)), "10.0.1.7");
        assert!(fleet.flow_logs[0].id.starts_with("fl-0"));
    }
}
