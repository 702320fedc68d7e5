//! Column statistics over a subset of rows of an `f32` or `f64` matrix, accumulated in `f64`.
//!
//! **NaN policy: NaN values are skipped**, per column, as numpy's `nan*`
//! functions and pandas' `skipna=True` do. This is what every pycytominer
//! 1.7.1 normalizer does when fitting: sklearn's `StandardScaler` and
//! `RobustScaler` disregard NaN in `fit` (`np.nanmedian`, `np.nanpercentile`),
//! and `RobustMAD` takes pandas' `DataFrame.median()` and scipy's
//! `median_abs_deviation(nan_policy="omit")`. A column with no non-NaN value
//! on the chosen rows gets NaN statistics. `±inf` counts as a value.
//!
//! Order statistics follow numpy: the median of an even count is the mean of
//! the two middle values, and quantiles use numpy's default `"linear"` method
//! (including its two-sided interpolation formula, so results agree to the bit).

use crate::error::PrepError;
use crate::matrix::{CheckRows, Float, Matrix};

/// Which denominator a variance uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ddof {
    /// Divide by `m` (numpy `ddof=0`); what sklearn's `StandardScaler` uses.
    Population,
    /// Divide by `m − 1` (numpy `ddof=1`, pandas' default `std`).
    Sample,
}

impl Ddof {
    fn value(self) -> usize {
        match self {
            Ddof::Population => 0,
            Ddof::Sample => 1,
        }
    }
}

/// Per-column mean, variance and number of non-NaN values.
#[derive(Debug, Clone, PartialEq)]
pub struct MeanVar {
    /// Mean of the non-NaN values.
    pub mean: Vec<f64>,
    /// Variance with the requested [`Ddof`]; NaN when `count <= ddof`.
    pub var: Vec<f64>,
    /// Number of non-NaN values per column.
    pub count: Vec<usize>,
}

impl MeanVar {
    /// Standard deviations, `sqrt(var)`.
    pub fn sd(&self) -> Vec<f64> {
        self.var.iter().map(|v| v.sqrt()).collect()
    }
}

/// Mean and variance of every column over `rows`, skipping NaN.
///
/// Uses the corrected two-pass algorithm (Chan, Golub & LeVeque), as sklearn's
/// `_incremental_mean_and_var` does: `var = (Σ(x−m)² − (Σ(x−m))²/c) / (c − ddof)`.
pub fn column_mean_var<T: Float>(
    x: Matrix<'_, T>,
    rows: &[usize],
    ddof: Ddof,
) -> Result<MeanVar, PrepError> {
    x.check_rows(rows)?;
    let d = x.d();
    let mut sum = vec![0.0f64; d];
    let mut count = vec![0usize; d];
    // Row-wise passes keep memory access contiguous in the row-major input.
    for &r in rows {
        for ((s, c), &v) in sum.iter_mut().zip(&mut count).zip(x.row(r)) {
            if !v.is_nan() {
                *s += v.to_f64();
                *c += 1;
            }
        }
    }
    let mean: Vec<f64> = sum.iter().zip(&count).map(|(s, &c)| s / c as f64).collect();
    let mut correction = vec![0.0f64; d];
    let mut sq = vec![0.0f64; d];
    for &r in rows {
        for (((corr, q), m), &v) in correction.iter_mut().zip(&mut sq).zip(&mean).zip(x.row(r)) {
            if !v.is_nan() {
                let t = v.to_f64() - m;
                *corr += t;
                *q += t * t;
            }
        }
    }
    let var = sq
        .iter()
        .zip(&correction)
        .zip(&count)
        .map(|((q, corr), &c)| {
            let denom = c.saturating_sub(ddof.value());
            if denom == 0 {
                f64::NAN
            } else {
                (q - corr * corr / c as f64) / denom as f64
            }
        })
        .collect();
    Ok(MeanVar { mean, var, count })
}

/// Calls `f(j, values)` for every column `j`, with `values` the column's
/// non-NaN entries over `rows`, in `f64`, sorted ascending.
fn for_each_sorted_column<T: Float>(
    x: Matrix<'_, T>,
    rows: &[usize],
    mut f: impl FnMut(usize, &[f64]),
) -> Result<(), PrepError> {
    x.check_rows(rows)?;
    // Columns are gathered a chunk at a time so each input row is read
    // contiguously, without transposing the whole subset at once.
    const CHUNK: usize = 32;
    let d = x.d();
    let mut bufs: Vec<Vec<f64>> = vec![Vec::with_capacity(rows.len()); CHUNK.min(d)];
    for start in (0..d).step_by(CHUNK) {
        let end = (start + CHUNK).min(d);
        bufs.iter_mut().for_each(Vec::clear);
        for &r in rows {
            for (buf, &v) in bufs.iter_mut().zip(&x.row(r)[start..end]) {
                if !v.is_nan() {
                    buf.push(v.to_f64());
                }
            }
        }
        for (j, buf) in (start..end).zip(&mut bufs) {
            buf.sort_unstable_by(f64::total_cmp);
            f(j, buf);
        }
    }
    Ok(())
}

/// Median of ascending `sorted` values (numpy: mean of the two middle values
/// for an even count); NaN when empty.
pub fn median_sorted(sorted: &[f64]) -> f64 {
    let m = sorted.len();
    match m {
        0 => f64::NAN,
        _ if m % 2 == 1 => sorted[m / 2],
        _ => (sorted[m / 2 - 1] + sorted[m / 2]) / 2.0,
    }
}

/// Quantile `q ∈ [0, 1]` of ascending `sorted` values with numpy's default
/// `"linear"` method; NaN when empty.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let m = sorted.len();
    if m == 0 {
        return f64::NAN;
    }
    let virtual_index = (m - 1) as f64 * q;
    let below = virtual_index.floor();
    let lo = (below.max(0.0) as usize).min(m - 1);
    let hi = (lo + 1).min(m - 1);
    if lo == hi {
        return sorted[lo];
    }
    let (a, b) = (sorted[lo], sorted[hi]);
    let gamma = virtual_index - below;
    // numpy's `_lerp` interpolates from the nearer end; copied so that the
    // result matches numpy bit for bit, not only to rounding.
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

/// Unscaled median absolute deviation `median(|x − median(x)|)` of ascending
/// `sorted` values; NaN when empty.
pub fn mad_sorted(sorted: &[f64]) -> f64 {
    let med = median_sorted(sorted);
    let mut dev: Vec<f64> = sorted.iter().map(|v| (v - med).abs()).collect();
    dev.sort_unstable_by(f64::total_cmp);
    median_sorted(&dev)
}

/// Median of every column over `rows`, skipping NaN.
pub fn column_medians<T: Float>(x: Matrix<'_, T>, rows: &[usize]) -> Result<Vec<f64>, PrepError> {
    let mut out = vec![f64::NAN; x.d()];
    for_each_sorted_column(x, rows, |j, v| out[j] = median_sorted(v))?;
    Ok(out)
}

/// Quantiles `qs` (each in `[0, 1]`) of every column over `rows`, skipping NaN;
/// `result[k][j]` is quantile `qs[k]` of column `j`.
pub fn column_quantiles<T: Float>(
    x: Matrix<'_, T>,
    rows: &[usize],
    qs: &[f64],
) -> Result<Vec<Vec<f64>>, PrepError> {
    if let Some(&q) = qs.iter().find(|q| !(0.0..=1.0).contains(*q)) {
        return Err(PrepError::InvalidParameter {
            name: "quantile",
            value: q.to_string(),
            reason: "must lie in [0, 1]".to_owned(),
        });
    }
    let mut out = vec![vec![f64::NAN; x.d()]; qs.len()];
    for_each_sorted_column(x, rows, |j, v| {
        for (o, &q) in out.iter_mut().zip(qs) {
            o[j] = quantile_sorted(v, q);
        }
    })?;
    Ok(out)
}

/// Median and unscaled median absolute deviation of every column over `rows`, skipping NaN.
///
/// Order statistics by selection rather than sorting (O(n) per column; equal to the sorted
/// result to the bit), columns split across threads.
pub fn column_median_mad<T: Float>(
    x: Matrix<'_, T>,
    rows: &[usize],
) -> Result<(Vec<f64>, Vec<f64>), PrepError> {
    x.check_rows(rows)?;
    const CHUNK: usize = 32;
    let d = x.d();
    let mut median = vec![f64::NAN; d];
    let mut mad = vec![f64::NAN; d];
    if d == 0 {
        return Ok((median, mad));
    }
    let threads = std::thread::available_parallelism()
        .map_or(1, |t| t.get())
        .min(d.div_ceil(CHUNK))
        .max(1);
    let per = d.div_ceil(threads);
    std::thread::scope(|s| {
        for (k, (med_part, mad_part)) in median.chunks_mut(per).zip(mad.chunks_mut(per)).enumerate()
        {
            let start = k * per;
            s.spawn(move || {
                let end = start + med_part.len();
                let mut bufs: Vec<Vec<f64>> =
                    (0..CHUNK).map(|_| Vec::with_capacity(rows.len())).collect();
                let mut dev = Vec::with_capacity(rows.len());
                for cs in (start..end).step_by(CHUNK) {
                    let ce = (cs + CHUNK).min(end);
                    bufs.iter_mut().for_each(Vec::clear);
                    // Each input row is read contiguously for a block of columns.
                    for &r in rows {
                        for (buf, &v) in bufs.iter_mut().zip(&x.row(r)[cs..ce]) {
                            if !v.is_nan() {
                                buf.push(v.to_f64());
                            }
                        }
                    }
                    for (j, buf) in (cs..ce).zip(&mut bufs) {
                        let med = median_select(buf);
                        dev.clear();
                        dev.extend(buf.iter().map(|v| (v - med).abs()));
                        med_part[j - start] = med;
                        mad_part[j - start] = median_select(&mut dev);
                    }
                }
            });
        }
    });
    Ok((median, mad))
}

/// Median of `v` (reordered in place) by selection; the same value as [`median_sorted`] of the
/// sorted values.
fn median_select(v: &mut [f64]) -> f64 {
    let m = v.len();
    if m == 0 {
        return f64::NAN;
    }
    let (lower, &mut hi, _) = v.select_nth_unstable_by(m / 2, f64::total_cmp);
    if m % 2 == 1 {
        return hi;
    }
    let lo = lower.iter().copied().max_by(f64::total_cmp).unwrap_or(hi);
    (lo + hi) / 2.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selection_median_and_mad_equal_the_sorted_ones() {
        // 70 columns (several blocks and threads), 9 or 10 rows, NaN, ties and ±0.
        let (n, d) = (10, 70);
        let x: Vec<f32> = (0..n * d)
            .map(|k| match k % 13 {
                0 => f32::NAN,
                1 => -0.0,
                2 => 0.0,
                _ => ((k * 7919) % 101) as f32 / 7.0 - 5.0,
            })
            .collect();
        let v = m(&x, n, d);
        for rows in [(0..n).collect::<Vec<_>>(), (1..n).collect()] {
            let (med, mad) = column_median_mad(v, &rows).unwrap();
            for j in 0..d {
                let mut col: Vec<f64> = rows
                    .iter()
                    .map(|&r| f64::from(x[r * d + j]))
                    .filter(|v| !v.is_nan())
                    .collect();
                col.sort_unstable_by(f64::total_cmp);
                assert_eq!(
                    med[j].to_bits(),
                    median_sorted(&col).to_bits(),
                    "median {j}"
                );
                assert_eq!(mad[j].to_bits(), mad_sorted(&col).to_bits(), "mad {j}");
            }
        }
    }

    fn m(data: &[f32], n: usize, d: usize) -> Matrix<'_> {
        Matrix::new(data, n, d).unwrap()
    }

    #[test]
    fn mean_and_variance_by_hand() {
        // Column 0: 1, 2, 3, 4 → mean 2.5, population var 1.25, sample var 5/3.
        // Column 1: 10, NaN, 10, 40 → NaN skipped: mean 20, population var 200.
        let x = [1.0, 10.0, 2.0, f32::NAN, 3.0, 10.0, 4.0, 40.0];
        let all = [0, 1, 2, 3];
        let p = column_mean_var(m(&x, 4, 2), &all, Ddof::Population).unwrap();
        assert_eq!(p.mean, vec![2.5, 20.0]);
        assert_eq!(p.var, vec![1.25, 200.0]);
        assert_eq!(p.count, vec![4, 3]);
        assert_eq!(p.sd()[1], 200f64.sqrt());
        let s = column_mean_var(m(&x, 4, 2), &all, Ddof::Sample).unwrap();
        assert!((s.var[0] - 5.0 / 3.0).abs() < 1e-15);
        assert_eq!(s.var[1], 300.0);
    }

    #[test]
    fn mean_var_uses_only_the_given_rows() {
        let x = [1.0, 100.0, 3.0, 5.0];
        let r = column_mean_var(m(&x, 4, 1), &[1, 3], Ddof::Population).unwrap();
        assert_eq!(r.mean, vec![52.5]);
        assert_eq!(r.var, vec![47.5 * 47.5]);
    }

    #[test]
    fn variance_is_nan_without_enough_values() {
        let x = [f32::NAN, 2.0, f32::NAN, f32::NAN];
        let p = column_mean_var(m(&x, 2, 2), &[0, 1], Ddof::Population).unwrap();
        assert!(p.mean[0].is_nan() && p.var[0].is_nan());
        assert_eq!((p.mean[1], p.var[1]), (2.0, 0.0));
        let s = column_mean_var(m(&x, 2, 2), &[0, 1], Ddof::Sample).unwrap();
        assert!(s.var[1].is_nan());
    }

    #[test]
    fn median_follows_numpy() {
        assert_eq!(median_sorted(&[1.0, 2.0, 10.0]), 2.0);
        assert_eq!(median_sorted(&[1.0, 2.0, 4.0, 10.0]), 3.0);
        assert!(median_sorted(&[]).is_nan());
        // Unsorted column with a NaN: {7, 1, 4, 2} → (2 + 4) / 2.
        let x = [7.0, 1.0, f32::NAN, 4.0, 2.0];
        assert_eq!(
            column_medians(m(&x, 5, 1), &[0, 1, 2, 3, 4]).unwrap(),
            vec![3.0]
        );
    }

    #[test]
    fn quantiles_follow_numpy_linear() {
        // np.percentile([1, 2, 3, 4], [25, 75]) == [1.75, 3.25]
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.25), 1.75);
        assert_eq!(quantile_sorted(&v, 0.75), 3.25);
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        // np.percentile([0, 10, 30], 25) == 5.0; [0, 10, 30] at 75 → 20.0
        assert_eq!(quantile_sorted(&[0.0, 10.0, 30.0], 0.25), 5.0);
        assert_eq!(quantile_sorted(&[0.0, 10.0, 30.0], 0.75), 20.0);
        assert_eq!(quantile_sorted(&[5.0], 0.3), 5.0);
        // numpy interpolates from the upper end when gamma >= 0.5; from the
        // lower end this would be 1.3350000000000004.
        // np.percentile([-3.656, 3.474], 70) == 1.3349999999999995
        assert_eq!(quantile_sorted(&[-3.656, 3.474], 0.7), 1.3349999999999995);

        let x = [4.0, 1.0, 3.0, 2.0, f32::NAN, 9.0];
        let q = column_quantiles(m(&x, 3, 2), &[0, 1, 2], &[0.25, 0.75]).unwrap();
        // Column 0 is {4, 3} (NaN skipped), column 1 is {1, 2, 9}.
        assert_eq!(q, vec![vec![3.25, 1.5], vec![3.75, 5.5]]);
        assert!(matches!(
            column_quantiles(m(&x, 3, 2), &[0], &[1.5]),
            Err(PrepError::InvalidParameter {
                name: "quantile",
                ..
            })
        ));
    }

    #[test]
    fn mad_by_hand() {
        // x = 1, 2, 3, 4, 100: median 3, |x−3| = 2, 1, 0, 1, 97 → MAD 1.
        assert_eq!(mad_sorted(&[1.0, 2.0, 3.0, 4.0, 100.0]), 1.0);
        // x = 1, 2, 4, 8: median 3, deviations 2, 1, 1, 5 → MAD 1.5.
        let x = [8.0, 1.0, 4.0, 2.0];
        let (med, mad) = column_median_mad(m(&x, 4, 1), &[0, 1, 2, 3]).unwrap();
        assert_eq!((med[0], mad[0]), (3.0, 1.5));
    }

    #[test]
    fn many_columns_cross_the_gather_chunk() {
        // 70 columns: column j holds j, 2j, 3j → median 2j on every chunk boundary.
        let d = 70;
        let x: Vec<f32> = (1..=3)
            .flat_map(|k| (0..d).map(move |j| (k * j) as f32))
            .collect();
        let med = column_medians(m(&x, 3, d), &[0, 1, 2]).unwrap();
        assert_eq!(med, (0..d).map(|j| 2.0 * j as f64).collect::<Vec<_>>());
    }

    #[test]
    fn out_of_range_rows_are_rejected() {
        let x = [1.0, 2.0];
        let err = column_medians(m(&x, 2, 1), &[0, 2]).unwrap_err();
        assert_eq!(err, PrepError::RowOutOfRange { row: 2, n: 2 });
        assert!(column_mean_var(m(&x, 2, 1), &[5], Ddof::Sample).is_err());
    }
}
