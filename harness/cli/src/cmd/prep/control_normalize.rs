//! `cpbench prep control-normalize`: within-batch normalization against the batch's control
//! rows (JUMP analysis); features whose control spread is zero are centered or dropped, and
//! reported.

use anyhow::{Result, bail};
use cpbench_core::io::FeatureFloat;
use cpbench_prep::{ControlMethod, ControlParams};
use cpbench_runner::prep::control_normalize::{control_normalize_profiles, parse_on_zero};

use super::common::{FitArgs, IoArgs, PrecisionArgs, Width};
use crate::Outcome;
use crate::progress::Console;

/// Arguments of `cpbench prep control-normalize`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input and output tables.
    #[command(flatten)]
    pub io: IoArgs,
    /// The precision features are kept in (`--precision`).
    #[command(flatten)]
    pub precision: PrecisionArgs,
    /// The control rows (`--fit-on`).
    #[command(flatten)]
    pub fit: FitArgs,
    /// Batch column: each batch is normalized against its own controls (`--by` is accepted too,
    /// as for the other prep operations).
    #[arg(long, value_name = "C", visible_alias = "by")]
    pub batch: String,
    /// center, standardize, robustize or mad_robustize.
    #[arg(long, default_value = "standardize")]
    pub method: String,
    /// Added to every spread before dividing.
    #[arg(long, default_value_t = 0.0)]
    pub epsilon: f64,
    /// A feature whose control spread is zero in some batch: `center` it there, or `drop` it.
    #[arg(long, default_value = "center")]
    pub on_zero: String,
}

/// Runs `cpbench prep control-normalize`.
pub fn run(args: Args) -> Result<Outcome> {
    match args.precision.width(&args.io) {
        Width::F32 => run_as::<f32>(args),
        Width::F64 => run_as::<f64>(args),
    }
}

fn run_as<T: FeatureFloat>(args: Args) -> Result<Outcome> {
    let params = ControlParams {
        method: args.method.parse::<ControlMethod>()?,
        epsilon: args.epsilon,
        on_zero: parse_on_zero(&args.on_zero)?,
    };
    if args.fit.fit_on.trim() == "all" {
        bail!(
            "--fit-on: control-normalize needs the control rows ('COL=VALUE' or controls), not all"
        );
    }
    let mut profiles = args.io.load_as::<T>()?;
    let file = args.io.file();
    let mask = args.fit.rows().mask(&profiles, &file)?;
    let out = control_normalize_profiles(
        &mut profiles,
        &params,
        &mask,
        &args.batch,
        &args.fit.fit_on,
        &file,
        &Console,
    )?;
    args.io.write(&out)?;
    Ok(Outcome::Ok)
}
