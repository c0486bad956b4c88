//! Inventory facts from CloudTrail rows: `RunInstances`, `CreateNetworkInterface`,
//! `AttachNetworkInterface`, `DetachNetworkInterface`, `TerminateInstances`, `CreateTags` and
//! `DeleteTags`. Failed calls and rows whose JSON is missing or malformed teach nothing (they
//! are skipped, never an error): the inventory is a best effort over what the trail says.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch, StringArray};
use arrow::datatypes::TimestampMillisecondType;
use serde_json::Value;

use flowtrail_core::schema::cloudtrail::col;
use flowtrail_core::schema::{ACCOUNT_ID, EVENT_TIME};

use super::model::{FROM_CLOUDTRAIL, IfaceFacts, Instance};

/// One change the trail reports.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// An instance launched, with its interfaces.
    Launch {
        /// Instance id.
        instance: String,
        /// What belongs to the instance.
        info: Instance,
        /// Its interfaces and their facts.
        enis: Vec<(String, IfaceFacts)>,
    },
    /// A new, unattached interface.
    CreateEni {
        /// Interface id.
        eni: String,
        /// Its facts.
        facts: IfaceFacts,
        /// Its tags.
        tags: BTreeMap<String, String>,
    },
    /// An interface attached to an instance.
    Attach {
        /// Interface id.
        eni: String,
        /// Instance id.
        instance: String,
        /// Facts (attachment id, place).
        facts: IfaceFacts,
    },
    /// An attachment ended.
    Detach {
        /// The attachment's id.
        attachment_id: String,
    },
    /// Instances terminated.
    Terminate {
        /// Instance ids.
        instances: Vec<String>,
    },
    /// Tags set (`value: Some`) or removed (`None`) on resources.
    Tags {
        /// Resource ids (`i-…`, `eni-…`; others are ignored).
        resources: Vec<String>,
        /// Keys and values.
        tags: Vec<(String, Option<String>)>,
    },
}

fn strs<'a>(b: &'a RecordBatch, n: &str) -> Option<&'a StringArray> {
    b.column_by_name(n).and_then(|c| c.as_string_opt::<i32>())
}

fn cell(a: Option<&StringArray>, i: usize) -> Option<&str> {
    a.and_then(|a| (!a.is_null(i)).then(|| a.value(i)))
}

fn s(v: &Value, k: &str) -> Option<String> {
    v.get(k)
        .and_then(Value::as_str)
        .filter(|x| !x.is_empty())
        .map(str::to_string)
}

fn items<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(|x| x.get("items"))
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

fn groups(v: &Value) -> Vec<String> {
    items(v, "groupSet")
        .iter()
        .filter_map(|g| s(g, "groupId"))
        .collect()
}

fn tag_list(list: &[Value]) -> Vec<(String, Option<String>)> {
    list.iter()
        .filter_map(|t| {
            let value = t.get("value").and_then(Value::as_str).unwrap_or_default();
            Some((s(t, "key")?, Some(value.to_string())))
        })
        .collect()
}

fn tags_of(v: &Value) -> BTreeMap<String, String> {
    tag_list(items(v, "tagSet"))
        .into_iter()
        .filter_map(|(k, v)| Some((k, v?)))
        .collect()
}

/// Tags of `resource_type` in a request's `tagSpecificationSet`.
fn spec_tags(req: &Value, resource_type: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for spec in items(req, "tagSpecificationSet") {
        if spec.get("resourceType").and_then(Value::as_str) == Some(resource_type) {
            let list = spec
                .get("tags")
                .and_then(Value::as_array)
                .map_or(&[][..], Vec::as_slice);
            out.extend(
                tag_list(list)
                    .into_iter()
                    .filter_map(|(k, v)| Some((k, v?))),
            );
        }
    }
    out
}

fn run_instances(req: &Value, resp: &Value, place: &IfaceFacts, t: i64) -> Vec<Change> {
    let req_tags = spec_tags(req, "instance");
    let mut out = Vec::new();
    for it in items(resp, "instancesSet") {
        let Some(instance) = s(it, "instanceId") else {
            continue;
        };
        let mut tags = req_tags.clone();
        tags.extend(tags_of(it));
        let info = Instance {
            account_id: place.account_id.clone(),
            region: place.region.clone(),
            private_ip: s(it, "privateIpAddress"),
            subnet_id: s(it, "subnetId").or_else(|| s(req, "subnetId")),
            vpc_id: s(it, "vpcId"),
            security_groups: groups(it),
            image_id: s(it, "imageId").or_else(|| s(req, "imageId")),
            instance_profile: it
                .get("iamInstanceProfile")
                .and_then(|p| s(p, "arn").or_else(|| s(p, "name"))),
            tags,
            launched: t,
            terminated_at: None,
            sources: FROM_CLOUDTRAIL,
        };
        let enis = items(it, "networkInterfaceSet")
            .iter()
            .filter_map(|n| {
                let eni = s(n, "networkInterfaceId")?;
                let groups = match groups(n) {
                    g if g.is_empty() => info.security_groups.clone(),
                    g => g,
                };
                let facts = IfaceFacts {
                    private_ip: s(n, "privateIpAddress"),
                    subnet_id: s(n, "subnetId").or_else(|| info.subnet_id.clone()),
                    vpc_id: s(n, "vpcId").or_else(|| info.vpc_id.clone()),
                    security_groups: groups,
                    attachment_id: n.get("attachment").and_then(|a| s(a, "attachmentId")),
                    ..place.clone()
                };
                Some((eni, facts))
            })
            .collect();
        out.push(Change::Launch {
            instance,
            info,
            enis,
        });
    }
    out
}

fn create_eni(resp: &Value, place: &IfaceFacts) -> Option<Change> {
    let n = resp.get("networkInterface")?;
    Some(Change::CreateEni {
        eni: s(n, "networkInterfaceId")?,
        facts: IfaceFacts {
            private_ip: s(n, "privateIpAddress"),
            subnet_id: s(n, "subnetId"),
            vpc_id: s(n, "vpcId"),
            security_groups: groups(n),
            ..place.clone()
        },
        tags: tags_of(n),
    })
}

fn instance_ids(v: &Value) -> Vec<String> {
    items(v, "instancesSet")
        .iter()
        .filter_map(|i| s(i, "instanceId"))
        .collect()
}

/// The change one successful event reports, if it is one the inventory follows.
pub fn change_of(name: &str, req: &Value, resp: &Value, place: &IfaceFacts, t: i64) -> Vec<Change> {
    match name {
        "RunInstances" => run_instances(req, resp, place, t),
        "CreateNetworkInterface" => create_eni(resp, place).into_iter().collect(),
        "AttachNetworkInterface" => match (s(req, "networkInterfaceId"), s(req, "instanceId")) {
            (Some(eni), Some(instance)) => vec![Change::Attach {
                eni,
                instance,
                facts: IfaceFacts {
                    attachment_id: s(resp, "attachmentId"),
                    ..place.clone()
                },
            }],
            _ => Vec::new(),
        },
        "DetachNetworkInterface" => s(req, "attachmentId")
            .map(|attachment_id| Change::Detach { attachment_id })
            .into_iter()
            .collect(),
        "TerminateInstances" => {
            let mut ids = instance_ids(resp);
            if ids.is_empty() {
                ids = instance_ids(req);
            }
            if ids.is_empty() {
                Vec::new()
            } else {
                vec![Change::Terminate { instances: ids }]
            }
        }
        "CreateTags" | "DeleteTags" => {
            let resources: Vec<String> = items(req, "resourcesSet")
                .iter()
                .filter_map(|r| s(r, "resourceId"))
                .collect();
            let mut tags = tag_list(items(req, "tagSet"));
            if name == "DeleteTags" {
                tags.iter_mut().for_each(|(_, v)| *v = None);
            }
            if resources.is_empty() || tags.is_empty() {
                Vec::new()
            } else {
                vec![Change::Tags { resources, tags }]
            }
        }
        _ => Vec::new(),
    }
}

/// Whether the inventory follows events of this name.
pub fn follows(name: &str) -> bool {
    matches!(
        name,
        "RunInstances"
            | "CreateNetworkInterface"
            | "AttachNetworkInterface"
            | "DetachNetworkInterface"
            | "TerminateInstances"
            | "CreateTags"
            | "DeleteTags"
    )
}

fn parse(text: Option<&str>) -> Value {
    text.and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or(Value::Null)
}

/// Every change in a batch of `cloudtrail` rows, with its event time (ms), in row order.
pub fn changes(b: &RecordBatch) -> Vec<(i64, Change)> {
    let Some(names) = strs(b, col::EVENT_NAME) else {
        return Vec::new();
    };
    let times = b
        .column_by_name(EVENT_TIME)
        .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>());
    let (err, req, resp) = (
        strs(b, col::ERROR_CODE),
        strs(b, col::REQUEST_PARAMETERS),
        strs(b, col::RESPONSE_ELEMENTS),
    );
    let (acct, recip, region) = (
        strs(b, ACCOUNT_ID),
        strs(b, col::RECIPIENT_ACCOUNT_ID),
        strs(b, col::AWS_REGION),
    );
    let mut out = Vec::new();
    for i in 0..b.num_rows() {
        let Some(name) = cell(Some(names), i).filter(|n| follows(n)) else {
            continue;
        };
        let Some(t) = times.and_then(|a| (!a.is_null(i)).then(|| a.value(i))) else {
            continue;
        };
        if cell(err, i).is_some_and(|e| !e.is_empty()) {
            continue;
        }
        let place = IfaceFacts {
            account_id: cell(recip, i).or(cell(acct, i)).map(str::to_string),
            region: cell(region, i).map(str::to_string),
            ..IfaceFacts::default()
        };
        let (rq, rs) = (parse(cell(req, i)), parse(cell(resp, i)));
        out.extend(
            change_of(name, &rq, &rs, &place, t)
                .into_iter()
                .map(|c| (t, c)),
        );
    }
    out
}
