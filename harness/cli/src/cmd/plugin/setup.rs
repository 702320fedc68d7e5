//! `cpbench plugin setup`: build what plugins need before they run.
//!
//! A `command` plugin's Python environment is otherwise built on its first run, in the middle of
//! a leaderboard; CI calls this first so that building (and downloading) is its own step, with
//! its own time and its own error. Other kinds need nothing and are listed as such.

use std::path::PathBuf;

use anyhow::Result;
use cpbench_host::plugin::{load_plugin, prepare_environment};

use crate::Outcome;

/// Arguments of `cpbench plugin setup`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Plugin folders (or their plugin.toml).
    #[arg(required = true)]
    pub plugins: Vec<PathBuf>,
}

/// Prepares each plugin; stops at the first that cannot be prepared.
pub fn run(args: Args) -> Result<Outcome> {
    let env = super::run_env(&super::LibDirArgs::default())?;
    for path in &args.plugins {
        let plugin = load_plugin(path)?;
        let id = &plugin.manifest.id;
        match prepare_environment(&plugin, &env)? {
            Some(description) => outln!("{id}: {description}"),
            None => outln!(
                "{id}: nothing to set up ({} plugin)",
                plugin.manifest.kind.as_str()
            ),
        }
    }
    Ok(Outcome::Ok)
}
