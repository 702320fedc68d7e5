//! `cpbench run`: one plugin on one benchmark, to a result JSON, its plot data and an HTML report.

use std::path::{Path, PathBuf};

use anyhow::Result;
use cpbench_host::plugin::load_plugin;
use cpbench_metrics::retrieval::Shard;
use cpbench_results::{HarnessInfo, Status};
use cpbench_runner::bench::{
    PairOutcome, RunOptions, open_benchmark, peak_rss_mib, run_pair, run_pair_part,
};

use crate::Outcome;
use crate::cmd::eval::map::parse_shard;
use crate::cmd::fetch::DataArgs;
use crate::cmd::plugin::LibDirArgs;
use crate::cmd::simulate::InProcess;

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
    /// Compute only part i of n (1 ≤ i ≤ n) of the costly tasks (mAP by query, k-means by
    /// restart) into --out-shard; `cpbench merge` of all n parts writes the run's files, the
    /// bytes an unsharded run writes (timing aside).
    #[arg(long, value_name = "I/N", value_parser = parse_shard, requires = "out_shard")]
    pub shard: Option<Shard>,
    /// Where --shard writes its part (JSON).
    #[arg(long = "out-shard", value_name = "SHARD.json", requires = "shard")]
    pub out_shard: Option<PathBuf>,
    #[command(flatten)]
    pub lib_dirs: LibDirArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

/// The harness build, as results record it.
pub fn harness_info() -> HarnessInfo {
    let commit = env!("CPBENCH_GIT_COMMIT");
    HarnessInfo {
        version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: (commit != "unknown").then(|| commit.to_string()),
    }
}

/// How this binary runs pairs: output folder, cache use, plugin workers and library folders,
/// synthetic data generated in process, remote data fetched with a progress bar.
pub fn run_options(
    out: &Path,
    force: bool,
    lib_dirs: &LibDirArgs,
    data: &DataArgs,
) -> Result<RunOptions<'static>> {
    Ok(RunOptions {
        out_dir: out.to_path_buf(),
        force,
        env: crate::cmd::plugin::run_env(lib_dirs)?,
        harness: harness_info(),
        simulator: Some(&InProcess),
        fetcher: data.fetcher()?,
        progress: &crate::progress::FETCHING,
    })
}

/// Runs `cpbench run`: exit 0 when the run succeeded or does not apply, 1 when it failed
/// (with `--shard`: when the part failed).
pub fn run(args: Args) -> Result<Outcome> {
    let options = run_options(&args.out, args.force, &args.lib_dirs, &args.data)?;
    let bench = open_benchmark(&args.benchmark)?;
    let plugin = load_plugin(&args.plugin)?;
    if let (Some(shard), Some(out)) = (args.shard, &args.out_shard) {
        let t0 = std::time::Instant::now();
        let part = run_pair_part(&bench, &plugin, &options, shard, out)?;
        let f = &part.file;
        if args.quiet {
            outln!("{}", out.display());
        } else {
            // The wall time and peak memory of this part (a workflow's scaling table reads them).
            let cost = format!(
                "{:.1} s{}",
                t0.elapsed().as_secs_f64(),
                peak_rss_mib()
                    .map(|m| format!(", peak {m:.0} MiB"))
                    .unwrap_or_default()
            );
            outln!(
                "{} × {}: part {}/{}{}{}",
                bench.manifest.id,
                plugin.manifest.id,
                f.index,
                f.count,
                if part.cached { ", cached" } else { "" },
                match &f.failed {
                    Some(why) => format!(", failed ({cost}): {why}"),
                    None => format!(
                        " ({} sharded task(s); {cost})",
                        f.tasks.as_ref().map_or(0, Vec::len)
                    ),
                }
            );
            outln!("  part: {}", out.display());
        }
        return Ok(if f.failed.is_some() {
            Outcome::CheckFailed
        } else {
            Outcome::Ok
        });
    }
    let outcome = run_pair(&bench, &plugin, &options)?;
    if args.quiet {
        outln!("{}", outcome.files.result.display());
    } else {
        print_outcome(&outcome);
    }
    Ok(exit_of(&outcome))
}

/// Exit 0 for a run that succeeded or does not apply, 1 for one that failed.
pub fn exit_of(outcome: &PairOutcome) -> Outcome {
    match outcome.result.status {
        Status::Succeeded | Status::NotApplicable => Outcome::Ok,
        Status::Failed | Status::Skipped => Outcome::CheckFailed,
    }
}

/// One block per run: status, headline scores, where the files are.
pub fn print_outcome(o: &PairOutcome) {
    let r = &o.result;
    outln!(
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
        outln!("  {reason}");
    }
    if o.cached && r.status == Status::Failed {
        outln!(
            "  (this failure is cached: its inputs have not changed since; rerun with --force to \
             retry it)"
        );
    }
    for s in r.scores.iter().filter(|s| s.primary) {
        outln!(
            "  {:<24} {:<20} {:.4}{}",
            s.task,
            s.metric,
            s.value,
            s.sd.map(|sd| format!(" ± {sd:.4}")).unwrap_or_default()
        );
    }
    outln!("  result: {}", o.files.result.display());
    outln!("  report: {}", o.files.report.display());
}
