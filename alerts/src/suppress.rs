//! Suppression rules: the operator's allow-lists (a known scanner's CIDR, a deploy role, a
//! detector that is noisy in one account), each with an optional expiry so a suppression does
//! not outlive its reason. Read from a TOML file:
//!
//! ```toml
//! [[suppress]]
//! name = "corporate vulnerability scanner"
//! detectors = ["port_scan", "ssh_brute_force"]      # omit for every detector
//! cidrs = ["198.51.100.0/24"]                        # entity ip, or evidence srcaddr/source_ip
//! principals = ["arn:aws:iam::*:role/SecurityScanner*"]  # `*` matches any run of characters
//! accounts = ["111122223333"]
//! expires = "2026-12-31"                             # compared with the finding's event time
//! ```
//! A rule matches when the detector matches and every selector it gives matches. A rule with
//! neither detectors nor selectors would hide everything and is refused.

use std::net::IpAddr;
use std::path::Path;

use chrono::{DateTime, NaiveDate};
use serde::Deserialize;

use flowtrail_core::{EntityKind, Finding};

use crate::AlertsError;
use crate::cidr::Cidr;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    suppress: Vec<RawRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    name: Option<String>,
    #[serde(default)]
    detectors: Vec<String>,
    #[serde(default)]
    cidrs: Vec<String>,
    #[serde(default)]
    principals: Vec<String>,
    #[serde(default)]
    accounts: Vec<String>,
    expires: Option<String>,
    #[allow(dead_code)]
    reason: Option<String>,
}

/// One suppression rule.
#[derive(Debug, Clone)]
pub struct Suppression {
    /// Name shown in logs.
    pub name: String,
    detectors: Vec<String>,
    cidrs: Vec<Cidr>,
    principals: Vec<String>,
    accounts: Vec<String>,
    expires_ms: Option<i64>,
}

/// Every suppression rule.
#[derive(Debug, Clone, Default)]
pub struct Suppressions {
    rules: Vec<Suppression>,
}

/// `*` wildcard match.
fn glob(pattern: &str, s: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == s;
    }
    let mut rest = s;
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(p) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else {
            match rest.find(p) {
                Some(pos) => rest = &rest[pos + p.len()..],
                None => return false,
            }
        }
    }
    true
}

fn parse_expiry(s: &str) -> Result<i64, String> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_millis())
            .unwrap_or_default());
    }
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp_millis())
        .map_err(|e| format!("expires {s:?}: expected YYYY-MM-DD or RFC 3339 ({e})"))
}

fn evidence_str<'a>(f: &'a Finding, keys: &[&str]) -> Vec<&'a str> {
    keys.iter()
        .filter_map(|k| f.evidence.get(*k).and_then(|v| v.as_str()))
        .collect()
}

impl Suppression {
    /// Whether this rule hides `f`.
    pub fn matches(&self, f: &Finding) -> bool {
        if let Some(exp) = self.expires_ms
            && f.first_seen_ms >= exp
        {
            return false;
        }
        if !self.detectors.is_empty() && !self.detectors.iter().any(|d| d == &f.detector) {
            return false;
        }
        if !self.accounts.is_empty()
            && !f
                .account_id
                .as_ref()
                .is_some_and(|a| self.accounts.contains(a))
        {
            return false;
        }
        if !self.cidrs.is_empty() {
            let mut ips: Vec<&str> =
                evidence_str(f, &["srcaddr", "source_ip", "source_ip_address", "remote"]);
            if f.entity.kind == EntityKind::Ip {
                ips.push(&f.entity.id);
            }
            let hit = ips
                .iter()
                .filter_map(|s| s.parse::<IpAddr>().ok())
                .any(|ip| self.cidrs.iter().any(|c| c.contains(ip)));
            if !hit {
                return false;
            }
        }
        if !self.principals.is_empty() {
            let mut ps: Vec<&str> = evidence_str(f, &["principal", "user_identity_arn"]);
            if f.entity.kind == EntityKind::Principal {
                ps.push(&f.entity.id);
            }
            if !ps
                .iter()
                .any(|p| self.principals.iter().any(|g| glob(g, p)))
            {
                return false;
            }
        }
        true
    }
}

impl Suppressions {
    /// No suppression.
    pub fn none() -> Self {
        Self::default()
    }

    /// Parse a suppression file's text (`path` names it in errors).
    pub fn parse(path: &Path, text: &str) -> Result<Self, AlertsError> {
        let err = |reason: String| AlertsError::Config {
            path: path.to_path_buf(),
            reason,
        };
        let file: File = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut rules = Vec::new();
        for (i, r) in file.suppress.into_iter().enumerate() {
            let name = r.name.unwrap_or_else(|| format!("suppress[{i}]"));
            if r.detectors.is_empty()
                && r.cidrs.is_empty()
                && r.principals.is_empty()
                && r.accounts.is_empty()
            {
                return Err(err(format!(
                    "{name}: would suppress every alert; give detectors, cidrs, principals or accounts"
                )));
            }
            let cidrs = r
                .cidrs
                .iter()
                .map(|c| c.parse::<Cidr>())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| err(format!("{name}: {e}")))?;
            let expires_ms = r
                .expires
                .as_deref()
                .map(parse_expiry)
                .transpose()
                .map_err(|e| err(format!("{name}: {e}")))?;
            rules.push(Suppression {
                name,
                detectors: r.detectors,
                cidrs,
                principals: r.principals,
                accounts: r.accounts,
                expires_ms,
            });
        }
        Ok(Self { rules })
    }

    /// Load a suppression file.
    pub fn load(path: &Path) -> Result<Self, AlertsError> {
        let text = std::fs::read_to_string(path).map_err(|source| AlertsError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(path, &text)
    }

    /// The first rule that hides `f`, if any.
    pub fn matching(&self, f: &Finding) -> Option<&Suppression> {
        self.rules.iter().find(|r| r.matches(f))
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are no rules.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flowtrail_core::{Entity, Severity};

    fn finding(detector: &str, kind: EntityKind, id: &str, t: i64) -> Finding {
        Finding {
            detector: detector.into(),
            severity: Severity::High,
            title: "t".into(),
            account_id: Some("111122223333".into()),
            region: Some("us-east-1".into()),
            entity: Entity {
                kind,
                id: id.into(),
            },
            first_seen_ms: t,
            last_seen_ms: t,
            dedupe_key: id.into(),
            evidence: serde_json::json!({"principal": "arn:aws:iam::111122223333:role/SecurityScannerProd"}),
            attack: Default::default(),
        }
    }

    const T: i64 = 1_767_866_700_000; // 2026-01-08

    #[test]
    fn rules_match_by_detector_cidr_principal_and_expire() -> Result<(), AlertsError> {
        let s = Suppressions::parse(
            Path::new("s.toml"),
            r#"
[[suppress]]
name = "scanner"
detectors = ["port_scan"]
cidrs = ["198.51.100.0/24"]
expires = "2026-02-01"

[[suppress]]
principals = ["arn:aws:iam::*:role/SecurityScanner*"]
detectors = ["api_recon"]
"#,
        )?;
        assert_eq!(s.len(), 2);
        assert!(
            s.matching(&finding("port_scan", EntityKind::Ip, "198.51.100.9", T))
                .is_some()
        );
        assert!(
            s.matching(&finding("port_scan", EntityKind::Ip, "203.0.113.9", T))
                .is_none(),
            "other cidr"
        );
        assert!(
            s.matching(&finding(
                "ssh_brute_force",
                EntityKind::Ip,
                "198.51.100.9",
                T
            ))
            .is_none(),
            "other detector"
        );
        assert!(
            s.matching(&finding(
                "port_scan",
                EntityKind::Ip,
                "198.51.100.9",
                T + 40 * 86_400_000
            ))
            .is_none(),
            "expired"
        );
        assert!(
            s.matching(&finding("api_recon", EntityKind::Principal, "x", T))
                .is_some(),
            "principal from evidence"
        );
        Ok(())
    }

    #[test]
    fn bad_files_are_clear_errors() {
        let cases = [
            (
                "[[suppress]]\nname = \"all\"\n",
                "would suppress every alert",
            ),
            ("[[suppress]]\ncidrs = [\"10.0.0.0/99\"]\n", "prefix"),
            (
                "[[suppress]]\ndetectors = [\"x\"]\nexpires = \"soon\"\n",
                "expires",
            ),
            ("[[suppress]]\ndetector = [\"x\"]\n", "unknown field"),
        ];
        for (text, want) in cases {
            match Suppressions::parse(Path::new("s.toml"), text) {
                Err(e) => assert!(
                    e.to_string().contains(want) && e.to_string().contains("s.toml"),
                    "{e}"
                ),
                Ok(_) => panic!("accepted: {text}"),
            }
        }
    }

    #[test]
    fn glob_matches() {
        assert!(glob("a*c", "abbbc"));
        assert!(glob("*", "x"));
        assert!(!glob("a*c", "abd"));
        assert!(glob("arn:*:role/x*", "arn:aws:iam::1:role/xyz"));
    }
}
