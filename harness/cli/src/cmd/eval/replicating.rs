//! `cpbench eval replicating`: percent replicating, pair-level (cytominer-eval) or group-median
//! with a per-size permutation null (definitions: `cpbench_metrics::replicating`).
//!
//! Output (JSON, atomic): the variant, its parameters and the percent replicating; the pair
//! variant adds the threshold and pair counts, the group-median variant each group's median,
//! threshold and verdict and each size's null threshold.

use std::path::PathBuf;

use anyhow::Result;
use clap::ValueEnum;
use cpbench_runner::Origin;
use cpbench_runner::eval::replicating::{self, Params};

use super::common::{ProfileArgs, similarity, split_list, write_json};
use crate::Outcome;
use crate::progress::Console;

/// Which percent replicating.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Variant {
    /// cytominer-eval: share of replicate pairs above the quantile of non-replicate pairs.
    Pair,
    /// Share of groups whose median similarity exceeds the quantile of random groups' medians.
    GroupMedian,
}

/// Arguments of `cpbench eval replicating`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: ProfileArgs,
    /// Replicate columns (comma-separated): rows equal on all of them are replicates; a missing
    /// value equals a missing value, as in cytominer-eval.
    #[arg(long, value_name = "C[,C]")]
    pub replicate: String,
    /// pair (cytominer-eval) or group-median (permutation null per group size).
    #[arg(long, value_enum, default_value_t = Variant::Pair)]
    pub variant: Variant,
    /// Quantile (0-1) of the null a replicate similarity or median must exceed.
    #[arg(long, default_value_t = 0.95)]
    pub quantile: f64,
    /// cosine, pearson (correlation), abs-cosine or euclidean.
    #[arg(long, default_value = "pearson")]
    pub similarity: String,
    /// Random groups per group size (group-median only; default 1000).
    #[arg(long = "null-size")]
    pub null_size: Option<usize>,
    /// Seed of the null (group-median only; default 0).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Result (JSON).
    #[arg(long, value_name = "R.json")]
    pub out: PathBuf,
}

impl Args {
    /// The parameters the flags give.
    pub fn params(&self) -> Result<Params> {
        let params = Params {
            replicate: split_list(&self.replicate),
            variant: match self.variant {
                Variant::Pair => replicating::Variant::Pair,
                Variant::GroupMedian => replicating::Variant::GroupMedian,
            },
            quantile: self.quantile,
            similarity: similarity(&self.similarity)?,
            null_size: self.null_size,
            seed: self.seed,
            threads: self.threads,
            origin: Origin::Flags,
        };
        params.check()?;
        Ok(params)
    }
}

/// Runs `cpbench eval replicating`.
pub fn run(args: Args) -> Result<Outcome> {
    let params = args.params()?;
    let table = args.input.spec();
    let profiles = table.load()?;
    let report = replicating::evaluate(&profiles, &params, &table.source(), &Console)?;
    write_json(&args.out, &report)?;
    Ok(Outcome::Ok)
}
