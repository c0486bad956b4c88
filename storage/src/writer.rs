//! [`LakeWriter`]: buffers decoded rows per table and partition and commits them to the lake
//! with the protocol described in [`crate`], together with the quarantine records and the
//! identities of the source objects they came from.
//!
//! Memory is bounded by bytes, not rows: a commit is due when the buffered batches take
//! [`WriterOptions::max_buffered_bytes`] (or [`WriterOptions::max_buffered_rows`]). Small
//! batches (one per small object) are merged into one sorted run per partition as they
//! accumulate (`runs.rs`), so thousands of small objects cost their rows, not their count;
//! larger batches, already sorted runs, are kept as they are (copying them would cost a pass
//! over their rows for nothing).

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use arrow::record_batch::RecordBatch;

use flowtrail_core::layout::QUARANTINE_DIR;
use flowtrail_core::nulls::batch_memory_size;
use flowtrail_core::{PartitionKey, Table};

use crate::LakeError;
use crate::crashpoint;
use crate::encode::{self, EncodeOptions, FileJob};
use crate::ledger::{CommitRecord, Ledger, LedgerEntry, Recorded, write_durable};
use crate::partition;
use crate::quarantine::QuarantineRecord;
use crate::runs;

/// Default bound on the bytes of rows buffered between commits.
pub const DEFAULT_MAX_BUFFERED_BYTES: usize = 256 << 20;

/// Batches of a partition buffered before they are merged into one sorted run, when they are
/// small (fewer than [`runs::SMALL_RUN_ROWS`] rows on average).
const COMPACT_AFTER: usize = 16;

/// Writer settings.
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Commit when this many rows are buffered.
    pub max_buffered_rows: usize,
    /// Commit when the buffered batches take this many bytes (Arrow memory, capacity included).
    pub max_buffered_bytes: usize,
    /// Rows per parquet row group, at most.
    pub row_group_rows: usize,
    /// zstd level (1 is fast and still ~8x smaller than the gzip text input on flow logs).
    pub zstd_level: i32,
    /// Threads encoding a commit's parquet files.
    pub encode_threads: usize,
}

impl Default for WriterOptions {
    fn default() -> Self {
        Self {
            max_buffered_rows: 1_000_000,
            max_buffered_bytes: DEFAULT_MAX_BUFFERED_BYTES,
            row_group_rows: encode::ROW_GROUP_ROWS,
            zstd_level: 1,
            encode_threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
        }
    }
}

/// One partition's buffered rows: compacted batches, then the recent small ones.
#[derive(Debug, Default)]
struct PartBuffer {
    compacted: Vec<RecordBatch>,
    recent: Vec<RecordBatch>,
    bytes: usize,
}

impl PartBuffer {
    /// Add `batch`; returns the change in buffered bytes (negative after a compaction frees
    /// spare capacity).
    fn push(&mut self, batch: RecordBatch) -> isize {
        let before = self.bytes as isize;
        let size = batch_memory_size(&batch);
        self.bytes += size;
        self.recent.push(batch);
        if self.recent.len() >= COMPACT_AFTER {
            let rows: usize = self.recent.iter().map(RecordBatch::num_rows).sum();
            if rows < COMPACT_AFTER * runs::SMALL_RUN_ROWS {
                self.compact();
            } else {
                self.compacted.append(&mut self.recent);
            }
        }
        self.bytes as isize - before
    }

    fn compact(&mut self) {
        if self.recent.is_empty() {
            return;
        }
        // Batches of one table share their columns; if they ever do not, they stay as they
        // are (the encoder reports the mismatch with the file's name).
        match runs::sorted_run(&self.recent) {
            Ok(one) => {
                let freed: usize = self.recent.iter().map(batch_memory_size).sum();
                self.bytes = self.bytes + batch_memory_size(&one) - freed;
                self.recent.clear();
                self.compacted.push(one);
            }
            Err(e) => {
                tracing::debug!(error = %e, "buffered batches not compacted");
                self.compacted.append(&mut self.recent);
            }
        }
    }

    fn into_batches(mut self) -> Vec<RecordBatch> {
        self.compacted.append(&mut self.recent);
        self.compacted
    }

    fn rows(&self) -> u64 {
        self.compacted
            .iter()
            .chain(&self.recent)
            .map(|b| b.num_rows() as u64)
            .sum()
    }
}

/// What one commit wrote.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CommitSummary {
    /// Parquet files made visible.
    pub files: usize,
    /// Rows per table.
    pub rows: BTreeMap<Table, u64>,
    /// Quarantine records written.
    pub quarantined: u64,
    /// Ledger entries recorded as done (source objects, alerts, a checkpoint).
    pub sources: usize,
}

/// Buffers rows and commits them atomically to a local lake.
#[derive(Debug)]
pub struct LakeWriter {
    root: PathBuf,
    opts: WriterOptions,
    ledger: Ledger,
    buffers: BTreeMap<(Table, PartitionKey), PartBuffer>,
    buffered_rows: usize,
    buffered_bytes: usize,
    quarantine: Vec<QuarantineRecord>,
    sources: Vec<LedgerEntry>,
    cursors: BTreeMap<String, String>,
    mirror: Option<crate::mirror::S3Mirror>,
    /// A commit is committed here but not yet on S3 (its copy failed).
    mirror_behind: bool,
    detect: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> LakeError + '_ {
    move |source| LakeError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl LakeWriter {
    /// Open the lake at `root` (created if missing), rolling back unfinished commits.
    pub fn open(root: &Path, opts: WriterOptions) -> Result<Self, LakeError> {
        fs::create_dir_all(root).map_err(io(root))?;
        let ledger = Ledger::open(root)?;
        Ok(Self {
            root: root.to_path_buf(),
            opts,
            ledger,
            buffers: BTreeMap::new(),
            buffered_rows: 0,
            buffered_bytes: 0,
            quarantine: Vec::new(),
            sources: Vec::new(),
            cursors: BTreeMap::new(),
            mirror: None,
            mirror_behind: false,
            detect: false,
        })
    }

    /// Copy every commit to S3 after it is committed here (the lake lives on S3; this
    /// directory is its staging area). Commits a failed copy left behind are copied first.
    pub fn set_mirror(&mut self, mirror: crate::mirror::S3Mirror) -> Result<(), LakeError> {
        mirror.sync(&self.root)?;
        self.mirror = Some(mirror);
        Ok(())
    }

    /// The S3 mirror, if the lake lives on S3.
    pub fn mirror(&self) -> Option<&crate::mirror::S3Mirror> {
        self.mirror.as_ref()
    }

    /// Whether a commit made here is not on S3 yet (its copy failed; it is retried after the
    /// next commit or by [`LakeWriter::sync_mirror`]).
    pub fn mirror_behind(&self) -> bool {
        self.mirror_behind
    }

    /// Copy to S3 the commits a failed copy left behind. Whether S3 now has every commit.
    pub fn sync_mirror(&mut self) -> bool {
        let Some(m) = &self.mirror else {
            return true;
        };
        match m.sync(&self.root) {
            Ok(s) => {
                tracing::debug!(commits = s.commits, files = s.files, "copied to S3");
                self.mirror_behind = false;
            }
            Err(e) => {
                tracing::warn!(error = %e, "copying the commit to S3 failed; retried after the next commit");
                self.mirror_behind = true;
            }
        }
        !self.mirror_behind
    }

    /// The lake root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The ledger (to skip sources already in the lake).
    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// Rows buffered and not yet committed.
    pub fn buffered_rows(&self) -> usize {
        self.buffered_rows
    }

    /// Bytes of rows buffered and not yet committed (Arrow memory, capacity included).
    pub fn buffered_bytes(&self) -> usize {
        self.buffered_bytes
    }

    fn buffer(&mut self, table: Table, key: PartitionKey, batch: RecordBatch) {
        self.buffered_rows += batch.num_rows();
        let delta = self.buffers.entry((table, key)).or_default().push(batch);
        self.buffered_bytes = self.buffered_bytes.saturating_add_signed(delta);
    }

    /// Buffer a batch of `flows` or `cloudtrail` rows.
    pub fn add(&mut self, table: Table, batch: &RecordBatch) -> Result<(), LakeError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        self.add_parts(table, partition::split(batch)?);
        Ok(())
    }

    /// Buffer rows already split by [`partition::split`] (on the thread that decoded them).
    pub fn add_parts(&mut self, table: Table, parts: Vec<(PartitionKey, RecordBatch)>) {
        for (key, part) in parts {
            self.buffer(table, key, part);
        }
    }

    /// Buffer a batch of `alerts` rows, all in the partition of `date_ms`'s day.
    pub fn add_alerts(&mut self, date_ms: i64, batch: RecordBatch) {
        if batch.num_rows() == 0 {
            return;
        }
        let key = PartitionKey::at("", "", date_ms);
        self.buffer(Table::Alerts, key, batch);
    }

    /// Buffer an `inventory` snapshot, in the partition of `date_ms`'s day.
    pub fn add_inventory(&mut self, date_ms: i64, batch: RecordBatch) {
        if batch.num_rows() == 0 {
            return;
        }
        let key = PartitionKey::at("", "", date_ms);
        self.buffer(Table::Inventory, key, batch);
    }

    /// Buffer a quarantine record (written in the same commit as the rows of its object).
    pub fn quarantine(&mut self, rec: QuarantineRecord) {
        self.quarantine.push(rec);
    }

    /// Record that every row and quarantine record of a source object (a [`SourceId`](crate::SourceId)), an
    /// alert or a checkpoint has been buffered: the next commit marks it done.
    pub fn source_done(&mut self, entry: impl Into<LedgerEntry>) {
        self.sources.push(entry.into());
    }

    /// Advance a source cursor in the next commit (after the rows read up to it are buffered).
    pub fn set_cursor(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.cursors.insert(name.into(), value.into());
    }

    /// A cursor's position: buffered for the next commit, else the committed one.
    pub fn cursor(&self, name: &str) -> Option<&str> {
        self.cursors
            .get(name)
            .map(String::as_str)
            .or_else(|| self.ledger.cursor(name))
    }

    /// Record in later commits that detection saw their rows (so that a run after a crash
    /// judges the rows again when detection's checkpoint does not cover them).
    pub fn set_detect(&mut self, on: bool) {
        self.detect = on;
    }

    /// Whether enough is buffered that a commit is due.
    pub fn should_commit(&self) -> bool {
        self.buffered_rows >= self.opts.max_buffered_rows
            || self.buffered_bytes >= self.opts.max_buffered_bytes
    }

    fn commit_id(&self) -> String {
        let mut h = xxhash_rust::xxh3::Xxh3::new();
        for s in &self.sources {
            h.update(&Recorded::fingerprint(s).to_le_bytes());
        }
        h.update(&(self.buffered_rows as u64).to_le_bytes());
        h.update(&(self.quarantine.len() as u64).to_le_bytes());
        for (k, v) in &self.cursors {
            h.update(k.as_bytes());
            h.update(v.as_bytes());
        }
        format!("{:08}-{:016x}", self.ledger.commits() + 1, h.digest())
    }

    fn encode_options(&self) -> EncodeOptions {
        EncodeOptions {
            zstd_level: self.opts.zstd_level,
            row_group_rows: self.opts.row_group_rows,
            threads: self.opts.encode_threads,
        }
    }

    /// Write everything buffered, then make it visible at once with the sources it came from.
    pub fn commit(&mut self) -> Result<CommitSummary, LakeError> {
        if self.buffers.is_empty()
            && self.quarantine.is_empty()
            && self.sources.is_empty()
            && self.cursors.is_empty()
        {
            return Ok(CommitSummary::default());
        }
        let id = self.commit_id();
        let buffers = std::mem::take(&mut self.buffers);
        let quarantine = std::mem::take(&mut self.quarantine);
        let sources = std::mem::take(&mut self.sources);
        let cursors = std::mem::take(&mut self.cursors);
        self.buffered_rows = 0;
        self.buffered_bytes = 0;

        let mut files = Vec::new();
        let mut rows: BTreeMap<String, u64> = BTreeMap::new();
        let mut summary = CommitSummary {
            sources: sources.len(),
            ..Default::default()
        };
        for (n, ((table, key), _)) in buffers.iter().enumerate() {
            files.push(format!("{}/{id}-{n:04}.parquet", key.dir(*table)));
        }
        let qfile = format!("{QUARANTINE_DIR}/{id}.jsonl");
        if !quarantine.is_empty() {
            files.push(qfile.clone());
        }
        for ((table, _), part) in &buffers {
            let n = part.rows();
            *rows.entry(table.name().to_string()).or_default() += n;
            *summary.rows.entry(*table).or_default() += n;
        }
        let record = CommitRecord {
            id: id.clone(),
            files: files.clone(),
            sources,
            rows,
            cursors,
            detect: self.detect,
        };
        let pending = self.ledger.begin(&record)?;
        crashpoint::hit("ledger_pending");

        // Steps 2 and 3: temp files, then renames (several files at once).
        let mut dirs = Vec::new();
        let mut jobs = Vec::with_capacity(buffers.len());
        for (rel, (_, part)) in files.iter().zip(buffers) {
            let path = self.root.join(rel);
            let dir = path
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| self.root.clone());
            fs::create_dir_all(&dir).map_err(io(&dir))?;
            dirs.push(dir);
            jobs.push(FileJob {
                path,
                batches: part.into_batches(),
            });
        }
        summary.files = jobs.len();
        encode::write_all(jobs, &self.encode_options())?;
        if !quarantine.is_empty() {
            let path = self.root.join(&qfile);
            if let Some(dir) = path.parent() {
                fs::create_dir_all(dir).map_err(io(dir))?;
            }
            let mut text = Vec::new();
            for q in &quarantine {
                serde_json::to_writer(&mut text, q).map_err(|e| LakeError::Io {
                    path: path.clone(),
                    source: std::io::Error::other(e),
                })?;
                text.push(b'\n');
            }
            write_durable(&path, &text)?;
            crashpoint::hit("quarantine_written");
            summary.quarantined = quarantine.len() as u64;
        }
        dirs.sort();
        dirs.dedup();
        crate::sync::commit_files(&self.root, &dirs)?;
        // Step 4: the commit point.
        self.ledger.finish(&record, &pending)?;
        crashpoint::hit("committed");
        tracing::debug!(commit = %id, files = summary.files, "committed");
        // Committed here already: a failed copy is repaired by the next commit or start.
        self.sync_mirror();
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SourceId;
    use arrow::array::{AsArray, Int64Array, StringArray, TimestampMillisecondArray};
    use arrow::datatypes::TimestampMillisecondType;
    use arrow::datatypes::{DataType, Field, Schema};
    use flowtrail_core::schema::{ACCOUNT_ID, EVENT_TIME, REGION, timestamp_type};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use std::sync::Arc;

    fn batch(n: i64) -> Result<RecordBatch, arrow::error::ArrowError> {
        let schema = Arc::new(Schema::new(vec![
            Field::new(ACCOUNT_ID, DataType::Utf8, true),
            Field::new(REGION, DataType::Utf8, true),
            Field::new(EVENT_TIME, timestamp_type(), true),
            Field::new("bytes", DataType::Int64, true),
        ]));
        let t0 = 1_767_866_700_000;
        RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from_iter_values(
                    (0..n).map(|_| "012345678901"),
                )),
                Arc::new(StringArray::from_iter_values((0..n).map(|_| "us-east-1"))),
                Arc::new(
                    TimestampMillisecondArray::from_iter_values((0..n).map(|i| t0 + i * 1_800_000))
                        .with_timezone("UTC"),
                ),
                Arc::new(Int64Array::from_iter_values(0..n)),
            ],
        )
    }

    fn parquet_rows(root: &Path) -> Result<usize, Box<dyn std::error::Error>> {
        let mut rows = 0;
        let mut stack = vec![root.to_path_buf()];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(&d)? {
                let p = e?.path();
                if p.is_dir() {
                    stack.push(p);
                } else if p.extension().is_some_and(|e| e == "parquet") {
                    let r =
                        ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&p)?)?.build()?;
                    for b in r {
                        rows += b?.num_rows();
                    }
                }
            }
        }
        Ok(rows)
    }

    #[test]
    fn commit_writes_partitions_ledger_and_quarantine() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut w = LakeWriter::open(dir.path(), WriterOptions::default())?;
        w.add(Table::Flows, &batch(4)?)?;
        w.quarantine(QuarantineRecord::line("k", 3, "bad", b"x"));
        let id = SourceId {
            key: "k".into(),
            size: 1,
            etag: None,
        };
        w.source_done(id.clone());
        let s = w.commit()?;
        assert_eq!(s.files, 2, "4 rows half an hour apart span 2 hours");
        assert_eq!(s.rows.get(&Table::Flows), Some(&4));
        assert_eq!(s.quarantined, 1);
        assert_eq!(parquet_rows(dir.path())?, 4);
        assert!(
            dir.path()
                .join("flows/account_id=012345678901/region=us-east-1/date=2026-01-08/hour=10")
                .is_dir()
        );
        let q = fs::read_dir(dir.path().join("_quarantine"))?.count();
        assert_eq!(q, 1);
        // Reopen: the source is remembered.
        let w2 = LakeWriter::open(dir.path(), WriterOptions::default())?;
        assert!(w2.ledger().is_done(&id));
        Ok(())
    }

    /// A batch of `n` rows whose arrays carry room for 65,536 (as a decoder that preallocates).
    fn roomy_batch(n: i64) -> Result<RecordBatch, arrow::error::ArrowError> {
        let b = batch(n)?;
        let mut bytes = Vec::with_capacity(65_536);
        bytes.extend(0..n);
        let mut cols = b.columns().to_vec();
        cols[3] = Arc::new(Int64Array::new(bytes.into(), None));
        RecordBatch::try_new(b.schema(), cols)
    }

    #[test]
    fn many_small_batches_cost_their_rows_not_their_count() -> Result<(), Box<dyn std::error::Error>>
    {
        let dir = tempfile::tempdir()?;
        let mut w = LakeWriter::open(dir.path(), WriterOptions::default())?;
        let one = roomy_batch(1)?;
        assert!(one.get_array_memory_size() > 65_536 * 8);
        for _ in 0..1_000 {
            w.add(Table::Flows, &one)?;
        }
        // Uncompacted, 1,000 such batches would hold 500 MB.
        assert!(
            w.buffered_bytes() < 16 * one.get_array_memory_size(),
            "{} bytes buffered",
            w.buffered_bytes()
        );
        assert_eq!(w.buffered_rows(), 1_000);
        w.commit()?;
        assert_eq!(parquet_rows(dir.path())?, 1_000);
        assert_eq!(w.buffered_bytes(), 0);
        Ok(())
    }

    /// Rows of one hour with times from `times` (ms after the hour) and `bytes` = `tag`.
    fn hour_batch(times: &[i64], tag: i64) -> Result<RecordBatch, arrow::error::ArrowError> {
        let b = batch(times.len() as i64)?;
        let t0 = 1_767_866_400_000; // 2026-01-08T10:00Z
        let mut cols = b.columns().to_vec();
        cols[2] = Arc::new(
            TimestampMillisecondArray::from_iter_values(times.iter().map(|t| t0 + t))
                .with_timezone("UTC"),
        );
        cols[3] = Arc::new(Int64Array::from(vec![tag; times.len()]));
        RecordBatch::try_new(b.schema(), cols)
    }

    #[test]
    fn unsorted_objects_small_and_large_make_one_file_sorted_stably_by_time()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut w = LakeWriter::open(dir.path(), WriterOptions::default())?;
        // 40 small objects (merged as they are buffered) and 20 large ones (kept as runs), each
        // in descending time order, times repeating across objects.
        let mut want: Vec<(i64, i64)> = Vec::new();
        for tag in 0..60i64 {
            let n = if tag % 3 == 0 { 300 } else { 7 };
            let times: Vec<i64> = (0..n).rev().map(|i| (i * 37 + tag * 11) % 500).collect();
            w.add(Table::Flows, &hour_batch(&times, tag)?)?;
            want.extend(times.iter().map(|&t| (t, tag)));
        }
        w.commit()?;
        // a stable sort of the rows in arrival order
        want.sort_by_key(|r| r.0);
        let files = crate::reader::files_since(dir.path(), Table::Flows, 0)?;
        assert_eq!(files.len(), 1);
        let mut got: Vec<(i64, i64)> = Vec::new();
        for b in crate::reader::read_bytes(&files[0].1, fs::read(&files[0].1)?)? {
            let t = b.column(2).as_primitive::<TimestampMillisecondType>();
            let tag = b.column(3).as_primitive::<arrow::datatypes::Int64Type>();
            got.extend((0..b.num_rows()).map(|i| (t.value(i) - 1_767_866_400_000, tag.value(i))));
        }
        assert_eq!(got, want);
        Ok(())
    }

    #[test]
    fn columns_held_as_dictionaries_are_written_as_plain_strings()
    -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let mut w = LakeWriter::open(dir.path(), WriterOptions::default())?;
        // A column with no value, and objects large enough that their constant columns are
        // held as dictionaries, beside small ones that are not: all in one hour.
        let with_empty = |b: RecordBatch| {
            let empty = arrow::array::new_null_array(&DataType::Utf8, b.num_rows());
            crate::columns::with_strings(&b, vec![("vpc_id", true, empty)])
        };
        let mut want = Vec::new();
        for tag in 0..6i64 {
            let n = if tag % 2 == 0 { 500 } else { 9 };
            let times: Vec<i64> = (0..n).map(|i| (i * 13 + tag) % 1_000).collect();
            let b = with_empty(hour_batch(&times, tag)?)?;
            w.add(Table::Flows, &b)?;
            want.push(b);
        }
        w.commit()?;
        let files = crate::reader::files_since(dir.path(), Table::Flows, 0)?;
        assert_eq!(files.len(), 1);
        let got = crate::reader::read_bytes(&files[0].1, fs::read(&files[0].1)?)?;
        assert_eq!(
            got[0].schema(),
            want[0].schema(),
            "the file declares plain strings"
        );
        let got = arrow::compute::concat_batches(&want[0].schema(), &got)?;
        assert_eq!(got.num_rows(), 1_527);
        assert_eq!(got.column(4).null_count(), 1_527);
        for col in [0, 1] {
            let s = got.column(col).as_string::<i32>();
            assert!(s.iter().all(|v| {
                v == want[0]
                    .column(col)
                    .as_string::<i32>()
                    .iter()
                    .next()
                    .flatten()
            }));
        }
        Ok(())
    }

    #[test]
    fn a_commit_is_due_by_bytes() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let opts = WriterOptions {
            max_buffered_bytes: 64 << 10,
            ..Default::default()
        };
        let mut w = LakeWriter::open(dir.path(), opts)?;
        w.add(Table::Flows, &batch(10)?)?;
        assert!(!w.should_commit());
        w.add(Table::Flows, &batch(10_000)?)?;
        assert!(w.should_commit(), "{} bytes buffered", w.buffered_bytes());
        Ok(())
    }

    #[test]
    fn uncommitted_rows_never_appear() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        {
            let mut w = LakeWriter::open(dir.path(), WriterOptions::default())?;
            w.add(Table::Flows, &batch(3)?)?;
            // dropped without commit: a crash before the commit
        }
        let _ = LakeWriter::open(dir.path(), WriterOptions::default())?;
        assert_eq!(parquet_rows(dir.path())?, 0);
        Ok(())
    }
}
