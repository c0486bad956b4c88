//! The labeled story of the sample: attacks injected at known times (flow-log connections and
//! CloudTrail events), benign look-alikes, and the labels files describing both.
//!
//! Times are fixed offsets from the sample's first day; everything random comes from the
//! scenario's own stream, so the story does not move when normal traffic changes.

use crate::fleet::{Fleet, Peers, ip, ip_str};
use crate::json::J;
use crate::prng::Rng;
use crate::time::{DAY, rfc3339};
use crate::traffic::{Conn, PATH_IGW, PATH_VPC};
use crate::trail_events::{Event, Identities, Principal, console_login};

/// Start of the sample: 2026-01-06T00:00:00Z.
pub const D0: i64 = 1_767_657_600;
/// Account with the default flow-log format (note the leading zero).
pub const ACCOUNT_A: &str = "012345678901";
/// Account with the custom flow-log format, logged by the organization trail.
pub const ACCOUNT_B: &str = "210987654321";
/// Organization id of account B's trail.
pub const ORG_ID: &str = "o-exampleorg1";

/// Indices of the CloudTrail streams the sample writes.
pub mod stream {
    /// Account A, us-east-1.
    pub const A_USE1: usize = 0;
    /// Account A, us-west-2.
    pub const A_USW2: usize = 1;
    /// Account B, eu-west-1 (organization trail).
    pub const B_EUW1: usize = 2;
    /// Account B, us-east-1 (organization trail; global-service events).
    pub const B_USE1: usize = 3;
}

/// Indices of the flow logs the sample writes.
pub mod flow_log {
    /// Account A, us-east-1: default format, daily folders.
    pub const A_USE1: usize = 0;
    /// Account A, us-west-2: default format, hourly folders.
    pub const A_USW2: usize = 1;
    /// Account B, eu-west-1: custom v5 format, Hive-style folders.
    pub const B_EUW1: usize = 2;
}

fn at(day: i64, h: i64, m: i64, s: i64) -> i64 {
    D0 + day * DAY + h * 3600 + m * 60 + s
}

/// One labeled activity.
#[derive(Debug, Clone)]
pub struct Label {
    /// Stable id (`A1`, `B3`).
    pub id: String,
    /// Detector id expected to fire (attacks) or that must stay quiet (benign).
    pub detector: String,
    /// `instance`, `principal`, `security_group`, `ip`.
    pub entity_kind: String,
    /// The entity.
    pub entity_id: String,
    /// Account.
    pub account_id: String,
    /// Region.
    pub region: String,
    /// First activity.
    pub start: i64,
    /// Last activity.
    pub end: i64,
    /// What happens.
    pub description: String,
}

impl Label {
    /// As a JSON object.
    pub fn to_json(&self) -> J {
        J::obj([
            ("id", J::s(self.id.clone())),
            ("detector", J::s(self.detector.clone())),
            ("entity_kind", J::s(self.entity_kind.clone())),
            ("entity_id", J::s(self.entity_id.clone())),
            ("account_id", J::s(self.account_id.clone())),
            ("region", J::s(self.region.clone())),
            ("start", J::s(rfc3339(self.start))),
            ("end", J::s(rfc3339(self.end))),
            ("description", J::s(self.description.clone())),
        ])
    }
}

/// A CloudTrail event to deliver on a stream.
#[derive(Debug, Clone)]
pub struct Special {
    /// Stream index (see [`stream`]).
    pub stream: usize,
    /// The event.
    pub event: Event,
}

/// The scenario set for the sample fleet.
#[derive(Debug)]
pub struct Scenarios {
    /// Attacks.
    pub labels: Vec<Label>,
    /// Benign look-alikes.
    pub benign: Vec<Label>,
    /// CloudTrail events outside the background mix, unsorted.
    pub events: Vec<Special>,
    /// Flow-log connections `(flow log, conn)`, sorted by start.
    pub conns: Vec<(usize, Conn)>,
    /// Exfiltration connections; bytes set from the learned baseline.
    exfil: Vec<Conn>,
    /// Bytes per 5-minute window the exfiltrating instance sends (50x its mean).
    pub exfil_per_window: u64,
    /// The exfiltrating interface.
    pub exfil_iface: usize,
    /// When account A's trail stops logging and starts again.
    pub trail_gap: (i64, i64),
    /// Flow log deleted, and when.
    pub deleted_flow_log: (usize, i64),
    /// Exfiltration window.
    pub exfil_span: (i64, i64),
}

const ATTACKER_SSH: u32 = ip(45, 155, 205, 99);
const ATTACKER_C2: u32 = ip(91, 215, 85, 12);
const EXFIL_DST: u32 = ip(185, 220, 101, 47);
const JORDAN_IP: &str = "185.220.101.9";
const ROOT_IP: &str = "81.2.69.160";

const RECON: &[(&str, &str, &str)] = &[
    ("iam", "ListUsers", ""),
    ("iam", "ListRoles", ""),
    ("iam", "GetAccountAuthorizationDetails", "AccessDenied"),
    ("iam", "ListAttachedUserPolicies", ""),
    ("iam", "ListPolicies", "AccessDenied"),
    ("iam", "GetUser", ""),
    ("s3", "ListBuckets", ""),
    ("s3", "GetBucketPolicy", "AccessDenied"),
    ("ec2", "DescribeInstances", ""),
    ("ec2", "DescribeSecurityGroups", ""),
    ("ec2", "DescribeSnapshots", "Client.UnauthorizedOperation"),
    ("ec2", "DescribeVpcs", ""),
    ("lambda", "ListFunctions20150331", "AccessDeniedException"),
    ("rds", "DescribeDBInstances", "AccessDenied"),
    ("secretsmanager", "ListSecrets", "AccessDeniedException"),
    ("kms", "ListKeys", "AccessDeniedException"),
    ("dynamodb", "ListTables", "AccessDeniedException"),
    ("sts", "GetCallerIdentity", ""),
    (
        "organizations",
        "DescribeOrganization",
        "AccessDeniedException",
    ),
    ("guardduty", "ListDetectors", "AccessDeniedException"),
    ("cloudtrail", "DescribeTrails", ""),
    ("logs", "DescribeLogGroups", "AccessDeniedException"),
    ("ssm", "DescribeParameters", "AccessDeniedException"),
    ("sns", "ListTopics", "AuthorizationError"),
];

const SCAN_TOP_PORTS: &[u16] = &[
    21, 22, 23, 25, 53, 80, 110, 111, 135, 139, 143, 443, 445, 993, 995, 1433, 1521, 2049, 3306,
    3389, 5432, 5900, 6379, 8000, 8080, 8443, 9000, 9200, 11211, 27017,
];

fn iface_id(fleet: &Fleet, i: usize) -> String {
    let f = &fleet.ifaces[i];
    f.instance_id.clone().unwrap_or_else(|| f.eni.clone())
}

#[allow(clippy::too_many_arguments)]
fn label(
    id: &str,
    detector: &str,
    kind: &str,
    entity: &str,
    account: &str,
    region: &str,
    start: i64,
    end: i64,
    description: String,
) -> Label {
    Label {
        id: id.to_string(),
        detector: detector.to_string(),
        entity_kind: kind.to_string(),
        entity_id: entity.to_string(),
        account_id: account.to_string(),
        region: region.to_string(),
        start,
        end,
        description,
    }
}

/// Interfaces the scenarios use, by name, in flow log A/us-east-1 unless noted.
#[derive(Debug, Clone, Copy)]
pub struct Cast {
    /// bastion-1
    pub bastion: usize,
    /// app-3 (exfiltrates)
    pub app3: usize,
    /// db-1 (reverse shell; nightly backup)
    pub db1: usize,
    /// app-4 (joins on day 3)
    pub app4: usize,
}

impl Scenarios {
    /// Build the story for the sample fleet.
    pub fn new(
        seed: u64,
        fleet: &Fleet,
        peers: &Peers,
        cast: Cast,
        a: &Identities,
        b: &Identities,
    ) -> Self {
        let mut rng = Rng::derive(seed, "scenarios");
        let rng = &mut rng;
        let mut labels = Vec::new();
        let mut benign = Vec::new();
        let mut events = Vec::new();
        let mut conns: Vec<(usize, Conn)> = Vec::new();
        let fl = flow_log::A_USE1;
        let f = |i: usize| &fleet.ifaces[i];
        let use1 = "us-east-1";
        let bastion_sg = format!("sg-0{}", rng.hex(16));
        let web_sg_b = format!("sg-0{}", rng.hex(16));

        // --- daily console sign-ins with MFA (normal), one failed password without MFA (benign)
        for day in 0..3 {
            for (k, admin) in a.admins.iter().enumerate() {
                let t = at(day, 14, 3 + 17 * k as i64, rng.below(600) as i64);
                events.push(Special {
                    stream: stream::A_USE1,
                    event: console_login(rng, t, admin, use1, &a.office, true, true),
                });
            }
            let t = at(day, 8, 35, rng.below(600) as i64);
            events.push(Special {
                stream: stream::B_EUW1,
                event: console_login(rng, t, &b.admins[0], "eu-west-1", &b.office, true, true),
            });
        }
        let t_fail = at(0, 14, 1, 12);
        events.push(Special {
            stream: stream::A_USE1,
            event: console_login(rng, t_fail, &a.admins[0], use1, &a.office, false, false),
        });
        benign.push(label("B1", "console_login_no_mfa", "principal", &a.admins[0].arn(), ACCOUNT_A, use1, t_fail, t_fail,
            "alice mistypes her password: ConsoleLogin Failure with MFAUsed No (MFA is never reached); her next login uses MFA".into()));

        // --- A1 console login without MFA (dev-jordan, from a Tor exit)
        let jordan = a
            .user("dev-jordan")
            .cloned()
            .unwrap_or_else(|| a.ci.clone());
        let t_login = at(2, 8, 12, 37);
        events.push(Special {
            stream: stream::A_USE1,
            event: console_login(rng, t_login, &jordan, use1, JORDAN_IP, false, true),
        });
        labels.push(label("A1", "console_login_no_mfa", "principal", &jordan.arn(), ACCOUNT_A, use1, t_login, t_login,
            format!("dev-jordan signs in to the console without MFA from {JORDAN_IP} (ConsoleLogin Success, MFAUsed No)")));

        // --- A2 security group opened to the world on port 22 (bastion)
        let t_sg = at(2, 8, 41, 5);
        let sg_req = |sg: &str, cidr: &str| {
            J::obj([
                ("groupId", J::s(sg)),
                (
                    "ipPermissions",
                    J::obj([(
                        "items",
                        J::Arr(vec![J::obj([
                            ("ipProtocol", J::s("tcp")),
                            ("fromPort", J::Int(22)),
                            ("toPort", J::Int(22)),
                            ("groups", J::obj([])),
                            (
                                "ipRanges",
                                J::obj([("items", J::Arr(vec![J::obj([("cidrIp", J::s(cidr))])]))]),
                            ),
                            ("ipv6Ranges", J::obj([])),
                            ("prefixListIds", J::obj([])),
                        ])]),
                    )]),
                ),
            ])
        };
        let mut e = Event::api(
            rng,
            t_sg,
            &jordan,
            Some((t_login, false)),
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            use1,
            JORDAN_IP,
            "AWS Internal",
        )
        .req(sg_req(&bastion_sg, "0.0.0.0/0"));
        let rid = e.request_id.clone().unwrap_or_default();
        e.response = J::obj([
            ("requestId", J::s(rid)),
            ("_return", J::Bool(true)),
            (
                "securityGroupRuleSet",
                J::obj([(
                    "items",
                    J::Arr(vec![J::obj([
                        ("groupOwnerId", J::s(ACCOUNT_A)),
                        ("groupId", J::s(bastion_sg.clone())),
                        ("securityGroupRuleId", J::s(format!("sgr-0{}", rng.hex(16)))),
                        ("isEgress", J::Bool(false)),
                        ("ipProtocol", J::s("tcp")),
                        ("fromPort", J::Int(22)),
                        ("toPort", J::Int(22)),
                        ("cidrIpv4", J::s("0.0.0.0/0")),
                    ])]),
                )]),
            ),
        ]);
        events.push(Special {
            stream: stream::A_USE1,
            event: e,
        });
        labels.push(label("A2", "security_group_change", "security_group", &bastion_sg, ACCOUNT_A, use1, t_sg, t_sg,
            format!("dev-jordan opens tcp/22 to 0.0.0.0/0 on the bastion's security group {bastion_sg} (AuthorizeSecurityGroupIngress)")));

        // benign: the same change attempted in account B, denied by an SCP
        let t_sgb = at(1, 15, 22, 10);
        let b_alice = &b.admins[0];
        let e = Event::api(rng, t_sgb, b_alice, Some((at(1, 8, 40, 0), true)), "ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", "eu-west-1", &b.office, "AWS Internal")
            .req(sg_req(&web_sg_b, "0.0.0.0/0"))
            .err("Client.UnauthorizedOperation", "You are not authorized to perform this operation. User: arn:aws:iam::210987654321:user/alice is not authorized to perform: ec2:AuthorizeSecurityGroupIngress on resource: arn:aws:ec2:eu-west-1:210987654321:security-group/* with an explicit deny in a service control policy");
        events.push(Special {
            stream: stream::B_EUW1,
            event: e,
        });
        benign.push(label("B2", "security_group_change", "security_group", &web_sg_b, ACCOUNT_B, "eu-west-1", t_sgb, t_sgb,
            "alice tries to open tcp/22 to 0.0.0.0/0 and is denied by an SCP (errorCode Client.UnauthorizedOperation): no change happened".into()));

        // --- A3 SSH brute force on the bastion, now reachable
        let bastion = f(cast.bastion);
        let (bf0, bf1) = (at(2, 9, 2, 0), at(2, 9, 34, 0));
        let mut t = bf0;
        let mut n_bf = 0;
        while t < bf1 {
            let mut c = Conn::tcp(ATTACKER_SSH, bastion.ip, 22, t, rng.range(2, 9) as i64)
                .sizes(rng.range(2_400, 4_200), rng.range(3_000, 5_200));
            c.sport = rng.range(32_768, 61_000) as u16;
            c.dst_if = Some(cast.bastion);
            conns.push((fl, c));
            n_bf += 1;
            t += rng.range(2, 8) as i64;
        }
        // the one that gets in: a long session
        let mut c = Conn::tcp(ATTACKER_SSH, bastion.ip, 22, bf1 - 40, 38).sizes(48_000, 210_000);
        c.sport = 51_022;
        c.dst_if = Some(cast.bastion);
        conns.push((fl, c));
        labels.push(label(
            "A3",
            "ssh_brute_force",
            "instance",
            &iface_id(fleet, cast.bastion),
            ACCOUNT_A,
            use1,
            bf0,
            bf1,
            format!(
                "{} short SSH connections from {} to bastion-1 ({}) port 22, then one long session",
                n_bf + 1,
                ip_str(ATTACKER_SSH),
                ip_str(bastion.ip)
            ),
        ));

        // --- A4 internal port scan from the bastion
        let (ps0, ps1) = (at(2, 10, 5, 0), at(2, 10, 21, 0));
        let mut targets: Vec<(u32, Option<usize>)> = fleet
            .ifaces
            .iter()
            .enumerate()
            .filter(|(i, g)| g.flow_log == fl && *i != cast.bastion && g.active(ps0))
            .map(|(i, g)| (g.ip, Some(i)))
            .collect();
        for third in [1u8, 2, 11, 12, 21] {
            for _ in 0..5 {
                let cand = ip(10, 0, third, rng.range(2, 254) as u8);
                if !targets.iter().any(|(x, _)| *x == cand) {
                    targets.push((cand, None));
                }
            }
        }
        let probes = targets.len() * SCAN_TOP_PORTS.len();
        let step = ((ps1 - ps0) * 1000 / probes as i64).max(1);
        let mut k = 0i64;
        for (tip, tif) in &targets {
            for &port in SCAN_TOP_PORTS {
                let t = ps0 + k * step / 1000;
                k += 1;
                let open = tif.is_some_and(|j| {
                    let role = fleet.ifaces[j].role;
                    port == 22
                        || (port == 443
                            && matches!(
                                role,
                                crate::fleet::Role::Web | crate::fleet::Role::LoadBalancer
                            ))
                        || (port == 8080 && role == crate::fleet::Role::App)
                        || (port == 5432 && role == crate::fleet::Role::Db)
                });
                let mut c = Conn::tcp(bastion.ip, *tip, port, t, 0);
                c.sport = rng.range(32_768, 61_000) as u16;
                c.src_if = Some(cast.bastion);
                c.dst_if = *tif;
                c.path_out = PATH_VPC;
                if open {
                    c = c.sizes(60, 60);
                    c.fwd_pkts = 2;
                    c.rev_pkts = 1;
                } else {
                    c.accepted = tif.is_none();
                }
                conns.push((fl, c));
            }
        }
        labels.push(label("A4", "port_scan", "instance", &iface_id(fleet, cast.bastion), ACCOUNT_A, use1, ps0, ps1,
            format!("bastion-1 ({}) probes {} internal addresses x {} ports ({} probes), mostly rejected", ip_str(bastion.ip), targets.len(), SCAN_TOP_PORTS.len(), probes)));

        // --- A5 exfiltration by app-3; A6/A7 new external peers
        let app3 = f(cast.app3);
        let (ex0, ex1) = (at(2, 11, 2, 0), at(2, 11, 47, 0));
        let mut exfil = Vec::new();
        let mut t = ex0;
        while t < ex1 {
            let mut c = Conn::tcp(app3.ip, EXFIL_DST, 443, t, 59);
            c.sport = rng.range(32_768, 61_000) as u16;
            c.src_if = Some(cast.app3);
            c.path_out = PATH_IGW;
            exfil.push(c);
            t += 60;
        }
        labels.push(label("A5", "volume_spike", "instance", &iface_id(fleet, cast.app3), ACCOUNT_A, use1, ex0, ex1,
            format!("app-3 ({}) uploads to {}:443, about 50x its usual outbound bytes per 5 minutes (BYTES_PLACEHOLDER)", ip_str(app3.ip), ip_str(EXFIL_DST))));
        labels.push(label(
            "A6",
            "new_peer",
            "instance",
            &iface_id(fleet, cast.app3),
            ACCOUNT_A,
            use1,
            ex0,
            ex1,
            format!(
                "app-3 talks to {} for the first time (the exfiltration destination)",
                ip_str(EXFIL_DST)
            ),
        ));
        let db1 = f(cast.db1);
        let (rs0, rs1) = (at(2, 11, 30, 0), at(2, 11, 36, 0));
        let mut t = rs0;
        while t < rs1 {
            let mut c = Conn::tcp(db1.ip, ATTACKER_C2, 4444, t, 59)
                .sizes(rng.range(2_000, 8_000), rng.range(1_000, 4_000));
            c.sport = 40_112;
            c.src_if = Some(cast.db1);
            conns.push((fl, c));
            t += 60;
        }
        labels.push(label(
            "A7",
            "new_peer",
            "instance",
            &iface_id(fleet, cast.db1),
            ACCOUNT_A,
            use1,
            rs0,
            rs1,
            format!(
                "db-1 ({}) opens a reverse shell to never-seen {}:4444",
                ip_str(db1.ip),
                ip_str(ATTACKER_C2)
            ),
        ));

        // --- A8 API reconnaissance with the leaked CI key
        let ci = a.ci.clone();
        let c2 = ip_str(ATTACKER_C2);
        let ua = "aws-cli/1.18.69 Python/2.7.18 Linux/5.15.0-91-generic botocore/1.16.19";
        let (rc0, mut t) = (at(2, 12, 30, 10), at(2, 12, 30, 10));
        let mut denied = 0;
        let mut n_recon = 0;
        for round in 0..3 {
            for &(svc, name, err) in RECON {
                let region = if svc == "ec2" && round == 2 {
                    "us-west-2"
                } else {
                    use1
                };
                let mut e = Event::api(
                    rng,
                    t,
                    &ci,
                    None,
                    &format!("{svc}.amazonaws.com"),
                    name,
                    region,
                    &c2,
                    ua,
                );
                if !err.is_empty() {
                    let action = format!("{svc}:{}", name.trim_end_matches("20150331"));
                    e = e.err(err, &format!("User: {} is not authorized to perform: {action} on resource: * because no identity-based policy allows the {action} action", ci.arn()));
                    denied += 1;
                }
                let s = if region == use1 {
                    stream::A_USE1
                } else {
                    stream::A_USW2
                };
                events.push(Special {
                    stream: s,
                    event: e,
                });
                n_recon += 1;
                t += rng.range(2, 7) as i64;
            }
        }
        let rc1 = t;
        let mut services: Vec<&str> = RECON.iter().map(|(svc, _, _)| *svc).collect();
        services.dedup();
        labels.push(label("A8", "api_recon", "principal", &ci.arn(), ACCOUNT_A, use1, rc0, rc1,
            format!("ci-deployer's key used from {c2}: {n_recon} Describe/List/Get calls across {} services in {} minutes, {denied} denied", services.len(), (rc1 - rc0 + 59) / 60)));

        // --- A9 access key created for another user
        let backup_admin = a
            .user("backup-admin")
            .cloned()
            .unwrap_or_else(|| a.ci.clone());
        let t_key = at(2, 12, 44, 3);
        let e = Event::api(
            rng,
            t_key,
            &ci,
            None,
            "iam.amazonaws.com",
            "CreateAccessKey",
            use1,
            &c2,
            ua,
        )
        .req(J::obj([("userName", J::s("backup-admin"))]))
        .resp(J::obj([(
            "accessKey",
            J::obj([
                ("userName", J::s("backup-admin")),
                ("accessKeyId", J::s(backup_admin.access_key.clone())),
                ("status", J::s("Active")),
                ("createDate", J::s("Jan 8, 2026, 12:44:03 PM")),
            ]),
        )]));
        events.push(Special {
            stream: stream::A_USE1,
            event: e,
        });
        labels.push(label(
            "A9",
            "access_key_created",
            "principal",
            &ci.arn(),
            ACCOUNT_A,
            use1,
            t_key,
            t_key,
            format!(
                "ci-deployer creates access key {} for user backup-admin",
                backup_admin.access_key
            ),
        ));

        // benign: bob rotates his own key
        let bob = &a.admins[1];
        let t_self = at(1, 15, 15, 33);
        let e = Event::api(
            rng,
            t_self,
            bob,
            Some((at(1, 14, 20, 0), true)),
            "iam.amazonaws.com",
            "CreateAccessKey",
            use1,
            &a.office,
            "AWS Internal",
        )
        .req(J::obj([("userName", J::s("bob"))]))
        .resp(J::obj([(
            "accessKey",
            J::obj([
                ("userName", J::s("bob")),
                ("accessKeyId", J::s(format!("AKIA{}", rng.upper_alnum(16)))),
                ("status", J::s("Active")),
                ("createDate", J::s("Jan 7, 2026, 3:15:33 PM")),
            ]),
        )]));
        events.push(Special {
            stream: stream::A_USE1,
            event: e,
        });
        benign.push(label(
            "B3",
            "access_key_created",
            "principal",
            &bob.arn(),
            ACCOUNT_A,
            use1,
            t_self,
            t_self,
            "bob creates an access key for himself (key rotation), signed in with MFA".into(),
        ));

        // --- A10 flow logs deleted (us-west-2), A11 CloudTrail stopped
        let t_del = at(2, 12, 50, 41);
        let fl_w2 = &fleet.flow_logs[flow_log::A_USW2];
        let e = Event::api(
            rng,
            t_del,
            &backup_admin,
            None,
            "ec2.amazonaws.com",
            "DeleteFlowLogs",
            "us-west-2",
            &c2,
            ua,
        )
        .req(J::obj([(
            "DeleteFlowLogsRequest",
            J::obj([(
                "FlowLogId",
                J::obj([("content", J::s(fl_w2.id.clone())), ("tag", J::Int(1))]),
            )]),
        )]));
        let rid = e.request_id.clone().unwrap_or_default();
        let e = e.resp(J::obj([(
            "DeleteFlowLogsResponse",
            J::obj([
                ("xmlns", J::s("http://ec2.amazonaws.com/doc/2016-11-15/")),
                ("requestId", J::s(rid)),
                ("unsuccessful", J::s("")),
            ]),
        )]));
        events.push(Special {
            stream: stream::A_USW2,
            event: e,
        });
        labels.push(label("A10", "flow_logs_deleted", "principal", &backup_admin.arn(), ACCOUNT_A, "us-west-2", t_del, t_del,
            format!("backup-admin (with the key created in A9) deletes flow log {} of {}; its files stop after this", fl_w2.id, fl_w2.vpc_id)));
        let t_stop = at(2, 12, 52, 18);
        let trail_arn = format!("arn:aws:cloudtrail:us-east-1:{ACCOUNT_A}:trail/management-trail");
        let e = Event::api(
            rng,
            t_stop,
            &backup_admin,
            None,
            "cloudtrail.amazonaws.com",
            "StopLogging",
            use1,
            &c2,
            ua,
        )
        .req(J::obj([("name", J::s(trail_arn.clone()))]));
        events.push(Special {
            stream: stream::A_USE1,
            event: e,
        });
        labels.push(label("A11", "cloudtrail_tampering", "principal", &backup_admin.arn(), ACCOUNT_A, use1, t_stop, t_stop,
            "backup-admin stops the management trail (StopLogging); account A has no CloudTrail files until StartLogging at 13:41".into()));
        let t_start = at(2, 13, 41, 2);
        let alice = &a.admins[0];
        let e = Event::api(
            rng,
            t_start,
            alice,
            Some((at(2, 13, 35, 0), true)),
            "cloudtrail.amazonaws.com",
            "StartLogging",
            use1,
            &a.office,
            "AWS Internal",
        )
        .req(J::obj([("name", J::s(trail_arn))]));
        events.push(Special {
            stream: stream::A_USE1,
            event: e,
        });
        benign.push(label(
            "B4",
            "cloudtrail_tampering",
            "principal",
            &alice.arn(),
            ACCOUNT_A,
            use1,
            t_start,
            t_start,
            "alice restarts the trail (StartLogging) with MFA: remediation, not tampering".into(),
        ));

        // --- A12 root activity in account B
        let root = &b.root;
        let t_root = at(1, 3, 12, 40);
        events.push(Special {
            stream: stream::B_USE1,
            event: console_login(rng, t_root, root, use1, ROOT_IP, true, true),
        });
        let sess = Some((t_root, true));
        let calls: &[(i64, &str, J)] = &[
            (30, "GetAccountSummary", J::Null),
            (50, "ListUsers", J::Null),
            (
                142,
                "CreateUser",
                J::obj([("userName", J::s("support-temp"))]),
            ),
            (
                180,
                "AttachUserPolicy",
                J::obj([
                    ("userName", J::s("support-temp")),
                    (
                        "policyArn",
                        J::s("arn:aws:iam::aws:policy/AdministratorAccess"),
                    ),
                ]),
            ),
            (
                210,
                "CreateLoginProfile",
                J::obj([
                    ("userName", J::s("support-temp")),
                    ("passwordResetRequired", J::Bool(false)),
                ]),
            ),
            (
                375,
                "ListAccessKeys",
                J::obj([("userName", J::s("support-temp"))]),
            ),
        ];
        for (dt, name, req) in calls {
            let e = Event::api(
                rng,
                t_root + dt,
                root,
                sess,
                "iam.amazonaws.com",
                name,
                use1,
                ROOT_IP,
                "AWS Internal",
            )
            .req(req.clone());
            events.push(Special {
                stream: stream::B_USE1,
                event: e,
            });
        }
        labels.push(label("A12", "root_activity", "principal", &root.arn(), ACCOUNT_B, use1, t_root, t_root + 375,
            format!("the root user of {ACCOUNT_B} signs in from {ROOT_IP} at night and creates an administrator user support-temp")));

        // --- benign: nightly backup, background scans, a new app instance
        for day in 0..3 {
            for minute in 0..60 {
                let t = at(day, 2, minute, 0);
                let mut c = Conn::tcp(db1.ip, peers.backup_partner, 443, t, 59).sizes(
                    rng.range(60_000_000, 80_000_000),
                    rng.range(300_000, 500_000),
                );
                c.sport = 44_310;
                c.src_if = Some(cast.db1);
                conns.push((fl, c));
            }
        }
        benign.push(label("B5", "volume_spike", "instance", &iface_id(fleet, cast.db1), ACCOUNT_A, use1, at(0, 2, 0, 0), at(2, 3, 0, 0),
            format!("nightly backup: db-1 sends ~4 GB to the backup partner {}:443 between 02:00 and 03:00 UTC every night", ip_str(peers.backup_partner))));
        benign.push(label("B6", "port_scan", "ip", "*", "*", "*", D0, D0 + 3 * DAY,
            "internet background scanning: random sources probe public interfaces on common ports, always REJECT".into()));
        let app4 = f(cast.app4);
        let autoscaling = Principal::role(
            rng,
            ACCOUNT_A,
            "AWSServiceRoleForAutoScaling",
            "AutoScaling",
        );
        let t_run = app4.active_from - 120;
        let e = Event::api(
            rng,
            t_run,
            &autoscaling,
            Some((t_run - 60, false)),
            "ec2.amazonaws.com",
            "RunInstances",
            use1,
            "autoscaling.amazonaws.com",
            "autoscaling.amazonaws.com",
        )
        .req(J::obj([
            ("instanceType", J::s("m7g.large")),
            ("subnetId", J::s(app4.subnet_id.clone())),
        ]))
        .resp(J::obj([(
            "instancesSet",
            J::obj([(
                "items",
                J::Arr(vec![J::obj([
                    ("instanceId", J::s(iface_id(fleet, cast.app4))),
                    ("privateIpAddress", J::s(ip_str(app4.ip))),
                    ("subnetId", J::s(app4.subnet_id.clone())),
                    ("vpcId", J::s(app4.vpc_id.clone())),
                    (
                        "tagSet",
                        J::obj([(
                            "items",
                            J::Arr(vec![
                                J::obj([("key", J::s("Name")), ("value", J::s("app-4"))]),
                                J::obj([("key", J::s("env")), ("value", J::s("prod"))]),
                                J::obj([
                                    ("key", J::s("aws:autoscaling:groupName")),
                                    ("value", J::s("app-asg")),
                                ]),
                            ]),
                        )]),
                    ),
                    (
                        "networkInterfaceSet",
                        J::obj([(
                            "items",
                            J::Arr(vec![J::obj([
                                ("networkInterfaceId", J::s(app4.eni.clone())),
                                ("subnetId", J::s(app4.subnet_id.clone())),
                                ("vpcId", J::s(app4.vpc_id.clone())),
                                ("privateIpAddress", J::s(ip_str(app4.ip))),
                            ])]),
                        )]),
                    ),
                ])]),
            )]),
        )]));
        events.push(Special {
            stream: stream::A_USE1,
            event: e,
        });
        benign.push(label("B7", "new_peer", "instance", &iface_id(fleet, cast.app4), ACCOUNT_A, use1, app4.active_from, D0 + 3 * DAY,
            format!("app-4 ({}) joins the app tier (RunInstances by Auto Scaling) and talks to the same peers as app-1..3", ip_str(app4.ip))));

        conns.sort_by_key(|(_, c)| c.start);
        Self {
            labels,
            benign,
            events,
            conns,
            exfil,
            exfil_per_window: 0,
            exfil_iface: cast.app3,
            trail_gap: (t_stop, t_start),
            deleted_flow_log: (flow_log::A_USW2, t_del),
            exfil_span: (ex0, ex1),
        }
    }

    /// Scenario connections of flow log `fl` starting in `[t0, t1)`.
    pub fn conns_in(&self, fl: usize, t0: i64, t1: i64) -> Vec<Conn> {
        let from = self.conns.partition_point(|(_, c)| c.start < t0);
        let mut v: Vec<Conn> = self.conns[from..]
            .iter()
            .take_while(|(_, c)| c.start < t1)
            .filter(|(f, _)| *f == fl)
            .map(|(_, c)| *c)
            .collect();
        if fl == flow_log::A_USE1 {
            let per_conn = self.exfil_per_window / 5;
            for c in self.exfil.iter().filter(|c| c.start >= t0 && c.start < t1) {
                v.push(c.sizes(per_conn, per_conn / 90));
            }
        }
        v
    }

    /// Fill in the learned exfiltration volume in the label text.
    pub fn finish_labels(&mut self, mean_per_window: u64) {
        for l in &mut self.labels {
            l.description = l.description.replace(
                "BYTES_PLACEHOLDER",
                &format!(
                    "{} bytes per 5 minutes vs a mean of {mean_per_window} on days 1-2",
                    self.exfil_per_window
                ),
            );
        }
    }
}
