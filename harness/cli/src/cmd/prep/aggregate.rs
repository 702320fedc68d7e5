//! `cpbench prep aggregate` and `cpbench prep consensus`: one profile per group of the `--by`
//! columns (pycytominer 1.7.1 `aggregate` and `consensus`).
//!
//! As in pycytominer, the output holds the `--by` columns (first row's value of each group,
//! dtype kept) followed by the features; other metadata columns are dropped, and groups are
//! sorted by their keys (numbers numerically, text by code point, missing values last).
//! `--keep` names further metadata columns to carry along; each must be constant within every
//! group.

use anyhow::{Result, bail};
use cpbench_core::Level;
use cpbench_core::io::FeatureFloat;
use cpbench_runner::prep::aggregate::{aggregate_profiles, aggregator};

use super::common::{IoArgs, PrecisionArgs, Width};
use crate::Outcome;
use crate::cmd::eval::common::split_list;

/// Arguments of `cpbench prep aggregate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input and output tables.
    #[command(flatten)]
    pub io: IoArgs,
    /// The precision features are kept in (`--precision`).
    #[command(flatten)]
    pub precision: PrecisionArgs,
    /// Grouping columns (comma-separated), e.g. Metadata_Plate,Metadata_Well.
    #[arg(long, value_name = "C[,C]")]
    pub by: String,
    /// Further metadata columns to keep (comma-separated); each must be constant within a group.
    #[arg(long, value_name = "C[,C]")]
    pub keep: Option<String>,
    /// median or mean (consensus: median or modz).
    #[arg(long, default_value = "median")]
    pub method: String,
    /// Level of the output rows (default: the next coarser level than the input's).
    #[arg(long)]
    pub level: Option<Level>,
    /// modz: smallest replicate weight before normalizing.
    #[arg(long, default_value_t = 0.01)]
    pub min_weight: f64,
    /// modz: decimals the weights are rounded to (pycytominer's modz `precision`; the flag
    /// `--precision` is the feature precision, as for every prep command).
    #[arg(long, default_value_t = 4)]
    pub weight_decimals: i32,
}

/// Runs `cpbench prep aggregate` (`consensus = false`) or `cpbench prep consensus`.
pub fn run(args: Args, consensus: bool) -> Result<Outcome> {
    match args.precision.width(&args.io) {
        Width::F32 => run_as::<f32>(args, consensus),
        Width::F64 => run_as::<f64>(args, consensus),
    }
}

fn run_as<T: FeatureFloat>(args: Args, consensus: bool) -> Result<Outcome> {
    let agg = aggregator::<T>(
        &args.method,
        consensus,
        args.min_weight,
        args.weight_decimals,
    )?;
    let by = split_list(&args.by);
    if by.is_empty() {
        bail!("--by names no column");
    }
    let profiles = args.io.load_as::<T>()?;
    let file = args.io.file();
    let keep = args.keep.as_deref().map(split_list).unwrap_or_default();
    let out = aggregate_profiles(&profiles, &by, &keep, agg.as_ref(), args.level, &file)?;
    errln!(
        "{} rows → {} groups by {}",
        profiles.n_rows(),
        out.n_rows(),
        by.join(", ")
    );
    args.io.write(&out)?;
    Ok(Outcome::Ok)
}
