//! `cpbench eval knn`: leave-one-out k-nearest-neighbour accuracy with exclusion rules
//! (definition: `cpbench_metrics::knn`).
//!
//! `--exclude-same C[,C]` drops a candidate neighbour that shares its value with the query in
//! *any* listed column (a missing value shares with a missing value). BBBC021's NSC is
//! `--exclude-same Metadata_Compound`; NSCB, which also keeps neighbours out of the query's
//! batch, is `--exclude-same Metadata_Compound,Metadata_Batch`.
//!
//! Output (JSON, atomic): top-level `accuracy` and `n` (scored queries), `n_unscored` (queries
//! left without candidates), the settings, `per_class` accuracy and the `confusion` matrix
//! (rows = true label, columns = predicted label, both in `classes` order).

use std::path::PathBuf;

use anyhow::Result;
use cpbench_runner::Origin;
use cpbench_runner::eval::knn::{self, Params};

use super::common::{ProfileArgs, similarity, split_list, write_json};
use crate::Outcome;
use crate::progress::Console;

/// Arguments of `cpbench eval knn`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: ProfileArgs,
    /// The label column to predict (e.g. Metadata_moa); every row needs a value.
    #[arg(long, value_name = "C")]
    pub labels: String,
    /// Neighbours that vote.
    #[arg(long, default_value_t = 1)]
    pub k: usize,
    /// Columns (comma-separated): a neighbour sharing its value with the query in any of them
    /// is not a candidate (NSC: the compound; NSCB: compound and batch).
    #[arg(long = "exclude-same", value_name = "C[,C]")]
    pub exclude_same: Option<String>,
    /// cosine, pearson (correlation), abs-cosine or euclidean.
    #[arg(long, default_value = "cosine")]
    pub similarity: String,
    /// A tied vote goes to: summed-similarity (the label whose voters are more similar in
    /// sum) or sklearn (the lowest label, as scikit-learn's KNeighborsClassifier).
    #[arg(
        long = "vote-ties",
        default_value = "summed-similarity",
        value_name = "RULE"
    )]
    pub vote_ties: String,
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
            labels: self.labels.clone(),
            k: self.k,
            exclude_same: self
                .exclude_same
                .as_deref()
                .map(split_list)
                .unwrap_or_default(),
            similarity: similarity(&self.similarity)?,
            vote_tie: self.vote_ties.parse()?,
            threads: self.threads,
            origin: Origin::Flags,
        };
        params.check()?;
        Ok(params)
    }
}

/// Runs `cpbench eval knn`.
pub fn run(args: Args) -> Result<Outcome> {
    let params = args.params()?;
    let table = args.input.spec();
    let profiles = table.load()?;
    let report = knn::evaluate(&profiles, &params, &table.source(), &Console)?;
    write_json(&args.out, &report)?;
    Ok(Outcome::Ok)
}
