//! Planning compiled rules against an empty `cloudtrail` table (with the JSON functions the
//! rule set registers), so that a rule DataFusion does not accept is rejected with the reason
//! instead of failing the whole rule set at load.

use std::sync::Arc;

use datafusion::catalog::MemTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::{SQLOptions, SessionConfig, SessionContext};
use flowtrail_core::schema::cloudtrail::cloudtrail_schema;

use super::SigmaError;
use crate::rules::Rule;
use crate::rules::finding::check_result_schema;

/// A session with an empty `cloudtrail` table.
pub(crate) struct Planner {
    ctx: SessionContext,
    runtime: tokio::runtime::Runtime,
}

impl Planner {
    pub(crate) fn new() -> Result<Self, SigmaError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|source| SigmaError::Io {
                path: "<tokio runtime>".into(),
                source,
            })?;
        let mut ctx =
            SessionContext::new_with_config(SessionConfig::new().with_target_partitions(1));
        let planner = |source| SigmaError::Planner { source };
        datafusion_functions_json::register_all(&mut ctx).map_err(planner)?;
        let table = MemTable::try_new(cloudtrail_schema(), vec![Vec::new()]).map_err(planner)?;
        ctx.register_table("cloudtrail", Arc::new(table))
            .map_err(planner)?;
        Ok(Planner { ctx, runtime })
    }

    /// Whether the rule's SQL plans (logical and physical) and returns the columns its header
    /// names.
    pub(crate) fn check(&self, rule: &Rule) -> Result<(), String> {
        let options = SQLOptions::new()
            .with_allow_ddl(false)
            .with_allow_dml(false)
            .with_allow_statements(false);
        let planned = self.block_on(async {
            let df = self.ctx.sql_with_options(&rule.sql, options).await?;
            let schema = df.schema().inner().clone();
            df.create_physical_plan().await?;
            Ok::<_, DataFusionError>(schema)
        });
        let schema = planned.map_err(|e| format!("SQL does not plan: {}", e.strip_backtrace()))?;
        check_result_schema(rule, &schema)
    }

    /// Drive a future on this runtime; from inside another runtime, on a scoped thread.
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
