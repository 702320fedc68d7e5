//! Folds of enrichment and the interpolated-precision "MAP" of DeepProfilerExperiments
//! (definitions: `cpbench_metrics::enrichment` and `cpbench_metrics::ranking`).
//!
//! Report: folds of enrichment, its Haldane-corrected variant, the mean p-value, counts of
//! infinite / undefined odds ratios, the interpolated MAP; [`query_frame`] gives one row per
//! query with its metadata, `row` (0-based), the table `v11 v12 v21 v22`, `threshold`,
//! `odds_ratio` (scipy's, `inf` kept), `folds` (`inf` replaced by `v22`),
//! `haldane_odds_ratio`, `p_value`, `interpolated_ap` (empty below two matches).

use cpbench_core::Profiles;
use cpbench_metrics::Similarity;
use cpbench_metrics::enrichment::{
    Enrichment, EnrichmentOptions, Labels, QueryEnrichment, folds_of_enrichment,
};
use polars::prelude::*;
use serde::Serialize;

use super::explain;
use crate::bail;
use crate::error::Result;
use crate::params::Origin;
use crate::reporter::Reporter;
use crate::table::{Source, label_column, matrix, multilabel_column, require_columns};

/// Parameters of folds of enrichment.
#[derive(Debug, Clone)]
pub struct Params {
    /// Metadata column whose labels define matches (rows sharing a label).
    pub labels: String,
    /// Split the labels on this separator: rows match when they share at least one label.
    pub sep: Option<String>,
    /// Percentile (0-100) of each query's similarities to the others that marks its top hits.
    pub percentile: f64,
    /// Similarity between profiles.
    pub similarity: Similarity,
    /// Worker threads (0: all cores). Results do not depend on it.
    pub threads: usize,
    /// Where the values were written, for messages.
    pub origin: Origin,
}

impl Params {
    /// Checks every value before any work.
    pub fn check(&self) -> Result<()> {
        self.origin
            .check(cpbench_metrics::params::percentile(self.percentile))?;
        if self.sep.as_deref() == Some("") {
            bail!("{} must not be empty", self.origin.key("sep"));
        }
        Ok(())
    }
}

/// The enrichment report (`cpbench eval enrichment --out`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Always `folds_of_enrichment`.
    pub metric: &'static str,
    /// The definition.
    pub convention: &'static str,
    /// The scored table.
    pub profiles: String,
    /// The row filters applied before scoring.
    pub filters: Vec<String>,
    /// Rows scored.
    pub n_profiles: usize,
    /// Features per row.
    pub n_features: usize,
    /// The label column.
    pub labels: String,
    /// The label separator, for multilabel columns.
    pub sep: Option<String>,
    /// Similarity name.
    pub similarity: &'static str,
    /// Percentile of the threshold.
    pub percentile: f64,
    /// Queries scored.
    pub n_queries: usize,
    /// Mean folds over queries (NaN when none: written as null).
    pub folds_of_enrichment: f64,
    /// The same with Haldane's correction.
    pub haldane_folds_of_enrichment: f64,
    /// Mean one-sided Fisher p-value.
    pub mean_p_value: f64,
    /// Queries with an infinite odds ratio.
    pub n_infinite_odds_ratios: usize,
    /// Queries with an undefined odds ratio.
    pub n_undefined_odds_ratios: usize,
    /// DeepProfilerExperiments' interpolated MAP.
    pub interpolated_map: f64,
    /// Queries in the interpolated MAP.
    pub n_interpolated_map_queries: usize,
    /// What the interpolated MAP is.
    pub interpolated_map_convention: &'static str,
}

/// The report and the per-query results.
#[derive(Debug, Clone)]
pub struct Output {
    /// The report.
    pub report: Report,
    /// Every query's table and statistics.
    pub enrichment: Enrichment,
}

const CONVENTION: &str = "DeepProfilerExperiments: per query, threshold at the percentile (numpy \
            linear) of its similarities to all other profiles; 2x2 table above/at-or-below x \
            match/non-match; one-sided Fisher exact test; infinite odds ratio replaced by v22; \
            mean over profiles that match at least one other";

const MAP_CONVENTION: &str = "DeepProfilerExperiments interpolated_precision_recall_curve \
            averaged over the recall grid linspace(0, 1, n_profiles); not copairs' mAP";

/// Folds of enrichment of `params.labels` on `profiles`.
pub fn evaluate(
    profiles: &Profiles,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
) -> Result<Output> {
    params.check()?;
    let file = &source.name;
    require_columns(profiles, std::slice::from_ref(&params.labels), file)?;
    let n = profiles.n_rows();
    let single;
    let multi;
    let labels = match &params.sep {
        Some(sep) => {
            multi = multilabel_column(profiles, &params.labels, sep)?;
            Labels::Multi(&multi)
        }
        None => {
            single = label_column(profiles, &params.labels)?;
            Labels::Single(&single)
        }
    };
    let options = EnrichmentOptions {
        percentile: params.percentile,
        similarity: params.similarity,
        block_rows: 0,
        threads: params.threads,
    };
    let x = matrix(profiles)?;
    super::require_contrast(x, params.similarity, source, params.origin)?;
    let result = folds_of_enrichment(x, labels, &options)
        .map_err(|e| explain(e, source, &params.labels, params.origin))?;
    let report = Report {
        metric: "folds_of_enrichment",
        convention: CONVENTION,
        profiles: file.clone(),
        filters: source.filters.clone(),
        n_profiles: n,
        n_features: profiles.n_features(),
        labels: params.labels.clone(),
        sep: params.sep.clone(),
        similarity: params.similarity.name(),
        percentile: params.percentile,
        n_queries: result.queries.len(),
        folds_of_enrichment: result.folds_of_enrichment,
        haldane_folds_of_enrichment: result.haldane_folds_of_enrichment,
        mean_p_value: result.mean_p_value,
        n_infinite_odds_ratios: result.n_infinite_odds,
        n_undefined_odds_ratios: result.n_undefined_odds,
        interpolated_map: result.interpolated_map,
        n_interpolated_map_queries: result.n_interpolated_queries,
        interpolated_map_convention: MAP_CONVENTION,
    };
    reporter.summary(&format!(
        "folds of enrichment (top {}%, {}): {} over {} queries (Haldane-corrected {}); \
         interpolated MAP {} over {} queries",
        100.0 - params.percentile,
        params.similarity,
        result.folds_of_enrichment,
        result.queries.len(),
        result.haldane_folds_of_enrichment,
        result.interpolated_map,
        result.n_interpolated_queries
    ));
    Ok(Output {
        report,
        enrichment: result,
    })
}

/// The query rows' metadata with their tables and statistics.
pub fn query_frame(profiles: &Profiles, r: &Enrichment) -> Result<DataFrame> {
    let rows: Vec<IdxSize> = r.queries.iter().map(|q| q.row as IdxSize).collect();
    let meta = profiles
        .meta()
        .take(&IdxCa::from_vec(PlSmallStr::EMPTY, rows))?;
    let q = &r.queries;
    let u = |f: &dyn Fn(&QueryEnrichment) -> u64| -> Vec<u64> { q.iter().map(f).collect() };
    let f = |f: &dyn Fn(&QueryEnrichment) -> f64| -> Vec<f64> { q.iter().map(f).collect() };
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
