//! Aggregation of rows into one profile per group (pycytominer 1.7.1 `aggregate` and
//! `consensus`).
//!
//! The "one profile from a set of rows" part is the [`SetAggregator`] seam:
//! [`Mean`] and [`Median`] (pycytominer `aggregate`, NaN skipped; an all-NaN
//! feature stays NaN) and [`Modz`] (pycytominer `consensus(operation="modz")`).
//! A learned set function (a Deep Sets plugin) implements the same trait to
//! replace the mean. [`aggregate_groups`] applies one aggregator to every
//! group; the caller decides the output order and which metadata survives.
//! The hierarchical cell → site median → well mean → treatment mean of the
//! Cell Painting CNN-1 paper is three [`aggregate_groups`] calls with
//! successively coarser groups.
//!
//! MODZ, as pycytominer computes it for one group of `k` replicates:
//! Spearman correlations between replicates over the features (pairwise
//! complete, average ranks for ties), diagonal ignored, negative ones set to
//! 0; each replicate's raw weight is its mean correlation to the others,
//! raised to at least `min_weight`; weights are divided by their sum (equal
//! weights if the sum is 0) and rounded to `precision` decimals; the consensus
//! is `Σ wᵢ xᵢ` with NaN terms skipped (so a feature that is NaN in every
//! replicate becomes 0, as pandas' `sum` gives). One replicate is returned as
//! is (NaN as 0).

use crate::error::PrepError;
use crate::matrix::{CheckRows, Float, Matrix};
use crate::stats::median_sorted;

/// Turns a set of rows of an `f32` (default) or `f64` matrix into one profile; the seam a learned
/// (Deep Sets) aggregator plugs into. A trait parameter rather than a generic method, so that
/// `&dyn SetAggregator<T>` can be chosen at run time.
pub trait SetAggregator<T: Float = f32> {
    /// Short name used in errors and provenance, e.g. `"mean"`.
    fn name(&self) -> &'static str;

    /// Writes the aggregate of rows `rows` (non-empty, in range) of `x` into `out` (length `d`).
    fn aggregate(&self, x: Matrix<'_, T>, rows: &[usize], out: &mut [f64])
    -> Result<(), PrepError>;
}

/// Per-feature mean, NaN skipped.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Mean;

/// Per-feature median, NaN skipped (numpy: the mean of the middle two for an even count).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Median;

/// pycytominer's moderated z-score consensus (Spearman-weighted sum of replicates).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Modz {
    min_weight: f64,
    precision: i32,
}

impl Default for Modz {
    fn default() -> Self {
        Self {
            min_weight: 0.01,
            precision: 4,
        }
    }
}

impl Modz {
    /// pycytominer's defaults: `min_weight = 0.01`, `precision = 4`; `min_weight` must be
    /// finite and `>= 0`, `precision` within `0..=15`.
    pub fn new(min_weight: f64, precision: i32) -> Result<Self, PrepError> {
        if !(min_weight.is_finite() && min_weight >= 0.0) {
            return Err(PrepError::InvalidParameter {
                name: "min_weight",
                value: min_weight.to_string(),
                reason: "must be finite and >= 0".to_owned(),
            });
        }
        if !(0..=15).contains(&precision) {
            return Err(PrepError::InvalidParameter {
                name: "precision",
                value: precision.to_string(),
                reason: "must be between 0 and 15 decimals".to_owned(),
            });
        }
        Ok(Self {
            min_weight,
            precision,
        })
    }

    /// The replicate weights MODZ gives rows `rows` of `x`, rounded as pycytominer rounds them
    /// (NaN for a replicate with no defined correlation to any other).
    ///
    /// Deliberate deviation from pycytominer 1.7.1: it normalizes with Python's `sum`, so one
    /// replicate without a defined correlation (a constant or all-NaN row) makes every weight
    /// of the group NaN and the consensus meaningless. Here that replicate gets no weight, the
    /// others are normalized among themselves, and a group where no replicate has a defined
    /// correlation falls back to equal weights.
    pub fn weights<T: Float>(&self, x: Matrix<'_, T>, rows: &[usize]) -> Vec<f64> {
        let k = rows.len();
        if k == 1 {
            return vec![1.0];
        }
        let ranked: Vec<Vec<f64>> = rows.iter().map(|&r| row_f64(x.row(r))).collect();
        let mut corr = vec![f64::NAN; k * k];
        for a in 0..k {
            for b in 0..a {
                let r = spearman(&ranked[a], &ranked[b]);
                corr[a * k + b] = r;
                corr[b * k + a] = r;
            }
        }
        let raw: Vec<f64> = (0..k)
            .map(|a| {
                let (s, c) = (0..k)
                    .filter(|&b| b != a && !corr[a * k + b].is_nan())
                    .fold((0.0, 0usize), |(s, c), b| {
                        (s + corr[a * k + b].max(0.0), c + 1)
                    });
                let mean = if c == 0 { f64::NAN } else { s / c as f64 };
                // pandas' clip leaves NaN alone.
                if mean.is_nan() {
                    mean
                } else {
                    mean.max(self.min_weight)
                }
            })
            .collect();
        let sum: f64 = raw.iter().filter(|v| !v.is_nan()).sum();
        let scale = 10f64.powi(self.precision);
        raw.iter()
            .map(|&w| {
                let w = if sum == 0.0 { 1.0 / k as f64 } else { w / sum };
                (w * scale).round_ties_even() / scale
            })
            .collect()
    }
}

fn row_f64<T: Float>(row: &[T]) -> Vec<f64> {
    row.iter().map(|&v| v.to_f64()).collect()
}

/// Average ranks (1-based, ties share their mean rank) of `v`.
pub(crate) fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0.0; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let j = i + idx[i..].iter().take_while(|&&t| v[t] == v[idx[i]]).count();
        let rank = (i + j + 1) as f64 / 2.0;
        for &t in &idx[i..j] {
            ranks[t] = rank;
        }
        i = j;
    }
    ranks
}

/// Spearman correlation over the positions where both are non-NaN (pandas' pairwise
/// complete `corr(method="spearman")`); NaN when undefined.
fn spearman(a: &[f64], b: &[f64]) -> f64 {
    let (xa, xb): (Vec<f64>, Vec<f64>) = a
        .iter()
        .zip(b)
        .filter(|(p, q)| !p.is_nan() && !q.is_nan())
        .map(|(&p, &q)| (p, q))
        .unzip();
    if xa.is_empty() {
        return f64::NAN;
    }
    let (ra, rb) = (average_ranks(&xa), average_ranks(&xb));
    let n = ra.len() as f64;
    let (ma, mb) = (ra.iter().sum::<f64>() / n, rb.iter().sum::<f64>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (p, q) in ra.iter().zip(&rb) {
        let (da, db) = (p - ma, q - mb);
        sab += da * db;
        saa += da * da;
        sbb += db * db;
    }
    let divisor = (saa * sbb).sqrt();
    if divisor == 0.0 {
        f64::NAN
    } else {
        sab / divisor
    }
}

impl<T: Float> SetAggregator<T> for Mean {
    fn name(&self) -> &'static str {
        "mean"
    }

    fn aggregate(
        &self,
        x: Matrix<'_, T>,
        rows: &[usize],
        out: &mut [f64],
    ) -> Result<(), PrepError> {
        check(x, rows, out)?;
        let mut count = vec![0usize; x.d()];
        out.fill(0.0);
        for &r in rows {
            for ((o, c), &v) in out.iter_mut().zip(&mut count).zip(x.row(r)) {
                if !v.is_nan() {
                    *o += v.to_f64();
                    *c += 1;
                }
            }
        }
        for (o, &c) in out.iter_mut().zip(&count) {
            *o = if c == 0 { f64::NAN } else { *o / c as f64 };
        }
        Ok(())
    }
}

impl<T: Float> SetAggregator<T> for Median {
    fn name(&self) -> &'static str {
        "median"
    }

    fn aggregate(
        &self,
        x: Matrix<'_, T>,
        rows: &[usize],
        out: &mut [f64],
    ) -> Result<(), PrepError> {
        check(x, rows, out)?;
        let mut buf = Vec::with_capacity(rows.len());
        for (j, o) in out.iter_mut().enumerate() {
            buf.clear();
            buf.extend(
                rows.iter()
                    .map(|&r| x.row(r)[j])
                    .filter(|v| !v.is_nan())
                    .map(T::to_f64),
            );
            buf.sort_unstable_by(f64::total_cmp);
            *o = median_sorted(&buf);
        }
        Ok(())
    }
}

impl<T: Float> SetAggregator<T> for Modz {
    fn name(&self) -> &'static str {
        "modz"
    }

    fn aggregate(
        &self,
        x: Matrix<'_, T>,
        rows: &[usize],
        out: &mut [f64],
    ) -> Result<(), PrepError> {
        check(x, rows, out)?;
        let weights = self.weights(x, rows);
        out.fill(0.0);
        for (&r, &w) in rows.iter().zip(&weights) {
            for (o, &v) in out.iter_mut().zip(x.row(r)) {
                let term = w * v.to_f64();
                if !term.is_nan() {
                    *o += term;
                }
            }
        }
        Ok(())
    }
}

fn check<T>(x: Matrix<'_, T>, rows: &[usize], out: &[f64]) -> Result<(), PrepError> {
    x.check_rows(rows)?;
    if rows.is_empty() {
        return Err(PrepError::TooFewRows {
            what: "aggregate",
            needed: 1,
            got: 0,
        });
    }
    if out.len() != x.d() {
        return Err(PrepError::ShapeMismatch {
            what: "aggregate output length",
            expected: x.d(),
            got: out.len(),
        });
    }
    Ok(())
}

/// Aggregates the rows of each group: row `g` of the returned row-major `n_groups × d`
/// matrix (`f64`) aggregates the rows whose code is `g`. Codes must be `< n_groups`; a code
/// with no rows is [`PrepError::EmptyGroup`].
pub fn aggregate_groups<T: Float>(
    x: Matrix<'_, T>,
    groups: &[u32],
    n_groups: usize,
    agg: &dyn SetAggregator<T>,
) -> Result<Vec<f64>, PrepError> {
    if groups.len() != x.n() {
        return Err(PrepError::ShapeMismatch {
            what: "groups length",
            expected: x.n(),
            got: groups.len(),
        });
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
    for (i, &g) in groups.iter().enumerate() {
        let slot = members
            .get_mut(g as usize)
            .ok_or_else(|| PrepError::InvalidParameter {
                name: "groups",
                value: g.to_string(),
                reason: format!("group code of row {i} is not below n_groups = {n_groups}"),
            })?;
        slot.push(i);
    }
    if let Some(g) = members.iter().position(Vec::is_empty) {
        return Err(PrepError::EmptyGroup { group: g as u32 });
    }
    let d = x.d();
    let mut out = vec![0.0f64; n_groups * d];
    for (rows, o) in members.iter().zip(out.chunks_exact_mut(d.max(1))) {
        agg.aggregate(x, rows, &mut o[..d])?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(data: &[f32], n: usize, d: usize) -> Matrix<'_> {
        Matrix::new(data, n, d).unwrap()
    }

    #[test]
    fn mean_and_median_skip_nan_per_group() {
        // Rows 0, 2, 3 in group 0; row 1 in group 1.
        let x = [1.0, f32::NAN, 10.0, 5.0, 3.0, 2.0, 8.0, f32::NAN];
        let v = m(&x, 4, 2);
        let groups = [0, 1, 0, 0];
        let mean = aggregate_groups(v, &groups, 2, &Mean).unwrap();
        assert_eq!(mean[0], 4.0);
        assert_eq!(mean[1], 2.0);
        assert_eq!(&mean[2..], &[10.0, 5.0]);
        let median = aggregate_groups(v, &groups, 2, &Median).unwrap();
        assert_eq!(median[0], 3.0);
        assert_eq!(median[1], 2.0);
        // A feature with no value in a group stays NaN.
        let y = [f32::NAN, 1.0];
        assert!(aggregate_groups(m(&y, 1, 2), &[0], 1, &Mean).unwrap()[0].is_nan());
        assert_eq!(
            aggregate_groups(v, &[0, 2, 0, 0], 3, &Mean).unwrap_err(),
            PrepError::EmptyGroup { group: 1 }
        );
        assert!(aggregate_groups(v, &[0, 5, 0, 0], 2, &Mean).is_err());
    }

    #[test]
    fn ranks_and_spearman() {
        assert_eq!(
            average_ranks(&[3.0, 1.0, 3.0, 2.0]),
            vec![3.5, 1.0, 3.5, 2.0]
        );
        assert!((spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 35.0]) - 1.0).abs() < 1e-15);
        assert!((spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]) + 1.0).abs() < 1e-15);
        // The NaN position is dropped from both before ranking.
        assert!((spearman(&[1.0, f64::NAN, 3.0, 4.0], &[1.0, 9.0, 2.0, 3.0]) - 1.0).abs() < 1e-15);
        assert!(spearman(&[1.0, 1.0], &[1.0, 2.0]).is_nan());
    }

    #[test]
    fn modz_weights_favour_agreeing_replicates() {
        // Replicates 0 and 1 rank the features alike; replicate 2 reverses them.
        let x = [1.0, 2.0, 3.0, 4.0, 1.5, 2.5, 3.5, 4.5, 4.0, 3.0, 2.0, 1.0];
        let v = m(&x, 3, 4);
        let modz = Modz::default();
        let w = modz.weights(v, &[0, 1, 2]);
        // Raw weights: 0.5, 0.5 (mean of 1 and clipped -1), 0 → raised to 0.01; sum 1.01.
        assert_eq!(w, vec![0.4950, 0.4950, 0.0099]);
        let mut out = [0.0; 4];
        modz.aggregate(v, &[0, 1, 2], &mut out).unwrap();
        assert!((out[0] - (0.495 * 1.0 + 0.495 * 1.5 + 0.0099 * 4.0)).abs() < 1e-12);
        // One replicate: itself.
        modz.aggregate(v, &[2], &mut out).unwrap();
        assert_eq!(out, [4.0, 3.0, 2.0, 1.0]);
        assert!(Modz::new(-1.0, 4).is_err());
        assert!(Modz::new(0.01, 40).is_err());
    }
}
