//! `cpbench eval enrichment`: folds of enrichment and the interpolated-precision "MAP" of
//! DeepProfilerExperiments (definitions: `cpbench_metrics::enrichment` and
//! `cpbench_metrics::ranking`).
//!
//! Outputs, written only after everything was computed:
//! - `--out` (JSON): the summary — folds of enrichment, its Haldane-corrected variant, the mean
//!   p-value, counts of infinite / undefined odds ratios, the interpolated MAP;
//! - `--out-queries` (optional, CSV or Parquet by extension): one row per query with its
//!   metadata, `row` (0-based), the table `v11 v12 v21 v22`, `threshold`, `odds_ratio` (scipy's,
//!   `inf` kept), `folds` (`inf` replaced by `v22`), `haldane_odds_ratio`, `p_value`,
//!   `interpolated_ap` (empty below two matches).

use std::path::PathBuf;

use anyhow::Result;
use cpbench_core::io::{Format, write_table};
use cpbench_runner::Origin;
use cpbench_runner::eval::enrichment::{self, Params, query_frame};

use super::common::{ProfileArgs, similarity, write_json};
use crate::Outcome;
use crate::progress::Console;

/// Arguments of `cpbench eval enrichment`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: ProfileArgs,
    /// Metadata column whose labels define matches (rows sharing a label).
    #[arg(long, value_name = "COL")]
    pub labels: String,
    /// Split --labels on this separator: rows match when they share at least one label.
    #[arg(long, value_name = "SEP")]
    pub sep: Option<String>,
    /// Percentile (0-100) of each query's similarities to the others that marks its top hits.
    #[arg(long, default_value_t = 99.0)]
    pub percentile: f64,
    /// cosine, pearson (correlation), abs-cosine or euclidean.
    #[arg(long, default_value = "cosine")]
    pub similarity: String,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Summary (JSON).
    #[arg(long, value_name = "R.json")]
    pub out: PathBuf,
    /// Per-query tables and statistics (.csv, .tsv, .parquet).
    #[arg(long = "out-queries", value_name = "Q.csv")]
    pub out_queries: Option<PathBuf>,
}

impl Args {
    /// The parameters the flags give.
    pub fn params(&self) -> Result<Params> {
        let params = Params {
            labels: self.labels.clone(),
            sep: self.sep.clone(),
            percentile: self.percentile,
            similarity: similarity(&self.similarity)?,
            threads: self.threads,
            origin: Origin::Flags,
        };
        params.check()?;
        Ok(params)
    }
}

/// Runs `cpbench eval enrichment`.
pub fn run(args: Args) -> Result<Outcome> {
    if let Some(p) = &args.out_queries {
        Format::of(p)?;
    }
    let params = args.params()?;
    let table = args.input.spec();
    let profiles = table.load()?;
    let out = enrichment::evaluate(&profiles, &params, &table.source(), &Console)?;
    if let Some(path) = &args.out_queries {
        write_table(&mut query_frame(&profiles, &out.enrichment)?, path)?;
    }
    write_json(&args.out, &out.report)?;
    Ok(Outcome::Ok)
}
