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

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow, bail};
use cpbench_core::Profiles;
use cpbench_core::io::{Format, write_table};
use cpbench_metrics::enrichment::{Enrichment, EnrichmentOptions, Labels, folds_of_enrichment};
use cpbench_metrics::{MetricError, Similarity};
use polars::prelude::*;
use serde_json::{Value, json};

use super::common::{ProfileArgs, label_column, matrix, multilabel_column, write_json};
use crate::Outcome;

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

/// Runs `cpbench eval enrichment`.
pub fn run(args: Args) -> Result<Outcome> {
    let profiles = args.input.load()?;
    let report = compute(&args, profiles)?;
    write_json(&args.out, &report)?;
    Ok(Outcome::Ok)
}

/// Computes the `--out` report of `cpbench eval enrichment` on already loaded profiles.
pub fn compute(args: &Args, profiles: Profiles) -> Result<Value> {
    if let Some(p) = &args.out_queries {
        Format::of(p)?;
    }
    let similarity: Similarity = args.similarity.parse()?;
    if !(0.0..=100.0).contains(&args.percentile) {
        bail!("--percentile {} must be within [0, 100]", args.percentile);
    }
    if args.sep.as_deref() == Some("") {
        bail!("--sep must not be empty");
    }
    let file = args.input.profiles.display().to_string();
    require_columns(&profiles, std::slice::from_ref(&args.labels), &file)?;
    let n = profiles.n_rows();
    let single;
    let multi;
    let labels = match &args.sep {
        Some(sep) => {
            multi = multilabel_column(&profiles, &args.labels, sep)?;
            Labels::Multi(&multi)
        }
        None => {
            single = label_column(&profiles, &args.labels)?;
            Labels::Single(&single)
        }
    };
    let options = EnrichmentOptions {
        percentile: args.percentile,
        similarity,
        block_rows: 0,
        threads: args.threads,
    };
    let x = matrix(&profiles)?;
    let result = folds_of_enrichment(x, labels, &options)
        .map_err(|e| explain(e, &file, !args.input.filters.is_empty(), &args.labels))?;

    let mut queries = match &args.out_queries {
        Some(_) => Some(query_frame(&profiles, &result)?),
        None => None,
    };
    let summary = json!({
        "metric": "folds_of_enrichment",
        "convention": "DeepProfilerExperiments: per query, threshold at the percentile (numpy \
            linear) of its similarities to all other profiles; 2x2 table above/at-or-below x \
            match/non-match; one-sided Fisher exact test; infinite odds ratio replaced by v22; \
            mean over profiles that match at least one other",
        "profiles": file,
        "filters": args.input.filters,
        "n_profiles": n,
        "n_features": profiles.n_features(),
        "labels": args.labels,
        "sep": args.sep,
        "similarity": similarity.name(),
        "percentile": args.percentile,
        "n_queries": result.queries.len(),
        "folds_of_enrichment": result.folds_of_enrichment,
        "haldane_folds_of_enrichment": result.haldane_folds_of_enrichment,
        "mean_p_value": result.mean_p_value,
        "n_infinite_odds_ratios": result.n_infinite_odds,
        "n_undefined_odds_ratios": result.n_undefined_odds,
        "interpolated_map": result.interpolated_map,
        "n_interpolated_map_queries": result.n_interpolated_queries,
        "interpolated_map_convention": "DeepProfilerExperiments interpolated_precision_recall_curve \
            averaged over the recall grid linspace(0, 1, n_profiles); not copairs' mAP",
    });
    if let (Some(path), Some(df)) = (&args.out_queries, queries.as_mut()) {
        write_table(df, path)?;
    }
    crate::say!(
        "folds of enrichment (top {}%, {}): {} over {} queries (Haldane-corrected {}); \
         interpolated MAP {} over {} queries",
        100.0 - args.percentile,
        similarity,
        result.folds_of_enrichment,
        result.queries.len(),
        result.haldane_folds_of_enrichment,
        result.interpolated_map,
        result.n_interpolated_queries
    );
    Ok(summary)
}

/// The query rows' metadata with their tables and statistics.
fn query_frame(profiles: &Profiles, r: &Enrichment) -> Result<DataFrame> {
    let rows: Vec<IdxSize> = r.queries.iter().map(|q| q.row as IdxSize).collect();
    let meta = profiles
        .meta()
        .take(&IdxCa::from_vec(PlSmallStr::EMPTY, rows))?;
    let q = &r.queries;
    let u = |f: &dyn Fn(&cpbench_metrics::enrichment::QueryEnrichment) -> u64| -> Vec<u64> {
        q.iter().map(f).collect()
    };
    let f = |f: &dyn Fn(&cpbench_metrics::enrichment::QueryEnrichment) -> f64| -> Vec<f64> {
        q.iter().map(f).collect()
    };
    let columns = [
        Column::new("row".into(), u(&|q| q.row as u64)),
        Column::new("n_matches".into(), u(&|q| q.n_matches)),
        Column::new("threshold".into(), f(&|q| q.threshold)),
        Column::new("v11".into(), u(&|q| q.table[0][0])),
        Column::new("v12".into(), u(&|q| q.table[0][1])),
        Column::new("v21".into(), u(&|q| q.table[1][0])),
        Column::new("v22".into(), u(&|q| q.table[1][1])),
        Column::new("odds_ratio".into(), f(&|q| q.odds_ratio)),
        Column::new("folds".into(), f(&|q| q.folds)),
        Column::new("haldane_odds_ratio".into(), f(&|q| q.haldane_odds_ratio)),
        Column::new("p_value".into(), f(&|q| q.p_value)),
        Column::new(
            "interpolated_ap".into(),
            q.iter().map(|q| q.interpolated_ap).collect::<Vec<_>>(),
        ),
    ];
    Ok(meta.hstack(&columns)?)
}

/// Turns a metric error into a message naming the file, the row and the flag at fault.
pub(super) fn explain(
    e: MetricError,
    file: &str,
    filtered: bool,
    labels_flag: &str,
) -> anyhow::Error {
    let note = row_note(filtered);
    match e {
        MetricError::ZeroNorm { row, similarity } => anyhow!(
            "{file}: row {row}{note} {}: {similarity} similarity is undefined. Remove the row \
             (--filter) or choose another --similarity",
            if similarity == Similarity::Pearson {
                "is constant (zero norm after centering)"
            } else {
                "has zero norm"
            }
        ),
        MetricError::NonFinite { row, col } => {
            anyhow!("{file}: feature {col} of row {row}{note} is NaN or infinite")
        }
        MetricError::InvalidParameter {
            name: "labels",
            reason,
            ..
        } => anyhow!("{file}: --labels {labels_flag}: {reason}"),
        other => anyhow!("{file}: {other}"),
    }
}

/// How row numbers in messages count.
pub(super) fn row_note(filtered: bool) -> &'static str {
    if filtered {
        " (0-based, counting the rows kept by --filter)"
    } else {
        " (0-based data row)"
    }
}

/// Fails, naming the file and the columns it has, unless every one of `columns` is metadata.
pub(super) fn require_columns(profiles: &Profiles, columns: &[String], file: &str) -> Result<()> {
    if let Some(c) = columns.iter().find(|c| profiles.meta().column(c).is_err()) {
        return Err(cpbench_core::Error::MissingColumn {
            source_name: file.to_owned(),
            column: c.clone(),
            available: profiles.meta_names(),
        }
        .into());
    }
    Ok(())
}

/// Fails unless `path` names a format `write_table` can write.
pub(super) fn check_table_path(path: &Path) -> Result<()> {
    Format::of(path)?;
    Ok(())
}
