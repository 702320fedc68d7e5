//! `cpbench merge`: the output of a computation split with `--shard i/n`, from its parts.
//!
//! Parts of `cpbench run --shard` (with `--benchmark` and `--plugin`): the run's result, plot
//! data and report, as `cpbench run` writes them (timing aside); see
//! `cpbench_runner::bench::shard`. Parts of `cpbench eval map --shard` (with `--out-ap` and
//! `--out-map`):
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
use cpbench_host::plugin::load_plugin;
use cpbench_results::shard::{ShardFile, check_complete, check_harness};
use cpbench_runner::bench::shard::{RUN_KIND, ap_shard, read_shard_file};
use cpbench_runner::bench::{open_benchmark, run_pair_merged};
use cpbench_runner::eval::map as map_eval;

use crate::Outcome;
use crate::cmd::eval::map::{Recorded, SHARD_KIND};
use crate::cmd::fetch::DataArgs;
use crate::cmd::plugin::LibDirArgs;
use crate::cmd::run::{exit_of, harness_info, print_outcome, run_options};
use crate::progress::Console;

/// Arguments of `cpbench merge`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The shard files of every part (`cpbench run --shard i/n --out-shard FILE`, or
    /// `cpbench eval map --shard i/n --out-shard FILE`).
    #[arg(required = true, value_name = "SHARD.json")]
    pub shards: Vec<PathBuf>,
    /// Parts of `cpbench eval map`: average precision per profile, as its --out-ap writes it.
    #[arg(long = "out-ap", value_name = "AP.csv")]
    pub out_ap: Option<PathBuf>,
    /// Parts of `cpbench eval map`: mAP, p-value and q-value per group, as its --out-map
    /// writes it.
    #[arg(long = "out-map", value_name = "MAP.csv")]
    pub out_map: Option<PathBuf>,
    /// Parts of `cpbench eval map`: the input table where this machine has it (default: the
    /// path the parts recorded); its SHA-256 must be the one the parts were computed from.
    #[arg(long, value_name = "PROFILES")]
    pub profiles: Option<PathBuf>,
    /// Parts of `cpbench run`: the benchmark folder (or its benchmark.toml) on this machine.
    #[arg(long)]
    pub benchmark: Option<PathBuf>,
    /// Parts of `cpbench run`: the plugin folder (or its plugin.toml) on this machine.
    #[arg(long)]
    pub plugin: Option<PathBuf>,
    /// Parts of `cpbench run`: the output folder, as `cpbench run --out`.
    #[arg(long, default_value = "reports/site")]
    pub out: PathBuf,
    /// Parts of `cpbench run`: recompute even if a result with identical inputs is cached.
    #[arg(long)]
    pub force: bool,
    /// Parts of `cpbench run`: print only the result file's path.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub lib_dirs: LibDirArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

/// Runs `cpbench merge`.
pub fn run(a: Args) -> Result<Outcome> {
    let mut files = Vec::with_capacity(a.shards.len());
    for path in &a.shards {
        files.push((path.display().to_string(), read_shard_file(path)?));
    }
    if files.first().is_some_and(|(_, f)| f.kind == RUN_KIND) {
        return merge_run(&a, &files);
    }
    let (Some(out_ap), Some(out_map)) = (&a.out_ap, &a.out_map) else {
        bail!("parts of `cpbench eval map` merge into tables: name --out-ap and --out-map");
    };
    for p in [out_ap, out_map] {
        Format::of(p)?;
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
    check_harness(&files[0].0, first, &harness_info()).map_err(anyhow::Error::msg)?;
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
    let mut parts = Vec::with_capacity(files.len());
    for (name, f) in &files {
        let Some(m) = &f.map else {
            bail!("{name}: a part of `{SHARD_KIND}` without its AP rows");
        };
        parts.push(ap_shard(m));
    }
    let mut out = map_eval::evaluate_merged(profiles, &params, &table.source(), &Console, parts)?;
    write_tables(&mut [(&mut out.ap, out_ap), (&mut out.map, out_map)])?;
    Ok(Outcome::Ok)
}

/// The parts of `cpbench run --shard`: the run's files.
fn merge_run(a: &Args, files: &[(String, ShardFile)]) -> Result<Outcome> {
    let (Some(benchmark), Some(plugin)) = (&a.benchmark, &a.plugin) else {
        bail!(
            "{}: parts of `cpbench run` merge into the run's files: name --benchmark and --plugin \
             (the folders on this machine)",
            files[0].0
        );
    };
    if a.out_ap.is_some() || a.out_map.is_some() || a.profiles.is_some() {
        bail!("--out-ap, --out-map and --profiles are for parts of `cpbench eval map`");
    }
    let options = run_options(&a.out, a.force, &a.lib_dirs, &a.data)?;
    let bench = open_benchmark(benchmark)?;
    let plugin = load_plugin(plugin)?;
    let outcome = run_pair_merged(&bench, &plugin, &options, files)?;
    if a.quiet {
        outln!("{}", outcome.files.result.display());
    } else {
        print_outcome(&outcome);
    }
    Ok(exit_of(&outcome))
}
