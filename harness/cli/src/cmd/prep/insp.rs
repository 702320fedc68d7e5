//! `cpbench prep insp`: iterative null-space projection of the `--batch` label (JUMP analysis),
//! fitted on `--fit-on` rows, one fit per `--by` group, applied to every row. `--report` writes
//! the cross-validated balanced accuracy before each projection and after the last, and the
//! number of directions each projection removed.

use std::path::PathBuf;

use anyhow::{Result, anyhow};
use cpbench_core::io::FeatureFloat;
use cpbench_prep::InspParams;
use cpbench_runner::prep::insp::{InspSpec, Report, insp_profiles, logistic_for};

use super::common::{FitArgs, IoArgs, PrecisionArgs, Width};
use crate::Outcome;
use crate::cmd::eval::common::{split_list, write_json};

/// Arguments of `cpbench prep insp`.
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
    /// Batch column: the label whose linear predictability is projected away.
    #[arg(long, value_name = "C")]
    pub batch: String,
    /// Stop once the cross-validated balanced accuracy of predicting the batch is below this.
    #[arg(long, default_value_t = 0.3)]
    pub threshold: f64,
    /// Most projections.
    #[arg(long = "max-iter", default_value_t = 10)]
    pub max_iter: usize,
    /// Cross-validation folds (stratified by batch).
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Seed of the fold assignment.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Weight batches inversely to their size when fitting the classifier.
    #[arg(long)]
    pub balance: bool,
    /// Keep rows sharing these columns' values in one fold (e.g. Metadata_Plate); rows fold freely without it.
    #[arg(long = "fold-groups", value_name = "C[,C]")]
    pub fold_groups: Option<String>,
    /// Classifier L2 penalty λ (inverse of scikit-learn's C); default 1.
    #[arg(long)]
    pub lambda: Option<f64>,
    /// Fit one projection per group of these columns (comma-separated).
    #[arg(long, value_name = "C[,C]")]
    pub by: Option<String>,
    /// Write the accuracy per iteration and the directions removed as JSON here.
    #[arg(long, value_name = "R.json")]
    pub report: Option<PathBuf>,
}

/// Runs `cpbench prep insp`.
pub fn run(args: Args) -> Result<Outcome> {
    match args.precision.width(&args.io) {
        Width::F32 => run_as::<f32>(args),
        Width::F64 => run_as::<f64>(args),
    }
}

fn run_as<T: FeatureFloat>(args: Args) -> Result<Outcome> {
    let params = InspParams {
        threshold: args.threshold,
        max_iter: args.max_iter,
        folds: args.folds,
        seed: args.seed,
        balance: args.balance,
        logistic: logistic_for(args.lambda)?,
    };
    let spec = InspSpec::new(
        args.batch.clone(),
        args.fold_groups
            .as_deref()
            .map(split_list)
            .unwrap_or_default(),
        params,
    )?;
    if let Some(r) = &args.report
        && r.extension().and_then(|e| e.to_str()) != Some("json")
    {
        return Err(anyhow!("--report {}: expected a .json path", r.display()));
    }
    let by = args.by.as_deref().map(split_list).unwrap_or_default();
    let mut profiles = args.io.load_as::<T>()?;
    let file = args.io.file();
    let groups = insp_profiles(&mut profiles, &spec, &args.fit.rows(), &by, &file)?;
    args.io.write(&profiles)?;
    if let Some(path) = &args.report {
        let report = Report {
            batch: &spec.batch,
            threshold: spec.params.threshold,
            max_iter: spec.params.max_iter,
            folds: spec.params.folds,
            seed: spec.params.seed,
            balance: spec.params.balance,
            groups,
        };
        write_json(path, &report)?;
    }
    Ok(Outcome::Ok)
}
