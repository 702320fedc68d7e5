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
use cpbench_runner::prep::aggregate::{aggregate_profiles, aggregator};

use super::common::IoArgs;
use crate::Outcome;
use crate::cmd::eval::common::split_list;

/// Arguments of `cpbench prep aggregate`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input and output tables.
    #[command(flatten)]
    pub io: IoArgs,
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
    /// modz: decimals the weights are rounded to.
    #[arg(long, default_value_t = 4)]
    pub precision: i32,
}

/// Runs `cpbench prep aggregate` (`consensus = false`) or `cpbench prep consensus`.
pub fn run(args: Args, consensus: bool) -> Result<Outcome> {
    let agg = aggregator(&args.method, consensus, args.min_weight, args.precision)?;
    let by = split_list(&args.by);
    if by.is_empty() {
        bail!("--by names no column");
    }
    let profiles = args.io.load()?;
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
