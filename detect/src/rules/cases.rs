//! Rule test files (`rules/<id>.tests.json`, as in panther-analysis): sample events beside each
//! rule, each case saying whether the rule must fire and optionally with what severity.
//! Decoding the raw events into batches is the caller's (the binary uses the ingest decoders);
//! this module owns the file format and the verdict.

use std::path::{Path, PathBuf};

use flowtrail_core::alert::{Finding, Severity};
use serde::Deserialize;

use crate::DetectError;

/// A `<id>.tests.json` file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTests {
    /// The cases, run in order.
    pub cases: Vec<RuleCase>,
}

/// One test case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleCase {
    /// What the case shows.
    pub name: String,
    /// Whether the rule must produce a finding.
    pub expect: bool,
    /// If set (with `expect: true`), the severity of the finding (the highest, if several).
    #[serde(default)]
    pub severity: Option<Severity>,
    /// Raw CloudTrail event objects (as in a `{"Records":[...]}` file).
    #[serde(default)]
    pub cloudtrail: Vec<serde_json::Value>,
    /// Flow-log text lines: a header line, then records.
    #[serde(default)]
    pub flows: Vec<String>,
}

/// The test file of the rule at `rule_path` (`x/<id>.sql` → `x/<id>.tests.json`).
pub fn tests_path(rule_path: &Path, id: &str) -> PathBuf {
    rule_path.with_file_name(format!("{id}.tests.json"))
}

/// Read and parse a test file.
pub fn read_tests(path: &Path) -> Result<RuleTests, DetectError> {
    let text = std::fs::read_to_string(path).map_err(|source| DetectError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let tests: RuleTests = serde_json::from_str(&text).map_err(|e| DetectError::Rule {
        path: path.to_path_buf(),
        reason: format!("bad test file: {e}"),
    })?;
    if tests.cases.is_empty() {
        return Err(DetectError::Rule {
            path: path.to_path_buf(),
            reason: "no test cases".into(),
        });
    }
    Ok(tests)
}

/// Whether `findings` (of the case's rule only) satisfy the case; `Err` says why not.
pub fn verdict(case: &RuleCase, findings: &[Finding]) -> Result<(), String> {
    let top = findings.iter().map(|f| f.severity).max();
    match (case.expect, top) {
        (false, None) => Ok(()),
        (false, Some(_)) => Err(format!(
            "expected no finding, got {}: {}",
            findings.len(),
            findings
                .iter()
                .map(|f| format!("[{}] {}", f.severity, f.title))
                .collect::<Vec<_>>()
                .join("; ")
        )),
        (true, None) => Err("expected a finding, got none".into()),
        (true, Some(got)) => match case.severity {
            Some(want) if want != got => Err(format!("expected severity {want}, got {got}")),
            _ => Ok(()),
        },
    }
}

#[cfg(test)]
mod tests {
    use flowtrail_core::alert::{Entity, EntityKind};

    use super::*;

    fn case(expect: bool, severity: Option<Severity>) -> RuleCase {
        RuleCase {
            name: "c".into(),
            expect,
            severity,
            cloudtrail: vec![],
            flows: vec![],
        }
    }

    fn finding(severity: Severity) -> Finding {
        Finding {
            detector: "r".into(),
            severity,
            title: "t".into(),
            account_id: None,
            region: None,
            entity: Entity {
                kind: EntityKind::Ip,
                id: "1.2.3.4".into(),
            },
            first_seen_ms: 0,
            last_seen_ms: 0,
            dedupe_key: "r|1.2.3.4".into(),
            evidence: serde_json::json!({}),
            attack: Default::default(),
        }
    }

    #[test]
    fn verdicts() {
        assert!(verdict(&case(false, None), &[]).is_ok());
        assert!(verdict(&case(false, None), &[finding(Severity::Low)]).is_err());
        assert!(verdict(&case(true, None), &[]).is_err());
        assert!(verdict(&case(true, None), &[finding(Severity::Low)]).is_ok());
        assert!(
            verdict(
                &case(true, Some(Severity::High)),
                &[finding(Severity::High)]
            )
            .is_ok()
        );
        assert!(
            verdict(
                &case(true, Some(Severity::High)),
                &[finding(Severity::Medium)]
            )
            .is_err()
        );
    }

    #[test]
    fn test_files_parse_and_unknown_keys_are_errors() {
        let ok: Result<RuleTests, _> = serde_json::from_str(
            r#"{"cases":[{"name":"a","expect":true,"severity":"high","cloudtrail":[{"eventName":"X"}]}]}"#,
        );
        assert!(ok.is_ok_and(|t| t.cases[0].severity == Some(Severity::High)));
        let bad: Result<RuleTests, _> =
            serde_json::from_str(r#"{"cases":[{"name":"a","expect":true,"sev":"high"}]}"#);
        assert!(bad.is_err());
    }
}
