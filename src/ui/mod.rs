//! The local investigation site (`flowtrail ui`, and `serve`'s listener when `[ui]` is
//! configured): server-rendered pages over the lake, read-only. The alert list with filters,
//! an alert's story with its traffic against the baseline band, entity pages for interfaces,
//! instances, addresses and principals. Every value comes from the lake through DataFusion and
//! the read-only SQL guard of `flowtrail query`, and is escaped when printed.
//!
//! One concern per file: `routes` (URLs, inputs, errors), `list`/`alert`/`entity` (one page
//! each), `net` (an entity's addresses and hourly traffic), `queries` (the SQL), `filters`
//! (the list's query string), `band` (baseline band math), `chart`/`graph` (SVG), `layout`
//! (HTML frame, tables, escaping by construction).

mod alert;
mod band;
mod chart;
mod entity;
mod filters;
mod graph;
mod hold;
mod layout;
mod list;
mod net;
mod queries;
mod routes;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use datafusion::prelude::SessionContext;
use flowtrail_core::Table;

pub use hold::HOLD_TABLE_BYTES;
pub use routes::router;

/// The site's state: the lake and its DataFusion session, made once and made again only when
/// the lake changes (a table folder appears, or a commit lands in the ledger: a service's lake
/// fills in while the site is up, and the session caches file listings and metadata).
pub struct Ui {
    lake: PathBuf,
    /// Tables whose files take at most this many bytes are held in memory (`hold`); 0 holds
    /// none (the service, whose memory is budgeted).
    hold_bytes: u64,
    cache: Mutex<Option<(LakeVersion, SessionContext)>>,
}

/// What tells a changed lake: which tables exist, and the ledger folder's modification time.
type LakeVersion = (Vec<bool>, Option<std::time::SystemTime>);

impl Ui {
    /// The site over `lake`, reading every table from its files per page.
    pub fn new(lake: PathBuf) -> Arc<Ui> {
        Self::holding(lake, 0)
    }

    /// The site over `lake`, holding tables of at most `hold_bytes` of files in memory.
    pub fn holding(lake: PathBuf, hold_bytes: u64) -> Arc<Ui> {
        Arc::new(Ui {
            lake,
            hold_bytes,
            cache: Mutex::new(None),
        })
    }

    /// The lake folder.
    pub fn lake(&self) -> &std::path::Path {
        &self.lake
    }

    fn version(&self) -> LakeVersion {
        let tables = Table::ALL
            .iter()
            .map(|t| self.lake.join(t.name()).is_dir())
            .collect();
        let ledger = std::fs::metadata(self.lake.join(flowtrail_core::layout::LEDGER_DIR))
            .and_then(|m| m.modified())
            .ok();
        (tables, ledger)
    }

    /// The session (cached).
    pub async fn ctx(&self) -> anyhow::Result<SessionContext> {
        let present = self.version();
        if let Ok(c) = self.cache.lock()
            && let Some((p, ctx)) = c.as_ref()
            && *p == present
        {
            return Ok(ctx.clone());
        }
        let ctx = crate::lake_tables::session(&self.lake).await?;
        let held = hold::hold_small_tables(&ctx, &self.lake, self.hold_bytes).await?;
        tracing::debug!(?held, "tables held in memory for this lake version");
        if let Ok(mut c) = self.cache.lock() {
            *c = Some((present, ctx.clone()));
        }
        Ok(ctx)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn a_new_table_or_commit_is_a_new_lake_version() {
        let dir = tempfile::tempdir().unwrap();
        let ui = Ui::new(dir.path().to_path_buf());
        let v0 = ui.version();
        std::fs::create_dir(dir.path().join("flows")).unwrap();
        let v1 = ui.version();
        assert_ne!(v0, v1, "a table folder appeared");
        let ledger = dir.path().join(flowtrail_core::layout::LEDGER_DIR);
        std::fs::create_dir(&ledger).unwrap();
        let v2 = ui.version();
        assert_ne!(v1, v2);
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(ledger.join("00000001-a.json"), "{}").unwrap();
        assert_ne!(v2, ui.version(), "a commit landed");
        assert_eq!(ui.version(), ui.version());
    }
}
