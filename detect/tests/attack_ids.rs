//! Every built-in detector names its ATT&CK tactics and techniques: each SQL rule in its
//! `-- attack:` header line, each detector in code.

use std::path::Path;

use flowtrail_core::alert::{Attack, is_tactic_id, is_technique_id};
use flowtrail_detect::rules::builtin::BUILTIN_RULES;
use flowtrail_detect::rules::header::parse_rule;
use flowtrail_detect::{baseline, fence, recon};

fn check(who: &str, a: &Attack) -> Vec<String> {
    let mut bad = Vec::new();
    if a.tactics.is_empty() {
        bad.push(format!("{who}: no tactics"));
    }
    if a.techniques.is_empty() {
        bad.push(format!("{who}: no techniques"));
    }
    for t in &a.tactics {
        if !is_tactic_id(t) {
            bad.push(format!("{who}: tactic {t}"));
        }
    }
    for t in &a.techniques {
        if !is_technique_id(t) {
            bad.push(format!("{who}: technique {t}"));
        }
    }
    bad
}

#[test]
fn every_builtin_sql_rule_names_tactics_and_techniques() {
    let mut bad = Vec::new();
    for (id, text) in BUILTIN_RULES {
        match parse_rule(Path::new(&format!("builtin/{id}.sql")), text) {
            Ok(rule) => bad.extend(check(id, &rule.attack)),
            Err(e) => bad.push(format!("{id}: {e}")),
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn every_rule_file_in_the_rules_folder_names_tactics_and_techniques() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "sql"));
    files.sort();
    assert!(!files.is_empty(), "no rules in {}", dir.display());
    let mut bad = Vec::new();
    for path in &files {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        match parse_rule(path, &text) {
            Ok(rule) => bad.extend(check(&rule.id, &rule.attack)),
            Err(e) => bad.push(format!("{}: {e}", path.display())),
        }
    }
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn every_builtin_detector_names_tactics_and_techniques() {
    let mut detectors: Vec<(&str, Attack)> = baseline::DETECTORS
        .iter()
        .map(|(id, a)| (*id, a.to_attack()))
        .collect();
    detectors.push((recon::DETECTOR, recon::ATTACK.to_attack()));
    detectors.push((fence::DETECTOR, fence::ATTACK.to_attack()));
    let ids: Vec<&str> = detectors.iter().map(|(id, _)| *id).collect();
    for id in [
        "volume_spike",
        "new_peer",
        "api_recon",
        "unexpected_resource",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let bad: Vec<String> = detectors.iter().flat_map(|(id, a)| check(id, a)).collect();
    assert!(bad.is_empty(), "{bad:#?}");
}

#[test]
fn a_malformed_attack_id_fails_the_load_naming_the_file_and_the_id() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = BUILTIN_RULES
        .iter()
        .find(|(id, _)| *id == "cloudtrail_tampering")
        .map(|(_, t)| t.replace("T1562.008", "T1562.8"))
        .unwrap_or_default();
    assert!(text.contains("T1562.8"), "edit did not apply");
    std::fs::write(dir.path().join("cloudtrail_tampering.sql"), text)
        .unwrap_or_else(|e| panic!("{e}"));
    let e = flowtrail_detect::rules::RuleSet::from_dir_only(dir.path())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("cloudtrail_tampering.sql"), "{e}");
    assert!(e.contains("attack: `T1562.8`"), "{e}");
}
