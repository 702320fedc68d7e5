//! `cpbench leaderboard`: every applicable (benchmark, plugin) pair, scaled between controls,
//! into `index.html`, `leaderboard.json` and `leaderboard.md`.
//!
//! Each pair runs in its own `cpbench run` process: a plugin that crashes the process, or
//! leaks memory, costs only its own run, and each result's peak memory is its own.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use cpbench_host::plugin::{Plugin, RunEnv};
use cpbench_remote::{Fetcher, recorded_sha256};
use cpbench_results::{HarnessInfo, RunResult, Tolerance};
use cpbench_runner::bench::{
    Benchmark, RunContext, RunFiles, TRANSIENT_NOTE, ensure_fetched, write_failed,
};
use cpbench_runner::leaderboard::{FromResults, PairExecutor, Spec, crash_reason, leaderboard};

use crate::Outcome;
use crate::cmd::fetch::DataArgs;
use crate::cmd::plugin::{LibDirArgs, run_env};
use crate::cmd::run::harness_info;
use crate::progress::{Console, FETCHING};

/// Where the site goes by default.
const DEFAULT_OUT: &str = "reports/site";

/// Arguments of `cpbench leaderboard`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Folder of benchmarks: every `*/benchmark.toml` in it.
    #[arg(long, default_value = "benchmarks")]
    pub benchmarks: PathBuf,
    /// Folder of plugins: every `*/plugin.toml` in it; a folder holding a plugin.toml is that
    /// one plugin. Repeatable.
    #[arg(long, default_value = "plugins")]
    pub plugins: Vec<PathBuf>,
    /// Output folder: index.html, leaderboard.json, leaderboard.md and runs/.
    #[arg(long, default_value = DEFAULT_OUT)]
    pub out: PathBuf,
    /// A previous leaderboard.json: exit 1 if any headline score dropped by more than its
    /// tolerance, or vanished.
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
    /// Largest allowed drop of a control-scaled score (0 = worst control, 1 = best) against
    /// --baseline; a column without a scaled value is compared raw.
    #[arg(long, default_value_t = 0.02)]
    pub tolerance: f64,
    /// A metric's own tolerance, e.g. `map=0.01` (repeatable; the metric as in the column keys).
    #[arg(long = "tolerance-for", value_name = "METRIC=T", value_parser = metric_tolerance)]
    pub tolerance_for: Vec<(String, f64)>,
    /// Only these benchmark ids (repeatable; default: all).
    #[arg(long = "only-benchmark", value_name = "ID")]
    pub only_benchmarks: Vec<String>,
    /// Only these plugin ids (repeatable; default: all).
    #[arg(long = "only-plugin", value_name = "ID")]
    pub only_plugins: Vec<String>,
    /// Recompute every run even if cached.
    #[arg(long)]
    pub force: bool,
    #[command(flatten)]
    pub lib_dirs: LibDirArgs,
    #[command(flatten)]
    pub data: DataArgs,
    /// Fetch benchmarks' remote data files (S3, HTTPS) that are not in the data cache yet;
    /// without it such benchmarks are left off the board with a note (the board of shipped
    /// data never needs the network).
    #[arg(long, conflicts_with = "offline")]
    pub fetch: bool,
    /// Run nothing: put on the board the results already in DIR (`runs/…`, as `cpbench run
    /// --out DIR` or the workflow writes them), and write the site there; pairs without a
    /// result are listed as missing.
    #[arg(long = "from-results", value_name = "DIR", conflicts_with_all = ["force", "fetch"])]
    pub from_results: Option<PathBuf>,
}

/// Runs each pair as `cpbench run` in a process of its own.
struct Subprocess {
    exe: PathBuf,
    out: PathBuf,
    force: bool,
    /// `--plugin-lib-dir` folders, passed on to each run; `CPBENCH_PLUGIN_LIB_DIR` reaches the
    /// runs by inheritance, so it is not repeated as flags (the run would search it twice).
    lib_dirs: Vec<PathBuf>,
    /// The runs' environment (both sets of folders), for recording a run that crashed.
    env: RunEnv,
    harness: HarnessInfo,
    /// Fetches each benchmark's remote data here, once, with the progress bar on this
    /// terminal; the runs then find it verified in the cache.
    fetcher: Fetcher,
    /// `--cache-dir` and `--offline`, passed on to each run.
    data_args: Vec<std::ffi::OsString>,
    /// `--fetch`: missing remote data is fetched, not a reason to leave a benchmark off.
    fetch: bool,
}

impl PairExecutor for Subprocess {
    fn prepare(&self, bench: &Benchmark) -> cpbench_runner::Result<Option<String>> {
        self.ready(bench)
    }

    fn run(
        &self,
        bench: &Benchmark,
        plugin: &Plugin,
        files: &RunFiles,
    ) -> cpbench_runner::Result<RunResult> {
        let mut cmd = Command::new(&self.exe);
        cmd.arg("run")
            .arg("--benchmark")
            .arg(&bench.path)
            .arg("--plugin")
            .arg(&plugin.path)
            .arg("--out")
            .arg(&self.out)
            .arg("--quiet");
        if self.force {
            cmd.arg("--force");
        }
        for dir in &self.lib_dirs {
            cmd.arg("--plugin-lib-dir").arg(dir);
        }
        cmd.args(&self.data_args);
        // `prepare` fetched this benchmark's remote data or found it cached: the run itself
        // must not go to the network (a corrupt entry is then its failure, not a download).
        if !self.data_args.iter().any(|a| a == "--offline") {
            cmd.arg("--offline");
        }
        // A leaderboard killed with -9 must not leave its runs computing and writing.
        cpbench_host::process::die_with_parent(&mut cmd);
        let out = cmd.output().map_err(|e| {
            cpbench_runner::Error::from(e).context(format!("starting {}", self.exe.display()))
        })?;
        let code = out.status.code();
        // Exit 0/1 means the run wrote its result; anything else is a crash or bad input. A
        // run killed by a signal (no code: the OOM killer, a kill) may succeed next time, and
        // bad input (exit 2) may be fixed: those failures are recorded but not cached.
        match (code, RunResult::read_json(&files.result)) {
            (Some(0 | 1), Ok(r)) => Ok(r),
            _ => {
                let mut reasons = vec![crash_reason(code, &String::from_utf8_lossy(&out.stderr))];
                if code.is_none() {
                    reasons.push(TRANSIENT_NOTE.to_string());
                }
                let reusable = !matches!(code, None | Some(2));
                write_failed(
                    bench,
                    plugin,
                    files,
                    reasons,
                    reusable,
                    RunContext {
                        env: &self.env,
                        harness: &self.harness,
                        cache: self.fetcher.cache(),
                    },
                )
            }
        }
    }
}

impl Subprocess {
    /// Remote data files of `bench` that are not in the data cache, as `key (url)`.
    fn missing_remote(&self, bench: &Benchmark) -> Vec<String> {
        bench
            .data_files(self.fetcher.cache())
            .into_iter()
            .filter_map(|f| {
                let r = f.remote?;
                recorded_sha256(&f.path)
                    .is_none()
                    .then(|| format!("{} ({})", f.key, r.url))
            })
            .collect()
    }

    /// Fetches (`--fetch`) or looks for `bench`'s remote data once, before its runs.
    fn ready(&self, bench: &Benchmark) -> cpbench_runner::Result<Option<String>> {
        if self.fetch {
            ensure_fetched(bench, &self.fetcher, &FETCHING)?;
            return Ok(None);
        }
        let missing = self.missing_remote(bench);
        Ok((!missing.is_empty()).then(|| {
            format!(
                "its remote data is not in the data cache ({}): fetch it with `cpbench fetch {}`, \
                 or run the leaderboard with --fetch",
                missing.join(", "),
                bench.dir.display()
            )
        }))
    }
}

/// `METRIC=T` of `--tolerance-for`.
fn metric_tolerance(text: &str) -> std::result::Result<(String, f64), String> {
    let (metric, value) = text
        .split_once('=')
        .ok_or_else(|| format!("`{text}`: expected METRIC=T, e.g. map=0.01"))?;
    let metric = metric.trim();
    if metric.is_empty() {
        return Err(format!("`{text}`: the metric name is empty"));
    }
    let value: f64 = value
        .trim()
        .parse()
        .map_err(|_| format!("`{text}`: `{}` is not a number", value.trim()))?;
    Ok((metric.to_string(), value))
}

/// The tolerances of `--tolerance` and `--tolerance-for`; a metric given twice is refused.
fn tolerance(default: f64, per_metric: Vec<(String, f64)>) -> Result<Tolerance> {
    let mut t = Tolerance::uniform(default);
    for (metric, value) in per_metric {
        if t.per_metric.insert(metric.clone(), value).is_some() {
            anyhow::bail!("--tolerance-for {metric} is given twice");
        }
    }
    Ok(t)
}

/// Runs `cpbench leaderboard`.
pub fn run(args: Args) -> Result<Outcome> {
    // Checked once here: a bad folder is one error, not a failed run per pair.
    let env = run_env(&args.lib_dirs)?;
    let out = match &args.from_results {
        // The page links each run's files relative to itself: it is written where they are.
        Some(dir) if args.out != Path::new(DEFAULT_OUT) && args.out != *dir => bail!(
            "--from-results {} writes the site beside the results; drop --out {}",
            dir.display(),
            args.out.display()
        ),
        Some(dir) => {
            if !dir.is_dir() {
                bail!("--from-results {}: no such folder", dir.display());
            }
            dir.clone()
        }
        None => args.out.clone(),
    };
    let spec = Spec {
        benchmarks: args.benchmarks,
        plugins: args.plugins,
        out: out.clone(),
        baseline: args.baseline,
        tolerance: tolerance(args.tolerance, args.tolerance_for)?,
        only_benchmarks: args.only_benchmarks,
        only_plugins: args.only_plugins,
        harness: harness_info(),
        harness_label: crate::VERSION.to_string(),
    };
    let executor = Subprocess {
        exe: std::env::current_exe().context("locating the cpbench executable")?,
        out: args.out,
        force: args.force,
        lib_dirs: args.lib_dirs.plugin_lib_dirs,
        env,
        harness: harness_info(),
        fetcher: args.data.fetcher()?,
        data_args: args.data.to_args(),
        fetch: args.fetch,
    };
    let t0 = std::time::Instant::now();
    let outcome = if args.from_results.is_some() {
        leaderboard(
            &spec,
            &FromResults {
                harness: harness_info(),
            },
            &Console,
        )?
    } else {
        leaderboard(&spec, &executor, &Console)?
    };
    outln!(
        "leaderboard: {} runs in {:.0} s → {}",
        outcome.n_runs,
        t0.elapsed().as_secs_f64(),
        outcome.index.display()
    );
    let Some(check) = outcome.regression_check() else {
        return Ok(Outcome::Ok);
    };
    for note in &check.notes {
        errln!("note: {note}");
    }
    if check.regressions.is_empty() {
        outln!(
            "no regression against the baseline (tolerance {} on control-scaled scores)",
            spec.tolerance.default
        );
        Ok(Outcome::Ok)
    } else {
        errln!(
            "{} regressions against the baseline (tolerance {} on control-scaled scores):",
            check.regressions.len(),
            spec.tolerance.default
        );
        for r in &check.regressions {
            errln!("  {}", r.describe());
        }
        Ok(Outcome::CheckFailed)
    }
}
