//! Batch leakage: how well batch (or plate) is predictable from the control profiles, under
//! stratified group K-fold (definition and choices: `cpbench_metrics::leakage`).
//!
//! Rows are the control rows. Folds keep each `groups` value (plate) on one side of every
//! split. With `label`, the design-confounding check also runs: the label predicted from the
//! one-hot `target` alone, on the non-control rows that have a label (the perturbations), with
//! folds drawn the same way.
//!
//! Report: `balanced_accuracy` (mean per classifier), `chance`, per classifier the per-fold
//! values, mean and sd, the fold sizes and settings; `label_from_target` when `label` is given.

use cpbench_core::Profiles;
use cpbench_core::filter::RowFilter;
use cpbench_metrics::classify::{LogisticParams, stratified_group_kfold};
use cpbench_metrics::knn::VoteTie;
use cpbench_metrics::leakage::{CvScores, LeakageParams, batch_leakage, label_from_source};
use cpbench_metrics::params as limits;
use cpbench_metrics::{LabelColumn, MetricError};
use serde::Serialize;

use super::explain;

use crate::error::{Error, Result};
use crate::params::Origin;
use crate::reporter::Reporter;
use crate::table::{Source, label_column, matrix, require_columns, row_note};
use crate::{bail, err};

/// Parameters of batch leakage.
#[derive(Debug, Clone)]
pub struct Params {
    /// The control rows, as a row filter (`COL=VALUE`, `COL!=VALUE`, `COL in [A, B]`).
    pub controls: String,
    /// The column to predict (batch or plate).
    pub target: String,
    /// The grouping column (plate): a group is never split across folds.
    pub groups: String,
    /// Number of folds.
    pub folds: usize,
    /// Seed of the fold assignment.
    pub seed: u64,
    /// Inverse L2 strength of the logistic classifier.
    pub c: f64,
    /// Neighbours voting in the kNN classifier (cosine).
    pub knn_k: usize,
    /// How the kNN classifier decides a tied vote.
    pub knn_vote_tie: VoteTie,
    /// Also predict this label from the one-hot target alone (design confounding).
    pub label: Option<String>,
    /// Where the values were written, for messages.
    pub origin: Origin,
}

impl Params {
    /// Checks every value before any work.
    pub fn check(&self) -> Result<()> {
        let o = self.origin;
        o.check(limits::folds(self.folds as u64))?;
        o.check(limits::inverse_regularization(self.c))?;
        o.check(limits::neighbours("knn_k", self.knn_k as u64))?;
        if self.target == self.groups {
            bail!(
                "{} and {} are both {}: every test fold would hold only classes its \
                 training rows never saw",
                o.key("target"),
                o.key("groups"),
                self.target
            );
        }
        Ok(())
    }
}

/// Balanced accuracy per fold, with mean and sd.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Folds {
    /// One value per fold.
    pub per_fold: Vec<f64>,
    /// Mean over folds.
    pub mean: f64,
    /// Population sd over folds.
    pub sd: f64,
}

impl From<&CvScores> for Folds {
    fn from(s: &CvScores) -> Folds {
        Folds {
            per_fold: s.per_fold.clone(),
            mean: s.mean,
            sd: s.sd,
        }
    }
}

/// Mean balanced accuracy of each classifier.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BalancedAccuracy {
    /// Logistic regression.
    pub logistic: f64,
    /// kNN.
    pub knn: f64,
}

/// The logistic classifier's settings and scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LogisticReport {
    /// Inverse L2 strength.
    pub c: f64,
    /// Iteration limit.
    pub max_iter: u32,
    /// Features standardized on the training rows.
    pub standardized: bool,
    /// Balanced accuracy per fold.
    pub balanced_accuracy: Folds,
}

/// The kNN classifier's settings and scores.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct KnnReport {
    /// Neighbours that vote.
    pub k: usize,
    /// Similarity name.
    pub similarity: &'static str,
    /// How a tied vote was decided: `summed-similarity` or `sklearn`.
    pub vote_ties: &'static str,
    /// Features standardized on the training rows.
    pub standardized: bool,
    /// Balanced accuracy per fold.
    pub balanced_accuracy: Folds,
}

/// The design-confounding check: the label predicted from the target alone.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelFromTarget {
    /// The label column.
    pub label: String,
    /// Rows used (non-control rows with a label).
    pub n_rows: usize,
    /// Distinct labels.
    pub n_classes: usize,
    /// `1 / n_classes`.
    pub chance: f64,
    /// Balanced accuracy per fold.
    pub balanced_accuracy: Folds,
}

/// The batch-leakage report (`cpbench eval batch-leakage --out`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Always `batch_leakage`.
    pub metric: &'static str,
    /// Mean balanced accuracy per classifier.
    pub balanced_accuracy: BalancedAccuracy,
    /// Balanced accuracy of a constant guess.
    pub chance: f64,
    /// Target classes.
    pub n_classes: usize,
    /// Target class labels.
    pub classes: Vec<String>,
    /// Control rows.
    pub n_rows: usize,
    /// Distinct groups.
    pub n_groups: usize,
    /// The control filter.
    pub controls: String,
    /// The target column.
    pub target: String,
    /// The grouping column.
    pub groups: String,
    /// Folds.
    pub folds: usize,
    /// Fold seed.
    pub seed: u64,
    /// Test rows per fold.
    pub fold_sizes: Vec<usize>,
    /// The logistic classifier.
    pub logistic: LogisticReport,
    /// The kNN classifier.
    pub knn: KnnReport,
    /// The design-confounding check, when a label was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label_from_target: Option<LabelFromTarget>,
}

/// Codes of a column that must have a value on every row; the error names file, key and row.
fn complete_codes(
    profiles: &Profiles,
    column: &str,
    key: &str,
    file: &str,
    origin: Origin,
) -> Result<(LabelColumn, Vec<u32>)> {
    let col = label_column(profiles, column)?;
    if let Some(&row) = col.missing_rows().first() {
        bail!(
            "{file}: {} {column}: row {row}{} has no value",
            origin.key(key),
            row_note(true)
        );
    }
    let codes = col.codes.iter().map(|c| c.expect("checked")).collect();
    Ok((col, codes))
}

/// Explains fold errors in terms of the parameters.
fn folds_error(e: MetricError, params: &Params, file: &str, rows: &str) -> Error {
    let o = params.origin;
    match e {
        MetricError::InvalidParameter {
            name: "folds",
            reason,
            ..
        } => err!(
            "{file}: {} {} with {} {} on the {rows}: {reason}",
            o.key("folds"),
            params.folds,
            o.key("groups"),
            params.groups
        ),
        other => err!("{file}: {other}"),
    }
}

/// Batch leakage of `profiles`' control rows.
pub fn evaluate(
    all: &Profiles,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
) -> Result<Report> {
    let controls = RowFilter::parse(&params.controls)?;
    params.check()?;
    let o = params.origin;
    let file = &source.name;
    let mut wanted = vec![params.target.clone(), params.groups.clone()];
    wanted.extend(params.label.iter().cloned());
    require_columns(all, &wanted, file)?;

    let mask = controls.mask(all)?;
    if !mask.iter().any(|&m| m) {
        bail!(
            "{file}: {} '{}' matches no row{}",
            o.key("controls"),
            params.controls,
            if source.filtered() {
                " that passes --filter"
            } else {
                ""
            }
        );
    }
    let ctrl = all.filter_rows(&mask)?;
    // Row numbers in messages below count control rows.
    let (target_col, target) = complete_codes(&ctrl, &params.target, "target", file, o)?;
    let (groups_col, groups) = complete_codes(&ctrl, &params.groups, "groups", file, o)?;
    let n_classes = target_col.labels.len();
    if n_classes < 2 {
        bail!(
            "{file}: {} {} has a single value ({}) among the control rows: nothing to predict",
            o.key("target"),
            params.target,
            target_col.labels.first().map_or("", String::as_str)
        );
    }
    let folds = stratified_group_kfold(&target, &groups, params.folds, params.seed)
        .map_err(|e| folds_error(e, params, file, "control rows"))?;
    // The kNN classifier of a fold votes among its training rows; more neighbours than the
    // smallest training set holds would make that fold's vote the training rows' majority
    // (scikit-learn refuses n_neighbors above the rows it was fitted on).
    let n_ctrl = ctrl.n_rows();
    let smallest_train = folds
        .iter()
        .filter(|f| !f.is_empty())
        .map(|f| n_ctrl - f.len())
        .min()
        .unwrap_or(n_ctrl);
    if params.knn_k > smallest_train {
        bail!(
            "{file}: {} {}: the smallest training set ({} folds of {n_ctrl} control rows) holds \
             {smallest_train} row(s), fewer than the neighbours asked to vote",
            o.key("knn_k"),
            params.knn_k,
            folds.iter().filter(|f| !f.is_empty()).count()
        );
    }
    let leakage = LeakageParams {
        logistic: LogisticParams {
            c: params.c,
            ..LeakageParams::default().logistic
        },
        knn_k: params.knn_k,
        knn_vote_tie: params.knn_vote_tie,
        ..LeakageParams::default()
    };
    let x = matrix(&ctrl)?;
    // Control rows that are all the same leave nothing to predict from; standardized, each
    // would also be a zero vector, whose cosine (the kNN classifier's) is undefined.
    if n_ctrl >= 2 && x.rows().all(|row| row == x.row(0)) {
        bail!(
            "{file}: all {n_ctrl} control rows ({} '{}') hold the same feature values, so \
             nothing in them can tell the {} values apart",
            o.key("controls"),
            params.controls,
            params.target
        );
    }
    let controls_source = Source {
        name: file.clone(),
        filters: vec![params.controls.clone()],
    };
    let result = batch_leakage(x, &target, n_classes, &folds, &leakage).map_err(|e| match e {
        // The kNN classifier's cosine on standardized features: no flag chooses it, so the
        // message names the row and what made it zero instead.
        MetricError::ZeroNorm { row, .. } => err!(
            "{file}: control row {row}{} is zero once standardized (every feature at its \
             training fold's mean), so the kNN classifier's cosine is undefined for it; \
             remove the row (--filter)",
            row_note(true)
        ),
        e => explain(e, &controls_source, &params.target, o),
    })?;
    reporter.summary(&format!(
        "batch leakage ({} from {} control rows, {} folds): logistic {:.3} ± {:.3}, kNN {:.3} ± {:.3}, chance {:.3}",
        params.target,
        ctrl.n_rows(),
        result.fold_sizes.len(),
        result.logistic.mean,
        result.logistic.sd,
        result.knn.mean,
        result.knn.sd,
        result.chance
    ));
    let mut report = Report {
        metric: "batch_leakage",
        balanced_accuracy: BalancedAccuracy {
            logistic: result.logistic.mean,
            knn: result.knn.mean,
        },
        chance: result.chance,
        n_classes,
        classes: target_col.labels.clone(),
        n_rows: ctrl.n_rows(),
        n_groups: groups_col.labels.len(),
        controls: params.controls.clone(),
        target: params.target.clone(),
        groups: params.groups.clone(),
        folds: params.folds,
        seed: params.seed,
        fold_sizes: result.fold_sizes.clone(),
        logistic: LogisticReport {
            c: params.c,
            max_iter: leakage.logistic.max_iter,
            standardized: true,
            balanced_accuracy: (&result.logistic).into(),
        },
        knn: KnnReport {
            k: params.knn_k,
            similarity: leakage.knn_similarity.name(),
            vote_ties: params.knn_vote_tie.name(),
            standardized: true,
            balanced_accuracy: (&result.knn).into(),
        },
        label_from_target: None,
    };

    if let Some(label) = &params.label {
        let label_col = label_column(all, label)?;
        let keep: Vec<bool> = label_col
            .codes
            .iter()
            .zip(&mask)
            .map(|(code, &control)| code.is_some() && !control)
            .collect();
        if !keep.iter().any(|&k| k) {
            bail!(
                "{file}: {} {label}: no non-control row has a value",
                o.key("label")
            );
        }
        let rows = all.filter_rows(&keep)?;
        let (label_col, label_codes) = complete_codes(&rows, label, "label", file, o)?;
        let (source_col, source_codes) = complete_codes(&rows, &params.target, "target", file, o)?;
        let (_, row_groups) = complete_codes(&rows, &params.groups, "groups", file, o)?;
        if label_col.labels.len() < 2 {
            bail!(
                "{file}: {} {label} has fewer than two values: nothing to predict",
                o.key("label")
            );
        }
        let label_folds =
            stratified_group_kfold(&label_codes, &row_groups, params.folds, params.seed)
                .map_err(|e| folds_error(e, params, file, "labelled rows"))?;
        let scores = label_from_source(
            &source_codes,
            source_col.labels.len(),
            &label_codes,
            label_col.labels.len(),
            &label_folds,
            &leakage.logistic,
        )
        .map_err(|e| err!("{file}: {} {label}: {e}", o.key("label")))?;
        reporter.summary(&format!(
            "{label} from {} alone: {:.3} ± {:.3} (chance {:.3})",
            params.target,
            scores.mean,
            scores.sd,
            1.0 / label_col.labels.len() as f64
        ));
        report.label_from_target = Some(LabelFromTarget {
            label: label.clone(),
            n_rows: rows.n_rows(),
            n_classes: label_col.labels.len(),
            chance: 1.0 / label_col.labels.len() as f64,
            balanced_accuracy: (&scores).into(),
        });
    }
    Ok(report)
}
