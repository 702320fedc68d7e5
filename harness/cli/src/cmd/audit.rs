//! `cpbench audit`: recompute published claims and say which ones hold.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow};
use cpbench_core::manifest::{AuditManifest, Claim, Loaded, ManifestRef, load_audit};
use cpbench_host::plugin::load_plugin;
use cpbench_report::{RunResult, Score, Status};

use crate::Outcome;
use crate::bench::{RunOptions, run_pair};
use crate::cmd::run::open_benchmark;

/// Arguments of `cpbench audit`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Audit files (benchmarks/audits/<id>.toml).
    #[arg(required = true)]
    pub audits: Vec<PathBuf>,
    /// Folder plugin ids are looked up in.
    #[arg(long, default_value = "plugins")]
    pub plugins: PathBuf,
    /// Output folder of the runs the claims need (cached like `cpbench run`).
    #[arg(long, default_value = "reports/site")]
    pub out: PathBuf,
    /// Recompute even if results with identical inputs are cached.
    #[arg(long)]
    pub force: bool,
}

/// Runs `cpbench audit`: exit 1 when any claim is not reproduced.
pub fn run(args: Args) -> Result<Outcome> {
    crate::progress::set_quiet(true);
    let opts = RunOptions {
        out_dir: args.out.clone(),
        force: args.force,
        env: crate::cmd::plugin::run_env(),
    };
    let (mut held, mut total) = (0, 0);
    for path in &args.audits {
        let audit =
            load_audit(path).with_context(|| format!("loading audit {}", path.display()))?;
        println!("audit {} — {}", audit.manifest.id, audit.manifest.title);
        for claim in &audit.manifest.claims {
            total += 1;
            let bench_path = locate(&audit, audit.benchmark_ref(claim), "benchmark.toml", None);
            let plugin_path = locate(
                &audit,
                audit.plugin_ref(claim),
                "plugin.toml",
                Some(&args.plugins),
            );
            let bench = open_benchmark(&bench_path)?;
            let plugin = load_plugin(&plugin_path)?;
            let outcome = run_pair(&bench, &plugin, &opts)?;
            let r = &outcome.result;
            let verdict = recomputed(r, claim);
            let (lo, hi) = claim.accepted_range();
            match verdict {
                Ok(value) if claim.accepts(value) => {
                    held += 1;
                    println!(
                        "  REPRODUCED      {:<28} published {} recomputed {:.4} (diff {:+.4}; accepted [{}, {}])",
                        claim.id,
                        claim.value,
                        value,
                        value - claim.value,
                        fmt(lo),
                        fmt(hi)
                    );
                }
                Ok(value) => println!(
                    "  NOT REPRODUCED  {:<28} published {} recomputed {:.4} (diff {:+.4}; accepted [{}, {}])",
                    claim.id,
                    claim.value,
                    value,
                    value - claim.value,
                    fmt(lo),
                    fmt(hi)
                ),
                Err(why) => println!(
                    "  NOT REPRODUCED  {:<28} published {}: {why}",
                    claim.id, claim.value
                ),
            }
            println!(
                "      {} × {}@{} ({}), {}; benchmark sha256 {}…, plugin {}…, harness {}{}",
                r.benchmark.id,
                r.plugin.id,
                r.plugin.version,
                claim.location,
                if outcome.cached {
                    "cached run"
                } else {
                    "fresh run"
                },
                &r.benchmark.manifest_sha256[..12],
                r.plugin
                    .artifact_sha256
                    .as_deref()
                    .map_or("-", |s| &s[..12]),
                r.harness.version,
                r.harness
                    .git_commit
                    .as_deref()
                    .map(|c| format!(" ({c})"))
                    .unwrap_or_default()
            );
            println!("      result: {}", outcome.files.result.display());
        }
    }
    println!("{held} of {total} claims reproduced");
    Ok(if held == total {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

fn fmt(v: f64) -> String {
    format!("{v:.4}")
}

/// A claim's manifest: a path as written, or an id looked up next to the audit file, beside
/// the audits folder (`benchmarks/<id>`), or in the plugins folder.
fn locate(
    audit: &Loaded<AuditManifest>,
    reference: ManifestRef,
    file_name: &str,
    plugins: Option<&Path>,
) -> PathBuf {
    let id = match reference {
        ManifestRef::Path(p) => return p,
        ManifestRef::Id(id) => id,
    };
    let candidates = match plugins {
        Some(dir) => vec![dir.join(&id)],
        None => vec![audit.dir.join(&id), audit.dir.join("..").join(&id)],
    };
    candidates
        .iter()
        .find(|c| c.join(file_name).exists())
        .cloned()
        .unwrap_or_else(|| candidates[0].clone())
}

/// The claim's number from a run: its task, metric and params; `statistic` `sd` picks the sd.
fn recomputed(r: &RunResult, claim: &Claim) -> std::result::Result<f64, String> {
    if r.status != Status::Succeeded {
        return Err(format!(
            "the run {}: {}",
            r.status.as_str(),
            r.reasons.join("; ")
        ));
    }
    let matches = |s: &&Score| {
        s.task == claim.task
            && claim.metric.as_deref().is_none_or(|m| s.metric == m)
            && claim.params.iter().all(|(k, v)| s.params.get(k) == Some(v))
    };
    let found: Vec<&Score> = r.scores.iter().filter(matches).collect();
    let score = match found.as_slice() {
        [] => return Err(format!("no score of task `{}` matches", claim.task)),
        [one] => *one,
        many => many
            .iter()
            .find(|s| s.primary)
            .copied()
            .ok_or_else(|| format!("{} scores match; name `metric` or `params`", many.len()))?,
    };
    match claim.statistic.as_deref() {
        None | Some("mean") | Some("value") => Ok(score.value),
        Some("sd") => score
            .sd
            .ok_or_else(|| anyhow!("the score has no sd").to_string()),
        Some(other) => Err(format!("unknown statistic `{other}` (mean or sd)")),
    }
}
