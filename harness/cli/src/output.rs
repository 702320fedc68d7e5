//! Every line the binary prints: on stdout and stderr, without ever panicking.
//!
//! `std`'s `println!` and `eprintln!` panic when the write fails (`cpbench info x | head -1`,
//! `cpbench info x > /dev/full`). Here a failed write never interrupts the work, and the
//! outcome at exit is decided once, in [`finish`]:
//!
//! - **Broken pipe** (the reader went away: `| head -1`, `| true`): nothing more is written to
//!   that stream, nothing is said about it, and the work goes on to the end, so a
//!   `cpbench leaderboard | head -1` still writes its whole site. The exit status is the one
//!   the work earned (0, or 1 for a failed check): the reader chose to stop reading, which is no
//!   failure of cpbench. This is ripgrep's convention rather than a shell's 141 (128 + SIGPIPE):
//!   CI scripts run under `set -o pipefail`, where 141 would fail a pipeline whose every file
//!   was written.
//! - **Any other failure** (`No space left on device` on `> /dev/full`, an I/O error): later
//!   output to that stream is dropped too and the work still goes on (files named by `--out`
//!   are completed), but the command ends with `error: writing to stdout: ...` on stderr (if
//!   stderr can still take it) and exit 2, as every other error.
//!
//! A closed descriptor (`2>&-`) needs nothing here: Rust's runtime opens `/dev/null` on a
//! closed 0, 1 or 2 before `main`.
//!
//! [`outln!`] and [`errln!`] are the binary's printing macros. As a guard, the crate root also
//! shadows `println!`, `print!`, `eprintln!` and `eprint!` with these, so no printing macro in
//! this crate can panic on a closed or full stream.

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// One of the two output streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// Standard output: results and summaries.
    Stdout,
    /// Standard error: notes, errors.
    Stderr,
}

impl Stream {
    fn name(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }

    fn state(self) -> MutexGuard<'static, State> {
        let state = match self {
            Stream::Stdout => &STDOUT,
            Stream::Stderr => &STDERR,
        };
        // A panic while printing leaves the state as valid as before it.
        state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What became of one stream so far.
#[derive(Debug)]
enum State {
    /// Writes go through.
    Open,
    /// The reader went away: writes are dropped, quietly.
    Closed,
    /// A write failed otherwise: writes are dropped, and the failure is reported at exit.
    Failed(io::Error),
}

static STDOUT: Mutex<State> = Mutex::new(State::Open);
static STDERR: Mutex<State> = Mutex::new(State::Open);

/// A write to stdout or stderr that failed other than by a broken pipe.
#[derive(Debug)]
pub struct StreamError {
    stream: Stream,
    error: io::Error,
}

impl fmt::Display for StreamError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "writing to {}: {}", self.stream, self.error)
    }
}

impl std::error::Error for StreamError {}

/// Records a failed write to `stream`, made here or by someone else (clap's help text): a
/// broken pipe closes the stream quietly, anything else is reported by [`finish`]. The first
/// failure is the one kept.
pub fn record(stream: Stream, error: io::Error) {
    let mut state = stream.state();
    if matches!(*state, State::Open) {
        *state = if error.kind() == io::ErrorKind::BrokenPipe {
            State::Closed
        } else {
            State::Failed(error)
        };
    }
}

/// Writes formatted text to `stream` (and a newline if `newline`) and flushes it; never fails
/// and never panics (see the module documentation). Use [`outln!`] and [`errln!`].
pub fn write(stream: Stream, args: fmt::Arguments<'_>, newline: bool) {
    let mut text = fmt::format(args);
    if newline {
        text.push('\n');
    }
    // The lock is held across the write so that lines from several threads do not interleave
    // and a failure is recorded before the next line is tried.
    let mut state = stream.state();
    if !matches!(*state, State::Open) {
        return;
    }
    let result = match stream {
        Stream::Stdout => {
            let mut out = io::stdout().lock();
            out.write_all(text.as_bytes()).and_then(|()| out.flush())
        }
        Stream::Stderr => {
            let mut err = io::stderr().lock();
            err.write_all(text.as_bytes()).and_then(|()| err.flush())
        }
    };
    if let Err(error) = result {
        *state = if error.kind() == io::ErrorKind::BrokenPipe {
            State::Closed
        } else {
            State::Failed(error)
        };
    }
}

/// The first failure of `stream` other than a broken pipe, taken out (reported once).
fn take_failure(stream: Stream) -> Option<StreamError> {
    let mut state = stream.state();
    match std::mem::replace(&mut *state, State::Closed) {
        State::Failed(error) => Some(StreamError { stream, error }),
        other => {
            *state = other;
            None
        }
    }
}

/// The exit status of a command that ended with `code`: 2 with an `error:` line for each stream
/// a write to which failed (other than by a broken pipe), `code` otherwise.
pub fn finish(code: u8) -> ExitCode {
    let mut code = code;
    for stream in [Stream::Stdout, Stream::Stderr] {
        if let Some(e) = take_failure(stream) {
            // Dropped when it is stderr that failed: the exit status still says so.
            write(Stream::Stderr, format_args!("error: {e}"), true);
            code = 2;
        }
    }
    ExitCode::from(code)
}

/// Prints a line on stdout; a closed or full stdout never panics (see [`crate::output`]).
#[macro_export]
macro_rules! outln {
    () => {
        $crate::output::write($crate::output::Stream::Stdout, format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::output::write($crate::output::Stream::Stdout, format_args!($($arg)*), true)
    };
}

/// Prints a line on stderr; a closed or full stderr never panics (see [`crate::output`]).
#[macro_export]
macro_rules! errln {
    () => {
        $crate::output::write($crate::output::Stream::Stderr, format_args!(""), true)
    };
    ($($arg:tt)*) => {
        $crate::output::write($crate::output::Stream::Stderr, format_args!($($arg)*), true)
    };
}

// The guard: `std`'s printing macros, shadowed in this crate by ones that cannot panic. They
// are textually in scope in every module declared after `mod output` in `main.rs`.

/// `std::println!` without the panic: [`outln!`].
#[allow(unused_macros)]
macro_rules! println {
    ($($arg:tt)*) => {
        $crate::outln!($($arg)*)
    };
}

/// `std::print!` without the panic.
#[allow(unused_macros)]
macro_rules! print {
    ($($arg:tt)*) => {
        $crate::output::write($crate::output::Stream::Stdout, format_args!($($arg)*), false)
    };
}

/// `std::eprintln!` without the panic: [`errln!`].
#[allow(unused_macros)]
macro_rules! eprintln {
    ($($arg:tt)*) => {
        $crate::errln!($($arg)*)
    };
}

/// `std::eprint!` without the panic.
#[allow(unused_macros)]
macro_rules! eprint {
    ($($arg:tt)*) => {
        $crate::output::write($crate::output::Stream::Stderr, format_args!($($arg)*), false)
    };
}
