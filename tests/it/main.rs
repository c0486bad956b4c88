//! The root package's integration tests, in one binary: a module per area (the former
//! `tests/<name>.rs`), helpers in `common/`. Run one area with `cargo test --test it <name>`
//! (a filter on the module path, e.g. `cargo test --test it serve_crash`).
//!
//! Why one binary: each test binary links the SDK clients, arrow and parquet again (~8 to 45 MB
//! each in debug, ~380 MB and a link step per file for 21 files); one binary links them once.
//!
//! What changes when the areas share a process, and how the tests stay independent:
//! - The tests drive the real `flowtrail` binary as a child process (`CARGO_BIN_EXE_flowtrail`);
//!   environment variables, the working directory and signals are set on each child's
//!   `Command` (`env`, `current_dir`, `kill`), never on this process: no test calls
//!   `std::env::set_var` or `set_current_dir`. Keep it so: both are process-wide here.
//! - Every test gets its own temp dir, its own moto server and its own ports (the OS picks a
//!   free one, `common::http::free_port`); nothing listens on a fixed port. Crash and signal
//!   tests stay subprocesses: a real SIGKILL, SIGTERM or abort is their point.
//! - libtest now runs tests of different areas side by side, where cargo used to run one file
//!   at a time. The heavy tests (moto with several `serve` children, the kill-point drills,
//!   gigabytes of hostile input, the generated scenarios) take [`common::heavy`], a process-wide
//!   mutex, so one of them runs at a time with light tests beside it: on a 2-core machine two
//!   heavy ones together slow each other past their timeouts (`serve` health checks, SQS
//!   visibility, kill-point waits). Per-test resources alone would not help there: the
//!   contention is for CPU, not for names. A heavy test waiting for the guard holds its libtest
//!   thread, so with two threads the heavy tests of one area run back to back. A failed heavy
//!   test does not poison the guard for the others.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod aws_moto;
mod claims_moto;
mod crash_safety;
mod detection_sample;
mod detection_unseen;
mod duckdb_reads_lake;
mod evidence_sql;
mod fence;
mod first_run;
mod hostile_input;
mod iam_policy;
mod inventory_sample;
mod ocsf_export;
mod replay;
mod rules_cli;
mod security;
mod serve_crash;
mod serve_follow;
mod serve_moto;
mod serve_scale;
mod ui_browser;
