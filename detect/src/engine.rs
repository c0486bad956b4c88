//! The detection engine: event-time chunks with a watermark and a grace period.
//!
//! Rows are bucketed by the hour of their event time. The watermark is the newest event time
//! seen minus the grace period (default 30 minutes: CloudTrail can arrive 20 minutes late);
//! an hour is *closed* once the watermark passes its end, and only then are the SQL rules,
//! the flow baselines and `api_recon` run over it. So the same input gives the same findings
//! whatever order its files arrive in, as long as no file is later than the grace period
//! (replay orders objects by delivery time; rows later than that are counted in
//! [`EngineStats::late_rows`] and still land in the lake, but are not judged).
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
use crate::baseline::eni_addrs::EniAddrs;
use crate::baseline::{BaselineOptions, FlowBaselines};
use crate::behaviour::{Behaviour, BehaviourOptions};
use crate::explain::Explainer;
use crate::fence::{Fence, FenceConfig};
use crate::keep::{DETECTOR_FLOW_COLUMNS, Held, Projection, Rows, spill_rows};
use crate::recon::{ReconBaselines, ReconOptions};
use crate::routine::{RoutineChanges, RoutineOptions};
use crate::rules::{RuleSet, RuleTable};
use crate::sequence::Sequences;
use crate::spill::SpillDir;
use flowtrail_core::schema::cloudtrail::cloudtrail_schema;
use flowtrail_core::schema::flows::flows_schema;

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
    /// Restore the watermark from the state directory (the service: hours judged before a
    /// restart stay judged, and the open hours are re-read from the lake). A replay leaves this
    /// off, so an older archive replayed with the same state is judged, not dropped as late.
    pub resume_watermark: bool,
    /// Watched subnets for `unexpected_resource` (off when absent).
    pub fence: Option<FenceConfig>,
    /// Memory for held `flows` rows (open hours, and closed ones waiting for the rules), MiB.
    /// Above it they are moved to spill files ([`crate::spill`]) and read back when judged:
    /// the engine's memory stays bounded whatever the rate, at the cost of local disk (about
    /// 60 bytes per row). 0 spills every batch as it arrives.
    pub hold_memory_mb: u64,
    /// Folder for spill files (emptied at start); a folder of its own under the system's
    /// temporary folder when absent.
    pub spill_dir: Option<PathBuf>,
    /// Network-behaviour detectors: tiers, allowed tier flows, resolvers, thresholds.
    pub network: BehaviourOptions,
}

/// One detector's findings over an hour.
type Judged = Result<Vec<Finding>, DetectError>;

/// The engine's own position, saved beside the baselines.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
struct Position {
    /// Hours before this (ms) are judged.
    closed_until: Option<i64>,
    /// Newest event time seen (ms).
    max_event_ms: Option<i64>,
    /// The oldest hour still open (ms): a restart re-reads the lake from here.
    #[serde(default)]
    open_from: Option<i64>,
}

const POSITION_FILE: &str = "engine.json";

impl Default for EngineOptions {
    fn default() -> Self {
        Self {
            grace_minutes: 30,
            baselines: BaselineOptions::default(),
            recon: ReconOptions::default(),
            rules_batch_hours: 1,
            resume_watermark: false,
            fence: None,
            hold_memory_mb: 1024,
            spill_dir: None,
            network: BehaviourOptions::default(),
        }
    }
}

/// An open hour's rows, as held ([`crate::keep`]).
#[derive(Debug)]
struct Chunk {
    flows: Held,
    cloudtrail: Held,
}

/// Rows of closed hours waiting for the rules.
#[derive(Debug, Default)]
struct Pending {
    flows: Rows,
    cloudtrail: Vec<RecordBatch>,
}

/// Counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct EngineStats {
    /// Time in the flow baselines (aggregation, judging, learning, clustering), µs.
    pub baseline_us: u64,
    /// Time in `api_recon`, µs.
    pub recon_us: u64,
    /// Time in the SQL rules, µs.
    pub rules_us: u64,
    /// Time bucketing rows into hours and holding them (projection, coalescing), µs.
    pub chunking_us: u64,
    /// Hours closed and judged.
    pub chunks_closed: u64,
    /// Rows that arrived after their hour was closed.
    pub late_rows: u64,
    /// Findings produced.
    pub findings: u64,
    /// Times the held `flows` rows went over the memory budget and were spilled.
    pub spills: u64,
    /// Rows spilled to disk.
    pub spilled_rows: u64,
    /// Bytes written to spill files.
    pub spilled_bytes: u64,
}

/// The detection engine.
#[derive(Debug)]
pub struct Engine {
    reopen_from: Option<i64>,
    grace_ms: i64,
    rules: RuleSet,
    /// Explains every finding before it leaves ([`crate::explain`]).
    explainer: Explainer,
    chunks: BTreeMap<i64, Chunk>,
    max_event_ms: Option<i64>,
    closed_until: i64,
    flow: FlowBaselines,
    recon: ReconBaselines,
    /// Learned change actors: drops routine, non-exposing changes ([`crate::routine`]).
    routine: RoutineChanges,
    /// Alerts on one entity forming a known path ([`crate::sequence`]).
    sequences: Sequences,
    fence: Option<Fence>,
    behaviour: Behaviour,
    stats: EngineStats,
    state_dir: Option<PathBuf>,
    rules_batch_hours: u32,
    pending: Pending,
    pending_hours: u32,
    /// The columns held of each table.
    keep_flows: Projection,
    keep_cloudtrail: Projection,
    hold_bytes: usize,
    spill_dir: Option<PathBuf>,
    spill: Option<SpillDir>,
}

fn chunk_groups(
    batch: &RecordBatch,
    rows: RecordBatch,
) -> Result<Vec<(i64, RecordBatch)>, DetectError> {
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
        return Ok(vec![(groups[0].0, rows)]);
    }
    groups
        .into_iter()
        .map(|(c, idx)| {
            take_record_batch(&rows, &UInt32Array::from(idx))
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
        if let Some(d) = state_dir {
            crate::state::recover(d)?;
        }
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
        let (routine, sequences) = match state_dir {
            Some(d) => (
                RoutineChanges::load(d, RoutineOptions::default())?,
                Sequences::load(d)?,
            ),
            None => (
                RoutineChanges::new(RoutineOptions::default()),
                Sequences::default(),
            ),
        };
        let behaviour = match state_dir {
            Some(d) => Behaviour::load(d, opts.network.clone())?,
            None => Behaviour::new(opts.network.clone())?,
        };
        let pos = match (state_dir, opts.resume_watermark) {
            (Some(d), true) => {
                crate::state::load_json::<Position>(d, POSITION_FILE)?.unwrap_or_default()
            }
            _ => Position::default(),
        };
        // Hours from the first unjudged one on were open (or not yet seen) at the save.
        let reopen_from = pos.closed_until.or(pos.open_from);
        let fence = match (opts.fence, state_dir) {
            (Some(c), Some(d)) => Some(Fence::load(d, c)?),
            (Some(c), None) => Some(Fence::new(c)),
            (None, _) => None,
        };
        // Hold what the rules scan and the detectors read; every column if a rule's scan
        // could not be narrowed.
        let keep_flows = match rules.columns(RuleTable::Flows) {
            Some(mut names) => {
                names.extend(DETECTOR_FLOW_COLUMNS.iter().map(|c| c.to_string()));
                Projection::new(flows_schema(), Some(&names))
            }
            None => Projection::all(flows_schema()),
        };
        let keep_cloudtrail = Projection::all(cloudtrail_schema());
        // An explicit spill folder is emptied now: files of a run that crashed are scratch
        // (its open hours are rebuilt from the lake).
        let spill = match &opts.spill_dir {
            Some(d) => Some(SpillDir::new(d.clone())?),
            None => None,
        };
        Ok(Self {
            hold_bytes: usize::try_from(opts.hold_memory_mb.saturating_mul(1 << 20))
                .unwrap_or(usize::MAX),
            spill_dir: opts.spill_dir,
            spill,
            keep_flows,
            keep_cloudtrail,
            reopen_from,
            grace_ms: opts.grace_minutes * 60_000,
            explainer: Explainer::new(&rules),
            rules,
            chunks: BTreeMap::new(),
            max_event_ms: pos.max_event_ms,
            closed_until: pos.closed_until.unwrap_or(i64::MIN),
            flow,
            recon,
            routine,
            sequences,
            fence,
            behaviour,
            stats: EngineStats::default(),
            state_dir: state_dir.map(Path::to_path_buf),
            rules_batch_hours: opts.rules_batch_hours.max(1),
            pending: Pending::default(),
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

    /// Hours starting before this (ms) are judged; rows for them are late. `None` before any
    /// hour closed. A restarted service re-reads the lake's rows from here on.
    pub fn closed_until(&self) -> Option<i64> {
        (self.closed_until > i64::MIN).then_some(self.closed_until)
    }

    /// With a restored watermark: the oldest hour that was open when the state was saved, whose
    /// rows (and later ones) must be re-read from the lake.
    pub fn reopen_from(&self) -> Option<i64> {
        self.reopen_from
    }

    /// Hours with rows waiting for the watermark.
    pub fn open_hours(&self) -> usize {
        self.chunks.len()
    }

    /// The flow baselines (for inspection and tests).
    pub fn flow_baselines(&self) -> &FlowBaselines {
        &self.flow
    }

    /// The fence detector, when subnets are watched (for inspection and tests).
    pub fn fence(&self) -> Option<&Fence> {
        self.fence.as_ref()
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
        let t = std::time::Instant::now();
        let keep = match table {
            Table::Flows => &self.keep_flows,
            _ => &self.keep_cloudtrail,
        };
        // Cut to the kept columns first: only those are copied into the hours.
        let rows = keep.apply(batch).unwrap_or_else(|| batch.clone());
        let groups = chunk_groups(batch, rows)?;
        for (start, part) in groups {
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
            let (kf, kc) = (&self.keep_flows, &self.keep_cloudtrail);
            let c = self.chunks.entry(start).or_insert_with(|| Chunk {
                flows: Held::new(kf),
                cloudtrail: Held::new(kc),
            });
            match table {
                Table::Flows => c.flows.push(part)?,
                _ => c.cloudtrail.push(part)?,
            }
        }
        self.stats.chunking_us += t.elapsed().as_micros() as u64;
        if table == Table::Flows {
            self.spill_if_over()?;
        }
        self.close_until(self.watermark())
    }

    /// Bytes of held `flows` rows in memory: open hours, and closed ones waiting for the rules.
    pub fn held_bytes(&self) -> usize {
        self.chunks
            .values()
            .map(|c| c.flows.mem_bytes())
            .sum::<usize>()
            + self.pending.flows.mem_bytes()
    }

    /// Over the budget: move every held `flows` batch to spill files.
    fn spill_if_over(&mut self) -> Result<(), DetectError> {
        let held = self.held_bytes();
        if self.hold_bytes > 0 && held <= self.hold_bytes {
            return Ok(());
        }
        let t = std::time::Instant::now();
        if self.spill.is_none() {
            self.spill = Some(match &self.spill_dir {
                Some(d) => SpillDir::new(d.clone())?,
                None => SpillDir::temp()?,
            });
        }
        let Some(dir) = self.spill.as_ref() else {
            return Ok(());
        };
        let before = dir.written();
        for c in self.chunks.values_mut() {
            c.flows.spill(&self.keep_flows, dir)?;
        }
        spill_rows(&mut self.pending.flows, &self.keep_flows, dir)?;
        let after = dir.written();
        self.stats.spills += 1;
        self.stats.spilled_rows += after.0 - before.0;
        self.stats.spilled_bytes += after.1 - before.1;
        self.stats.chunking_us += t.elapsed().as_micros() as u64;
        tracing::debug!(
            held_bytes = held,
            rows = after.0 - before.0,
            bytes = after.1 - before.1,
            "held flows spilled"
        );
        Ok(())
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
        let t = std::time::Instant::now();
        let flows = chunk.flows.finish()?;
        // CloudTrail is never spilled (a few percent of the rows).
        let cloudtrail = chunk.cloudtrail.finish()?.load()?;
        self.stats.chunking_us += t.elapsed().as_micros() as u64;
        let mut findings = Vec::new();
        if !flows.is_empty() {
            let t = std::time::Instant::now();
            let (flow, sequences, behaviour) = self.judge_flows(start, &flows);
            findings.extend(flow?);
            findings.extend(sequences?);
            findings.extend(behaviour?);
            self.stats.baseline_us += t.elapsed().as_micros() as u64;
        }
        if !cloudtrail.is_empty() {
            let t = std::time::Instant::now();
            self.sequences.learn(&cloudtrail);
            self.routine.learn(&cloudtrail);
            findings.extend(self.recon.close_chunk(&cloudtrail));
            self.stats.recon_us += t.elapsed().as_micros() as u64;
        }
        if let Some(f) = self.fence.as_mut() {
            findings.extend(f.close_hour(start, &flows, &cloudtrail)?);
        }
        self.explainer.explain_all(&mut findings, &cloudtrail);
        self.pending.flows.extend(flows);
        self.pending.cloudtrail.extend(cloudtrail);
        self.pending_hours += 1;
        if self.pending_hours >= self.rules_batch_hours {
            findings.extend(self.run_rules()?);
        }
        self.stats.chunks_closed += 1;
        self.stats.findings += findings.len() as u64;
        Ok(findings)
    }

    /// The flow baselines, `attack_sequence`'s access learning and the behaviour detectors
    /// over one closed hour. The three own disjoint state and only read the rows, so the
    /// behaviour detectors run on a thread of their own beside the other two: the hour's
    /// close takes the longer side's time, not the sum (in a replay the detection thread is
    /// the one serial stage, and it holds up ingest while it judges).
    ///
    /// Both flow detectors need the hour's ENI addresses before they read the records; they
    /// are learned once here (each side used to make the same pass, in parallel, so the
    /// close's longest path is the same and one pass of CPU is saved).
    fn judge_flows(&mut self, start: i64, flows: &Rows) -> (Judged, Judged, Judged) {
        let enis = match EniAddrs::learn(flows) {
            Ok(e) => e,
            Err(e) => return (Err(e), Ok(Vec::new()), Ok(Vec::new())),
        };
        let (flow, sequences, behaviour) =
            (&mut self.flow, &mut self.sequences, &mut self.behaviour);
        let enis = &enis;
        std::thread::scope(|s| {
            let beside = std::thread::Builder::new()
                .name("flowtrail-judge".into())
                .spawn_scoped(s, || behaviour.close_hour_learned(start, flows, enis));
            let f = flow.close_hour_learned(start, flows, enis);
            let q = sequences.learn_flows(flows);
            let b = match beside {
                Ok(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                Err(source) => Err(DetectError::Io {
                    path: PathBuf::from("<behaviour thread>"),
                    source,
                }),
            };
            (f, q, b)
        })
    }

    fn run_rules(&mut self) -> Result<Vec<Finding>, DetectError> {
        let pending = std::mem::take(&mut self.pending);
        self.pending_hours = 0;
        let t = std::time::Instant::now();
        let r = self
            .rules
            .evaluate_rows(&pending.flows, &pending.cloudtrail);
        self.stats.rules_us += t.elapsed().as_micros() as u64;
        let mut kept = self.routine.filter(r?);
        self.explainer.explain_all(&mut kept, &pending.cloudtrail);
        Ok(kept)
    }

    /// File new alerts for `attack_sequence` ([`crate::sequence`]): the findings of the
    /// sequences they complete, to go through the alert pipeline like any other.
    pub fn correlate(&mut self, alerts: &[flowtrail_core::Alert]) -> Vec<Finding> {
        let mut out = self.sequences.observe(alerts);
        self.explainer.explain_all(&mut out, &[]);
        out
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
        self.recon.save(dir)?;
        self.routine.save(dir)?;
        self.sequences.save(dir)?;
        self.behaviour.save(dir)?;
        if let Some(f) = &self.fence {
            f.save(dir)?;
        }
        Ok(())
    }

    /// Persist baselines to the state directory, if there is one.
    pub fn save(&self) -> Result<(), DetectError> {
        self.save_with(|_| {})
    }

    /// [`Engine::save`], calling `step("state_mid")` when part of the state is written and
    /// `step("state_written")` when all of it is durable, before it replaces the previous state
    /// (the binary's fault injection points).
    ///
    /// The position and the baselines are saved as one ([`crate::state::begin_save`]): after a
    /// crash the next start finds either the previous save or this one, never the position of
    /// one with the baselines of the other (which would skip re-reading hours whose learning
    /// was lost, or learn hours twice).
    pub fn save_with(&self, mut step: impl FnMut(&str)) -> Result<(), DetectError> {
        let Some(d) = &self.state_dir else {
            return Ok(());
        };
        let pos = Position {
            closed_until: self.closed_until(),
            max_event_ms: self.max_event_ms,
            open_from: self.chunks.keys().next().copied(),
        };
        let saving = crate::state::begin_save(d)?;
        crate::state::save_json(&saving, POSITION_FILE, &pos)?;
        step("state_mid");
        self.save_to(&saving)?;
        crate::state::seal_save(d)?;
        step("state_written");
        crate::state::finish_save(d)
    }
}
