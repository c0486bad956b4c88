//! Every built-in CloudTrail rule against its own sample events (`rules/<id>.tests.json`):
//! the same verdicts `flowtrail rules test` gives, without the binary (the events become
//! `cloudtrail` rows through the test copy of the decoder's mapping in `common`).

mod common;

use flowtrail_detect::rules::cases::{read_tests, verdict};
use flowtrail_detect::rules::{RuleSet, RuleTable};

#[test]
fn builtin_cloudtrail_rules_pass_their_cases() {
    let set = RuleSet::load(&[], true).unwrap_or_else(|e| panic!("loading rules: {e}"));
    let mut failures = Vec::new();
    let mut ran = 0;
    for rule in set.rules() {
        if rule.table != RuleTable::Cloudtrail {
            continue;
        }
        let path = common::detect_dir()
            .join("rules")
            .join(format!("{}.tests.json", rule.id));
        let tests = read_tests(&path).unwrap_or_else(|e| panic!("{}: {e}", rule.id));
        let (mut has_true, mut has_false) = (false, false);
        for case in &tests.cases {
            has_true |= case.expect;
            has_false |= !case.expect;
            let records: Vec<String> = case.cloudtrail.iter().map(|v| v.to_string()).collect();
            let batches = if records.is_empty() {
                vec![]
            } else {
                vec![common::cloudtrail_batch(&records)]
            };
            let findings = set
                .evaluate_rule(&rule.id, &[], &batches)
                .unwrap_or_else(|e| panic!("{}: {}: {e}", rule.id, case.name));
            ran += 1;
            if let Err(why) = verdict(case, &findings) {
                failures.push(format!("{}: {}: {why}", rule.id, case.name));
            }
        }
        if !(has_true && has_false) {
            failures.push(format!(
                "{}: needs both a case that fires and a benign look-alike that does not",
                rule.id
            ));
        }
    }
    assert!(ran > 0);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
