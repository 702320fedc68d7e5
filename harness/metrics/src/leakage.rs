//! Batch leakage: how well a nuisance label (batch or plate) is predictable from profiles.
//!
//! The JUMP analysis convention: take the control wells, predict their batch under grouped
//! cross-validation (groups = plates, so a plate's wells are never on both sides of a split)
//! and report balanced accuracy per fold beside the chance level `1 / number of classes`.
//! Lower is better: a representation that removed batch effects leaves batch unpredictable.
//!
//! Choices, fixed here so that results compare across runs:
//! - Folds come from the caller, usually [`crate::classify::stratified_group_kfold`]; empty
//!   folds are skipped.
//! - Within each fold the features are standardized with the training rows' mean and
//!   population standard deviation (scikit-learn `StandardScaler`; a constant feature keeps
//!   scale 1), so nothing about the test rows leaks into the model.
//! - Classifier 1: multinomial L2 logistic regression ([`crate::classify`], `C = 1`,
//!   unweighted classes, up to 1000 L-BFGS iterations by default).
//! - Classifier 2 (non-linear): k-nearest neighbours by cosine on the standardized features,
//!   majority vote with [`crate::knn`]'s tie rules (default `k = 5`).
//! - A class missing from a fold's training rows cannot be predicted in that fold; when the
//!   training rows hold a single class, every test row gets it.
//! - Balanced accuracy is scikit-learn's: mean recall over the classes present in the test
//!   rows. The summary is the mean and population standard deviation (numpy `std`) over folds.
//!
//! The design-confounding check ([`label_from_source`]) asks the opposite question of the
//! experimental design: can the biological label be predicted from the batch alone (one-hot
//! batch codes into the same logistic model, same folds)? If it can, batch correction and
//! biology are entangled and leakage numbers must be read with care.

use crate::classify::{LogisticParams, balanced_accuracy, fit_predict};
use crate::error::MetricError;
use crate::knn::{KnnParams, VoteTie, knn_accuracy};
use crate::matrix::Matrix;
use crate::similarity::Similarity;

/// Settings of [`batch_leakage`].
#[derive(Debug, Clone, PartialEq)]
pub struct LeakageParams {
    /// The logistic classifier's settings.
    pub logistic: LogisticParams,
    /// Neighbours voting in the kNN classifier.
    pub knn_k: usize,
    /// Similarity of the kNN classifier.
    pub knn_similarity: Similarity,
    /// How the kNN classifier decides a tied vote.
    pub knn_vote_tie: VoteTie,
}

impl Default for LeakageParams {
    fn default() -> Self {
        LeakageParams {
            logistic: LogisticParams {
                max_iter: 1000,
                ..LogisticParams::default()
            },
            knn_k: 5,
            knn_similarity: Similarity::Cosine,
            knn_vote_tie: VoteTie::SummedSimilarity,
        }
    }
}

/// Balanced accuracy of one classifier across the folds.
#[derive(Debug, Clone, PartialEq)]
pub struct CvScores {
    /// Balanced accuracy of each non-empty fold, in fold order.
    pub per_fold: Vec<f64>,
    /// Mean over folds.
    pub mean: f64,
    /// Population standard deviation over folds.
    pub sd: f64,
}

impl CvScores {
    fn from_folds(per_fold: Vec<f64>) -> CvScores {
        let k = per_fold.len() as f64;
        let mean = per_fold.iter().sum::<f64>() / k;
        let sd = (per_fold.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / k).sqrt();
        CvScores { per_fold, mean, sd }
    }
}

/// Cross-validated predictability of a label from the profiles.
#[derive(Debug, Clone, PartialEq)]
pub struct LeakageResult {
    /// Number of classes of the predicted label.
    pub n_classes: usize,
    /// `1 / n_classes`: the balanced accuracy of guessing.
    pub chance: f64,
    /// Multinomial logistic regression.
    pub logistic: CvScores,
    /// k-nearest neighbours.
    pub knn: CvScores,
    /// Test rows of each scored fold.
    pub fold_sizes: Vec<usize>,
}

/// Checks the folds against `n` rows: indices in range, no row tested twice, one non-empty fold.
fn check_folds(folds: &[Vec<usize>], n: usize) -> Result<(), MetricError> {
    let mut seen = vec![false; n];
    for fold in folds {
        for &r in fold {
            match seen.get_mut(r) {
                None => {
                    return Err(MetricError::InvalidParameter {
                        name: "folds",
                        value: r.to_string(),
                        reason: format!("row index out of range for {n} rows"),
                    });
                }
                Some(true) => {
                    return Err(MetricError::InvalidParameter {
                        name: "folds",
                        value: r.to_string(),
                        reason: "row is in more than one test fold".to_owned(),
                    });
                }
                Some(s) => *s = true,
            }
        }
    }
    if folds.iter().filter(|f| !f.is_empty()).count() < 2 {
        return Err(MetricError::InvalidParameter {
            name: "folds",
            value: folds.len().to_string(),
            reason: "need at least two non-empty folds".to_owned(),
        });
    }
    Ok(())
}

/// Fold `test` as (training rows, test rows), ascending.
fn split(test: &[usize], n: usize) -> (Vec<usize>, Vec<usize>) {
    let mut in_test = vec![false; n];
    test.iter().for_each(|&r| in_test[r] = true);
    let train = (0..n).filter(|&r| !in_test[r]).collect();
    let mut test = test.to_vec();
    test.sort_unstable();
    (train, test)
}

/// Rows `rows` of `x`, standardized with the mean and population sd of rows `fit_rows`.
fn standardized(x: Matrix<'_>, fit_rows: &[usize], rows: &[usize]) -> Vec<f32> {
    let d = x.d();
    let mut mean = vec![0.0f64; d];
    for &r in fit_rows {
        mean.iter_mut()
            .zip(x.row(r))
            .for_each(|(m, &v)| *m += f64::from(v));
    }
    mean.iter_mut().for_each(|m| *m /= fit_rows.len() as f64);
    let mut var = vec![0.0f64; d];
    for &r in fit_rows {
        var.iter_mut()
            .zip(x.row(r))
            .zip(&mean)
            .for_each(|((s, &v), m)| *s += (f64::from(v) - m).powi(2));
    }
    let scale: Vec<f64> = var
        .iter()
        .map(|s| {
            let sd = (s / fit_rows.len() as f64).sqrt();
            if sd == 0.0 { 1.0 } else { sd }
        })
        .collect();
    let mut out = Vec::with_capacity(rows.len() * d);
    for &r in rows {
        for ((&v, m), s) in x.row(r).iter().zip(&mean).zip(&scale) {
            out.push(((f64::from(v) - m) / s) as f32);
        }
    }
    out
}

fn validate_labels(labels: &[u32], n: usize, n_classes: usize) -> Result<(), MetricError> {
    if labels.len() != n {
        return Err(MetricError::ShapeMismatch {
            what: "labels (one per row)",
            expected: n,
            got: labels.len(),
        });
    }
    if let Some(row) = labels.iter().position(|&c| c as usize >= n_classes) {
        return Err(MetricError::InvalidParameter {
            name: "labels",
            value: labels[row].to_string(),
            reason: format!("row {row}: code must be below n_classes = {n_classes}"),
        });
    }
    if n_classes < 2 {
        return Err(MetricError::InvalidParameter {
            name: "n_classes",
            value: n_classes.to_string(),
            reason: "predicting a label needs at least two classes".to_owned(),
        });
    }
    Ok(())
}

/// Cross-validated balanced accuracy of predicting `target` (codes below `n_classes`) from `x`
/// with both classifiers, on the given test folds.
pub fn batch_leakage(
    x: Matrix<'_>,
    target: &[u32],
    n_classes: usize,
    folds: &[Vec<usize>],
    params: &LeakageParams,
) -> Result<LeakageResult, MetricError> {
    let (n, d) = (x.n(), x.d());
    validate_labels(target, n, n_classes)?;
    check_folds(folds, n)?;
    params.logistic.validate()?;
    if params.knn_k == 0 {
        return Err(MetricError::InvalidParameter {
            name: "knn_k",
            value: "0".to_owned(),
            reason: "at least one neighbour must vote".to_owned(),
        });
    }
    for (row, values) in x.rows().enumerate() {
        if let Some(col) = values.iter().position(|v| !v.is_finite()) {
            return Err(MetricError::NonFinite { row, col });
        }
    }

    let mut logistic = Vec::new();
    let mut knn = Vec::new();
    let mut fold_sizes = Vec::new();
    for fold in folds.iter().filter(|f| !f.is_empty()) {
        let (train, test) = split(fold, n);
        if train.is_empty() {
            return Err(MetricError::InvalidParameter {
                name: "folds",
                value: fold.len().to_string(),
                reason: "a fold holds every row, leaving nothing to train on".to_owned(),
            });
        }
        // Training rows first, then test rows, all scaled by the training statistics.
        let rows: Vec<usize> = train.iter().chain(&test).copied().collect();
        let scaled = standardized(x, &train, &rows);
        let all = Matrix::new(&scaled, rows.len(), d)?;
        let train_x = Matrix::new(&scaled[..train.len() * d], train.len(), d)?;
        let test_x = Matrix::new(&scaled[train.len() * d..], test.len(), d)?;
        let train_y: Vec<u32> = train.iter().map(|&r| target[r]).collect();
        let test_y: Vec<u32> = test.iter().map(|&r| target[r]).collect();

        let pred = fit_predict(train_x, &train_y, test_x, n_classes, &params.logistic)?;
        logistic.push(balanced_accuracy(&test_y, &pred, n_classes));

        // Leave-one-out kNN where test rows exclude each other: their candidates are exactly
        // the training rows.
        let side: Vec<u32> = (0..rows.len())
            .map(|i| u32::from(i >= train.len()))
            .collect();
        let all_y: Vec<u32> = rows.iter().map(|&r| target[r]).collect();
        let knn_params = KnnParams {
            k: params.knn_k,
            similarity: params.knn_similarity,
            vote_tie: params.knn_vote_tie,
            ..KnnParams::default()
        };
        // Errors name rows of this fold's (train, test) reordering; callers know input rows.
        let result =
            knn_accuracy(all, &all_y, n_classes, &[&side], &knn_params).map_err(|e| match e {
                MetricError::ZeroNorm { row, similarity } => MetricError::ZeroNorm {
                    row: rows[row],
                    similarity,
                },
                MetricError::NonFinite { row, col } => MetricError::NonFinite {
                    row: rows[row],
                    col,
                },
                other => other,
            })?;
        let pred: Vec<u32> = result.predictions[train.len()..]
            .iter()
            .map(|p| p.expect("every test row has training candidates"))
            .collect();
        knn.push(balanced_accuracy(&test_y, &pred, n_classes));
        fold_sizes.push(test.len());
    }
    Ok(LeakageResult {
        n_classes,
        chance: 1.0 / n_classes as f64,
        logistic: CvScores::from_folds(logistic),
        knn: CvScores::from_folds(knn),
        fold_sizes,
    })
}

/// Design confounding: cross-validated balanced accuracy of predicting `label` from the
/// one-hot encoding of `source` (e.g. batch) alone, with the logistic classifier.
pub fn label_from_source(
    source: &[u32],
    n_source: usize,
    label: &[u32],
    n_label: usize,
    folds: &[Vec<usize>],
    params: &LogisticParams,
) -> Result<CvScores, MetricError> {
    let n = label.len();
    validate_labels(label, n, n_label)?;
    if source.len() != n {
        return Err(MetricError::ShapeMismatch {
            what: "source codes (one per row)",
            expected: n,
            got: source.len(),
        });
    }
    if let Some(row) = source.iter().position(|&c| c as usize >= n_source) {
        return Err(MetricError::InvalidParameter {
            name: "source",
            value: source[row].to_string(),
            reason: format!("row {row}: code must be below n_source = {n_source}"),
        });
    }
    check_folds(folds, n)?;
    params.validate()?;
    let one_hot = |rows: &[usize]| -> Vec<f32> {
        let mut m = vec![0.0f32; rows.len() * n_source];
        for (i, &r) in rows.iter().enumerate() {
            m[i * n_source + source[r] as usize] = 1.0;
        }
        m
    };
    let mut scores = Vec::new();
    for fold in folds.iter().filter(|f| !f.is_empty()) {
        let (train, test) = split(fold, n);
        let (tx, sx) = (one_hot(&train), one_hot(&test));
        let train_y: Vec<u32> = train.iter().map(|&r| label[r]).collect();
        let test_y: Vec<u32> = test.iter().map(|&r| label[r]).collect();
        let pred = fit_predict(
            Matrix::new(&tx, train.len(), n_source)?,
            &train_y,
            Matrix::new(&sx, test.len(), n_source)?,
            n_label,
            params,
        )?;
        scores.push(balanced_accuracy(&test_y, &pred, n_label));
    }
    Ok(CvScores::from_folds(scores))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::stratified_group_kfold;
    use crate::test_data::uniform;

    /// 4 batches × 3 plates × 6 rows; `shift` moves each batch along its own feature.
    fn plates(shift: f32) -> (Vec<f32>, Vec<u32>, Vec<u32>) {
        let d = 5;
        let mut x = uniform(72, d, 5);
        let plate: Vec<u32> = (0..72).map(|i| (i / 6) as u32).collect();
        let batch: Vec<u32> = plate.iter().map(|p| p / 3).collect();
        for (i, &b) in batch.iter().enumerate() {
            x[i * d + b as usize] += shift;
        }
        (x, batch, plate)
    }

    #[test]
    fn strong_batch_effect_is_found_and_none_is_near_chance() {
        let (x, batch, plate) = plates(3.0);
        let folds = stratified_group_kfold(&batch, &plate, 3, 1).unwrap();
        let m = Matrix::new(&x, 72, 5).unwrap();
        let r = batch_leakage(m, &batch, 4, &folds, &LeakageParams::default()).unwrap();
        assert_eq!(r.chance, 0.25);
        assert_eq!(r.fold_sizes, vec![24, 24, 24]);
        assert_eq!(r.logistic.per_fold, vec![1.0; 3]);
        assert_eq!(r.knn.per_fold, vec![1.0; 3]);
        assert_eq!(r.logistic.sd, 0.0);

        let (x, ..) = plates(0.0);
        let m = Matrix::new(&x, 72, 5).unwrap();
        let r = batch_leakage(m, &batch, 4, &folds, &LeakageParams::default()).unwrap();
        assert!(
            r.logistic.mean < 0.6,
            "no batch effect, got {}",
            r.logistic.mean
        );
        assert!(r.knn.mean < 0.6, "no batch effect, got {}", r.knn.mean);
    }

    #[test]
    fn a_class_absent_from_training_is_never_predicted() {
        // Batch 3 lives on one plate only, so the fold testing it has not trained on it.
        let (x, mut batch, plate) = plates(3.0);
        batch.iter_mut().zip(&plate).for_each(|(b, &p)| {
            if p >= 9 {
                *b = if p == 9 { 3 } else { 2 };
            }
        });
        let folds = stratified_group_kfold(&batch, &plate, 3, 2).unwrap();
        let m = Matrix::new(&x, 72, 5).unwrap();
        let r = batch_leakage(m, &batch, 4, &folds, &LeakageParams::default()).unwrap();
        let with_3 = folds
            .iter()
            .position(|f| f.iter().any(|&i| batch[i] == 3))
            .unwrap();
        assert!(r.logistic.per_fold[with_3] < 1.0);
    }

    #[test]
    fn label_from_batch_detects_a_confounded_design() {
        let batch: Vec<u32> = (0..40).map(|i| (i / 10) as u32).collect();
        let plate: Vec<u32> = (0..40).map(|i| (i / 5) as u32).collect();
        let folds = stratified_group_kfold(&batch, &plate, 2, 0).unwrap();
        // Label = batch parity: fully determined by batch.
        let label: Vec<u32> = batch.iter().map(|b| b % 2).collect();
        let s =
            label_from_source(&batch, 4, &label, 2, &folds, &LogisticParams::default()).unwrap();
        assert_eq!(s.per_fold, vec![1.0, 1.0]);
        // Label alternating inside every plate: batch tells nothing.
        let label: Vec<u32> = (0..40).map(|i| (i % 2) as u32).collect();
        let s =
            label_from_source(&batch, 4, &label, 2, &folds, &LogisticParams::default()).unwrap();
        assert!(s.per_fold.iter().all(|&v| v == 0.5), "{:?}", s.per_fold);
    }

    #[test]
    fn bad_folds_are_rejected() {
        let (x, batch, _) = plates(1.0);
        let m = Matrix::new(&x, 72, 5).unwrap();
        let p = LeakageParams::default();
        let twice = vec![vec![0, 1], vec![1, 2]];
        assert!(batch_leakage(m, &batch, 4, &twice, &p).is_err());
        let out_of_range = vec![vec![0], vec![72]];
        assert!(batch_leakage(m, &batch, 4, &out_of_range, &p).is_err());
        let one = vec![(0..10).collect::<Vec<_>>()];
        assert!(batch_leakage(m, &batch, 4, &one, &p).is_err());
        assert!(batch_leakage(m, &batch, 1, &[vec![0], vec![1]], &p).is_err());
    }
}
