//! The `cpbench` binary: parses arguments and calls the library crates. Exit codes: 0 ok,
//! 1 a check failed, 2 bad input or usage (and a write to stdout or stderr that failed other
//! than by a broken pipe; a reader that goes away is no failure: see [`output`]).

// First, so that its printing macros (and its guard over `std`'s) are in scope in every module.
#[macro_use]
mod output;

mod cmd;
mod progress;

use std::process::ExitCode;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

/// Harness version and the commit it was built from.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CPBENCH_GIT_COMMIT"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "cpbench",
    version = VERSION,
    about = "Benchmark representations of cellular perturbations for image-based profiling",
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run one plugin on one benchmark: result JSON, plot data and HTML report (cached).
    Run(cmd::run::Args),
    /// Download benchmarks' remote data files (S3, HTTPS) into the verified data cache.
    Fetch(cmd::fetch::Args),
    /// Run every applicable (benchmark, plugin) pair and write the leaderboard (HTML, JSON, Markdown).
    Leaderboard(cmd::leaderboard::Args),
    /// Recompute published claims (benchmarks/audits/<id>.toml) and say which ones hold.
    Audit(cmd::audit::Args),
    /// Report the environment: cpbench version, ONNX Runtime location and version, CUDA, threads.
    Doctor(cmd::doctor::Args),
    /// Check benchmark, plugin and audit manifests and the hashes of the data they name.
    Validate(cmd::validate::Args),
    /// Score a profile table with one metric (mAP, enrichment, precision@k, ...).
    #[command(subcommand)]
    Eval(cmd::eval::EvalCommand),
    /// Combine the parts of a computation split with --shard i/n into the unsharded outputs.
    Merge(cmd::merge::Args),
    /// Preprocess a profile table: feature selection, normalization, aggregation, ...
    #[command(subcommand)]
    Prep(cmd::prep::PrepCommand),
    /// Summarize a profile table: rows, metadata cardinalities, features, NaN count, level.
    Info(cmd::info::Args),
    /// Write the JSON Schemas of the manifests and the result file into a folder.
    Schemas(cmd::schemas::Args),
    /// Run one native plugin job read from stdin, isolated from the host (started by cpbench).
    #[command(hide = true)]
    PluginWorker,
    /// Write synthetic data with known structure: heterogeneity, images or large.
    #[command(subcommand)]
    Simulate(cmd::simulate::SimulateCommand),
    /// Run, check or scaffold representation plugins.
    #[command(subcommand)]
    Plugin(cmd::plugin::PluginCommand),
    /// Print the shell completion script of cpbench (bash, zsh, fish, elvish, powershell).
    Completions(cmd::completions::Args),
    /// Write man pages of cpbench and every subcommand into a folder.
    Man(cmd::completions::ManArgs),
}

/// Outcome of a command that ran to the end.
pub enum Outcome {
    /// Everything checked out.
    Ok,
    /// The command ran, but a check it performs failed (exit code 1).
    CheckFailed,
}

/// Keeps freed blocks below 64 MiB in the heap instead of handing them back to the kernel.
///
/// glibc serves blocks above its (adaptive, 128 KiB–32 MiB) threshold with fresh mappings and
/// unmaps them on free; tables are read, transposed and compressed in blocks of that size, so
/// every block paid for page faults and zeroing again. On `prep sphere` (100,000 × 1,000) this
/// took the Parquet write from 1.3 s to 0.6 s, for about 25 MB more peak memory.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn keep_freed_blocks() {
    // SAFETY: mallopt only changes allocator parameters; it runs before any other thread.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 64 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 128 << 20);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn keep_freed_blocks() {}

/// The command line, with negative numbers taken as values everywhere (`--tol -1` is a value
/// the parameter check refuses with its reason, not an unknown flag `-1`).
fn parse_args() -> Result<Cli, clap::Error> {
    fn negative_numbers(command: clap::Command) -> clap::Command {
        command
            .allow_negative_numbers(true)
            .mut_subcommands(negative_numbers)
    }
    let matches = negative_numbers(Cli::command()).try_get_matches()?;
    Cli::from_arg_matches(&matches)
}

fn main() -> ExitCode {
    keep_freed_blocks();
    let cli = match parse_args() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout (exit 0), usage errors to stderr (exit 2); clap's
            // own `exit` would swallow a failed write, so it is recorded like any other.
            let stream = if e.use_stderr() {
                output::Stream::Stderr
            } else {
                output::Stream::Stdout
            };
            if let Err(io) = e.print() {
                output::record(stream, io);
            }
            return output::finish(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Run(a) => cmd::run::run(a),
        Command::Fetch(a) => cmd::fetch::run(a),
        Command::Leaderboard(a) => cmd::leaderboard::run(a),
        Command::Audit(a) => cmd::audit::run(a),
        Command::Doctor(a) => cmd::doctor::run(a),
        Command::Validate(a) => cmd::validate::run(a),
        Command::Info(a) => cmd::info::run(a),
        Command::Merge(a) => cmd::merge::run(a),
        Command::Eval(c) => cmd::eval::run(c),
        Command::Prep(c) => cmd::prep::run(c),
        Command::Schemas(a) => cmd::schemas::run(a),
        Command::Completions(a) => cmd::completions::run(a),
        Command::Man(a) => cmd::completions::man(a),
        // The worker speaks a binary protocol on stdout and reports failures there, so it
        // chooses its own exit code instead of going through the error printing below.
        Command::PluginWorker => return cmd::plugin_worker::run(),
        Command::Simulate(c) => cmd::simulate::run(c),
        Command::Plugin(c) => cmd::plugin::run(c),
    };
    let code = match result {
        Ok(Outcome::Ok) => 0,
        Ok(Outcome::CheckFailed) => 1,
        Err(e) => {
            // Errors that reach here are about the user's input (files, manifests, flags):
            // failures of checks are reported as `Outcome::CheckFailed` instead.
            errln!("error: {e:#}");
            2
        }
    };
    // A failed write to stdout or stderr turns the code into 2, with its own error line.
    output::finish(code)
}
