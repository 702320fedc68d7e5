//! `[[preprocess]]` steps: the operations ([`PrepOp`]), the step table ([`PrepStep`]) and its
//! check. Each operation allows only its own parameters and `method` values; ranges, row
//! selections, feature-selection operations, the blocklist file, and the `[columns]` roles an
//! operation relies on (controls, batch, plate) are checked too. The same check serves a
//! benchmark and a `cpbench prep pipeline` steps file.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::columns::{check_rows, require_control};
use super::params::{at_key, check_params, doc_keys};
use super::{BenchmarkManifest, Columns};
use crate::manifest::ManifestError;
use crate::manifest::source::Doc;
use crate::profiles::Level;

/// A preprocessing operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PrepOp {
    /// Drop features (pycytominer feature_select): variance, correlation, NA, blocklist, outliers.
    FeatureSelect,
    /// Scale features (pycytominer normalize): standardize, robustize or mad_robustize.
    Normalize,
    /// Whiten features (PCA/ZCA, optionally on correlations), fitted on `fit_on` rows.
    Sphere,
    /// Iterative null-space projection: remove what predicts `batch`.
    Insp,
    /// Within-batch centering and scaling against the batch's control rows.
    ControlNormalize,
    /// Aggregate rows over the `by` columns (mean or median).
    Aggregate,
    /// Consensus over replicates (median or moderated z-score).
    Consensus,
    /// Replace profiles by their z-scored distance to the plate's control median.
    TreatmentStrength,
}

impl PrepOp {
    /// The name used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            PrepOp::FeatureSelect => "feature-select",
            PrepOp::Normalize => "normalize",
            PrepOp::Sphere => "sphere",
            PrepOp::Insp => "insp",
            PrepOp::ControlNormalize => "control-normalize",
            PrepOp::Aggregate => "aggregate",
            PrepOp::Consensus => "consensus",
            PrepOp::TreatmentStrength => "treatment-strength",
        }
    }

    /// Which parameters the operation takes: (required, optional, allowed `method` values).
    pub(super) fn rule(
        self,
    ) -> (
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    ) {
        match self {
            PrepOp::FeatureSelect => (
                &["ops"],
                &[
                    "method",
                    "fit_on",
                    "columns",
                    "freq_cut",
                    "unique_cut",
                    "na_cutoff",
                    "corr_threshold",
                    "blocklist",
                ],
                &["pearson", "spearman", "kendall"],
            ),
            PrepOp::Normalize => (
                &[],
                &["method", "fit_on", "by", "epsilon", "columns"],
                &["standardize", "robustize", "mad_robustize"],
            ),
            PrepOp::Sphere => (
                &[],
                &[
                    "method", "fit_on", "by", "lambda", "epsilon", "center", "rotate",
                ],
                &["pca", "zca", "pca-cor", "zca-cor"],
            ),
            PrepOp::Insp => (
                &[],
                &[
                    "batch",
                    "fit_on",
                    "max_iter",
                    "folds",
                    "seed",
                    "balance",
                    "lambda",
                    "threshold",
                ],
                &[],
            ),
            PrepOp::ControlNormalize => (
                &[],
                &["method", "batch", "fit_on", "epsilon"],
                &["center", "standardize", "robustize", "mad_robustize"],
            ),
            PrepOp::Aggregate => (
                &["by"],
                &["method", "columns", "level"],
                &["mean", "median"],
            ),
            PrepOp::Consensus => (
                &["by"],
                &["method", "columns", "level"],
                &["median", "modz"],
            ),
            PrepOp::TreatmentStrength => (&[], &["by", "fit_on"], &[]),
        }
    }
}

/// Feature-selection operations accepted in `ops` (pycytominer 1.7.1 names).
const FEATURE_SELECT_OPS: &[&str] = &[
    "variance_threshold",
    "frequency_threshold",
    "correlation_threshold",
    "drop_na_columns",
    "blocklist",
    "drop_outliers",
];

/// One `[[preprocess]]` step: an operation and the parameters it takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepStep {
    /// The operation; it decides which of the other keys are allowed.
    pub op: PrepOp,
    /// Variant of the operation, e.g. `mad_robustize` (normalize), `zca` (sphere), `median` (aggregate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Rows the step is fitted on: `controls`, `all` or a row filter such as `Metadata_pert_type=control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit_on: Option<String>,
    /// Grouping columns: fit per group (normalize, sphere, treatment-strength) or aggregate over them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Vec<String>>,
    /// Feature-selection operations, e.g. `["variance_threshold", "correlation_threshold"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<Vec<String>>,
    /// Small constant added to scales (normalize, control-normalize) or eigenvalues (sphere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    /// Regularization strength (sphere: added to the covariance diagonal; insp: classifier penalty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<f64>,
    /// Sphere: subtract the fitted mean before whitening (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub center: Option<bool>,
    /// Sphere: rotate whitened data back onto the feature axes; must agree with `method` (zca: true, pca: false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate: Option<bool>,
    /// Insp: stop once batch's cross-validated balanced accuracy falls below this (default 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Feature-select variance_threshold: ratio of second most common to most common value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freq_cut: Option<f64>,
    /// Feature-select variance_threshold: ratio of unique values to samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_cut: Option<f64>,
    /// Feature-select drop_na_columns: largest allowed share of missing values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub na_cutoff: Option<f64>,
    /// Feature-select correlation_threshold: absolute correlation above which features are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corr_threshold: Option<f64>,
    /// Feature-select blocklist: file listing feature names to drop, relative to this manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocklist: Option<PathBuf>,
    /// Batch column for insp and control-normalize (default `[columns] batch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// Insp: maximum number of projection iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_iter: Option<u32>,
    /// Insp: number of cross-validation folds (>= 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds: Option<u32>,
    /// Insp: random seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Insp: balance batch classes when training the classifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<bool>,
    /// Columns the step acts on: features considered (feature-select, normalize) or metadata kept (aggregate, consensus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Aggregate, consensus: level of the output rows (default: the next coarser level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
}

impl std::fmt::Display for PrepOp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl BenchmarkManifest {
    /// Checks `[[preprocess]]` step `i` against the benchmark's `[columns]`.
    pub(super) fn validate_step(
        &self,
        doc: &Doc<'_>,
        i: usize,
        step: &PrepStep,
    ) -> Result<(), ManifestError> {
        Self::validate_prep_step(&self.columns, doc, i, step)
    }

    /// Checks `[[preprocess]]` step `i` against the `[columns]` roles it relies on.
    pub(in crate::manifest) fn validate_prep_step(
        columns: &Columns,
        doc: &Doc<'_>,
        i: usize,
        step: &PrepStep,
    ) -> Result<(), ManifestError> {
        let prefix = format!("preprocess[{i}]");
        let key = |k: &str| format!("{prefix}.{k}");
        let what = format!("op `{}`", step.op);
        let (required, optional, methods) = step.op.rule();
        let allowed: Vec<&str> = required.iter().chain(optional).copied().collect();
        let present = doc_keys(doc, &prefix, &["op"]);
        check_params(&what, &present, required, &allowed, &[])
            .map_err(|problem| at_key(doc, &prefix, problem))?;

        if let Some(method) = &step.method
            && !methods.contains(&method.as_str())
        {
            return Err(doc.invalid(
                key("method"),
                format!(
                    "unknown method `{method}` for {what} (expected one of: {})",
                    methods.join(", ")
                ),
            ));
        }
        match &step.fit_on {
            Some(fit_on) => check_rows(doc, &key("fit_on"), fit_on, true, columns)?,
            None if matches!(
                step.op,
                PrepOp::ControlNormalize | PrepOp::TreatmentStrength
            ) =>
            {
                require_control(doc, &key("fit_on"), columns)?;
            }
            None => {}
        }
        for (k, list) in [("by", &step.by), ("columns", &step.columns)] {
            if let Some(list) = list {
                doc.check_names(&key(k), list)?;
            }
        }
        if let Some(ops) = &step.ops {
            doc.check_names(&key("ops"), ops)?;
            if let Some((j, op)) = ops
                .iter()
                .enumerate()
                .find(|(_, o)| !FEATURE_SELECT_OPS.contains(&o.as_str()))
            {
                return Err(doc.invalid(
                    format!("{prefix}.ops[{j}]"),
                    format!(
                        "unknown feature-selection operation `{op}` (expected one of: {})",
                        FEATURE_SELECT_OPS.join(", ")
                    ),
                ));
            }
        }
        for (k, value, lo, lo_open, hi) in [
            ("epsilon", step.epsilon, 0.0, false, f64::INFINITY),
            ("lambda", step.lambda, 0.0, false, f64::INFINITY),
            ("threshold", step.threshold, 0.0, false, 1.0),
            ("freq_cut", step.freq_cut, 0.0, true, 1.0),
            ("unique_cut", step.unique_cut, 0.0, true, 1.0),
            ("na_cutoff", step.na_cutoff, 0.0, false, 1.0),
            ("corr_threshold", step.corr_threshold, 0.0, true, 1.0),
        ] {
            if let Some(v) = value {
                doc.check_range(&key(k), v, lo, lo_open, hi)?;
            }
        }
        if let Some(n) = step.max_iter {
            doc.check_min(&key("max_iter"), n.into(), 1)?;
        }
        if let Some(n) = step.folds {
            doc.check_min(&key("folds"), n.into(), 2)?;
        }
        if let Some(blocklist) = &step.blocklist {
            doc.require_file(&key("blocklist"), blocklist)?;
        }
        if let (Some(method), Some(rotate)) = (&step.method, step.rotate)
            && rotate != method.starts_with("zca")
        {
            return Err(doc.invalid(
                key("rotate"),
                format!("`rotate = {rotate}` contradicts `method = \"{method}\"` (zca rotates back, pca does not)"),
            ));
        }
        match &step.batch {
            Some(b) => doc.check_nonempty(&key("batch"), b)?,
            None if matches!(step.op, PrepOp::Insp | PrepOp::ControlNormalize)
                && columns.batch.is_none() =>
            {
                return Err(doc.invalid(
                    key("batch"),
                    format!("{what} needs `batch` or `[columns] batch`"),
                ));
            }
            None => {}
        }
        if step.op == PrepOp::TreatmentStrength && step.by.is_none() && columns.plate.is_none() {
            return Err(doc.invalid(key("by"), format!("{what} needs `by` or `[columns] plate`")));
        }
        Ok(())
    }
}
