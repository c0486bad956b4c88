//! SQL rules: detection as code. One rule a file (`rules/<id>.sql`): a header of
//! `-- key: value` lines (id, title, severity, entity, dedupe, threshold, window, table, attack), then
//! DataFusion SQL over the `flows` and `cloudtrail` tables of one chunk of event time.
//!
//! This module owns the rule format and its loading ([`header`]), the built-in rules
//! ([`builtin`]), running rules over a chunk ([`RuleSet`]), turning result rows into findings
//! ([`finding`]) and the rule test files (`rules/<id>.tests.json`, [`cases`]) that
//! `flowtrail rules test` runs.
//!
//! A rule's result columns: `first_seen` and `last_seen` (timestamps, required), the entity
//! column and the dedupe columns named in the header; optional `account_id`, `region` and
//! `severity` (a severity name overriding the header's for that row). Every other column goes
//! into the finding's evidence.

pub mod builtin;
pub mod cases;
mod conform;
pub mod finding;
pub mod header;
mod set;
mod table;

use std::path::PathBuf;

use flowtrail_core::alert::{Attack, EntityKind, Severity};

pub use set::RuleSet;

/// One rule, parsed from its file.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// Detector id (the file name without `.sql`).
    pub id: String,
    /// Title template with `{column}` placeholders.
    pub title: String,
    /// Severity unless a row's `severity` column says otherwise.
    pub severity: Severity,
    /// Kind of the entity.
    pub entity_kind: EntityKind,
    /// Result column holding the entity id.
    pub entity_column: String,
    /// Result columns forming the dedupe key.
    pub dedupe: Vec<String>,
    /// Keep only rows whose column is at least the value.
    pub threshold: Option<(String, f64)>,
    /// The rule's tumbling window in minutes (divides 60).
    pub window_minutes: u32,
    /// The table the rule reads (the rule is skipped when that table has no rows).
    pub table: RuleTable,
    /// ATT&CK ids from the `-- attack:` header lines (empty without one).
    pub attack: Attack,
    /// The SQL after the header.
    pub sql: String,
    /// Where the rule came from (`builtin/<id>.sql` for embedded rules).
    pub path: PathBuf,
}

/// The table a rule reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleTable {
    /// `flows`.
    Flows,
    /// `cloudtrail`.
    Cloudtrail,
}

impl RuleTable {
    /// The table name in SQL.
    pub fn as_str(self) -> &'static str {
        match self {
            RuleTable::Flows => "flows",
            RuleTable::Cloudtrail => "cloudtrail",
        }
    }
}
