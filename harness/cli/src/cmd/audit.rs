//! `cpbench audit`: recompute published claims and say which ones hold.

use std::path::PathBuf;

use anyhow::Result;
use cpbench_runner::audit::{ClaimOutcome, open_audit, recompute_claims};

use crate::Outcome;
use crate::cmd::fetch::DataArgs;
use crate::cmd::plugin::LibDirArgs;
use crate::cmd::run::run_options;

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
    #[command(flatten)]
    pub lib_dirs: LibDirArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Runs `cpbench audit`: exit 1 when any claim is not reproduced.
pub fn run(args: Args) -> Result<Outcome> {
    let opts = run_options(&args.out, args.force, &args.lib_dirs, &args.data)?;
    let (mut held, mut total) = (0, 0);
    for path in &args.audits {
        let audit = open_audit(path)?;
        outln!("audit {} — {}", audit.manifest.id, audit.manifest.title);
        let verdicts = recompute_claims(&audit, &args.plugins, &opts, print_claim)?;
        total += verdicts.len();
        held += verdicts.iter().filter(|v| **v).count();
    }
    outln!("{held} of {total} claims reproduced");
    Ok(if held == total {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

/// The verdict on one claim, with the numbers and the provenance of the run behind them.
fn print_claim(o: &ClaimOutcome<'_>) {
    let claim = o.claim;
    let (lo, hi) = claim.accepted_range();
    match &o.value {
        Ok(value) => outln!(
            "  {:<15} {:<28} published {} recomputed {:.4} (diff {:+.4}; accepted [{}, {}])",
            if o.reproduced() {
                "REPRODUCED"
            } else {
                "NOT REPRODUCED"
            },
            claim.id,
            claim.value,
            value,
            value - claim.value,
            fmt(lo),
            fmt(hi)
        ),
        Err(why) => outln!(
            "  NOT REPRODUCED  {:<28} published {}: {why}",
            claim.id,
            claim.value
        ),
    }
    let r = &o.run.result;
    outln!(
        "      {} × {}@{} ({}), {}; benchmark sha256 {}…, plugin {}…, harness {}{}",
        r.benchmark.id,
        r.plugin.id,
        r.plugin.version,
        claim.location,
        if o.run.cached {
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
    outln!("      result: {}", o.run.files.result.display());
}

fn fmt(v: f64) -> String {
    format!("{v:.4}")
}
