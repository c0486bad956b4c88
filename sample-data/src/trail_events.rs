//! CloudTrail events: principals (`userIdentity`), the event record in AWS's field order, and
//! the background mix of ordinary management events an account produces.

use crate::fleet::ip_str;
use crate::json::J;
use crate::prng::Rng;
use crate::time::{hour_of_day, rfc3339};

/// The kind of principal behind an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalKind {
    /// An IAM user.
    IamUser,
    /// A role session: role name and session name.
    AssumedRole {
        /// Role name.
        role: String,
        /// Session name (an instance id, a user, a Lambda function).
        session: String,
        /// Role principal id (`AROA…`).
        role_id: String,
    },
    /// The account root user.
    Root,
    /// An AWS service acting on its own (`ec2.amazonaws.com`).
    AwsService,
}

/// A principal.
#[derive(Debug, Clone)]
pub struct Principal {
    /// Kind.
    pub kind: PrincipalKind,
    /// Account.
    pub account: String,
    /// User name, role name, or service name.
    pub name: String,
    /// `AIDA…`, `AROA…:session`, the account id for root.
    pub principal_id: String,
    /// Access key id it signs with (`AKIA…` long-term, `ASIA…` temporary).
    pub access_key: String,
}

impl Principal {
    /// An IAM user with a long-term access key.
    pub fn user(rng: &mut Rng, account: &str, name: &str) -> Self {
        Self {
            kind: PrincipalKind::IamUser,
            account: account.to_string(),
            name: name.to_string(),
            principal_id: format!("AIDA{}", rng.upper_alnum(17)),
            access_key: format!("AKIA{}", rng.upper_alnum(16)),
        }
    }

    /// A session of role `role` named `session`.
    pub fn role(rng: &mut Rng, account: &str, role: &str, session: &str) -> Self {
        let role_id = format!("AROA{}", rng.upper_alnum(17));
        Self {
            kind: PrincipalKind::AssumedRole {
                role: role.to_string(),
                session: session.to_string(),
                role_id: role_id.clone(),
            },
            account: account.to_string(),
            name: role.to_string(),
            principal_id: format!("{role_id}:{session}"),
            access_key: format!("ASIA{}", rng.upper_alnum(16)),
        }
    }

    /// The root user (console session).
    pub fn root(rng: &mut Rng, account: &str) -> Self {
        Self {
            kind: PrincipalKind::Root,
            account: account.to_string(),
            name: "root".to_string(),
            principal_id: account.to_string(),
            access_key: format!("ASIA{}", rng.upper_alnum(16)),
        }
    }

    /// An AWS service principal.
    pub fn service(account: &str, service: &str) -> Self {
        Self {
            kind: PrincipalKind::AwsService,
            account: account.to_string(),
            name: service.to_string(),
            principal_id: String::new(),
            access_key: String::new(),
        }
    }

    /// The principal's ARN (empty for services).
    pub fn arn(&self) -> String {
        match &self.kind {
            PrincipalKind::IamUser => format!("arn:aws:iam::{}:user/{}", self.account, self.name),
            PrincipalKind::AssumedRole { role, session, .. } => {
                format!(
                    "arn:aws:sts::{}:assumed-role/{role}/{session}",
                    self.account
                )
            }
            PrincipalKind::Root => format!("arn:aws:iam::{}:root", self.account),
            PrincipalKind::AwsService => String::new(),
        }
    }

    /// The `userIdentity` object; `session` is the session creation time and MFA flag for
    /// console and role sessions.
    pub fn identity(&self, session: Option<(i64, bool)>) -> J {
        let attrs = |t: i64, mfa: bool| {
            J::obj([
                ("creationDate", J::s(rfc3339(t))),
                ("mfaAuthenticated", J::s(if mfa { "true" } else { "false" })),
            ])
        };
        match &self.kind {
            PrincipalKind::AwsService => J::obj([
                ("type", J::s("AWSService")),
                ("invokedBy", J::s(self.name.clone())),
            ]),
            PrincipalKind::IamUser => {
                let mut id = J::obj([
                    ("type", J::s("IAMUser")),
                    ("principalId", J::s(self.principal_id.clone())),
                    ("arn", J::s(self.arn())),
                    ("accountId", J::s(self.account.clone())),
                    ("accessKeyId", J::s(self.access_key.clone())),
                    ("userName", J::s(self.name.clone())),
                ]);
                if let Some((t, mfa)) = session {
                    id.push(
                        "sessionContext",
                        J::obj([("sessionIssuer", J::obj([])), ("attributes", attrs(t, mfa))]),
                    );
                }
                id
            }
            PrincipalKind::Root => {
                let mut id = J::obj([
                    ("type", J::s("Root")),
                    ("principalId", J::s(self.principal_id.clone())),
                    ("arn", J::s(self.arn())),
                    ("accountId", J::s(self.account.clone())),
                    ("accessKeyId", J::s(self.access_key.clone())),
                ]);
                if let Some((t, mfa)) = session {
                    id.push(
                        "sessionContext",
                        J::obj([("sessionIssuer", J::obj([])), ("attributes", attrs(t, mfa))]),
                    );
                }
                id
            }
            PrincipalKind::AssumedRole { role, role_id, .. } => {
                let (t, mfa) = session.unwrap_or((0, false));
                J::obj([
                    ("type", J::s("AssumedRole")),
                    ("principalId", J::s(self.principal_id.clone())),
                    ("arn", J::s(self.arn())),
                    ("accountId", J::s(self.account.clone())),
                    ("accessKeyId", J::s(self.access_key.clone())),
                    (
                        "sessionContext",
                        J::obj([
                            (
                                "sessionIssuer",
                                J::obj([
                                    ("type", J::s("Role")),
                                    ("principalId", J::s(role_id.clone())),
                                    (
                                        "arn",
                                        J::s(format!("arn:aws:iam::{}:role/{role}", self.account)),
                                    ),
                                    ("accountId", J::s(self.account.clone())),
                                    ("userName", J::s(role.clone())),
                                ]),
                            ),
                            ("attributes", attrs(t, mfa)),
                        ]),
                    ),
                ])
            }
        }
    }
}

/// One CloudTrail event.
#[derive(Debug, Clone)]
pub struct Event {
    /// Event time.
    pub time: i64,
    /// `userIdentity`.
    pub identity: J,
    /// `eventSource` (`ec2.amazonaws.com`).
    pub source: String,
    /// `eventName`.
    pub name: String,
    /// `awsRegion`.
    pub region: String,
    /// `sourceIPAddress`.
    pub ip: String,
    /// `userAgent`.
    pub user_agent: String,
    /// `errorCode` and `errorMessage`.
    pub error: Option<(String, String)>,
    /// `requestParameters`.
    pub request: J,
    /// `responseElements`.
    pub response: J,
    /// `additionalEventData`.
    pub additional: Option<J>,
    /// `requestID` (console sign-in events have none).
    pub request_id: Option<String>,
    /// `eventID`.
    pub event_id: String,
    /// `readOnly`.
    pub read_only: bool,
    /// `resources`.
    pub resources: Option<J>,
    /// `eventType` is `AwsConsoleSignIn` (else `AwsApiCall`).
    pub console_sign_in: bool,
    /// `recipientAccountId`.
    pub recipient: String,
}

/// Whether an API name is read-only by AWS's convention.
pub fn is_read_only(name: &str) -> bool {
    [
        "Describe", "List", "Get", "Lookup", "Head", "Search", "BatchGet",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

impl Event {
    /// An API call by `who` with fresh ids; request/response default to `null`.
    #[allow(clippy::too_many_arguments)]
    pub fn api(
        rng: &mut Rng,
        time: i64,
        who: &Principal,
        session: Option<(i64, bool)>,
        source: &str,
        name: &str,
        region: &str,
        ip: &str,
        user_agent: &str,
    ) -> Self {
        Self {
            time,
            identity: who.identity(session),
            source: source.to_string(),
            name: name.to_string(),
            region: region.to_string(),
            ip: ip.to_string(),
            user_agent: user_agent.to_string(),
            error: None,
            request: J::Null,
            response: J::Null,
            additional: None,
            request_id: Some(rng.uuid()),
            event_id: rng.uuid(),
            read_only: is_read_only(name),
            resources: None,
            console_sign_in: false,
            recipient: who.account.clone(),
        }
    }

    /// Set `requestParameters`.
    pub fn req(mut self, v: J) -> Self {
        self.request = v;
        self
    }

    /// Set `responseElements`.
    pub fn resp(mut self, v: J) -> Self {
        self.response = v;
        self
    }

    /// Set an error (the response is then `null`).
    pub fn err(mut self, code: &str, message: &str) -> Self {
        self.error = Some((code.to_string(), message.to_string()));
        self.response = J::Null;
        self
    }

    /// The record as CloudTrail writes it.
    pub fn to_json(&self) -> J {
        let mut o = J::obj([
            ("eventVersion", J::s("1.09")),
            ("userIdentity", self.identity.clone()),
            ("eventTime", J::s(rfc3339(self.time))),
            ("eventSource", J::s(self.source.clone())),
            ("eventName", J::s(self.name.clone())),
            ("awsRegion", J::s(self.region.clone())),
            ("sourceIPAddress", J::s(self.ip.clone())),
            ("userAgent", J::s(self.user_agent.clone())),
        ]);
        if let Some((code, msg)) = &self.error {
            if !code.is_empty() {
                o.push("errorCode", J::s(code.clone()));
            }
            o.push("errorMessage", J::s(msg.clone()));
        }
        o.push("requestParameters", self.request.clone());
        o.push("responseElements", self.response.clone());
        if let Some(a) = &self.additional {
            o.push("additionalEventData", a.clone());
        }
        if let Some(r) = &self.request_id {
            o.push("requestID", J::s(r.clone()));
        }
        o.push("eventID", J::s(self.event_id.clone()));
        o.push("readOnly", J::Bool(self.read_only));
        if let Some(r) = &self.resources {
            o.push("resources", r.clone());
        }
        o.push(
            "eventType",
            J::s(if self.console_sign_in {
                "AwsConsoleSignIn"
            } else {
                "AwsApiCall"
            }),
        );
        o.push("managementEvent", J::Bool(true));
        o.push("recipientAccountId", J::s(self.recipient.clone()));
        o.push("eventCategory", J::s("Management"));
        if !self.console_sign_in && self.ip.contains('.') && !self.ip.ends_with(".amazonaws.com") {
            o.push(
                "tlsDetails",
                J::obj([
                    ("tlsVersion", J::s("TLSv1.3")),
                    ("cipherSuite", J::s("TLS_AES_128_GCM_SHA256")),
                    (
                        "clientProvidedHostHeader",
                        J::s(host_header(&self.source, &self.region)),
                    ),
                ]),
            );
        }
        o
    }
}

fn host_header(source: &str, region: &str) -> String {
    let svc = source.trim_end_matches(".amazonaws.com");
    match svc {
        "iam" | "signin" => format!("{svc}.amazonaws.com"),
        _ => format!("{svc}.{region}.amazonaws.com"),
    }
}

/// A `ConsoleLogin` event.
pub fn console_login(
    rng: &mut Rng,
    time: i64,
    who: &Principal,
    region: &str,
    ip: &str,
    mfa: bool,
    ok: bool,
) -> Event {
    let mut e = Event::api(
        rng,
        time,
        who,
        None,
        "signin.amazonaws.com",
        "ConsoleLogin",
        region,
        ip,
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
    );
    e.request_id = None;
    e.read_only = false;
    e.console_sign_in = true;
    e.response = J::obj([("ConsoleLogin", J::s(if ok { "Success" } else { "Failure" }))]);
    if !ok {
        e.error = None;
        e.push_error_message("Failed authentication");
    }
    e.additional = Some(J::obj([
        (
            "LoginTo",
            J::s("https://console.aws.amazon.com/console/home?state=hashArgs%23&isauthcode=true"),
        ),
        ("MobileVersion", J::s("No")),
        (
            "MFAIdentifier",
            if mfa {
                J::s(format!("arn:aws:iam::{}:mfa/{}", who.account, who.name))
            } else {
                J::Null
            },
        ),
        ("MFAUsed", J::s(if mfa { "Yes" } else { "No" })),
    ]));
    if !mfa && let Some(J::Obj(v)) = &mut e.additional {
        v.retain(|(k, _)| k != "MFAIdentifier");
    }
    e
}

impl Event {
    fn push_error_message(&mut self, msg: &str) {
        // ConsoleLogin failures carry errorMessage without errorCode.
        self.error = Some((String::new(), msg.to_string()));
    }
}

/// The principals and addresses of one account.
#[derive(Debug, Clone)]
pub struct Identities {
    /// Account id.
    pub account: String,
    /// Console users (they log in with MFA).
    pub admins: Vec<Principal>,
    /// The CI user (long-term key).
    pub ci: Principal,
    /// Other IAM users by name.
    pub others: Vec<Principal>,
    /// Root.
    pub root: Principal,
    /// Instance-role sessions (one per instance).
    pub instance_roles: Vec<Principal>,
    /// Inventory Lambda role session.
    pub automation: Principal,
    /// AWS Config service-linked role session.
    pub config: Principal,
    /// NAT gateway public address per region.
    pub nat: Vec<(String, String)>,
    /// Office egress address.
    pub office: String,
    /// CI runner address.
    pub ci_ip: String,
}

impl Identities {
    /// Principals for `account`; `instances` are `(role name, instance id)`.
    pub fn new(
        rng: &mut Rng,
        account: &str,
        regions: &[&str],
        instances: &[(String, String)],
        others: &[&str],
    ) -> Self {
        let admins = vec![
            Principal::user(rng, account, "alice"),
            Principal::user(rng, account, "bob"),
        ];
        let ci = Principal::user(rng, account, "ci-deployer");
        let others = others
            .iter()
            .map(|n| Principal::user(rng, account, n))
            .collect();
        let root = Principal::root(rng, account);
        let instance_roles = instances
            .iter()
            .map(|(role, id)| Principal::role(rng, account, &format!("{role}-instance-role"), id))
            .collect();
        let automation = Principal::role(rng, account, "ops-inventory-lambda", "ops-inventory");
        let config = Principal::role(
            rng,
            account,
            "AWSServiceRoleForConfig",
            "AWSConfig-Describe",
        );
        let nat = regions
            .iter()
            .map(|r| (r.to_string(), ip_str(rng.public_ipv4())))
            .collect();
        Self {
            account: account.to_string(),
            admins,
            ci,
            others,
            root,
            instance_roles,
            automation,
            config,
            nat,
            office: "203.0.113.10".to_string(),
            ci_ip: ip_str(crate::fleet::ip(140, 82, 112, 0) | rng.below(256) as u32),
        }
    }

    /// A user (admin, CI or other) by name.
    pub fn user(&self, name: &str) -> Option<&Principal> {
        self.admins
            .iter()
            .chain(std::iter::once(&self.ci))
            .chain(&self.others)
            .find(|p| p.name == name)
    }

    /// The NAT address for a region.
    pub fn nat_ip(&self, region: &str) -> String {
        self.nat
            .iter()
            .find(|(r, _)| r == region)
            .map(|(_, ip)| ip.clone())
            .unwrap_or_default()
    }
}

const SDK_UA: &[&str] = &[
    "aws-sdk-go-v2/1.32.6 os/linux lang/go#1.23.4 md/GOOS#linux md/GOARCH#amd64 api/ssm#1.56.1",
    "Boto3/1.35.90 md/Botocore#1.35.90 ua/2.0 os/linux#5.10.230 md/arch#x86_64 lang/python#3.12.8 exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.35.90",
    "aws-sdk-java/2.29.43 Linux/6.1.119 OpenJDK_64-Bit_Server_VM/21.0.5+11-LTS Java/21.0.5 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/legacy",
];

/// Ordinary events for one account and region in `[t0, t1)`, `per_hour_centi` on average per
/// hour in hundredths (shaped by time of day). Console sign-ins are handled by the caller.
pub fn background(
    rng: &mut Rng,
    ids: &Identities,
    region: &str,
    t0: i64,
    t1: i64,
    per_hour_centi: u64,
    utc_offset_h: i64,
) -> Vec<Event> {
    let local = hour_of_day(t0 + utc_offset_h * 3600) as usize;
    let work = (8..19).contains(&local);
    let rate = per_hour_centi * crate::traffic::DIURNAL[local] / 100 * ((t1 - t0) as u64) / 3600;
    let n = rng.count(rate);
    mix(rng, ids, region, t0, t1, n, work)
}

/// Exactly `n` ordinary events in `[t0, t1)`; `work` adds console users' and CI activity.
pub fn mix(
    rng: &mut Rng,
    ids: &Identities,
    region: &str,
    t0: i64,
    t1: i64,
    n: u64,
    work: bool,
) -> Vec<Event> {
    let nat = ids.nat_ip(region);
    let acct = ids.account.as_str();
    let mut out = Vec::with_capacity(n as usize);
    for _ in 0..n {
        let t = t0 + rng.below((t1 - t0).max(1) as u64) as i64;
        let kind = rng.weighted(&[
            30,
            14,
            14,
            10,
            8,
            6,
            6,
            if work { 12 } else { 0 },
            if work { 6 } else { 0 },
        ]);
        let e = match kind {
            0 if !ids.instance_roles.is_empty() => {
                let who = rng.pick(&ids.instance_roles).clone();
                let id = match &who.kind {
                    PrincipalKind::AssumedRole { session, .. } => session.clone(),
                    _ => String::new(),
                };
                Event::api(rng, t, &who, Some((t - 3600, false)), "ssm.amazonaws.com", "UpdateInstanceInformation", region, &nat, SDK_UA[0])
                    .req(J::obj([
                        ("instanceId", J::s(id)),
                        ("agentVersion", J::s("3.3.1142.0")),
                        ("agentStatus", J::s("Active")),
                        ("platformType", J::s("Linux")),
                        ("platformName", J::s("Amazon Linux")),
                        ("platformVersion", J::s("2023")),
                    ]))
            }
            1 if !ids.instance_roles.is_empty() => {
                let who = rng.pick(&ids.instance_roles).clone();
                let svc = Principal::service(acct, "ec2.amazonaws.com");
                let (role, session) = match &who.kind {
                    PrincipalKind::AssumedRole { role, session, .. } => (role.clone(), session.clone()),
                    _ => (String::new(), String::new()),
                };
                let mut e = Event::api(rng, t, &svc, None, "sts.amazonaws.com", "AssumeRole", region, "ec2.amazonaws.com", "ec2.amazonaws.com")
                    .req(J::obj([
                        ("roleArn", J::s(format!("arn:aws:iam::{acct}:role/{role}"))),
                        ("roleSessionName", J::s(session)),
                    ]))
                    .resp(J::obj([(
                        "credentials",
                        J::obj([
                            ("accessKeyId", J::s(who.access_key.clone())),
                            ("sessionToken", J::s("IQoJb3JpZ2luX2VjEXAMPLETOKEN")),
                            ("expiration", J::s(rfc3339(t + 6 * 3600))),
                        ]),
                    )]));
                e.read_only = true;
                e.resources = Some(J::Arr(vec![J::obj([
                    ("accountId", J::s(acct)),
                    ("type", J::s("AWS::IAM::Role")),
                    ("ARN", J::s(format!("arn:aws:iam::{acct}:role/{role}"))),
                ])]));
                e
            }
            2 if !ids.instance_roles.is_empty() => {
                let who = rng.pick(&ids.instance_roles).clone();
                let key = format!("arn:aws:kms:{region}:{acct}:key/{}", rng.uuid());
                let mut e = Event::api(rng, t, &who, Some((t - 1800, false)), "kms.amazonaws.com", "Decrypt", region, &nat, SDK_UA[2])
                    .req(J::obj([("encryptionAlgorithm", J::s("SYMMETRIC_DEFAULT"))]));
                e.read_only = true;
                e.resources = Some(J::Arr(vec![J::obj([
                    ("accountId", J::s(acct)),
                    ("type", J::s("AWS::KMS::Key")),
                    ("ARN", J::s(key)),
                ])]));
                e
            }
            3 => Event::api(rng, t, &ids.automation, Some((t - 600, false)), "ec2.amazonaws.com", "DescribeInstances", region, &nat, SDK_UA[1])
                .req(J::obj([("instancesSet", J::obj([])), ("filterSet", J::obj([]))])),
            4 => {
                let name = *rng.pick(&["GetBucketAcl", "GetBucketPolicy", "GetBucketEncryption", "ListBuckets"]);
                let mut e = Event::api(rng, t, &ids.config, Some((t - 900, false)), "s3.amazonaws.com", name, region, "config.amazonaws.com", "config.amazonaws.com");
                if name != "ListBuckets" {
                    e.request = J::obj([
                        ("bucketName", J::s(format!("{acct}-app-artifacts"))),
                        ("Host", J::s(format!("{acct}-app-artifacts.s3.{region}.amazonaws.com"))),
                    ]);
                }
                e
            }
            5 => {
                let mut e = Event::api(rng, t, &ids.automation, Some((t - 600, false)), "logs.amazonaws.com", "CreateLogStream", region, &nat, SDK_UA[1])
                    .req(J::obj([
                        ("logGroupName", J::s("/aws/lambda/ops-inventory")),
                        ("logStreamName", J::s(format!("2026/01/01/[$LATEST]{}", rng.hex(32)))),
                    ]));
                e.read_only = false;
                e
            }
            6 => Event::api(rng, t, &ids.ci, None, "sts.amazonaws.com", "GetCallerIdentity", region, &ids.ci_ip, "aws-cli/2.22.26 md/awscrt#0.23.4 ua/2.0 os/linux#6.8.0-1017-azure md/arch#x86_64 lang/python#3.12.6 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe command/sts.get-caller-identity"),
            7 => {
                let who = rng.pick(&ids.admins).clone();
                let name = *rng.pick(&["DescribeInstances", "DescribeSecurityGroups", "DescribeVpcs", "GetMetricData", "ListFunctions20150331"]);
                let source = match name {
                    "GetMetricData" => "monitoring.amazonaws.com",
                    "ListFunctions20150331" => "lambda.amazonaws.com",
                    _ => "ec2.amazonaws.com",
                };
                Event::api(rng, t, &who, Some((t - 1200, true)), source, name, region, &ids.office, "AWS Internal")
            }
            _ => Event::api(rng, t, &ids.ci, None, "cloudformation.amazonaws.com", "DescribeStacks", region, &ids.ci_ip, "aws-cli/2.22.26 md/awscrt#0.23.4 ua/2.0 os/linux#6.8.0-1017-azure md/arch#x86_64 lang/python#3.12.6 command/cloudformation.describe-stacks")
                .req(J::obj([("stackName", J::s("app-stack"))])),
        };
        out.push(e);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_json_has_aws_fields_in_order() {
        let mut rng = Rng::new(9);
        let who = Principal::role(
            &mut rng,
            "012345678901",
            "app-instance-role",
            "i-0123456789abcdef0",
        );
        let e = Event::api(
            &mut rng,
            1_767_657_600,
            &who,
            Some((1_767_650_000, false)),
            "ec2.amazonaws.com",
            "DescribeVpcs",
            "us-east-1",
            "3.3.3.3",
            "ua",
        );
        let text = e.to_json().to_json();
        assert!(
            text.starts_with(
                "{\"eventVersion\":\"1.09\",\"userIdentity\":{\"type\":\"AssumedRole\""
            ),
            "{text}"
        );
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(v["eventTime"], "2026-01-06T00:00:00Z");
        assert_eq!(v["readOnly"], true);
        assert_eq!(
            v["userIdentity"]["sessionContext"]["sessionIssuer"]["userName"],
            "app-instance-role"
        );
        assert_eq!(v["recipientAccountId"], "012345678901");
        assert_eq!(v["eventCategory"], "Management");
    }

    #[test]
    fn console_login_without_mfa() {
        let mut rng = Rng::new(9);
        let who = Principal::user(&mut rng, "012345678901", "dev");
        let e = console_login(&mut rng, 0, &who, "us-east-1", "1.2.3.4", false, true);
        let v: serde_json::Value = serde_json::from_str(&e.to_json().to_json()).unwrap_or_default();
        assert_eq!(v["additionalEventData"]["MFAUsed"], "No");
        assert_eq!(v["responseElements"]["ConsoleLogin"], "Success");
        assert_eq!(v["eventType"], "AwsConsoleSignIn");
        assert!(v.get("requestID").is_none());
    }
}
