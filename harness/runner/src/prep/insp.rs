//! Iterative null-space projection of the batch label (JUMP analysis), fitted on the fit rows,
//! one fit per `by` group, applied to every row; each group's fit reports the cross-validated
//! balanced accuracy before each projection and after the last, and the directions removed.

use cpbench_core::Profiles;
use cpbench_metrics::classify::LogisticParams;
use cpbench_prep::{Float, Insp, InspFit, InspParams, PrepError, fit_apply_by_group};
use serde::Serialize;

use super::common::{FitRows, Groups, explain};
use crate::err;
use crate::error::Result;

/// A parsed `insp` request.
#[derive(Debug, Clone)]
pub struct InspSpec {
    /// Batch column.
    pub batch: String,
    /// Fold-group columns (empty: rows fold freely).
    pub fold_groups: Vec<String>,
    /// Numeric settings.
    pub params: InspParams,
}

impl InspSpec {
    /// Validates the settings before any file is read.
    pub fn new(batch: String, fold_groups: Vec<String>, params: InspParams) -> Result<Self> {
        params.validate()?;
        Ok(Self {
            batch,
            fold_groups,
            params,
        })
    }
}

/// Classifier settings for an L2 penalty `lambda` (scikit-learn's `C = 1/λ`); default `C = 1`.
pub fn logistic_for(lambda: Option<f64>) -> Result<LogisticParams> {
    let mut logistic = LogisticParams::default();
    if let Some(l) = lambda {
        if !(l.is_finite() && l > 0.0) {
            return Err(err!(
                "insp lambda {l}: the classifier penalty must be finite and > 0"
            ));
        }
        logistic.c = 1.0 / l;
    }
    Ok(logistic)
}

/// One group's fit, as reported.
#[derive(Debug, Serialize)]
pub struct GroupReport {
    /// The group, e.g. `Metadata_Plate=P1`, or `all rows`.
    pub group: String,
    /// Batches among its fit rows.
    pub n_batches: usize,
    /// Balanced accuracy before each projection and after the last.
    pub accuracy: Vec<f64>,
    /// Directions removed by each projection.
    pub removed: Vec<usize>,
    /// Total directions removed.
    pub rank_removed: usize,
}

/// The `insp` report: the settings and each group's fit.
#[derive(Debug, Serialize)]
pub struct Report<'a> {
    /// Batch column.
    pub batch: &'a str,
    /// Accuracy threshold.
    pub threshold: f64,
    /// Most projections.
    pub max_iter: usize,
    /// Cross-validation folds.
    pub folds: usize,
    /// Fold seed.
    pub seed: u64,
    /// Batches weighted inversely to their size.
    pub balance: bool,
    /// Each group's fit.
    pub groups: Vec<GroupReport>,
}

/// Projects the batch out of `profiles` in place, one fit per group of `by`; returns each group's fit.
pub fn insp_profiles<T: Float>(
    profiles: &mut Profiles<T>,
    spec: &InspSpec,
    fit: &FitRows,
    by: &[String],
    file: &str,
) -> Result<Vec<GroupReport>> {
    let batch = Groups::of(profiles, std::slice::from_ref(&spec.batch), file)?;
    let fold_groups = if spec.fold_groups.is_empty() {
        None
    } else {
        Some(Groups::of(profiles, &spec.fold_groups, file)?.codes)
    };
    let groups = Groups::of(profiles, by, file)?;
    let mask = fit.mask(profiles, file)?;
    let template = Insp::new(spec.params.clone(), batch.codes.clone(), fold_groups)?;
    let (n, d) = (profiles.n_rows(), profiles.n_features());
    let feature_names = profiles.feature_names().to_vec();
    let fitted = fit_apply_by_group(
        || template.clone(),
        profiles.features_mut(),
        n,
        d,
        &mask,
        &groups.codes,
    )
    .map_err(|e| match e {
        PrepError::NonFinite {
            what: "insp apply",
            row,
            feature,
        } => err!(
            "{file}: row {} has a non-finite value in feature `{}`; insp projects whole rows and \
             needs finite values (drop or impute it first)",
            row + 1,
            feature_names.get(feature).map_or("?", String::as_str)
        ),
        PrepError::NonFinite { row, feature, .. } => err!(
            "{file}: fit row {} has a non-finite value in feature `{}`; insp needs finite fit rows",
            row + 1,
            feature_names.get(feature).map_or("?", String::as_str)
        ),
        PrepError::Classifier { what, reason } => err!(
            "{file}: {what} (batch column `{}`, --fit-on {}): {reason}",
            spec.batch,
            fit.fit_on
        ),
        other => explain(other, file, &groups, &fit.fit_on),
    })?;
    Ok(fitted
        .iter()
        .enumerate()
        .map(|(g, t)| {
            let f: &InspFit = t.fitted().expect("fit_apply_by_group fits every group");
            GroupReport {
                group: groups.describe(g as u32),
                n_batches: f.n_batches,
                accuracy: f.accuracy.clone(),
                removed: f.removed.clone(),
                rank_removed: f.rank_removed(),
            }
        })
        .collect())
}
