//! `cpbench run`: one plugin on one benchmark, to a result JSON, its plot data and an HTML report.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cpbench_core::manifest::load_benchmark;
use cpbench_host::plugin::load_plugin;
use cpbench_report::Status;

use crate::Outcome;
use crate::bench::{Benchmark, PairOutcome, RunOptions, run_pair};

/// Arguments of `cpbench run`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Benchmark folder (or its benchmark.toml).
    #[arg(long)]
    pub benchmark: PathBuf,
    /// Plugin folder (or its plugin.toml).
    #[arg(long)]
    pub plugin: PathBuf,
    /// Output folder; the run's files go to runs/<benchmark>@v<version>/ inside it.
    #[arg(long, default_value = "reports/site")]
    pub out: PathBuf,
    /// Recompute even if a result with identical inputs is cached.
    #[arg(long)]
    pub force: bool,
    /// Print only the result file's path.
    #[arg(long)]
    pub quiet: bool,
}

/// Loads a benchmark from its folder or manifest path.
pub fn open_benchmark(path: &Path) -> Result<Benchmark> {
    let file = if path.is_dir() {
        path.join("benchmark.toml")
    } else {
        path.to_path_buf()
    };
    load_benchmark(&file).with_context(|| format!("loading benchmark {}", path.display()))
}

/// Runs `cpbench run`: exit 0 when the run succeeded or does not apply, 1 when it failed.
pub fn run(args: Args) -> Result<Outcome> {
    crate::progress::set_quiet(true);
    let bench = open_benchmark(&args.benchmark)?;
    let plugin = load_plugin(&args.plugin)?;
    let opts = RunOptions {
        out_dir: args.out.clone(),
        force: args.force,
        env: crate::cmd::plugin::run_env(),
    };
    let outcome = run_pair(&bench, &plugin, &opts)?;
    if args.quiet {
        println!("{}", outcome.files.result.display());
    } else {
        print_outcome(&outcome);
    }
    Ok(match outcome.result.status {
        Status::Succeeded | Status::NotApplicable => Outcome::Ok,
        Status::Failed | Status::Skipped => Outcome::CheckFailed,
    })
}

/// One block per run: status, headline scores, where the files are.
pub fn print_outcome(o: &PairOutcome) {
    let r = &o.result;
    println!(
        "{}@v{} × {}@{}: {}{} ({:.1} s{})",
        r.benchmark.id,
        r.benchmark.version,
        r.plugin.id,
        r.plugin.version,
        r.status.as_str(),
        if o.cached { ", cached" } else { "" },
        r.timing.wall_s,
        r.timing
            .peak_rss_mib
            .map(|m| format!(", peak {m:.0} MiB"))
            .unwrap_or_default()
    );
    for reason in &r.reasons {
        println!("  {reason}");
    }
    for s in r.scores.iter().filter(|s| s.primary) {
        println!(
            "  {:<24} {:<20} {:.4}{}",
            s.task,
            s.metric,
            s.value,
            s.sd.map(|sd| format!(" ± {sd:.4}")).unwrap_or_default()
        );
    }
    println!("  result: {}", o.files.result.display());
    println!("  report: {}", o.files.report.display());
}
