//! Scores a predicted labeling (e.g. a clustering) against a true one, both columns of the same
//! table (definitions: `cpbench_metrics::partition`). Any column can serve, metadata or not
//! (e.g. the `restart_<r>` columns of `eval kmeans --out-assignments`); the table needs no
//! feature columns.
//!
//! Report: `nmi`, `ari`, `purity`, `inverse_purity`, `homogeneity`, `completeness`,
//! `v_measure` and `n`. Rows missing either value are refused (the error names the first);
//! `drop_missing` drops them and the report counts them (`n_dropped_missing`). A true column
//! with fewer than two labels, or a label per row, is refused: the scores would say nothing
//! about the prediction (one class makes every predicted group pure).

use std::path::Path;

use cpbench_core::Profiles;
use cpbench_core::filter::apply_filters;
use cpbench_core::io::{guess_level, read_table};
use cpbench_metrics::partition::PartitionScores;
use serde::Serialize;

use super::kmeans::keep_labelled;
use crate::error::Result;
use crate::params::Origin;
use crate::reporter::Reporter;
use crate::table::{Source, label_column, require_columns};
use crate::{bail, ensure};

/// Parameters of partition scoring.
#[derive(Debug, Clone)]
pub struct Params {
    /// Column with the true labels.
    pub truth: String,
    /// Column with the predicted labels.
    pub pred: String,
    /// Drop rows missing either value instead of refusing them.
    pub drop_missing: bool,
    /// Where the values were written, for messages.
    pub origin: Origin,
}

/// The partition report (`cpbench eval partition --out`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Always `partition`.
    pub metric: &'static str,
    /// The scored table.
    pub profiles: String,
    /// The row filters applied before scoring.
    pub filters: Vec<String>,
    /// The true column.
    #[serde(rename = "true")]
    pub truth: String,
    /// The predicted column.
    pub pred: String,
    /// Rows scored.
    pub n: usize,
    /// Rows dropped for a missing value.
    pub n_dropped_missing: usize,
    /// Distinct true labels.
    pub n_true_labels: usize,
    /// Distinct predicted labels.
    pub n_pred_labels: usize,
    /// The definitions.
    pub convention: &'static str,
    /// Normalized mutual information.
    pub nmi: f64,
    /// Adjusted Rand index.
    pub ari: f64,
    /// Purity.
    pub purity: f64,
    /// Inverse purity.
    pub inverse_purity: f64,
    /// Homogeneity.
    pub homogeneity: f64,
    /// Completeness.
    pub completeness: f64,
    /// V-measure.
    pub v_measure: f64,
}

/// Reads a table whose every column is "metadata" (the scores read labels only), filtered.
pub fn load(path: &Path, filters: &[String]) -> Result<Profiles> {
    let file = path.display().to_string();
    let table = read_table(path)?;
    let level = guess_level(&table);
    let mut profiles = Profiles::new(table, Vec::new(), Vec::new(), level)?;
    if !filters.is_empty() {
        profiles = apply_filters(&profiles, filters)?;
        ensure!(
            profiles.n_rows() > 0,
            "{file}: no row passes the filters {:?}",
            filters
        );
    }
    Ok(profiles)
}

const CONVENTION: &str = "scikit-learn 1.9: normalized_mutual_info_score (arithmetic, natural log), \
            adjusted_rand_score, homogeneity_completeness_v_measure (beta = 1); purity = share of \
            rows in their pred group's majority true label, inverse_purity with the roles swapped";

/// Scores `params.pred` against `params.truth`.
pub fn evaluate(
    profiles: Profiles,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
) -> Result<Report> {
    let file = &source.name;
    require_columns(
        &profiles,
        &[params.truth.clone(), params.pred.clone()],
        file,
    )?;
    let truth = label_column(&profiles, &params.truth)?;
    let pred = label_column(&profiles, &params.pred)?;
    let (_, n_dropped) = keep_labelled(
        profiles,
        &[&truth, &pred],
        params.drop_missing,
        source,
        &params.origin.key("drop_missing"),
        reporter,
    )?;
    let (t, p): (Vec<u32>, Vec<u32>) = truth
        .codes
        .iter()
        .zip(&pred.codes)
        .filter_map(|(t, p)| Some(((*t)?, (*p)?)))
        .unzip();
    let distinct = |v: &[u32]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v.dedup();
        v.len()
    };
    // True labels that fix the scores whatever the prediction are refused: with one class
    // every predicted group is pure (purity, homogeneity 1; NMI and ARI 1 against one
    // cluster, scikit-learn's convention), and with a class per row no pair is there to recover.
    let (n, n_true) = (t.len(), distinct(&t));
    if n_true < 2 || n_true == n {
        bail!(
            "{file}: {} {}: {} among the {n} rows scored, so the scores would say nothing \
             about {}; they need at least 2 true labels and fewer labels than rows",
            params.origin.key("true"),
            params.truth,
            if n_true < 2 {
                format!("{n_true} distinct label(s)")
            } else {
                "a distinct label on every row".to_owned()
            },
            params.pred
        );
    }
    let s = PartitionScores::new(&t, &p)?;
    reporter.summary(&format!(
        "{} vs {} (n = {}): NMI {:.4}, ARI {:.4}, purity {:.4}",
        params.pred, params.truth, s.n, s.nmi, s.ari, s.purity
    ));
    Ok(Report {
        metric: "partition",
        profiles: file.clone(),
        filters: source.filters.clone(),
        truth: params.truth.clone(),
        pred: params.pred.clone(),
        n: s.n,
        n_dropped_missing: n_dropped,
        n_true_labels: distinct(&t),
        n_pred_labels: distinct(&p),
        convention: CONVENTION,
        nmi: s.nmi,
        ari: s.ari,
        purity: s.purity,
        inverse_purity: s.inverse_purity,
        homogeneity: s.homogeneity,
        completeness: s.completeness,
        v_measure: s.v_measure,
    })
}
