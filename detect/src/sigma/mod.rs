//! Sigma rules with the CloudTrail log source (`logsource: product: aws, service: cloudtrail`),
//! compiled to SQL rules over the `cloudtrail` table and run with the others.
//!
//! [`load_dir`] reads every `*.yml` / `*.yaml` under a folder (rsigma-parser parses the YAML,
//! the values and the condition grammar), compiles each rule ([`expr`] for the detection,
//! [`field`] for the field names) into a [`Rule`] and plans it against an empty `cloudtrail`
//! table. It returns the compiled rules and, for every other file or rule, the reason it was
//! not compiled; [`SigmaRules::warn_rejected`] logs those at start. [`rule_set`] loads the
//! compiled rules together with the built-in and user SQL rules into one [`RuleSet`].
//!
//! A compiled rule groups the matching events of each 10-minute window by account, region and
//! principal: one finding per principal and window, detector `sigma_<file name>`, severity
//! from the rule's `level`, and in the evidence the Sigma id, level, author and file (`sigma`;
//! the Detection Rule License of SigmaHQ's rules asks that matches name the author), the
//! ATT&CK tactics and techniques of its tags (`attack`, also in the header's `-- attack:`
//! line), the event names and ids.

pub mod attack;
mod check;
pub mod expr;
pub mod field;
mod render;

use std::fmt;
use std::path::{Path, PathBuf};

use datafusion::error::DataFusionError;

use crate::DetectError;
use crate::rules::{Rule, RuleSet};
pub use attack::Attack;

/// A Sigma rule compiled to a SQL rule.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledRule {
    /// The YAML file.
    pub file: PathBuf,
    /// The Sigma rule's `id` (a UUID), when it has one.
    pub sigma_id: Option<String>,
    /// The Sigma rule's `title`.
    pub title: String,
    /// The Sigma `level` (`informational` … `critical`), when set.
    pub level: Option<String>,
    /// ATT&CK tactics and techniques from the tags.
    pub attack: Attack,
    /// The SQL rule (detector `sigma_<file name>`, `path` the YAML file).
    pub rule: Rule,
    /// The rule as a SQL rule file (header and SQL), as [`RuleSet`] loads it.
    pub text: String,
}

/// A file, or a rule in it, that was not compiled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    /// The YAML file.
    pub file: PathBuf,
    /// Why (naming the rule when the file holds several).
    pub reason: String,
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file.display(), self.reason)
    }
}

/// What [`load_dir`] found.
#[derive(Debug, Clone, Default)]
pub struct SigmaRules {
    /// Rules that compiled and plan, in file order.
    pub compiled: Vec<CompiledRule>,
    /// Everything else, with the reason.
    pub rejected: Vec<Rejected>,
}

impl SigmaRules {
    /// Log every rejected file as a warning (file and reason), and a summary line.
    pub fn warn_rejected(&self) {
        for r in &self.rejected {
            tracing::warn!(file = %r.file.display(), reason = %r.reason, "Sigma rule not loaded");
        }
        tracing::info!(
            compiled = self.compiled.len(),
            rejected = self.rejected.len(),
            "Sigma rules loaded"
        );
    }
}

/// A Sigma loading error (a rule that does not compile is not one: see [`Rejected`]).
#[derive(Debug, thiserror::Error)]
pub enum SigmaError {
    /// The folder or a file in it could not be read.
    #[error("reading Sigma rules at {path}")]
    Io {
        /// The folder or file.
        path: PathBuf,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The session that plans the compiled rules could not be made.
    #[error("preparing the planner for Sigma rules")]
    Planner {
        /// Cause.
        #[source]
        source: DataFusionError,
    },
    /// The rule set with the compiled rules did not load.
    #[error("loading the rule set with {count} Sigma rule(s)")]
    RuleSet {
        /// How many Sigma rules were added.
        count: usize,
        /// Cause.
        #[source]
        source: DetectError,
    },
}

/// Compile every `*.yml` / `*.yaml` under `dir` (recursively, in path order). Only an
/// unreadable folder or file is an error; rules that do not compile are in
/// [`SigmaRules::rejected`].
pub fn load_dir(dir: &Path) -> Result<SigmaRules, SigmaError> {
    let mut files = Vec::new();
    walk(dir, &mut files)?;
    files.sort();
    let planner = check::Planner::new()?;
    let mut out = SigmaRules::default();
    for file in files {
        let text = std::fs::read_to_string(&file).map_err(|source| SigmaError::Io {
            path: file.clone(),
            source,
        })?;
        let (compiled, rejected) = compile_file(&file, &text);
        out.rejected.extend(rejected);
        for c in compiled {
            let clash = out.compiled.iter().find(|o| o.rule.id == c.rule.id);
            let verdict = match clash {
                Some(o) => Err(format!(
                    "detector id `{}` is already taken by {}",
                    c.rule.id,
                    o.file.display()
                )),
                None => planner.check(&c.rule),
            };
            match verdict {
                Ok(()) => out.compiled.push(c),
                Err(reason) => out.rejected.push(Rejected {
                    file: c.file,
                    reason: format!("rule `{}`: {reason}", c.title),
                }),
            }
        }
    }
    Ok(out)
}

/// Compile the rules of one YAML file (not yet planned): the compiled ones and the reasons
/// for the rest.
pub fn compile_file(file: &Path, text: &str) -> (Vec<CompiledRule>, Vec<Rejected>) {
    let reject = |reason: String| Rejected {
        file: file.to_path_buf(),
        reason,
    };
    let collection = match rsigma_parser::parse_sigma_yaml(text) {
        Ok(c) => c,
        Err(e) => {
            let reason = format!("not a Sigma rule: {}", one_line(&e.to_string()));
            return (Vec::new(), vec![reject(reason)]);
        }
    };
    let mut rejected: Vec<Rejected> = collection
        .errors
        .iter()
        .map(|e| reject(format!("not a Sigma rule: {}", one_line(e))))
        .collect();
    if !collection.correlations.is_empty() {
        rejected.push(reject("correlation rules are not supported".into()));
    }
    if !collection.filters.is_empty() {
        rejected.push(reject("filter rules are not supported".into()));
    }
    if collection.rules.is_empty() && rejected.is_empty() {
        rejected.push(reject("no Sigma rule in the file".into()));
    }
    let base = render::detector_id(file);
    let several = collection.rules.len() > 1;
    let mut compiled = Vec::new();
    for (n, rule) in collection.rules.iter().enumerate() {
        let id = if several {
            format!("{base}_{}", n + 1)
        } else {
            base.clone()
        };
        match render::compile(file, &id, rule) {
            Ok(c) => compiled.push(c),
            Err(reason) => rejected.push(reject(if several {
                format!("rule `{}`: {reason}", rule.title)
            } else {
                reason
            })),
        }
    }
    (compiled, rejected)
}

/// The built-in rules (when `include_builtin`), the SQL rules of `sql_dirs` and the compiled
/// Sigma rules as one rule set: what `replay --sigma DIR` and `serve` with
/// `[detection] sigma = "DIR"` run.
pub fn rule_set(
    sql_dirs: &[PathBuf],
    include_builtin: bool,
    sigma: &SigmaRules,
) -> Result<RuleSet, SigmaError> {
    let count = sigma.compiled.len();
    let dir = tempfile::Builder::new()
        .prefix("flowtrail-sigma-")
        .tempdir()
        .map_err(|source| SigmaError::Io {
            path: std::env::temp_dir(),
            source,
        })?;
    for c in &sigma.compiled {
        let path = dir.path().join(format!("{}.sql", c.rule.id));
        std::fs::write(&path, &c.text).map_err(|source| SigmaError::Io { path, source })?;
    }
    let mut dirs = sql_dirs.to_vec();
    dirs.push(dir.path().to_path_buf());
    RuleSet::load(&dirs, include_builtin).map_err(|source| SigmaError::RuleSet { count, source })
}

/// A parser message on one line (condition errors come as several, with a caret under the
/// condition text).
fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), SigmaError> {
    let io = |source| SigmaError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(path);
        }
    }
    Ok(())
}
