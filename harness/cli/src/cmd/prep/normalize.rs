//! `cpbench prep normalize`: pycytominer's `normalize` (standardize, robustize, mad_robustize),
//! fitted on `--fit-on` rows, one fit per `--by` group.

use anyhow::Result;
use cpbench_core::io::FeatureFloat;
use cpbench_prep::Method;
use cpbench_runner::prep::normalize::normalize_profiles;

use super::common::{FitArgs, IoArgs, PrecisionArgs, Width};
use crate::Outcome;
use crate::cmd::eval::common::split_list;

/// Arguments of `cpbench prep normalize`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input and output tables.
    #[command(flatten)]
    pub io: IoArgs,
    /// The precision features are kept in (`--precision`).
    #[command(flatten)]
    pub precision: PrecisionArgs,
    /// The rows the step is fitted on (`--fit-on`).
    #[command(flatten)]
    pub fit: FitArgs,
    /// standardize, robustize or mad_robustize.
    #[arg(long, default_value = "standardize")]
    pub method: String,
    /// Fit one normalizer per group of these columns (comma-separated), e.g. Metadata_Plate.
    #[arg(long, value_name = "C[,C]")]
    pub by: Option<String>,
    /// Added to the scaled MAD (mad_robustize).
    #[arg(long)]
    pub epsilon: Option<f64>,
}

/// Runs `cpbench prep normalize`.
pub fn run(args: Args) -> Result<Outcome> {
    match args.precision.width(&args.io) {
        Width::F32 => run_as::<f32>(args),
        Width::F64 => run_as::<f64>(args),
    }
}

fn run_as<T: FeatureFloat>(args: Args) -> Result<Outcome> {
    let method: Method = args.method.parse()?;
    let by = args.by.as_deref().map(split_list).unwrap_or_default();
    let mut profiles = args.io.load_as::<T>()?;
    let file = args.io.file();
    normalize_profiles(
        &mut profiles,
        method,
        args.epsilon,
        &args.fit.rows(),
        &by,
        &file,
    )?;
    args.io.write(&profiles)?;
    Ok(Outcome::Ok)
}
