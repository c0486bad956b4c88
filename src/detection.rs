//! Wires detection into a run: batches → `flowtrail_detect::Engine` → findings →
//! `flowtrail_alerts::AlertPipeline` → alerts, delivered to the sinks (JSONL file, and the
//! lake's `alerts` table at commit). The inventory (interface → instance) learns from the same
//! batches and names the instance behind each alert's interface or address (`asset`).

use std::path::PathBuf;

use anyhow::Context;
use arrow::record_batch::RecordBatch;

use flowtrail_alerts::AlertPipeline;
use flowtrail_alerts::sink::AlertSink;
use flowtrail_alerts::suppress::Suppressions;
use flowtrail_core::{Alert, Table};
use flowtrail_detect::inventory::Inventory;
use flowtrail_detect::rules::RuleSet;
use flowtrail_detect::{Engine, EngineOptions, FenceConfig};
use flowtrail_ingest::replay::{Observer, ObserverError};

/// Detection settings from flags.
#[derive(Debug, Clone, Default)]
pub struct DetectionArgs {
    /// Extra rule folders.
    pub rules: Vec<PathBuf>,
    /// Suppression file.
    pub suppress: Option<PathBuf>,
    /// Baseline state folder.
    pub state: Option<PathBuf>,
    /// Dedupe window in minutes.
    pub dedupe_minutes: i64,
    /// Hours of data each run of the SQL rules covers.
    pub rules_batch_hours: u32,
    /// Grace period for late data, minutes (default 30).
    pub grace_minutes: Option<i64>,
    /// The service: the watermark is restored with the baselines, and the hours that were
    /// open are rebuilt from the lake ([`Detection::recover_from_lake`]).
    pub service: bool,
    /// Fence configuration (`unexpected_resource`).
    pub fence: Option<PathBuf>,
    /// Memory for held `flows` rows before they spill to disk, MiB.
    pub hold_memory_mb: u64,
    /// Folder for spill files (a temporary one when absent).
    pub spill_dir: Option<PathBuf>,
    /// Folder of Sigma rules (CloudTrail log source) run with the SQL rules.
    pub sigma: Option<PathBuf>,
    /// Network-behaviour detectors: tiers, allowed tier flows, resolvers, thresholds.
    pub network: flowtrail_detect::behaviour::BehaviourOptions,
}

/// The SQL rules (built-in and from `rules`) and, with `sigma`, the Sigma rules of that folder
/// compiled to SQL. A Sigma rule that does not compile is a warning naming its file and why.
pub fn load_rules(rules: &[PathBuf], sigma: Option<&std::path::Path>) -> anyhow::Result<RuleSet> {
    let Some(dir) = sigma else {
        return RuleSet::load(rules, true).context("loading detection rules");
    };
    let compiled = flowtrail_detect::sigma::load_dir(dir)
        .with_context(|| format!("loading Sigma rules from {}", dir.display()))?;
    compiled.warn_rejected();
    flowtrail_detect::sigma::rule_set(rules, true, &compiled)
        .context("loading detection rules with the Sigma rules")
}

/// Detection for one run.
pub struct Detection {
    engine: Engine,
    inventory: Inventory,
    /// The state folder the engine and the inventory were restored from (saved to by
    /// [`Detection::save`]).
    state: Option<PathBuf>,
    pipeline: AlertPipeline,
    sinks: Vec<Box<dyn AlertSink + Send>>,
    /// Every alert emitted in this run, in order.
    pub alerts: Vec<Alert>,
}

impl std::fmt::Debug for Detection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detection")
            .field("alerts", &self.alerts.len())
            .finish()
    }
}

impl Detection {
    /// Load rules, suppressions and baselines.
    pub fn new(
        args: &DetectionArgs,
        sinks: Vec<Box<dyn AlertSink + Send>>,
    ) -> anyhow::Result<Self> {
        let rules = load_rules(&args.rules, args.sigma.as_deref())?;
        let suppressions = match &args.suppress {
            Some(p) => Suppressions::load(p)?,
            None => Suppressions::none(),
        };
        let fence = match &args.fence {
            Some(p) => Some(FenceConfig::load(p).context("loading the fence configuration")?),
            None => None,
        };
        let engine = Engine::new(
            EngineOptions {
                rules_batch_hours: args.rules_batch_hours,
                resume_watermark: args.service,
                grace_minutes: args
                    .grace_minutes
                    .unwrap_or(EngineOptions::default().grace_minutes),
                fence,
                hold_memory_mb: args.hold_memory_mb,
                spill_dir: args.spill_dir.clone(),
                network: args.network.clone(),
                ..Default::default()
            },
            rules,
            args.state.as_deref(),
        )
        .context("restoring detection state")?;
        let pipeline = AlertPipeline::new(suppressions, args.dedupe_minutes.max(1) * 60_000);
        let inventory = match &args.state {
            Some(d) => Inventory::load(d).context("restoring the inventory")?,
            None => Inventory::new(),
        };
        Ok(Self {
            engine,
            inventory,
            state: args.state.clone(),
            pipeline,
            sinks,
            alerts: Vec::new(),
        })
    }

    fn deliver(&mut self, findings: Vec<flowtrail_core::Finding>) -> Result<(), ObserverError> {
        if findings.is_empty() {
            return Ok(());
        }
        let mut alerts = self.pipeline.process(findings, self.engine.watermark());
        // Alerts that complete a known attack path raise one more, linking them.
        let sequences = self.engine.correlate(&alerts);
        if !sequences.is_empty() {
            alerts.extend(self.pipeline.process(sequences, self.engine.watermark()));
        }
        for a in &mut alerts {
            name_asset(&self.inventory, a);
        }
        for s in &mut self.sinks {
            s.send(&alerts)?;
        }
        flowtrail_lake::crashpoint::hit("alerts_delivered");
        self.alerts.extend(alerts);
        Ok(())
    }

    /// Close every open hour and deliver the last alerts (baselines are saved by the caller,
    /// see [`crate::checkpoint`]).
    pub fn close(&mut self) -> anyhow::Result<()> {
        let findings = self.engine.finish()?;
        self.deliver(findings)
            .map_err(|e| anyhow::anyhow!("delivering alerts: {e}"))
    }

    /// Save the baselines and the inventory into `dir`.
    pub fn save_to(&self, dir: &std::path::Path) -> anyhow::Result<()> {
        self.engine
            .save_to(dir)
            .with_context(|| format!("saving detection state to {}", dir.display()))?;
        self.inventory
            .save(dir)
            .with_context(|| format!("saving the inventory to {}", dir.display()))
    }

    /// The inventory as `inventory` rows for the lake: always at the end of a replay, and in
    /// the service only when something changed or an hour of event time passed (`only_if_due`).
    pub fn inventory_snapshot(
        &mut self,
        only_if_due: bool,
    ) -> anyhow::Result<Option<(i64, RecordBatch)>> {
        self.inventory
            .snapshot(only_if_due)
            .context("building the inventory snapshot")
    }

    /// Judge again the rows of lake commits after sequence number `covered` that were made with
    /// detection on (a run crashed before its checkpoint). Returns the rows read back (from S3
    /// for a lake there).
    pub fn rejudge(
        &mut self,
        lake: &flowtrail_lake::LakeWriter,
        covered: u64,
    ) -> anyhow::Result<u64> {
        use flowtrail_lake::reread::{self, ReadOptions, Selection, Unreadable};
        let records: Vec<_> = lake
            .ledger()
            .committed_after(covered)
            .context("reading the lake ledger")?
            .into_iter()
            .filter(|r| r.detect)
            .collect();
        let opts = ReadOptions {
            columns: None,
            // Removed or damaged by hand: judge the rest rather than never run again.
            unreadable: Unreadable::Warn("its rows are not judged again"),
        };
        let read =
            reread::committed_rows(lake, Selection::Commits(&records), opts, |t, rel, b| {
                self.on_batch(t, b)
                    .map_err(|e| anyhow::anyhow!("judging {rel} again: {e}"))
            })?;
        Ok(read.rows)
    }

    /// Save baselines and the watermark (the service, after each cycle's commit).
    pub fn save(&self) -> anyhow::Result<()> {
        self.engine
            .save_with(flowtrail_lake::crashpoint::hit)
            .context("saving detection state")?;
        if let Some(d) = &self.state {
            self.inventory.save(d).context("saving the inventory")?;
        }
        Ok(())
    }

    /// Hours starting before this (ms) are judged and their rows late; `None` before any.
    pub fn closed_until(&self) -> Option<i64> {
        self.engine.closed_until()
    }

    /// The watermark (ms; i64::MIN before data) and the hours still open.
    pub fn position(&self) -> (i64, usize) {
        (self.engine.watermark(), self.engine.open_hours())
    }

    /// Bytes of held `flows` rows in memory, and rows spilled to disk so far.
    pub fn held(&self) -> (usize, u64) {
        (self.engine.held_bytes(), self.engine.stats().spilled_rows)
    }

    /// Rebuild the hours that were open when the service last stopped: their rows are in the
    /// lake (on S3 for a lake there: fetched into staging one file at a time), the judged hours
    /// in the restored baselines. Returns the rows re-read.
    pub fn recover_from_lake(
        &mut self,
        lake: &flowtrail_lake::LakeWriter,
        state: &std::path::Path,
    ) -> anyhow::Result<u64> {
        use flowtrail_lake::reread::{self, Selection};
        let records;
        let selection = match self.engine.reopen_from() {
            Some(from_ms) => Selection::HoursSince { from_ms },
            None => {
                // No hour was ever judged or saved as open: every commit made since the service
                // first started (it crashed before its first save) is unjudged.
                let Some(first) = service_start(state)? else {
                    return Ok(0);
                };
                records = lake.ledger().committed_after(first)?;
                Selection::Commits(&records)
            }
        };
        let read = reread::committed_rows(lake, selection, Default::default(), |table, rel, b| {
            self.inventory.observe(table, b);
            let findings = self
                .engine
                .observe(table, b)
                .with_context(|| format!("re-reading {rel}"))?;
            self.deliver(findings)
                .map_err(|e| anyhow::anyhow!("delivering alerts: {e}"))
        })?;
        Ok(read.rows)
    }

    /// A service starting with no saved detection state records the lake's commit count, so
    /// that a crash before its first save re-reads exactly the commits made after it.
    pub fn mark_service_start(
        &self,
        lake: &flowtrail_lake::LakeWriter,
        state: &std::path::Path,
    ) -> anyhow::Result<()> {
        let path = state.join(SERVICE_START);
        if self.engine.reopen_from().is_some() || path.exists() {
            return Ok(());
        }
        std::fs::create_dir_all(state)?;
        let tmp = state.join(format!(".{SERVICE_START}.tmp"));
        std::fs::write(&tmp, lake.ledger().commits().to_string())?;
        std::fs::rename(&tmp, &path)?;
        Ok(())
    }

    /// Take the alerts raised since the last call (the service writes them to the lake each
    /// cycle).
    pub fn take_alerts(&mut self) -> Vec<Alert> {
        std::mem::take(&mut self.alerts)
    }

    /// The run's alerts as batches for the lake, one per day of `first_seen`.
    pub fn alerts_by_day(&self) -> anyhow::Result<Vec<(i64, RecordBatch)>> {
        alerts_by_day(&self.alerts)
    }

    /// Engine counters.
    pub fn engine_stats(&self) -> flowtrail_detect::engine::EngineStats {
        self.engine.stats()
    }

    /// Pipeline counters.
    pub fn pipeline_stats(&self) -> flowtrail_alerts::pipeline::PipelineStats {
        self.pipeline.stats()
    }
}

impl Observer for Detection {
    fn on_batch(&mut self, table: Table, batch: &RecordBatch) -> Result<(), ObserverError> {
        self.inventory.observe(table, batch);
        let findings = self.engine.observe(table, batch)?;
        self.deliver(findings)
    }
}

/// Name the instance behind `alert`'s entity (an instance, an interface or a private address
/// the inventory knows as of the alert's first evidence); for an attack from outside (the
/// entity is the attacker's address), the instance it targets (`evidence.target`). Entity and
/// dedupe key are unchanged.
pub fn name_asset(inventory: &Inventory, alert: &mut Alert) {
    if alert.asset.is_some() {
        return;
    }
    let (t, account) = (
        alert.first_seen.timestamp_millis(),
        alert.account_id.as_deref(),
    );
    alert.asset = inventory
        .asset_for(alert.entity.kind, &alert.entity.id, account, t)
        .or_else(|| {
            let target = alert.evidence.get("target")?.as_str()?;
            inventory.asset_for(flowtrail_core::EntityKind::Ip, target, account, t)
        });
}

/// Alerts as batches for the lake, one per day of `first_seen`.
pub fn alerts_by_day(alerts: &[Alert]) -> anyhow::Result<Vec<(i64, RecordBatch)>> {
    let mut days: std::collections::BTreeMap<i64, Vec<Alert>> = Default::default();
    for a in alerts {
        let t = a.first_seen.timestamp_millis();
        days.entry(t.div_euclid(86_400_000) * 86_400_000)
            .or_default()
            .push(a.clone());
    }
    days.into_iter()
        .map(|(d, a)| Ok((d, flowtrail_alerts::sink::batch::to_batch(&a)?)))
        .collect()
}

/// The file under the state directory holding the lake's commit count when the service first
/// started.
const SERVICE_START: &str = "service_start";

fn service_start(state: &std::path::Path) -> anyhow::Result<Option<u64>> {
    match std::fs::read_to_string(state.join(SERVICE_START)) {
        Ok(t) => Ok(t.trim().parse().ok()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e.into()),
    }
}
