//! The mutating calls, one per [`Step`]. Only called outside dry run, after the plan was made
//! from a fresh view of the instance.

use aws_sdk_ec2::types::{IpPermission, IpRange, ResourceType, Tag, TagSpecification};
use serde_json::{Value, json};

use crate::RespondError;
use crate::aws::Clients;
use crate::plan::{GroupRef, ISOLATED_TAG, QUARANTINE_TAG, Step};

fn tag(k: &str, v: &str) -> Tag {
    Tag::builder().key(k).value(v).build()
}

/// Apply one step to `instance`; returns details for the follow-up alert. A group created by a
/// `CreateQuarantineGroup` step is remembered in `created` for the `Quarantine` steps after it.
pub async fn apply(
    c: &Clients,
    instance: &str,
    alert_id: &str,
    step: &Step,
    created: &mut Option<String>,
) -> Result<Value, RespondError> {
    match step {
        Step::Tag { key, value } => {
            c.ec2
                .create_tags()
                .resources(instance)
                .tags(tag(key, value))
                .send()
                .await
                .map_err(|e| RespondError::aws("CreateTags", instance, e))?;
            Ok(json!({ "tag": { key: value } }))
        }
        Step::DetachFromAsg { group } => detach_from_asg(c, instance, group).await,
        Step::CreateQuarantineGroup { vpc_id, name } => {
            let group = create_quarantine_group(c, vpc_id, name).await?;
            *created = Some(group.clone());
            Ok(json!({ "group_id": group, "vpc_id": vpc_id, "name": name }))
        }
        Step::Quarantine { target, from, to } => {
            let group = match to {
                GroupRef::Existing(g) => g.clone(),
                GroupRef::ToCreate => created.clone().ok_or_else(|| RespondError::Aws {
                    op: "ModifyInstanceAttribute",
                    target: target.clone(),
                    retryable: false,
                    reason: "the quarantine group was not created".into(),
                })?,
            };
            set_groups(c, target, &group).await?;
            Ok(json!({ "target": target, "groups_before": from, "groups_after": [group] }))
        }
        Step::Snapshot { volume_id } => snapshot(c, instance, alert_id, volume_id).await,
    }
}

/// Take `instance` out of its Auto Scaling group, keeping the desired capacity (a
/// replacement starts).
async fn detach_from_asg(c: &Clients, instance: &str, group: &str) -> Result<Value, RespondError> {
    let out = c
        .autoscaling
        .detach_instances()
        .auto_scaling_group_name(group)
        .instance_ids(instance)
        .should_decrement_desired_capacity(false)
        .send()
        .await
        .map_err(|e| RespondError::aws("DetachInstances", instance, e))?;
    let activities: Vec<&str> = out
        .activities()
        .iter()
        .filter_map(|a| a.activity_id())
        .collect();
    Ok(json!({ "group": group, "desired_capacity_kept": true, "activities": activities }))
}

/// Create the quarantine group in `vpc_id`, tagged, with no ingress and (its default egress
/// rule revoked) no egress. Returns its id.
async fn create_quarantine_group(
    c: &Clients,
    vpc_id: &str,
    name: &str,
) -> Result<String, RespondError> {
    let out = c
        .ec2
        .create_security_group()
        .group_name(name)
        .vpc_id(vpc_id)
        .description("flowtrail quarantine: no ingress, no egress")
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::SecurityGroup)
                .tags(tag(QUARANTINE_TAG, "true"))
                .build(),
        )
        .send()
        .await
        .map_err(|e| RespondError::aws("CreateSecurityGroup", vpc_id, e))?;
    let Some(group) = out.group_id().map(str::to_string) else {
        return Err(RespondError::Aws {
            op: "CreateSecurityGroup",
            target: vpc_id.to_string(),
            retryable: false,
            reason: "no group id in the response".into(),
        });
    };
    // A new group allows all egress: remove that rule.
    c.ec2
        .revoke_security_group_egress()
        .group_id(&group)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("-1")
                .ip_ranges(IpRange::builder().cidr_ip("0.0.0.0/0").build())
                .build(),
        )
        .send()
        .await
        .map_err(|e| RespondError::aws("RevokeSecurityGroupEgress", group.as_str(), e))?;
    Ok(group)
}

/// Replace the security groups of `target` (an instance, or an interface `eni-...`) with
/// `group` alone.
async fn set_groups(c: &Clients, target: &str, group: &str) -> Result<(), RespondError> {
    if target.starts_with("eni-") {
        c.ec2
            .modify_network_interface_attribute()
            .network_interface_id(target)
            .groups(group)
            .send()
            .await
            .map_err(|e| RespondError::aws("ModifyNetworkInterfaceAttribute", target, e))?;
    } else {
        c.ec2
            .modify_instance_attribute()
            .instance_id(target)
            .groups(group)
            .send()
            .await
            .map_err(|e| RespondError::aws("ModifyInstanceAttribute", target, e))?;
    }
    Ok(())
}

/// Snapshot a volume of `instance`, tagged with the alert that isolated it.
async fn snapshot(
    c: &Clients,
    instance: &str,
    alert_id: &str,
    volume_id: &str,
) -> Result<Value, RespondError> {
    let out = c
        .ec2
        .create_snapshot()
        .volume_id(volume_id)
        .description(format!(
            "flowtrail isolation of {instance} (alert {alert_id})"
        ))
        .tag_specifications(
            TagSpecification::builder()
                .resource_type(ResourceType::Snapshot)
                .tags(tag(ISOLATED_TAG, alert_id))
                .tags(tag("flowtrail:instance", instance))
                .build(),
        )
        .send()
        .await
        .map_err(|e| RespondError::aws("CreateSnapshot", volume_id, e))?;
    Ok(json!({ "volume_id": volume_id, "snapshot_id": out.snapshot_id() }))
}
