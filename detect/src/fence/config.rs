//! The fence configuration: which subnets are watched and what may run in each (approved AMIs,
//! instance profiles, launch templates, tags, and who may create network interfaces there).
//!
//! TOML, unknown keys refused. The same type is the `[fence]` section of a service config file
//! and the whole of a `replay --fence FILE`:
//!
//! ```toml
//! warmup_hours = 24
//!
//! [[subnets]]
//! id = "subnet-0a1b2c3d4e5f60718"
//! name = "private-app"
//! amis = ["ami-0123456789abcdef0"]
//! instance_profiles = ["app-server"]          # name or ARN, `*` wildcards
//! tags = { "aws:autoscaling:groupName" = "app-asg" }
//! eni_creators = ["arn:aws:iam::*:role/aws-service-role/ecs.amazonaws.com/*"]
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use flowtrail_core::Severity;

use crate::DetectError;

/// What is watched and what is approved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FenceConfig {
    /// Hours, from the first flow seen in a watched subnet, during which the interfaces that talk
    /// there are learned as the existing population instead of being alerted on.
    pub warmup_hours: u32,
    /// Severity of `unexpected_resource` alerts.
    pub severity: Severity,
    /// The watched subnets. Subnets not listed here are never judged.
    pub subnets: Vec<SubnetFence>,
}

impl Default for FenceConfig {
    fn default() -> Self {
        Self {
            warmup_hours: 24,
            severity: Severity::High,
            subnets: Vec::new(),
        }
    }
}

/// One watched subnet and its allow-list.
///
/// A launch (`RunInstances`) in the subnet is approved when it meets *every* criterion that is
/// set (`amis`, `instance_profiles`, `launch_templates`, `tags`), and at least one is set: a
/// subnet with no criteria approves no launch. Within one list, any entry will do.
/// `CreateNetworkInterface` carries no image or role: it is approved when the caller (ARN, or
/// the AWS service that made the call) matches `eni_creators`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubnetFence {
    /// Subnet id (`subnet-…`).
    pub id: String,
    /// A name for humans, shown in alert titles.
    #[serde(default)]
    pub name: Option<String>,
    /// Approved image ids.
    #[serde(default)]
    pub amis: Vec<String>,
    /// Approved instance profiles: a name (`app-server`) or an ARN, `*` matches anything.
    #[serde(default)]
    pub instance_profiles: Vec<String>,
    /// Approved launch template ids (`lt-…`).
    #[serde(default)]
    pub launch_templates: Vec<String>,
    /// Tags an approved instance carries (every one, with this value; `*` for any value).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Who may create network interfaces here: caller ARNs or AWS service names
    /// (`lambda.amazonaws.com`), `*` wildcards.
    #[serde(default)]
    pub eni_creators: Vec<String>,
}

/// What a launch in a watched subnet looked like, for the allow-list check.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LaunchFacts {
    /// Image id.
    pub image_id: Option<String>,
    /// Instance profile ARN or name.
    pub instance_profile: Option<String>,
    /// Launch template id.
    pub launch_template: Option<String>,
    /// Tags on the instance.
    pub tags: BTreeMap<String, String>,
}

impl FenceConfig {
    /// Parse TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, DetectError> {
        let c: FenceConfig = toml::from_str(text).map_err(|e| DetectError::Config {
            path: origin.to_path_buf(),
            reason: e.to_string(),
        })?;
        c.validate(origin)?;
        Ok(c)
    }

    /// Read and parse a TOML file.
    pub fn load(path: &Path) -> Result<Self, DetectError> {
        let text = std::fs::read_to_string(path).map_err(|source| DetectError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, path)
    }

    /// Refuse what cannot be meant: a subnet listed twice or an id that is not a subnet id.
    pub fn validate(&self, origin: &Path) -> Result<(), DetectError> {
        let mut seen = std::collections::HashSet::new();
        for s in &self.subnets {
            if !s.id.starts_with("subnet-") {
                return Err(DetectError::Config {
                    path: origin.to_path_buf(),
                    reason: format!("{:?} is not a subnet id (subnet-…)", s.id),
                });
            }
            if !seen.insert(s.id.as_str()) {
                return Err(DetectError::Config {
                    path: origin.to_path_buf(),
                    reason: format!("subnet {} is listed twice", s.id),
                });
            }
        }
        Ok(())
    }

    /// The watched subnet `id`, if it is one.
    pub fn subnet(&self, id: &str) -> Option<&SubnetFence> {
        self.subnets.iter().find(|s| s.id == id)
    }
}

impl SubnetFence {
    /// The name shown in titles: `name (id)` or the id.
    pub fn label(&self) -> String {
        match &self.name {
            Some(n) => format!("{n} ({})", self.id),
            None => self.id.clone(),
        }
    }

    /// Whether any launch criterion is set.
    pub fn has_launch_criteria(&self) -> bool {
        !(self.amis.is_empty()
            && self.instance_profiles.is_empty()
            && self.launch_templates.is_empty()
            && self.tags.is_empty())
    }

    /// Why a launch is not approved: one reason per unmet criterion; empty when approved.
    pub fn launch_violations(&self, l: &LaunchFacts) -> Vec<String> {
        let mut why = Vec::new();
        if !self.has_launch_criteria() {
            why.push("the subnet approves no launches".to_string());
            return why;
        }
        if !self.amis.is_empty() && !l.image_id.as_ref().is_some_and(|i| self.amis.contains(i)) {
            why.push(format!(
                "image {} is not approved",
                l.image_id.as_deref().unwrap_or("(unknown)")
            ));
        }
        if !self.instance_profiles.is_empty()
            && !l
                .instance_profile
                .as_deref()
                .is_some_and(|p| self.instance_profiles.iter().any(|a| profile_matches(a, p)))
        {
            why.push(format!(
                "instance profile {} is not approved",
                l.instance_profile.as_deref().unwrap_or("(none)")
            ));
        }
        if !self.launch_templates.is_empty()
            && !l
                .launch_template
                .as_ref()
                .is_some_and(|t| self.launch_templates.contains(t))
        {
            why.push(format!(
                "launch template {} is not approved",
                l.launch_template.as_deref().unwrap_or("(none)")
            ));
        }
        for (k, v) in &self.tags {
            if !l.tags.get(k).is_some_and(|have| glob(v, have)) {
                why.push(format!("tag {k}={v} is missing"));
            }
        }
        why
    }

    /// Whether `caller` (an ARN or an AWS service name) may create network interfaces here.
    pub fn eni_creator_approved(&self, callers: &[&str]) -> bool {
        self.eni_creators
            .iter()
            .any(|p| callers.iter().any(|c| glob(p, c)))
    }
}

/// `allowed` (a name, ARN or pattern) against a profile ARN or name.
fn profile_matches(allowed: &str, profile: &str) -> bool {
    let name = |s: &str| -> String {
        match s.rsplit_once(":instance-profile/") {
            Some((_, path)) => path.rsplit('/').next().unwrap_or(path).to_string(),
            None => s.to_string(),
        }
    };
    glob(allowed, profile) || glob(&name(allowed), &name(profile))
}

/// `*` matches any run of characters; everything else literally.
pub(crate) fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !s.starts_with(first) || s.len() < first.len() + last.len() || !s.ends_with(last) {
        return false;
    }
    let mut rest = &s[first.len()..s.len() - last.len()];
    for p in &parts[1..parts.len() - 1] {
        match rest.find(p) {
            Some(i) => rest = &rest[i + p.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn subnet() -> SubnetFence {
        SubnetFence {
            id: "subnet-1".into(),
            amis: vec!["ami-good".into()],
            instance_profiles: vec!["app-server".into()],
            tags: [("tier".to_string(), "app".to_string())].into(),
            ..Default::default()
        }
    }

    fn facts(ami: &str, profile: &str, tier: &str) -> LaunchFacts {
        LaunchFacts {
            image_id: Some(ami.into()),
            instance_profile: Some(profile.into()),
            launch_template: None,
            tags: [("tier".to_string(), tier.to_string())].into(),
        }
    }

    #[test]
    fn every_set_criterion_must_hold() {
        let s = subnet();
        let arn = "arn:aws:iam::111122223333:instance-profile/app-server";
        assert!(
            s.launch_violations(&facts("ami-good", arn, "app"))
                .is_empty()
        );
        let bad = s.launch_violations(&facts("ami-evil", arn, "app"));
        assert_eq!(bad, vec!["image ami-evil is not approved".to_string()]);
        let bad = s.launch_violations(&facts(
            "ami-good",
            "arn:aws:iam::1:instance-profile/admin",
            "db",
        ));
        assert_eq!(bad.len(), 2, "{bad:?}");
        let empty = SubnetFence {
            id: "subnet-2".into(),
            ..Default::default()
        };
        assert!(
            !empty
                .launch_violations(&facts("ami-good", arn, "app"))
                .is_empty()
        );
    }

    #[test]
    fn globs_and_creators() {
        assert!(glob(
            "arn:aws:iam::*:role/ecs-*",
            "arn:aws:iam::1:role/ecs-agent"
        ));
        assert!(!glob(
            "arn:aws:iam::*:role/ecs-*",
            "arn:aws:iam::1:role/admin"
        ));
        assert!(glob("a*b*c", "aXbYc") && !glob("a*b*c", "acb") && glob("*", ""));
        let s = SubnetFence {
            id: "subnet-1".into(),
            eni_creators: vec!["lambda.amazonaws.com".into()],
            ..Default::default()
        };
        assert!(s.eni_creator_approved(&["arn:aws:iam::1:role/x", "lambda.amazonaws.com"]));
        assert!(!s.eni_creator_approved(&["arn:aws:iam::1:user/mallory"]));
    }

    #[test]
    fn toml_is_strict() {
        let ok = r#"
            warmup_hours = 6
            [[subnets]]
            id = "subnet-1"
            amis = ["ami-1"]
            tags = { tier = "app" }
        "#;
        let c = FenceConfig::from_toml(ok, Path::new("f.toml")).unwrap_or_default();
        assert_eq!(c.warmup_hours, 6);
        assert_eq!(c.subnet("subnet-1").map(|s| s.amis.len()), Some(1));
        let typo = "[[subnets]]\nid = \"subnet-1\"\nami = [\"ami-1\"]\n";
        let e = FenceConfig::from_toml(typo, Path::new("f.toml"))
            .err()
            .map(|e| e.to_string());
        assert!(e.is_some_and(|e| e.contains("f.toml") && e.contains("ami")));
        let twice = "[[subnets]]\nid = \"subnet-1\"\n[[subnets]]\nid = \"subnet-1\"\n";
        assert!(FenceConfig::from_toml(twice, Path::new("f.toml")).is_err());
        assert!(FenceConfig::from_toml("[[subnets]]\nid = \"vpc-1\"\n", Path::new("f")).is_err());
    }
}
