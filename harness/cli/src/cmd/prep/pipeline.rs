//! `cpbench prep pipeline --steps FILE.toml`: the `[[preprocess]]` steps of a benchmark.toml
//! (with the `[columns]` roles they use), run in order on one profile table.

use std::path::PathBuf;

use anyhow::Result;
use cpbench_core::io::FeatureFloat;
use cpbench_core::manifest::load_pipeline;

use cpbench_runner::prep::pipeline::{StepContext, run_steps};

use super::common::{IoArgs, PrecisionArgs, Width};
use crate::Outcome;
use crate::progress::Console;

/// Arguments of `cpbench prep pipeline`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input and output tables.
    #[command(flatten)]
    pub io: IoArgs,
    /// The precision features are kept in through every step (`--precision`).
    #[command(flatten)]
    pub precision: PrecisionArgs,
    /// Steps file: `[[preprocess]]` tables as in benchmark.toml, plus an optional `[columns]`.
    #[arg(long, value_name = "FILE.toml")]
    pub steps: PathBuf,
}

/// Runs `cpbench prep pipeline`.
pub fn run(args: Args) -> Result<Outcome> {
    match args.precision.width(&args.io) {
        Width::F32 => run_as::<f32>(args),
        Width::F64 => run_as::<f64>(args),
    }
}

fn run_as<T: FeatureFloat>(args: Args) -> Result<Outcome> {
    let loaded = load_pipeline(&args.steps)?;
    let profiles = args.io.load_as::<T>()?;
    let file = args.io.file();
    let ctx = StepContext {
        columns: &loaded.manifest.columns,
        base_dir: &loaded.dir,
        file: &file,
        reporter: &Console,
    };
    let out = run_steps(profiles, &loaded.manifest.preprocess, &ctx)?;
    args.io.write(&out)?;
    Ok(Outcome::Ok)
}
