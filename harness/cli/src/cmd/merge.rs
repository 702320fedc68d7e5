//! `cpbench merge`: the tables of a computation split with `--shard i/n`, from its parts.
//!
//! Takes every part's shard file (any order), checks that they are all the parts of one
//! computation, each once (`cpbench_results::shard::check_complete`: same arguments, same
//! input bytes, same harness build), that the input table still has the SHA-256 the parts were
//! computed from, and writes what the unsharded command writes, byte for byte: the statistics
//! that need every part (mAP, p-values, Benjamini–Hochberg q-values) are computed here, by
//! the same harness build that computed the parts. `--profiles` names the input where this
//! machine has it; it is recognised by its SHA-256, not by its path.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Parser;
use cpbench_core::hash::sha256_file;
use cpbench_core::io::{Format, write_tables};
use cpbench_results::shard::{ShardFile, check_complete};
use cpbench_runner::eval::map as map_eval;

use crate::Outcome;
use crate::cmd::eval::map::{self, Recorded, SHARD_KIND};
use crate::cmd::run::harness_info;
use crate::progress::Console;

/// Arguments of `cpbench merge`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shard files of every part (`cpbench eval map --shard i/n --out-shard FILE`).
    #[arg(required = true, value_name = "SHARD.json")]
    pub shards: Vec<PathBuf>,
    /// Average precision per profile, as `cpbench eval map --out-ap` writes it.
    #[arg(long = "out-ap", value_name = "AP.csv")]
    pub out_ap: PathBuf,
    /// mAP, p-value and q-value per group, as `cpbench eval map --out-map` writes it.
    #[arg(long = "out-map", value_name = "MAP.csv")]
    pub out_map: PathBuf,
    /// The input table where this machine has it (default: the path the parts recorded); its
    /// SHA-256 must be the one the parts were computed from.
    #[arg(long, value_name = "PROFILES")]
    pub profiles: Option<PathBuf>,
}

/// Runs `cpbench merge`.
pub fn run(a: Args) -> Result<Outcome> {
    for p in [&a.out_ap, &a.out_map] {
        Format::of(p)?;
    }
    let mut files = Vec::with_capacity(a.shards.len());
    for path in &a.shards {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let file: ShardFile = serde_json::from_str(&text)
            .with_context(|| format!("{}: not a cpbench shard file", path.display()))?;
        files.push((path.display().to_string(), file));
    }
    check_complete(&files).map_err(anyhow::Error::msg)?;
    let first = &files[0].1;
    if first.kind != SHARD_KIND {
        bail!(
            "{}: shards of `{}` cannot be merged by this build (it merges `{SHARD_KIND}`)",
            files[0].0,
            first.kind
        );
    }
    // The statistics computed here must be this build's own, as the parts' are theirs.
    let here = harness_info();
    if here != first.harness {
        bail!(
            "{}: computed by cpbench {} ({}); this is cpbench {} ({}): merge with the build that \
             computed the parts",
            files[0].0,
            first.harness.version,
            first
                .harness
                .git_commit
                .as_deref()
                .unwrap_or("unknown commit"),
            here.version,
            here.git_commit.as_deref().unwrap_or("unknown commit"),
        );
    }
    let recorded = Recorded::try_parse_from(&first.args)
        .with_context(|| format!("{}: the recorded arguments do not parse", files[0].0))?;
    let mut args = recorded.args;
    if let Some(p) = a.profiles {
        args.input.profiles = p;
    }
    let input = &args.input.profiles;
    let sha = sha256_file(input)?;
    if sha != first.input_sha256 {
        bail!(
            "{}: its SHA-256 is {sha}, but the parts were computed from {}: the table changed \
             since, so the parts no longer describe it",
            input.display(),
            first.input_sha256
        );
    }
    let params = args.params()?;
    let table = args.input.spec();
    let profiles = table.load()?;
    let parts = files.iter().map(|(_, f)| map::ap_shard(f)).collect();
    let mut out = map_eval::evaluate_merged(profiles, &params, &table.source(), &Console, parts)?;
    write_tables(&mut [(&mut out.ap, &a.out_ap), (&mut out.map, &a.out_map)])?;
    Ok(Outcome::Ok)
}
