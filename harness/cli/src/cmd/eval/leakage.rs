//! `cpbench eval batch-leakage`: how well batch (or plate) is predictable from the control
//! profiles, under stratified group K-fold (definition and choices: `cpbench_metrics::leakage`).
//!
//! Rows are those passing `--controls` (and any `--filter`). Folds keep each `--groups` value
//! (plate) on one side of every split. With `--label C`, the design-confounding check also
//! runs: `C` predicted from the one-hot `--target` alone, on the non-control rows that have a
//! `C` value (the perturbations), with folds drawn the same way.
//!
//! Output (JSON, atomic): `balanced_accuracy` (mean per classifier), `chance`, per classifier
//! the per-fold values, mean and sd, the fold sizes and settings; `label_from_target` when
//! `--label` is given.

use std::path::PathBuf;

use anyhow::Result;
use cpbench_runner::Origin;
use cpbench_runner::eval::leakage::{self, Params};

use super::common::{ProfileArgs, write_json};
use crate::Outcome;
use crate::progress::Console;

/// Arguments of `cpbench eval batch-leakage`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The profile table and the rows and features read from it.
    #[command(flatten)]
    pub input: ProfileArgs,
    /// The control rows, as COL=VALUE (also COL!=VALUE, 'COL in [A, B]').
    #[arg(long, value_name = "COL=VALUE")]
    pub controls: String,
    /// The column to predict (batch or plate).
    #[arg(long, value_name = "C")]
    pub target: String,
    /// The grouping column (plate): a group is never split across folds.
    #[arg(long, value_name = "C")]
    pub groups: String,
    /// Number of folds.
    #[arg(long, default_value_t = 10)]
    pub folds: usize,
    /// Seed of the fold assignment.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Inverse L2 strength of the logistic classifier.
    #[arg(long = "c", default_value_t = 1.0)]
    pub c: f64,
    /// Neighbours voting in the kNN classifier (cosine).
    #[arg(long = "knn-k", default_value_t = 5)]
    pub knn_k: usize,
    /// A tied kNN vote goes to: summed-similarity or sklearn (the lowest label, as
    /// scikit-learn's KNeighborsClassifier).
    #[arg(
        long = "knn-vote-ties",
        default_value = "summed-similarity",
        value_name = "RULE"
    )]
    pub knn_vote_ties: String,
    /// Also predict this label from the one-hot target alone (design confounding).
    #[arg(long, value_name = "C")]
    pub label: Option<String>,
    /// Result (JSON).
    #[arg(long, value_name = "R.json")]
    pub out: PathBuf,
}

impl Args {
    /// The parameters the flags give.
    pub fn params(&self) -> Result<Params> {
        Ok(Params {
            controls: self.controls.clone(),
            target: self.target.clone(),
            groups: self.groups.clone(),
            folds: self.folds,
            seed: self.seed,
            c: self.c,
            knn_k: self.knn_k,
            knn_vote_tie: self.knn_vote_ties.parse()?,
            label: self.label.clone(),
            origin: Origin::Flags,
        })
    }
}

/// Runs `cpbench eval batch-leakage`.
pub fn run(args: Args) -> Result<Outcome> {
    let params = args.params()?;
    params.check()?;
    let table = args.input.spec();
    let all = table.load()?;
    let report = leakage::evaluate(&all, &params, &table.source(), &Console)?;
    write_json(&args.out, &report)?;
    Ok(Outcome::Ok)
}
