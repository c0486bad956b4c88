//! CloudTrail side of an unseen scenario: the seven CloudTrail attacks of the plan and the
//! benign look-alikes (console users with MFA, federated SSO sign-ins, failed passwords,
//! failed security-group changes, users rotating their own keys, StartLogging, read-only
//! inventory bursts by an automation role, the Auto Scaling launch of the new instance).

use crate::fleet::ip_str;
use crate::json::J;
use crate::prng::Rng;
use crate::scenarios::Label;
use crate::time::{DAY, rfc3339};
use crate::trail_events::{Event, Principal, console_login};

use super::labels::{entity_of, label};
use super::plan::{Plan, Tamper};
use super::world::World;

/// CloudTrail events outside the background mix, and their labels.
#[derive(Debug, Default)]
pub struct TrailStory {
    /// `(stream, event)`, unsorted.
    pub events: Vec<(usize, Event)>,
    /// Attack labels.
    pub labels: Vec<Label>,
    /// Benign look-alike labels.
    pub benign: Vec<Label>,
    /// The tampered account and its logging gap `(account, from, to)`: no events inside.
    pub gap: (usize, i64, i64),
}

pub(super) const CLI_UA: &str =
    "aws-cli/2.15.30 Python/3.11.8 Linux/6.5.0-1016-aws exe/x86_64.ubuntu.22 prompt/off";
pub(super) const CONSOLE_UA: &str = "AWS Internal";

/// Read-only calls by service, and the error code a denial carries there.
const READS: &[(&str, &[&str], &str)] = &[
    (
        "iam",
        &[
            "ListUsers",
            "ListRoles",
            "GetAccountAuthorizationDetails",
            "ListPolicies",
            "ListAccessKeys",
        ],
        "AccessDenied",
    ),
    (
        "s3",
        &["ListBuckets", "GetBucketPolicy", "GetBucketAcl"],
        "AccessDenied",
    ),
    (
        "ec2",
        &[
            "DescribeInstances",
            "DescribeSecurityGroups",
            "DescribeSnapshots",
            "DescribeVpcs",
        ],
        "Client.UnauthorizedOperation",
    ),
    (
        "lambda",
        &["ListFunctions20150331", "GetFunction20150331v2"],
        "AccessDeniedException",
    ),
    (
        "rds",
        &["DescribeDBInstances", "DescribeDBSnapshots"],
        "AccessDenied",
    ),
    (
        "secretsmanager",
        &["ListSecrets", "GetSecretValue"],
        "AccessDeniedException",
    ),
    ("kms", &["ListKeys", "ListAliases"], "AccessDeniedException"),
    (
        "dynamodb",
        &["ListTables", "DescribeTable"],
        "AccessDeniedException",
    ),
    (
        "organizations",
        &["DescribeOrganization", "ListAccounts"],
        "AccessDeniedException",
    ),
    (
        "guardduty",
        &["ListDetectors", "GetDetector"],
        "AccessDeniedException",
    ),
    (
        "cloudtrail",
        &["DescribeTrails", "GetTrailStatus"],
        "AccessDeniedException",
    ),
    ("logs", &["DescribeLogGroups"], "AccessDeniedException"),
    (
        "ssm",
        &["DescribeParameters", "GetParameters"],
        "AccessDeniedException",
    ),
    (
        "sns",
        &["ListTopics", "ListSubscriptions"],
        "AuthorizationError",
    ),
    ("sqs", &["ListQueues"], "AccessDenied"),
    ("ecr", &["DescribeRepositories"], "AccessDeniedException"),
    ("eks", &["ListClusters"], "AccessDeniedException"),
    (
        "cloudformation",
        &["DescribeStacks", "ListStacks"],
        "AccessDenied",
    ),
];

pub(super) fn sg_request(sg: &str, proto: &str, from: i64, to: i64, cidr: &str) -> J {
    J::obj([
        ("groupId", J::s(sg)),
        (
            "ipPermissions",
            J::obj([(
                "items",
                J::Arr(vec![J::obj([
                    ("ipProtocol", J::s(proto)),
                    ("fromPort", J::Int(from)),
                    ("toPort", J::Int(to)),
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
}

fn key_created(rng: &mut Rng, e: Event, user: &str, t: i64) -> Event {
    e.req(J::obj([("userName", J::s(user))])).resp(J::obj([(
        "accessKey",
        J::obj([
            ("userName", J::s(user)),
            ("accessKeyId", J::s(format!("AKIA{}", rng.upper_alnum(16)))),
            ("status", J::s("Active")),
            ("createDate", J::s(rfc3339(t))),
        ]),
    )]))
}

impl TrailStory {
    pub(super) fn push(&mut self, w: &World, account: usize, region: &str, e: Event) {
        self.events.push((w.stream(account, region), e));
    }

    pub(super) fn home(w: &World, account: usize) -> String {
        w.streams
            .iter()
            .find(|s| s.account == account)
            .map_or_else(|| "us-east-1".to_string(), |s| s.st.region.clone())
    }

    fn console(&mut self, w: &World, rng: &mut Rng, p: &Plan) {
        let (a, t) = p.console;
        let ids = &w.accounts[a].ids;
        let who = rng.pick(&ids.others).clone();
        let ip = ip_str(rng.public_ipv4());
        let region = Self::home(w, a);
        self.push(
            w,
            a,
            "us-east-1",
            console_login(rng, t, &who, "us-east-1", &ip, false, true),
        );
        let mut s = t + rng.range(30, 120) as i64;
        for _ in 0..rng.range(3, 11) {
            let name = *rng.pick(&[
                "DescribeInstances",
                "DescribeSecurityGroups",
                "DescribeVpcs",
                "ListBuckets",
            ]);
            let src = if name == "ListBuckets" {
                "s3.amazonaws.com"
            } else {
                "ec2.amazonaws.com"
            };
            let e = Event::api(
                rng,
                s,
                &who,
                Some((t, false)),
                src,
                name,
                &region,
                &ip,
                CONSOLE_UA,
            );
            self.push(w, a, &region, e);
            s += rng.range(5, 90) as i64;
        }
        self.labels.push(label("console_login_no_mfa", "principal", &who.arn(), &ids.account, "us-east-1", t, t,
            format!("{} signs in to the console without MFA from {ip} (ConsoleLogin Success, MFAUsed No), then browses EC2", who.name)));
    }

    fn sg(&mut self, w: &World, rng: &mut Rng, p: &Plan) {
        let (a, i, t, port) = p.sg;
        let ids = &w.accounts[a].ids;
        let f = &w.fleet.ifaces[i];
        let who = if rng.chance(1, 2) {
            rng.pick(&ids.others).clone()
        } else {
            ids.ci.clone()
        };
        let sg = format!("sg-0{}", rng.hex(16));
        let ip = ip_str(rng.public_ipv4());
        let (proto, from, to) = if port == 0 {
            ("-1", -1, -1)
        } else {
            ("tcp", i64::from(port), i64::from(port))
        };
        let mut e = Event::api(
            rng,
            t,
            &who,
            None,
            "ec2.amazonaws.com",
            "AuthorizeSecurityGroupIngress",
            &f.region,
            &ip,
            CLI_UA,
        )
        .req(sg_request(&sg, proto, from, to, "0.0.0.0/0"));
        let rid = e.request_id.clone().unwrap_or_default();
        e.response = J::obj([
            ("requestId", J::s(rid)),
            ("_return", J::Bool(true)),
            (
                "securityGroupRuleSet",
                J::obj([(
                    "items",
                    J::Arr(vec![J::obj([
                        ("groupOwnerId", J::s(ids.account.clone())),
                        ("groupId", J::s(sg.clone())),
                        ("securityGroupRuleId", J::s(format!("sgr-0{}", rng.hex(16)))),
                        ("isEgress", J::Bool(false)),
                        ("ipProtocol", J::s(proto)),
                        ("fromPort", J::Int(from)),
                        ("toPort", J::Int(to)),
                        ("cidrIpv4", J::s("0.0.0.0/0")),
                    ])]),
                )]),
            ),
        ]);
        self.push(w, a, &f.region, e);
        let what = if port == 0 {
            "all traffic".to_string()
        } else {
            format!("tcp/{port}")
        };
        self.labels.push(label(
            "security_group_change",
            "security_group",
            &sg,
            &ids.account,
            &f.region,
            t,
            t,
            format!(
                "{} opens {what} to 0.0.0.0/0 on {sg}, the security group of {} ({})",
                who.name,
                f.name,
                entity_of(&w.fleet, i)
            ),
        ));
    }

    fn recon(&mut self, w: &World, rng: &mut Rng, p: &Plan) {
        let (a, t0, denied, services, allowed, dur) = p.recon;
        let ids = &w.accounts[a].ids;
        let who = match rng.below(3) {
            0 => ids.ci.clone(),
            1 => rng.pick(&ids.others).clone(),
            _ => rng.pick(&ids.instance_roles).clone(),
        };
        let session = matches!(
            who.kind,
            crate::trail_events::PrincipalKind::AssumedRole { .. }
        )
        .then_some((t0 - 3_000, false));
        let ip = ip_str(rng.public_ipv4());
        let region = Self::home(w, a);
        let picked: Vec<usize> = super::world::distinct(rng, READS.len(), services);
        let total = denied + allowed;
        let mut n_denied = 0;
        for k in 0..total {
            let t = t0 + (k as i64 * dur) / total as i64;
            let (svc, names, code) = READS[picked[k as usize % picked.len()]];
            let name = *rng.pick(names);
            let deny = n_denied < denied && (k % 2 == 0 || total - k <= denied - n_denied);
            let mut e = Event::api(
                rng,
                t,
                &who,
                session,
                &format!("{svc}.amazonaws.com"),
                name,
                &region,
                &ip,
                CLI_UA,
            );
            if deny {
                let action = format!("{svc}:{name}");
                e = e.err(code, &format!("User: {} is not authorized to perform: {action} because no identity-based policy allows the {action} action", who.arn()));
                n_denied += 1;
            }
            self.push(w, a, &region, e);
        }
        self.labels.push(label("api_recon", "principal", &who.arn(), &ids.account, &region, t0, t0 + dur,
            format!("{}'s credentials used from {ip}: {total} read-only calls over {services} services in {} minutes, {n_denied} denied", who.name, dur / 60)));
    }

    fn key(&mut self, w: &World, rng: &mut Rng, p: &Plan) {
        let (a, t) = p.key;
        let ids = &w.accounts[a].ids;
        let who = if rng.chance(1, 2) {
            ids.ci.clone()
        } else {
            ids.others[0].clone()
        };
        let target = if rng.chance(1, 2) {
            ids.admins[0].name.clone()
        } else {
            ids.others[1].name.clone()
        };
        let ip = ip_str(rng.public_ipv4());
        let e = Event::api(
            rng,
            t,
            &who,
            None,
            "iam.amazonaws.com",
            "CreateAccessKey",
            "us-east-1",
            &ip,
            CLI_UA,
        );
        let e = key_created(rng, e, &target, t);
        self.push(w, a, "us-east-1", e);
        self.labels.push(label(
            "access_key_created",
            "principal",
            &who.arn(),
            &ids.account,
            "us-east-1",
            t,
            t,
            format!(
                "{} creates an access key for user {target} from {ip}",
                who.name
            ),
        ));
    }

    fn tamper(&mut self, w: &World, rng: &mut Rng, p: &Plan) {
        let (a, t, kind, gap) = p.tamper;
        let acct = &w.accounts[a];
        let ids = &acct.ids;
        let region = Self::home(w, a);
        let who = rng.pick(&ids.others).clone();
        let ip = ip_str(rng.public_ipv4());
        let arn = format!(
            "arn:aws:cloudtrail:{region}:{}:trail/{}",
            ids.account, acct.trail
        );
        let (name, req) = match kind {
            Tamper::StopLogging => ("StopLogging", J::obj([("name", J::s(arn.clone()))])),
            Tamper::DeleteTrail => ("DeleteTrail", J::obj([("name", J::s(arn.clone()))])),
            Tamper::DropManagementEvents => (
                "PutEventSelectors",
                J::obj([
                    ("trailName", J::s(arn.clone())),
                    (
                        "eventSelectors",
                        J::Arr(vec![J::obj([
                            ("readWriteType", J::s("All")),
                            ("includeManagementEvents", J::Bool(false)),
                            ("dataResources", J::Arr(vec![])),
                            ("excludeManagementEventSources", J::Arr(vec![])),
                        ])]),
                    ),
                ]),
            ),
        };
        let e = Event::api(
            rng,
            t,
            &who,
            None,
            "cloudtrail.amazonaws.com",
            name,
            &region,
            &ip,
            CLI_UA,
        )
        .req(req);
        self.push(w, a, &region, e);
        let back = t + gap;
        let admin = ids.admins[0].clone();
        let sess = Some((back - 300, true));
        let fix: Vec<(&str, J)> = match kind {
            Tamper::StopLogging => vec![("StartLogging", J::obj([("name", J::s(arn.clone()))]))],
            Tamper::DeleteTrail => vec![
                (
                    "CreateTrail",
                    J::obj([
                        ("name", J::s(acct.trail.clone())),
                        (
                            "s3BucketName",
                            J::s(format!("{}-cloudtrail-logs", ids.account)),
                        ),
                        ("isMultiRegionTrail", J::Bool(true)),
                    ]),
                ),
                ("StartLogging", J::obj([("name", J::s(arn.clone()))])),
            ],
            Tamper::DropManagementEvents => vec![(
                "PutEventSelectors",
                J::obj([
                    ("trailName", J::s(arn.clone())),
                    (
                        "eventSelectors",
                        J::Arr(vec![J::obj([
                            ("readWriteType", J::s("All")),
                            ("includeManagementEvents", J::Bool(true)),
                            ("dataResources", J::Arr(vec![])),
                        ])]),
                    ),
                ]),
            )],
        };
        for (k, (n, req)) in fix.into_iter().enumerate() {
            let e = Event::api(
                rng,
                back + 20 * k as i64,
                &admin,
                sess,
                "cloudtrail.amazonaws.com",
                n,
                &region,
                &ids.office,
                CONSOLE_UA,
            )
            .req(req);
            self.push(w, a, &region, e);
        }
        self.gap = (a, t, back);
        self.labels.push(label("cloudtrail_tampering", "principal", &who.arn(), &ids.account, &region, t, t,
            format!("{} calls {name} on {} from {ip}; the account's events stop until {} restores logging {} minutes later", who.name, acct.trail, admin.name, gap / 60)));
        self.benign.push(label(
            "cloudtrail_tampering",
            "principal",
            &admin.arn(),
            &ids.account,
            &region,
            back,
            back + 20,
            format!("{} restores the trail (remediation, with MFA)", admin.name),
        ));
    }

    fn delete_fl(&mut self, w: &World, rng: &mut Rng, p: &Plan) {
        let (fl, t) = p.delete_fl;
        let def = &w.fleet.flow_logs[fl];
        let a = w.account_index(&def.account_id);
        let ids = &w.accounts[a].ids;
        let who = if rng.chance(1, 2) {
            ids.others[2].clone()
        } else {
            ids.ci.clone()
        };
        let ip = ip_str(rng.public_ipv4());
        let e = Event::api(
            rng,
            t,
            &who,
            None,
            "ec2.amazonaws.com",
            "DeleteFlowLogs",
            &def.region,
            &ip,
            CLI_UA,
        )
        .req(J::obj([(
            "DeleteFlowLogsRequest",
            J::obj([(
                "FlowLogId",
                J::obj([("content", J::s(def.id.clone())), ("tag", J::Int(1))]),
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
        self.push(w, a, &def.region, e);
        self.labels.push(label(
            "flow_logs_deleted",
            "principal",
            &who.arn(),
            &ids.account,
            &def.region,
            t,
            t,
            format!(
                "{} deletes flow log {} of {} from {ip}; its files stop",
                who.name, def.id, def.vpc_id
            ),
        ));
    }

    fn root(&mut self, w: &World, rng: &mut Rng, p: &Plan) {
        let (a, t, calls) = p.root;
        let ids = &w.accounts[a].ids;
        let root = &ids.root;
        let ip = ip_str(rng.public_ipv4());
        self.push(
            w,
            a,
            "us-east-1",
            console_login(rng, t, root, "us-east-1", &ip, true, true),
        );
        let user = format!("support-{}", rng.hex(4));
        let menu: [(&str, J); 8] = [
            ("GetAccountSummary", J::Null),
            ("ListUsers", J::Null),
            ("CreateUser", J::obj([("userName", J::s(user.clone()))])),
            (
                "AttachUserPolicy",
                J::obj([
                    ("userName", J::s(user.clone())),
                    (
                        "policyArn",
                        J::s("arn:aws:iam::aws:policy/AdministratorAccess"),
                    ),
                ]),
            ),
            (
                "CreateLoginProfile",
                J::obj([
                    ("userName", J::s(user.clone())),
                    ("passwordResetRequired", J::Bool(false)),
                ]),
            ),
            ("ListAccessKeys", J::obj([("userName", J::s(user.clone()))])),
            (
                "UpdateAccountPasswordPolicy",
                J::obj([("minimumPasswordLength", J::Int(8))]),
            ),
            (
                "DeleteAccountAlias",
                J::obj([("accountAlias", J::s("prod"))]),
            ),
        ];
        let mut s = t;
        for (name, req) in menu.into_iter().take(calls) {
            s += rng.range(15, 150) as i64;
            let e = Event::api(
                rng,
                s,
                root,
                Some((t, true)),
                "iam.amazonaws.com",
                name,
                "us-east-1",
                &ip,
                CONSOLE_UA,
            )
            .req(req);
            self.push(w, a, "us-east-1", e);
        }
        self.labels.push(label("root_activity", "principal", &root.arn(), &ids.account, "us-east-1", t, s,
            format!("the root user of {} signs in from {ip} and makes {calls} IAM calls (creates {user})", ids.account)));
    }

    fn benign(&mut self, w: &World, rng: &mut Rng) {
        for (a, acct) in w.accounts.iter().enumerate() {
            let ids = &acct.ids;
            let home = Self::home(w, a);
            let off = w
                .streams
                .iter()
                .find(|s| s.account == a)
                .map_or(0, |s| s.st.utc_offset_h);
            let local = |day: i64, h: i64| w.day(day) + (h - off) * 3600;
            let sso_role = format!("AWSReservedSSO_PowerUser_{}", rng.hex(16));
            let sso = Principal::role(rng, &ids.account, &sso_role, "jane.doe@example.com");
            let inv_hour = rng.range(0, 24) as i64;
            for day in 0..w.days {
                for admin in &ids.admins {
                    let t = local(day, 9) + rng.below(3 * 3600) as i64;
                    self.push(
                        w,
                        a,
                        "us-east-1",
                        console_login(rng, t, admin, "us-east-1", &ids.office, true, true),
                    );
                }
                // federated sign-in: MFA happened at the identity provider, CloudTrail says No
                let t = local(day, 8) + rng.below(4 * 3600) as i64;
                let mut e = console_login(rng, t, &sso, "us-east-1", &ids.office, false, true);
                e.identity = sso.identity(Some((t, false)));
                self.push(w, a, "us-east-1", e);
                // inventory automation: a read-only burst over many services, never denied
                let t0 = w.day(day) + inv_hour * 3600 + rng.below(1_800) as i64;
                let n = rng.range(80, 251);
                let n_svcs = rng.range(8, 15) as usize;
                let svcs = super::world::distinct(rng, READS.len(), n_svcs);
                for k in 0..n {
                    let (svc, names, _) = READS[svcs[k as usize % svcs.len()]];
                    let name = *rng.pick(names);
                    let e = Event::api(
                        rng,
                        t0 + k as i64 * 600 / n as i64,
                        &ids.automation,
                        Some((t0 - 60, false)),
                        &format!("{svc}.amazonaws.com"),
                        name,
                        &home,
                        &ids.nat_ip(&home),
                        "Boto3/1.35.90 md/Botocore#1.35.90 ua/2.0 os/linux#5.10.230 md/arch#x86_64 lang/python#3.12.8 exec-env/AWS_Lambda_python3.12",
                    );
                    self.push(w, a, &home, e);
                }
                // a failed security-group change (duplicate rule, or denied)
                if rng.chance(2, 3) {
                    let who = rng.pick(&ids.admins).clone();
                    let t = local(day, 10) + rng.below(7 * 3600) as i64;
                    let sg = format!("sg-0{}", rng.hex(16));
                    let (code, msg) = if rng.chance(1, 2) {
                        ("InvalidPermission.Duplicate", "the specified rule \"peer: 10.0.0.0/16, TCP, from port: 443, to port: 443, ALLOW\" already exists".to_string())
                    } else {
                        (
                            "Client.UnauthorizedOperation",
                            format!(
                                "You are not authorized to perform this operation. User: {} is not authorized to perform: ec2:AuthorizeSecurityGroupIngress with an explicit deny in a service control policy",
                                who.arn()
                            ),
                        )
                    };
                    let cidr = if code == "InvalidPermission.Duplicate" {
                        "10.0.0.0/16"
                    } else {
                        "0.0.0.0/0"
                    };
                    let e = Event::api(
                        rng,
                        t,
                        &who,
                        Some((t - 900, true)),
                        "ec2.amazonaws.com",
                        "AuthorizeSecurityGroupIngress",
                        &home,
                        &ids.office,
                        CONSOLE_UA,
                    )
                    .req(sg_request(&sg, "tcp", 443, 443, cidr))
                    .err(code, &msg);
                    self.push(w, a, &home, e);
                    self.benign.push(label(
                        "security_group_change",
                        "security_group",
                        &sg,
                        &ids.account,
                        &home,
                        t,
                        t,
                        format!(
                            "{} tries to add a rule to {sg} and fails ({code}): no change happened",
                            who.name
                        ),
                    ));
                }
                // a user rotates their own access key
                if rng.chance(1, 3) {
                    let who = if rng.chance(1, 2) {
                        rng.pick(&ids.admins).clone()
                    } else {
                        rng.pick(&ids.others).clone()
                    };
                    let t = local(day, 11) + rng.below(6 * 3600) as i64;
                    let e = Event::api(
                        rng,
                        t,
                        &who,
                        Some((t - 600, true)),
                        "iam.amazonaws.com",
                        "CreateAccessKey",
                        "us-east-1",
                        &ids.office,
                        CONSOLE_UA,
                    );
                    let e = key_created(rng, e, &who.name, t);
                    self.push(w, a, "us-east-1", e);
                    self.benign.push(label(
                        "access_key_created",
                        "principal",
                        &who.arn(),
                        &ids.account,
                        "us-east-1",
                        t,
                        t,
                        format!("{} creates an access key for themself (rotation)", who.name),
                    ));
                }
                // config remediation re-asserts logging on the trail (a no-op StartLogging)
                if a != 1 && rng.chance(1, 4) {
                    let rem = Principal::role(
                        rng,
                        &ids.account,
                        "AWSConfigRemediation",
                        "AWS-EnableCloudTrail",
                    );
                    let t = w.day(day) + rng.below(DAY as u64) as i64;
                    let arn = format!(
                        "arn:aws:cloudtrail:{home}:{}:trail/{}",
                        ids.account, acct.trail
                    );
                    let e = Event::api(
                        rng,
                        t,
                        &rem,
                        Some((t - 30, false)),
                        "cloudtrail.amazonaws.com",
                        "StartLogging",
                        &home,
                        "ssm.amazonaws.com",
                        "ssm.amazonaws.com",
                    )
                    .req(J::obj([("name", J::s(arn))]));
                    self.push(w, a, &home, e);
                    self.benign.push(label("cloudtrail_tampering", "principal", &rem.arn(), &ids.account, &home, t, t,
                        "AWS Config remediation calls StartLogging on a trail that is already logging".into()));
                }
            }
            // a mistyped password: Failure, MFA never reached
            let t = local(rng.range(0, w.days as u64) as i64, 9) + rng.below(8 * 3600) as i64;
            let who = ids.admins[1].clone();
            self.push(
                w,
                a,
                "us-east-1",
                console_login(rng, t, &who, "us-east-1", &ids.office, false, false),
            );
            self.benign.push(label(
                "console_login_no_mfa",
                "principal",
                &who.arn(),
                &ids.account,
                "us-east-1",
                t,
                t,
                format!(
                    "{} mistypes the password (ConsoleLogin Failure, MFAUsed No)",
                    who.name
                ),
            ));
            self.benign.push(label("api_recon", "principal", &ids.automation.arn(), &ids.account, &home, w.d0, w.day(w.days),
                format!("the inventory automation reads 80-250 resources over 8-14 services every day at {inv_hour:02}:00 UTC, never denied")));
            self.benign.push(label("console_login_no_mfa", "principal", &sso.arn(), &ids.account, "us-east-1", w.d0, w.day(w.days),
                "daily federated SSO sign-in (AssumedRole; MFAUsed No because MFA happens at the identity provider)".into()));
        }
        // the new instance is launched by Auto Scaling
        let n = &w.fleet.ifaces[w.newcomer];
        let a = w.account_index(&n.account_id);
        let asg = Principal::role(
            rng,
            &n.account_id,
            "AWSServiceRoleForAutoScaling",
            "AutoScaling",
        );
        let t = n.active_from - 120;
        let e = Event::api(
            rng,
            t,
            &asg,
            Some((t - 60, false)),
            "ec2.amazonaws.com",
            "RunInstances",
            &n.region,
            "autoscaling.amazonaws.com",
            "autoscaling.amazonaws.com",
        )
        .req(J::obj([
            ("instanceType", J::s("m7g.large")),
            ("subnetId", J::s(n.subnet_id.clone())),
        ]))
        .resp(J::obj([(
            "instancesSet",
            J::obj([(
                "items",
                J::Arr(vec![J::obj([
                    ("instanceId", J::s(entity_of(&w.fleet, w.newcomer))),
                    ("privateIpAddress", J::s(ip_str(n.ip))),
                ])]),
            )]),
        )]));
        self.push(w, a, &n.region, e);
        self.benign.push(label("new_peer", "instance", &entity_of(&w.fleet, w.newcomer), &n.account_id, &n.region, n.active_from, w.day(w.days),
            format!("{} ({}) joins its tier (RunInstances by Auto Scaling) and talks to the same peers as its siblings", n.name, ip_str(n.ip))));
    }
}

/// Build the CloudTrail story of a plan.
pub fn story(w: &World, plan: &Plan) -> TrailStory {
    let mut rng = Rng::derive(w.seed, "unseen/trail");
    let r = &mut rng;
    let mut s = TrailStory::default();
    s.console(w, r, plan);
    s.sg(w, r, plan);
    s.recon(w, r, plan);
    s.key(w, r, plan);
    s.tamper(w, r, plan);
    s.delete_fl(w, r, plan);
    s.root(w, r, plan);
    s.benign(w, r);
    super::chain::trail(
        &mut s,
        w,
        &mut Rng::derive(w.seed, "unseen/chain/trail"),
        plan,
    );
    let mut routine = Rng::derive(w.seed, "unseen/routine");
    super::routine::terraform(&mut s, w, &mut routine);
    super::routine::onboarding(&mut s, w, &mut routine);
    s
}
