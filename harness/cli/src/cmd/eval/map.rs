//! `cpbench eval map`: average precision per profile and mAP per group with p-values, with
//! copairs 0.5.5's pair rules (`tests/fixtures/copairs/SEMANTICS.md`).
//!
//! Outputs (CSV or Parquet by extension, each written atomically, and only after everything
//! was computed):
//! - `--out-ap`: the input metadata columns + `average_precision, n_pos_pairs, n_total_pairs`,
//!   one row per profile in input order (multilabel: one row per profile and label with a
//!   positive, the multilabel column holding that label);
//! - `--out-map`: the grouping columns + `n_members, mean_average_precision, p_value,
//!   corrected_p_value, below_p, below_corrected_p, p_value_method`, groups in sorted key order.
//!
//! Missing labels in a rule column are an error naming the column and the first row, as
//! copairs refuses them; `--drop-missing` drops those rows instead and says how many.

use std::path::PathBuf;

use anyhow::Result;
use cpbench_core::io::{Format, write_tables};
use cpbench_runner::Origin;
use cpbench_runner::eval::map::{self, Params};

use super::common::{ProfileArgs, similarity, split_list};
use crate::Outcome;
use crate::progress::Console;

/// Arguments of `cpbench eval map`.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub input: ProfileArgs,
    /// Positive pairs are equal on every one of these columns (comma-separated).
    #[arg(long = "pos-sameby", value_name = "C[,C]", default_value = "")]
    pub pos_sameby: String,
    /// Positive pairs differ on every one of these columns.
    #[arg(long = "pos-diffby", value_name = "C[,C]", default_value = "")]
    pub pos_diffby: String,
    /// Negative pairs are equal on every one of these columns.
    #[arg(long = "neg-sameby", value_name = "C[,C]", default_value = "")]
    pub neg_sameby: String,
    /// Negative pairs differ on every one of these columns.
    #[arg(long = "neg-diffby", value_name = "C[,C]", default_value = "")]
    pub neg_diffby: String,
    /// Score against the rows matching this filter only (COL=VALUE, 'COL in [A, B]'), as
    /// copairs' assign_reference_index: a reference column joins pos-sameby and neg-diffby.
    #[arg(long, value_name = "COL=VALUE")]
    pub reference: Option<String>,
    /// This rule column holds several labels per row, separated by --sep.
    #[arg(long, value_name = "COL")]
    pub multilabel: Option<String>,
    /// Label separator of the --multilabel column.
    #[arg(long, default_value = "|", requires = "multilabel")]
    pub sep: String,
    /// cosine, pearson (correlation), abs-cosine or euclidean.
    #[arg(long, default_value = "cosine")]
    pub similarity: String,
    /// Group mAP by these columns (default: pos-sameby, without the reference column).
    #[arg(long = "map-by", value_name = "C[,C]")]
    pub map_by: Option<String>,
    /// Null draws per (n_pos, n_total) configuration.
    #[arg(long = "null-size", default_value_t = 10_000)]
    pub null_size: usize,
    /// Seed of the null distributions.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Significance level of below_p and below_corrected_p.
    #[arg(long, default_value_t = 0.05)]
    pub threshold: f64,
    /// Reproduce copairs' Monte-Carlo null stream bit for bit (fresh cache) instead of
    /// cpbench's order-independent null with exact enumeration.
    #[arg(long = "copairs-null")]
    pub copairs_null: bool,
    /// Drop rows with a missing value in a rule column (default: refuse them, as copairs does).
    #[arg(long = "drop-missing")]
    pub drop_missing: bool,
    /// Worker threads (0: all cores). Results do not depend on it.
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// Average precision per profile (.csv, .tsv, .parquet).
    #[arg(long = "out-ap", value_name = "AP.csv")]
    pub out_ap: PathBuf,
    /// mAP, p-value and q-value per group (.csv, .tsv, .parquet).
    #[arg(long = "out-map", value_name = "MAP.csv")]
    pub out_map: PathBuf,
}

impl Args {
    /// The parameters the flags give.
    pub fn params(&self) -> Result<Params> {
        let params = Params {
            pos_sameby: split_list(&self.pos_sameby),
            pos_diffby: split_list(&self.pos_diffby),
            neg_sameby: split_list(&self.neg_sameby),
            neg_diffby: split_list(&self.neg_diffby),
            reference: self.reference.clone(),
            multilabel: self.multilabel.clone(),
            sep: self.sep.clone(),
            similarity: similarity(&self.similarity)?,
            map_by: self.map_by.as_deref().map(split_list),
            null_size: self.null_size,
            seed: self.seed,
            threshold: self.threshold,
            copairs_null: self.copairs_null,
            drop_missing: self.drop_missing,
            threads: self.threads,
            origin: Origin::Flags,
        };
        params.check()?;
        Ok(params)
    }
}

/// Runs `cpbench eval map`.
pub fn run(args: Args) -> Result<Outcome> {
    // Fail on an unusable output path before any work.
    for p in [&args.out_ap, &args.out_map] {
        Format::of(p)?;
    }
    let params = args.params()?;
    let table = args.input.spec();
    let profiles = table.load()?;
    let mut out = map::evaluate(profiles, &params, &table.source(), &Console)?;
    // Both tables move into place together: never a new AP table beside an old mAP table.
    write_tables(&mut [(&mut out.ap, &args.out_ap), (&mut out.map, &args.out_map)])?;
    Ok(Outcome::Ok)
}
