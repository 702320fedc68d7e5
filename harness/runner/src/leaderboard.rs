//! Every applicable (benchmark, plugin) pair, scaled between controls, into the files of
//! every leaderboard exporter (`leaderboard.json`, `leaderboard.md`, `index.html`).
//!
//! How each pair runs is the caller's choice ([`PairExecutor`]): the binary runs each pair in
//! its own process, so that a plugin that crashes the process or leaks memory costs only its
//! own run and each result's peak memory is its own; [`InProcess`] runs them here.
//!
//! With a baseline, the board is compared with it on control-scaled scores (per-metric
//! tolerances possible; raw values only for a column without a scaled value), and the
//! comparison is part of the board, so `leaderboard.json`, `leaderboard.md` and `index.html`
//! all list the regressions.

use std::io::Write;
use std::path::{Path, PathBuf};

use cpbench_core::io::Commit;
use cpbench_host::plugin::{Plugin, load_plugin};
use cpbench_report::html::{BenchmarkRuns, LeaderboardPage};
use cpbench_report::{Exporter, HtmlExporter, leaderboard_exporters};
use cpbench_results::{
    BenchmarkMeta, HarnessInfo, Leaderboard, PluginMeta, RegressionCheck, RunEntry, RunFigures,
    RunResult, Tolerance, build_leaderboard, regressions,
};

use crate::bench::{
    Benchmark, RunContext, RunFiles, RunOptions, open_benchmark, run_pair, write_failed,
};
use crate::error::{Context, Error, Result};
use crate::reporter::Reporter;
use crate::{bail, err};

/// Runs one pair and leaves its result file (and plot data) at `files`.
pub trait PairExecutor {
    /// Runs `plugin` on `bench`; the result, also when the run failed.
    fn run(&self, bench: &Benchmark, plugin: &Plugin, files: &RunFiles) -> Result<RunResult>;

    /// Readies a benchmark before its pairs run (e.g. fetches its remote data); `Some(why)`
    /// leaves it off this board, with the reason shown. Default: every benchmark is ready.
    fn prepare(&self, _bench: &Benchmark) -> Result<Option<String>> {
        Ok(None)
    }

    /// Why the pair is left off the board (reported with the missing pairs), or `None` when it
    /// goes on. Default: every pair runs.
    fn unavailable(
        &self,
        _bench: &Benchmark,
        _plugin: &Plugin,
        _files: &RunFiles,
    ) -> Option<String> {
        None
    }
}

/// Runs nothing: each pair's result is the file `cpbench run` (e.g. in a workflow) wrote into
/// the leaderboard's folder (`runs/…`). A pair without one is missing; a result of another
/// `benchmark.toml`, plugin version or harness build is stale: neither goes on the board.
pub struct FromResults {
    /// This build: results of another are stale.
    pub harness: HarnessInfo,
}

impl PairExecutor for FromResults {
    fn run(&self, _bench: &Benchmark, _plugin: &Plugin, files: &RunFiles) -> Result<RunResult> {
        Ok(RunResult::read_json(&files.result)?)
    }

    fn unavailable(&self, bench: &Benchmark, plugin: &Plugin, files: &RunFiles) -> Option<String> {
        if !files.result.is_file() {
            return Some("no result".into());
        }
        let r = match RunResult::read_json(&files.result) {
            Ok(r) => r,
            Err(e) => return Some(format!("unreadable result: {e}")),
        };
        let manifest = cpbench_core::hash::sha256_file(&bench.path).ok();
        if manifest.as_deref() != Some(r.benchmark.manifest_sha256.as_str()) {
            return Some("stale: benchmark.toml changed since the run".into());
        }
        let m = &plugin.manifest;
        if r.plugin.id != m.id || r.plugin.version != m.version {
            return Some(format!(
                "stale: a result of {}@{}",
                r.plugin.id, r.plugin.version
            ));
        }
        if r.harness != self.harness {
            return Some(format!(
                "stale: computed by cpbench {} ({})",
                r.harness.version,
                r.harness.git_commit.as_deref().unwrap_or("unknown commit")
            ));
        }
        None
    }
}

/// Runs every pair in this process with [`run_pair`].
pub struct InProcess<'a> {
    /// Options of every run (its `out_dir` must be the leaderboard's).
    pub opts: RunOptions<'a>,
}

impl PairExecutor for InProcess<'_> {
    fn run(&self, bench: &Benchmark, plugin: &Plugin, files: &RunFiles) -> Result<RunResult> {
        // A pair that cannot start (bad input) is one failed entry, not the end of the board.
        match run_pair(bench, plugin, &self.opts) {
            Ok(outcome) => Ok(outcome.result),
            Err(e) => write_failed(
                bench,
                plugin,
                files,
                vec![e.chain()],
                false,
                RunContext {
                    env: &self.opts.env,
                    harness: &self.opts.harness,
                    cache: self.opts.fetcher.cache(),
                },
            ),
        }
    }
}

/// What to put on a leaderboard and where.
#[derive(Debug, Clone)]
pub struct Spec {
    /// Folder of benchmarks: every `*/benchmark.toml` in it.
    pub benchmarks: PathBuf,
    /// Folders of plugins: every `*/plugin.toml`; a folder holding a plugin.toml is that one.
    pub plugins: Vec<PathBuf>,
    /// Output folder: index.html, leaderboard.json, leaderboard.md and runs/.
    pub out: PathBuf,
    /// A previous leaderboard.json to find regressions against.
    pub baseline: Option<PathBuf>,
    /// Largest allowed drop of a control-scaled score against the baseline, per metric.
    pub tolerance: Tolerance,
    /// Only these benchmark ids (empty: all).
    pub only_benchmarks: Vec<String>,
    /// Only these plugin ids (empty: all).
    pub only_plugins: Vec<String>,
    /// The harness build, recorded in the leaderboard.
    pub harness: HarnessInfo,
    /// The harness as shown on the page (version and commit).
    pub harness_label: String,
}

/// What a leaderboard run produced.
pub struct Outcome {
    /// The leaderboard, with its comparison with the baseline when one was given.
    pub board: Leaderboard,
    /// Runs on the board.
    pub n_runs: usize,
    /// The page written.
    pub index: PathBuf,
}

/// The manifests directly under `dir` named `file` (`dir/*/file`), sorted by folder.
fn discover(dir: &Path, file: &str) -> Result<Vec<PathBuf>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path().join(file);
        if path.is_file() {
            found.push(path);
        }
    }
    found.sort();
    Ok(found)
}

fn plugin_meta(p: &Plugin) -> PluginMeta {
    let m = &p.manifest;
    PluginMeta {
        id: m.id.clone(),
        version: m.version.clone(),
        role: m.role,
        kind: m.kind,
        description: m.description.clone(),
        training_datasets: m.training_datasets.clone(),
    }
}

/// The benchmarks and plugins of `spec`, filtered; an error names an unknown id.
pub fn discover_pairs(spec: &Spec) -> Result<(Vec<Benchmark>, Vec<Plugin>)> {
    let mut benches: Vec<Benchmark> = Vec::new();
    for path in discover(&spec.benchmarks, "benchmark.toml")? {
        let b = open_benchmark(&path)?;
        if spec.only_benchmarks.is_empty() || spec.only_benchmarks.contains(&b.manifest.id) {
            benches.push(b);
        }
    }
    let mut plugins: Vec<Plugin> = Vec::new();
    let mut plugin_files = Vec::new();
    for dir in &spec.plugins {
        if dir.join("plugin.toml").is_file() {
            plugin_files.push(dir.join("plugin.toml"));
        } else {
            plugin_files.extend(discover(dir, "plugin.toml")?);
        }
    }
    for path in plugin_files {
        let p = load_plugin(&path)?;
        if spec.only_plugins.is_empty() || spec.only_plugins.contains(&p.manifest.id) {
            plugins.push(p);
        }
    }
    for (what, wanted, have) in [
        (
            "benchmark",
            &spec.only_benchmarks,
            benches
                .iter()
                .map(|b| b.manifest.id.clone())
                .collect::<Vec<_>>(),
        ),
        (
            "plugin",
            &spec.only_plugins,
            plugins.iter().map(|p| p.manifest.id.clone()).collect(),
        ),
    ] {
        if let Some(missing) = wanted.iter().find(|w| !have.contains(w)) {
            bail!(
                "--only-{what} {missing}: no such {what} (found: {})",
                have.join(", ")
            );
        }
    }
    if benches.is_empty() || plugins.is_empty() {
        bail!(
            "nothing to run: {} benchmarks in {}, {} plugins in {}",
            benches.len(),
            spec.benchmarks.display(),
            plugins.len(),
            spec.plugins
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    Ok((benches, plugins))
}

/// Takes `out/.cpbench-leaderboard.lock` for the whole run (released when the returned file is
/// dropped, or by the kernel when the process dies), so that two leaderboards never write the
/// same folder at once: the second is refused, naming the folder.
fn lock_output(out: &Path) -> Result<std::fs::File> {
    let path = out.join(".cpbench-leaderboard.lock");
    let file = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("creating {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => bail!(
            "{}: another `cpbench leaderboard` is writing to this folder (it holds {}); wait \
             for it to finish, or give this one another --out",
            out.display(),
            path.display()
        ),
        Err(std::fs::TryLockError::Error(e)) => {
            Err(Error::from(e).context(format!("locking {}", path.display())))
        }
    }
}

/// Runs every pair of `spec` with `executor` and writes the leaderboard's files.
pub fn leaderboard(
    spec: &Spec,
    executor: &dyn PairExecutor,
    reporter: &dyn Reporter,
) -> Result<Outcome> {
    // Before any run: a bad tolerance should not cost a whole leaderboard.
    spec.tolerance.check().map_err(|e| err!("{e}"))?;
    let baseline = match &spec.baseline {
        Some(p) => Some(Leaderboard::read_json(p)?),
        None => None,
    };
    let (discovered, plugins) = discover_pairs(spec)?;
    let mut benches = Vec::with_capacity(discovered.len());
    for b in discovered {
        match executor.prepare(&b)? {
            None => benches.push(b),
            Some(why) => reporter.note(&format!("{}: left off this board: {why}", b.manifest.id)),
        }
    }
    if benches.is_empty() {
        bail!("no benchmark is ready to run (see the notes above)");
    }
    std::fs::create_dir_all(&spec.out)
        .with_context(|| format!("creating {}", spec.out.display()))?;
    let _lock = lock_output(&spec.out)?;
    let mut entries: Vec<RunEntry> = Vec::new();
    let mut figures: Vec<(String, String, RunFigures)> = Vec::new();
    let mut missing: Vec<String> = Vec::new();
    for b in &benches {
        for p in &plugins {
            let files = RunFiles::new(&spec.out, &b.manifest, p);
            if let Some(why) = executor.unavailable(b, p, &files) {
                missing.push(format!(
                    "{} × {} ({}: {why})",
                    b.manifest.id,
                    p.manifest.id,
                    RunFiles::relative(&spec.out, &files.result)
                ));
                continue;
            }
            let result = executor.run(b, p, &files)?;
            let fig = std::fs::read(&files.figures)
                .ok()
                .and_then(|t| serde_json::from_slice::<RunFigures>(&t).ok())
                .unwrap_or_default();
            reporter.pair_done(&format!(
                "{:<28} {:<22} {:<15} {:>7.1} s",
                b.manifest.id,
                p.manifest.id,
                result.status.as_str(),
                result.timing.wall_s
            ));
            figures.push((b.manifest.id.clone(), p.manifest.id.clone(), fig));
            entries.push(RunEntry {
                result,
                plugin: plugin_meta(p),
                benchmark: BenchmarkMeta {
                    id: b.manifest.id.clone(),
                    version: b.manifest.version,
                    title: b.manifest.title.clone(),
                    datasets: b.manifest.datasets.clone(),
                },
                result_file: Some(RunFiles::relative(&spec.out, &files.result)),
                report_file: Some(RunFiles::relative(&spec.out, &files.report)),
            });
        }
    }
    if !missing.is_empty() {
        reporter.note(&format!(
            "{} of {} pairs have no usable result in {} and are not on the board: {}",
            missing.len(),
            benches.len() * plugins.len(),
            spec.out.display(),
            missing.join(", ")
        ));
    }
    if entries.is_empty() {
        bail!("no pair has a result in {}", spec.out.display());
    }
    let mut board = build_leaderboard(&entries, spec.harness.clone());
    if let Some(base) = &baseline {
        board.regression_check =
            Some(regressions(&board, base, &spec.tolerance).map_err(|e| err!("{e}"))?);
    }
    let runs = benches
        .iter()
        .map(|b| BenchmarkRuns {
            benchmark: &b.manifest.id,
            description: b.manifest.description.as_deref(),
            runs: figures
                .iter()
                .filter(|(bid, _, _)| *bid == b.manifest.id)
                .map(|(_, pid, f)| (pid.as_str(), f))
                .collect(),
        })
        .collect();
    let mut note = format!(
        "{} benchmarks × {} plugins; harness {}",
        benches.len(),
        plugins.len(),
        spec.harness_label
    );
    if !missing.is_empty() {
        note.push_str(&format!(
            "; {} pairs missing (no result file): {}",
            missing.len(),
            missing.join(", ")
        ));
    }
    let page = LeaderboardPage {
        board: &board,
        runs,
        generated_note: Some(&note),
    };
    // Every format is produced before any is written, and all are moved into place as one
    // commit, so neither a failing format nor a kill leaves a mix of old and new files.
    let files = leaderboard_exporters()
        .into_iter()
        .map(|e| Ok((spec.out.join(e.file_name()), e.export(&page)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut commit = Commit::new();
    for (path, bytes) in &files {
        commit.stage(path, |f| {
            f.write_all(bytes)
                .map_err(|e| cpbench_core::Error::io(path, e))
        })?;
    }
    commit.commit()?;
    let index = spec.out.join(HtmlExporter.file_name());
    Ok(Outcome {
        board,
        n_runs: entries.len(),
        index,
    })
}

impl Outcome {
    /// The comparison with the baseline, when one was given.
    pub fn regression_check(&self) -> Option<&RegressionCheck> {
        self.board.regression_check.as_ref()
    }
}

/// The reason recorded for a pair whose own process could not write its result.
pub fn crash_reason(code: Option<i32>, stderr: &str) -> String {
    let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
    format!(
        "`cpbench run` exited with {}: {}",
        code.map_or("a signal".to_string(), |c| format!("code {c}")),
        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
    )
}
