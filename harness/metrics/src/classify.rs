//! A multinomial L2-regularized logistic classifier, balanced accuracy and grouped stratified
//! K-fold splits — the pieces batch-leakage scoring (and any other "is X predictable from the
//! profiles" question) is built from.
//!
//! # Model (scikit-learn `LogisticRegression(penalty="l2", solver="lbfgs")` conventions)
//!
//! With sample weights `s_i` (1, or `n / (K · n_class)` when `balanced`) the fit minimizes
//! `(1/S) Σ s_i ℓ_i + ‖W‖² / (2 C S)`, `S = Σ s_i`, where `ℓ_i` is the softmax cross-entropy of
//! row `i` and the intercepts are not penalized. This has the minimizer of scikit-learn's
//! `C Σ s_i ℓ_i + ½‖W‖²`. For `K > 2` classes all `K` coefficient rows are fitted (the L2
//! penalty makes them sum to zero) and the intercepts are centered to sum to zero, as
//! scikit-learn's lbfgs path leaves them. For `K = 2` scikit-learn fits one binomial row; so does
//! this fit, stored as row 1 with row 0 all zeros, so that `decision_function`'s class-1 column
//! equals scikit-learn's binary `decision_function` and predictions agree.
//!
//! The solver is L-BFGS (memory 10) with Armijo backtracking, started from zero; it stops when
//! the largest absolute gradient entry of the scaled objective is at most `tol` (scipy's `gtol`,
//! which scikit-learn sets to `tol`), when the relative decrease of the objective falls below
//! `64 ε` (scikit-learn's `ftol`), or after `max_iter` iterations. The objective is strictly
//! convex, so both solvers approach the same optimum; coefficients agree to the accuracy either
//! solver reached, not bit for bit.
//!
//! Why a solver of our own rather than `linfa-logistic` 0.8.1 (checked in its source): its
//! objective is the same up to `α = 1/C` (summed log-loss, unpenalized intercept), but it takes
//! no sample or class weights, which `balanced` needs, and it would pull a second `ndarray`
//! major version plus `argmin` into the metrics crate. Here the objective and its gradient are
//! two faer matrix products and L-BFGS is a page of code; the two were not timed against each
//! other.
//!
//! # Thread count
//!
//! Fits and predictions are bit-identical at any `RAYON_NUM_THREADS`. faer's GEMM kernels split
//! a product's output among threads, never its sums, so the logits (`X Wᵀ`) and the
//! multinomial gradient may use the whole pool. The binary gradient `zᵀ X` (one coefficient
//! row) is a matrix–vector product whose faer kernel splits the sum over rows into one part
//! per thread of its `Par` (above 65,536 values): it runs with `GRADIENT_PAR`, a fixed split.
//! (Each product's shapes were checked bit for bit against `Par::Seq` at 1 to 16 threads, faer
//! 0.24.4 on AVX2, and the e2e thread sweep runs INSP and batch leakage at 1, 2 and 4.)

use std::num::NonZeroUsize;

use faer::{Accum, MatMut, MatRef, Par};

use crate::error::MetricError;
use crate::matrix::Matrix;
use crate::rng::Xoshiro256StarStar;

/// The parallelism of the gradient product `zᵀ X`: always two parts. With one coefficient row
/// (a binary model) faer computes it with a matrix–vector kernel that sums the rows in as many
/// parts as its `Par` names, so the pool's size (`Par::rayon(0)`) made the gradient, and through
/// L-BFGS the fitted model, INSP's projection and batch-leakage predictions, follow
/// `RAYON_NUM_THREADS`: INSP of the LINCS plate's two `Metadata_pert_type` classes gave a
/// balanced accuracy of 0.4417 after the first projection at 1 and 8 threads but 0.4403 at 2 to
/// 4, and projected values apart by up to 3e-5 (relative). Two, because the shipped numbers were
/// computed with two threads: they stay as they were.
const GRADIENT_PAR: Par = Par::Rayon(NonZeroUsize::new(2).unwrap());

/// Multinomial L2-regularized logistic regression settings (scikit-learn `LogisticRegression` conventions).
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticParams {
    /// Inverse regularization strength (> 0); larger means weaker L2.
    pub c: f64,
    /// Most L-BFGS iterations.
    pub max_iter: u32,
    /// Stop when the largest absolute gradient entry (of the sample-weight-averaged objective) is at most this.
    pub tol: f64,
    /// Weight each class by `n / (K · n_class)` (scikit-learn `class_weight="balanced"`).
    pub balanced: bool,
    /// Fit an unpenalized intercept per class.
    pub fit_intercept: bool,
}

impl Default for LogisticParams {
    fn default() -> Self {
        LogisticParams {
            c: 1.0,
            max_iter: 100,
            tol: 1e-4,
            balanced: false,
            fit_intercept: true,
        }
    }
}

impl LogisticParams {
    /// Checks every field's range; the error names the field.
    pub fn validate(&self) -> Result<(), MetricError> {
        crate::params::inverse_regularization(self.c)?;
        if self.max_iter == 0 {
            return Err(MetricError::InvalidParameter {
                name: "max_iter",
                value: "0".to_owned(),
                reason: "must be at least 1".to_owned(),
            });
        }
        if !(self.tol.is_finite() && self.tol >= 0.0) {
            return Err(MetricError::InvalidParameter {
                name: "tol",
                value: self.tol.to_string(),
                reason: "must be finite and ≥ 0".to_owned(),
            });
        }
        Ok(())
    }
}

/// A fitted model: coef is n_classes × d row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticModel {
    /// Coefficients, `n_classes × d` row-major (row 0 is all zeros for a binary model).
    pub coef: Vec<f64>,
    /// Intercept per class (0 for class 0 of a binary model, and everywhere without an intercept).
    pub intercept: Vec<f64>,
    /// Number of classes.
    pub n_classes: usize,
    /// Number of features.
    pub d: usize,
    /// L-BFGS iterations run.
    pub n_iter: u32,
    /// Whether a stopping criterion was met before `max_iter`.
    pub converged: bool,
}

/// Fits the model to rows `x` with class codes `y` in `0..n_classes`.
///
/// Errors: fewer than two classes, a code out of range, a class without rows, a length
/// mismatch, non-finite features, or invalid `params`.
pub fn fit_logistic(
    x: Matrix<'_>,
    y: &[u32],
    n_classes: usize,
    params: &LogisticParams,
) -> Result<LogisticModel, MetricError> {
    params.validate()?;
    let (n, d) = (x.n(), x.d());
    if y.len() != n {
        return Err(MetricError::ShapeMismatch {
            what: "labels (one per row)",
            expected: n,
            got: y.len(),
        });
    }
    if n_classes < 2 {
        return Err(MetricError::InvalidParameter {
            name: "n_classes",
            value: n_classes.to_string(),
            reason: "a classifier needs at least two classes".to_owned(),
        });
    }
    let mut counts = vec![0usize; n_classes];
    for (row, &c) in y.iter().enumerate() {
        let Some(slot) = counts.get_mut(c as usize) else {
            return Err(MetricError::InvalidParameter {
                name: "y",
                value: c.to_string(),
                reason: format!("row {row}: class code must be below n_classes = {n_classes}"),
            });
        };
        *slot += 1;
    }
    if let Some(empty) = counts.iter().position(|&c| c == 0) {
        return Err(MetricError::InvalidParameter {
            name: "y",
            value: empty.to_string(),
            reason: "this class has no rows to fit".to_owned(),
        });
    }
    for (row, values) in x.rows().enumerate() {
        if let Some(col) = values.iter().position(|v| !v.is_finite()) {
            return Err(MetricError::NonFinite { row, col });
        }
    }

    let weights: Vec<f64> = if params.balanced {
        let per_class: Vec<f64> = counts
            .iter()
            .map(|&c| n as f64 / (n_classes as f64 * c as f64))
            .collect();
        y.iter().map(|&c| per_class[c as usize]).collect()
    } else {
        vec![1.0; n]
    };
    let problem = Problem {
        x: x.data().iter().map(|&v| f64::from(v)).collect(),
        y,
        weights_sum: weights.iter().sum(),
        weights,
        n,
        d,
        free: if n_classes == 2 { 1 } else { n_classes },
        n_classes,
        c: params.c,
        fit_intercept: params.fit_intercept,
    };
    let (theta, n_iter, converged) = lbfgs(&problem, params.max_iter, params.tol);

    let m = problem.free;
    let mut coef = vec![0.0; n_classes * d];
    let mut intercept = vec![0.0; n_classes];
    let first = n_classes - m;
    coef[first * d..].copy_from_slice(&theta[..m * d]);
    if params.fit_intercept {
        intercept[first..].copy_from_slice(&theta[m * d..]);
        if m == n_classes {
            let mean = intercept.iter().sum::<f64>() / n_classes as f64;
            intercept.iter_mut().for_each(|b| *b -= mean);
        }
    }
    Ok(LogisticModel {
        coef,
        intercept,
        n_classes,
        d,
        n_iter,
        converged,
    })
}

impl LogisticModel {
    /// Class scores `x·coefᵀ + intercept`, `n × n_classes` row-major; panics if `x.d() != d`.
    pub fn decision_function(&self, x: Matrix<'_>) -> Vec<f64> {
        assert_eq!(x.d(), self.d, "feature count differs from the fitted model");
        let (n, k) = (x.n(), self.n_classes);
        let xs: Vec<f64> = x.data().iter().map(|&v| f64::from(v)).collect();
        let mut out = vec![0.0; n * k];
        if n == 0 {
            return out;
        }
        for row in out.chunks_exact_mut(k) {
            row.copy_from_slice(&self.intercept);
        }
        let xm = MatRef::from_row_major_slice(&xs, n, self.d);
        let wt = MatRef::from_row_major_slice(&self.coef, k, self.d).transpose();
        let dst = MatMut::from_row_major_slice_mut(&mut out, n, k);
        // A GEMM (k ≥ 2 classes): the pool's size does not change a value (module docs).
        faer::linalg::matmul::matmul(dst, Accum::Add, xm, wt, 1.0, Par::rayon(0));
        out
    }

    /// The highest-scoring class of each row (the lowest code among equal scores).
    pub fn predict(&self, x: Matrix<'_>) -> Vec<u32> {
        let k = self.n_classes;
        self.decision_function(x)
            .chunks_exact(k)
            .map(|s| {
                let mut best = 0;
                for (c, &v) in s.iter().enumerate() {
                    if v > s[best] {
                        best = c;
                    }
                }
                best as u32
            })
            .collect()
    }
}

/// The fitting problem: data in `f64`, labels, sample weights, penalty.
struct Problem<'a> {
    x: Vec<f64>,
    y: &'a [u32],
    weights: Vec<f64>,
    weights_sum: f64,
    n: usize,
    d: usize,
    /// Fitted coefficient rows: 1 for a binary model (class 1 against a fixed zero), else K.
    free: usize,
    n_classes: usize,
    c: f64,
    fit_intercept: bool,
}

impl Problem<'_> {
    /// Length of the parameter vector: coefficient rows, then intercepts.
    fn dim(&self) -> usize {
        self.free * self.d + if self.fit_intercept { self.free } else { 0 }
    }

    /// Objective value and its gradient (written into `grad`) at `theta`.
    fn eval(&self, theta: &[f64], grad: &mut [f64]) -> f64 {
        let (n, d, m) = (self.n, self.d, self.free);
        let w = &theta[..m * d];
        // logits, n × m row-major
        let mut z = vec![0.0; n * m];
        if self.fit_intercept {
            let b = &theta[m * d..];
            for row in z.chunks_exact_mut(m) {
                row.copy_from_slice(b);
            }
        }
        let xm = MatRef::from_row_major_slice(&self.x, n, d);
        // The whole pool: a GEMM, or with one coefficient row a row-major matrix–vector product
        // (a whole dot product per row); neither splits a sum between threads (module docs).
        faer::linalg::matmul::matmul(
            MatMut::from_row_major_slice_mut(&mut z, n, m),
            Accum::Add,
            xm,
            MatRef::from_row_major_slice(w, m, d).transpose(),
            1.0,
            Par::rayon(0),
        );
        let binary = m + 1 == self.n_classes;
        let mut loss = 0.0;
        // z becomes the weighted residual s_i (p_ic − [y_i = c]) / S in place.
        for ((row, &yi), &s) in z.chunks_exact_mut(m).zip(self.y).zip(&self.weights) {
            let s = s / self.weights_sum;
            // The binary model's class 0 has the fixed logit 0.
            let max = row
                .iter()
                .copied()
                .fold(if binary { 0.0 } else { f64::NEG_INFINITY }, f64::max);
            let mut total = if binary { (-max).exp() } else { 0.0 };
            for v in row.iter() {
                total += (v - max).exp();
            }
            let log_total = max + total.ln();
            let yi = yi as usize;
            let true_logit = if binary {
                if yi == 1 { row[0] } else { 0.0 }
            } else {
                row[yi]
            };
            loss += s * (log_total - true_logit);
            for (c, v) in row.iter_mut().enumerate() {
                let class = if binary { 1 } else { c };
                let p = (*v - log_total).exp();
                *v = s * (p - if class == yi { 1.0 } else { 0.0 });
            }
        }
        let penalty = 1.0 / (self.c * self.weights_sum);
        let (gw, gb) = grad.split_at_mut(m * d);
        gw.copy_from_slice(w);
        gw.iter_mut().for_each(|g| *g *= penalty);
        // A fixed split, not the pool: see GRADIENT_PAR.
        faer::linalg::matmul::matmul(
            MatMut::from_row_major_slice_mut(gw, m, d),
            Accum::Add,
            MatRef::from_row_major_slice(&z, n, m).transpose(),
            xm,
            1.0,
            GRADIENT_PAR,
        );
        if self.fit_intercept {
            gb.fill(0.0);
            for row in z.chunks_exact(m) {
                gb.iter_mut().zip(row).for_each(|(g, r)| *g += r);
            }
        }
        loss + 0.5 * penalty * w.iter().map(|v| v * v).sum::<f64>()
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn max_abs(a: &[f64]) -> f64 {
    a.iter().fold(0.0, |m, v| m.max(v.abs()))
}

/// Minimizes the problem from zero; returns the parameters, iterations run and whether a
/// stopping criterion (rather than `max_iter`) ended the run.
fn lbfgs(problem: &Problem<'_>, max_iter: u32, tol: f64) -> (Vec<f64>, u32, bool) {
    const MEMORY: usize = 10;
    const FTOL: f64 = 64.0 * f64::EPSILON;
    const MAX_LINE_SEARCH: usize = 50;
    let dim = problem.dim();
    let mut theta = vec![0.0; dim];
    let mut grad = vec![0.0; dim];
    let mut f = problem.eval(&theta, &mut grad);
    let mut s_hist: Vec<Vec<f64>> = Vec::with_capacity(MEMORY);
    let mut y_hist: Vec<Vec<f64>> = Vec::with_capacity(MEMORY);
    let mut rho: Vec<f64> = Vec::with_capacity(MEMORY);
    let mut trial = vec![0.0; dim];
    let mut trial_grad = vec![0.0; dim];
    for iter in 0..max_iter {
        if max_abs(&grad) <= tol {
            return (theta, iter, true);
        }
        // Two-loop recursion: direction = −H·grad.
        let mut q = grad.clone();
        let mut alpha = vec![0.0; s_hist.len()];
        for i in (0..s_hist.len()).rev() {
            alpha[i] = rho[i] * dot(&s_hist[i], &q);
            q.iter_mut()
                .zip(&y_hist[i])
                .for_each(|(v, yv)| *v -= alpha[i] * yv);
        }
        let gamma = match (s_hist.last(), y_hist.last()) {
            (Some(s), Some(y)) => dot(s, y) / dot(y, y),
            // First step: a unit-length move along the steepest descent.
            _ => 1.0 / dot(&grad, &grad).sqrt().max(1.0),
        };
        q.iter_mut().for_each(|v| *v *= gamma);
        for i in 0..s_hist.len() {
            let beta = rho[i] * dot(&y_hist[i], &q);
            q.iter_mut()
                .zip(&s_hist[i])
                .for_each(|(v, sv)| *v += (alpha[i] - beta) * sv);
        }
        let mut direction = q;
        direction.iter_mut().for_each(|v| *v = -*v);
        let mut slope = dot(&grad, &direction);
        if slope >= 0.0 {
            // Not a descent direction (curvature pairs went stale): restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho.clear();
            direction = grad.iter().map(|g| -g).collect();
            slope = -dot(&grad, &grad);
        }
        let mut step = 1.0;
        let mut accepted = false;
        let mut f_new = f;
        for _ in 0..MAX_LINE_SEARCH {
            trial
                .iter_mut()
                .zip(&theta)
                .zip(&direction)
                .for_each(|((t, th), dir)| *t = th + step * dir);
            f_new = problem.eval(&trial, &mut trial_grad);
            if f_new.is_finite() && f_new <= f + 1e-4 * step * slope {
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            return (theta, iter, true);
        }
        let s: Vec<f64> = trial.iter().zip(&theta).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = trial_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        std::mem::swap(&mut theta, &mut trial);
        std::mem::swap(&mut grad, &mut trial_grad);
        let f_old = f;
        f = f_new;
        if sy > 1e-12 * dot(&y, &y).max(f64::MIN_POSITIVE) {
            if s_hist.len() == MEMORY {
                s_hist.remove(0);
                y_hist.remove(0);
                rho.remove(0);
            }
            s_hist.push(s);
            y_hist.push(y);
            rho.push(1.0 / sy);
        }
        if (f_old - f) / f_old.abs().max(f.abs()).max(1.0) <= FTOL {
            return (theta, iter + 1, true);
        }
    }
    let done = max_abs(&grad) <= tol;
    (theta, max_iter, done)
}

/// Fits the logistic model on the training rows and predicts the test rows, in codes `0..n_classes`.
///
/// Only the classes present in `train_y` are fitted (a cross-validation fold can hold every row
/// of a class in its test part); such a class is never predicted. One class present: every test
/// row gets it.
pub fn fit_predict(
    train_x: Matrix<'_>,
    train_y: &[u32],
    test_x: Matrix<'_>,
    n_classes: usize,
    params: &LogisticParams,
) -> Result<Vec<u32>, MetricError> {
    let mut compact = vec![u32::MAX; n_classes];
    let mut present = Vec::new();
    for &c in train_y {
        if compact[c as usize] == u32::MAX {
            compact[c as usize] = 0;
            present.push(c);
        }
    }
    present.sort_unstable();
    for (i, &c) in present.iter().enumerate() {
        compact[c as usize] = i as u32;
    }
    if present.len() == 1 {
        return Ok(vec![present[0]; test_x.n()]);
    }
    let y: Vec<u32> = train_y.iter().map(|&c| compact[c as usize]).collect();
    let model = fit_logistic(train_x, &y, present.len(), params)?;
    Ok(model
        .predict(test_x)
        .into_iter()
        .map(|c| present[c as usize])
        .collect())
}

/// Mean per-class recall over the classes present in `y_true` (scikit-learn
/// `balanced_accuracy_score`); NaN when `y_true` is empty.
///
/// Codes at or above `n_classes` in either vector count as their own (never matching) class
/// in `y_pred` and are ignored in `y_true`. Panics if the lengths differ.
pub fn balanced_accuracy(y_true: &[u32], y_pred: &[u32], n_classes: usize) -> f64 {
    assert_eq!(
        y_true.len(),
        y_pred.len(),
        "y_true and y_pred lengths differ"
    );
    let mut total = vec![0usize; n_classes];
    let mut hit = vec![0usize; n_classes];
    for (&t, &p) in y_true.iter().zip(y_pred) {
        if let Some(slot) = total.get_mut(t as usize) {
            *slot += 1;
            hit[t as usize] += usize::from(t == p);
        }
    }
    let present: Vec<f64> = total
        .iter()
        .zip(&hit)
        .filter(|(t, _)| **t > 0)
        .map(|(&t, &h)| h as f64 / t as f64)
        .collect();
    if present.is_empty() {
        return f64::NAN;
    }
    present.iter().sum::<f64>() / present.len() as f64
}

/// Test-row indices per fold; every class spread over folds, groups never split (sklearn StratifiedGroupKFold spirit, seeded).
///
/// scikit-learn's greedy rule: groups, shuffled by `seed`, are taken in decreasing order of the
/// standard deviation of their class counts (stable), and each goes to the fold that minimizes
/// the mean over classes of the standard deviation across folds of the class's share; near
/// ties (numpy `isclose`) go to the fold with fewer rows, then the lower fold. Test indices
/// are ascending within a fold. Folds can end up empty when a few groups dominate; errors:
/// `k < 2`, fewer distinct groups than `k`, or lengths that differ.
pub fn stratified_group_kfold(
    y: &[u32],
    groups: &[u32],
    k: usize,
    seed: u64,
) -> Result<Vec<Vec<usize>>, MetricError> {
    if y.len() != groups.len() {
        return Err(MetricError::ShapeMismatch {
            what: "groups (one per row)",
            expected: y.len(),
            got: groups.len(),
        });
    }
    crate::params::folds(k as u64)?;
    let n_classes = y.iter().map(|&c| c as usize + 1).max().unwrap_or(0);
    let mut group_ids: Vec<u32> = groups.to_vec();
    group_ids.sort_unstable();
    group_ids.dedup();
    if group_ids.len() < k {
        return Err(MetricError::InvalidParameter {
            name: "folds",
            value: k.to_string(),
            reason: format!(
                "only {} distinct groups; each fold needs at least one",
                group_ids.len()
            ),
        });
    }
    let group_of = |g: u32| group_ids.binary_search(&g).expect("listed above");
    let n_groups = group_ids.len();
    let mut counts = vec![0.0f64; n_groups * n_classes];
    let mut class_total = vec![0.0f64; n_classes];
    for (&c, &g) in y.iter().zip(groups) {
        counts[group_of(g) * n_classes + c as usize] += 1.0;
        class_total[c as usize] += 1.0;
    }
    let std = |v: &[f64]| {
        let mean = v.iter().sum::<f64>() / v.len() as f64;
        (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
    };
    let mut order: Vec<usize> = (0..n_groups).collect();
    let mut rng = Xoshiro256StarStar::from_key(seed);
    for i in (1..n_groups).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    let spread: Vec<f64> = (0..n_groups)
        .map(|g| std(&counts[g * n_classes..(g + 1) * n_classes]))
        .collect();
    order.sort_by(|&a, &b| spread[b].total_cmp(&spread[a]));

    let mut fold_counts = vec![0.0f64; k * n_classes];
    let mut fold_of_group = vec![0usize; n_groups];
    let mut column = vec![0.0f64; k];
    for &g in &order {
        let gc = &counts[g * n_classes..(g + 1) * n_classes];
        let mut best: Option<(usize, f64, f64)> = None;
        for f in 0..k {
            let mut eval = 0.0;
            for c in 0..n_classes {
                if class_total[c] == 0.0 {
                    continue;
                }
                for (ff, slot) in column.iter_mut().enumerate() {
                    let extra = if ff == f { gc[c] } else { 0.0 };
                    *slot = (fold_counts[ff * n_classes + c] + extra) / class_total[c];
                }
                eval += std(&column);
            }
            eval /= n_classes as f64;
            let size: f64 = fold_counts[f * n_classes..(f + 1) * n_classes].iter().sum();
            let better = match best {
                None => true,
                Some((_, best_eval, best_size)) => {
                    let close = (eval - best_eval).abs() <= 1e-8 + 1e-5 * best_eval.abs();
                    eval < best_eval || (close && size < best_size)
                }
            };
            if better {
                best = Some((f, eval, size));
            }
        }
        let f = best.expect("k ≥ 2 folds").0;
        fold_of_group[g] = f;
        for c in 0..n_classes {
            fold_counts[f * n_classes + c] += gc[c];
        }
    }
    let mut folds = vec![Vec::new(); k];
    for (row, &g) in groups.iter().enumerate() {
        folds[fold_of_group[group_of(g)]].push(row);
    }
    Ok(folds)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_data::uniform;

    /// Three well-separated blobs in 4 dimensions, `per` rows each.
    fn blobs(per: usize) -> (Vec<f32>, Vec<u32>) {
        let noise = uniform(3 * per, 4, 11);
        let mut x = Vec::new();
        let mut y = Vec::new();
        for c in 0..3u32 {
            for r in 0..per {
                for j in 0..4 {
                    let centre = if j == c as usize { 3.0 } else { 0.0 };
                    x.push(centre + noise[(c as usize * per + r) * 4 + j]);
                }
                y.push(c);
            }
        }
        (x, y)
    }

    #[test]
    fn separable_blobs_are_classified_and_gradient_vanishes() {
        let (x, y) = blobs(20);
        let m = Matrix::new(&x, 60, 4).unwrap();
        let params = LogisticParams {
            tol: 1e-10,
            max_iter: 1000,
            ..LogisticParams::default()
        };
        let model = fit_logistic(m, &y, 3, &params).unwrap();
        assert!(model.converged);
        assert_eq!(model.predict(m), y);
        // The optimum of an L2 multinomial fit has coefficient rows summing to zero.
        for j in 0..4 {
            let s: f64 = (0..3).map(|c| model.coef[c * 4 + j]).sum();
            assert!(s.abs() < 1e-6, "column {j} sums to {s}");
        }
        assert!(model.intercept.iter().sum::<f64>().abs() < 1e-12);
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (x, y) = blobs(5);
        for (k, balanced) in [(3usize, false), (3, true), (2, true)] {
            let yy: Vec<u32> = y.iter().map(|&c| c.min(k as u32 - 1)).collect();
            let problem = Problem {
                x: x.iter().map(|&v| f64::from(v)).collect(),
                y: &yy,
                weights: (0..15)
                    .map(|i| if balanced { 1.0 + i as f64 * 0.1 } else { 1.0 })
                    .collect(),
                weights_sum: if balanced { 15.0 + 10.5 } else { 15.0 },
                n: 15,
                d: 4,
                free: if k == 2 { 1 } else { k },
                n_classes: k,
                c: 0.7,
                fit_intercept: true,
            };
            let dim = problem.dim();
            let theta: Vec<f64> = (0..dim).map(|i| (i as f64 * 0.37).sin() * 0.5).collect();
            let mut g = vec![0.0; dim];
            problem.eval(&theta, &mut g);
            let mut scratch = vec![0.0; dim];
            for i in 0..dim {
                let h = 1e-6;
                let mut plus = theta.clone();
                plus[i] += h;
                let mut minus = theta.clone();
                minus[i] -= h;
                let numeric = (problem.eval(&plus, &mut scratch)
                    - problem.eval(&minus, &mut scratch))
                    / (2.0 * h);
                assert!(
                    (numeric - g[i]).abs() < 1e-7,
                    "k={k} entry {i}: {numeric} vs {}",
                    g[i]
                );
            }
        }
    }

    #[test]
    fn binary_model_keeps_class_zero_at_zero() {
        let (x, y) = blobs(10);
        let y2: Vec<u32> = y.iter().map(|&c| u32::from(c > 0)).collect();
        let m = Matrix::new(&x, 30, 4).unwrap();
        let model = fit_logistic(m, &y2, 2, &LogisticParams::default()).unwrap();
        assert!(model.coef[..4].iter().all(|&v| v == 0.0));
        assert_eq!(model.intercept[0], 0.0);
        assert_eq!(model.predict(m), y2);
    }

    #[test]
    fn bad_inputs_are_rejected() {
        let (x, y) = blobs(2);
        let m = Matrix::new(&x, 6, 4).unwrap();
        let p = LogisticParams::default();
        assert!(matches!(
            fit_logistic(m, &y, 1, &p),
            Err(MetricError::InvalidParameter {
                name: "n_classes",
                ..
            })
        ));
        assert!(matches!(
            fit_logistic(m, &y, 4, &p),
            Err(MetricError::InvalidParameter { name: "y", .. })
        ));
        assert!(matches!(
            fit_logistic(m, &y[..5], 3, &p),
            Err(MetricError::ShapeMismatch { .. })
        ));
        let bad_c = LogisticParams { c: 0.0, ..p };
        assert!(matches!(
            fit_logistic(m, &y, 3, &bad_c),
            Err(MetricError::InvalidParameter { name: "c", .. })
        ));
        let mut nan = x.clone();
        nan[9] = f32::NAN;
        assert_eq!(
            fit_logistic(
                Matrix::new(&nan, 6, 4).unwrap(),
                &y,
                3,
                &LogisticParams::default()
            ),
            Err(MetricError::NonFinite { row: 2, col: 1 })
        );
    }

    #[test]
    fn balanced_accuracy_averages_recall_over_present_classes() {
        // class 0: 2 of 3 right; class 1: 1 of 1; class 2 absent from y_true.
        let t = [0, 0, 0, 1];
        let p = [0, 2, 0, 1];
        assert!((balanced_accuracy(&t, &p, 3) - (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-15);
        assert!(balanced_accuracy(&[], &[], 3).is_nan());
    }

    #[test]
    fn group_kfold_never_splits_groups_and_covers_every_row() {
        let y: Vec<u32> = (0..60).map(|i| (i % 3) as u32).collect();
        let groups: Vec<u32> = (0..60).map(|i| (i / 4) as u32).collect();
        let folds = stratified_group_kfold(&y, &groups, 5, 7).unwrap();
        let mut seen = vec![0; 60];
        for (f, fold) in folds.iter().enumerate() {
            assert!(!fold.is_empty(), "fold {f} empty");
            for &r in fold {
                seen[r] += 1;
                let g = groups[r];
                for (other, fold2) in folds.iter().enumerate() {
                    if other != f {
                        assert!(fold2.iter().all(|&o| groups[o] != g), "group {g} split");
                    }
                }
            }
        }
        assert!(seen.iter().all(|&c| c == 1));
        assert_eq!(folds, stratified_group_kfold(&y, &groups, 5, 7).unwrap());
        assert!(stratified_group_kfold(&y, &groups, 16, 7).is_err());
        assert!(stratified_group_kfold(&y, &groups, 1, 7).is_err());
    }

    #[test]
    fn group_kfold_stratifies_single_class_groups() {
        // 4 classes × 5 groups of one class each: 5 folds get one group of every class.
        let y: Vec<u32> = (0..40).map(|i| (i / 10) as u32).collect();
        let groups: Vec<u32> = (0..40).map(|i| (i / 2) as u32).collect();
        for seed in 0..5 {
            let folds = stratified_group_kfold(&y, &groups, 5, seed).unwrap();
            for fold in &folds {
                let mut per_class = [0; 4];
                fold.iter().for_each(|&r| per_class[y[r] as usize] += 1);
                assert_eq!(per_class, [2, 2, 2, 2], "seed {seed}");
            }
        }
    }
}
