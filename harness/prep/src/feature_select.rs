//! Feature selection with pycytominer 1.7.1 semantics (`pycytominer.feature_select`).
//!
//! Operations run in the order given; each judges only the features that the
//! earlier ones kept, on the chosen rows (pycytominer's `samples`), and the
//! union of what they exclude is dropped:
//!
//! | operation               | a feature is excluded when                                           |
//! |-------------------------|----------------------------------------------------------------------|
//! | `variance_threshold`    | its population variance (NaN skipped) is not above `min_variance`    |
//! | `frequency_threshold`   | 2nd / 1st most common value count `< freq_cut`, or distinct values / rows `< unique_cut` |
//! | `correlation_threshold` | it is in a pair with Pearson `r > threshold` and has the larger column sum of `|r|` |
//! | `drop_na_columns`       | its share of NaN is above `na_cutoff`                                 |
//! | `blocklist`             | the caller marks it blocklisted (by name)                             |
//! | `drop_outliers`         | its `|max|` or `|min|` (NaN skipped) is above `outlier_cutoff`        |
//!
//! 1.7.1's `variance_threshold` is sklearn's `VarianceThreshold(min_variance)`;
//! the older freq_cut/unique_cut rule is `frequency_threshold`.
//!
//! `correlation_threshold` is not greedy: every pair above the threshold
//! (signed `r`, so strongly anti-correlated pairs stay) excludes one member,
//! even if the other was already excluded by another pair. Features are ranked
//! by their column sum of `|r|` (NaN skipped), ascending; of a pair, the one
//! ranked later goes. pandas ranks with an unstable sort, so features with
//! exactly equal sums (duplicated columns) may be ordered differently; here
//! ties keep column order. The `d × d` correlation is a faer `f64` product of
//! the centered rows (lower triangle only), accumulated over blocks of rows so
//! no `f64` copy of all rows is kept (Spearman, which ranks whole columns,
//! takes one); no `n × n` matrix is formed. Columns with NaN on the
//! chosen rows get pandas' pairwise-complete Pearson correlations (Spearman
//! with NaN, and ±inf, are errors).

use std::fmt;
use std::str::FromStr;

use faer::linalg::matmul::triangular::{self, BlockStructure};
use faer::{Accum, MatMut, MatRef, Par};

use crate::error::PrepError;
use crate::matrix::{CheckRows, Float, Matrix};
use crate::stats::{Ddof, column_mean_var};
use crate::step::Selector;

/// One feature-selection operation; names as in pycytominer's `operation` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeatureOp {
    /// Drop features whose variance is not above `min_variance`.
    VarianceThreshold,
    /// Drop features dominated by one value or with few distinct values.
    FrequencyThreshold,
    /// Drop one feature of every highly correlated pair.
    CorrelationThreshold,
    /// Drop features with too many NaN.
    DropNaColumns,
    /// Drop blocklisted features.
    Blocklist,
    /// Drop features with extreme values.
    DropOutliers,
}

impl FeatureOp {
    /// Every operation, in pycytominer's listing order.
    pub const ALL: [FeatureOp; 6] = [
        FeatureOp::VarianceThreshold,
        FeatureOp::FrequencyThreshold,
        FeatureOp::CorrelationThreshold,
        FeatureOp::DropNaColumns,
        FeatureOp::Blocklist,
        FeatureOp::DropOutliers,
    ];

    /// pycytominer's name for the operation.
    pub fn name(self) -> &'static str {
        match self {
            FeatureOp::VarianceThreshold => "variance_threshold",
            FeatureOp::FrequencyThreshold => "frequency_threshold",
            FeatureOp::CorrelationThreshold => "correlation_threshold",
            FeatureOp::DropNaColumns => "drop_na_columns",
            FeatureOp::Blocklist => "blocklist",
            FeatureOp::DropOutliers => "drop_outliers",
        }
    }
}

impl fmt::Display for FeatureOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for FeatureOp {
    type Err = PrepError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FeatureOp::ALL
            .into_iter()
            .find(|op| op.name() == s)
            .ok_or_else(|| PrepError::InvalidParameter {
                name: "ops",
                value: s.to_owned(),
                reason: format!(
                    "expected one of {}",
                    FeatureOp::ALL.map(FeatureOp::name).join(", ")
                ),
            })
    }
}

/// Correlation used by `correlation_threshold`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CorrMethod {
    /// Pearson on the values (pycytominer's default).
    #[default]
    Pearson,
    /// Pearson on per-feature average ranks.
    Spearman,
}

impl FromStr for CorrMethod {
    type Err = PrepError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pearson" => Ok(CorrMethod::Pearson),
            "spearman" => Ok(CorrMethod::Spearman),
            _ => Err(PrepError::InvalidParameter {
                name: "corr_method",
                value: s.to_owned(),
                reason: "expected pearson or spearman (kendall is not implemented)".to_owned(),
            }),
        }
    }
}

/// Thresholds of the operations; `Default` gives pycytominer 1.7.1's defaults.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    /// `variance_threshold`: largest variance that is still dropped (1e-6).
    pub min_variance: f64,
    /// `frequency_threshold`: smallest kept ratio of 2nd to 1st most common value count (0.05).
    pub freq_cut: f64,
    /// `frequency_threshold`: smallest kept ratio of distinct values to rows (0.01).
    pub unique_cut: f64,
    /// `correlation_threshold`: correlations above this mark a pair (0.9).
    pub corr_threshold: f64,
    /// `correlation_threshold`: which correlation (Pearson).
    pub corr_method: CorrMethod,
    /// `drop_na_columns`: largest kept share of NaN (0.05).
    pub na_cutoff: f64,
    /// `drop_outliers`: largest kept `|max|` and `|min|` (500).
    pub outlier_cutoff: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Self {
            min_variance: 1e-6,
            freq_cut: 0.05,
            unique_cut: 0.01,
            corr_threshold: 0.9,
            corr_method: CorrMethod::Pearson,
            na_cutoff: 0.05,
            outlier_cutoff: 500.0,
        }
    }
}

impl Thresholds {
    /// Checks every threshold against pycytominer's allowed range.
    pub fn validate(&self) -> Result<(), PrepError> {
        let bad = |name: &'static str, value: f64, reason: &str| PrepError::InvalidParameter {
            name,
            value: value.to_string(),
            reason: reason.to_owned(),
        };
        if !(self.min_variance >= 0.0 && self.min_variance.is_finite()) {
            return Err(bad(
                "min_variance",
                self.min_variance,
                "must be finite and >= 0",
            ));
        }
        for (name, v) in [
            ("freq_cut", self.freq_cut),
            ("unique_cut", self.unique_cut),
            ("corr_threshold", self.corr_threshold),
            ("na_cutoff", self.na_cutoff),
        ] {
            if !(0.0..=1.0).contains(&v) {
                return Err(bad(name, v, "must be between 0 and 1"));
            }
        }
        if self.outlier_cutoff.is_nan() {
            return Err(bad(
                "outlier_cutoff",
                self.outlier_cutoff,
                "must be a number",
            ));
        }
        Ok(())
    }
}

/// What feature selection decided.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// Kept columns, 0-based, increasing.
    pub keep: Vec<usize>,
    /// Per operation, in the order run, the columns it excluded (increasing).
    pub excluded: Vec<(FeatureOp, Vec<usize>)>,
}

/// A chain of feature-selection operations; implements [`Selector`].
#[derive(Debug, Clone, PartialEq)]
pub struct FeatureSelect {
    ops: Vec<FeatureOp>,
    thresholds: Thresholds,
    blocklisted: Vec<bool>,
}

impl FeatureSelect {
    /// Validates the thresholds; `blocklisted[j]` marks column `j` for `blocklist` (may be empty
    /// when `blocklist` is not among `ops`).
    pub fn new(
        ops: Vec<FeatureOp>,
        thresholds: Thresholds,
        blocklisted: Vec<bool>,
    ) -> Result<Self, PrepError> {
        thresholds.validate()?;
        if ops.is_empty() {
            return Err(PrepError::InvalidParameter {
                name: "ops",
                value: String::new(),
                reason: "name at least one operation".to_owned(),
            });
        }
        Ok(Self {
            ops,
            thresholds,
            blocklisted,
        })
    }

    /// Runs the operations on rows `rows` of `x`, each on the features the previous ones kept.
    pub fn run<T: Float>(&self, x: Matrix<'_, T>, rows: &[usize]) -> Result<Selection, PrepError> {
        x.check_rows(rows)?;
        if self.ops.contains(&FeatureOp::Blocklist) && self.blocklisted.len() != x.d() {
            return Err(PrepError::ShapeMismatch {
                what: "blocklist mask length",
                expected: x.d(),
                got: self.blocklisted.len(),
            });
        }
        if rows.is_empty() {
            return Err(PrepError::TooFewRows {
                what: "feature selection",
                needed: 1,
                got: 0,
            });
        }
        let t = &self.thresholds;
        let mut alive: Vec<usize> = (0..x.d()).collect();
        let mut excluded = Vec::with_capacity(self.ops.len());
        for &op in &self.ops {
            let out = match op {
                FeatureOp::VarianceThreshold => {
                    variance_threshold(x, rows, &alive, t.min_variance)?
                }
                FeatureOp::FrequencyThreshold => {
                    frequency_threshold(x, rows, &alive, t.freq_cut, t.unique_cut)?
                }
                FeatureOp::CorrelationThreshold => {
                    correlation_threshold(x, rows, &alive, t.corr_threshold, t.corr_method)?
                }
                FeatureOp::DropNaColumns => drop_na_columns(x, rows, &alive, t.na_cutoff)?,
                FeatureOp::Blocklist => alive
                    .iter()
                    .copied()
                    .filter(|&j| self.blocklisted[j])
                    .collect(),
                FeatureOp::DropOutliers => drop_outliers(x, rows, &alive, t.outlier_cutoff)?,
            };
            alive.retain(|j| out.binary_search(j).is_err());
            excluded.push((op, out));
        }
        Ok(Selection {
            keep: alive,
            excluded,
        })
    }
}

impl Selector for FeatureSelect {
    fn name(&self) -> &'static str {
        "feature_select"
    }

    fn select<T: Float>(&self, x: Matrix<'_, T>, rows: &[usize]) -> Result<Vec<usize>, PrepError> {
        Ok(self.run(x, rows)?.keep)
    }
}

/// Fails unless `cols` is strictly increasing and within `0..d`.
fn check_cols<T>(x: Matrix<'_, T>, cols: &[usize]) -> Result<(), PrepError> {
    if let Some(w) = cols.windows(2).find(|w| w[0] >= w[1]) {
        return Err(PrepError::InvalidParameter {
            name: "cols",
            value: format!("[.., {}, {}, ..]", w[0], w[1]),
            reason: "column indices must be strictly increasing".to_owned(),
        });
    }
    if let Some(&c) = cols.last().filter(|&&c| c >= x.d()) {
        return Err(PrepError::InvalidParameter {
            name: "cols",
            value: c.to_string(),
            reason: format!("column index out of range for {} columns", x.d()),
        });
    }
    Ok(())
}

/// Rows per block of the correlation product: bounds the `f64` working copy (about 25 MB at
/// 1,500 features) while keeping the product's inner dimension long.
const CORR_BLOCK: usize = 2048;

/// Rows `rows` restricted to columns `cols`, as a row-major `rows × cols` matrix.
fn gather<T: Copy>(x: Matrix<'_, T>, rows: &[usize], cols: &[usize]) -> Vec<T> {
    let mut out = Vec::with_capacity(rows.len() * cols.len());
    for &r in rows {
        let row = x.row(r);
        out.extend(cols.iter().map(|&c| row[c]));
    }
    out
}

/// Columns of `cols` whose population variance over `rows` (NaN skipped) is not above
/// `min_variance`; an all-NaN column counts as not above (sklearn `VarianceThreshold`).
pub fn variance_threshold<T: Float>(
    x: Matrix<'_, T>,
    rows: &[usize],
    cols: &[usize],
    min_variance: f64,
) -> Result<Vec<usize>, PrepError> {
    check_cols(x, cols)?;
    let sub = gather(x, rows, cols);
    let mv = column_mean_var(
        Matrix::new(&sub, rows.len(), cols.len())?,
        &(0..rows.len()).collect::<Vec<_>>(),
        Ddof::Population,
    )?;
    Ok(cols
        .iter()
        .zip(&mv.var)
        // An all-NaN column has NaN variance, which is not above the threshold either.
        .filter(|&(_, &v)| v.is_nan() || v <= min_variance)
        .map(|(&c, _)| c)
        .collect())
}

/// Columns of `cols` where, over `rows`, the second most common value is rarer than
/// `freq_cut` times the most common (or only one value occurs), or where the number of
/// distinct values is below `unique_cut` times the number of rows (NaN never counted as a value).
pub fn frequency_threshold<T: Float>(
    x: Matrix<'_, T>,
    rows: &[usize],
    cols: &[usize],
    freq_cut: f64,
    unique_cut: f64,
) -> Result<Vec<usize>, PrepError> {
    check_cols(x, cols)?;
    let n = rows.len() as f64;
    let mut values = Vec::with_capacity(rows.len());
    let mut out = Vec::new();
    for &c in cols {
        values.clear();
        // +0.0 and -0.0 are one value to pandas' hash table. Widening to f64 is exact, so
        // values are told apart as the matrix's own type tells them apart.
        values.extend(
            rows.iter()
                .map(|&r| x.row(r)[c].to_f64())
                .filter(|v| !v.is_nan())
                .map(|v| if v == 0.0 { 0.0f64 } else { v }),
        );
        values.sort_unstable_by(f64::total_cmp);
        let (mut first, mut second, mut distinct) = (0usize, 0usize, 0usize);
        let mut i = 0;
        while i < values.len() {
            let j = i + values[i..].iter().take_while(|&&v| v == values[i]).count();
            let count = j - i;
            distinct += 1;
            if count > first {
                second = first;
                first = count;
            } else if count > second {
                second = count;
            }
            i = j;
        }
        let freq_ratio = if distinct < 2 {
            0.0
        } else {
            second as f64 / first as f64
        };
        if freq_ratio < freq_cut || (distinct as f64 / n) < unique_cut {
            out.push(c);
        }
    }
    Ok(out)
}

/// Columns of `cols` with a share of NaN over `rows` above `cutoff`.
pub fn drop_na_columns<T: Float>(
    x: Matrix<'_, T>,
    rows: &[usize],
    cols: &[usize],
    cutoff: f64,
) -> Result<Vec<usize>, PrepError> {
    check_cols(x, cols)?;
    let mut nan = vec![0usize; cols.len()];
    for &r in rows {
        let row = x.row(r);
        for (k, &c) in nan.iter_mut().zip(cols) {
            *k += usize::from(row[c].is_nan());
        }
    }
    let n = rows.len() as f64;
    Ok(cols
        .iter()
        .zip(&nan)
        .filter(|&(_, &k)| k as f64 / n > cutoff)
        .map(|(&c, _)| c)
        .collect())
}

/// Columns of `cols` whose largest or smallest value over `rows` (NaN skipped) exceeds
/// `cutoff` in absolute value.
pub fn drop_outliers<T: Float>(
    x: Matrix<'_, T>,
    rows: &[usize],
    cols: &[usize],
    cutoff: f64,
) -> Result<Vec<usize>, PrepError> {
    check_cols(x, cols)?;
    let mut lo = vec![f64::NAN; cols.len()];
    let mut hi = vec![f64::NAN; cols.len()];
    for &r in rows {
        let row = x.row(r);
        for ((l, h), &c) in lo.iter_mut().zip(&mut hi).zip(cols) {
            let v = row[c].to_f64();
            // f64::min/max return the non-NaN operand, so NaN is skipped.
            *l = l.min(v);
            *h = h.max(v);
        }
    }
    Ok(cols
        .iter()
        .zip(lo.iter().zip(&hi))
        .filter(|&(_, (&l, &h))| h.abs() > cutoff || l.abs() > cutoff)
        .map(|(&c, _)| c)
        .collect())
}

/// Columns of `cols` that pycytominer's `correlation_threshold` excludes (see the module
/// docs for the rule); an error naming the first column with NaN or ±inf on `rows`.
pub fn correlation_threshold<T: Float>(
    x: Matrix<'_, T>,
    rows: &[usize],
    cols: &[usize],
    threshold: f64,
    method: CorrMethod,
) -> Result<Vec<usize>, PrepError> {
    check_cols(x, cols)?;
    let m = cols.len();
    if m < 2 {
        return Ok(Vec::new());
    }
    let r = correlation_matrix(x, rows, cols, method)?;
    // Column sums of |r| with NaN skipped, as pandas' `abs().sum()`.
    let sums: Vec<f64> = (0..m)
        .map(|j| {
            r[j * m..(j + 1) * m]
                .iter()
                .filter(|v| !v.is_nan())
                .map(|v| v.abs())
                .sum()
        })
        .collect();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| sums[a].total_cmp(&sums[b]));
    let mut rank = vec![0usize; m];
    for (pos, &j) in order.iter().enumerate() {
        rank[j] = pos;
    }
    let mut drop = vec![false; m];
    for a in 1..m {
        for b in 0..a {
            if r[a * m + b] > threshold {
                drop[if rank[a] > rank[b] { a } else { b }] = true;
            }
        }
    }
    Ok(cols
        .iter()
        .zip(&drop)
        .filter(|&(_, &d)| d)
        .map(|(&c, _)| c)
        .collect())
}

/// The `m × m` Pearson correlation (row-major, symmetric) of columns `cols` over `rows`,
/// computed as numpy's `corrcoef`: centered cross-products scaled by the square roots of the
/// diagonal, clipped to `[-1, 1]`; NaN for a constant column. Spearman replaces each
/// column by its average ranks first.
pub fn correlation_matrix<T: Float>(
    x: Matrix<'_, T>,
    rows: &[usize],
    cols: &[usize],
    method: CorrMethod,
) -> Result<Vec<f64>, PrepError> {
    check_cols(x, cols)?;
    let (n, m) = (rows.len(), cols.len());
    if n == 0 {
        return Err(PrepError::TooFewRows {
            what: "correlation_threshold",
            needed: 1,
            got: 0,
        });
    }
    // Columns with NaN get pandas' pairwise-complete correlations (Pearson only); ±inf is an
    // error, as it makes every correlation with the column undefined.
    let mut has_nan = vec![false; m];
    for &r in rows {
        let row = x.row(r);
        for (k, &c) in cols.iter().enumerate() {
            let v = row[c];
            if v.is_nan() && method == CorrMethod::Pearson {
                has_nan[k] = true;
            } else if !v.is_finite() {
                return Err(PrepError::NonFinite {
                    what: "correlation_threshold (drop or impute the column first)",
                    row: r,
                    feature: c,
                });
            }
        }
    }
    // Spearman ranks whole columns, so it takes a full f64 copy; Pearson streams the rows in
    // blocks, so the f64 working copy stays small whatever the number of rows.
    let ranked: Option<Vec<f64>> = (method == CorrMethod::Spearman).then(|| {
        let mut full = Vec::with_capacity(n * m);
        for &r in rows {
            let row = x.row(r);
            full.extend(cols.iter().map(|&c| row[c].to_f64()));
        }
        for k in 0..m {
            let col: Vec<f64> = full.iter().skip(k).step_by(m).copied().collect();
            let ranks = crate::aggregate::average_ranks(&col);
            for (i, r) in ranks.into_iter().enumerate() {
                full[i * m + k] = r;
            }
        }
        full
    });
    // Value of column `k` on the `i`-th chosen row, as the product sees it before centering.
    let value = |i: usize, k: usize| -> f64 {
        match &ranked {
            Some(full) => full[i * m + k],
            None => x.row(rows[i])[cols[k]].to_f64(),
        }
    };
    // Row `i` of the chosen rows and columns, before centering, into `out`.
    let fill = |i: usize, out: &mut Vec<f64>| match &ranked {
        Some(full) => out.extend_from_slice(&full[i * m..(i + 1) * m]),
        None => {
            let row = x.row(rows[i]);
            out.extend(cols.iter().map(|&c| row[c].to_f64()));
        }
    };
    let mut mean = vec![0.0f64; m];
    let mut line = Vec::with_capacity(m);
    for i in 0..n {
        line.clear();
        fill(i, &mut line);
        mean.iter_mut().zip(&line).for_each(|(s, v)| *s += v);
    }
    for (k, s) in mean.iter_mut().enumerate() {
        // Columns with NaN are filled in pairwise below; zeros keep the product finite.
        *s = if has_nan[k] { f64::NAN } else { *s / n as f64 };
    }
    let centered_column = |k: usize| -> Vec<f64> {
        (0..n)
            .map(|i| {
                if has_nan[k] {
                    value(i, k)
                } else {
                    value(i, k) - mean[k]
                }
            })
            .collect()
    };
    let mut cov = vec![0.0f64; m * m];
    let mut block = Vec::with_capacity(CORR_BLOCK.min(n) * m);
    for start in (0..n).step_by(CORR_BLOCK) {
        let end = (start + CORR_BLOCK).min(n);
        block.clear();
        for i in start..end {
            let from = block.len();
            fill(i, &mut block);
            for (v, mu) in block[from..].iter_mut().zip(&mean) {
                *v = if mu.is_nan() { 0.0 } else { *v - mu };
            }
        }
        let a = MatRef::from_row_major_slice(&block, end - start, m);
        // Only the lower triangle of the symmetric product: half the flops of a full GEMM. The
        // pool's parallelism does not change a value: faer's triangular GEMM splits the output
        // among threads, never the sum over rows (checked bit for bit at 1 to 16 threads).
        triangular::matmul(
            MatMut::from_column_major_slice_mut(&mut cov, m, m),
            BlockStructure::TriangularLower,
            if start == 0 {
                Accum::Replace
            } else {
                Accum::Add
            },
            a.transpose(),
            BlockStructure::Rectangular,
            a,
            BlockStructure::Rectangular,
            1.0,
            Par::rayon(0),
        );
    }
    // Column-major lower triangle: entry (a, b), a >= b, sits at b * m + a.
    let sd: Vec<f64> = (0..m).map(|k| cov[k * m + k].sqrt()).collect();
    for b in 0..m {
        for a in b..m {
            let v = (cov[b * m + a] / sd[a] / sd[b]).clamp(-1.0, 1.0);
            cov[b * m + a] = v;
            cov[a * m + b] = v;
        }
    }
    let nan_cols: Vec<usize> = (0..m).filter(|&k| has_nan[k]).collect();
    let raw: Vec<Vec<f64>> = nan_cols.iter().map(|&k| centered_column(k)).collect();
    for (a, col_a) in nan_cols.iter().zip(&raw) {
        for b in 0..m {
            let r = match nan_cols.binary_search(&b) {
                Ok(i) => pairwise_pearson(col_a, &raw[i]),
                // A complete column, centered; the pairwise mean is taken again anyway.
                Err(_) => pairwise_pearson(col_a, &centered_column(b)),
            };
            cov[a * m + b] = r;
            cov[b * m + a] = r;
        }
    }
    Ok(cov)
}

/// Pearson correlation over the positions where both are non-NaN (pandas' pairwise-complete
/// `corr`); NaN when fewer than one pair or a zero spread.
fn pairwise_pearson(a: &[f64], b: &[f64]) -> f64 {
    let pairs: Vec<(f64, f64)> = a
        .iter()
        .zip(b)
        .filter(|(p, q)| !p.is_nan() && !q.is_nan())
        .map(|(&p, &q)| (p, q))
        .collect();
    if pairs.is_empty() {
        return f64::NAN;
    }
    let k = pairs.len() as f64;
    let ma = pairs.iter().map(|p| p.0).sum::<f64>() / k;
    let mb = pairs.iter().map(|p| p.1).sum::<f64>() / k;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for &(p, q) in &pairs {
        sab += (p - ma) * (q - mb);
        saa += (p - ma) * (p - ma);
        sbb += (q - mb) * (q - mb);
    }
    let divisor = (saa * sbb).sqrt();
    if divisor == 0.0 {
        f64::NAN
    } else {
        (sab / divisor).clamp(-1.0, 1.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(data: &[f32], n: usize, d: usize) -> Matrix<'_> {
        Matrix::new(data, n, d).unwrap()
    }

    #[test]
    fn names_round_trip_and_unknown_is_rejected() {
        for op in FeatureOp::ALL {
            assert_eq!(op.name().parse::<FeatureOp>().unwrap(), op);
        }
        assert!(matches!(
            "variance".parse::<FeatureOp>(),
            Err(PrepError::InvalidParameter { name: "ops", .. })
        ));
    }

    #[test]
    fn variance_na_and_outliers_by_hand() {
        // Columns: varying; constant; NaN in 2 of 4 rows; one value above 500 in magnitude.
        let x = [
            1.0,
            7.0,
            f32::NAN,
            1.0, //
            2.0,
            7.0,
            1.0,
            -600.0, //
            3.0,
            7.0,
            f32::NAN,
            2.0, //
            4.0,
            7.0,
            2.0,
            3.0,
        ];
        let v = m(&x, 4, 4);
        let all = [0, 1, 2, 3];
        let cols = [0, 1, 2, 3];
        assert_eq!(variance_threshold(v, &all, &cols, 1e-6).unwrap(), vec![1]);
        assert_eq!(drop_na_columns(v, &all, &cols, 0.05).unwrap(), vec![2]);
        assert_eq!(
            drop_na_columns(v, &all, &cols, 0.5).unwrap(),
            Vec::<usize>::new()
        );
        assert_eq!(drop_outliers(v, &all, &cols, 500.0).unwrap(), vec![3]);
        // Only the rows given count: without row 1 column 3 is tame.
        assert_eq!(
            drop_outliers(v, &[0, 2, 3], &cols, 500.0).unwrap(),
            Vec::<usize>::new()
        );
    }

    #[test]
    fn frequency_threshold_counts_values() {
        // Column 0: 1 ×9, 2 ×1 → ratio 1/9 ≥ 0.05, 2 distinct / 10 = 0.2: kept with defaults,
        // dropped with freq_cut 0.2. Column 1: all different → kept. Column 2: constant → dropped.
        let mut x = Vec::new();
        for i in 0..10 {
            x.extend([if i == 3 { 2.0 } else { 1.0 }, i as f32, 5.0]);
        }
        let v = m(&x, 10, 3);
        let rows: Vec<usize> = (0..10).collect();
        assert_eq!(
            frequency_threshold(v, &rows, &[0, 1, 2], 0.05, 0.01).unwrap(),
            vec![2]
        );
        assert_eq!(
            frequency_threshold(v, &rows, &[0, 1, 2], 0.2, 0.01).unwrap(),
            vec![0, 2]
        );
        // unique_cut 0.3: column 0 has 2 distinct values in 10 rows.
        assert_eq!(
            frequency_threshold(v, &rows, &[0, 1], 0.05, 0.3).unwrap(),
            vec![0]
        );
    }

    #[test]
    fn correlation_threshold_drops_the_more_connected_member() {
        // f0 and f1 nearly equal; f2 correlates with both moderately; f3 anti-correlated
        // with f0 (signed r, so it stays).
        let n = 8;
        let mut x = Vec::new();
        for i in 0..n {
            let t = i as f32;
            let noise = if i % 2 == 0 { 0.1 } else { -0.1 };
            x.extend([t, t + noise, (t * 7.0) % 5.0 + t * 0.3, -t]);
        }
        let v = m(&x, n, 4);
        let rows: Vec<usize> = (0..n).collect();
        let r = correlation_matrix(v, &rows, &[0, 1, 2, 3], CorrMethod::Pearson).unwrap();
        assert!((r[0] - 1.0).abs() < 1e-12);
        assert!(r[1] > 0.99 && (r[3] + 1.0).abs() < 1e-12);
        let sums: Vec<f64> = (0..4)
            .map(|j| (0..4).map(|k| r[j * 4 + k].abs()).sum())
            .collect();
        let expected = if sums[0] > sums[1] { 0 } else { 1 };
        let p = CorrMethod::Pearson;
        assert_eq!(
            correlation_threshold(v, &rows, &[0, 1, 2, 3], 0.9, p).unwrap(),
            vec![expected]
        );
        assert_eq!(
            correlation_threshold(v, &rows, &[2, 3], 0.9, p).unwrap(),
            Vec::<usize>::new()
        );
        // Ranks: f0, f1 and (negated) f3 are monotone in t, so Spearman sees |r| = 1 for all.
        let s = correlation_matrix(v, &rows, &[0, 1, 3], CorrMethod::Spearman).unwrap();
        assert!((s[1] - 1.0).abs() < 1e-12 && (s[2] + 1.0).abs() < 1e-12);
        // NaN: pairwise-complete, so feature 1 loses row 1 in its correlations only.
        let mut gap = x.clone();
        gap[5] = f32::NAN;
        let r = correlation_matrix(m(&gap, n, 4), &rows, &[0, 1, 2, 3], p).unwrap();
        let others: Vec<usize> = rows.iter().copied().filter(|&i| i != 1).collect();
        let r_sub = correlation_matrix(v, &others, &[0, 1], p).unwrap();
        assert!((r[1] - r_sub[1]).abs() < 1e-12 && (r[4] - r_sub[2]).abs() < 1e-12);
        assert!((r[5] - 1.0).abs() < 1e-12);
        let mut bad = x.clone();
        bad[5] = f32::INFINITY;
        assert!(matches!(
            correlation_threshold(m(&bad, n, 4), &rows, &[0, 1, 2, 3], 0.9, p),
            Err(PrepError::NonFinite {
                row: 1,
                feature: 1,
                ..
            })
        ));
    }

    #[test]
    fn correlation_over_several_row_blocks_matches_a_direct_two_pass_pearson() {
        // More rows than two product blocks, with a column offset far from its spread, a
        // sub-sampled row set, and a NaN in one column (pairwise path next to the blocks).
        let n = 2 * CORR_BLOCK + 37;
        let d = 4;
        let mut data = vec![0.0f32; n * d];
        for i in 0..n {
            let t = (i as f32 * 0.37).sin();
            let u = (i as f32 * 1.91).cos();
            data[i * d] = t;
            data[i * d + 1] = 1000.0 + 0.5 * t + 0.1 * u;
            data[i * d + 2] = u - t;
            data[i * d + 3] = (i % 7) as f32;
        }
        data[5 * d + 2] = f32::NAN;
        let x = m(&data, n, d);
        let rows: Vec<usize> = (0..n).filter(|i| i % 5 != 1).collect();
        let cols = [0, 1, 2, 3];
        let r = correlation_matrix(x, &rows, &cols, CorrMethod::Pearson).unwrap();
        let column =
            |c: usize| -> Vec<f64> { rows.iter().map(|&i| f64::from(data[i * d + c])).collect() };
        for a in 0..d {
            for b in 0..d {
                let want = pairwise_pearson(&column(a), &column(b));
                let got = r[a * d + b];
                assert!(
                    (got - want).abs() < 1e-12,
                    "r[{a}][{b}] = {got}, want {want}"
                );
            }
        }
    }

    #[test]
    fn chain_judges_only_surviving_features() {
        // f1 is a copy of f0 (dropped by correlation), f2 constant (dropped by variance first,
        // so correlation never sees its NaN correlations), f3 blocklisted.
        let n = 6;
        let mut x = Vec::new();
        for i in 0..n {
            let t = (i * i) as f32;
            x.extend([t, t * 2.0 + 1.0, 3.0, (i % 2) as f32]);
        }
        let fs = FeatureSelect::new(
            vec![
                FeatureOp::VarianceThreshold,
                FeatureOp::CorrelationThreshold,
                FeatureOp::Blocklist,
            ],
            Thresholds::default(),
            vec![false, false, false, true],
        )
        .unwrap();
        let rows: Vec<usize> = (0..n).collect();
        let sel = fs.run(m(&x, n, 4), &rows).unwrap();
        assert_eq!(sel.excluded[0], (FeatureOp::VarianceThreshold, vec![2]));
        assert_eq!(sel.excluded[1].1.len(), 1);
        assert_eq!(sel.excluded[2], (FeatureOp::Blocklist, vec![3]));
        assert_eq!(sel.keep.len(), 1);
        assert_eq!(fs.select(m(&x, n, 4), &rows).unwrap(), sel.keep);
        let bad = Thresholds {
            corr_threshold: 1.5,
            ..Thresholds::default()
        };
        assert!(FeatureSelect::new(vec![FeatureOp::Blocklist], bad, vec![]).is_err());
    }
}
