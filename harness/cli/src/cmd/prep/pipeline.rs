//! `cpbench prep pipeline --steps FILE.toml`: the `[[preprocess]]` steps of a benchmark.toml
//! (with the `[columns]` roles they use), run in order on one profile table.

use std::path::PathBuf;

use anyhow::Result;
use cpbench_core::manifest::load_pipeline;

use cpbench_runner::prep::pipeline::{StepContext, run_steps};

use super::common::IoArgs;
use crate::Outcome;
use crate::progress::Console;

/// Arguments of `cpbench prep pipeline`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Input and output tables.
    #[command(flatten)]
    pub io: IoArgs,
    /// Steps file: `[[preprocess]]` tables as in benchmark.toml, plus an optional `[columns]`.
    #[arg(long, value_name = "FILE.toml")]
    pub steps: PathBuf,
}

/// Runs `cpbench prep pipeline`.
pub fn run(args: Args) -> Result<Outcome> {
    let loaded = load_pipeline(&args.steps)?;
    let profiles = args.io.load()?;
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
