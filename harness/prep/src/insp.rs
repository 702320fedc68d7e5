//! Iterative null-space projection (INSP), the batch correction of the JUMP analysis.
//!
//! Repeat: measure how well a multinomial L2 logistic classifier
//! ([`cpbench_metrics::classify`]) predicts the batch from the current profiles
//! (mean balanced accuracy over grouped, stratified K folds); stop when it is
//! below `threshold` or `max_iter` projections were made; otherwise fit the
//! classifier on every fit row and remove from the profiles the row space of
//! its weight matrix `W` (`n_classes × d`): the right singular vectors of `W`
//! with non-negligible singular values, `b = rank W` of them (`K − 1` or `K`;
//! one for two batches). The removed directions are kept orthonormal, so the
//! accumulated projection is `P = I − QᵀQ`, symmetric and idempotent, and
//! applying it to any row is `x − (x Qᵀ) Q`.
//!
//! `balance` weights each batch by `n / (K · n_batch)` (scikit-learn's
//! `class_weight="balanced"`) in every fit, so a large batch does not dominate
//! the directions removed. The projection has no centering: the classifier's
//! intercept absorbs the mean.
//!
//! The classifier (`cpbench_metrics`, like every metric) reads `f32`: on an `f64` matrix it sees
//! each projected row rounded to `f32`, which only steers the choice of directions; the
//! projection itself is `f64`, and applied to an `f64` matrix it is not rounded.

use cpbench_metrics::MetricError;
use cpbench_metrics::classify::{
    LogisticParams, balanced_accuracy, fit_logistic, fit_predict, stratified_group_kfold,
};
use std::num::NonZeroUsize;

use faer::{Accum, Mat, MatMut, MatRef, Par};

use crate::error::PrepError;
use crate::matrix::{CheckRows, Float, Matrix};
use crate::step::{Transform, fitted_for_apply};

/// The parallelism of the weight matrix's SVD: always two parts. faer's SVD applies its
/// reflectors with products whose sums it splits into as many parts as its `Par` names, so
/// `thin_svd` (faer's global setting, one part per thread of the pool) would let the removed
/// directions follow `RAYON_NUM_THREADS` once `W` is large enough for the parallel paths. Two,
/// because the shipped numbers were computed with two threads (as `sphere`'s fit does).
const SVD_PAR: Par = Par::Rayon(NonZeroUsize::new(2).unwrap());

/// Settings of [`Insp`].
#[derive(Debug, Clone, PartialEq)]
pub struct InspParams {
    /// Stop once the cross-validated balanced accuracy is below this (in `(0, 1]`).
    pub threshold: f64,
    /// Most projections (each removes the classifier's row space).
    pub max_iter: usize,
    /// Cross-validation folds (≥ 2).
    pub folds: usize,
    /// Seed of the fold assignment.
    pub seed: u64,
    /// Weight batches inversely to their size in every classifier fit.
    pub balance: bool,
    /// The classifier's settings (`balanced` is overridden by `balance`).
    pub logistic: LogisticParams,
}

impl Default for InspParams {
    fn default() -> Self {
        Self {
            threshold: 0.3,
            max_iter: 10,
            folds: 5,
            seed: 0,
            balance: false,
            logistic: LogisticParams::default(),
        }
    }
}

impl InspParams {
    /// Checks every field; the error names it.
    pub fn validate(&self) -> Result<(), PrepError> {
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(PrepError::InvalidParameter {
                name: "threshold",
                value: self.threshold.to_string(),
                reason: "must be in (0, 1]".to_owned(),
            });
        }
        if self.folds < 2 {
            return Err(PrepError::InvalidParameter {
                name: "folds",
                value: self.folds.to_string(),
                reason: "cross-validation needs at least 2 folds".to_owned(),
            });
        }
        self.logistic.validate().map_err(classifier)?;
        Ok(())
    }
}

fn classifier(e: MetricError) -> PrepError {
    PrepError::Classifier {
        what: "insp",
        reason: e.to_string(),
    }
}

/// What a fit found: the removed directions and the accuracy along the way.
#[derive(Debug, Clone, PartialEq)]
pub struct InspFit {
    /// Orthonormal removed directions, `m × d` row-major.
    pub basis: Vec<f64>,
    /// Number of features `d`.
    pub d: usize,
    /// Cross-validated balanced accuracy before each projection and after the last one.
    pub accuracy: Vec<f64>,
    /// Directions removed by each projection.
    pub removed: Vec<usize>,
    /// Number of batches among the fit rows.
    pub n_batches: usize,
}

impl InspFit {
    /// Number of removed directions.
    pub fn rank_removed(&self) -> usize {
        self.basis.len() / self.d.max(1)
    }

    /// The accumulated projection `I − QᵀQ`, `d × d` row-major.
    pub fn projection(&self) -> Vec<f64> {
        let d = self.d;
        let mut p = vec![0.0; d * d];
        (0..d).for_each(|i| p[i * d + i] = 1.0);
        for q in self.basis.chunks_exact(d) {
            for i in 0..d {
                for j in 0..d {
                    p[i * d + j] -= q[i] * q[j];
                }
            }
        }
        p
    }
}

/// Iterative null-space projection of a batch label; implements [`Transform`].
#[derive(Debug, Clone, PartialEq)]
pub struct Insp {
    params: InspParams,
    batch: Vec<u32>,
    fold_groups: Option<Vec<u32>>,
    fitted: Option<InspFit>,
}

impl Insp {
    /// An unfitted projection for the batch codes `batch` of every row of the matrices it will see.
    ///
    /// `fold_groups` (one code per row) keeps rows of a group (e.g. a plate or
    /// a compound) in one cross-validation fold; `None` folds rows freely.
    pub fn new(
        params: InspParams,
        batch: Vec<u32>,
        fold_groups: Option<Vec<u32>>,
    ) -> Result<Self, PrepError> {
        params.validate()?;
        if let Some(g) = &fold_groups
            && g.len() != batch.len()
        {
            return Err(PrepError::ShapeMismatch {
                what: "fold groups (one per row)",
                expected: batch.len(),
                got: g.len(),
            });
        }
        Ok(Self {
            params,
            batch,
            fold_groups,
            fitted: None,
        })
    }

    /// The fit's result, once fitted.
    pub fn fitted(&self) -> Option<&InspFit> {
        self.fitted.as_ref()
    }
}

/// Rows of `x` minus their components along the orthonormal rows of `q` (`m × d`).
fn project(x: &[f64], n: usize, d: usize, q: &[f64]) -> Vec<f64> {
    let m = q.len() / d.max(1);
    if m == 0 || n == 0 {
        return x.to_vec();
    }
    let xm = MatRef::from_row_major_slice(x, n, d);
    let qm = MatRef::from_row_major_slice(q, m, d);
    // The pool's parallelism is safe here: `x Qᵀ` is a GEMM or, with one direction, a
    // row-major matrix–vector product (one whole dot product per row), and `t Q` a GEMM or a
    // rank-1 update; none of these faer kernels splits a sum between threads (checked
    // bit for bit at 1 to 16 threads).
    let mut t = Mat::<f64>::zeros(n, m);
    faer::linalg::matmul::matmul(
        t.as_mut(),
        Accum::Replace,
        xm,
        qm.transpose(),
        1.0,
        faer::get_global_parallelism(),
    );
    let mut out = x.to_vec();
    faer::linalg::matmul::matmul(
        MatMut::from_row_major_slice_mut(&mut out, n, d),
        Accum::Add,
        t.as_ref(),
        qm,
        -1.0,
        faer::get_global_parallelism(),
    );
    out
}

/// Singular values (nonincreasing) and right singular vectors (`d × min(k, d)`) of the weight
/// matrix `w` (`k × d`): faer's thin SVD (`U` is computed too, as `thin_svd` does, so the
/// values are those it gave) with the fixed `SVD_PAR`.
fn weight_svd(w: MatRef<'_, f64>) -> Result<(Vec<f64>, Mat<f64>), PrepError> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::svd::{ComputeSvdVectors, svd, svd_scratch};

    let (k, d) = w.shape();
    let size = k.min(d);
    let mut s = faer::diag::Diag::<f64>::zeros(size);
    let mut u = Mat::<f64>::zeros(k, size);
    let mut v = Mat::<f64>::zeros(d, size);
    let thin = ComputeSvdVectors::Thin;
    let scratch = svd_scratch::<f64>(k, d, thin, thin, SVD_PAR, Default::default());
    svd(
        w,
        s.as_mut(),
        Some(u.as_mut()),
        Some(v.as_mut()),
        SVD_PAR,
        MemStack::new(&mut MemBuffer::new(scratch)),
        Default::default(),
    )
    .map_err(|e| PrepError::Decomposition {
        what: "insp weight SVD",
        reason: format!("{e:?}"),
    })?;
    Ok((s.column_vector().iter().copied().collect(), v))
}

/// Mean balanced accuracy over the non-empty folds, each fitted on the other folds.
fn cv_accuracy(
    x: &[f32],
    d: usize,
    y: &[u32],
    k: usize,
    folds: &[Vec<usize>],
    params: &LogisticParams,
) -> Result<f64, PrepError> {
    let n = y.len();
    let mut scores = Vec::new();
    for test in folds.iter().filter(|f| !f.is_empty()) {
        let mut in_test = vec![false; n];
        test.iter().for_each(|&i| in_test[i] = true);
        let mut train_x = Vec::with_capacity((n - test.len()) * d);
        let mut train_y = Vec::with_capacity(n - test.len());
        for i in (0..n).filter(|&i| !in_test[i]) {
            train_x.extend_from_slice(&x[i * d..(i + 1) * d]);
            train_y.push(y[i]);
        }
        let train = cpbench_metrics::Matrix::new(&train_x, train_y.len(), d).map_err(classifier)?;
        let test_x: Vec<f32> = test
            .iter()
            .flat_map(|&i| x[i * d..(i + 1) * d].iter().copied())
            .collect();
        let test_m = cpbench_metrics::Matrix::new(&test_x, test.len(), d).map_err(classifier)?;
        // A fold may hold every row of a batch (e.g. one plate per batch): fit the batches
        // present, as batch leakage does; the missing one then counts as never predicted.
        let pred =
            fit_predict(train, &train_y, test_m, k, params).map_err(|e| PrepError::Classifier {
                what: "insp cross-validation",
                reason: e.to_string(),
            })?;
        let truth: Vec<u32> = test.iter().map(|&i| y[i]).collect();
        scores.push(balanced_accuracy(&truth, &pred, k));
    }
    Ok(scores.iter().sum::<f64>() / scores.len() as f64)
}

/// Appends to `q` the directions of `candidates` (rows, `d` each) orthogonal to it; returns how many.
fn extend_basis(q: &mut Vec<f64>, candidates: &[Vec<f64>], d: usize) -> usize {
    let mut added = 0;
    for c in candidates {
        let mut v = c.clone();
        let before: f64 = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        // Two Gram-Schmidt passes keep the basis orthonormal to rounding.
        for _ in 0..2 {
            for row in q.chunks_exact(d) {
                let dot: f64 = row.iter().zip(&v).map(|(a, b)| a * b).sum();
                v.iter_mut().zip(row).for_each(|(a, b)| *a -= dot * b);
            }
        }
        let norm: f64 = v.iter().map(|a| a * a).sum::<f64>().sqrt();
        if norm > 1e-8 * before.max(f64::MIN_POSITIVE) {
            q.extend(v.iter().map(|a| a / norm));
            added += 1;
        }
    }
    added
}

impl Transform for Insp {
    fn name(&self) -> &'static str {
        "insp"
    }

    fn fit<T: Float>(&mut self, x: Matrix<'_, T>, rows: &[usize]) -> Result<(), PrepError> {
        x.check_rows(rows)?;
        if self.batch.len() != x.n() {
            return Err(PrepError::ShapeMismatch {
                what: "batch labels (one per row)",
                expected: x.n(),
                got: self.batch.len(),
            });
        }
        let d = x.d();
        // Dense batch codes over the fit rows, in order of first appearance.
        let mut code = std::collections::HashMap::new();
        let y: Vec<u32> = rows
            .iter()
            .map(|&r| {
                let next = code.len() as u32;
                *code.entry(self.batch[r]).or_insert(next)
            })
            .collect();
        let k = code.len();
        if k < 2 {
            return Err(PrepError::Classifier {
                what: "insp",
                reason: format!(
                    "the fit rows hold {k} batch; predicting the batch needs at least 2"
                ),
            });
        }
        let groups: Vec<u32> = match &self.fold_groups {
            Some(g) => rows.iter().map(|&r| g[r]).collect(),
            None => (0..rows.len() as u32).collect(),
        };
        let folds = stratified_group_kfold(&y, &groups, self.params.folds, self.params.seed)
            .map_err(classifier)?;
        let mut params = self.params.logistic.clone();
        params.balanced = self.params.balance;

        let xs: Vec<f64> = rows
            .iter()
            .flat_map(|&r| x.row(r).iter().map(|&v| v.to_f64()))
            .collect();
        if let Some(p) = xs.iter().position(|v| !v.is_finite()) {
            return Err(PrepError::NonFinite {
                what: "insp fit",
                row: rows[p / d.max(1)],
                feature: p % d.max(1),
            });
        }
        let n = rows.len();
        let mut basis: Vec<f64> = Vec::new();
        let mut accuracy = Vec::new();
        let mut removed = Vec::new();
        loop {
            // The classifier reads f32 (see the module docs).
            let xp: Vec<f32> = project(&xs, n, d, &basis)
                .into_iter()
                .map(|v| v as f32)
                .collect();
            let acc = cv_accuracy(&xp, d, &y, k, &folds, &params)?;
            accuracy.push(acc);
            if acc < self.params.threshold || removed.len() >= self.params.max_iter {
                break;
            }
            let view = cpbench_metrics::Matrix::new(&xp, n, d).map_err(classifier)?;
            let model = fit_logistic(view, &y, k, &params).map_err(classifier)?;
            let w = MatRef::from_row_major_slice(&model.coef, k, d);
            let (s, v) = weight_svd(w)?;
            let tol = s.first().copied().unwrap_or(0.0) * k.max(d) as f64 * f64::EPSILON;
            let candidates: Vec<Vec<f64>> = (0..s.len())
                .filter(|&j| s[j] > tol)
                .map(|j| (0..d).map(|i| v[(i, j)]).collect())
                .collect();
            let added = extend_basis(&mut basis, &candidates, d);
            if added == 0 {
                // The classifier has no weight left outside the removed space.
                break;
            }
            removed.push(added);
        }
        self.fitted = Some(InspFit {
            basis,
            d,
            accuracy,
            removed,
            n_batches: k,
        });
        Ok(())
    }

    fn apply<T: Float>(&self, x: &mut [T], n: usize, d: usize) -> Result<(), PrepError> {
        let fitted = fitted_for_apply(self.fitted.as_ref(), "insp", |f| f.d, (x.len(), n, d))?;
        // The projection mixes every feature of a row, so one NaN would silently spread to the
        // whole row: refuse it instead, naming the value.
        if let Some(i) = x.iter().position(|v| !v.is_finite()) {
            return Err(PrepError::NonFinite {
                what: "insp apply",
                row: i / d,
                feature: i % d,
            });
        }
        const BLOCK: usize = 4096;
        for block in x.chunks_mut(BLOCK * d.max(1)) {
            let b = block.len() / d.max(1);
            let xs: Vec<f64> = block.iter().map(|&v| v.to_f64()).collect();
            for (v, p) in block.iter_mut().zip(project(&xs, b, d, &fitted.basis)) {
                *v = T::from_f64(p);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Deterministic standard-normal-ish noise (sum of uniforms).
    fn noise(state: &mut u64) -> f64 {
        let mut s = 0.0;
        for _ in 0..6 {
            *state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            s += (*state >> 11) as f64 / (1u64 << 53) as f64;
        }
        (s - 3.0) * 2f64.sqrt()
    }

    /// 3 batches shifted within the plane of features 0 and 1; a treatment signal on feature 5.
    fn planted(n: usize, d: usize) -> (Vec<f32>, Vec<u32>, Vec<u32>) {
        let mut state = 42u64;
        let offsets = [[4.0, 0.0], [-2.0, 3.5], [-2.0, -3.5]];
        let mut x = vec![0.0f32; n * d];
        let (mut batch, mut treat) = (Vec::new(), Vec::new());
        for i in 0..n {
            let b = (i % 3) as u32;
            let t = ((i / 3) % 2) as u32;
            for j in 0..d {
                let mut v = noise(&mut state) * 0.5;
                if j < 2 {
                    v += offsets[b as usize][j];
                }
                if j == 5 {
                    v += if t == 1 { 3.0 } else { -3.0 };
                }
                x[i * d + j] = v as f32;
            }
            batch.push(b);
            treat.push(t);
        }
        (x, batch, treat)
    }

    #[test]
    fn planted_batch_directions_are_removed_and_biology_survives() {
        let (n, d) = (180, 8);
        let (x, batch, treat) = planted(n, d);
        let params = InspParams {
            threshold: 0.5,
            ..InspParams::default()
        };
        let mut t = Insp::new(params, batch.clone(), None).unwrap();
        let rows: Vec<usize> = (0..n).collect();
        t.fit(Matrix::new(&x, n, d).unwrap(), &rows).unwrap();
        let fit = t.fitted().unwrap().clone();
        assert!(fit.accuracy[0] > 0.95, "{:?}", fit.accuracy);
        let last = *fit.accuracy.last().unwrap();
        assert!(last < 0.5, "accuracy did not fall: {:?}", fit.accuracy);
        assert_eq!(fit.accuracy.len(), fit.removed.len() + 1);

        // The batch plane is (almost) annihilated; the treatment axis is kept.
        let p = fit.projection();
        let norm_of = |j: usize| (0..d).map(|i| p[i * d + j].powi(2)).sum::<f64>().sqrt();
        assert!(
            norm_of(0) < 0.15 && norm_of(1) < 0.15,
            "{} {}",
            norm_of(0),
            norm_of(1)
        );
        assert!(norm_of(5) > 0.9, "treatment axis shrank to {}", norm_of(5));
        // P is a symmetric projection.
        for i in 0..d {
            for j in 0..d {
                let pp: f64 = (0..d).map(|k| p[i * d + k] * p[k * d + j]).sum();
                assert!((pp - p[i * d + j]).abs() < 1e-10);
                assert!((p[i * d + j] - p[j * d + i]).abs() < 1e-12);
            }
        }

        let mut out = x.clone();
        t.apply(&mut out, n, d).unwrap();
        // Batch means now coincide; treatment means stay far apart.
        let mean = |label: &[u32], c: u32, j: usize| {
            let v: Vec<f64> = (0..n)
                .filter(|&i| label[i] == c)
                .map(|i| f64::from(out[i * d + j]))
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        };
        for j in 0..d {
            let m: Vec<f64> = (0..3).map(|b| mean(&batch, b, j)).collect();
            let spread = m.iter().cloned().fold(f64::MIN, f64::max)
                - m.iter().cloned().fold(f64::MAX, f64::min);
            assert!(spread < 0.6, "feature {j}: batch means {m:?}");
        }
        let sep: f64 = (0..d)
            .map(|j| (mean(&treat, 1, j) - mean(&treat, 0, j)).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!(sep > 5.0, "treatment separation {sep}");
    }

    #[test]
    fn stops_at_max_iter_and_below_threshold() {
        let (n, d) = (90, 6);
        let (x, batch, _) = planted(n, d);
        let view = Matrix::new(&x, n, d).unwrap();
        let rows: Vec<usize> = (0..n).collect();
        let mut once = Insp::new(
            InspParams {
                max_iter: 1,
                threshold: 0.01,
                ..InspParams::default()
            },
            batch.clone(),
            None,
        )
        .unwrap();
        once.fit(view, &rows).unwrap();
        let fit = once.fitted().unwrap();
        assert_eq!(fit.removed, vec![2], "3 batches: W has rank 2");
        assert_eq!(fit.accuracy.len(), 2);
        // Batch labels unrelated to the profiles: chance accuracy is below the
        // threshold from the start, so nothing is projected and apply is the identity.
        let shuffled: Vec<u32> = (0..n as u32).map(|i| (i * 7 / 3) % 3).collect();
        let mut none = Insp::new(
            InspParams {
                threshold: 0.6,
                max_iter: 5,
                ..InspParams::default()
            },
            shuffled,
            None,
        )
        .unwrap();
        let noise_only: Vec<f32> = {
            let mut state = 7u64;
            (0..n * d).map(|_| noise(&mut state) as f32).collect()
        };
        none.fit(Matrix::new(&noise_only, n, d).unwrap(), &rows)
            .unwrap();
        let fit = none.fitted().unwrap();
        assert_eq!(fit.accuracy.len(), 1, "{:?}", fit.accuracy);
        assert!(fit.accuracy[0] < 0.6);
        assert!(fit.removed.is_empty() && fit.rank_removed() == 0);
        let mut out = noise_only.clone();
        none.apply(&mut out, n, d).unwrap();
        assert_eq!(out, noise_only);
    }

    #[test]
    fn a_fold_holding_a_whole_batch_is_scored_not_an_error() {
        // Fold groups = batches and 3 folds: each test fold is one whole batch, which its
        // training rows never show, so no prediction can be right.
        let (n, d) = (90, 6);
        let (x, batch, _) = planted(n, d);
        let rows: Vec<usize> = (0..n).collect();
        let mut t = Insp::new(
            InspParams {
                folds: 3,
                max_iter: 1,
                ..InspParams::default()
            },
            batch.clone(),
            Some(batch),
        )
        .unwrap();
        t.fit(Matrix::new(&x, n, d).unwrap(), &rows).unwrap();
        assert_eq!(t.fitted().unwrap().accuracy[0], 0.0);
    }

    #[test]
    fn non_finite_values_are_refused_at_apply() {
        let (n, d) = (90, 6);
        let (x, batch, _) = planted(n, d);
        let rows: Vec<usize> = (0..n).collect();
        let mut t = Insp::new(InspParams::default(), batch, None).unwrap();
        t.fit(Matrix::new(&x, n, d).unwrap(), &rows).unwrap();
        let mut y = x.clone();
        y[2 * d + 4] = f32::NAN;
        assert_eq!(
            t.apply(&mut y, n, d),
            Err(PrepError::NonFinite {
                what: "insp apply",
                row: 2,
                feature: 4
            })
        );
    }

    #[test]
    fn bad_input_is_rejected() {
        let (n, d) = (12, 3);
        let (mut x, batch, _) = planted(n, d);
        let rows: Vec<usize> = (0..n).collect();
        let bad = |p: InspParams| Insp::new(p, batch.clone(), None).unwrap_err();
        assert!(matches!(
            bad(InspParams {
                threshold: 0.0,
                ..InspParams::default()
            }),
            PrepError::InvalidParameter {
                name: "threshold",
                ..
            }
        ));
        assert!(matches!(
            bad(InspParams {
                folds: 1,
                ..InspParams::default()
            }),
            PrepError::InvalidParameter { name: "folds", .. }
        ));
        let mut one = Insp::new(InspParams::default(), vec![0; n], None).unwrap();
        assert!(matches!(
            one.fit(Matrix::new(&x, n, d).unwrap(), &rows),
            Err(PrepError::Classifier { .. })
        ));
        let t = Insp::new(InspParams::default(), batch.clone(), None).unwrap();
        assert_eq!(
            t.apply(&mut x.clone(), n, d),
            Err(PrepError::NotFitted { step: "insp" })
        );
        x[5] = f32::NAN;
        let mut t = Insp::new(InspParams::default(), batch.clone(), None).unwrap();
        assert_eq!(
            t.fit(Matrix::new(&x, n, d).unwrap(), &rows),
            Err(PrepError::NonFinite {
                what: "insp fit",
                row: 1,
                feature: 2
            })
        );
        assert!(Insp::new(InspParams::default(), batch, Some(vec![0; 3])).is_err());
    }
}
