//! The detection engine: event-time chunks with a watermark and a grace period.
//!
//! Rows are bucketed by the hour of their event time. The watermark is the newest event time
//! seen minus the grace period (default 30 minutes: CloudTrail can arrive 20 minutes late);
//! an hour is *closed* once the watermark passes its end, and only then are the SQL rules,
//! the flow baselines and `api_recon` run over it. So the same input gives the same findings
//! whatever order its files arrive in, as long as no file is later than the grace period
//! (replay orders objects by delivery time; rows later than that are counted in
//! [`Engine::late_rows`] and still land in the lake, but are not judged).
//! At the end of a replay, [`Engine::finish`] closes every open hour.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use arrow::array::{AsArray, RecordBatch, UInt32Array};
use arrow::compute::take_record_batch;
use arrow::datatypes::TimestampMillisecondType;
use serde::{Deserialize, Serialize};

use flowtrail_core::schema::EVENT_TIME;
use flowtrail_core::{Finding, Table};

use crate::DetectError;
use crate::baseline::{BaselineOptions, FlowBaselines};
use crate::recon::{ReconBaselines, ReconOptions};
use crate::rules::RuleSet;

const HOUR_MS: i64 = 3_600_000;

/// Engine settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineOptions {
    /// Grace period for late data, in minutes.
    pub grace_minutes: i64,
    /// Flow baseline tuning.
    pub baselines: BaselineOptions,
    /// `api_recon` tuning.
    pub recon: ReconOptions,
    /// SQL rules run over this many closed hours at once. 1 gives the lowest alert latency
    /// (the service); a replay uses more to spread the fixed cost of a query over more rows.
    /// Rule windows divide an hour and hours are whole, so findings are the same either way.
    pub rules_batch_hours: u32,
}

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            grace_minutes: 30,
            baselines: BaselineOptions::default(),
            recon: ReconOptions::default(),
            rules_batch_hours: 1,
        }
    }
}

#[derive(Debug, Default)]
struct Chunk {
    flows: Vec<RecordBatch>,
    cloudtrail: Vec<RecordBatch>,
}

/// Counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EngineStats {
    /// Hours closed and judged.
    pub chunks_closed: u64,
    /// Rows that arrived after their hour was closed.
    pub late_rows: u64,
    /// Findings produced.
    pub findings: u64,
}

/// The detection engine.
#[derive(Debug)]
pub struct Engine {
    grace_ms: i64,
    rules: RuleSet,
    chunks: BTreeMap<i64, Chunk>,
    max_event_ms: Option<i64>,
    closed_until: i64,
    flow: FlowBaselines,
    recon: ReconBaselines,
    stats: EngineStats,
    state_dir: Option<PathBuf>,
    rules_batch_hours: u32,
    pending: Chunk,
    pending_hours: u32,
}

fn chunk_groups(batch: &RecordBatch) -> Result<Vec<(i64, RecordBatch)>, DetectError> {
    let Some(t) = batch
        .column_by_name(EVENT_TIME)
        .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
    else {
        return Ok(Vec::new());
    };
    let mut groups: Vec<(i64, Vec<u32>)> = Vec::new();
    for (i, v) in t.iter().enumerate() {
        let Some(v) = v else { continue };
        let c = v.div_euclid(HOUR_MS) * HOUR_MS;
        match groups.iter_mut().rev().find(|g| g.0 == c) {
            Some(g) => g.1.push(i as u32),
            None => groups.push((c, vec![i as u32])),
        }
    }
    if groups.len() == 1 && groups[0].1.len() == batch.num_rows() {
        return Ok(vec![(groups[0].0, batch.clone())]);
    }
    groups
        .into_iter()
        .map(|(c, idx)| {
            take_record_batch(batch, &UInt32Array::from(idx))
                .map(|b| (c, b))
                .map_err(|source| DetectError::Arrow {
                    context: "chunking".into(),
                    source,
                })
        })
        .collect()
}

impl Engine {
    /// An engine with `rules`, restoring baselines from `state_dir` when given.
    pub fn new(
        opts: EngineOptions,
        rules: RuleSet,
        state_dir: Option<&Path>,
    ) -> Result<Self, DetectError> {
        let (flow, recon) = match state_dir {
            Some(d) => (
                FlowBaselines::load(d, opts.baselines.clone())?,
                ReconBaselines::load(d, opts.recon.clone())?,
            ),
            None => (
                FlowBaselines::new(opts.baselines.clone()),
                ReconBaselines::new(opts.recon.clone()),
            ),
        };
        Ok(Self {
            grace_ms: opts.grace_minutes * 60_000,
            rules,
            chunks: BTreeMap::new(),
            max_event_ms: None,
            closed_until: i64::MIN,
            flow,
            recon,
            stats: EngineStats::default(),
            state_dir: state_dir.map(Path::to_path_buf),
            rules_batch_hours: opts.rules_batch_hours.max(1),
            pending: Chunk::default(),
            pending_hours: 0,
        })
    }

    /// Counters.
    pub fn stats(&self) -> EngineStats {
        self.stats
    }

    /// The current watermark (ms), or i64::MIN before any data.
    pub fn watermark(&self) -> i64 {
        self.max_event_ms
            .map(|m| m - self.grace_ms)
            .unwrap_or(i64::MIN)
    }

    /// The flow baselines (for inspection and tests).
    pub fn flow_baselines(&self) -> &FlowBaselines {
        &self.flow
    }

    /// Take a batch of `flows` or `cloudtrail` rows; returns findings of hours this closed.
    pub fn observe(
        &mut self,
        table: Table,
        batch: &RecordBatch,
    ) -> Result<Vec<Finding>, DetectError> {
        if batch.num_rows() == 0 || table == Table::Alerts {
            return Ok(Vec::new());
        }
        for (start, part) in chunk_groups(batch)? {
            if start < self.closed_until {
                self.stats.late_rows += part.num_rows() as u64;
                continue;
            }
            let end_of_rows = start + HOUR_MS - 1;
            self.max_event_ms = Some(self.max_event_ms.map_or(start, |m| m.max(start)));
            // Advance by the newest row actually seen, not the hour's end.
            if let Some(t) = part
                .column_by_name(EVENT_TIME)
                .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
                && let Some(mx) = arrow::compute::max(t)
            {
                self.max_event_ms =
                    Some(self.max_event_ms.map_or(mx, |m| m.max(mx.min(end_of_rows))));
            }
            let c = self.chunks.entry(start).or_default();
            match table {
                Table::Flows => c.flows.push(part),
                _ => c.cloudtrail.push(part),
            }
        }
        self.close_until(self.watermark())
    }

    fn close_until(&mut self, watermark: i64) -> Result<Vec<Finding>, DetectError> {
        let mut out = Vec::new();
        while let Some((&start, _)) = self.chunks.iter().next() {
            if start + HOUR_MS > watermark {
                break;
            }
            let Some(chunk) = self.chunks.remove(&start) else {
                break;
            };
            out.extend(self.close_chunk(start, chunk)?);
        }
        Ok(out)
    }

    fn close_chunk(&mut self, start: i64, chunk: Chunk) -> Result<Vec<Finding>, DetectError> {
        self.closed_until = self.closed_until.max(start + HOUR_MS);
        let mut findings = Vec::new();
        if !chunk.flows.is_empty() {
            findings.extend(self.flow.close_hour(start, &chunk.flows));
        }
        if !chunk.cloudtrail.is_empty() {
            findings.extend(self.recon.close_chunk(&chunk.cloudtrail));
        }
        self.pending.flows.extend(chunk.flows);
        self.pending.cloudtrail.extend(chunk.cloudtrail);
        self.pending_hours += 1;
        if self.pending_hours >= self.rules_batch_hours {
            findings.extend(self.run_rules()?);
        }
        self.stats.chunks_closed += 1;
        self.stats.findings += findings.len() as u64;
        Ok(findings)
    }

    fn run_rules(&mut self) -> Result<Vec<Finding>, DetectError> {
        let pending = std::mem::take(&mut self.pending);
        self.pending_hours = 0;
        self.rules.evaluate(&pending.flows, &pending.cloudtrail)
    }

    /// Close every open hour (end of a replay) and return their findings.
    pub fn finish(&mut self) -> Result<Vec<Finding>, DetectError> {
        let mut out = self.close_until(i64::MAX)?;
        let rest = self.run_rules()?;
        self.stats.findings += rest.len() as u64;
        out.extend(rest);
        Ok(out)
    }

    /// Persist baselines to `dir` (a new checkpoint; the state directory is left alone).
    pub fn save_to(&self, dir: &Path) -> Result<(), DetectError> {
        self.flow.save(dir)?;
        self.recon.save(dir)
    }

    /// Persist baselines to the state directory, if there is one.
    pub fn save(&self) -> Result<(), DetectError> {
        if let Some(d) = &self.state_dir {
            self.flow.save(d)?;
            self.recon.save(d)?;
        }
        Ok(())
    }
}
