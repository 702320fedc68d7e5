//! `command` plugins: a program of any language, run through files in its own process.

use super::{OutputRows, Plugin, PluginInput, PluginOutput, RunEnv, input_error};
use crate::command::{CommandEnv, python::default_cache_root, run_command};
use crate::error::HostError;

pub(super) fn run_command_plugin(
    plugin: &Plugin,
    input: &PluginInput<'_>,
    env: &RunEnv,
) -> Result<PluginOutput, HostError> {
    let spec = plugin
        .manifest
        .command
        .as_ref()
        .ok_or_else(|| input_error(plugin, "a command plugin needs a [command] table"))?;
    let command_env = command_env(env);
    let out = run_command(plugin, spec, input, &command_env)?;
    // The thread count is not in the note: results must be the same bytes at any thread count.
    let mut notes = vec![format!("ran `{}` in its own process", spec.run.join(" "))];
    notes.extend(out.environment);
    Ok(PluginOutput {
        data: out.data,
        k: out.k,
        rows: OutputRows::All,
        feature_names: out.feature_names,
        execution_provider: None,
        notes,
        missing_keys: Vec::new(),
    })
}

/// The threads and cache of `env`, with their defaults filled in.
fn command_env(env: &RunEnv) -> CommandEnv {
    CommandEnv {
        threads: env.command_threads.unwrap_or_else(default_threads),
        cache_root: env.cache_root.clone().unwrap_or_else(default_cache_root),
    }
}

/// `RAYON_NUM_THREADS` when set (what cpbench's `--threads` sets), else the machine's cores.
fn default_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&t| t > 0)
        .or_else(|| std::thread::available_parallelism().ok().map(|n| n.get()))
        .unwrap_or(1)
}

/// Builds (or finds in the cache) the Python environment of a `command` plugin, so that a
/// leaderboard does not build it in the middle of its runs; `None` for a plugin without one.
pub fn prepare_environment(plugin: &Plugin, env: &RunEnv) -> Result<Option<String>, HostError> {
    let Some(spec) = plugin.manifest.command.as_ref() else {
        return Ok(None);
    };
    let command_env = command_env(env);
    crate::command::prepare(plugin, spec, &command_env)
}
