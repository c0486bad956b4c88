//! The isolation plan: the steps still needed for one instance, from what it looks like now
//! ([`crate::target::InstanceView`]). Pure, so every rule of idempotence is tested without AWS:
//! a tagged instance is not tagged again, an instance out of its group is not detached again,
//! interfaces already in only the quarantine group are left alone, a volume with a responder
//! snapshot is not snapshotted again.
//!
//! Order matters: tag first (marks the instance as evidence), then detach from the Auto Scaling
//! group (so its health checks cannot terminate the instance once its traffic stops), then the
//! quarantine group, then snapshots.

use serde::Serialize;

use crate::target::InstanceView;

/// The tag the responder puts on the instances it isolates (value: the alert id) and on its
/// snapshots.
pub const ISOLATED_TAG: &str = "flowtrail:isolated";
/// The tag on quarantine groups the responder creates (the IAM policy scopes by it).
pub const QUARANTINE_TAG: &str = "flowtrail:quarantine";

/// Where the quarantine group comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupRef {
    /// An existing group.
    Existing(String),
    /// The group the plan's `CreateQuarantineGroup` step creates.
    ToCreate,
}

/// One isolation step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Step {
    /// Tag the instance `flowtrail:isolated=<alert id>`.
    Tag {
        /// Tag key.
        key: String,
        /// Tag value.
        value: String,
    },
    /// Detach from the Auto Scaling group, keeping its desired capacity.
    DetachFromAsg {
        /// The group.
        group: String,
    },
    /// Create the VPC's quarantine group (no ingress, no egress).
    CreateQuarantineGroup {
        /// The VPC.
        vpc_id: String,
        /// Its name.
        name: String,
    },
    /// Replace the groups of the instance (one network interface: `ModifyInstanceAttribute`)
    /// or of one of its interfaces (several: `ModifyNetworkInterfaceAttribute` each, as EC2
    /// refuses instance-level group changes then) with the quarantine group.
    Quarantine {
        /// The instance (`i-…`) or interface (`eni-…`).
        target: String,
        /// Its groups before.
        from: Vec<String>,
        /// The quarantine group.
        to: GroupRef,
    },
    /// Snapshot a volume.
    Snapshot {
        /// The volume.
        volume_id: String,
    },
}

impl Step {
    /// The action name used in follow-up alerts.
    pub fn name(&self) -> &'static str {
        match self {
            Step::Tag { .. } => "tag",
            Step::DetachFromAsg { .. } => "detach_from_asg",
            Step::CreateQuarantineGroup { .. } => "create_quarantine_group",
            Step::Quarantine { .. } => "quarantine",
            Step::Snapshot { .. } => "snapshot",
        }
    }

    /// What the step acts on.
    pub fn target<'a>(&'a self, instance: &'a str) -> &'a str {
        match self {
            Step::Tag { .. } => instance,
            Step::DetachFromAsg { group } => group,
            Step::CreateQuarantineGroup { vpc_id, .. } => vpc_id,
            Step::Quarantine { target, .. } => target,
            Step::Snapshot { volume_id } => volume_id,
        }
    }
}

/// What the planner is told besides the view.
#[derive(Debug, Clone)]
pub struct PlanInput<'a> {
    /// The source alert's id (the tag value).
    pub alert_id: &'a str,
    /// The quarantine group, when one exists.
    pub quarantine_group: Option<&'a str>,
    /// The name of a group to create when none exists; `None`: do not create.
    pub create_group_named: Option<&'a str>,
    /// Detach from the Auto Scaling group.
    pub detach_from_asg: bool,
    /// Snapshot volumes.
    pub snapshot: bool,
}

/// Why an instance cannot be isolated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Terminated or shutting down: nothing to isolate.
    Gone(String),
    /// Not in a VPC, or no group to use and creating one is off.
    NoQuarantineGroup,
}

/// The steps still needed to isolate `view`.
pub fn plan(view: &InstanceView, p: &PlanInput<'_>) -> Result<Vec<Step>, Refusal> {
    if let Some(s) = view
        .state
        .as_deref()
        .filter(|s| matches!(*s, "terminated" | "shutting-down"))
    {
        return Err(Refusal::Gone(s.to_string()));
    }
    let mut steps = Vec::new();
    if !view.tags.contains_key(ISOLATED_TAG) {
        steps.push(Step::Tag {
            key: ISOLATED_TAG.into(),
            value: p.alert_id.into(),
        });
    }
    if p.detach_from_asg
        && let Some(m) = &view.asg
        && !matches!(m.lifecycle.as_str(), "Detaching" | "Detached")
    {
        steps.push(Step::DetachFromAsg {
            group: m.group.clone(),
        });
    }
    let to = match (p.quarantine_group, p.create_group_named, &view.vpc_id) {
        (Some(g), _, _) => GroupRef::Existing(g.to_string()),
        (None, Some(name), Some(vpc)) => {
            steps.push(Step::CreateQuarantineGroup {
                vpc_id: vpc.clone(),
                name: name.to_string(),
            });
            GroupRef::ToCreate
        }
        _ => return Err(Refusal::NoQuarantineGroup),
    };
    let targets: Vec<(&String, &Vec<String>)> = if view.interfaces.len() <= 1 {
        vec![(&view.id, &view.groups)]
    } else {
        view.interfaces.iter().map(|i| (&i.id, &i.groups)).collect()
    };
    for (target, groups) in targets {
        let done = matches!(&to, GroupRef::Existing(g) if *groups == [g.clone()]);
        if !done {
            steps.push(Step::Quarantine {
                target: target.clone(),
                from: groups.clone(),
                to: to.clone(),
            });
        }
    }
    if p.snapshot {
        for v in &view.volumes {
            if !view.snapshotted.contains(v) {
                steps.push(Step::Snapshot {
                    volume_id: v.clone(),
                });
            }
        }
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::target::{AsgMembership, Interface};

    fn view() -> InstanceView {
        InstanceView {
            id: "i-1".into(),
            vpc_id: Some("vpc-1".into()),
            state: Some("running".into()),
            groups: vec!["sg-app".into()],
            interfaces: vec![
                Interface {
                    id: "eni-1".into(),
                    groups: vec!["sg-app".into()],
                },
                Interface {
                    id: "eni-2".into(),
                    groups: vec!["sg-q".into()],
                },
            ],
            tags: Default::default(),
            volumes: vec!["vol-1".into(), "vol-2".into()],
            asg: Some(AsgMembership {
                group: "app-asg".into(),
                lifecycle: "InService".into(),
            }),
            snapshotted: vec!["vol-2".into()],
        }
    }

    fn input(group: Option<&'static str>) -> PlanInput<'static> {
        PlanInput {
            alert_id: "alert-1",
            quarantine_group: group,
            create_group_named: Some("flowtrail-quarantine"),
            detach_from_asg: true,
            snapshot: true,
        }
    }

    #[test]
    fn a_fresh_instance_gets_every_step_in_order() {
        let steps = plan(&view(), &input(Some("sg-q"))).unwrap_or_default();
        let names: Vec<&str> = steps.iter().map(Step::name).collect();
        assert_eq!(names, ["tag", "detach_from_asg", "quarantine", "snapshot"]);
        assert_eq!(steps[2].target("i-1"), "eni-1");
        assert_eq!(steps[3].target("i-1"), "vol-1");
        // One interface: the instance's own groups are changed.
        let mut one = view();
        one.interfaces.truncate(1);
        let steps = plan(&one, &input(Some("sg-q"))).unwrap_or_default();
        assert_eq!(
            steps[2],
            Step::Quarantine {
                target: "i-1".into(),
                from: vec!["sg-app".into()],
                to: GroupRef::Existing("sg-q".into())
            }
        );
        one.groups = vec!["sg-q".into()];
        let steps = plan(&one, &input(Some("sg-q"))).unwrap_or_default();
        assert!(!steps.iter().any(|s| s.name() == "quarantine"), "{steps:?}");
    }

    #[test]
    fn an_isolated_instance_needs_nothing() {
        let mut v = view();
        v.tags.insert(ISOLATED_TAG.into(), "alert-0".into());
        v.interfaces[0].groups = vec!["sg-q".into()];
        v.asg = None;
        v.snapshotted = v.volumes.clone();
        assert_eq!(plan(&v, &input(Some("sg-q"))), Ok(vec![]));
        // Detaching already under way counts as done.
        v.asg = Some(AsgMembership {
            group: "g".into(),
            lifecycle: "Detaching".into(),
        });
        assert_eq!(plan(&v, &input(Some("sg-q"))), Ok(vec![]));
    }

    #[test]
    fn a_missing_group_is_created_first_or_refused() {
        let steps = plan(&view(), &input(None)).unwrap_or_default();
        let names: Vec<&str> = steps.iter().map(Step::name).collect();
        assert_eq!(
            names,
            [
                "tag",
                "detach_from_asg",
                "create_quarantine_group",
                "quarantine",
                "quarantine",
                "snapshot"
            ]
        );
        let mut no_create = input(None);
        no_create.create_group_named = None;
        assert_eq!(plan(&view(), &no_create), Err(Refusal::NoQuarantineGroup));
        let mut gone = view();
        gone.state = Some("terminated".into());
        assert_eq!(
            plan(&gone, &input(Some("sg-q"))),
            Err(Refusal::Gone("terminated".into()))
        );
    }
}
