//! Fault injection for crash-safety drills: `FLOWTRAIL_CRASH_AT=<point>:<nth>` makes the process
//! abort (no unwinding, no destructors, no buffered output flushed: as close to `kill -9` or a
//! power cut as a process can get on its own) the `nth` time (1-based) execution reaches the
//! named point.
//!
//! Operators can use it to rehearse a crash at the worst moment and check that the next run
//! recovers; `tests/it/crash_safety.rs` (replay) and `tests/it/serve_crash.rs` (serve) drive
//! every point. The variable is read once; when it is unset a point costs one atomic load.
//!
//! Points (in the order a run reaches them):
//!
//! | point | where |
//! |---|---|
//! | `decoded` | an object is decoded, before its rows are buffered for the lake |
//! | `ledger_pending` | a commit's intent (`_ledger/<id>.pending`) is durable, no file written |
//! | `parquet_mid` | part of a parquet temp file is on disk (one row group flushed) |
//! | `parquet_written` | a temp file is complete (durable at the commit's sync), before its rename |
//! | `parquet_renamed` | a file has its final name, before the commit point |
//! | `quarantine_written` | the commit's quarantine file is in place, before the commit point |
//! | `committed` | the commit point passed (ledger `<id>.json`), before anything else |
//! | `s3_files_copied` | a lake on S3: a commit's files are on S3, its ledger record is not |
//! | `s3_ledger_copied` | its ledger record is on S3 too, the local `.uploaded` marker is not |
//! | `alerts_delivered` | alerts reached the sinks (JSONL, outbox), state not saved |
//! | `state_mid` | part of the detection state of a checkpoint (`serve`: of a save) is written |
//! | `state_written` | the checkpoint's state is written, before its lake commit (`serve`: the save is durable, its files not yet in place) |
//! | `checkpoint_committed` | the lake commit holding the alerts and the checkpoint passed |

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// The environment variable read at the first point reached.
pub const ENV: &str = "FLOWTRAIL_CRASH_AT";

struct Plan {
    point: String,
    nth: u64,
    seen: AtomicU64,
}

fn plan() -> Option<&'static Plan> {
    static PLAN: OnceLock<Option<Plan>> = OnceLock::new();
    PLAN.get_or_init(|| {
        let v = std::env::var(ENV).ok()?;
        let (point, nth) = match v.rsplit_once(':') {
            Some((p, n)) => (p.to_string(), n.parse().unwrap_or(1)),
            None => (v.clone(), 1),
        };
        tracing::warn!(point = %point, nth, "fault injection armed: the process aborts at this point");
        Some(Plan {
            point,
            nth: nth.max(1),
            seen: AtomicU64::new(0),
        })
    })
    .as_ref()
}

/// Whether `point` is the one armed (to prepare a state worth crashing in, e.g. flush a partial
/// file before [`hit`]).
pub fn armed(point: &str) -> bool {
    plan().is_some_and(|p| p.point == point)
}

/// Execution reached `point`: abort if this is the armed point's `nth` visit.
pub fn hit(point: &str) {
    if let Some(p) = plan()
        && p.point == point
        && p.seen.fetch_add(1, Ordering::SeqCst) + 1 == p.nth
    {
        eprintln!("flowtrail: fault injection: aborting at {point}:{}", p.nth);
        std::process::abort();
    }
}
