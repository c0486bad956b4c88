//! flowtrail-lake: the parquet lake, the hub every other part of flowtrail meets at.
//!
//! Ingest writes decoded batches here; detection reads committed files back to recover after a
//! crash and commits its checkpoint with its alerts here; `serve` mirrors the lake to S3 and
//! shares a queue between tasks through claim markers beside it; analysts read the files with
//! any parquet engine. This crate owns everything that decides what is durably in the lake, so
//! that each of those users depends on one commit protocol instead of on the ingest pipeline:
//!
//! - [`writer`] buffers batches per partition and commits them ([`LakeWriter`]), with
//!   [`partition`] (rows to `account_id`/`region`/`date`/`hour`) and [`encode`] (parquet files,
//!   sorted, one encoding job per file);
//! - [`ledger`] the commit records, their typed entries ([`LedgerEntry`]: a source object, an
//!   alert, a detection checkpoint), and the roll-back of unfinished commits on open;
//! - [`reread`] reads committed files back, one function ([`reread::committed_rows`]) for
//!   every recovery path: a selection (commits, open hours, recent CloudTrail), from this disk
//!   or fetched from S3 into staging and deleted once read; [`reader`] lists hour partitions;
//! - [`mirror`] copies commits to a lake on S3, [`claims`] shares source objects between tasks
//!   through markers there, [`s3url`] the `s3://bucket/prefix` they address;
//! - [`quarantine`] the records of what could not be decoded, kept under `_quarantine/`;
//! - [`crashpoint`] named fault-injection points for crash drills (`FLOWTRAIL_CRASH_AT`);
//! - [`error`] the crate's error type, [`LakeError`].
//!
//! It depends on `flowtrail-core` (schemas, layout, durable writes) and the S3 SDK only; the
//! ingest pipeline, detection and the binary depend on it, never the other way round. Where the
//! writer's memory and time go is written up in `lake/design.md`.
//!
//! # Partitioned, atomic and idempotent writes
//!
//! ## Layout
//! `<lake>/<table>/account_id=<id>/region=<region>/date=YYYY-MM-DD/hour=HH/<commit>-<n>.parquet`
//! (`alerts`: `date=` only), zstd (Snappy below [`encode::SMALL_FILE_ROWS`] rows), rows sorted by event time, row groups of 128k rows. `account_id` and `region` are
//! stored in the files too, always equal to the path values, so a reader that ignores the
//! path still sees them typed as strings.
//!
//! ## Commit protocol
//! A *commit* makes the rows of a set of source objects visible at once. It runs:
//! 1. write `_ledger/<commit>.pending` (the final file names and the source objects) and fsync;
//! 2. write each partition's rows to a hidden `.<commit>-<n>.parquet.tmp` beside its final
//!    name;
//! 3. rename each temp file to its final name (atomic on POSIX), then make the files, the
//!    renames and new folders durable: one `syncfs` of the lake's filesystem on Linux, an
//!    fsync of each file and folder elsewhere (`sync.rs`, with the measurement);
//! 4. rename `<commit>.pending` to `<commit>.json`: the commit point.
//!
//! Readers (DataFusion, DuckDB, Athena) skip hidden files and files not ending in `.parquet`, so
//! no reader ever sees a half-written file. On open, [`ledger::Ledger::open`] rolls back every
//! `*.pending` commit (deletes its final and temp files): a crash anywhere before step 4 leaves
//! no rows behind, and the sources of that commit are processed again. A source object listed
//! in a committed `*.json` is skipped by later runs, so replaying an archive twice leaves each
//! row once.
//!
//! ## After the commit point
//! Detection keeps its own checkpoint (baselines and the last ledger sequence number they
//! cover) and commits it with the run's alerts as one more lake commit, whose ledger entry is
//! the checkpoint itself ([`LedgerEntry::Checkpoint`]; see `checkpoint` in the binary); the
//! service records each alert it writes ([`LedgerEntry::Alert`]) so that one raised again
//! after a crash is not written twice. Commits made with [`LakeWriter::set_detect`] that no
//! checkpoint covers are read back ([`reread::committed_rows`]) and judged again by the next
//! run, so a crash between "rows committed" and "alerts committed" loses no alert and a crash
//! after it repeats none. Replay seeds its CloudTrail `eventID` dedupe with the lake's newest
//! events, so a duplicate is dropped even when its first copy was committed by an earlier run.
//!
//! Fault injection points along the way ([`crashpoint`]) let tests crash a run at each
//! step.

pub mod claims;
pub mod columns;
mod colwrite;
pub mod crashpoint;
mod dictcol;
pub mod encode;
pub mod error;
pub mod ledger;
pub mod mirror;
pub mod partition;
pub mod quarantine;
pub mod reader;
pub mod reread;
pub mod runs;
pub mod s3url;
mod sync;
pub mod writer;

pub use error::LakeError;
pub use ledger::{Ledger, LedgerEntry, SourceId};
pub use writer::{LakeWriter, WriterOptions};
