//! `cpbench plugin <op>`: run a plugin on a table, check a plugin before submitting it, scaffold one.

pub mod apply;
pub mod check;
pub mod new;

use anyhow::Result;
use clap::Subcommand;
use cpbench_host::plugin::RunEnv;

use crate::Outcome;

/// What `cpbench plugin` does.
#[derive(Subcommand)]
pub enum PluginCommand {
    /// Run a plugin on a profile table and write its representation (metadata reattached).
    Apply(Box<apply::Args>),
    /// Check a plugin folder before submitting it: manifest, hashes, loading, a dry run, determinism.
    Check(check::Args),
    /// Create a plugin folder (onnx or native) that `plugin check` accepts once its artifact exists.
    New(new::Args),
}

/// Runs one `cpbench plugin` subcommand.
pub fn run(cmd: PluginCommand) -> Result<Outcome> {
    match cmd {
        PluginCommand::Apply(a) => apply::run(*a),
        PluginCommand::Check(a) => check::run(a),
        PluginCommand::New(a) => new::run(a),
    }
}

/// How this binary runs plugins: workers are this executable's `plugin-worker`, and native
/// libraries are searched beside it (plugins are built from the same workspace, into the same
/// target folder, which `resolve_library` searches first).
pub fn run_env() -> RunEnv {
    RunEnv::default()
}
