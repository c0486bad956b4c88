//! The parquet lake: partitioned, atomic and idempotent writes.
//!
//! # Layout
//! `<lake>/<table>/account_id=<id>/region=<region>/date=YYYY-MM-DD/hour=HH/<commit>-<n>.parquet`
//! (`alerts`: `date=` only), zstd (Snappy below [`encode::SMALL_FILE_ROWS`] rows), rows sorted by event time, row groups of 128k rows. `account_id` and `region` are
//! stored in the files too, always equal to the path values, so a reader that ignores the
//! path still sees them typed as strings.
//!
//! # Commit protocol
//! A *commit* makes the rows of a set of source objects visible at once. It runs:
//! 1. write `_ledger/<commit>.pending` (the final file names and the source objects) and fsync;
//! 2. write each partition's rows to a hidden `.<commit>-<n>.parquet.tmp` beside its final
//!    name, fsync;
//! 3. rename each temp file to its final name (atomic on POSIX), fsync the directories;
//! 4. rename `<commit>.pending` to `<commit>.json`: the commit point.
//!
//! Readers (DataFusion, DuckDB, Athena) skip hidden files and files not ending in `.parquet`, so
//! no reader ever sees a half-written file. On open, [`ledger::Ledger::open`] rolls back every
//! `*.pending` commit (deletes its final and temp files): a crash anywhere before step 4 leaves
//! no rows behind, and the sources of that commit are processed again. A source object listed
//! in a committed `*.json` is skipped by later runs, so replaying an archive twice leaves each
//! row once.
//!
//! # After the commit point
//! Detection keeps its own checkpoint (baselines and the last ledger sequence number they
//! cover) and commits it with the run's alerts as one more lake commit, whose source is the
//! checkpoint itself (see `checkpoint` in the binary). Commits made with
//! [`LakeWriter::set_detect`] that no checkpoint covers are read back ([`reread`]) and judged
//! again by the next run, so a crash between "rows committed" and "alerts committed" loses no
//! alert and a crash after it repeats none. Replay seeds its CloudTrail `eventID` dedupe with
//! the lake's newest events, so a duplicate is dropped even when its first copy was committed
//! by an earlier run.
//!
//! Fault injection points along the way ([`crate::crashpoint`]) let tests crash a run at each
//! step.

pub mod claims;
pub mod encode;
pub mod ledger;
pub mod mirror;
pub mod partition;
pub mod reader;
pub mod reread;
pub mod s3url;
pub mod writer;

pub use ledger::{Ledger, SourceId};
pub use writer::{LakeWriter, WriterOptions};
