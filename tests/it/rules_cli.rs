//! `flowtrail rules test` run as a real process: the built-in rules pass their own sample
//! events, a failing case or a rule without tests fails the run, and a broken rule is a clear
//! startup error naming its file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BUILTIN_IDS: &[&str] = &[
    "security_group_change",
    "cloudtrail_tampering",
    "flow_logs_deleted",
    "root_activity",
    "console_login_no_mfa",
    "access_key_created",
    "port_scan",
    "ssh_brute_force",
];

fn rules_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("detect/rules")
}

fn flowtrail(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_flowtrail"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap_or_else(|e| panic!("running flowtrail: {e}"))
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn copy_rule(to: &Path, id: &str) {
    for ext in ["sql", "tests.json"] {
        let name = format!("{id}.{ext}");
        std::fs::copy(rules_dir().join(&name), to.join(&name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
}

#[test]
fn builtin_rules_pass_their_tests() {
    let o = flowtrail(&["rules", "test", "detect/rules"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for id in BUILTIN_IDS {
        assert!(
            out.contains(&format!("ok   {id}: ")),
            "no passing case for {id}:\n{out}"
        );
    }
    assert!(!out.contains("FAIL"), "{out}");
    assert!(out.contains(" 0 failed"), "{out}");
}

#[test]
fn default_dir_is_detect_rules() {
    let o = flowtrail(&["rules", "test"]);
    assert!(o.status.success(), "{}", text(&o));
}

#[test]
fn a_failing_case_fails_the_run() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_rule(dir.path(), "flow_logs_deleted");
    let tests = dir.path().join("flow_logs_deleted.tests.json");
    let flipped = std::fs::read_to_string(&tests)
        .unwrap_or_else(|e| panic!("{e}"))
        .replacen("\"expect\": false", "\"expect\": true", 1);
    std::fs::write(&tests, flipped).unwrap_or_else(|e| panic!("{e}"));
    let o = flowtrail(&["rules", "test", &dir.path().to_string_lossy()]);
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(
        out.contains(
            "FAIL flow_logs_deleted: a denied delete is not a deletion: expected a finding"
        ),
        "{out}"
    );
}

#[test]
fn a_rule_without_tests_fails_the_run() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_rule(dir.path(), "root_activity");
    std::fs::remove_file(dir.path().join("root_activity.tests.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let o = flowtrail(&["rules", "test", &dir.path().to_string_lossy()]);
    let out = text(&o);
    assert!(!o.status.success(), "{out}");
    assert!(out.contains("FAIL root_activity: no test file"), "{out}");
}

#[test]
fn broken_rules_fail_at_load_naming_the_file() {
    let good = std::fs::read_to_string(rules_dir().join("flow_logs_deleted.sql"))
        .unwrap_or_else(|e| panic!("{e}"));
    let cases = [
        (
            "bad header",
            good.replace("-- window: 10m", "-- window: 7m"),
            "7m",
        ),
        (
            "unknown entity kind",
            good.replace("principal:principal", "bucket:principal"),
            "bucket",
        ),
        (
            "bad SQL",
            good.replace("FROM cloudtrail", "FROM cloudtrial"),
            "cloudtrial",
        ),
        (
            "missing column",
            good.replace("AS principal", "AS who"),
            "principal",
        ),
    ];
    for (what, sql, needle) in cases {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        copy_rule(dir.path(), "flow_logs_deleted");
        std::fs::write(dir.path().join("flow_logs_deleted.sql"), sql)
            .unwrap_or_else(|e| panic!("{e}"));
        let o = flowtrail(&["rules", "test", &dir.path().to_string_lossy()]);
        let out = text(&o);
        assert!(!o.status.success(), "{what}: {out}");
        assert!(
            out.contains("flow_logs_deleted.sql"),
            "{what}: the error names no file: {out}"
        );
        assert!(out.contains(needle), "{what}: {out}");
    }
}

#[test]
fn list_shows_builtins_and_user_rules_replace_them() {
    let o = flowtrail(&["rules", "list"]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    for id in BUILTIN_IDS {
        assert!(out.contains(id), "{id} not listed: {out}");
    }
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    copy_rule(dir.path(), "root_activity");
    let o = flowtrail(&[
        "rules",
        "list",
        "--rules-dir",
        &dir.path().to_string_lossy(),
    ]);
    let out = text(&o);
    assert!(o.status.success(), "{out}");
    let line = out
        .lines()
        .find(|l| l.starts_with("root_activity"))
        .unwrap_or_default();
    assert!(line.contains(&*dir.path().to_string_lossy()), "{out}");
}
