//! The responder configuration (TOML, unknown keys refused) and the alert filter.
//!
//! ```toml
//! dry_run = false                 # default true: describe and report, change nothing
//! queue_url = "https://sqs.us-east-1.amazonaws.com/111122223333/flowtrail-respond"
//!
//! [filter]
//! min_severity = "high"
//! detectors = ["volume_spike", "new_peer", "unexpected_resource"]   # empty: any
//! entity_kinds = ["instance", "eni"]
//! accounts = ["111122223333"]                                      # empty: any
//!
//! [protect]
//! instances = ["i-0123456789abcdef0"]            # never touched
//! tags = { "flowtrail:protected" = "true" }      # instances with any of these never touched
//!
//! [quarantine]
//! groups = { "vpc-0abc" = "sg-0def" }            # per VPC; else found or created by name
//! create_missing = true
//! group_name = "flowtrail-quarantine"
//!
//! [actions]
//! detach_from_asg = true
//! snapshot = false
//!
//! [followup]
//! topic_arn = "arn:aws:sns:us-east-1:111122223333:flowtrail-actions"
//! jsonl = "/var/log/flowtrail/actions.jsonl"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use flowtrail_core::{Alert, EntityKind, Severity};

use crate::RespondError;

/// The detector id of follow-up alerts; the responder never acts on these.
pub const FOLLOWUP_DETECTOR: &str = "isolation_action";

/// Everything the responder is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RespondConfig {
    /// Describe, plan and report only; call no mutating API.
    pub dry_run: bool,
    /// The SQS queue subscribed to the alert topic.
    pub queue_url: Option<String>,
    /// Long-poll wait per receive, seconds (0..=20).
    pub wait_seconds: i32,
    /// Which alerts are acted on.
    pub filter: Filter,
    /// What is never touched.
    pub protect: Protect,
    /// The quarantine security group.
    pub quarantine: Quarantine,
    /// Optional steps.
    pub actions: Actions,
    /// Where follow-up alerts go.
    pub followup: FollowUpConfig,
}

impl Default for RespondConfig {
    fn default() -> Self {
        Self {
            dry_run: true,
            queue_url: None,
            wait_seconds: 20,
            filter: Filter::default(),
            protect: Protect::default(),
            quarantine: Quarantine::default(),
            actions: Actions::default(),
            followup: FollowUpConfig::default(),
        }
    }
}

/// Which alerts are acted on: all conditions must hold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Filter {
    /// Least severity.
    pub min_severity: Severity,
    /// Detector ids; empty means any.
    pub detectors: Vec<String>,
    /// Entity kinds acted on: `instance`, and `eni` (resolved to its instance).
    pub entity_kinds: Vec<EntityKind>,
    /// Accounts acted on; empty means any.
    pub accounts: Vec<String>,
}

impl Default for Filter {
    fn default() -> Self {
        Self {
            min_severity: Severity::High,
            detectors: Vec::new(),
            entity_kinds: vec![EntityKind::Instance, EntityKind::Eni],
            accounts: Vec::new(),
        }
    }
}

/// Instances never touched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Protect {
    /// Instance ids.
    pub instances: Vec<String>,
    /// Tags: an instance carrying any of these (key and value; `*` any value) is never touched.
    pub tags: BTreeMap<String, String>,
}

/// The quarantine security group: no ingress, no egress.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quarantine {
    /// Group per VPC id.
    pub groups: BTreeMap<String, String>,
    /// When a VPC has no group here: find one by `group_name`, or create it (tagged
    /// `flowtrail:quarantine=true`, egress rule removed).
    pub create_missing: bool,
    /// Name of found or created groups.
    pub group_name: String,
}

impl Default for Quarantine {
    fn default() -> Self {
        Self {
            groups: BTreeMap::new(),
            create_missing: true,
            group_name: "flowtrail-quarantine".into(),
        }
    }
}

/// Optional steps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Actions {
    /// Detach the instance from its Auto Scaling group (the group keeps its desired capacity
    /// and launches a replacement).
    pub detach_from_asg: bool,
    /// Snapshot every EBS volume of the instance.
    pub snapshot: bool,
}

impl Default for Actions {
    fn default() -> Self {
        Self {
            detach_from_asg: true,
            snapshot: false,
        }
    }
}

/// Where follow-up alerts go (both, either, or only the log).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FollowUpConfig {
    /// SNS topic.
    pub topic_arn: Option<String>,
    /// JSONL file (appended, fsynced).
    pub jsonl: Option<PathBuf>,
}

impl RespondConfig {
    /// Parse TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Self, RespondError> {
        let c: RespondConfig = toml::from_str(text).map_err(|e| RespondError::Config {
            path: origin.to_path_buf(),
            reason: e.to_string(),
        })?;
        if !(0..=20).contains(&c.wait_seconds) {
            return Err(RespondError::Config {
                path: origin.to_path_buf(),
                reason: format!("wait_seconds {} is not within 0..=20", c.wait_seconds),
            });
        }
        Ok(c)
    }

    /// Read and parse a file.
    pub fn load(path: &Path) -> Result<Self, RespondError> {
        let text = std::fs::read_to_string(path).map_err(|source| RespondError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text, path)
    }
}

impl Filter {
    /// Whether to act on `alert`: `Err` says why not.
    pub fn check(&self, alert: &Alert) -> Result<(), String> {
        if alert.detector == FOLLOWUP_DETECTOR {
            return Err("a follow-up of the responder itself".into());
        }
        if alert.severity < self.min_severity {
            return Err(format!(
                "severity {} below {}",
                alert.severity, self.min_severity
            ));
        }
        if !self.detectors.is_empty() && !self.detectors.contains(&alert.detector) {
            return Err(format!("detector {} not selected", alert.detector));
        }
        if !matches!(alert.entity.kind, EntityKind::Instance | EntityKind::Eni)
            || !self.entity_kinds.contains(&alert.entity.kind)
        {
            return Err(format!("entity kind {:?} not acted on", alert.entity.kind));
        }
        if !self.accounts.is_empty()
            && !alert
                .account_id
                .as_ref()
                .is_some_and(|a| self.accounts.contains(a))
        {
            return Err(format!(
                "account {} not selected",
                alert.account_id.as_deref().unwrap_or("(none)")
            ));
        }
        Ok(())
    }
}

impl Protect {
    /// Why `instance` with `tags` is protected, if it is.
    pub fn reason(&self, instance: &str, tags: &BTreeMap<String, String>) -> Option<String> {
        if self.instances.iter().any(|i| i == instance) {
            return Some("on the protected instance list".into());
        }
        self.tags.iter().find_map(|(k, v)| {
            tags.get(k)
                .filter(|have| v == "*" || *have == v)
                .map(|have| format!("tagged {k}={have}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowtrail_core::Entity;

    fn alert(detector: &str, sev: Severity, kind: EntityKind) -> Alert {
        Alert {
            why: String::new(),
            next_steps: Vec::new(),
            asset: None,
            id: "a".into(),
            detector: detector.into(),
            severity: sev,
            title: "t".into(),
            account_id: Some("111122223333".into()),
            region: None,
            entity: Entity {
                kind,
                id: "i-1".into(),
            },
            first_seen: flowtrail_core::alert::alert_time(1_767_866_400_000),
            last_seen: flowtrail_core::alert::alert_time(1_767_866_400_000),
            count: 1,
            dedupe_key: "k".into(),
            attack: Default::default(),
            evidence: serde_json::Value::Null,
        }
    }

    #[test]
    fn dry_run_is_the_default_and_keys_are_checked() {
        let c = RespondConfig::from_toml("", Path::new("r.toml")).unwrap_or_default();
        assert!(c.dry_run && c.actions.detach_from_asg && !c.actions.snapshot);
        let e = RespondConfig::from_toml("[filter]\nmin_severty = \"low\"\n", Path::new("r.toml"));
        assert!(e.is_err_and(|e| e.to_string().contains("min_severty")));
        assert!(RespondConfig::from_toml("wait_seconds = 30", Path::new("r")).is_err());
    }

    #[test]
    fn the_filter_selects_and_says_why_not() {
        let f = Filter {
            detectors: vec!["volume_spike".into()],
            accounts: vec!["111122223333".into()],
            ..Default::default()
        };
        assert!(
            f.check(&alert("volume_spike", Severity::High, EntityKind::Instance))
                .is_ok()
        );
        assert!(
            f.check(&alert("volume_spike", Severity::Critical, EntityKind::Eni))
                .is_ok()
        );
        for (a, why) in [
            (
                alert("volume_spike", Severity::Medium, EntityKind::Instance),
                "severity",
            ),
            (
                alert("port_scan", Severity::High, EntityKind::Instance),
                "detector",
            ),
            (
                alert("volume_spike", Severity::High, EntityKind::Ip),
                "entity kind",
            ),
            (
                alert(FOLLOWUP_DETECTOR, Severity::Critical, EntityKind::Instance),
                "follow-up",
            ),
        ] {
            assert!(f.check(&a).is_err_and(|e| e.contains(why)), "{why}");
        }
        let mut other = alert("volume_spike", Severity::High, EntityKind::Instance);
        other.account_id = Some("999999999999".into());
        assert!(f.check(&other).is_err_and(|e| e.contains("account")));
    }

    #[test]
    fn protection_by_id_or_tag() {
        let p = Protect {
            instances: vec!["i-keep".into()],
            tags: [
                ("env".to_string(), "prod-db".to_string()),
                ("pin".to_string(), "*".to_string()),
            ]
            .into(),
        };
        let none = BTreeMap::new();
        assert!(p.reason("i-keep", &none).is_some());
        assert!(p.reason("i-other", &none).is_none());
        let db: BTreeMap<String, String> = [("env".to_string(), "prod-db".to_string())].into();
        assert!(
            p.reason("i-other", &db)
                .is_some_and(|r| r.contains("env=prod-db"))
        );
        let pinned: BTreeMap<String, String> = [("pin".to_string(), "x".to_string())].into();
        assert!(p.reason("i-other", &pinned).is_some());
        let dev: BTreeMap<String, String> = [("env".to_string(), "dev".to_string())].into();
        assert!(p.reason("i-other", &dev).is_none());
    }
}
