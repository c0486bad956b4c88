//! The replay pipeline: decode listed objects in parallel and feed the lake writer, with
//! bounded memory.
//!
//! ```text
//!  objects ─► N decode workers ─► bounded channel (2N objects) ─► writer thread:
//!                                                                dedupe, time filter,
//!                                                                observer, lake buffers,
//!                                                                commit every ~1M rows
//! ```
//! Each worker decodes one whole object into memory (objects are minutes of logs: MBs), so
//! the writer sees an object's rows, quarantine records and outcome together and can commit
//! them with the object's ledger entry: an object is either wholly in the lake or not at all.
//! Memory is bounded by (workers + channel) objects plus the writer's commit buffer; an object
//! decoded whole (CloudTrail) is at most [`ReplayOptions::max_document`] bytes decompressed.
//!
//! S3 objects ([`Location::S3`]) are fetched whole with `GetObject` by the same workers through
//! [`ReplayOptions::s3`] (a client and a tokio runtime handle); the fetch is I/O bound, so runs
//! with S3 objects use at least [`S3_WORKERS`] workers. A fetch that fails after the SDK's
//! retries quarantines the object for this run; when the failure was transient (timeout,
//! connection, throttling, 5xx) the object is not recorded in the ledger, so the next run tries
//! it again.

use std::fs;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{AsArray, BooleanArray, RecordBatch};
use arrow::compute::filter_record_batch;
use arrow::datatypes::TimestampMillisecondType;

use flowtrail_core::Table;
use flowtrail_core::schema::EVENT_TIME;

use crate::IngestError;
use crate::compress::{DEFAULT_MAX_DECOMPRESSED, DEFAULT_MAX_DOCUMENT, ObjectReader};
use crate::decode::cloudtrail::{CloudTrailOptions, decode_cloudtrail};
use crate::decode::flow::{FlowDecodeOptions, decode_flow_text};
use crate::decode::flow_parquet::decode_flow_parquet;
use crate::dedupe::{DEFAULT_HORIZON_HOURS, EventIdDedup};
use crate::keys::ObjectKind;
use crate::sink::VecSink;
use crate::source::s3::S3Fetcher;
use crate::source::{Location, SourceObject};
use flowtrail_lake::quarantine::QuarantineRecord;
use flowtrail_lake::{LakeWriter, reread};

/// Decode workers used at least when some objects are on S3 (fetching is I/O bound).
pub const S3_WORKERS: usize = 8;

/// Default bound on decoded objects waiting for the writer.
pub const DEFAULT_IN_FLIGHT_BYTES: usize = 128 << 20;

/// Local objects up to this size are read whole; larger ones are streamed.
const WHOLE_READ_MAX: u64 = 32 << 20;

/// Read buffer of a streamed local object.
const STREAM_BUFFER: usize = 256 << 10;

/// Replay settings.
#[derive(Debug, Clone)]
pub struct ReplayOptions {
    /// Decode threads.
    pub workers: usize,
    /// Keep only events at or after this time (ms).
    pub from_ms: Option<i64>,
    /// Keep only events before this time (ms).
    pub to_ms: Option<i64>,
    /// Flow-log decoder settings (fallback account/region/time are set per object).
    pub flow: FlowDecodeOptions,
    /// CloudTrail decoder settings.
    pub cloudtrail: CloudTrailOptions,
    /// Bound on one object's decompressed size (streamed objects: bounds time).
    pub max_decompressed: u64,
    /// Bound on the decompressed size of an object decoded whole in memory (CloudTrail).
    pub max_document: u64,
    /// Fetches [`Location::S3`] objects; required when any are listed.
    pub s3: Option<S3Fetcher>,
    /// Bound on the bytes of decoded objects waiting for the writer: past it, a worker starts
    /// no object but the next one to absorb (so large objects are not decoded far ahead).
    pub max_in_flight_bytes: usize,
}

impl Default for ReplayOptions {
    fn default() -> Self {
        Self {
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2),
            from_ms: None,
            to_ms: None,
            flow: FlowDecodeOptions::default(),
            cloudtrail: CloudTrailOptions::default(),
            max_decompressed: DEFAULT_MAX_DECOMPRESSED,
            max_document: DEFAULT_MAX_DOCUMENT,
            s3: None,
            max_in_flight_bytes: DEFAULT_IN_FLIGHT_BYTES,
        }
    }
}

/// An observer's failure (it stops the replay: detection must not silently miss data).
pub type ObserverError = Box<dyn std::error::Error + Send + Sync>;

/// Sees every batch that goes into the lake (detection hooks in here).
pub trait Observer {
    /// A batch about to be buffered for the lake.
    fn on_batch(&mut self, table: Table, batch: &RecordBatch) -> Result<(), ObserverError>;
}

/// An observer that does nothing.
#[derive(Debug, Default)]
pub struct NoObserver;

impl Observer for NoObserver {
    fn on_batch(&mut self, _: Table, _: &RecordBatch) -> Result<(), ObserverError> {
        Ok(())
    }
}

/// Counters of a replay.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ReplayStats {
    /// Objects listed for this run.
    pub objects_total: u64,
    /// Objects handled (decoded or quarantined) in this run.
    pub objects_done: u64,
    /// Objects skipped because the ledger has them already.
    pub objects_already_done: u64,
    /// Objects recognized and not decoded (CloudTrail digests and Insights).
    pub objects_skipped: u64,
    /// Objects quarantined whole (unreadable, corrupt, wrong format).
    pub objects_quarantined: u64,
    /// Of those, objects whose read failed transiently: not recorded as done, so the next
    /// run tries them again.
    pub objects_retry_later: u64,
    /// Compressed bytes read.
    pub bytes_in: u64,
    /// Flow records written.
    pub flow_records: u64,
    /// CloudTrail events written.
    pub cloudtrail_records: u64,
    /// Lines or events quarantined.
    pub lines_quarantined: u64,
    /// CloudTrail events dropped as duplicate eventIDs.
    pub duplicates_dropped: u64,
    /// Rows dropped by `--from` / `--to`.
    pub out_of_range_rows: u64,
    /// Parquet files written.
    pub files_written: u64,
    /// Commits made.
    pub commits: u64,
}

impl std::ops::AddAssign<&ReplayStats> for ReplayStats {
    /// Adds every counter. The destructuring names each field, so a new counter cannot be
    /// left out of a sum (a service adds its cycles' stats this way).
    fn add_assign(&mut self, o: &ReplayStats) {
        let ReplayStats {
            objects_total,
            objects_done,
            objects_already_done,
            objects_skipped,
            objects_quarantined,
            objects_retry_later,
            bytes_in,
            flow_records,
            cloudtrail_records,
            lines_quarantined,
            duplicates_dropped,
            out_of_range_rows,
            files_written,
            commits,
        } = o;
        self.objects_total += objects_total;
        self.objects_done += objects_done;
        self.objects_already_done += objects_already_done;
        self.objects_skipped += objects_skipped;
        self.objects_quarantined += objects_quarantined;
        self.objects_retry_later += objects_retry_later;
        self.bytes_in += bytes_in;
        self.flow_records += flow_records;
        self.cloudtrail_records += cloudtrail_records;
        self.lines_quarantined += lines_quarantined;
        self.duplicates_dropped += duplicates_dropped;
        self.out_of_range_rows += out_of_range_rows;
        self.files_written += files_written;
        self.commits += commits;
    }
}

struct Outcome {
    index: usize,
    /// Position in this run's work list (absorption order).
    seq: usize,
    /// Memory of the decoded rows.
    bytes: usize,
    table: Table,
    sink: VecSink,
    error: Option<IngestError>,
    skipped: bool,
}

fn decode_one(obj: &SourceObject, opts: &ReplayOptions) -> Outcome {
    let mut sink = VecSink::default();
    let table = if matches!(obj.info.kind, ObjectKind::CloudTrail) {
        Table::Cloudtrail
    } else {
        Table::Flows
    };
    let (error, skipped) = match decode_into(obj, opts, &mut sink) {
        Ok(skipped) => (None, skipped),
        Err(e) => (Some(e), false),
    };
    Outcome {
        index: 0,
        seq: 0,
        bytes: 0,
        table,
        sink,
        error,
        skipped,
    }
}

/// Decode the object's rows into `sink`. `Ok(true)` when the object is not one to read
/// (digest, insight, unknown).
fn decode_into(
    obj: &SourceObject,
    opts: &ReplayOptions,
    sink: &mut VecSink,
) -> Result<bool, IngestError> {
    let key = obj.id.key.as_str();
    let fallback_time = obj
        .info
        .date
        .and_then(|d| d.and_hms_opt(obj.info.hour.unwrap_or(0), 0, 0))
        .map(|t| t.and_utc().timestamp_millis());
    let flow_opts = || {
        let mut fo = opts.flow.clone();
        fo.fallback_account_id = obj.info.account_id.clone();
        fo.fallback_region = obj.info.region.clone();
        fo.fallback_time_ms = fallback_time;
        fo
    };
    match obj.info.kind {
        ObjectKind::FlowLogText => {
            let mut reader = flow_text_reader(obj, opts)?;
            decode_flow_text(key, &mut reader, &flow_opts(), sink)?;
            Ok(false)
        }
        ObjectKind::FlowLogParquet => {
            let bytes = read_all(obj, opts)?;
            decode_flow_parquet(key, bytes::Bytes::from(bytes), &flow_opts(), sink)?;
            Ok(false)
        }
        ObjectKind::CloudTrail => {
            let bytes = read_all(obj, opts)?;
            let limit = opts.max_document.min(opts.max_decompressed);
            let data = ObjectReader::new(key, &bytes, limit).read_all()?;
            let mut co = opts.cloudtrail.clone();
            co.fallback_account_id = obj.info.account_id.clone();
            co.fallback_region = obj.info.region.clone();
            decode_cloudtrail(key, &data, &co, sink)?;
            Ok(false)
        }
        ObjectKind::CloudTrailDigest | ObjectKind::CloudTrailInsight | ObjectKind::Unknown => {
            Ok(true)
        }
    }
}

/// The object's bytes, whole: a local file, or an S3 object through the replay's fetcher.
fn read_all(obj: &SourceObject, opts: &ReplayOptions) -> Result<Vec<u8>, IngestError> {
    match &obj.location {
        Location::Local(path) => fs::read(path).map_err(|source| IngestError::Read {
            key: obj.id.key.clone(),
            source,
        }),
        Location::S3 {
            bucket,
            key: s3_key,
        } => match &opts.s3 {
            Some(f) => f.get(bucket, s3_key),
            None => Err(IngestError::Read {
                key: format!("s3://{bucket}/{s3_key}"),
                source: std::io::Error::other("no S3 client configured for this replay"),
            }),
        },
    }
}

/// A reader over a flow-log text object. Local files are streamed (flow text) or read whole;
/// S3 objects are fetched whole.
fn flow_text_reader(
    obj: &SourceObject,
    opts: &ReplayOptions,
) -> Result<ObjectReader<'static>, IngestError> {
    let key = obj.id.key.as_str();
    let read_error = |source| IngestError::Read {
        key: key.to_string(),
        source,
    };
    match &obj.location {
        // Objects as delivered (kilobytes to a few MB) are read whole: one allocation
        // of the object's size, no read buffer per object. Larger files are streamed.
        Location::Local(_) if obj.id.size <= WHOLE_READ_MAX => ObjectReader::from_reader(
            key,
            std::io::Cursor::new(read_all(obj, opts)?),
            opts.max_decompressed,
        )
        .map_err(read_error),
        Location::Local(path) => {
            let file = fs::File::open(path).map_err(read_error)?;
            ObjectReader::from_reader(
                key,
                std::io::BufReader::with_capacity(STREAM_BUFFER, file),
                opts.max_decompressed,
            )
            .map_err(read_error)
        }
        Location::S3 { .. } => {
            let bytes = read_all(obj, opts)?;
            ObjectReader::from_reader(key, std::io::Cursor::new(bytes), opts.max_decompressed)
                .map_err(read_error)
        }
    }
}

fn time_filter(
    batch: &RecordBatch,
    from: Option<i64>,
    to: Option<i64>,
) -> Result<RecordBatch, IngestError> {
    if from.is_none() && to.is_none() {
        return Ok(batch.clone());
    }
    let Some(t) = batch
        .column_by_name(EVENT_TIME)
        .and_then(|c| c.as_primitive_opt::<TimestampMillisecondType>())
    else {
        return Ok(batch.clone());
    };
    let keep: BooleanArray = t
        .iter()
        .map(|v| {
            Some(match v {
                None => true,
                Some(v) => from.is_none_or(|f| v >= f) && to.is_none_or(|e| v < e),
            })
        })
        .collect();
    filter_record_batch(batch, &keep).map_err(|source| IngestError::Arrow {
        context: "time filter".into(),
        source,
    })
}

/// Replay `objects` into the lake. `progress` is called after each object. Returns when every
/// object is handled and committed; an error is returned only for failures of the lake itself
/// (input problems are quarantined).
pub fn run(
    objects: &[SourceObject],
    lake: &mut LakeWriter,
    opts: &ReplayOptions,
    observer: &mut dyn Observer,
    progress: &mut dyn FnMut(&ReplayStats),
) -> Result<ReplayStats, IngestError> {
    let mut dedup = EventIdDedup::default();
    if objects.iter().any(|o| !lake.ledger().is_done(&o.id)) {
        seed_dedup(lake, &mut dedup)?;
    }
    run_with(objects, lake, opts, observer, &mut dedup, progress)
}

/// [`run`] with the caller's CloudTrail `eventID` dedupe (a service keeps one across its
/// cycles).
pub fn run_with(
    objects: &[SourceObject],
    lake: &mut LakeWriter,
    opts: &ReplayOptions,
    observer: &mut dyn Observer,
    dedup: &mut EventIdDedup,
    progress: &mut dyn FnMut(&ReplayStats),
) -> Result<ReplayStats, IngestError> {
    let mut stats = ReplayStats {
        objects_total: objects.len() as u64,
        ..Default::default()
    };
    let todo: Vec<usize> = (0..objects.len())
        .filter(|&i| !lake.ledger().is_done(&objects[i].id))
        .collect();
    stats.objects_already_done = (objects.len() - todo.len()) as u64;
    progress(&stats);
    let on_s3 = todo
        .iter()
        .any(|&i| matches!(objects[i].location, Location::S3 { .. }));
    let workers = if on_s3 {
        opts.workers.max(S3_WORKERS)
    } else {
        opts.workers.max(1)
    };
    let next = AtomicUsize::new(0);
    let (tx, rx) = crossbeam_channel::bounded::<Outcome>(workers * 2);
    // Objects are absorbed in listing order whatever order their decoding finishes in, so a
    // run is deterministic (detection sees the same sequence every time). A worker does not
    // start an object more than `window` places ahead of the next one to absorb, which bounds
    // the outcomes held back.
    // Nor, once `max_in_flight_bytes` of decoded rows wait, any but the next one.
    let window = workers * 4;
    let absorbed = (std::sync::Mutex::new(0usize), std::sync::Condvar::new());
    let waiting_bytes = AtomicUsize::new(0);

    std::thread::scope(|scope| -> Result<(), IngestError> {
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            let todo = &todo;
            let absorbed = &absorbed;
            let waiting_bytes = &waiting_bytes;
            scope.spawn(move || {
                loop {
                    let n = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&index) = todo.get(n) else { break };
                    {
                        let mut done = absorbed.0.lock().unwrap_or_else(|p| p.into_inner());
                        while n >= *done + window
                            || (n > *done
                                && waiting_bytes.load(Ordering::Relaxed)
                                    >= opts.max_in_flight_bytes)
                        {
                            done = absorbed.1.wait(done).unwrap_or_else(|p| p.into_inner());
                        }
                    }
                    let mut out = decode_one(&objects[index], opts);
                    out.index = index;
                    out.seq = n;
                    if out.table == Table::Flows {
                        // `cloudtrail` rows are deduplicated on the writer's thread first.
                        out.sink.split_by_partition();
                    }
                    out.bytes = out.sink.memory_size();
                    waiting_bytes.fetch_add(out.bytes, Ordering::Relaxed);
                    if tx.send(out).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut result = Ok(());
        let mut held: std::collections::BTreeMap<usize, Outcome> = Default::default();
        let mut expected = 0usize;
        for out in rx.iter() {
            held.insert(out.seq, out);
            while let Some(out) = held.remove(&expected) {
                expected += 1;
                waiting_bytes.fetch_sub(out.bytes, Ordering::Relaxed);
                if result.is_ok() {
                    result = absorb(out, objects, lake, opts, observer, dedup, &mut stats);
                    if result.is_ok() && lake.should_commit() {
                        result = commit(lake, &mut stats);
                    }
                    progress(&stats);
                }
                // (after an error: drain so the workers finish)
                *absorbed.0.lock().unwrap_or_else(|p| p.into_inner()) = expected;
                absorbed.1.notify_all();
            }
        }
        result
    })?;
    commit(lake, &mut stats)?;
    progress(&stats);
    Ok(stats)
}

/// Remember the eventIDs of the lake's newest CloudTrail events (within the dedupe horizon), so
/// that a copy of an event committed by an earlier run is dropped.
pub fn seed_dedup(lake: &LakeWriter, dedup: &mut EventIdDedup) -> Result<(), IngestError> {
    use flowtrail_core::schema::cloudtrail::col;
    use reread::{ReadOptions, Selection, Unreadable};
    let read = reread::committed_rows(
        lake,
        Selection::RecentCloudtrail {
            horizon_hours: DEFAULT_HORIZON_HOURS,
        },
        ReadOptions {
            columns: Some(&[col::EVENT_ID, col::EVENT_TIME]),
            // A file that cannot be read back (removed by hand, damaged) costs only dedupe
            // memory.
            unreadable: Unreadable::Warn("its eventIDs are not deduplicated against"),
        },
        |_, _, batch| dedup.filter(batch).map(drop),
    )?;
    if read.files > 0 {
        tracing::debug!(
            files = read.files,
            ids = dedup.len(),
            "eventID dedupe seeded from the lake"
        );
    }
    Ok(())
}

fn commit(lake: &mut LakeWriter, stats: &mut ReplayStats) -> Result<(), IngestError> {
    let s = lake.commit()?;
    if s.sources > 0 || s.files > 0 {
        stats.commits += 1;
        stats.files_written += s.files as u64;
    }
    Ok(())
}

fn absorb(
    out: Outcome,
    objects: &[SourceObject],
    lake: &mut LakeWriter,
    opts: &ReplayOptions,
    observer: &mut dyn Observer,
    dedup: &mut EventIdDedup,
    stats: &mut ReplayStats,
) -> Result<(), IngestError> {
    let obj = &objects[out.index];
    flowtrail_lake::crashpoint::hit("decoded");
    stats.bytes_in += obj.id.size;
    let had_rows = !out.sink.batches.is_empty();
    absorb_rows(
        &obj.id.key,
        out.table,
        out.sink,
        lake,
        opts,
        observer,
        dedup,
        stats,
    )?;
    if let Some(e) = out.error {
        if !e.is_input_error() {
            return Err(e);
        }
        stats.objects_quarantined += 1;
        lake.quarantine(QuarantineRecord::object(&obj.id.key, e.to_string()));
        if e.is_retryable() && !had_rows {
            // Transient (S3 timeout, throttling, 5xx after the SDK's retries): leave it out of
            // the ledger so the next run reads it.
            tracing::warn!(object = %obj.id.key, error = %e, "object unreadable for now; the next run tries it again");
            stats.objects_retry_later += 1;
            stats.objects_done += 1;
            return Ok(());
        }
        tracing::warn!(object = %obj.id.key, error = %e, "object quarantined");
    }
    if out.skipped {
        stats.objects_skipped += 1;
    }
    stats.objects_done += 1;
    lake.source_done(obj.id.clone());
    Ok(())
}

/// Feed decoded rows of one unit (an object, or events read from a CloudWatch Logs stream)
/// to the lake the way replay does: time filter, CloudTrail `eventID` dedupe, the observer
/// (detection), then the lake's buffers; quarantine records go into the same commit.
#[allow(clippy::too_many_arguments)]
pub fn absorb_rows(
    unit: &str,
    table: Table,
    sink: VecSink,
    lake: &mut LakeWriter,
    opts: &ReplayOptions,
    observer: &mut dyn Observer,
    dedup: &mut EventIdDedup,
    stats: &mut ReplayStats,
) -> Result<(), IngestError> {
    let out_table = table;
    let mut parts = sink.parts.into_iter();
    for raw in &sink.batches {
        let pieces = parts.next().flatten();
        let mut batch = time_filter(raw, opts.from_ms, opts.to_ms)?;
        stats.out_of_range_rows += (raw.num_rows() - batch.num_rows()) as u64;
        if out_table == Table::Cloudtrail {
            let (b, dropped) = dedup.filter(&batch)?;
            stats.duplicates_dropped += dropped as u64;
            batch = b;
        }
        match out_table {
            Table::Cloudtrail => stats.cloudtrail_records += batch.num_rows() as u64,
            _ => stats.flow_records += batch.num_rows() as u64,
        }
        observer
            .on_batch(out_table, &batch)
            .map_err(|e| IngestError::Observer {
                key: unit.to_string(),
                reason: e.to_string(),
            })?;
        match pieces {
            // split by the decode worker, and every row kept
            Some(pieces) if batch.num_rows() == raw.num_rows() => lake.add_parts(out_table, pieces),
            _ => lake.add(out_table, &batch)?,
        }
    }
    stats.lines_quarantined += sink.quarantined.len() as u64;
    for q in sink.quarantined {
        lake.quarantine(q);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{DateRange, local};
    use flowtrail_lake::WriterOptions;
    use std::io::Write;

    fn flow_object(n: usize, rows: usize) -> Vec<u8> {
        let mut text = String::from(
            "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status\n",
        );
        for i in 0..rows {
            let t = 1_767_866_400 + (n * rows + i) as i64;
            text.push_str(&format!(
                "2 123456789012 eni-0a1b 10.0.1.{} 10.0.2.9 {} 443 6 10 {} {t} {} ACCEPT OK\n",
                i % 250,
                40000 + i % 1000,
                1000 + i,
                t + 60
            ));
        }
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let _ = e.write_all(text.as_bytes());
        e.finish().unwrap_or_default()
    }

    #[test]
    fn stats_add_every_counter() {
        let one = ReplayStats {
            objects_total: 1,
            objects_done: 2,
            objects_already_done: 3,
            objects_skipped: 4,
            objects_quarantined: 5,
            objects_retry_later: 6,
            bytes_in: 7,
            flow_records: 8,
            cloudtrail_records: 9,
            lines_quarantined: 10,
            duplicates_dropped: 11,
            out_of_range_rows: 12,
            files_written: 13,
            commits: 14,
        };
        let mut sum = one.clone();
        sum += &one;
        let doubled = ReplayStats {
            objects_total: 2,
            objects_done: 4,
            objects_already_done: 6,
            objects_skipped: 8,
            objects_quarantined: 10,
            objects_retry_later: 12,
            bytes_in: 14,
            flow_records: 16,
            cloudtrail_records: 18,
            lines_quarantined: 20,
            duplicates_dropped: 22,
            out_of_range_rows: 24,
            files_written: 26,
            commits: 28,
        };
        assert_eq!(sum, doubled);
    }

    #[test]
    fn no_object_waits_forever_under_the_tightest_in_flight_bound()
    -> Result<(), Box<dyn std::error::Error>> {
        let src = tempfile::tempdir()?;
        let lake_dir = tempfile::tempdir()?;
        let sizes: Vec<usize> = (0..12).map(|n| 50 + n * 37).collect();
        let expected: u64 = sizes.iter().map(|&r| r as u64).sum();
        write_flow_objects(src.path(), &sizes)?;
        let listing = local::list(src.path(), &DateRange::default())?;
        assert_eq!(listing.objects.len(), 12);
        let mut lake = LakeWriter::open(lake_dir.path(), WriterOptions::default())?;
        let opts = ReplayOptions {
            workers: 3,
            max_in_flight_bytes: 0,
            ..Default::default()
        };
        let stats = run(
            &listing.objects,
            &mut lake,
            &opts,
            &mut NoObserver,
            &mut |_| {},
        )?;
        assert_eq!(stats.objects_done, 12);
        assert_eq!(stats.flow_records, expected);
        Ok(())
    }

    /// Object `n` of `rows[n]` rows (from `flow_object`) under `dir`, in the AWS layout, one a
    /// minute from 10:00Z.
    fn write_flow_objects(
        dir: &std::path::Path,
        rows: &[usize],
    ) -> Result<(), Box<dyn std::error::Error>> {
        for (n, &r) in rows.iter().enumerate() {
            let key = format!(
                "AWSLogs/123456789012/vpcflowlogs/us-east-1/2026/01/08/123456789012_vpcflowlogs_us-east-1_fl-0abc_20260108T10{n:02}Z_deadbeef.log.gz"
            );
            let path = dir.join(key);
            fs::create_dir_all(path.parent().ok_or("no parent")?)?;
            fs::write(&path, flow_object(n, r))?;
        }
        Ok(())
    }

    /// Rows in the lake's committed `flows` files.
    fn lake_flow_rows(root: &std::path::Path) -> Result<usize, Box<dyn std::error::Error>> {
        let mut rows = 0;
        for (_, file) in flowtrail_lake::reader::files_since(root, Table::Flows, 0)? {
            let batches = flowtrail_lake::reader::read_bytes(&file, fs::read(&file)?)?;
            rows += batches.iter().map(RecordBatch::num_rows).sum::<usize>();
        }
        Ok(rows)
    }

    #[test]
    fn rows_split_by_the_decode_workers_honour_the_time_filter()
    -> Result<(), Box<dyn std::error::Error>> {
        // 12 objects of 600 rows, one a second from 10:00Z over two hours: the workers split
        // them by partition; `--from` 10:33:20 cuts one object in two and drops three.
        let src = tempfile::tempdir()?;
        let lake_dir = tempfile::tempdir()?;
        write_flow_objects(src.path(), &[600; 12])?;
        let listing = local::list(src.path(), &DateRange::default())?;
        let mut lake = LakeWriter::open(lake_dir.path(), WriterOptions::default())?;
        let opts = ReplayOptions {
            workers: 2,
            from_ms: Some((1_767_866_400 + 2_000) * 1000),
            ..Default::default()
        };
        let stats = run(
            &listing.objects,
            &mut lake,
            &opts,
            &mut NoObserver,
            &mut |_| {},
        )?;
        assert_eq!(stats.flow_records, 12 * 600 - 2_000);
        assert_eq!(lake_flow_rows(lake_dir.path())?, 12 * 600 - 2_000);
        Ok(())
    }
}
