//! Silhouette widths: how much closer each row is to its own group than to the nearest other
//! group (scikit-learn 1.9 `silhouette_samples` / `silhouette_score` semantics), and the two
//! rescaled forms of the single-cell integration benchmark scib.
//!
//! For row `i` in group `A`: `a(i)` = mean distance to the other rows of `A`, `b(i)` = the
//! smallest mean distance to the rows of any other group, `s(i) = (b − a) / max(a, b)`, and
//! `s(i) = 0` when `A` has one row. The score is the mean of `s` over rows. Like scikit-learn,
//! the number of groups must be between 2 and `n − 1`.
//!
//! Distances: Euclidean (default) or cosine (`1 − cos`, clipped to `[0, 2]`), computed one block
//! of rows at a time through a faer matrix product (never an `n × n` matrix); a row's distance to
//! itself is 0.
//!
//! scib conventions (scib 1.x `metrics.silhouette` and `metrics.silhouette_batch`, `scale=True`):
//! - **label silhouette** `(asw + 1) / 2`, the silhouette score of the labels mapped to `[0, 1]`;
//! - **batch silhouette** — for each label, the silhouette widths `s_b(i)` of the batches among
//!   that label's rows only; each row scores `1 − |s_b(i)|`; each label's mean is taken, then
//!   the mean over labels. Labels whose rows all share one batch, or each have a batch of their
//!   own, are skipped (as scib); with none left the score is undefined (`None`). 1 = batches mixed
//!   within every label, 0 = batches separated.

use faer::{Accum, MatMut, MatRef, Par};

use crate::error::MetricError;
use crate::matrix::Matrix;

/// The distance a silhouette uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SilhouetteMetric {
    /// Euclidean distance (scikit-learn's default).
    #[default]
    Euclidean,
    /// Cosine distance `1 − cos`; every row needs a non-zero norm.
    Cosine,
}

/// Rows prepared for blocked distances: transformed `f64` rows and their squared norms.
struct Rows {
    d: usize,
    x: Vec<f64>,
    sq_norms: Vec<f64>,
    metric: SilhouetteMetric,
}

fn prepare(x: Matrix<'_>, metric: SilhouetteMetric) -> Result<Rows, MetricError> {
    let (n, d) = (x.n(), x.d());
    for (row, values) in x.rows().enumerate() {
        if let Some(col) = values.iter().position(|v| !v.is_finite()) {
            return Err(MetricError::NonFinite { row, col });
        }
    }
    let mut data: Vec<f64> = x.data().iter().map(|&v| f64::from(v)).collect();
    if d > 0 && metric == SilhouetteMetric::Euclidean {
        // Distances are translation invariant; centering keeps |a|² + |b|² − 2a·b precise.
        let mut means = vec![0.0f64; d];
        for row in data.chunks_exact(d) {
            means.iter_mut().zip(row).for_each(|(m, v)| *m += v);
        }
        means.iter_mut().for_each(|m| *m /= n as f64);
        for row in data.chunks_exact_mut(d) {
            row.iter_mut().zip(&means).for_each(|(v, m)| *v -= m);
        }
    }
    let mut sq_norms: Vec<f64> = if d == 0 {
        vec![0.0; n]
    } else {
        data.chunks_exact(d)
            .map(|r| r.iter().map(|v| v * v).sum())
            .collect()
    };
    if metric == SilhouetteMetric::Cosine {
        for (row, (values, sq)) in data
            .chunks_exact_mut(d.max(1))
            .zip(&mut sq_norms)
            .enumerate()
        {
            if *sq == 0.0 {
                return Err(MetricError::ZeroNorm {
                    row,
                    similarity: crate::Similarity::Cosine,
                });
            }
            let norm = sq.sqrt();
            values.iter_mut().for_each(|v| *v /= norm);
            *sq = 1.0;
        }
    }
    Ok(Rows {
        d,
        x: data,
        sq_norms,
        metric,
    })
}

/// Rows per block of the distance computation.
const BLOCK: usize = 256;

/// Silhouette width of every row for the grouping `labels` (codes; only equality matters).
///
/// Errors: `labels` of another length ([`MetricError::ShapeMismatch`]), fewer than 2 or more
/// than `n − 1` groups ([`MetricError::InvalidParameter`] `labels`), a NaN or infinite value, a
/// zero-norm row under cosine.
pub fn silhouette_samples(
    x: Matrix<'_>,
    labels: &[u32],
    metric: SilhouetteMetric,
) -> Result<Vec<f64>, MetricError> {
    let n = x.n();
    if labels.len() != n {
        return Err(MetricError::ShapeMismatch {
            what: "label vector length (must equal rows)",
            expected: n,
            got: labels.len(),
        });
    }
    let mut uniq = labels.to_vec();
    uniq.sort_unstable();
    uniq.dedup();
    let g = uniq.len();
    if g < 2 || g + 1 > n {
        return Err(MetricError::InvalidParameter {
            name: "labels",
            value: format!("{g} distinct labels"),
            reason: format!(
                "a silhouette needs between 2 and n − 1 = {} groups",
                n.saturating_sub(1)
            ),
        });
    }
    let group: Vec<usize> = labels
        .iter()
        .map(|l| uniq.binary_search(l).expect("label is in its own set"))
        .collect();
    let mut sizes = vec![0usize; g];
    group.iter().for_each(|&c| sizes[c] += 1);
    let rows = prepare(x, metric)?;
    let (d, all) = (rows.d, MatRef::from_row_major_slice(&rows.x, n, rows.d));
    let mut dots = vec![0.0f64; BLOCK * n];
    let mut sums = vec![0.0f64; g];
    let mut out = Vec::with_capacity(n);
    for start in (0..n).step_by(BLOCK) {
        let end = (start + BLOCK).min(n);
        let b = end - start;
        let queries = MatRef::from_column_major_slice(&rows.x[start * d..end * d], d, b);
        let dst = MatMut::from_column_major_slice_mut(&mut dots[..n * b], n, b);
        // The pool's parallelism does not change a value: faer's GEMM (or, for a last block of
        // one query, its row-major matrix–vector kernel) never splits a sum between threads.
        faer::linalg::matmul::matmul(dst, Accum::Replace, all, queries, 1.0, Par::rayon(0));
        for q in 0..b {
            let i = start + q;
            sums.iter_mut().for_each(|s| *s = 0.0);
            let col = &dots[q * n..(q + 1) * n];
            for (j, &dot) in col.iter().enumerate() {
                if j == i {
                    continue;
                }
                let dist = match rows.metric {
                    SilhouetteMetric::Euclidean => (rows.sq_norms[i] + rows.sq_norms[j]
                        - 2.0 * dot)
                        .max(0.0)
                        .sqrt(),
                    SilhouetteMetric::Cosine => (1.0 - dot).clamp(0.0, 2.0),
                };
                sums[group[j]] += dist;
            }
            let own = group[i];
            if sizes[own] == 1 {
                out.push(0.0);
                continue;
            }
            let a = sums[own] / (sizes[own] - 1) as f64;
            let b_min = (0..g)
                .filter(|&c| c != own)
                .map(|c| sums[c] / sizes[c] as f64)
                .fold(f64::INFINITY, f64::min);
            let s = (b_min - a) / a.max(b_min);
            // 0/0 (a = b = 0: duplicates across groups) is 0, as scikit-learn's nan_to_num.
            out.push(if s.is_nan() { 0.0 } else { s });
        }
    }
    Ok(out)
}

/// Mean silhouette width (scikit-learn `silhouette_score`).
pub fn silhouette_score(
    x: Matrix<'_>,
    labels: &[u32],
    metric: SilhouetteMetric,
) -> Result<f64, MetricError> {
    let s = silhouette_samples(x, labels, metric)?;
    Ok(s.iter().sum::<f64>() / s.len() as f64)
}

/// scib's label silhouette: `(silhouette_score + 1) / 2`.
pub fn scib_label_silhouette(
    x: Matrix<'_>,
    labels: &[u32],
    metric: SilhouetteMetric,
) -> Result<f64, MetricError> {
    Ok((silhouette_score(x, labels, metric)? + 1.0) / 2.0)
}

/// scib's batch silhouette (see the module documentation); `None` when no label qualifies.
pub fn scib_batch_silhouette(
    x: Matrix<'_>,
    labels: &[u32],
    batches: &[u32],
    metric: SilhouetteMetric,
) -> Result<Option<f64>, MetricError> {
    let n = x.n();
    for (what, v) in [
        ("label vector length (must equal rows)", labels),
        ("batch vector length (must equal rows)", batches),
    ] {
        if v.len() != n {
            return Err(MetricError::ShapeMismatch {
                what,
                expected: n,
                got: v.len(),
            });
        }
    }
    let mut uniq = labels.to_vec();
    uniq.sort_unstable();
    uniq.dedup();
    let d = x.d();
    let mut means = Vec::new();
    for label in uniq {
        let rows: Vec<usize> = (0..n).filter(|&i| labels[i] == label).collect();
        let sub_batches: Vec<u32> = rows.iter().map(|&i| batches[i]).collect();
        let mut distinct = sub_batches.clone();
        distinct.sort_unstable();
        distinct.dedup();
        if distinct.len() == 1 || distinct.len() == rows.len() {
            continue;
        }
        let data: Vec<f32> = rows
            .iter()
            .flat_map(|&i| x.row(i).iter().copied())
            .collect();
        let sub = Matrix::new(&data, rows.len(), d)?;
        let s = silhouette_samples(sub, &sub_batches, metric)?;
        means.push(s.iter().map(|v| 1.0 - v.abs()).sum::<f64>() / s.len() as f64);
    }
    Ok((!means.is_empty()).then(|| means.iter().sum::<f64>() / means.len() as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Direct O(n²) silhouette with explicit distances, as the definition reads.
    fn naive(x: &[f32], n: usize, d: usize, labels: &[u32], cosine: bool) -> Vec<f64> {
        let row = |i: usize| &x[i * d..(i + 1) * d];
        let dist = |i: usize, j: usize| -> f64 {
            if cosine {
                let dot: f64 = row(i)
                    .iter()
                    .zip(row(j))
                    .map(|(a, b)| f64::from(*a) * f64::from(*b))
                    .sum();
                let ni: f64 = row(i)
                    .iter()
                    .map(|a| f64::from(*a).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let nj: f64 = row(j)
                    .iter()
                    .map(|a| f64::from(*a).powi(2))
                    .sum::<f64>()
                    .sqrt();
                1.0 - dot / (ni * nj)
            } else {
                row(i)
                    .iter()
                    .zip(row(j))
                    .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                    .sum::<f64>()
                    .sqrt()
            }
        };
        (0..n)
            .map(|i| {
                let same: Vec<usize> = (0..n)
                    .filter(|&j| j != i && labels[j] == labels[i])
                    .collect();
                if same.is_empty() {
                    return 0.0;
                }
                let a = same.iter().map(|&j| dist(i, j)).sum::<f64>() / same.len() as f64;
                let mut others: Vec<u32> =
                    labels.iter().copied().filter(|&l| l != labels[i]).collect();
                others.sort_unstable();
                others.dedup();
                let b = others
                    .iter()
                    .map(|&l| {
                        let js: Vec<usize> = (0..n).filter(|&j| labels[j] == l).collect();
                        js.iter().map(|&j| dist(i, j)).sum::<f64>() / js.len() as f64
                    })
                    .fold(f64::INFINITY, f64::min);
                (b - a) / a.max(b)
            })
            .collect()
    }

    fn data(n: usize, d: usize) -> Vec<f32> {
        let mut rng = crate::rng::Xoshiro256StarStar::from_key(11);
        (0..n * d)
            .map(|k| {
                (rng.below(1000) as f32) / 100.0
                    + if k % d == 0 {
                        (k / d % 3) as f32 * 4.0
                    } else {
                        0.0
                    }
            })
            .collect()
    }

    #[test]
    fn blocked_silhouette_matches_the_definition() {
        // More rows than one block, so the block boundary is crossed.
        let (n, d) = (300, 4);
        let x = data(n, d);
        let labels: Vec<u32> = (0..n as u32)
            .map(|i| (i % 3) * 7 + u32::from(i == 5) * 100)
            .collect();
        for (metric, cosine) in [
            (SilhouetteMetric::Euclidean, false),
            (SilhouetteMetric::Cosine, true),
        ] {
            let got = silhouette_samples(Matrix::new(&x, n, d).unwrap(), &labels, metric).unwrap();
            let want = naive(&x, n, d, &labels, cosine);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-10, "{metric:?}: {g} vs {w}");
            }
            // Row 5 is alone in its group: its width is 0.
            assert_eq!(got[5], 0.0);
        }
    }

    #[test]
    fn group_counts_outside_two_to_n_minus_one_are_rejected() {
        let x = [0.0f32, 1.0, 2.0];
        let m = Matrix::new(&x, 3, 1).unwrap();
        for labels in [[0u32, 0, 0], [0, 1, 2]] {
            assert!(matches!(
                silhouette_score(m, &labels, SilhouetteMetric::Euclidean).unwrap_err(),
                MetricError::InvalidParameter { name: "labels", .. }
            ));
        }
        // Row 0: a = 1, b = 2 → 0.5; row 1: a = b = 1 → 0; row 2 is alone → 0.
        assert!(
            (silhouette_score(m, &[0, 0, 1], SilhouetteMetric::Euclidean).unwrap()
                - (0.5 + 0.0 + 0.0) / 3.0)
                .abs()
                < 1e-12
        );
    }

    #[test]
    fn scib_batch_silhouette_follows_its_formula() {
        // Label 0: two batches far apart (|s| near 1 → score near 0); label 1: one batch (skipped).
        let x = [0.0f32, 0.1, 10.0, 10.1, 5.0, 5.1];
        let m = Matrix::new(&x, 6, 1).unwrap();
        let labels = [0u32, 0, 0, 0, 1, 1];
        let batches = [0u32, 0, 1, 1, 0, 0];
        let got = scib_batch_silhouette(m, &labels, &batches, SilhouetteMetric::Euclidean)
            .unwrap()
            .unwrap();
        let sub = Matrix::new(&x[..4], 4, 1).unwrap();
        let s = silhouette_samples(sub, &batches[..4], SilhouetteMetric::Euclidean).unwrap();
        let want = s.iter().map(|v| 1.0 - v.abs()).sum::<f64>() / 4.0;
        assert!((got - want).abs() < 1e-15);
        assert!(got < 0.05);
        // No qualifying label: undefined.
        assert_eq!(
            scib_batch_silhouette(
                m,
                &[0, 0, 0, 0, 1, 1],
                &[0, 0, 0, 0, 0, 0],
                SilhouetteMetric::Euclidean
            )
            .unwrap(),
            None
        );
        let asw = silhouette_score(m, &labels, SilhouetteMetric::Euclidean).unwrap();
        assert_eq!(
            scib_label_silhouette(m, &labels, SilhouetteMetric::Euclidean).unwrap(),
            (asw + 1.0) / 2.0
        );
    }

    #[test]
    fn zero_norm_row_under_cosine_is_an_error() {
        let x = [1.0f32, 0.0, 0.0, 0.0, 1.0, 1.0];
        let m = Matrix::new(&x, 3, 2).unwrap();
        assert!(matches!(
            silhouette_score(m, &[0, 0, 1], SilhouetteMetric::Cosine).unwrap_err(),
            MetricError::ZeroNorm { row: 1, .. }
        ));
    }
}
