//! `flowtrail rules`: `test` runs every rule of a folder against its sample events
//! (`<id>.tests.json` beside `<id>.sql`, decoded with the real ingest decoders) and checks
//! each case's verdict; `list` shows the rules that would run.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use arrow::record_batch::RecordBatch;
use flowtrail_detect::rules::RuleSet;
use flowtrail_detect::rules::cases::{RuleCase, read_tests, tests_path, verdict};
use flowtrail_ingest::compress::ObjectReader;
use flowtrail_ingest::decode::cloudtrail::{CloudTrailOptions, decode_cloudtrail};
use flowtrail_ingest::decode::flow::{FlowDecodeOptions, decode_flow_text};
use flowtrail_ingest::sink::VecSink;

use crate::cli::{RulesArgs, RulesCommand};

/// Object keys the sample events pretend to come from (account and region as in the samples).
const CT_KEY: &str = "AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/08/123456789012_CloudTrail_us-east-1_20260108T1000Z_rulestest.json";
const FLOW_KEY: &str = "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/08/123456789012_vpcflowlogs_us-east-1_fl-rulestest_20260108T1000Z_0000.log";
/// Decompressed size limit for one case's flow text.
const FLOW_LIMIT: u64 = 64 << 20;

pub fn run(args: RulesArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        RulesCommand::Test { dir, show } => test(&dir, show),
        RulesCommand::List {
            rules_dir,
            no_builtin,
        } => list(&rules_dir, !no_builtin),
    }
}

fn list(dirs: &[PathBuf], builtin: bool) -> anyhow::Result<ExitCode> {
    let set = RuleSet::load(dirs, builtin).context("loading rules")?;
    let mut out = std::io::stdout().lock();
    for r in set.rules() {
        writeln!(
            out,
            "{:<24} {:<8} {:<10} window {:>2}m  {}",
            r.id,
            r.severity,
            r.table.as_str(),
            r.window_minutes,
            r.path.display()
        )?;
    }
    Ok(ExitCode::SUCCESS)
}

fn test(dir: &Path, show: bool) -> anyhow::Result<ExitCode> {
    let set = RuleSet::from_dir_only(dir)
        .with_context(|| format!("loading the rules in {}", dir.display()))?;
    let mut out = std::io::stdout().lock();
    let (mut passed, mut failed) = (0usize, 0usize);
    let mut with_tests = BTreeSet::new();
    for rule in set.rules() {
        let path = tests_path(&rule.path, &rule.id);
        if !path.is_file() {
            writeln!(out, "FAIL {}: no test file {}", rule.id, path.display())?;
            failed += 1;
            continue;
        }
        with_tests.insert(path.clone());
        let tests = match read_tests(&path) {
            Ok(t) => t,
            Err(e) => {
                writeln!(out, "FAIL {}: {e}", rule.id)?;
                failed += 1;
                continue;
            }
        };
        for case in &tests.cases {
            let mut shown = Vec::new();
            let result = decode_case(case).and_then(|(flows, ct)| {
                let findings = set
                    .evaluate_rule(&rule.id, &flows, &ct)
                    .map_err(|e| e.to_string())?;
                let v = verdict(case, &findings);
                shown = findings;
                v
            });
            match result {
                Ok(()) => {
                    passed += 1;
                    writeln!(out, "ok   {}: {}", rule.id, case.name)?;
                }
                Err(reason) => {
                    failed += 1;
                    writeln!(out, "FAIL {}: {}: {reason}", rule.id, case.name)?;
                }
            }
            if show {
                for f in &shown {
                    writeln!(out, "     {}", serde_json::to_string(f)?)?;
                }
            }
        }
    }
    // A test file whose rule is gone tests nothing: say so.
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let is_tests = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(".tests.json"));
        if is_tests && !with_tests.contains(&path) {
            writeln!(out, "FAIL {}: test file without a rule", path.display())?;
            failed += 1;
        }
    }
    writeln!(
        out,
        "{} rules, {passed} cases passed, {failed} failed",
        set.rules().len()
    )?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Decode a case's raw events with the ingest decoders: `(flows, cloudtrail)` batches. A
/// quarantined event is an error (the sample is broken, the rule untested).
fn decode_case(case: &RuleCase) -> Result<(Vec<RecordBatch>, Vec<RecordBatch>), String> {
    let mut ct = VecSink::default();
    if !case.cloudtrail.is_empty() {
        let doc = serde_json::to_vec(&serde_json::json!({ "Records": case.cloudtrail }))
            .map_err(|e| e.to_string())?;
        decode_cloudtrail(CT_KEY, &doc, &CloudTrailOptions::default(), &mut ct)
            .map_err(|e| format!("decoding cloudtrail events: {e}"))?;
    }
    let mut flows = VecSink::default();
    if !case.flows.is_empty() {
        let mut text = case.flows.join("\n");
        text.push('\n');
        let mut reader = ObjectReader::new(FLOW_KEY, text.as_bytes(), FLOW_LIMIT);
        let opts = FlowDecodeOptions {
            fallback_account_id: Some("123456789012".into()),
            fallback_region: Some("us-east-1".into()),
            ..FlowDecodeOptions::default()
        };
        decode_flow_text(FLOW_KEY, &mut reader, &opts, &mut flows)
            .map_err(|e| format!("decoding flow lines: {e}"))?;
    }
    if let Some(q) = ct.quarantined.iter().chain(&flows.quarantined).next() {
        return Err(format!("sample event quarantined: {q:?}"));
    }
    Ok((flows.batches, ct.batches))
}
