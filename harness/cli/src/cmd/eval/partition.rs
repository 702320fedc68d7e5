//! `cpbench eval partition`: scores a predicted labeling (e.g. a clustering) against a true one,
//! both columns of the same table (definitions: `cpbench_metrics::partition`). Any column can
//! serve, metadata or not (e.g. the `restart_<r>` columns of `eval kmeans --out-assignments`);
//! the table needs no feature columns.
//!
//! Output (JSON, atomic): top-level `nmi`, `ari`, `purity`, `inverse_purity`, `homogeneity`,
//! `completeness`, `v_measure` and `n`. Rows missing either value are refused (the error names
//! the first); `--drop-missing` drops them and the JSON counts them (`n_dropped_missing`).

use std::path::PathBuf;

use anyhow::{Result, ensure};
use cpbench_core::Profiles;
use cpbench_core::filter::apply_filters;
use cpbench_core::io::{guess_level, read_table};
use cpbench_metrics::partition::PartitionScores;
use serde_json::json;

use super::common::{label_column, write_json};
use super::enrichment::require_columns;
use super::kmeans::keep_labelled;
use crate::Outcome;

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
    let file = args.profiles.display().to_string();
    let filtered = !args.filters.is_empty();
    // Every column is "metadata" here: the scores read labels only.
    let table = read_table(&args.profiles)?;
    let level = guess_level(&table);
    let mut profiles = Profiles::new(table, Vec::new(), Vec::new(), level)?;
    if filtered {
        profiles = apply_filters(&profiles, &args.filters)?;
        ensure!(
            profiles.n_rows() > 0,
            "{file}: no row passes the filters {:?}",
            args.filters
        );
    }
    require_columns(&profiles, &[args.truth.clone(), args.pred.clone()], &file)?;
    let truth = label_column(&profiles, &args.truth)?;
    let pred = label_column(&profiles, &args.pred)?;
    let (_, n_dropped) = keep_labelled(
        profiles,
        &[&truth, &pred],
        args.drop_missing,
        &file,
        filtered,
    )?;
    let (t, p): (Vec<u32>, Vec<u32>) = truth
        .codes
        .iter()
        .zip(&pred.codes)
        .filter_map(|(t, p)| Some(((*t)?, (*p)?)))
        .unzip();
    let s = PartitionScores::new(&t, &p)?;
    let distinct = |v: &[u32]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    let out = json!({
        "metric": "partition",
        "profiles": file,
        "filters": args.filters,
        "true": args.truth,
        "pred": args.pred,
        "n": s.n,
        "n_dropped_missing": n_dropped,
        "n_true_labels": distinct(&t),
        "n_pred_labels": distinct(&p),
        "convention": "scikit-learn 1.9: normalized_mutual_info_score (arithmetic, natural log), \
            adjusted_rand_score, homogeneity_completeness_v_measure (beta = 1); purity = share of \
            rows in their pred group's majority true label, inverse_purity with the roles swapped",
        "nmi": s.nmi,
        "ari": s.ari,
        "purity": s.purity,
        "inverse_purity": s.inverse_purity,
        "homogeneity": s.homogeneity,
        "completeness": s.completeness,
        "v_measure": s.v_measure,
    });
    println!(
        "{} vs {} (n = {}): NMI {:.4}, ARI {:.4}, purity {:.4}",
        args.pred, args.truth, s.n, s.nmi, s.ari, s.purity
    );
    write_json(&args.out, &out)?;
    Ok(Outcome::Ok)
}
