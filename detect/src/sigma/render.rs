//! A parsed Sigma rule as a SQL rule file: the header (detector id, title, severity, entity,
//! dedupe key, window, ATT&CK ids) and a query that groups the matching events per principal
//! and 10-minute window.

use std::path::Path;

use flowtrail_core::alert::Severity;
use rsigma_parser::{Level, SigmaRule};

use super::expr::{literal, where_clause};
use super::{Attack, CompiledRule};
use crate::rules::header::parse_rule;

/// Who made the call: the ARN, else the principal id, the invoking service or the address.
const PRINCIPAL: &str = "coalesce(user_identity_arn, user_identity_principal_id, \
    user_identity_invoked_by, source_ip_address, 'unknown')";

/// `sigma_` and the file name in lowercase letters, digits and `_`.
pub fn detector_id(file: &Path) -> String {
    let stem = file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut id = String::from("sigma_");
    for c in stem.chars() {
        id.push(if c.is_ascii_alphanumeric() {
            c.to_ascii_lowercase()
        } else {
            '_'
        });
    }
    id
}

/// Compile one parsed rule to a rule file and parse that back as a [`crate::rules::Rule`].
pub fn compile(file: &Path, id: &str, rule: &SigmaRule) -> Result<CompiledRule, String> {
    check_logsource(rule)?;
    let filter = where_clause(&rule.detection)?;
    let attack = Attack::from_tags(&rule.tags);
    let level = rule.level.map(level_name);
    let severity = rule.level.map_or(Severity::Medium, severity);
    let text = format!(
        "{}{}",
        header(file, id, rule, severity, &attack),
        query(file, rule, level, &attack, &filter)
    );
    let mut parsed = parse_rule(Path::new(&format!("sigma/{id}.sql")), &text)
        .map_err(|e| format!("compiled rule is invalid: {e}"))?;
    parsed.path = file.to_path_buf();
    Ok(CompiledRule {
        file: file.to_path_buf(),
        sigma_id: rule.id.clone(),
        title: rule.title.clone(),
        level: level.map(str::to_string),
        attack,
        rule: parsed,
        text,
    })
}

fn check_logsource(rule: &SigmaRule) -> Result<(), String> {
    let ls = &rule.logsource;
    let is =
        |v: &Option<String>, want: &str| v.as_deref().is_some_and(|v| v.eq_ignore_ascii_case(want));
    if is(&ls.product, "aws") && is(&ls.service, "cloudtrail") {
        return Ok(());
    }
    Err(format!(
        "log source (product: {}, service: {}, category: {}) is not product: aws, service: cloudtrail",
        ls.product.as_deref().unwrap_or("-"),
        ls.service.as_deref().unwrap_or("-"),
        ls.category.as_deref().unwrap_or("-"),
    ))
}

fn level_name(l: Level) -> &'static str {
    match l {
        Level::Informational => "informational",
        Level::Low => "low",
        Level::Medium => "medium",
        Level::High => "high",
        Level::Critical => "critical",
    }
}

fn severity(l: Level) -> Severity {
    match l {
        Level::Informational => Severity::Info,
        Level::Low => Severity::Low,
        Level::Medium => Severity::Medium,
        Level::High => Severity::High,
        Level::Critical => Severity::Critical,
    }
}

/// One header line's value: no line breaks, and braces only for placeholders.
fn one_line(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('{', "(")
        .replace('}', ")")
}

fn header(file: &Path, id: &str, rule: &SigmaRule, severity: Severity, attack: &Attack) -> String {
    let mut h = format!(
        "-- id: {id}\n-- title: {} by {{principal}} ({{event_names}})\n-- severity: {severity}\n\
         -- entity: principal:principal\n-- dedupe: principal\n-- window: 10m\n-- table: cloudtrail\n",
        one_line(&rule.title)
    );
    if !attack.is_empty() {
        h.push_str(&format!(
            "-- attack: {}; {}\n",
            attack.tactics.join(" "),
            attack.techniques.join(" ")
        ));
    }
    h.push_str(&format!(
        "-- sigma: {} ({})\n",
        rule.id.as_deref().unwrap_or("no id"),
        one_line(&file.display().to_string())
    ));
    if let Some(d) = &rule.description {
        h.push_str(&format!("-- description: {}\n", one_line(d)));
    }
    h
}

/// `make_array('a', 'b')`.
fn array(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| literal(s)).collect();
    format!("make_array({})", items.join(", "))
}

/// The evidence columns naming the rule: `sigma` (id, level, author, file) and `attack`.
fn rule_columns(file: &Path, rule: &SigmaRule, level: Option<&str>, attack: &Attack) -> String {
    let mut sigma = Vec::new();
    if let Some(id) = &rule.id {
        sigma.push(format!("'id', {}", literal(id)));
    }
    if let Some(l) = level {
        sigma.push(format!("'level', {}", literal(l)));
    }
    // The Detection Rule License asks that matches name the rule's author(s).
    if let Some(a) = &rule.author {
        sigma.push(format!("'author', {}", literal(a)));
    }
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    sigma.push(format!("'file', {}", literal(&name)));
    let mut cols = format!("    named_struct({}) AS sigma", sigma.join(", "));
    let mut parts = Vec::new();
    if !attack.tactics.is_empty() {
        parts.push(format!("'tactics', {}", array(&attack.tactics)));
    }
    if !attack.techniques.is_empty() {
        parts.push(format!("'techniques', {}", array(&attack.techniques)));
    }
    if !parts.is_empty() {
        cols.push_str(&format!(
            ",\n    named_struct({}) AS attack",
            parts.join(", ")
        ));
    }
    cols
}

fn query(
    file: &Path,
    rule: &SigmaRule,
    level: Option<&str>,
    attack: &Attack,
    filter: &str,
) -> String {
    format!(
        "SELECT\n    min(event_time) AS first_seen,\n    max(event_time) AS last_seen,\n    \
         account_id,\n    region,\n    {PRINCIPAL} AS principal,\n    \
         array_to_string(array_slice(array_sort(array_agg(DISTINCT event_name)), 1, 10), ', ') AS event_names,\n    \
         array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,\n    \
         array_slice(array_sort(array_agg(DISTINCT source_ip_address)), 1, 10) AS source_ips,\n    \
         count(*) AS events,\n{}\nFROM cloudtrail\nWHERE {filter}\n\
         GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, {PRINCIPAL}\n",
        rule_columns(file, rule, level, attack)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detector_ids_name_the_file() {
        assert_eq!(
            detector_id(Path::new("x/aws_CloudTrail-disable.logging.yml")),
            "sigma_aws_cloudtrail_disable_logging"
        );
    }

    #[test]
    fn renders_a_rule_file_the_rule_parser_accepts() {
        let yaml = "title: Bad {thing}\nid: 4db60cc0-36fb-42b7-9b58-a5b53019fb74\nlevel: high\n\
            tags:\n  - attack.t1562.008\n  - attack.defense-evasion\n\
            logsource:\n  product: aws\n  service: cloudtrail\n\
            detection:\n  selection:\n    eventName: StopLogging\n  condition: selection\n";
        let parsed = rsigma_parser::parse_sigma_yaml(yaml).unwrap_or_default();
        let Some(rule) = parsed.rules.first() else {
            panic!("{:?}", parsed.errors)
        };
        let c = compile(Path::new("r/x.yml"), "sigma_x", rule).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.rule.id, "sigma_x");
        assert_eq!(c.rule.severity, Severity::High);
        assert_eq!(c.rule.title, "Bad (thing) by {principal} ({event_names})");
        assert_eq!(c.rule.path, Path::new("r/x.yml"));
        assert!(
            c.text.contains("-- attack: TA0005; T1562.008\n"),
            "{}",
            c.text
        );
        assert!(
            c.text.contains(
                "named_struct('tactics', make_array('TA0005'), 'techniques', make_array('T1562.008')) AS attack"
            ),
            "{}",
            c.text
        );
        let other = yaml.replace("service: cloudtrail", "category: process_creation");
        let parsed = rsigma_parser::parse_sigma_yaml(&other).unwrap_or_default();
        let err = parsed
            .rules
            .first()
            .map(|r| compile(Path::new("r/x.yml"), "sigma_x", r))
            .and_then(Result::err)
            .unwrap_or_default();
        assert!(err.contains("process_creation"), "{err}");
    }
}
