//! The Stratus Red Team AWS detonation logs (one file of CloudTrail events per attack
//! technique) replayed through the built-in rules: each technique must be caught by the
//! detectors listed for it, at the listed severity, and by no other; the techniques whose logs
//! carry no signal say why.
//!
//! The logs are not redistributed in this repository: point `FLOWTRAIL_STRATUS_DIR` at the
//! `docs/detonation-logs` folder of a stratus-red-team checkout and run with `--ignored`
//! (`docs/corpora.md`). The table below is flowtrail's expectation of that corpus.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use flowtrail_core::alert::Severity;
use flowtrail_detect::rules::RuleSet;

/// Technique → the detectors that must fire on its logs, each with its (highest) severity.
/// An empty list needs a reason in [`NO_SIGNAL`].
const EXPECTED: &[(&str, &[(&str, &str)])] = &[
    (
        "credential-access.ec2-get-password-data",
        &[
            ("denied_api_burst", "medium"),
            ("ec2_password_data_retrieval", "medium"),
        ],
    ),
    (
        "credential-access.ec2-steal-instance-credentials",
        &[
            ("instance_credentials_used_elsewhere", "high"),
            ("ssm_shell_command", "medium"),
        ],
    ),
    (
        "credential-access.secretsmanager-batch-retrieve-secrets",
        &[("secrets_read_burst", "medium")],
    ),
    (
        "credential-access.secretsmanager-retrieve-secrets",
        &[("secrets_read_burst", "medium")],
    ),
    (
        "credential-access.ssm-retrieve-securestring-parameters",
        &[("secrets_read_burst", "high")],
    ),
    (
        "defense-evasion.cloudtrail-delete",
        &[("cloudtrail_tampering", "critical")],
    ),
    (
        "defense-evasion.cloudtrail-event-selectors",
        &[("cloudtrail_tampering", "high")],
    ),
    (
        "defense-evasion.cloudtrail-stop",
        &[("cloudtrail_tampering", "critical")],
    ),
    (
        "defense-evasion.dns-delete-logs",
        &[("dns_query_logging_deleted", "high")],
    ),
    (
        "defense-evasion.organizations-leave",
        &[("organization_leave_attempt", "high")],
    ),
    (
        "defense-evasion.vpc-remove-flow-logs",
        &[("flow_logs_deleted", "high")],
    ),
    (
        "discovery.ec2-download-user-data",
        &[
            ("denied_api_burst", "medium"),
            ("instance_userdata_enumeration", "medium"),
        ],
    ),
    (
        "execution.ec2-launch-unusual-instances",
        &[("gpu_instance_launch", "medium")],
    ),
    (
        "execution.ec2-user-data",
        &[("instance_userdata_modified", "high")],
    ),
    (
        "execution.ssm-send-command",
        &[
            ("ssm_command_many_instances", "high"),
            ("ssm_shell_command", "medium"),
        ],
    ),
    (
        "execution.ssm-start-session",
        &[("ssm_command_many_instances", "high")],
    ),
    (
        "exfiltration.ec2-security-group-open-port-22-ingress",
        &[("security_group_change", "critical")],
    ),
    ("exfiltration.ec2-share-ami", &[("snapshot_shared", "high")]),
    (
        "exfiltration.ec2-share-ebs-snapshot",
        &[("snapshot_shared", "high")],
    ),
    (
        "exfiltration.rds-share-snapshot",
        &[("snapshot_shared", "high")],
    ),
    (
        "impact.bedrock-invoke-model",
        &[("bedrock_model_access_enabled", "medium")],
    ),
    (
        "initial-access.console-login-without-mfa",
        &[("console_login_no_mfa", "medium")],
    ),
    (
        "lateral-movement.ec2-instance-connect",
        &[("ec2_instance_connect_key_pushed", "medium")],
    ),
    (
        "lateral-movement.ec2-serial-console-send-ssh-public-key",
        &[
            ("ec2_instance_connect_key_pushed", "high"),
            ("serial_console_enabled", "high"),
        ],
    ),
    (
        "persistence.iam-backdoor-role",
        &[("role_trust_backdoor", "high")],
    ),
    (
        "persistence.iam-backdoor-user",
        &[("access_key_created", "high")],
    ),
    (
        "persistence.iam-create-admin-user",
        &[
            ("access_key_created", "high"),
            ("iam_privilege_escalation", "high"),
        ],
    ),
    (
        "persistence.iam-create-backdoor-role",
        &[
            ("iam_privilege_escalation", "high"),
            ("role_trust_backdoor", "high"),
        ],
    ),
    (
        "persistence.iam-create-user-login-profile",
        &[("login_profile_for_other_user", "high")],
    ),
    (
        "persistence.lambda-backdoor-function",
        &[("lambda_public", "high")],
    ),
    (
        "persistence.lambda-layer-extension",
        &[("lambda_layer_attached", "medium")],
    ),
    (
        "persistence.lambda-overwrite-code",
        &[("lambda_code_overwritten", "medium")],
    ),
    (
        "persistence.rolesanywhere-create-trust-anchor",
        &[("rolesanywhere_trust_anchor_created", "high")],
    ),
    (
        "persistence.sts-federation-token",
        &[("federation_token_created", "high")],
    ),
    (
        "privilege-escalation.iam-update-user-login-profile",
        &[("login_profile_for_other_user", "medium")],
    ),
];

/// Techniques whose detonation logs carry nothing a CloudTrail rule can tell from routine
/// use, and why.
const NO_SIGNAL: &[(&str, &str)] = &[];

const VAR: &str = "FLOWTRAIL_STRATUS_DIR";
const WHAT: &str = "the docs/detonation-logs folder of a DataDog/stratus-red-team checkout";

fn replay(set: &RuleSet, dir: &Path, technique: &str) -> BTreeMap<String, Severity> {
    let path = dir.join(format!("aws.{technique}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{technique}: {e}"));
    let batch = common::cloudtrail_batch(&common::array_records(&text));
    let findings = set
        .evaluate(&[], &[batch])
        .unwrap_or_else(|e| panic!("{technique}: {e}"));
    let mut fired: BTreeMap<String, Severity> = BTreeMap::new();
    for f in findings {
        let top = fired.entry(f.detector.clone()).or_insert(f.severity);
        *top = (*top).max(f.severity);
    }
    fired
}

#[test]
#[ignore = "needs the Stratus Red Team detonation logs: set FLOWTRAIL_STRATUS_DIR and run with --ignored"]
fn every_stratus_aws_technique_is_detected_by_the_detectors_named_for_it() {
    let dir = common::corpus_dir(VAR, WHAT);
    let set = RuleSet::load(&[], true).unwrap_or_else(|e| panic!("loading rules: {e}"));
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|n| Some(n.strip_prefix("aws.")?.strip_suffix(".json")?.to_string()))
        .collect();
    files.sort();
    let listed: Vec<String> = EXPECTED.iter().map(|(t, _)| t.to_string()).collect();
    assert_eq!(
        files, listed,
        "every detonation log has a row, every row a log"
    );

    let mut problems = Vec::new();
    let mut detected = 0;
    for (technique, want) in EXPECTED {
        let got = replay(&set, &dir, technique);
        let want: BTreeMap<String, Severity> = want
            .iter()
            .map(|(d, s)| (d.to_string(), s.parse().unwrap_or_else(|e| panic!("{e}"))))
            .collect();
        if want.is_empty() {
            assert!(
                NO_SIGNAL.iter().any(|(t, _)| t == technique),
                "{technique}: no detector and no reason"
            );
        } else {
            detected += 1;
        }
        if got != want {
            problems.push(format!("{technique}: expected {want:?}, got {got:?}"));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert!(
        detected >= 32,
        "only {detected} of {} techniques detected",
        EXPECTED.len()
    );
}
