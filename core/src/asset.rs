//! What flowtrail knows of the machine behind a network interface: the instance, its subnet,
//! VPC, security groups, image, instance profile and tags, with when that was first and last
//! seen. Built from what flowtrail already reads (CloudTrail `RunInstances`,
//! `CreateNetworkInterface`, tag calls, and flow records of formats that carry instance ids),
//! it lets an alert on an ENI or an address name the instance an analyst would look for.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The known context of one interface or instance. Every field may be unknown.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Asset {
    /// EC2 instance id (`i-…`).
    #[serde(default)]
    pub instance_id: Option<String>,
    /// Network interface id (`eni-…`).
    #[serde(default)]
    pub eni_id: Option<String>,
    /// Primary private address of the interface.
    #[serde(default)]
    pub private_ip: Option<String>,
    /// Subnet id.
    #[serde(default)]
    pub subnet_id: Option<String>,
    /// VPC id.
    #[serde(default)]
    pub vpc_id: Option<String>,
    /// Security group ids.
    #[serde(default)]
    pub security_groups: Vec<String>,
    /// AMI id.
    #[serde(default)]
    pub image_id: Option<String>,
    /// Instance profile ARN or name.
    #[serde(default)]
    pub instance_profile: Option<String>,
    /// Tags (`Name`, `env`, …).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// RFC 3339 UTC: when this context was first seen (for an interface: when its attachment
    /// to `instance_id` began; for an instance known only from its launch: the launch).
    #[serde(default)]
    pub first_seen: Option<String>,
    /// RFC 3339 UTC: the newest evidence of this context (a flow record or a CloudTrail call).
    #[serde(default)]
    pub last_seen: Option<String>,
    /// Where the context comes from: `cloudtrail`, `flow_log`, or `cloudtrail+flow_log`.
    #[serde(default)]
    pub source: Option<String>,
}
