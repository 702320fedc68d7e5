//! The host side: starts the worker, feeds it the job, watches it, and turns whatever happens
//! into a [`NativeOutput`] or a classified [`NativeFailure`].

use std::io::{self, BufReader, Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, ChildStdin, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::protocol::{
    ContextMessage, ErrorKind, ErrorMessage, Frame, FrameKind, FrameLimits, JobMessage,
    LoadedMessage, OutputMessage, ProtocolError, StageMessage, read_frame, write_message_spliced,
};
use super::{
    NativeFailure, NativeFailureKind, NativeJob, NativeLimits, NativeOutput, WorkerCommand,
};

/// Bytes of worker stderr kept for failure reports.
pub(crate) const STDERR_TAIL_BYTES: usize = 4096;

/// Pipe capacity asked for on Linux: fewer, larger transfers than the 64 KiB default.
const PIPE_BYTES: libc::c_int = 1 << 20;

/// What the stdout reader saw.
#[derive(Debug, Default)]
struct Reply {
    loaded: Option<LoadedMessage>,
    stage: Option<StageMessage>,
    output: Option<(OutputMessage, Vec<f32>)>,
    error: Option<ErrorMessage>,
    /// A frame that could not be read or made no sense.
    broken: Option<ProtocolError>,
}

/// Why the host killed the worker, if it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Killed {
    Timeout,
    Protocol,
}

/// Runs one job in a fresh worker; see [`super::run_native`].
pub(crate) fn run(
    worker: &WorkerCommand,
    job: &NativeJob<'_>,
    limits: &NativeLimits,
) -> Result<NativeOutput, NativeFailure> {
    let message = job_message(job)?;
    let started = Instant::now();
    let mut child = spawn(worker, limits)?;
    let stdin = child.stdin.take().expect("stdin is piped");
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");
    let (reply, status, killed, stderr) = thread::scope(|s| {
        s.spawn(|| send_job(stdin, &message, job.x));
        let stderr_reader = s.spawn(|| read_stderr(stderr, STDERR_TAIL_BYTES));
        let (tx, rx) = mpsc::channel();
        s.spawn(move || {
            // The receiver is gone only if the host side already gave up on this worker.
            let _ = tx.send(read_reply(stdout));
        });
        let (reply, status, killed) = supervise(&mut child, &rx, started + limits.timeout);
        let tail = stderr_reader.join().unwrap_or_default();
        (reply, status, killed, tail)
    });
    let mut result = classify(job, limits, reply, status, killed, stderr);
    if let Ok(output) = &mut result {
        output.total_time = started.elapsed();
    }
    result
}

/// Checks the job's shapes and builds its JSON message.
fn job_message(job: &NativeJob<'_>) -> Result<JobMessage, NativeFailure> {
    let invalid = |message: String| NativeFailure {
        kind: NativeFailureKind::InvalidJob,
        message,
        stderr_tail: String::new(),
    };
    if job.n.checked_mul(job.d) != Some(job.x.len()) {
        return Err(invalid(format!(
            "the feature matrix holds {} values but its shape is {} × {}",
            job.x.len(),
            job.n,
            job.d
        )));
    }
    if job.fit_rows.len() != job.n {
        return Err(invalid(format!(
            "fit_rows has {} flags for {} rows",
            job.fit_rows.len(),
            job.n
        )));
    }
    if let Some(c) = job.context.iter().find(|c| c.len() != job.n) {
        return Err(invalid(format!(
            "context column '{}' has {} values for {} rows",
            c.name(),
            c.len(),
            job.n
        )));
    }
    Ok(JobMessage {
        library: job.library.to_path_buf(),
        config_json: job.config_json.clone(),
        n: job.n as u64,
        d: job.d as u64,
        fit_rows: (0..job.n as u64)
            .filter(|&i| job.fit_rows[i as usize])
            .collect(),
        context: job
            .context
            .iter()
            .map(|c| ContextMessage {
                name: c.name().to_owned(),
                values: c.values().iter().map(|v| v.as_str().to_owned()).collect(),
            })
            .collect(),
    })
}

fn spawn(worker: &WorkerCommand, limits: &NativeLimits) -> Result<Child, NativeFailure> {
    let mut command = Command::new(&worker.program);
    command
        .args(&worker.args)
        .envs(worker.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let address_space = limits
        .memory_limit_mib
        .map(|mib| mib.saturating_mul(1 << 20) as libc::rlim_t);
    // SAFETY: the closure runs between fork and exec and only calls setrlimit, which is
    // async-signal-safe, on values computed before the fork.
    unsafe {
        command.pre_exec(move || {
            // A crashing plugin must not leave a core file of a multi-GiB worker behind.
            let no_core = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::setrlimit(libc::RLIMIT_CORE, &no_core) != 0 {
                return Err(io::Error::last_os_error());
            }
            if let Some(bytes) = address_space {
                let limit = libc::rlimit {
                    rlim_cur: bytes,
                    rlim_max: bytes,
                };
                if libc::setrlimit(libc::RLIMIT_AS, &limit) != 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    crate::process::die_with_parent(&mut command);
    let child = command.spawn().map_err(|e| NativeFailure {
        kind: NativeFailureKind::WorkerStart,
        message: format!("cannot start the plugin worker `{worker}`: {e}"),
        stderr_tail: String::new(),
    })?;
    for fd in [
        child.stdin.as_ref().map(std::os::fd::AsRawFd::as_raw_fd),
        child.stdout.as_ref().map(std::os::fd::AsRawFd::as_raw_fd),
    ]
    .into_iter()
    .flatten()
    {
        grow_pipe(fd);
    }
    Ok(child)
}

/// Enlarges a pipe's buffer; a refusal (e.g. the per-user pipe quota) only costs speed.
#[cfg(target_os = "linux")]
fn grow_pipe(fd: std::os::fd::RawFd) {
    // SAFETY: fcntl on a descriptor this process owns; F_SETPIPE_SZ changes only its capacity.
    unsafe {
        libc::fcntl(fd, libc::F_SETPIPE_SZ, PIPE_BYTES);
    }
}

#[cfg(not(target_os = "linux"))]
fn grow_pipe(_fd: std::os::fd::RawFd) {}

/// Sends the job. `x` stays borrowed until `run` returns, which is after the worker has exited,
/// so the spliced pages are never modified before the worker has read them.
fn send_job(mut stdin: ChildStdin, message: &JobMessage, x: &[f32]) {
    // A worker that dies while reading closes the pipe; the exit status says why, so the write
    // error adds nothing.
    let _ = write_message_spliced(&mut stdin, FrameKind::Job, message, x);
    let _ = stdin.flush();
}

/// Reads frames until the worker closes stdout or sends something unreadable.
fn read_reply(stdout: ChildStdout) -> Reply {
    let mut reader = BufReader::with_capacity(1 << 20, stdout);
    let mut reply = Reply::default();
    loop {
        let frame = match read_frame(&mut reader, &FrameLimits::DEFAULT) {
            Ok(Some(frame)) => frame,
            Ok(None) => return reply,
            Err(e) => {
                reply.broken = Some(e);
                return reply;
            }
        };
        if let Err(e) = take_frame(&mut reply, frame) {
            reply.broken = Some(e);
            return reply;
        }
    }
}

fn take_frame(reply: &mut Reply, frame: Frame) -> Result<(), ProtocolError> {
    let done = reply.output.is_some() || reply.error.is_some();
    if done || frame.kind == FrameKind::Job {
        return Err(ProtocolError::Invalid(format!(
            "unexpected {:?} frame from the worker",
            frame.kind
        )));
    }
    match frame.kind {
        FrameKind::Loaded => reply.loaded = Some(frame.message()?),
        FrameKind::Stage => reply.stage = Some(frame.message()?),
        FrameKind::Output => {
            let message: OutputMessage = frame.message()?;
            let expected = message.n.checked_mul(message.k);
            if expected != Some(frame.payload.len() as u64) {
                return Err(ProtocolError::Invalid(format!(
                    "the worker announced {} × {} output values but sent {}",
                    message.n,
                    message.k,
                    frame.payload.len()
                )));
            }
            reply.output = Some((message, frame.payload));
        }
        FrameKind::Error => reply.error = Some(frame.message()?),
        FrameKind::Job => unreachable!("refused above"),
    }
    Ok(())
}

/// Waits for the reply and the exit, killing the worker past the deadline or when its output
/// is unreadable (it might otherwise block forever on a full pipe).
fn supervise(
    child: &mut Child,
    replies: &mpsc::Receiver<Reply>,
    deadline: Instant,
) -> (Reply, ExitStatus, Option<Killed>) {
    let mut killed = None;
    let wait = deadline.saturating_duration_since(Instant::now());
    let reply = match replies.recv_timeout(wait) {
        Ok(reply) => reply,
        Err(_) => {
            killed = Some(Killed::Timeout);
            let _ = child.kill();
            // Killing closes the worker's stdout, so the reader finishes promptly.
            replies.recv().unwrap_or_default()
        }
    };
    if reply.broken.is_some() && killed.is_none() && matches!(child.try_wait(), Ok(None)) {
        killed = Some(Killed::Protocol);
        let _ = child.kill();
    }
    // The worker closed stdout; it normally exits right after, but it could also keep running.
    let mut pause = Duration::from_micros(100);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() >= deadline => {
                killed.get_or_insert(Killed::Timeout);
                let _ = child.kill();
                break child
                    .wait()
                    .unwrap_or_else(|_| ExitStatus::from_raw(libc::SIGKILL));
            }
            Ok(None) => {
                thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(20));
            }
            Err(_) => {
                let _ = child.kill();
                break child
                    .wait()
                    .unwrap_or_else(|_| ExitStatus::from_raw(libc::SIGKILL));
            }
        }
    };
    (reply, status, killed)
}

/// What the worker wrote to stderr: its tail, and the lines that explain a death.
///
/// The whole stream is scanned line by line, because the line that matters (a panic message,
/// a failed allocation) may be followed by kilobytes of backtrace: a panic that cannot unwind
/// always prints one.
#[derive(Debug, Default, Clone, PartialEq)]
struct Stderr {
    /// The last bytes, starting at a line boundary when cut.
    tail: String,
    /// The first panic: its message and location, `message (at file:line:col)`.
    panic: Option<String>,
    /// Rust's "memory allocation of N bytes failed" line, the first one.
    alloc_failure: Option<String>,
    /// abi_stable's guard stopped a panic at the FFI boundary (it then exits with code 1).
    ffi_guard: bool,
}

/// Longest line scanned for markers; longer lines are cut (they still reach the tail whole).
const MAX_SCANNED_LINE: usize = 4096;

impl Stderr {
    fn scan_line(&mut self, line: &[u8], panic_location: &mut Option<String>) {
        let line = String::from_utf8_lossy(line);
        let line = line.trim_end();
        if let Some(location) = panic_location.take() {
            // Rust prints `thread '…' panicked at FILE:LINE:COL:` and the message on the next line.
            self.panic = Some(format!("{} (at {location})", line.trim()));
            return;
        }
        if self.panic.is_none()
            && let Some(at) = line.find(" panicked at ")
        {
            let location = line[at + " panicked at ".len()..].trim_end_matches(':');
            *panic_location = Some(location.to_owned());
        } else if self.alloc_failure.is_none()
            && line.starts_with("memory allocation of")
            && line.ends_with("failed")
        {
            self.alloc_failure = Some(line.to_owned());
        } else if line.contains("Attempted to panic across the ffi boundary") {
            self.ffi_guard = true;
        }
    }
}

/// Reads the worker's stderr to its end: keeps the last `keep` bytes and scans every line.
fn read_stderr<R: Read>(mut stream: R, keep: usize) -> Stderr {
    let mut out = Stderr::default();
    let mut tail: Vec<u8> = Vec::new();
    let mut cut = false;
    let mut line: Vec<u8> = Vec::new();
    let mut panic_location = None;
    let mut buf = [0u8; 8192];
    loop {
        let k = match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(k) => k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        for &b in &buf[..k] {
            if b == b'\n' {
                out.scan_line(&line, &mut panic_location);
                line.clear();
            } else if line.len() < MAX_SCANNED_LINE {
                line.push(b);
            }
        }
        tail.extend_from_slice(&buf[..k]);
        if tail.len() > 2 * keep {
            tail.drain(..tail.len() - keep);
            cut = true;
        }
    }
    if !line.is_empty() {
        out.scan_line(&line, &mut panic_location);
    }
    if let Some(location) = panic_location {
        out.panic = Some(format!("(no message) (at {location})"));
    }
    if tail.len() > keep {
        tail.drain(..tail.len() - keep);
        cut = true;
    }
    if cut && let Some(newline) = tail.iter().position(|&b| b == b'\n') {
        tail.drain(..=newline);
    }
    out.tail = String::from_utf8_lossy(&tail).trim_end().to_owned();
    out
}

/// Name of the plugin for messages: from the worker's `Loaded` frame, else the library file.
fn plugin_label(job: &NativeJob<'_>, reply: &Reply) -> String {
    match &reply.loaded {
        Some(l) => format!("plugin '{}' {}", l.name, l.version),
        None => format!("plugin library {}", job.library.display()),
    }
}

fn stage_label(reply: &Reply) -> String {
    match &reply.stage {
        Some(s) if s.rows > 0 => format!(" in {} ({} rows)", s.stage.as_str(), s.rows),
        Some(s) => format!(" in {}", s.stage.as_str()),
        None if reply.loaded.is_some() => " after loading".to_owned(),
        None => " while loading".to_owned(),
    }
}

/// Name of a signal for messages.
pub(crate) fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGTERM => "SIGTERM",
        libc::SIGPIPE => "SIGPIPE",
        _ => "signal",
    }
}

fn classify(
    job: &NativeJob<'_>,
    limits: &NativeLimits,
    mut reply: Reply,
    status: ExitStatus,
    killed: Option<Killed>,
    stderr: Stderr,
) -> Result<NativeOutput, NativeFailure> {
    let plugin = plugin_label(job, &reply);
    let stage = stage_label(&reply);
    let fail = |kind, message: String| NativeFailure {
        kind,
        message,
        stderr_tail: stderr.tail.clone(),
    };
    // An uncaught panic: the message Rust printed, or abi_stable's note that it stopped one.
    let uncaught_panic = stderr.panic.clone().or_else(|| {
        stderr
            .ffi_guard
            .then(|| "a panic reached the plugin's FFI boundary".to_owned())
    });
    if killed == Some(Killed::Timeout) {
        return Err(fail(
            NativeFailureKind::Timeout,
            format!(
                "{plugin} did not finish within {} s{stage}; the worker was killed \
                 (raise native.timeout_s in plugin.toml if it needs longer)",
                limits.timeout.as_secs_f64()
            ),
        ));
    }
    if let Some(error) = reply.error.take() {
        let kind = match error.kind {
            ErrorKind::Panic => NativeFailureKind::Panic,
            ErrorKind::PluginError => NativeFailureKind::PluginError,
            ErrorKind::LoadFailed => NativeFailureKind::LoadFailed,
            ErrorKind::InterfaceMismatch => NativeFailureKind::InterfaceMismatch,
            ErrorKind::Protocol => NativeFailureKind::Protocol,
        };
        let message = match kind {
            NativeFailureKind::LoadFailed | NativeFailureKind::InterfaceMismatch => error.message,
            NativeFailureKind::Protocol => {
                format!("the worker refused the job for {plugin}: {}", error.message)
            }
            _ => format!("{plugin} failed in {}", error.message),
        };
        return Err(fail(kind, message));
    }
    let memory = match limits.memory_limit_mib {
        Some(mib) => format!(
            "the worker's {mib} MiB memory limit (raise native.memory_limit_mib in plugin.toml \
             if the plugin needs more)"
        ),
        None => "the memory available to the worker".to_owned(),
    };
    // A SIGKILL the host sent over an unreadable reply is not the plugin's crash; any other
    // signal is real even then (the worker may have died while the host was deciding).
    let own_kill = killed == Some(Killed::Protocol) && status.signal() == Some(libc::SIGKILL);
    if let Some(signal) = status.signal().filter(|_| !own_kill) {
        if let Some(alloc) = &stderr.alloc_failure {
            return Err(fail(
                NativeFailureKind::MemoryLimit,
                format!("{plugin} ran out of memory{stage}: {alloc} under {memory}"),
            ));
        }
        if let Some(panic) = &uncaught_panic {
            return Err(fail(
                NativeFailureKind::Panic,
                format!(
                    "{plugin} panicked{stage} where the panic could not be caught: {panic}; \
                     the worker aborted ({})",
                    signal_name(signal)
                ),
            ));
        }
        let hint = if signal == libc::SIGKILL {
            "; nothing in cpbench sends SIGKILL here, so the system's out-of-memory killer is \
             the likely cause"
        } else {
            ""
        };
        return Err(fail(
            NativeFailureKind::Crashed {
                signal: Some(signal),
            },
            format!(
                "{plugin} crashed{stage}: the worker was killed by signal {signal} ({}){hint}",
                signal_name(signal)
            ),
        ));
    }
    if let Some(broken) = reply.broken.take() {
        let note = if killed == Some(Killed::Protocol) {
            "; the worker was killed"
        } else {
            ""
        };
        return Err(fail(
            NativeFailureKind::Protocol,
            format!("{plugin}: unreadable reply from the worker{stage}: {broken}{note}"),
        ));
    }
    if !status.success() {
        let code = status.code().unwrap_or(-1);
        let (kind, what) = if let Some(alloc) = &stderr.alloc_failure {
            (
                NativeFailureKind::MemoryLimit,
                format!("ran out of memory{stage}: {alloc} under {memory};"),
            )
        } else if let Some(panic) = &uncaught_panic {
            (
                NativeFailureKind::Panic,
                format!("panicked{stage} where the panic could not be caught: {panic};"),
            )
        } else {
            (
                NativeFailureKind::Crashed { signal: None },
                format!("stopped{stage}:"),
            )
        };
        return Err(fail(
            kind,
            format!("{plugin} {what} the worker exited with code {code} without a result"),
        ));
    }
    let Some((output, data)) = reply.output.take() else {
        return Err(fail(
            NativeFailureKind::Protocol,
            format!("{plugin}: the worker exited successfully{stage} without sending a result"),
        ));
    };
    if output.n != job.n as u64 {
        return Err(fail(
            NativeFailureKind::Protocol,
            format!(
                "{plugin} returned {} rows for {} input rows",
                output.n, job.n
            ),
        ));
    }
    let loaded = reply.loaded.take().unwrap_or(LoadedMessage {
        name: String::new(),
        version: String::new(),
    });
    Ok(NativeOutput {
        data,
        n: job.n,
        k: output.k as usize,
        plugin_name: loaded.name,
        plugin_version: loaded.version,
        stderr_tail: stderr.tail,
        plugin_time: Duration::try_from_secs_f64(output.plugin_seconds).unwrap_or_default(),
        // Set by `run`, which knows when the worker started.
        total_time: Duration::ZERO,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::native::protocol::Stage;
    use std::path::Path;

    fn job() -> NativeJob<'static> {
        NativeJob {
            library: Path::new("/lib/libcpbench_plugin_x.so"),
            config_json: "{}".into(),
            x: &[1.0, 2.0],
            n: 2,
            d: 1,
            context: &[],
            fit_rows: &[true, true],
        }
    }

    fn limits() -> NativeLimits {
        NativeLimits {
            timeout: Duration::from_secs(2),
            memory_limit_mib: Some(512),
        }
    }

    fn loaded_in(stage: Stage) -> Reply {
        Reply {
            loaded: Some(LoadedMessage {
                name: "x".into(),
                version: "0.1.0".into(),
            }),
            stage: Some(StageMessage { stage, rows: 2 }),
            ..Reply::default()
        }
    }

    fn signaled(signal: i32) -> ExitStatus {
        ExitStatus::from_raw(signal)
    }

    fn exited(code: i32) -> ExitStatus {
        ExitStatus::from_raw(code << 8)
    }

    fn failure(
        reply: Reply,
        status: ExitStatus,
        killed: Option<Killed>,
        stderr: &str,
    ) -> NativeFailure {
        let stderr = read_stderr(stderr.as_bytes(), STDERR_TAIL_BYTES);
        classify(&job(), &limits(), reply, status, killed, stderr).unwrap_err()
    }

    #[test]
    fn signals_and_stderr_decide_the_kind() {
        let f = failure(loaded_in(Stage::Fit), signaled(libc::SIGSEGV), None, "");
        assert_eq!(
            f.kind,
            NativeFailureKind::Crashed {
                signal: Some(libc::SIGSEGV)
            }
        );
        assert_eq!(
            f.message,
            "plugin 'x' 0.1.0 crashed in fit (2 rows): the worker was killed by signal 11 (SIGSEGV)"
        );
        let oom = "test-alloc: holding 448 MiB\nmemory allocation of 67108864 bytes failed";
        let f = failure(loaded_in(Stage::Fit), signaled(libc::SIGABRT), None, oom);
        assert_eq!(f.kind, NativeFailureKind::MemoryLimit);
        assert_eq!(
            f.message,
            "plugin 'x' 0.1.0 ran out of memory in fit (2 rows): memory allocation of 67108864 \
             bytes failed under the worker's 512 MiB memory limit (raise \
             native.memory_limit_mib in plugin.toml if the plugin needs more)"
        );
        let panic = "thread 'main' (7) panicked at src/lib.rs:3:5:\nboom\n\
                     panic in a function that cannot unwind";
        let f = failure(loaded_in(Stage::New), signaled(libc::SIGABRT), None, panic);
        assert_eq!(f.kind, NativeFailureKind::Panic);
        assert_eq!(
            f.message,
            "plugin 'x' 0.1.0 panicked in new (2 rows) where the panic could not be caught: \
             boom (at src/lib.rs:3:5); the worker aborted (SIGABRT)"
        );
        let guard = "\nfile:src/x.rs\nline:4\nAttempted to panic across the ffi boundary.\n";
        let f = failure(loaded_in(Stage::Transform), exited(1), None, guard);
        assert_eq!(f.kind, NativeFailureKind::Panic);
        assert!(
            f.message.ends_with(
                "could not be caught: a panic reached the plugin's FFI boundary; the worker \
                 exited with code 1 without a result"
            ),
            "{}",
            f.message
        );
        let f = failure(loaded_in(Stage::Fit), signaled(libc::SIGKILL), None, "");
        assert!(f.message.contains("out-of-memory killer"), "{}", f.message);
    }

    #[test]
    fn timeout_wins_over_the_kill_it_caused() {
        let f = failure(
            loaded_in(Stage::Fit),
            signaled(libc::SIGKILL),
            Some(Killed::Timeout),
            "",
        );
        assert_eq!(f.kind, NativeFailureKind::Timeout);
        assert!(
            f.message
                .starts_with("plugin 'x' 0.1.0 did not finish within 2 s in fit (2 rows)"),
            "{}",
            f.message
        );
    }

    #[test]
    fn error_frames_keep_the_workers_classification() {
        let mut reply = loaded_in(Stage::Fit);
        reply.error = Some(ErrorMessage {
            kind: ErrorKind::PluginError,
            message: "fit: pca: needs controls".into(),
        });
        let f = failure(reply, exited(1), None, "");
        assert_eq!(f.kind, NativeFailureKind::PluginError);
        assert_eq!(
            f.message,
            "plugin 'x' 0.1.0 failed in fit: pca: needs controls"
        );
        let reply = Reply {
            error: Some(ErrorMessage {
                kind: ErrorKind::LoadFailed,
                message: "cannot load plugin library /lib/x.so: not found".into(),
            }),
            ..Reply::default()
        };
        let f = failure(reply, exited(1), None, "");
        assert_eq!(f.kind, NativeFailureKind::LoadFailed);
        assert_eq!(f.message, "cannot load plugin library /lib/x.so: not found");
    }

    #[test]
    fn missing_or_broken_replies_are_protocol_failures() {
        let f = failure(Reply::default(), exited(0), None, "");
        assert_eq!(f.kind, NativeFailureKind::Protocol);
        assert!(
            f.message.contains("without sending a result"),
            "{}",
            f.message
        );
        let reply = Reply {
            broken: Some(ProtocolError::UnknownKind(9)),
            ..Reply::default()
        };
        let f = failure(reply, signaled(libc::SIGKILL), Some(Killed::Protocol), "");
        // The kill was ours, so the signal is not reported as a crash.
        assert_eq!(f.kind, NativeFailureKind::Protocol);
        assert!(
            f.message.ends_with("; the worker was killed"),
            "{}",
            f.message
        );
        let reply = Reply {
            broken: Some(ProtocolError::UnknownKind(9)),
            ..Reply::default()
        };
        let f = failure(reply, signaled(libc::SIGSEGV), Some(Killed::Protocol), "");
        assert_eq!(
            f.kind,
            NativeFailureKind::Crashed {
                signal: Some(libc::SIGSEGV)
            }
        );
        let reply = Reply {
            broken: Some(ProtocolError::UnknownKind(9)),
            ..Reply::default()
        };
        let f = failure(reply, exited(0), None, "");
        assert_eq!(f.kind, NativeFailureKind::Protocol);
        assert!(f.message.contains("unknown frame kind 9"), "{}", f.message);
        let f = failure(
            Reply::default(),
            exited(2),
            None,
            "error: unrecognized subcommand",
        );
        assert_eq!(f.kind, NativeFailureKind::Crashed { signal: None });
        assert!(f.message.contains("while loading"), "{}", f.message);
    }

    #[test]
    fn stderr_keeps_the_last_lines_and_finds_the_panic_before_a_backtrace() {
        let mut text = String::from("log line\nthread 'main' (42) panicked at src/a.rs:1:2:\n");
        text.push_str("index out of bounds\nstack backtrace:\n");
        text.extend((0..2000).map(|i| format!("  {i}: frame\n")));
        text.push_str("memory allocation of 8 bytes failed\nlast words");
        let e = read_stderr(text.as_bytes(), 100);
        assert!(e.tail.len() <= 100);
        assert!(e.tail.starts_with("  19"), "{}", e.tail);
        assert!(e.tail.ends_with("failed\nlast words"), "{}", e.tail);
        assert_eq!(
            e.panic.as_deref(),
            Some("index out of bounds (at src/a.rs:1:2)")
        );
        assert_eq!(
            e.alloc_failure.as_deref(),
            Some("memory allocation of 8 bytes failed")
        );
        assert!(!e.ffi_guard);
        let short = read_stderr(&b"short\n"[..], 100);
        assert_eq!((short.tail.as_str(), short.panic), ("short", None));
    }

    #[test]
    fn invalid_jobs_fail_before_a_worker_starts() {
        let mut j = job();
        j.n = 3;
        let worker = WorkerCommand::new("/nonexistent/cpbench");
        let err = run(&worker, &j, &limits()).unwrap_err();
        assert_eq!(err.kind, NativeFailureKind::InvalidJob);
        assert!(
            err.message
                .contains("holds 2 values but its shape is 3 × 1")
        );
        let err = run(&worker, &job(), &limits()).unwrap_err();
        assert_eq!(err.kind, NativeFailureKind::WorkerStart);
        assert!(
            err.message.contains("/nonexistent/cpbench plugin-worker"),
            "{}",
            err.message
        );
    }
}
