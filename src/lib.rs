//! The `flowtrail` commands as a library: `replay`, `serve`, `query`, `ui` and the rest, each a
//! `run` function the binary (`src/main.rs`) calls after parsing the command line, and tests can
//! call in-process (`serve::run_until` takes the shutdown as a future). The work itself lives in
//! the crates below (`flowtrail-ingest`, `-detect`, `-alerts`, `-core`, `-aws`); this crate wires
//! them into commands.

mod alerts_file;
mod aws;
mod budget;
mod checkpoint;
pub mod cli;
pub mod commands;
mod config;
mod detection;
mod detection_thread;
pub mod error_chain;
mod lake_tables;
mod output;
pub mod serve;
mod ui;
mod utc_trunc;

pub use aws::Aws;
