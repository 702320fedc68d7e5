//! `cpbench eval partition`: scores a predicted labeling (e.g. a clustering) against a true one,
//! both columns of the same table (definitions: `cpbench_metrics::partition`). Any column can
//! serve, metadata or not (e.g. the `restart_<r>` columns of `eval kmeans --out-assignments`);
//! the table needs no feature columns.
//!
//! Output (JSON, atomic): top-level `nmi`, `ari`, `purity`, `inverse_purity`, `homogeneity`,
//! `completeness`, `v_measure` and `n`. Rows missing either value are refused (the error names
//! the first); `--drop-missing` drops them and the JSON counts them (`n_dropped_missing`).

use std::path::PathBuf;

use anyhow::Result;
use cpbench_runner::Origin;
use cpbench_runner::eval::partition::{self, Params};
use cpbench_runner::table::Source;

use super::common::write_json;
use crate::Outcome;
use crate::progress::Console;

/// Arguments of `cpbench eval partition`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Table with both columns (.csv, .csv.gz, .tsv, .parquet).
    #[arg(long)]
    pub profiles: PathBuf,
    /// Score only rows passing this filter (COL=VALUE, COL!=VALUE, 'COL in [A, B]'); repeatable.
    #[arg(long = "filter", value_name = "EXPR")]
    pub filters: Vec<String>,
    /// Column with the true labels (e.g. Metadata_moa).
    #[arg(long = "true", value_name = "C")]
    pub truth: String,
    /// Column with the predicted labels (e.g. a cluster column).
    #[arg(long, value_name = "C")]
    pub pred: String,
    /// Drop rows missing either value instead of refusing them.
    #[arg(long = "drop-missing")]
    pub drop_missing: bool,
    /// Result (JSON).
    #[arg(long, value_name = "R.json")]
    pub out: PathBuf,
}

/// Runs `cpbench eval partition`.
pub fn run(args: Args) -> Result<Outcome> {
    let params = Params {
        truth: args.truth.clone(),
        pred: args.pred.clone(),
        drop_missing: args.drop_missing,
        origin: Origin::Flags,
    };
    let profiles = partition::load(&args.profiles, &args.filters)?;
    let source = Source {
        name: args.profiles.display().to_string(),
        filters: args.filters.clone(),
    };
    let report = partition::evaluate(profiles, &params, &source, &Console)?;
    write_json(&args.out, &report)?;
    Ok(Outcome::Ok)
}
