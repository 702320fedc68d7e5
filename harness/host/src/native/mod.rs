//! Native plugins, run in an isolated worker process.
//!
//! The host never loads a native plugin itself. [`run_native`] starts a worker
//! (`cpbench plugin-worker`, see [`worker_main`]), sends it the job over stdin and reads the
//! result from stdout, in the framed format of the `protocol` module (a small header, JSON for
//! metadata, config and context, raw little-endian `f32` for matrices). The worker loads the
//! library with abi_stable, checks its interface version, builds the plugin from its config,
//! fits it on the rows the benchmark allows, transforms every row and sends the result back.
//!
//! Whatever goes wrong in the plugin stays in the worker and comes back as a
//! [`NativeFailure`] with a reason and the tail of the worker's stderr:
//!
//! | what happened | [`NativeFailureKind`] |
//! |---|---|
//! | the plugin returned an error | `PluginError` |
//! | it panicked (caught by the API adapter, or uncaught: abort or abi_stable's exit) | `Panic` |
//! | it died from a signal (SIGSEGV, SIGBUS, ...) | `Crashed { signal }` |
//! | an allocation failed (under the `RLIMIT_AS` memory limit) | `MemoryLimit` |
//! | it ran past the timeout; the worker is killed | `Timeout` |
//! | the library could not be loaded, or has another interface version | `LoadFailed`, `InterfaceMismatch` |
//!
//! The host process itself is never at risk and can run the next plugin right away.

mod host;
mod library;
mod protocol;
mod worker;

use std::ffi::OsString;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Re-exported so callers build a job's context, and name the interface's versions, without
/// naming the plugin API crate.
pub use cpbench_plugin_api::{API_VERSION, ContextColumn, INTERFACE_VERSION};
pub use library::{LibraryNotFound, library_file_name, resolve_library, resolve_native_library};
pub use worker::worker_main;

/// The subcommand of `cpbench` that runs a worker.
pub const WORKER_SUBCOMMAND: &str = "plugin-worker";

/// How to start a worker: a program, its arguments and environment overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkerCommand {
    /// The executable, normally `cpbench` itself.
    pub program: PathBuf,
    /// Its arguments, normally `["plugin-worker"]`.
    pub args: Vec<OsString>,
    /// Variables set for the worker on top of the host's environment.
    pub env: Vec<(OsString, OsString)>,
}

impl WorkerCommand {
    /// `program plugin-worker`, for a `cpbench` binary at `program`, with `RUST_BACKTRACE=0`.
    ///
    /// Backtraces are off because a failure report keeps only the tail of the worker's stderr,
    /// and with them that tail is the end of a backtrace instead of the panic message. Replace
    /// the entry in `env` to debug a plugin with backtraces.
    pub fn new(program: impl Into<PathBuf>) -> WorkerCommand {
        WorkerCommand {
            program: program.into(),
            args: vec![WORKER_SUBCOMMAND.into()],
            env: vec![("RUST_BACKTRACE".into(), "0".into())],
        }
    }

    /// The running executable with `plugin-worker`: what the `cpbench` binary uses.
    pub fn current_exe() -> std::io::Result<WorkerCommand> {
        Ok(WorkerCommand::new(std::env::current_exe()?))
    }
}

impl fmt::Display for WorkerCommand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.program.display())?;
        for arg in &self.args {
            write!(f, " {}", arg.to_string_lossy())?;
        }
        Ok(())
    }
}

/// One run of a native plugin: its library and config, the input and what `fit` may see.
#[derive(Debug, Clone)]
pub struct NativeJob<'a> {
    /// The plugin's cdylib (see [`resolve_library`]).
    pub library: &'a Path,
    /// The plugin's config as JSON text (the `[native.config]` table of its `plugin.toml`).
    pub config_json: String,
    /// The `n × d` input, row-major.
    pub x: &'a [f32],
    /// Rows of `x`.
    pub n: usize,
    /// Columns of `x`.
    pub d: usize,
    /// Allowed per-row context, each column with `n` values; `fit` gets the fit rows' values.
    pub context: &'a [ContextColumn],
    /// One flag per row: whether `fit` may see it. `transform` always gets every row.
    pub fit_rows: &'a [bool],
}

/// Resource limits of one worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NativeLimits {
    /// Wall-clock limit for the whole run (start, load, fit, transform, transfers).
    pub timeout: Duration,
    /// Address-space limit of the worker (`RLIMIT_AS`), in MiB; `None` for no limit.
    ///
    /// It counts reserved as well as touched memory, including the worker binary's own
    /// mappings and thread stacks, so leave headroom above the plugin's working set.
    pub memory_limit_mib: Option<u64>,
}

impl NativeLimits {
    /// Timeout when a plugin's manifest sets none.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

    /// Limits from a manifest's `native.timeout_s` and `native.memory_limit_mib`.
    pub fn from_manifest(timeout_s: Option<u64>, memory_limit_mib: Option<u64>) -> NativeLimits {
        NativeLimits {
            timeout: timeout_s.map_or(Self::DEFAULT_TIMEOUT, Duration::from_secs),
            memory_limit_mib,
        }
    }
}

/// A successful run: the `n × k` representation and who produced it.
#[derive(Debug, Clone, PartialEq)]
pub struct NativeOutput {
    /// The output, row-major.
    pub data: Vec<f32>,
    /// Rows (same as the input's).
    pub n: usize,
    /// Columns.
    pub k: usize,
    /// The plugin's id as it reports it.
    pub plugin_name: String,
    /// The plugin's version as it reports it.
    pub plugin_version: String,
    /// The last few KiB of the worker's stderr (warnings the plugin printed).
    pub stderr_tail: String,
    /// Time spent inside the plugin's `new`, `fit` and `transform`, as the worker measured it.
    pub plugin_time: Duration,
    /// Wall-clock time of the whole run: worker start, transfers, loading and the plugin calls.
    pub total_time: Duration,
}

/// How a native plugin run failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NativeFailureKind {
    /// The plugin panicked.
    Panic,
    /// The worker died: killed by `signal`, or (`None`) exited with an error and no result.
    Crashed {
        /// The signal that killed it, if one did.
        signal: Option<i32>,
    },
    /// The run exceeded its timeout and the worker was killed.
    Timeout,
    /// An allocation failed (normally under the worker's memory limit).
    MemoryLimit,
    /// The plugin returned an error (bad config, missing context, ...).
    PluginError,
    /// The library could not be loaded as a cpbench plugin.
    LoadFailed,
    /// The plugin was built for another plugin interface version.
    InterfaceMismatch,
    /// Host and worker could not understand each other.
    Protocol,
    /// The worker process could not be started.
    WorkerStart,
    /// The job was inconsistent (shapes, row flags, context lengths); no worker was started.
    InvalidJob,
}

impl fmt::Display for NativeFailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NativeFailureKind::Panic => f.write_str("panic"),
            NativeFailureKind::Crashed {
                signal: Some(signal),
            } => write!(f, "crashed ({})", host::signal_name(*signal)),
            NativeFailureKind::Crashed { signal: None } => f.write_str("crashed"),
            NativeFailureKind::Timeout => f.write_str("timeout"),
            NativeFailureKind::MemoryLimit => f.write_str("memory limit"),
            NativeFailureKind::PluginError => f.write_str("plugin error"),
            NativeFailureKind::LoadFailed => f.write_str("load failed"),
            NativeFailureKind::InterfaceMismatch => f.write_str("interface mismatch"),
            NativeFailureKind::Protocol => f.write_str("worker protocol error"),
            NativeFailureKind::WorkerStart => f.write_str("worker did not start"),
            NativeFailureKind::InvalidJob => f.write_str("invalid job"),
        }
    }
}

impl NativeFailureKind {
    /// Whether the failure came from outside the plugin's own computation (a timeout, memory
    /// running out, or a kill, hang-up, interrupt or termination signal), so that rerunning the
    /// same inputs may succeed. A panic, a plugin error or a crash on any other signal (e.g.
    /// SIGSEGV) is the plugin's own and repeats.
    pub fn is_transient(&self) -> bool {
        match self {
            NativeFailureKind::Timeout | NativeFailureKind::MemoryLimit => true,
            NativeFailureKind::Crashed {
                signal: Some(signal),
            } => [libc::SIGKILL, libc::SIGTERM, libc::SIGINT, libc::SIGHUP].contains(signal),
            _ => false,
        }
    }
}

/// A failed run: the classification, a readable reason and the end of the worker's stderr.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}{}", stderr_section(stderr_tail))]
pub struct NativeFailure {
    /// What kind of failure.
    pub kind: NativeFailureKind,
    /// What happened, naming the plugin and the call it was in.
    pub message: String,
    /// The last few KiB of the worker's stderr (panic messages, allocation failures, logs).
    pub stderr_tail: String,
}

fn stderr_section(tail: &str) -> String {
    if tail.is_empty() {
        String::new()
    } else {
        format!("\n--- worker stderr (last lines) ---\n{tail}")
    }
}

/// Runs one native plugin job in a fresh worker process and returns its output, or why it
/// failed. Never loads the plugin into this process.
pub fn run_native(
    worker: &WorkerCommand,
    job: &NativeJob<'_>,
    limits: &NativeLimits,
) -> Result<NativeOutput, NativeFailure> {
    host::run(worker, job, limits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_display_has_reason_and_stderr() {
        let f = NativeFailure {
            kind: NativeFailureKind::Crashed {
                signal: Some(libc::SIGSEGV),
            },
            message: "plugin 'x' 0.1.0 crashed in fit".into(),
            stderr_tail: "about to crash".into(),
        };
        assert_eq!(
            f.to_string(),
            "crashed (SIGSEGV): plugin 'x' 0.1.0 crashed in fit\n\
             --- worker stderr (last lines) ---\nabout to crash"
        );
        let f = NativeFailure {
            stderr_tail: String::new(),
            kind: NativeFailureKind::Timeout,
            ..f
        };
        assert_eq!(f.to_string(), "timeout: plugin 'x' 0.1.0 crashed in fit");
    }

    #[test]
    fn limits_from_manifest_and_worker_command() {
        let l = NativeLimits::from_manifest(None, Some(512));
        assert_eq!(l.timeout, NativeLimits::DEFAULT_TIMEOUT);
        assert_eq!(l.memory_limit_mib, Some(512));
        assert_eq!(
            NativeLimits::from_manifest(Some(5), None).timeout,
            Duration::from_secs(5)
        );
        let w = WorkerCommand::new("/usr/bin/cpbench");
        assert_eq!(w.to_string(), "/usr/bin/cpbench plugin-worker");
    }
}
