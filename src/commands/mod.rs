//! One module per command; each validates its flags and runs.

mod config;
mod export;
mod query;
mod replay;
mod rules;
mod schema;
mod ui;

use std::process::ExitCode;

use crate::cli::Command;

/// Run a command.
pub fn run(cmd: Command) -> anyhow::Result<ExitCode> {
    match cmd {
        Command::Replay(a) => replay::run(*a),
        Command::Query(a) => query::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Rules(a) => rules::run(a),
        Command::Serve(a) => crate::serve::run(*a),
        Command::Config(a) => config::run(a),
        Command::Export(a) => export::run(a),
        Command::Ui(a) => ui::run(a),
    }
}
