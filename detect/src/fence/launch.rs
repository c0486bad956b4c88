//! Launches read from CloudTrail rows: `RunInstances` and `CreateNetworkInterface` that
//! succeeded, with the subnet, instance and network interfaces they created and the facts the
//! allow-list checks (image, instance profile, launch template, tags).
//!
//! The response (what was actually launched) wins over the request (what was asked for): an
//! Auto Scaling launch from a launch template names no image in its request, but every instance
//! in the response carries its `imageId`, `subnetId`, `iamInstanceProfile`, `tagSet` and
//! `networkInterfaceSet`. Rows whose JSON cannot be read give what could be read.

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::TimestampMillisecondType;
use serde_json::Value;

use flowtrail_core::schema::ACCOUNT_ID;
use flowtrail_core::schema::cloudtrail::col;

use super::config::LaunchFacts;

/// Which call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaunchKind {
    /// `RunInstances`.
    RunInstances,
    /// `CreateNetworkInterface`.
    CreateNetworkInterface,
}

impl LaunchKind {
    /// The CloudTrail event name.
    pub fn as_str(self) -> &'static str {
        match self {
            LaunchKind::RunInstances => "RunInstances",
            LaunchKind::CreateNetworkInterface => "CreateNetworkInterface",
        }
    }
}

/// One resource a launch created.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Launched {
    /// Instance id (`RunInstances` with a response).
    pub instance_id: Option<String>,
    /// Subnet it was placed in.
    pub subnet_id: Option<String>,
    /// Its network interfaces and their subnets.
    pub enis: Vec<(String, Option<String>)>,
    /// What the allow-list checks.
    pub facts: LaunchFacts,
}

/// One successful launch call.
#[derive(Debug, Clone, PartialEq)]
pub struct LaunchEvent {
    /// Which call.
    pub kind: LaunchKind,
    /// CloudTrail event id.
    pub event_id: Option<String>,
    /// Event time (ms).
    pub time_ms: i64,
    /// Account.
    pub account_id: Option<String>,
    /// Region.
    pub region: Option<String>,
    /// Who called: the caller ARN, the role it assumed, and the AWS service that called for it.
    pub callers: Vec<String>,
    /// What was created (at least one entry).
    pub resources: Vec<Launched>,
}

fn s<'a>(b: &'a RecordBatch, n: &str) -> Option<&'a StringArray> {
    b.column_by_name(n).and_then(|c| c.as_string_opt::<i32>())
}

fn get(a: Option<&StringArray>, i: usize) -> Option<&str> {
    a.and_then(|a| if a.is_null(i) { None } else { Some(a.value(i)) })
}

fn json(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

fn str_at(v: &Value, path: &[&str]) -> Option<String> {
    let mut cur = v;
    for p in path {
        cur = cur.get(p)?;
    }
    cur.as_str().map(str::to_string)
}

fn items<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(|s| s.get("items"))
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

fn tags_into(list: &[Value], out: &mut std::collections::BTreeMap<String, String>) {
    for t in list {
        if let Some(k) = str_at(t, &["key"]) {
            out.insert(k, str_at(t, &["value"]).unwrap_or_default());
        }
    }
}

fn profile(v: &Value) -> Option<String> {
    let p = v.get("iamInstanceProfile")?;
    str_at(p, &["arn"]).or_else(|| str_at(p, &["name"]))
}

fn run_instances(req: &Value, resp: &Value) -> Vec<Launched> {
    let mut asked = LaunchFacts {
        image_id: items(req, "instancesSet")
            .iter()
            .find_map(|i| str_at(i, &["imageId"]))
            .or_else(|| str_at(req, &["imageId"])),
        instance_profile: profile(req),
        launch_template: str_at(req, &["launchTemplate", "launchTemplateId"]),
        tags: Default::default(),
    };
    for spec in items(req, "tagSpecificationSet") {
        if str_at(spec, &["resourceType"]).is_none_or(|r| r == "instance")
            && let Some(list) = spec.get("tags").and_then(Value::as_array)
        {
            tags_into(list, &mut asked.tags);
        }
    }
    let asked_subnet = str_at(req, &["subnetId"]).or_else(|| {
        items(req, "networkInterfaceSet")
            .iter()
            .find_map(|n| str_at(n, &["subnetId"]))
    });
    let launched: Vec<Launched> = items(resp, "instancesSet")
        .iter()
        .map(|i| {
            let mut facts = asked.clone();
            if let Some(img) = str_at(i, &["imageId"]) {
                facts.image_id = Some(img);
            }
            if let Some(p) = profile(i) {
                facts.instance_profile = Some(p);
            }
            tags_into(items(i, "tagSet"), &mut facts.tags);
            let subnet_id = str_at(i, &["subnetId"]).or_else(|| asked_subnet.clone());
            let enis = items(i, "networkInterfaceSet")
                .iter()
                .filter_map(|n| {
                    let id = str_at(n, &["networkInterfaceId"])?;
                    Some((id, str_at(n, &["subnetId"]).or_else(|| subnet_id.clone())))
                })
                .collect();
            Launched {
                instance_id: str_at(i, &["instanceId"]),
                subnet_id,
                enis,
                facts,
            }
        })
        .collect();
    if launched.is_empty() {
        return vec![Launched {
            subnet_id: asked_subnet,
            facts: asked,
            ..Default::default()
        }];
    }
    launched
}

fn create_network_interface(req: &Value, resp: &Value) -> Launched {
    let ni = resp.get("networkInterface").unwrap_or(&Value::Null);
    let subnet_id = str_at(ni, &["subnetId"]).or_else(|| str_at(req, &["subnetId"]));
    let enis = str_at(ni, &["networkInterfaceId"])
        .map(|id| vec![(id, subnet_id.clone())])
        .unwrap_or_default();
    let mut facts = LaunchFacts::default();
    tags_into(items(ni, "tagSet"), &mut facts.tags);
    Launched {
        instance_id: None,
        subnet_id,
        enis,
        facts,
    }
}

/// The successful launches among CloudTrail rows.
pub fn launches(batches: &[RecordBatch]) -> Vec<LaunchEvent> {
    let mut out = Vec::new();
    for b in batches {
        let (name, err, req, resp) = (
            s(b, col::EVENT_NAME),
            s(b, col::ERROR_CODE),
            s(b, col::REQUEST_PARAMETERS),
            s(b, col::RESPONSE_ELEMENTS),
        );
        let (id, acct, region) = (s(b, col::EVENT_ID), s(b, ACCOUNT_ID), s(b, col::AWS_REGION));
        let (arn, issuer, by) = (
            s(b, col::USER_IDENTITY_ARN),
            s(b, col::SESSION_ISSUER_ARN),
            s(b, col::USER_IDENTITY_INVOKED_BY),
        );
        let time = b
            .column_by_name(col::EVENT_TIME)
            .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>());
        for i in 0..b.num_rows() {
            let kind = match get(name, i) {
                Some("RunInstances") => LaunchKind::RunInstances,
                Some("CreateNetworkInterface") => LaunchKind::CreateNetworkInterface,
                _ => continue,
            };
            if get(err, i).is_some() {
                continue;
            }
            let (rq, rs) = (json(get(req, i)), json(get(resp, i)));
            let resources = match kind {
                LaunchKind::RunInstances => run_instances(&rq, &rs),
                LaunchKind::CreateNetworkInterface => vec![create_network_interface(&rq, &rs)],
            };
            out.push(LaunchEvent {
                kind,
                event_id: get(id, i).map(str::to_string),
                time_ms: time.filter(|t| !t.is_null(i)).map_or(0, |t| t.value(i)),
                account_id: get(acct, i).map(str::to_string),
                region: get(region, i).map(str::to_string),
                callers: [get(arn, i), get(issuer, i), get(by, i)]
                    .into_iter()
                    .flatten()
                    .map(str::to_string)
                    .collect(),
                resources,
            });
        }
    }
    out.sort_by_key(|l| l.time_ms);
    out
}
