//! The known attack paths: ordered stages, each a set of detectors, on one subject (an
//! instance, or a principal). A sequence is two or more consecutive stages of a path whose
//! alerts follow each other in event time within [`WINDOW_MS`].

use flowtrail_core::Severity;
use flowtrail_core::alert::StaticAttack;

/// The longest a sequence may take, first part to last.
pub const WINDOW_MS: i64 = 24 * 3_600_000;
/// How much earlier than the previous stage a part may start and still follow it (alerts of
/// one 10-minute window).
pub const SLACK_MS: i64 = 10 * 60_000;

/// One stage: its name and the detectors that show it.
#[derive(Debug, Clone, Copy)]
pub struct Stage {
    /// A word for the stage (`exposure`, `access`, …).
    pub name: &'static str,
    /// Detector ids.
    pub detectors: &'static [&'static str],
    /// Least severity a part must have (a security-group change must raise exposure).
    pub min_severity: Severity,
}

/// One path.
#[derive(Debug, Clone, Copy)]
pub struct Path {
    /// Id, in the alert's evidence and dedupe key.
    pub id: &'static str,
    /// What it means, for the title.
    pub title: &'static str,
    /// The stages, in order.
    pub stages: &'static [Stage],
    /// ATT&CK ids of the whole path.
    pub attack: StaticAttack,
}

const ACCESS: &[&str] = &[
    "ssh_brute_force",
    "rdp_brute_force",
    "admin_port_from_internet",
    "inbound_admin_access",
];
const AFTER_ACCESS: &[&str] = &[
    "volume_spike",
    "new_peer",
    "reverse_shell",
    "port_scan",
    "instance_credentials_used_elsewhere",
];

/// The paths judged.
pub const PATHS: &[Path] = &[
    Path {
        id: "exposure_access_spike",
        title: "opened to the internet, accessed, then unusual traffic",
        stages: &[
            Stage {
                name: "exposure",
                detectors: &["security_group_change", "nacl_allow_all"],
                min_severity: Severity::High,
            },
            Stage {
                name: "access",
                detectors: ACCESS,
                min_severity: Severity::Info,
            },
            Stage {
                name: "impact",
                detectors: AFTER_ACCESS,
                min_severity: Severity::Info,
            },
        ],
        attack: StaticAttack {
            tactics: &["TA0005", "TA0001", "TA0006", "TA0010"],
            techniques: &["T1562.007", "T1110", "T1048"],
        },
    },
    Path {
        id: "credential_use_escalation",
        title: "credentials created, used, then privileges changed",
        stages: &[
            Stage {
                name: "credentials",
                detectors: &[
                    "access_key_created",
                    "root_access_key_created",
                    "login_profile_for_other_user",
                    "federation_token_created",
                ],
                min_severity: Severity::Info,
            },
            Stage {
                name: "use",
                detectors: &[
                    "api_recon",
                    "instance_credentials_used_elsewhere",
                    "console_login_no_mfa",
                    "denied_api_burst",
                    "secrets_read_burst",
                ],
                min_severity: Severity::Info,
            },
            Stage {
                name: "privilege",
                detectors: &[
                    "iam_privilege_escalation",
                    "role_trust_backdoor",
                    "mfa_deactivated",
                    "cloudtrail_tampering",
                ],
                min_severity: Severity::Info,
            },
        ],
        attack: StaticAttack {
            tactics: &["TA0003", "TA0006", "TA0004"],
            techniques: &["T1098.001", "T1078.004", "T1098.003"],
        },
    },
];

impl Stage {
    /// An alert of `detector` at `severity` shows this stage.
    pub fn accepts(&self, detector: &str, severity: Severity) -> bool {
        self.detectors.contains(&detector) && severity >= self.min_severity
    }
}
