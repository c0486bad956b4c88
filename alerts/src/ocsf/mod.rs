//! Alerts as OCSF **Detection Finding** (class 2004), the form `--alerts-format ocsf` writes
//! to the JSONL file and SNS, and `flowtrail export ocsf` writes to an Amazon Security Lake
//! custom source.
//!
//! **Version: OCSF 1.5.0.** It is the first release whose Detection Finding has
//! `anomaly_analyses` (observed value against baseline, which our baseline detectors are
//! about), and `finding_info` there has everything else we fill; later releases only add
//! attributes we do not use. Findings declare it in `metadata.version`. The test
//! `alerts/tests/ocsf_schema.rs` checks findings against our excerpt of the 1.5.0 class
//! (`check`) and, opt-in, against the full 1.5.0 schema (`docs/corpora.md`).
//!
//! Where each alert field goes, and why:
//!
//! | alert | OCSF | why |
//! |---|---|---|
//! | (every alert) | `class_uid` 2004, `category_uid` 2, `activity_id` 1 Create, `type_uid` 200401, `status_id` 1 New, `is_alert` true | an alert is a new detection, not yet triaged |
//! | `id` | `finding_info.uid`, `metadata.uid` | the stable alert id is the finding's identity |
//! | `title` | `finding_info.title`, `message` | |
//! | `why` if present, else a sentence from detector, title, count and times | `finding_info.desc` | |
//! | `detector` | `finding_info.types[0]`, `finding_info.analytic` (uid and name; type Statistical for baseline detectors, Rule for the others) | the detector is the analytic that fired |
//! | `first_seen`, `last_seen` | `finding_info.first_seen_time`/`last_seen_time`, `start_time`/`end_time` (ms) | |
//! | `last_seen` | `time` | the finding exists once its last evidence is seen; deterministic (no wall clock) |
//! | `count` | `count` | findings merged into the alert |
//! | `severity` | `severity_id`/`severity`: info 1, low 2, medium 3, high 4, critical 5 | same scale, names as OCSF captions |
//! | `dedupe_key` | `metadata.correlation_uid` | repeated findings share it |
//! | `account_id`, `region` | `cloud` (provider `AWS`, `account.uid`, `region`; the `cloud` profile) | |
//! | `entity` | `resources[0]` (uid, CloudFormation type name, region; `ip` for an address) | the entity is the affected resource |
//! | `next_steps` | `remediation.desc` (numbered, in order) ([`remediation`]) | the steps an analyst takes to resolve it |
//! | `asset` | `resources[0].data`, and `resources[1]` for the instance behind an interface or address (uid, type, name from its `Name` tag) | the instance is the resource an analyst acts on |
//! | `attack` | `finding_info.attacks` ([`attack`]) | flowtrail is a detector, not a security control, so not the top-level `attacks` |
//! | `evidence` | `evidences` ([`evidence`]), `anomaly_analyses` ([`anomaly`]) | |
//! | anything else | `unmapped` ([`unmapped`]) | nothing an alert carries is lost |
//!
//! `metadata.product` is flowtrail with the crate's version.

pub mod anomaly;
pub mod attack;
#[cfg(any(test, feature = "testsuite"))]
pub mod check;
pub mod evidence;
pub mod finding;
pub mod remediation;
pub mod resource;
pub mod table;
pub mod unmapped;

pub use finding::detection_finding;

/// The OCSF version findings are written in.
pub const OCSF_VERSION: &str = "1.5.0";
