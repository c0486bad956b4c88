//! What an instance looks like now: its VPC, network interfaces and their groups, tags, EBS
//! volumes and Auto Scaling membership, from describe calls only. The plan is made from this
//! view, so a step already done (by an earlier delivery of the same alert, or by hand) is not
//! done again.

use std::collections::BTreeMap;

use aws_sdk_ec2::types::Filter;

use crate::RespondError;
use crate::aws::Clients;

/// One network interface and its security groups.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// `eni-…`.
    pub id: String,
    /// Group ids, in the order EC2 lists them.
    pub groups: Vec<String>,
}

/// Auto Scaling membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsgMembership {
    /// Group name.
    pub group: String,
    /// Lifecycle state (`InService`, `Detaching`, …).
    pub lifecycle: String,
}

/// An instance as the responder sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceView {
    /// `i-…`.
    pub id: String,
    /// Its VPC.
    pub vpc_id: Option<String>,
    /// `running`, `stopped`, `terminated`, …
    pub state: Option<String>,
    /// Its security groups (those of its primary network interface).
    pub groups: Vec<String>,
    /// Its network interfaces.
    pub interfaces: Vec<Interface>,
    /// Its tags.
    pub tags: BTreeMap<String, String>,
    /// Its EBS volume ids.
    pub volumes: Vec<String>,
    /// Its Auto Scaling group, if any.
    pub asg: Option<AsgMembership>,
    /// Volumes that already have a snapshot tagged by the responder.
    pub snapshotted: Vec<String>,
}

/// The instance an ENI is attached to.
pub async fn instance_of_eni(c: &Clients, eni: &str) -> Result<Option<String>, RespondError> {
    let out = c
        .ec2
        .describe_network_interfaces()
        .network_interface_ids(eni)
        .send()
        .await
        .map_err(|e| RespondError::aws("DescribeNetworkInterfaces", eni, e))?;
    Ok(out
        .network_interfaces()
        .first()
        .and_then(|n| n.attachment())
        .and_then(|a| a.instance_id())
        .map(str::to_string))
}

/// Describe `instance` (and, when `with_snapshots`, its responder snapshots).
pub async fn describe(
    c: &Clients,
    instance: &str,
    with_snapshots: bool,
    tag_key: &str,
) -> Result<InstanceView, RespondError> {
    let out = c
        .ec2
        .describe_instances()
        .instance_ids(instance)
        .send()
        .await
        .map_err(|e| RespondError::aws("DescribeInstances", instance, e))?;
    let Some(i) = out
        .reservations()
        .iter()
        .flat_map(|r| r.instances())
        .find(|i| i.instance_id() == Some(instance))
    else {
        return Err(RespondError::NoInstance(instance.to_string()));
    };
    let interfaces = i
        .network_interfaces()
        .iter()
        .filter_map(|n| {
            Some(Interface {
                id: n.network_interface_id()?.to_string(),
                groups: n
                    .groups()
                    .iter()
                    .filter_map(|g| g.group_id().map(str::to_string))
                    .collect(),
            })
        })
        .collect();
    let tags = i
        .tags()
        .iter()
        .filter_map(|t| Some((t.key()?.to_string(), t.value().unwrap_or("").to_string())))
        .collect();
    let volumes: Vec<String> = i
        .block_device_mappings()
        .iter()
        .filter_map(|b| b.ebs().and_then(|e| e.volume_id()).map(str::to_string))
        .collect();
    let mut view = InstanceView {
        id: instance.to_string(),
        vpc_id: i.vpc_id().map(str::to_string),
        state: i
            .state()
            .and_then(|s| s.name())
            .map(|n| n.as_str().to_string()),
        groups: i
            .security_groups()
            .iter()
            .filter_map(|g| g.group_id().map(str::to_string))
            .collect(),
        interfaces,
        tags,
        volumes,
        asg: None,
        snapshotted: Vec::new(),
    };
    let asg = c
        .autoscaling
        .describe_auto_scaling_instances()
        .instance_ids(instance)
        .send()
        .await
        .map_err(|e| RespondError::aws("DescribeAutoScalingInstances", instance, e))?;
    view.asg = asg.auto_scaling_instances().iter().find_map(|d| {
        Some(AsgMembership {
            group: d.auto_scaling_group_name()?.to_string(),
            lifecycle: d.lifecycle_state().unwrap_or("").to_string(),
        })
    });
    if with_snapshots && !view.volumes.is_empty() {
        let snaps = c
            .ec2
            .describe_snapshots()
            .owner_ids("self")
            .filters(
                Filter::builder()
                    .name("volume-id")
                    .set_values(Some(view.volumes.clone()))
                    .build(),
            )
            .filters(Filter::builder().name("tag-key").values(tag_key).build())
            .send()
            .await
            .map_err(|e| RespondError::aws("DescribeSnapshots", instance, e))?;
        let mut done: Vec<String> = snaps
            .snapshots()
            .iter()
            .filter(|s| s.tags().iter().any(|t| t.key() == Some(tag_key)))
            .filter_map(|s| s.volume_id().map(str::to_string))
            .collect();
        done.sort();
        done.dedup();
        view.snapshotted = done;
    }
    Ok(view)
}

/// The quarantine group of `vpc`: from the configuration, else an existing group named
/// `name` in the VPC. `None` when it has to be created.
pub async fn find_quarantine_group(
    c: &Clients,
    configured: Option<&String>,
    vpc: &str,
    name: &str,
) -> Result<Option<String>, RespondError> {
    if let Some(g) = configured {
        return Ok(Some(g.clone()));
    }
    let out = c
        .ec2
        .describe_security_groups()
        .filters(Filter::builder().name("vpc-id").values(vpc).build())
        .filters(Filter::builder().name("group-name").values(name).build())
        .send()
        .await
        .map_err(|e| RespondError::aws("DescribeSecurityGroups", vpc, e))?;
    Ok(out
        .security_groups()
        .iter()
        .find(|g| g.group_name() == Some(name) && g.vpc_id() == Some(vpc))
        .and_then(|g| g.group_id())
        .map(str::to_string))
}
