//! `command` plugins: any program, in any language, run in a process of its own per use.
//!
//! The protocol, `cpbench-command/1` (user documentation: docs/plugins.md):
//!
//! - cpbench makes a fresh work folder and writes `input.parquet` there: one row per profile, the
//!   allowed context columns (`plate`, `well`, `batch`, `control`, `split`; strings) and the
//!   feature columns (float32) under their own names, nothing else. Labels never cross: the only
//!   context is what [`cpbench_plugin_api::ContextColumn`] admits, and a command plugin may not
//!   set `sees_labels`.
//! - Beside it, `job.json`: `protocol`, `plugin` (`id`, `version`), `input`, `output` (absolute
//!   paths), `rows`, `features` and `context` (column names in table order), `fit_rows`
//!   (0-based rows the plugin may fit on, ascending), `threads`, `config` (the manifest's
//!   `[command.config]`).
//! - The program runs in the plugin's folder with the job file's path as its last argument, a
//!   minimal environment (PATH, HOME, LANG, `TMPDIR` = the work folder, `CPBENCH_JOB`,
//!   `CPBENCH_THREADS`, the usual thread-count variables of BLAS/OpenMP/rayon set to `threads`,
//!   `PYTHONHASHSEED=0`, `PYTHONDONTWRITEBYTECODE=1`, then the manifest's `[command.env]`),
//!   stdin closed, in a process group of its own that dies with cpbench.
//! - It writes `output.parquet`: one row per input row, in order, one numeric column (float32
//!   or float64, no nulls) per output dimension; the column names name the representation's
//!   features. It exits 0. Anything it prints goes to its stdout/stderr, whose tails are kept
//!   for failure messages.
//!
//! Limits: the manifest's `timeout_s` (default [`DEFAULT_TIMEOUT`]) kills the whole process
//! group; `memory_limit_mib` sets `RLIMIT_AS`. A timeout, a kill by SIGKILL/SIGTERM/SIGINT/SIGHUP
//! (e.g. the OOM killer) or a memory error under a limit is transient ([`HostError::Interrupted`]:
//! recorded, not cached); a non-zero exit, another signal or a bad output table is the plugin's
//! own failure ([`HostError::Failed`]). The work folder is removed afterwards; one left by a
//! killed cpbench is removed by the next command-plugin run.

pub mod python;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use cpbench_core::manifest::{COMMAND_RESERVED_ENV, CommandSpec};
use polars::prelude::*;
use serde::Serialize;

use crate::error::HostError;
use crate::plugin::{Plugin, PluginInput};

/// Wall-clock limit of one run when the manifest gives none.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3600);

/// The protocol version written in every job file.
pub const PROTOCOL: &str = "cpbench-command/1";

/// Bytes of the program's stdout and stderr kept for messages.
const TAIL_BYTES: usize = 4096;

/// Prefix of work folders in the temporary directory: `cpbench-command-<pid>-<random>`.
const WORK_PREFIX: &str = "cpbench-command-";

/// Thread-count variables set to the job's `threads`, so that numerical libraries of any
/// language use what cpbench was told (and `plugin check` can compare two thread counts).
const THREAD_VARS: [&str; 7] = [
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "BLIS_NUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "RAYON_NUM_THREADS",
];

/// The job file, as written (field order is the documented one).
#[derive(Debug, Serialize)]
struct Job<'a> {
    protocol: &'static str,
    plugin: JobPlugin<'a>,
    input: &'a Path,
    output: &'a Path,
    rows: usize,
    features: &'a [String],
    context: Vec<&'a str>,
    fit_rows: Vec<usize>,
    threads: usize,
    config: &'a toml::Table,
}

#[derive(Debug, Serialize)]
struct JobPlugin<'a> {
    id: &'a str,
    version: &'a str,
}

/// What a successful run produced.
#[derive(Debug, Clone, PartialEq)]
pub struct CommandOutput {
    /// Row-major `n × k` representation.
    pub data: Vec<f32>,
    /// Output width.
    pub k: usize,
    /// The output table's column names.
    pub feature_names: Vec<String>,
    /// The Python (or none) the program ran with, for the record.
    pub environment: Option<String>,
}

/// How cpbench runs a command plugin: its threads and where Python environments are cached.
#[derive(Debug, Clone)]
pub struct CommandEnv {
    /// Threads the program is told to use.
    pub threads: usize,
    /// Root of the cache (`envs/` holds the Python environments).
    pub cache_root: PathBuf,
}

/// Runs a `command` plugin on `input`, supervised; see the module header for the protocol.
pub fn run_command(
    plugin: &Plugin,
    spec: &CommandSpec,
    input: &PluginInput<'_>,
    env: &CommandEnv,
) -> Result<CommandOutput, HostError> {
    let id = plugin.manifest.id.as_str();
    let failed = |message: String| HostError::Failed {
        plugin: id.to_string(),
        message,
    };
    let input_error = |message: String| HostError::Input {
        plugin: id.to_string(),
        message,
    };
    if let Some(name) = input
        .feature_names
        .iter()
        .find(|f| input.context.iter().any(|c| c.name() == f.as_str()))
    {
        return Err(input_error(format!(
            "feature column '{name}' has the name of a context column; rename it"
        )));
    }
    let python = prepare_python(plugin, spec, env).map_err(|e| match e {
        // A build can fail for a reason outside the plugin (no network, a full disk): recorded,
        // not cached, so the next run tries again.
        python::EnvError::Build { .. } => HostError::Interrupted {
            plugin: id.to_string(),
            message: e.to_string(),
        },
        e => input_error(e.to_string()),
    })?;
    let program = resolve_program(plugin, spec, python.as_ref()).map_err(&input_error)?;

    remove_abandoned_work_folders();
    let work = tempfile::Builder::new()
        .prefix(&format!("{WORK_PREFIX}{}-", std::process::id()))
        .tempdir()
        .map_err(|e| failed(format!("cannot create a work folder: {e}")))?;
    let input_path = work.path().join("input.parquet");
    let output_path = work.path().join("output.parquet");
    let job_path = work.path().join("job.json");
    write_input(&input_path, input)
        .map_err(|e| failed(format!("cannot write {}: {e}", input_path.display())))?;
    let job = Job {
        protocol: PROTOCOL,
        plugin: JobPlugin {
            id,
            version: &plugin.manifest.version,
        },
        input: &input_path,
        output: &output_path,
        rows: input.n,
        features: input.feature_names,
        context: input.context.iter().map(|c| c.name()).collect(),
        fit_rows: (0..input.n).filter(|&i| input.fit_rows[i]).collect(),
        threads: env.threads,
        config: &spec.config,
    };
    let job_text = serde_json::to_vec_pretty(&job)
        .map_err(|e| input_error(format!("[command.config] cannot be written as JSON: {e}")))?;
    fs::write(&job_path, job_text)
        .map_err(|e| failed(format!("cannot write {}: {e}", job_path.display())))?;

    let mut command = Command::new(&program);
    command
        .args(&spec.run[1..])
        .arg(&job_path)
        .current_dir(&plugin.dir)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    set_environment(
        &mut command,
        spec,
        python.as_ref(),
        work.path(),
        &job_path,
        env,
    );
    let limit = spec.memory_limit_mib;
    confine(&mut command, limit);
    let timeout = spec.timeout_s.map_or(DEFAULT_TIMEOUT, Duration::from_secs);
    let shown = spec.run.join(" ");
    let child = command
        .spawn()
        .map_err(|e| failed(format!("cannot start `{shown}`: {e}")))?;
    let outcome = supervise(child, timeout);
    let tails = format_tails(&outcome.stdout, &outcome.stderr);
    match outcome.status {
        Ended::TimedOut => {
            return Err(HostError::Interrupted {
                plugin: id.to_string(),
                message: format!(
                    "`{shown}` ran past its timeout of {} s and was killed (raise \
                     command.timeout_s if it needs longer){tails}",
                    timeout.as_secs()
                ),
            });
        }
        Ended::Exited(status) => {
            if let Some(e) = exit_failure(id, &shown, status, limit, &outcome.stderr, &tails) {
                return Err(e);
            }
        }
    }
    if !output_path.is_file() {
        return Err(failed(format!(
            "`{shown}` exited 0 but wrote no output table at the job's `output` path \
             ({}){tails}",
            output_path.display()
        )));
    }
    let (data, k, feature_names) = read_output(&output_path, input.n)
        .map_err(|e| failed(format!("output table: {e}{tails}")))?;
    Ok(CommandOutput {
        data,
        k,
        feature_names,
        environment: python.map(|p| p.description),
    })
}

/// Checks, without building anything, that the plugin's requirements pin every package: what
/// makes a run impossible before it starts (bad input, like an artifact with the wrong digest).
pub fn check_requirements(plugin: &Plugin) -> Result<(), String> {
    let Some(r) = plugin
        .manifest
        .command
        .as_ref()
        .and_then(|c| c.requirements.as_ref())
    else {
        return Ok(());
    };
    let path = plugin.resolve(r);
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    python::check_pinned(&path, &text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Prepares the plugin's Python (when its command starts with `python`) and says which it is.
pub fn prepare(
    plugin: &Plugin,
    spec: &CommandSpec,
    env: &CommandEnv,
) -> Result<Option<String>, HostError> {
    prepare_python(plugin, spec, env)
        .map(|p| p.map(|p| p.description))
        .map_err(|e| HostError::Input {
            plugin: plugin.manifest.id.clone(),
            message: e.to_string(),
        })
}

/// Prepares the plugin's Python when its command starts with `python`.
fn prepare_python(
    plugin: &Plugin,
    spec: &CommandSpec,
    env: &CommandEnv,
) -> Result<Option<python::PythonEnv>, python::EnvError> {
    if spec.run[0] != "python" {
        return Ok(None);
    }
    let shown = spec.interpreter.as_deref().unwrap_or("python3");
    let interpreter = if shown.contains('/') {
        plugin.resolve(Path::new(shown))
    } else {
        find_on_path(shown).ok_or_else(|| python::EnvError::Interpreter {
            interpreter: shown.to_string(),
            message: "not on PATH (set command.interpreter)".to_string(),
        })?
    };
    let requirements = spec.requirements.as_ref().map(|r| plugin.resolve(r));
    python::prepare(
        &interpreter,
        shown,
        requirements.as_deref(),
        &env.cache_root,
    )
    .map(Some)
}

/// The program to start: the prepared Python, a file of the plugin, or a program on PATH.
fn resolve_program(
    plugin: &Plugin,
    spec: &CommandSpec,
    python: Option<&python::PythonEnv>,
) -> Result<PathBuf, String> {
    let program = spec.run[0].as_str();
    if let Some(p) = python {
        return Ok(p.python.clone());
    }
    if program.contains('/') {
        return Ok(plugin.resolve(Path::new(program)));
    }
    find_on_path(program)
        .ok_or_else(|| format!("the program `{program}` (command.run[0]) is not on PATH"))
}

fn find_on_path(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| {
            p.metadata()
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The program's whole environment: nothing of cpbench's own beyond what is listed here.
fn set_environment(
    command: &mut Command,
    spec: &CommandSpec,
    python: Option<&python::PythonEnv>,
    work: &Path,
    job: &Path,
    env: &CommandEnv,
) {
    let mut path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    if let Some(venv) = python.and_then(|p| p.venv.as_ref()) {
        let mut dirs = vec![venv.join("bin")];
        dirs.extend(std::env::split_paths(&path));
        path = std::env::join_paths(dirs).unwrap_or(path);
        command.env("VIRTUAL_ENV", venv);
    }
    command.env("PATH", path);
    for var in ["HOME", "LANG", "LC_ALL", "USER", "LOGNAME"] {
        if let Some(v) = std::env::var_os(var) {
            command.env(var, v);
        }
    }
    let threads = env.threads.to_string();
    for var in THREAD_VARS {
        command.env(var, &threads);
    }
    command
        .env("TMPDIR", work)
        .env("PYTHONHASHSEED", "0")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("PYTHONNOUSERSITE", "1");
    debug_assert_eq!(COMMAND_RESERVED_ENV, ["CPBENCH_JOB", "CPBENCH_THREADS"]);
    command
        .env("CPBENCH_JOB", job)
        .env("CPBENCH_THREADS", &threads);
    for (k, v) in &spec.env {
        command.env(k, v);
    }
}

/// A process group of its own (so a timeout kills its children too), death with cpbench, no
/// core files, and the address-space limit.
fn confine(command: &mut Command, memory_limit_mib: Option<u64>) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
    crate::process::die_with_parent(command);
    // SAFETY: between fork and exec the closure only calls setrlimit, which is
    // async-signal-safe, on values computed before the fork.
    unsafe {
        command.pre_exec(move || {
            let no_core = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::setrlimit(libc::RLIMIT_CORE, &no_core) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if let Some(mib) = memory_limit_mib {
                let bytes = mib.saturating_mul(1 << 20) as libc::rlim_t;
                let limit = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

enum Ended {
    Exited(ExitStatus),
    TimedOut,
}

struct Outcome {
    status: Ended,
    stdout: String,
    stderr: String,
}

/// Waits for the program, killing its process group past `timeout`, and keeps the tails of
/// its output. Whatever it left running in its group is killed when it ends.
fn supervise(mut child: Child, timeout: Duration) -> Outcome {
    let pgid = child.id() as libc::pid_t;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    thread::scope(|s| {
        let out = s.spawn(move || stdout.map(|o| tail_of(o, TAIL_BYTES)).unwrap_or_default());
        let err = s.spawn(move || stderr.map(|e| tail_of(e, TAIL_BYTES)).unwrap_or_default());
        let start = Instant::now();
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Ended::Exited(status),
                Ok(None) if start.elapsed() >= timeout => {
                    kill_group(pgid);
                    let _ = child.wait();
                    break Ended::TimedOut;
                }
                Ok(None) => thread::sleep(Duration::from_millis(10)),
                Err(_) => {
                    kill_group(pgid);
                    break match child.wait() {
                        Ok(status) => Ended::Exited(status),
                        Err(_) => Ended::TimedOut,
                    };
                }
            }
        };
        // Children it started in the background would otherwise hold the pipes open.
        kill_group(pgid);
        Outcome {
            status,
            stdout: out.join().unwrap_or_default(),
            stderr: err.join().unwrap_or_default(),
        }
    })
}

fn kill_group(pgid: libc::pid_t) {
    // SAFETY: plain syscall; a group that no longer exists gives ESRCH, which is fine.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

/// Reads `stream` to its end and keeps the last `keep` bytes, from a line start.
fn tail_of<R: Read>(mut stream: R, keep: usize) -> String {
    let mut tail: Vec<u8> = Vec::new();
    let mut cut = false;
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => tail.extend_from_slice(&buf[..k]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
        if tail.len() > 2 * keep {
            tail.drain(..tail.len() - keep);
            cut = true;
        }
    }
    if tail.len() > keep {
        tail.drain(..tail.len() - keep);
        cut = true;
    }
    if cut && let Some(newline) = tail.iter().position(|&b| b == b'\n') {
        tail.drain(..=newline);
    }
    String::from_utf8_lossy(&tail).trim_end().to_string()
}

fn format_tails(stdout: &str, stderr: &str) -> String {
    let mut s = String::new();
    if !stderr.is_empty() {
        s.push_str(&format!("\n--- stderr (last lines) ---\n{stderr}"));
    }
    if !stdout.is_empty() {
        s.push_str(&format!("\n--- stdout (last lines) ---\n{stdout}"));
    }
    s
}

/// Lines by which common runtimes report a failed allocation.
const MEMORY_ERRORS: [&str; 6] = [
    "MemoryError",
    "Unable to allocate",
    "std::bad_alloc",
    "Cannot allocate memory",
    "cannot allocate vector",
    "out of memory",
];

/// The error for a finished program, or `None` when it exited 0.
fn exit_failure(
    id: &str,
    shown: &str,
    status: ExitStatus,
    memory_limit_mib: Option<u64>,
    stderr: &str,
    tails: &str,
) -> Option<HostError> {
    use std::os::unix::process::ExitStatusExt;
    if status.success() {
        return None;
    }
    let transient = |message: String| HostError::Interrupted {
        plugin: id.to_string(),
        message,
    };
    let failed = |message: String| HostError::Failed {
        plugin: id.to_string(),
        message,
    };
    if let Some(signal) = status.signal() {
        let name = signal_name(signal);
        let message = format!("`{shown}` was killed by {name}{tails}");
        return Some(
            if [libc::SIGKILL, libc::SIGTERM, libc::SIGINT, libc::SIGHUP].contains(&signal) {
                transient(format!(
                    "{message}\n(killed from outside, e.g. by the out-of-memory killer: not cached, \
                     a rerun may succeed)"
                ))
            } else {
                failed(message)
            },
        );
    }
    let code = status.code().unwrap_or(-1);
    if let Some(mib) = memory_limit_mib
        && MEMORY_ERRORS.iter().any(|m| stderr.contains(m))
    {
        return Some(transient(format!(
            "`{shown}` ran out of memory under its limit of {mib} MiB (command.memory_limit_mib) \
             and exited with code {code}{tails}"
        )));
    }
    Some(failed(format!("`{shown}` exited with code {code}{tails}")))
}

fn signal_name(signal: i32) -> String {
    match signal {
        libc::SIGSEGV => "SIGSEGV".into(),
        libc::SIGABRT => "SIGABRT".into(),
        libc::SIGBUS => "SIGBUS".into(),
        libc::SIGFPE => "SIGFPE".into(),
        libc::SIGILL => "SIGILL".into(),
        libc::SIGKILL => "SIGKILL".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGINT => "SIGINT".into(),
        libc::SIGHUP => "SIGHUP".into(),
        libc::SIGPIPE => "SIGPIPE".into(),
        other => format!("signal {other}"),
    }
}

/// Writes the plugin's input table: context columns, then features.
fn write_input(path: &Path, input: &PluginInput<'_>) -> PolarsResult<()> {
    let mut columns: Vec<Column> = Vec::with_capacity(input.context.len() + input.d);
    for c in &input.context {
        let values: Vec<&str> = c.values().iter().map(|v| v.as_str()).collect();
        columns.push(Column::new(c.name().into(), values));
    }
    for (j, name) in input.feature_names.iter().enumerate() {
        let values: Vec<f32> = (0..input.n)
            .map(|i| input.features[i * input.d + j])
            .collect();
        columns.push(Column::new(name.as_str().into(), values));
    }
    let mut frame = DataFrame::new(input.n, columns)?;
    let file = fs::File::create(path)?;
    ParquetWriter::new(file).finish(&mut frame)?;
    Ok(())
}

/// Reads the output table: `n` rows of numeric columns without nulls.
fn read_output(path: &Path, n: usize) -> Result<(Vec<f32>, usize, Vec<String>), String> {
    let file = fs::File::open(path).map_err(|e| e.to_string())?;
    let frame = ParquetReader::new(file)
        .finish()
        .map_err(|e| format!("not a readable Parquet file: {e}"))?;
    if frame.height() != n {
        return Err(format!(
            "{} rows for {n} input rows (one output row per input row, in order)",
            frame.height()
        ));
    }
    let k = frame.width();
    if k == 0 {
        return Err("no columns".into());
    }
    let mut names = Vec::with_capacity(k);
    let mut data = vec![0f32; n * k];
    for (j, column) in frame.columns().iter().enumerate() {
        let name = column.name().to_string();
        if name.is_empty() {
            return Err(format!("column {} has no name", j + 1));
        }
        if !column.dtype().is_primitive_numeric() {
            return Err(format!(
                "column '{name}' is {}, expected float32 or float64",
                column.dtype()
            ));
        }
        if column.null_count() > 0 {
            return Err(format!("column '{name}' has {} nulls", column.null_count()));
        }
        let values = column
            .cast(&DataType::Float32)
            .map_err(|e| format!("column '{name}': {e}"))?;
        let values = values.f32().map_err(|e| format!("column '{name}': {e}"))?;
        for (i, v) in values.into_no_null_iter().enumerate() {
            data[i * k + j] = v;
        }
        names.push(name);
    }
    Ok((data, k, names))
}

/// Removes work folders of cpbench processes that no longer exist (killed with `kill -9`).
fn remove_abandoned_work_folders() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(WORK_PREFIX)) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        // SAFETY: signal 0 only asks whether the process exists.
        let alive = unsafe { libc::kill(pid, 0) } == 0
            || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM);
        if !alive {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tails_keep_the_last_whole_lines() {
        let text: String = (0..1000).map(|i| format!("line {i}\n")).collect();
        let tail = tail_of(text.as_bytes(), 64);
        assert!(tail.ends_with("line 999"), "{tail}");
        assert!(tail.starts_with("line "), "{tail}");
        assert!(tail.len() <= 64);
        assert_eq!(tail_of(&b"short\n"[..], 64), "short");
    }

    #[test]
    fn exits_are_classified() {
        use std::os::unix::process::ExitStatusExt;
        assert!(exit_failure("p", "x", ExitStatus::from_raw(0), None, "", "").is_none());
        let code = exit_failure("p", "x", ExitStatus::from_raw(3 << 8), None, "", "").unwrap();
        assert!(matches!(code, HostError::Failed { .. }));
        assert!(code.to_string().contains("exited with code 3"), "{code}");
        let segv = exit_failure("p", "x", ExitStatus::from_raw(libc::SIGSEGV), None, "", "");
        assert!(matches!(segv, Some(HostError::Failed { .. })));
        let kill = exit_failure("p", "x", ExitStatus::from_raw(libc::SIGKILL), None, "", "");
        assert!(matches!(kill, Some(HostError::Interrupted { .. })));
        let oom = exit_failure(
            "p",
            "x",
            ExitStatus::from_raw(1 << 8),
            Some(256),
            "numpy.core._exceptions._ArrayMemoryError: Unable to allocate 8 GiB",
            "",
        )
        .unwrap();
        assert!(matches!(oom, HostError::Interrupted { .. }));
        assert!(oom.to_string().contains("limit of 256 MiB"), "{oom}");
        // Without a limit the same message is the plugin's own failure.
        let own = exit_failure(
            "p",
            "x",
            ExitStatus::from_raw(1 << 8),
            None,
            "MemoryError",
            "",
        );
        assert!(matches!(own, Some(HostError::Failed { .. })));
    }
}
