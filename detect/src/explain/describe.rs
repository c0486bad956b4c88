//! A rule's description, read from its source once when the engine starts: the
//! `-- description:` header of a SQL rule (continued on indented `--` lines) or the
//! `description:` of a Sigma YAML file. SQL and Sigma alerts use it as their `why`.

use std::path::Path;

use crate::rules::Rule;
use crate::rules::builtin::BUILTIN_RULES;

/// The description of `rule`, if its source has one and can be read.
pub fn description(rule: &Rule) -> Option<String> {
    let builtin = rule
        .path
        .starts_with("builtin")
        .then(|| BUILTIN_RULES.iter().find(|(id, _)| *id == rule.id))
        .flatten();
    let text = match builtin {
        Some((_, text)) => (*text).to_string(),
        None => std::fs::read_to_string(&rule.path).ok()?,
    };
    if is_yaml(&rule.path) {
        yaml_description(&text)
    } else {
        sql_description(&text)
    }
}

fn is_yaml(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "yml" || e == "yaml")
}

/// `-- description: …` and its continuation lines (`--` then more than one space).
pub fn sql_description(text: &str) -> Option<String> {
    let mut out: Option<String> = None;
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("--") else {
            break;
        };
        match out.as_mut() {
            None => {
                if let Some(d) = rest.trim_start().strip_prefix("description:") {
                    out = Some(d.trim().to_string());
                }
            }
            Some(d) => {
                if !rest.starts_with("  ") {
                    break;
                }
                d.push(' ');
                d.push_str(rest.trim());
            }
        }
    }
    out.filter(|d| !d.is_empty())
}

/// A top-level `description:` of a YAML file: inline, or a `|`/`>` block.
pub fn yaml_description(text: &str) -> Option<String> {
    let mut lines = text.lines();
    let first = lines.find_map(|l| l.strip_prefix("description:"))?.trim();
    let inline = first.trim_start_matches(['|', '>', '-']).trim();
    if !inline.is_empty() {
        return Some(inline.trim_matches(['\'', '"']).to_string());
    }
    let block: Vec<&str> = lines
        .take_while(|l| l.starts_with(' ') || l.is_empty())
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    (!block.is_empty()).then(|| block.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sql_headers_give_their_description_with_continuations() {
        let t = "-- id: x\n-- description: At least 30 short flows\n--   to port 22.\n-- window: 10m\nSELECT 1";
        assert_eq!(
            sql_description(t).as_deref(),
            Some("At least 30 short flows to port 22.")
        );
        assert_eq!(sql_description("-- id: x\nSELECT 1"), None);
    }

    #[test]
    fn yaml_descriptions_inline_or_block() {
        assert_eq!(
            yaml_description("title: t\ndescription: 'Detects a thing'\nlevel: high").as_deref(),
            Some("Detects a thing")
        );
        assert_eq!(
            yaml_description("description: |\n  Two\n  lines\nlevel: high").as_deref(),
            Some("Two lines")
        );
        assert_eq!(yaml_description("title: t"), None);
    }

    #[test]
    fn builtin_rules_are_described() {
        let rules = crate::rules::RuleSet::load(&[], true).unwrap_or_else(|e| panic!("{e}"));
        let ssh = rules.rules().iter().find(|r| r.id == "ssh_brute_force");
        let d = ssh.and_then(description).unwrap_or_default();
        assert!(d.starts_with("At least 30 short TCP flows"), "{d}");
        // Every built-in rule's alerts explain themselves with its description.
        let thin: Vec<&str> = rules
            .rules()
            .iter()
            .filter(|r| description(r).is_none_or(|d| d.len() < 80))
            .map(|r| r.id.as_str())
            .collect();
        assert!(thin.is_empty(), "rules without a description: {thin:?}");
        let root = rules
            .rules()
            .iter()
            .find(|r| r.id == "root_read_only_activity");
        let d = root.and_then(description).unwrap_or_default();
        assert!(d.contains("Quiet when root_activity already alerts"), "{d}");
    }
}
