//! CloudTrail decode throughput: one `{"Records":[...]}` document of 20,000 realistic events
//! (EC2 Describe*, sts:AssumeRole, ConsoleLogin, AuthorizeSecurityGroupIngress with nested
//! `requestParameters`), generated deterministically in memory, decoded into Arrow batches.
//!
//! `cargo bench -p flowtrail-ingest --bench cloudtrail_decode -- --warm-up-time 1 --measurement-time 5`

use std::hint::black_box;

use arrow::record_batch::RecordBatch;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flowtrail_ingest::IngestError;
use flowtrail_ingest::decode::cloudtrail::{CloudTrailOptions, decode_cloudtrail};
use flowtrail_ingest::sink::DecodeSink;
use flowtrail_lake::quarantine::QuarantineRecord;
use serde_json::{Value, json};

const EVENTS: usize = 20_000;
const KEY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/01/08/111122223333_CloudTrail_us-east-1_20260108T1005Z_bench.json.gz";

/// xorshift64: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(len);
        s
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

const ACCOUNTS: &[&str] = &["111122223333", "444455556666", "012345678901"];
const REGIONS: &[&str] = &["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-2"];
const ROLES: &[&str] = &[
    "Admin",
    "ReadOnly",
    "ci-deploy",
    "AWSServiceRoleForAutoScaling",
    "lambda-exec",
];
const AGENTS: &[&str] = &[
    "aws-cli/2.15.30 md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0 md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe sid/d1a8e3 md/prompt#off md/command#ec2.describe-instances",
    "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#5.10.209-198.858.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.51",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
    "autoscaling.amazonaws.com",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.149.1",
];

fn ip(r: &mut Rng) -> String {
    format!(
        "{}.{}.{}.{}",
        1 + r.below(223),
        r.below(256),
        r.below(256),
        1 + r.below(254)
    )
}

fn assumed_role(r: &mut Rng, account: &str) -> Value {
    let role = r.pick(ROLES);
    let session = format!("session-{}", r.hex(8));
    json!({
        "type": "AssumedRole",
        "principalId": format!("AROA{}:{session}", r.hex(16).to_uppercase()),
        "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/{session}"),
        "accountId": account,
        "accessKeyId": format!("ASIA{}", r.hex(16).to_uppercase()),
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": format!("AROA{}", r.hex(16).to_uppercase()),
                "arn": format!("arn:aws:iam::{account}:role/{role}"),
                "accountId": account,
                "userName": role
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "2026-01-08T09:41:07Z", "mfaAuthenticated": if r.below(4) == 0 { "true" } else { "false" }}
        }
    })
}

fn tls(region: &str, service: &str) -> Value {
    json!({"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
        "clientProvidedHostHeader": format!("{service}.{region}.amazonaws.com")})
}

fn event(r: &mut Rng, i: usize) -> Value {
    let account = r.pick(ACCOUNTS);
    let region = r.pick(REGIONS);
    let time = format!(
        "2026-01-08T{:02}:{:02}:{:02}Z",
        10 + i / 36_000 % 14,
        (i / 600) % 60,
        (i / 10) % 60
    );
    let mut ev = json!({
        "eventVersion": "1.09",
        "eventTime": time,
        "awsRegion": region,
        "sourceIPAddress": ip(r),
        "userAgent": r.pick(AGENTS),
        "requestID": format!("{}-{}-{}-{}-{}", r.hex(8), r.hex(4), r.hex(4), r.hex(4), r.hex(12)),
        "eventID": format!("{}-{}-{}-{}-{}", r.hex(8), r.hex(4), r.hex(4), r.hex(4), r.hex(12)),
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": account,
        "eventCategory": "Management",
    });
    let kind = r.below(10);
    let fields = match kind {
        // EC2 Describe* (the bulk of real trails).
        0..=4 => {
            let name = r.pick(&[
                "DescribeInstances",
                "DescribeSecurityGroups",
                "DescribeVolumes",
                "DescribeSubnets",
            ]);
            json!({
                "userIdentity": assumed_role(r, account),
                "eventSource": "ec2.amazonaws.com",
                "eventName": name,
                "requestParameters": {
                    "instancesSet": {},
                    "filterSet": {"items": [
                        {"name": "tag:Environment", "valueSet": {"items": [{"value": "production"}]}},
                        {"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}, {"value": "stopped"}]}}
                    ]},
                    "maxResults": 1000
                },
                "responseElements": null,
                "readOnly": true,
                "tlsDetails": tls(region, "ec2"),
            })
        }
        // sts:AssumeRole by a service.
        5..=6 => {
            let role = r.pick(ROLES);
            json!({
                "userIdentity": {"type": "AWSService", "invokedBy": "lambda.amazonaws.com"},
                "eventSource": "sts.amazonaws.com",
                "eventName": "AssumeRole",
                "requestParameters": {
                    "roleArn": format!("arn:aws:iam::{account}:role/{role}"),
                    "roleSessionName": format!("awslambda_{}", r.below(1_000_000)),
                    "durationSeconds": 3600
                },
                "responseElements": {
                    "credentials": {"accessKeyId": format!("ASIA{}", r.hex(16).to_uppercase()),
                        "sessionToken": r.hex(96), "expiration": "Jan 8, 2026, 11:05:00 AM"},
                    "assumedRoleUser": {"assumedRoleId": format!("AROA{}:awslambda", r.hex(16).to_uppercase()),
                        "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/awslambda")}
                },
                "readOnly": true,
                "resources": [{"accountId": account, "type": "AWS::IAM::Role", "ARN": format!("arn:aws:iam::{account}:role/{role}")}],
                "sharedEventID": format!("{}-{}", r.hex(8), r.hex(12)),
            })
        }
        // Console sign-in.
        7 => json!({
            "userIdentity": {"type": "IAMUser", "principalId": format!("AIDA{}", r.hex(16).to_uppercase()),
                "arn": format!("arn:aws:iam::{account}:user/alice"), "accountId": account, "userName": "alice"},
            "eventSource": "signin.amazonaws.com",
            "eventName": "ConsoleLogin",
            "eventType": "AwsConsoleSignIn",
            "requestParameters": null,
            "responseElements": {"ConsoleLogin": if r.below(5) == 0 { "Failure" } else { "Success" }},
            "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home?state=hashArgs",
                "MobileVersion": "No", "MFAIdentifier": format!("arn:aws:iam::{account}:mfa/alice"), "MFAUsed": "Yes"},
            "readOnly": false,
            "tlsDetails": tls(region, "signin"),
        }),
        // Security group change with nested ipPermissions.
        _ => json!({
            "userIdentity": assumed_role(r, account),
            "eventSource": "ec2.amazonaws.com",
            "eventName": "AuthorizeSecurityGroupIngress",
            "requestParameters": {
                "groupId": format!("sg-{}", r.hex(17)),
                "ipPermissions": {"items": [
                    {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "groups": {},
                     "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0", "description": "temp ssh"}]},
                     "ipv6Ranges": {}, "prefixListIds": {}},
                    {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "groups": {},
                     "ipRanges": {"items": [{"cidrIp": "10.0.0.0/8"}]}, "ipv6Ranges": {}, "prefixListIds": {}}
                ]}
            },
            "responseElements": {"requestId": r.hex(36), "_return": true, "securityGroupRuleSet": {"items": [
                {"groupOwnerId": account, "groupId": "sg-0abc", "securityGroupRuleId": format!("sgr-{}", r.hex(17)),
                 "isEgress": false, "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/0"}
            ]}},
            "readOnly": false,
            "tlsDetails": tls(region, "ec2"),
        }),
    };
    if let (Some(ev), Value::Object(fields)) = (ev.as_object_mut(), fields) {
        ev.extend(fields);
    }
    ev
}

fn document(n: usize) -> Vec<u8> {
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let events: Vec<Value> = (0..n).map(|i| event(&mut r, i)).collect();
    json!({ "Records": events }).to_string().into_bytes()
}

/// Counts rows and drops them (the lake writer's cost is not measured here).
#[derive(Default)]
struct CountSink {
    rows: usize,
    quarantined: usize,
}

impl DecodeSink for CountSink {
    fn batch(&mut self, batch: RecordBatch) -> Result<(), IngestError> {
        self.rows += batch.num_rows();
        Ok(())
    }

    fn quarantine(&mut self, _: QuarantineRecord) {
        self.quarantined += 1;
    }
}

fn bench(c: &mut Criterion) {
    let doc = document(EVENTS);
    let opts = CloudTrailOptions::default();
    let mut check = CountSink::default();
    let stats = decode_cloudtrail(KEY, &doc, &opts, &mut check);
    assert!(
        matches!(stats, Ok(s) if s.records == EVENTS as u64)
            && check.rows == EVENTS
            && check.quarantined == 0,
        "bench document does not decode cleanly: {stats:?}"
    );
    eprintln!(
        "cloudtrail_decode: {EVENTS} events, {} bytes, {} bytes/event",
        doc.len(),
        doc.len() / EVENTS
    );

    let mut g = c.benchmark_group("cloudtrail_decode");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.sample_size(20);
    g.bench_function("records_document", |b| {
        b.iter(|| {
            let mut sink = CountSink::default();
            let stats = decode_cloudtrail(KEY, black_box(&doc), &opts, &mut sink);
            black_box((stats.is_ok(), sink.rows))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
