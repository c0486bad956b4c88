//! [`RuleSet`]: loads rules (built-in and user folders), plans each against empty tables at
//! load, and runs them over chunks of `flows` and `cloudtrail` rows with one long-lived
//! DataFusion session on its own current-thread tokio runtime.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use std::collections::BTreeSet;

use super::conform::{NullPool, conform, conform_parts, table_schema};
use super::table::HeldTable;
use crate::keep::{Part, Rows};
use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use datafusion::catalog::MemTable;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::LogicalPlan;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use flowtrail_core::alert::Finding;
use flowtrail_core::schema::cloudtrail::cloudtrail_schema;
use flowtrail_core::schema::flows::flows_schema;

use super::builtin::BUILTIN_RULES;
use super::finding::{check_result_schema, findings_from_batch};
use super::header::parse_rule;
use super::{Rule, RuleTable};
use crate::DetectError;

/// A loaded, validated set of rules and the session that runs them.
///
/// Each rule is parsed, analyzed and optimized once, at load, against two long-lived in-memory
/// tables (`flows`, `cloudtrail`); a chunk swaps its rows into those tables and only the
/// physical plans are made per chunk. Parsing and logical optimization of the SQL were most of
/// the fixed cost of a rule run.
pub struct RuleSet {
    rules: Vec<Rule>,
    ctx: SessionContext,
    runtime: tokio::runtime::Runtime,
    /// Serializes table registration and execution: one chunk at a time.
    lock: Mutex<()>,
    /// The `flows` and `cloudtrail` tables the cached plans read.
    tables: Option<(Arc<HeldTable>, Arc<HeldTable>)>,
    /// Each rule's optimized logical plan, in `rules` order.
    plans: Vec<LogicalPlan>,
    /// All-null columns lent to batches that hold only some columns ([`crate::keep`]).
    nulls: Arc<NullPool>,
}

impl std::fmt::Debug for RuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleSet")
            .field(
                "rules",
                &self.rules.iter().map(|r| &r.id).collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl RuleSet {
    /// Built-in rules (embedded from `detect/rules/*.sql`) plus every `*.sql` in `extra_dirs`.
    /// A user rule with the same id replaces the built-in (or an earlier folder's) one. Every
    /// rule is parsed and planned against empty tables: a bad header, or SQL that does not
    /// plan or lacks a column the header names, is [`DetectError::Rule`] naming the file.
    pub fn load(extra_dirs: &[PathBuf], include_builtin: bool) -> Result<RuleSet, DetectError> {
        let mut rules: Vec<Rule> = Vec::new();
        if include_builtin {
            for (id, text) in BUILTIN_RULES {
                let path = PathBuf::from(format!("builtin/{id}.sql"));
                rules.push(
                    parse_rule(&path, text).map_err(|reason| DetectError::Rule { path, reason })?,
                );
            }
        }
        for dir in extra_dirs {
            for rule in read_dir_rules(dir)? {
                match rules.iter_mut().find(|r| r.id == rule.id) {
                    Some(existing) => {
                        tracing::info!(id = %rule.id, path = %rule.path.display(), replaces = %existing.path.display(), "rule replaced");
                        *existing = rule;
                    }
                    None => rules.push(rule),
                }
            }
        }
        RuleSet::new(rules)
    }

    /// Only the rules in `dir` (no built-ins): what `flowtrail rules test DIR` checks.
    pub fn from_dir_only(dir: &Path) -> Result<RuleSet, DetectError> {
        RuleSet::new(read_dir_rules(dir)?)
    }

    /// The columns of `table` that the rules' plans scan; `None` when some scan could not be
    /// narrowed (every column is read).
    pub fn columns(&self, table: RuleTable) -> Option<BTreeSet<String>> {
        let name = match table {
            RuleTable::Flows => "flows",
            RuleTable::Cloudtrail => "cloudtrail",
        };
        let mut out = BTreeSet::new();
        let mut all = self.plans.len() != self.rules.len();
        for plan in &self.plans {
            let walked = plan.apply_with_subqueries(|node| {
                if let LogicalPlan::TableScan(scan) = node
                    && scan.table_name.table() == name
                {
                    if scan.projection.is_none() {
                        all = true;
                    }
                    out.extend(
                        scan.projected_schema
                            .fields()
                            .iter()
                            .map(|f| f.name().clone()),
                    );
                }
                Ok(TreeNodeRecursion::Continue)
            });
            all |= walked.is_err();
        }
        (!all).then_some(out)
    }

    /// The rules, built-ins first, in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Run every rule whose table has rows in the chunk; rules on an empty table are skipped.
    /// `flows` and `cloudtrail` are the chunk's batches (the core schemas). Synchronous: call
    /// it from a blocking thread (from inside an async task it runs on a scoped thread).
    pub fn evaluate(
        &self,
        flows: &[RecordBatch],
        cloudtrail: &[RecordBatch],
    ) -> Result<Vec<Finding>, DetectError> {
        self.run(|_| true, &Rows::from_batches(flows.to_vec()), cloudtrail)
    }

    /// [`RuleSet::evaluate`] over held `flows` rows, some of which may be spilled: those are
    /// streamed from disk by each scan.
    pub fn evaluate_rows(
        &self,
        flows: &Rows,
        cloudtrail: &[RecordBatch],
    ) -> Result<Vec<Finding>, DetectError> {
        self.run(|_| true, flows, cloudtrail)
    }

    /// Run the one rule `id` over the chunk (rule tests). An unknown id gives no findings.
    pub fn evaluate_rule(
        &self,
        id: &str,
        flows: &[RecordBatch],
        cloudtrail: &[RecordBatch],
    ) -> Result<Vec<Finding>, DetectError> {
        self.run(
            |r| r.id == id,
            &Rows::from_batches(flows.to_vec()),
            cloudtrail,
        )
    }

    fn new(rules: Vec<Rule>) -> Result<RuleSet, DetectError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|source| DetectError::Io {
                path: PathBuf::from("<tokio runtime>"),
                source,
            })?;
        let mut ctx =
            SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
        datafusion_functions_json::register_all(&mut ctx).map_err(|source| {
            DetectError::Execute {
                id: "<json functions>".into(),
                source,
            }
        })?;
        let mut set = RuleSet {
            rules,
            ctx,
            runtime,
            lock: Mutex::new(()),
            tables: None,
            plans: Vec::new(),
            nulls: Arc::new(NullPool::default()),
        };
        set.plan_all()?;
        Ok(set)
    }

    /// Register the two long-lived tables (empty), then plan every rule once: its result
    /// columns are checked, a physical plan is made to prove it runs, and its optimized logical
    /// plan is kept for the chunks.
    fn plan_all(&mut self) -> Result<(), DetectError> {
        let exec = |id: &str| {
            let id = id.to_string();
            move |source| DetectError::Execute { id, source }
        };
        let bad = |rule: &Rule, reason: String| DetectError::Rule {
            path: rule.path.clone(),
            reason,
        };
        let flows = Arc::new(HeldTable::new(flows_schema(), self.nulls.clone()));
        let ct = Arc::new(HeldTable::new(cloudtrail_schema(), self.nulls.clone()));
        for (name, t) in [("flows", &flows), ("cloudtrail", &ct)] {
            self.ctx.deregister_table(name).map_err(exec(name))?;
            self.ctx
                .register_table(name, t.clone())
                .map_err(exec(name))?;
        }
        let mut plans = Vec::with_capacity(self.rules.len());
        for rule in &self.rules {
            let planned = self.block_on(async {
                let df = self.ctx.sql_with_options(&rule.sql, sql_options()).await?;
                let schema = df.schema().inner().clone();
                let plan = df.into_optimized_plan()?;
                let state = self.ctx.state();
                state
                    .query_planner()
                    .create_physical_plan(&plan, &state)
                    .await?;
                Ok::<_, DataFusionError>((schema, plan))
            });
            let (schema, plan) = planned
                .map_err(|e| bad(rule, format!("SQL does not plan: {}", e.strip_backtrace())))?;
            check_result_schema(rule, &schema).map_err(|reason| bad(rule, reason))?;
            plans.push(plan);
        }
        self.plans = plans;
        self.tables = Some((flows, ct));
        Ok(())
    }

    fn run(
        &self,
        select: impl Fn(&Rule) -> bool,
        flows: &Rows,
        cloudtrail: &[RecordBatch],
    ) -> Result<Vec<Finding>, DetectError> {
        let (Some(f), Some(c), Some((flows_table, ct_table))) = (
            conform_parts(flows.parts(), &flows_schema(), &self.nulls),
            conform(cloudtrail, &cloudtrail_schema(), &self.nulls),
            &self.tables,
        ) else {
            // Rows in a variant of the core schema: plan from the SQL against them.
            return self.run_planning(select, &flows.load()?, cloudtrail);
        };
        let (has_flows, has_ct) = (!flows.is_empty(), !c.is_empty());
        let mut out = Vec::new();
        if !has_flows && !has_ct {
            return Ok(out);
        }
        let chosen: Vec<usize> = (0..self.rules.len())
            .filter(|&i| {
                let rule = &self.rules[i];
                select(rule)
                    && match rule.table {
                        RuleTable::Flows => has_flows,
                        RuleTable::Cloudtrail => has_ct,
                    }
            })
            .collect();
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        flows_table.set(f);
        ct_table.set(c.into_iter().map(Part::Mem).collect());
        let result = self.block_on(async {
            let state = self.ctx.state();
            let mut results = Vec::new();
            for &i in &chosen {
                let (rule, plan) = (&self.rules[i], &self.plans[i]);
                let started = std::time::Instant::now();
                let run = async {
                    let physical = state
                        .query_planner()
                        .create_physical_plan(plan, &state)
                        .await?;
                    datafusion::physical_plan::collect(physical, state.task_ctx()).await
                };
                let r = run.await;
                results.push((rule, r, started.elapsed()));
            }
            results
        });
        // Release the chunk's memory (and spill files) now rather than at the next chunk.
        flows_table.set(Vec::new());
        ct_table.set(Vec::new());
        for (rule, batches, took) in result {
            let batches = batches.map_err(|source| DetectError::Execute {
                id: rule.id.clone(),
                source,
            })?;
            let before = out.len();
            for b in &batches {
                findings_from_batch(rule, b, &mut out)?;
            }
            tracing::debug!(rule = %rule.id, findings = out.len() - before, ms = took.as_secs_f64() * 1e3, "rule ran");
        }
        Ok(out)
    }

    /// The uncached path: register the chunk as fresh tables and plan every rule from its SQL.
    fn run_planning(
        &self,
        select: impl Fn(&Rule) -> bool,
        flows: &[RecordBatch],
        cloudtrail: &[RecordBatch],
    ) -> Result<Vec<Finding>, DetectError> {
        let has_rows = |b: &[RecordBatch]| b.iter().any(|b| b.num_rows() > 0);
        let (has_flows, has_ct) = (has_rows(flows), has_rows(cloudtrail));
        let mut out = Vec::new();
        if !has_flows && !has_ct {
            return Ok(out);
        }
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let table_err = |table: &str| {
            let id = format!("<{table} table>");
            move |source| DetectError::Execute { id, source }
        };
        self.register("flows", table_schema(flows, flows_schema()), flows)
            .map_err(table_err("flows"))?;
        self.register(
            "cloudtrail",
            table_schema(cloudtrail, cloudtrail_schema()),
            cloudtrail,
        )
        .map_err(table_err("cloudtrail"))?;
        for rule in self.rules.iter().filter(|r| select(r)) {
            let has = match rule.table {
                RuleTable::Flows => has_flows,
                RuleTable::Cloudtrail => has_ct,
            };
            if !has {
                continue;
            }
            let batches = self
                .block_on(async {
                    self.ctx
                        .sql_with_options(&rule.sql, sql_options())
                        .await?
                        .collect()
                        .await
                })
                .map_err(|source| DetectError::Execute {
                    id: rule.id.clone(),
                    source,
                })?;
            let before = out.len();
            for b in &batches {
                findings_from_batch(rule, b, &mut out)?;
            }
            tracing::debug!(rule = %rule.id, findings = out.len() - before, "rule ran");
        }
        // Release the chunk's memory, and give the cached plans their tables back.
        match &self.tables {
            Some((f, c)) => {
                for (name, t) in [("flows", f), ("cloudtrail", c)] {
                    self.ctx.deregister_table(name).map_err(table_err(name))?;
                    self.ctx
                        .register_table(name, t.clone())
                        .map_err(table_err(name))?;
                }
            }
            None => {
                self.register("flows", flows_schema(), &[])
                    .map_err(table_err("flows"))?;
                self.register("cloudtrail", cloudtrail_schema(), &[])
                    .map_err(table_err("cloudtrail"))?;
            }
        }
        Ok(out)
    }

    fn register(
        &self,
        name: &str,
        schema: SchemaRef,
        batches: &[RecordBatch],
    ) -> Result<(), DataFusionError> {
        let batches: Vec<RecordBatch> = batches
            .iter()
            .filter(|b| b.num_rows() > 0)
            .cloned()
            .collect();
        let table = MemTable::try_new(schema, vec![batches])?;
        self.ctx.deregister_table(name)?;
        self.ctx.register_table(name, Arc::new(table))?;
        Ok(())
    }

    /// Drive a future on the rule set's runtime; from inside another runtime, on a scoped
    /// thread (a runtime cannot be entered from within one).
    fn block_on<T: Send>(&self, fut: impl Future<Output = T> + Send) -> T {
        if tokio::runtime::Handle::try_current().is_ok() {
            std::thread::scope(|s| {
                let h = s.spawn(|| self.runtime.block_on(fut));
                match h.join() {
                    Ok(v) => v,
                    Err(panic) => std::panic::resume_unwind(panic),
                }
            })
        } else {
            self.runtime.block_on(fut)
        }
    }
}

/// Rules run read-only queries: no DDL, DML or `SET`.
fn sql_options() -> SQLOptions {
    SQLOptions::new()
        .with_allow_ddl(false)
        .with_allow_dml(false)
        .with_allow_statements(false)
}

/// Parse every `*.sql` in `dir`, sorted by file name.
fn read_dir_rules(dir: &Path) -> Result<Vec<Rule>, DetectError> {
    let io = |source| DetectError::Io {
        path: dir.to_path_buf(),
        source,
    };
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "sql") && p.is_file())
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).map_err(|source| DetectError::Io {
                path: path.clone(),
                source,
            })?;
            parse_rule(&path, &text).map_err(|reason| DetectError::Rule { path, reason })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;

    use flowtrail_core::alert::{EntityKind, Severity};

    use super::*;
    use crate::rules::builtin::builtin_ids;

    fn batch(schema: SchemaRef, rows: &str) -> RecordBatch {
        let mut r = arrow::json::ReaderBuilder::new(schema)
            .build(Cursor::new(rows.as_bytes().to_vec()))
            .unwrap_or_else(|e| panic!("{e}"));
        r.next()
            .unwrap_or_else(|| panic!("no batch"))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn write(dir: &Path, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).unwrap_or_else(|e| panic!("{e}"));
    }

    const USER_RULE: &str = "-- id: root_activity\n-- title: custom {principal}\n-- severity: low\n\
        -- entity: principal:principal\n-- dedupe: principal\n-- window: 5m\n-- table: cloudtrail\n\
        SELECT min(event_time) AS first_seen, max(event_time) AS last_seen, user_identity_arn AS principal\n\
        FROM cloudtrail WHERE event_name = 'GetCallerIdentity' GROUP BY user_identity_arn\n";

    #[test]
    fn builtin_rules_load_and_plan() {
        let set = RuleSet::load(&[], true).unwrap_or_else(|e| panic!("{e}"));
        let ids: Vec<&str> = set.rules().iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, builtin_ids().collect::<Vec<_>>());
        assert!(set.evaluate(&[], &[]).is_ok_and(|f| f.is_empty()));
    }

    #[test]
    fn columns_are_those_the_plans_scan() {
        let set = RuleSet::load(&[], true).unwrap_or_else(|e| panic!("{e}"));
        let flows = set
            .columns(RuleTable::Flows)
            .unwrap_or_else(|| panic!("the built-in flow rules scan named columns"));
        for c in [
            "srcaddr",
            "dstaddr",
            "dstport",
            "srcport",
            "action",
            "log_status",
        ] {
            assert!(flows.contains(c), "{c} missing from {flows:?}");
        }
        // No built-in rule reads these.
        for c in ["vpc_id", "tcp_flags", "extra_fields"] {
            assert!(!flows.contains(c), "{c} in {flows:?}");
        }
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write(
            dir.path(),
            "wide.sql",
            "-- id: wide\n-- title: t\n-- severity: low\n-- entity: ip:srcaddr\n-- dedupe: srcaddr\n\
             -- window: 10m\n-- table: flows\n\
             SELECT event_time AS first_seen, event_time AS last_seen, srcaddr FROM flows WHERE tcp_flags = 2\n",
        );
        let set =
            RuleSet::load(&[dir.path().to_path_buf()], true).unwrap_or_else(|e| panic!("{e}"));
        let flows = set.columns(RuleTable::Flows).unwrap_or_default();
        assert!(
            flows.contains("tcp_flags"),
            "a user rule's column is scanned"
        );
    }

    #[test]
    fn user_rules_replace_builtins_and_bad_rules_name_their_file() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write(dir.path(), "root_activity.sql", USER_RULE);
        let set =
            RuleSet::load(&[dir.path().to_path_buf()], true).unwrap_or_else(|e| panic!("{e}"));
        let root = set.rules().iter().find(|r| r.id == "root_activity");
        assert_eq!(root.map(|r| r.severity), Some(Severity::Low));
        assert_eq!(set.rules().len(), builtin_ids().count());

        let cases = [
            (
                "bad_sql.sql",
                USER_RULE
                    .replace("root_activity", "bad_sql")
                    .replace("FROM cloudtrail", "FROM nowhere"),
                "nowhere",
            ),
            (
                "no_col.sql",
                USER_RULE
                    .replace("root_activity", "no_col")
                    .replace("AS principal", "AS who"),
                "principal",
            ),
            (
                "bad_head.sql",
                USER_RULE
                    .replace("root_activity", "bad_head")
                    .replace("5m", "7m"),
                "7m",
            ),
            (
                "ddl.sql",
                USER_RULE
                    .replace("root_activity", "ddl")
                    .replace("SELECT", "DROP TABLE flows; SELECT"),
                "ddl.sql",
            ),
        ];
        for (file, text, needle) in cases {
            let bad = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
            write(bad.path(), file, &text);
            let err = RuleSet::from_dir_only(bad.path())
                .map(|_| ())
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(file) && err.contains(needle), "{file}: {err}");
        }
    }

    #[test]
    fn evaluates_cloudtrail_rules_and_skips_empty_tables() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        write(dir.path(), "root_activity.sql", USER_RULE);
        let set = RuleSet::from_dir_only(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        let rows = [
            r#"{"event_time":"2026-01-08T10:05:00Z","event_name":"GetCallerIdentity","user_identity_arn":"arn:aws:iam::1:user/a","account_id":"1","region":"us-east-1","source_key":"k"}"#,
            r#"{"event_time":"2026-01-08T10:07:00Z","event_name":"GetCallerIdentity","user_identity_arn":"arn:aws:iam::1:user/a","account_id":"1","region":"us-east-1","source_key":"k"}"#,
            r#"{"event_time":"2026-01-08T10:07:00Z","event_name":"ListBuckets","user_identity_arn":"arn:aws:iam::1:user/b","account_id":"1","region":"us-east-1","source_key":"k"}"#,
        ];
        let ct = batch(cloudtrail_schema(), &rows.join("\n"));
        let f = set
            .evaluate(&[], std::slice::from_ref(&ct))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].entity.kind, EntityKind::Principal);
        assert_eq!(f[0].title, "custom arn:aws:iam::1:user/a");
        assert_eq!(f[0].dedupe_key, "root_activity|arn:aws:iam::1:user/a");
        assert_eq!(
            (f[0].first_seen_ms, f[0].last_seen_ms),
            (1_767_866_700_000, 1_767_866_820_000)
        );
        // The same set runs again on the next chunk; a flows-only chunk skips the rule.
        assert_eq!(set.evaluate(&[], &[ct]).map(|f| f.len()).ok(), Some(1));
        let fl = batch(
            flows_schema(),
            r#"{"srcaddr":"10.0.0.1","event_time":"2026-01-08T10:05:00Z","source_key":"k"}"#,
        );
        assert!(set.evaluate(&[fl], &[]).is_ok_and(|f| f.is_empty()));
    }
}
