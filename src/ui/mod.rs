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
mod layout;
mod list;
mod net;
mod queries;
mod routes;

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use datafusion::prelude::SessionContext;
use flowtrail_core::Table;

pub use routes::router;

/// The site's state: the lake and its DataFusion session, made once and made again only when
/// a table folder appears (a service's lake fills in after start).
pub struct Ui {
    lake: PathBuf,
    cache: Mutex<Option<(Vec<bool>, SessionContext)>>,
}

impl Ui {
    pub fn new(lake: PathBuf) -> Arc<Ui> {
        Arc::new(Ui {
            lake,
            cache: Mutex::new(None),
        })
    }

    /// The lake folder.
    pub fn lake(&self) -> &std::path::Path {
        &self.lake
    }

    fn tables_present(&self) -> Vec<bool> {
        Table::ALL
            .iter()
            .map(|t| self.lake.join(t.name()).is_dir())
            .collect()
    }

    /// The session (cached).
    pub async fn ctx(&self) -> anyhow::Result<SessionContext> {
        let present = self.tables_present();
        if let Ok(c) = self.cache.lock()
            && let Some((p, ctx)) = c.as_ref()
            && *p == present
        {
            return Ok(ctx.clone());
        }
        let ctx = crate::lake_tables::session(&self.lake).await?;
        if let Ok(mut c) = self.cache.lock() {
            *c = Some((present, ctx.clone()));
        }
        Ok(ctx)
    }
}
