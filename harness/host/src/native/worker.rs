//! The worker side: `cpbench plugin-worker` runs one job read from stdin and answers on stdout.

use std::fs::File;
use std::io::{self, BufReader, Write};
use std::os::fd::AsFd;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::process::ExitCode;
use std::time::Instant;

use cpbench_plugin_api::abi_stable::library::RootModule;
use cpbench_plugin_api::abi_stable::std_types::{RSlice, RStr, RVec};
use cpbench_plugin_api::{Context, ContextColumn, PluginRootMod_Ref};

use super::protocol::{
    ErrorKind, ErrorMessage, FrameKind, FrameLimits, JobMessage, LoadedMessage, OutputMessage,
    Stage, StageMessage, read_frame, write_message, write_message_spliced,
};

/// Exit code after an error frame was sent; the frame, not the code, carries the reason.
const EXIT_FAILED: u8 = 1;
/// Exit code when not even an error frame could be sent.
const EXIT_NO_CHANNEL: u8 = 3;

/// Prefix the plugin API's adapter gives caught panics ("plugin panicked in fit: ...").
const CAUGHT_PANIC_PREFIX: &str = "plugin panicked in ";

/// Entry point of `cpbench plugin-worker`: reads one job frame from stdin, runs it, writes the
/// result (or an error frame) to stdout, and exits.
///
/// Before the plugin is loaded, file descriptor 1 is pointed at stderr and the frames go to a
/// private duplicate of the original stdout, so a plugin that prints cannot corrupt the protocol.
pub fn worker_main() -> ExitCode {
    let mut out = match protocol_channel() {
        Ok(out) => out,
        Err(e) => {
            // A broken or full stderr must not turn this into a panic: the exit code says it.
            let _ = writeln!(
                io::stderr(),
                "cpbench plugin-worker: cannot set up the result channel on stdout: {e}"
            );
            return ExitCode::from(EXIT_NO_CHANNEL);
        }
    };
    let failure = match catch_unwind(AssertUnwindSafe(|| run_job(&mut out))) {
        Ok(Ok(())) => return ExitCode::SUCCESS,
        Ok(Err(failure)) => failure,
        Err(payload) => ErrorMessage {
            kind: ErrorKind::Panic,
            message: format!("the worker panicked: {}", panic_text(payload.as_ref())),
        },
    };
    match write_message(&mut out, FrameKind::Error, &failure, &[]) {
        Ok(()) => ExitCode::from(EXIT_FAILED),
        Err(e) => {
            let _ = writeln!(
                io::stderr(),
                "cpbench plugin-worker: {:?}: {} (could not report it to the host: {e})",
                failure.kind,
                failure.message
            );
            ExitCode::from(EXIT_NO_CHANNEL)
        }
    }
}

/// Moves the protocol off file descriptor 1: returns a duplicate of stdout and points fd 1 at
/// stderr.
fn protocol_channel() -> io::Result<File> {
    let channel = io::stdout().as_fd().try_clone_to_owned()?;
    // SAFETY: dup2 on two descriptors this process owns for its whole life; nothing has been
    // written through Rust's stdout buffer yet, so no buffered bytes are lost.
    if unsafe { libc::dup2(libc::STDERR_FILENO, libc::STDOUT_FILENO) } < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(File::from(channel))
}

fn protocol_error(message: impl Into<String>) -> ErrorMessage {
    ErrorMessage {
        kind: ErrorKind::Protocol,
        message: message.into(),
    }
}

/// Classifies an error the plugin returned: the API adapter reports caught panics with a fixed
/// prefix, everything else is the plugin's own error.
fn plugin_failure(stage: Stage, message: &str) -> ErrorMessage {
    let kind = if message.starts_with(CAUGHT_PANIC_PREFIX) {
        ErrorKind::Panic
    } else {
        ErrorKind::PluginError
    };
    ErrorMessage {
        kind,
        message: format!("{}: {message}", stage.as_str()),
    }
}

fn send<T: serde::Serialize>(
    out: &mut File,
    kind: FrameKind,
    message: &T,
    payload: &[f32],
) -> Result<(), ErrorMessage> {
    write_message(out, kind, message, payload)
        .map_err(|e| protocol_error(format!("cannot write to the host: {e}")))
}

/// A job whose shapes have been checked.
struct Job {
    message: JobMessage,
    x: Vec<f32>,
    n: usize,
    d: usize,
    fit_rows: Vec<usize>,
    context: Vec<ContextColumn>,
}

fn read_job() -> Result<Job, ErrorMessage> {
    let mut stdin = BufReader::with_capacity(1 << 20, io::stdin().lock());
    let frame = read_frame(&mut stdin, &FrameLimits::DEFAULT)
        .map_err(|e| protocol_error(format!("reading the job: {e}")))?
        .ok_or_else(|| protocol_error("stdin closed before a job arrived"))?;
    if frame.kind != FrameKind::Job {
        return Err(protocol_error(format!(
            "expected a job frame, got {:?}",
            frame.kind
        )));
    }
    let message: JobMessage = frame
        .message()
        .map_err(|e| protocol_error(format!("reading the job: {e}")))?;
    let too_big = |what: &str| protocol_error(format!("job {what} exceeds this platform's usize"));
    let n = usize::try_from(message.n).map_err(|_| too_big("n"))?;
    let d = usize::try_from(message.d).map_err(|_| too_big("d"))?;
    if u32::try_from(d).is_err() {
        return Err(protocol_error(format!(
            "job has {d} columns; the plugin interface takes at most {}",
            u32::MAX
        )));
    }
    if n.checked_mul(d) != Some(frame.payload.len()) {
        return Err(protocol_error(format!(
            "job announces {n} × {d} values but carries {}",
            frame.payload.len()
        )));
    }
    let mut fit_rows = Vec::with_capacity(message.fit_rows.len());
    for &row in &message.fit_rows {
        let row = usize::try_from(row).map_err(|_| too_big("fit row"))?;
        if row >= n || fit_rows.last().is_some_and(|&prev| prev >= row) {
            return Err(protocol_error(format!(
                "job fit rows must be ascending and below {n}; got {row} after {:?}",
                fit_rows.last()
            )));
        }
        fit_rows.push(row);
    }
    // Rebuilt through the API's constructor, so the label firewall is enforced here too.
    let context = message
        .context
        .iter()
        .map(|c| ContextColumn::new(&c.name, c.values.iter().map(String::as_str)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| protocol_error(format!("job context: {e}")))?;
    Context::new(&context)
        .check(n)
        .map_err(|e| protocol_error(format!("job context: {e}")))?;
    Ok(Job {
        message,
        x: frame.payload,
        n,
        d,
        fit_rows,
        context,
    })
}

fn run_job(out: &mut File) -> Result<(), ErrorMessage> {
    let job = read_job()?;
    let library = &job.message.library;
    let module = PluginRootMod_Ref::load_from_file(library).map_err(|e| ErrorMessage {
        kind: ErrorKind::LoadFailed,
        message: format!("cannot load plugin library {}: {e}", library.display()),
    })?;
    module
        .check_interface_version()
        .map_err(|message| ErrorMessage {
            kind: ErrorKind::InterfaceMismatch,
            message,
        })?;
    let loaded = LoadedMessage {
        name: module.name()().into_string(),
        version: module.version()().into_string(),
    };
    send(out, FrameKind::Loaded, &loaded, &[])?;

    let stage = |stage, rows: usize| StageMessage {
        stage,
        rows: rows as u64,
    };
    // Time spent inside the plugin's own calls, so callers can tell it from the worker's cost.
    send(out, FrameKind::Stage, &stage(Stage::New, 0), &[])?;
    let started = Instant::now();
    let built = module.new()(RStr::from_str(&job.message.config_json));
    let mut plugin_time = started.elapsed();
    let mut rep = built
        .into_result()
        .map_err(|e| plugin_failure(Stage::New, &e))?;

    let (n, d) = (job.n, job.d);
    let nf = job.fit_rows.len();
    send(out, FrameKind::Stage, &stage(Stage::Fit, nf), &[])?;
    let (x_fit, context_fit): (Vec<f32>, RVec<ContextColumn>) = if nf == n {
        (Vec::new(), job.context.clone().into())
    } else {
        // The plugin gets only the fit rows, features and context alike.
        let mut x_fit = Vec::with_capacity(nf * d);
        for &i in &job.fit_rows {
            x_fit.extend_from_slice(&job.x[i * d..(i + 1) * d]);
        }
        let context_fit = job
            .context
            .iter()
            .map(|c| {
                let values = job.fit_rows.iter().map(|&i| c.values()[i].clone());
                ContextColumn::new(c.name(), values).expect("a subset of a valid column is valid")
            })
            .collect();
        (x_fit, context_fit)
    };
    let x_fit = if nf == n { &job.x } else { &x_fit };
    let started = Instant::now();
    let fitted = rep.fit(RSlice::from_slice(x_fit), nf as u64, d as u64, context_fit);
    plugin_time += started.elapsed();
    fitted
        .into_result()
        .map_err(|e| plugin_failure(Stage::Fit, &e))?;

    send(out, FrameKind::Stage, &stage(Stage::Transform, n), &[])?;
    let started = Instant::now();
    let transformed = rep.transform(
        RSlice::from_slice(&job.x),
        n as u64,
        d as u64,
        job.context.into(),
    );
    plugin_time += started.elapsed();
    let y = transformed
        .into_result()
        .map_err(|e| plugin_failure(Stage::Transform, &e))?;
    let k = rep.output_dim(d as u32) as usize;
    if Some(y.len()) != n.checked_mul(k) {
        return Err(ErrorMessage {
            kind: ErrorKind::PluginError,
            message: format!(
                "transform: returned {} values for {n} rows, but output_dim({d}) = {k}",
                y.len()
            ),
        });
    }
    let output = OutputMessage {
        n: n as u64,
        k: k as u64,
        plugin_seconds: plugin_time.as_secs_f64(),
    };
    write_message_spliced(out, FrameKind::Output, &output, &y)
        .map_err(|e| protocol_error(format!("cannot write to the host: {e}")))?;
    // The pipe may still refer to the output's pages until the host has read them, and the
    // process exits right after: never free (and so never reuse) them.
    std::mem::forget(y);
    Ok(())
}

fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-string panic payload)".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caught_panics_are_told_apart_from_plugin_errors() {
        let e = plugin_failure(Stage::Fit, "plugin panicked in fit: boom");
        assert_eq!(e.kind, ErrorKind::Panic);
        assert_eq!(e.message, "fit: plugin panicked in fit: boom");
        let e = plugin_failure(Stage::New, "pca: config `dim` must be at least 1");
        assert_eq!(e.kind, ErrorKind::PluginError);
        assert_eq!(e.message, "new: pca: config `dim` must be at least 1");
    }
}
