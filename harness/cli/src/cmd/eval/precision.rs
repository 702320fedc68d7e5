//! `cpbench eval precision-at-k`: precision@k and recall@k per replicate group, cytominer-eval's
//! `precision_recall` (definition: `cpbench_metrics::ranking`).
//!
//! Output (CSV or Parquet by extension, atomic): the group columns, `n_profiles`, `k`,
//! `precision`, `recall` (NaN for a one-row group), ordered by `k` as given, then group.

use std::path::PathBuf;

use anyhow::Result;
use cpbench_core::io::write_table;
use cpbench_runner::Origin;
use cpbench_runner::eval::precision::{self, Params};
use cpbench_runner::table::check_table_path;

use super::common::{ProfileArgs, similarity, split_list};
use crate::Outcome;

/// Arguments of `cpbench eval precision-at-k`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: ProfileArgs,
    /// Group columns (comma-separated): rows equal on all of them are replicates; a missing
    /// value counts as a value of its own.
    #[arg(long, value_name = "C[,C]")]
    pub group: String,
    /// Numbers of top pairs to consider, comma-separated.
    #[arg(long, value_name = "K[,K]", value_delimiter = ',', required = true)]
    pub k: Vec<usize>,
    /// cosine, pearson (correlation), abs-cosine or euclidean.
    #[arg(long, default_value = "pearson")]
    pub similarity: String,
    /// precision and recall per group and k (.csv, .tsv, .parquet).
    #[arg(long, value_name = "R.csv")]
    pub out: PathBuf,
}

impl Args {
    /// The parameters the flags give.
    pub fn params(&self) -> Result<Params> {
        let params = Params {
            group: split_list(&self.group),
            k: self.k.clone(),
            similarity: similarity(&self.similarity)?,
            origin: Origin::Flags,
        };
        params.check()?;
        Ok(params)
    }
}

/// Runs `cpbench eval precision-at-k`.
pub fn run(args: Args) -> Result<Outcome> {
    check_table_path(&args.out)?;
    let params = args.params()?;
    let table = args.input.spec();
    let profiles = table.load()?;
    let out = precision::evaluate(&profiles, &params, &table.source())?;
    write_table(&mut precision::table(&out)?, &args.out)?;
    // cytominer-eval's own summary: how many groups reach precision / recall exactly 1.
    for &k in &params.k {
        let at = out.summary(k);
        println!(
            "k = {k}: {} of {} groups with precision 1, {} with recall 1",
            at.n_precision_1,
            out.groups.n_groups(),
            at.n_recall_1
        );
    }
    Ok(Outcome::Ok)
}
