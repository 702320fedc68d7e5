//! `cpbench plugin-worker` (hidden): the isolated process a native plugin runs in.
//!
//! The host starts it with `cpbench_host::native::run_native`; it is not meant to be run by
//! hand. It reads one framed job from stdin and answers on stdout (see `cpbench_host::native`).

use std::process::ExitCode;

/// Runs the worker until its single job is done.
pub fn run() -> ExitCode {
    cpbench_host::native::worker_main()
}
