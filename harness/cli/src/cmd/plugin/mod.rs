//! `cpbench plugin <op>`: run a plugin on a table, check a plugin before submitting it, scaffold one.

pub mod apply;
pub mod check;
pub mod new;
pub mod new_command;
pub mod setup;

use std::path::PathBuf;

use anyhow::{Result, bail};
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
    /// Create a plugin folder (onnx, native or command) that `plugin check` accepts once its artifact exists.
    New(new::Args),
    /// Build what plugins need before they run: a command plugin's Python environment.
    Setup(setup::Args),
}

/// Runs one `cpbench plugin` subcommand.
pub fn run(cmd: PluginCommand) -> Result<Outcome> {
    match cmd {
        PluginCommand::Apply(a) => apply::run(*a),
        PluginCommand::Check(a) => check::run(a),
        PluginCommand::New(a) => new::run(a),
        PluginCommand::Setup(a) => setup::run(a),
    }
}

/// The variable that adds native plugin library folders, `:`-separated like `PATH`.
pub const LIB_DIR_ENV: &str = "CPBENCH_PLUGIN_LIB_DIR";

/// `--plugin-lib-dir`, shared by every command that runs plugins.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct LibDirArgs {
    /// Folder searched for native plugin libraries built outside this cpbench's build, e.g. a
    /// plugin crate's target/release (repeatable; also CPBENCH_PLUGIN_LIB_DIR, `:`-separated).
    #[arg(long = "plugin-lib-dir", value_name = "DIR")]
    pub plugin_lib_dirs: Vec<PathBuf>,
}

/// How this binary runs plugins: workers are this executable's `plugin-worker`; native libraries
/// named by crate are searched beside it first (plugins of the workspace are built into the same
/// target folder), then in the `--plugin-lib-dir` folders and those of `CPBENCH_PLUGIN_LIB_DIR`,
/// in that order. A `--plugin-lib-dir` that is not a folder is an error (a typo would otherwise
/// surface later as a missing library); the variable's entries are taken as they are, like
/// `PATH`'s.
pub fn run_env(args: &LibDirArgs) -> Result<RunEnv> {
    for dir in &args.plugin_lib_dirs {
        if !dir.is_dir() {
            bail!("--plugin-lib-dir {}: no such folder", dir.display());
        }
    }
    let from_env = std::env::var_os(LIB_DIR_ENV)
        .map(|value| std::env::split_paths(&value).collect::<Vec<_>>())
        .unwrap_or_default();
    let library_dirs = args
        .plugin_lib_dirs
        .iter()
        .cloned()
        .chain(from_env.into_iter().filter(|d| !d.as_os_str().is_empty()))
        .collect();
    Ok(RunEnv {
        library_dirs,
        ..RunEnv::default()
    })
}
