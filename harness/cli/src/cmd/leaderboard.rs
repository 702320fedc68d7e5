//! `cpbench leaderboard`: every applicable (benchmark, plugin) pair, scaled between controls,
//! into `index.html`, `leaderboard.json` and `leaderboard.md`.
//!
//! Each pair runs in its own `cpbench run` process: a plugin that crashes the process, or
//! leaks memory, costs only its own run, and each result's peak memory is its own.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use cpbench_core::io::write_bytes_atomic;
use cpbench_host::plugin::{Plugin, load_plugin};
use cpbench_report::html::{BenchmarkRuns, LeaderboardPage, render_leaderboard};
use cpbench_report::{
    BenchmarkMeta, Leaderboard, PluginMeta, RunEntry, RunFigures, RunResult, build_leaderboard,
    regressions,
};

use crate::Outcome;
use crate::bench::{Benchmark, RunFiles, harness_info, write_failed};
use crate::cmd::run::open_benchmark;

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
    #[arg(long, default_value = "reports/site")]
    pub out: PathBuf,
    /// A previous leaderboard.json: exit 1 if any score dropped by more than --tolerance.
    #[arg(long, value_name = "OLD.json")]
    pub baseline: Option<PathBuf>,
    /// Largest allowed drop of a raw score against --baseline.
    #[arg(long, default_value_t = 0.02)]
    pub tolerance: f64,
    /// Only these benchmark ids (repeatable; default: all).
    #[arg(long = "only-benchmark", value_name = "ID")]
    pub only_benchmarks: Vec<String>,
    /// Only these plugin ids (repeatable; default: all).
    #[arg(long = "only-plugin", value_name = "ID")]
    pub only_plugins: Vec<String>,
    /// Recompute every run even if cached.
    #[arg(long)]
    pub force: bool,
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

/// Runs `cpbench leaderboard`.
pub fn run(args: Args) -> Result<Outcome> {
    if !(args.tolerance.is_finite() && args.tolerance >= 0.0) {
        bail!("--tolerance {} must be finite and ≥ 0", args.tolerance);
    }
    let baseline = match &args.baseline {
        Some(p) => Some(Leaderboard::read_json(p)?),
        None => None,
    };
    let mut benches: Vec<Benchmark> = Vec::new();
    for path in discover(&args.benchmarks, "benchmark.toml")? {
        let b = open_benchmark(&path)?;
        if args.only_benchmarks.is_empty() || args.only_benchmarks.contains(&b.manifest.id) {
            benches.push(b);
        }
    }
    let mut plugins: Vec<Plugin> = Vec::new();
    let mut plugin_files = Vec::new();
    for dir in &args.plugins {
        if dir.join("plugin.toml").is_file() {
            plugin_files.push(dir.join("plugin.toml"));
        } else {
            plugin_files.extend(discover(dir, "plugin.toml")?);
        }
    }
    for path in plugin_files {
        let p = load_plugin(&path)?;
        if args.only_plugins.is_empty() || args.only_plugins.contains(&p.manifest.id) {
            plugins.push(p);
        }
    }
    for (what, wanted, have) in [
        (
            "benchmark",
            &args.only_benchmarks,
            benches
                .iter()
                .map(|b| b.manifest.id.clone())
                .collect::<Vec<_>>(),
        ),
        (
            "plugin",
            &args.only_plugins,
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
            args.benchmarks.display(),
            plugins.len(),
            args.plugins
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let exe = std::env::current_exe().context("locating the cpbench executable")?;
    let t0 = std::time::Instant::now();
    let mut entries: Vec<RunEntry> = Vec::new();
    let mut figures: Vec<(String, String, RunFigures)> = Vec::new();
    for b in &benches {
        for p in &plugins {
            let files = RunFiles::new(&args.out, &b.manifest, p);
            let mut cmd = Command::new(&exe);
            cmd.arg("run")
                .arg("--benchmark")
                .arg(&b.path)
                .arg("--plugin")
                .arg(&p.path)
                .arg("--out")
                .arg(&args.out)
                .arg("--quiet");
            if args.force {
                cmd.arg("--force");
            }
            let out = cmd
                .output()
                .with_context(|| format!("starting {}", exe.display()))?;
            let code = out.status.code();
            // Exit 0/1 means the run wrote its result; anything else is a crash or bad input.
            let result = match (code, RunResult::read_json(&files.result)) {
                (Some(0 | 1), Ok(r)) => r,
                _ => {
                    let stderr = String::from_utf8_lossy(&out.stderr);
                    let tail: Vec<&str> = stderr.lines().rev().take(6).collect();
                    let reason = format!(
                        "`cpbench run` exited with {}: {}",
                        code.map_or("a signal".to_string(), |c| format!("code {c}")),
                        tail.into_iter().rev().collect::<Vec<_>>().join(" | ")
                    );
                    write_failed(b, p, &files, reason)?
                }
            };
            let fig = std::fs::read(&files.figures)
                .ok()
                .and_then(|t| serde_json::from_slice::<RunFigures>(&t).ok())
                .unwrap_or_default();
            println!(
                "{:<28} {:<22} {:<15} {:>7.1} s",
                b.manifest.id,
                p.manifest.id,
                result.status.as_str(),
                result.timing.wall_s
            );
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
                result_file: Some(RunFiles::relative(&args.out, &files.result)),
                report_file: Some(RunFiles::relative(&args.out, &files.report)),
            });
        }
    }
    let board = build_leaderboard(&entries, harness_info());
    let found = match &baseline {
        Some(base) => regressions(&board, base, args.tolerance),
        None => Vec::new(),
    };
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
    let note = format!(
        "{} benchmarks × {} plugins; harness {}",
        benches.len(),
        plugins.len(),
        crate::VERSION
    );
    let page = LeaderboardPage {
        board: &board,
        runs,
        generated_note: Some(&note),
        regressions: &found,
    };
    let html = render_leaderboard(&page)?;
    board.write_json(&args.out.join("leaderboard.json"))?;
    write_bytes_atomic(
        &args.out.join("leaderboard.md"),
        board.to_markdown().as_bytes(),
    )?;
    write_bytes_atomic(&args.out.join("index.html"), html.as_bytes())?;
    println!(
        "leaderboard: {} runs in {:.0} s → {}",
        entries.len(),
        t0.elapsed().as_secs_f64(),
        args.out.join("index.html").display()
    );
    if found.is_empty() {
        if baseline.is_some() {
            println!(
                "no regression against the baseline (tolerance {})",
                args.tolerance
            );
        }
        Ok(Outcome::Ok)
    } else {
        eprintln!(
            "{} regressions against the baseline (tolerance {}):",
            found.len(),
            args.tolerance
        );
        for r in &found {
            eprintln!("  {}", r.describe());
        }
        Ok(Outcome::CheckFailed)
    }
}
