//! Pairwise similarities between profiles, computed one block of queries at a time.
//!
//! Usage: [`prepare`] the rows once for a [`Similarity`], then call
//! [`similarity_block`] for each range of query rows from [`blocks`]. Each call
//! fills `queries.len() × n` values, so memory is `block × n`, never `n × n`.
//!
//! All arithmetic is `f64`: the `f32` input is widened before norms, centering
//! and dot products, matching reference implementations that run on `float64`.
//! Rows are checked up front: non-finite values and, for the normalized
//! similarities, zero-norm rows are errors that name the 0-based row.
//!
//! [`Similarity`] itself is defined in `crate::measure` (the errors name it too) and
//! re-exported here; its `FromStr` (canonical and copairs spellings) is implemented here.

use std::ops::Range;
use std::str::FromStr;

use faer::{Accum, MatMut, MatRef, Par};

use crate::error::MetricError;
use crate::matrix::Matrix;
pub use crate::measure::Similarity;

impl FromStr for Similarity {
    type Err = MetricError;

    /// Parses a canonical name; copairs' spellings `abs_cosine` and
    /// `correlation` are accepted too, so copairs-style flags carry over.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "cosine" => Ok(Similarity::Cosine),
            "pearson" | "correlation" => Ok(Similarity::Pearson),
            "abs-cosine" | "abs_cosine" => Ok(Similarity::AbsCosine),
            "euclidean" => Ok(Similarity::Euclidean),
            _ => Err(MetricError::InvalidParameter {
                name: "similarity",
                value: s.to_owned(),
                reason: "expected one of cosine, pearson, abs-cosine, euclidean".to_owned(),
            }),
        }
    }
}

/// Rows transformed once so that every similarity reduces to dot products.
///
/// Holds an `f64` copy of the input (`8·n·d` bytes): unit-norm rows for cosine
/// and abs-cosine, centered unit-norm rows for Pearson, and column-centered
/// rows plus their squared norms for Euclidean.
#[derive(Debug, Clone)]
pub struct PreparedRows {
    similarity: Similarity,
    n: usize,
    d: usize,
    rows: Vec<f64>,
    /// Squared norms of `rows`; filled for Euclidean only.
    sq_norms: Vec<f64>,
    par: Par,
}

impl PreparedRows {
    /// The similarity these rows were prepared for.
    pub fn similarity(&self) -> Similarity {
        self.similarity
    }

    /// Number of rows.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of features per row.
    pub fn d(&self) -> usize {
        self.d
    }

    /// The transformed rows, row-major `n × d`: unit norm (cosine, abs-cosine), centered then
    /// unit norm (Pearson), column-centered (Euclidean).
    pub(crate) fn into_rows(self) -> Vec<f64> {
        self.rows
    }

    /// Sets the faer parallelism used by [`similarity_block`] (default: all rayon threads).
    pub fn with_parallelism(mut self, par: Par) -> Self {
        self.par = par;
        self
    }
}

/// Validates `x` and transforms its rows for `similarity`.
///
/// Errors: [`MetricError::TooFewRows`] for `n = 0`, [`MetricError::InvalidParameter`]
/// for `d = 0`, [`MetricError::NonFinite`] for the first NaN/±inf (row-major order),
/// and [`MetricError::ZeroNorm`] with the first 0-based row whose norm is zero
/// (cosine, abs-cosine) or that is constant (Pearson). Euclidean accepts any finite row.
pub fn prepare(x: Matrix<'_>, similarity: Similarity) -> Result<PreparedRows, MetricError> {
    let (n, d) = (x.n(), x.d());
    if n == 0 {
        return Err(MetricError::TooFewRows {
            what: "similarity",
            needed: 1,
            got: 0,
        });
    }
    if d == 0 {
        return Err(MetricError::InvalidParameter {
            name: "d",
            value: "0".to_owned(),
            reason: "profiles need at least one feature".to_owned(),
        });
    }
    for (row, values) in x.rows().enumerate() {
        if let Some(col) = values.iter().position(|v| !v.is_finite()) {
            return Err(MetricError::NonFinite { row, col });
        }
    }

    let mut rows: Vec<f64> = x.data().iter().map(|&v| f64::from(v)).collect();
    let mut sq_norms = Vec::new();
    match similarity {
        Similarity::Cosine | Similarity::AbsCosine => {
            for (row, values) in rows.chunks_exact_mut(d).enumerate() {
                // Squares of f32 values neither underflow nor overflow in f64, so
                // the f64 norm is zero exactly when every value is zero.
                let norm = values.iter().map(|v| v * v).sum::<f64>().sqrt();
                if norm == 0.0 {
                    return Err(MetricError::ZeroNorm { row, similarity });
                }
                values.iter_mut().for_each(|v| *v /= norm);
            }
        }
        Similarity::Pearson => {
            for (row, values) in rows.chunks_exact_mut(d).enumerate() {
                // The f64 mean of a constant f32 row is that value exactly (the
                // partial sums k·v need at most 24 + 29 bits for d < 2^29), so a
                // constant row centers to exact zeros and any other row does not.
                let mean = values.iter().sum::<f64>() / d as f64;
                values.iter_mut().for_each(|v| *v -= mean);
                let norm = values.iter().map(|v| v * v).sum::<f64>().sqrt();
                if norm == 0.0 {
                    return Err(MetricError::ZeroNorm { row, similarity });
                }
                values.iter_mut().for_each(|v| *v /= norm);
            }
        }
        Similarity::Euclidean => {
            // Distances are translation invariant; removing the column means
            // shrinks |a|² + |b|² − 2a·b, whose cancellation would otherwise eat
            // the precision of small distances between rows far from the origin.
            let mut means = vec![0.0f64; d];
            for values in rows.chunks_exact(d) {
                means.iter_mut().zip(values).for_each(|(m, v)| *m += v);
            }
            means.iter_mut().for_each(|m| *m /= n as f64);
            sq_norms.reserve_exact(n);
            for values in rows.chunks_exact_mut(d) {
                values.iter_mut().zip(&means).for_each(|(v, m)| *v -= m);
                sq_norms.push(values.iter().map(|v| v * v).sum());
            }
        }
    }
    Ok(PreparedRows {
        similarity,
        n,
        d,
        rows,
        sq_norms,
        // The whole pool may work on each product without changing a value: it is a GEMM, or
        // with one query a row-major matrix–vector product (one whole dot product per output),
        // and faer splits neither kernel's sums between threads (issue 16: checked bit for bit
        // at 1 to 16 threads, and by the e2e thread sweep).
        par: Par::rayon(0),
    })
}

/// Refuses profiles on which `similarity` cannot rank rows: two or more rows that are all
/// the same (every similarity is then one value), or a single feature under cosine or
/// abs-cosine (the cosine of two one-feature rows is the sign of their product, ±1, so almost
/// every pair ties; abs-cosine is 1 everywhere). Scores that rank by similarity break ties by
/// a fixed rule (copairs: positives first), so on such input they report a perfect or
/// arbitrary value instead of failing: callers that score (mAP, enrichment, precision@k,
/// percent replicating, kNN, relations) check this first. Rows are compared as given (before
/// any normalization); `-0.0` equals `0.0`. Fewer than two rows pass: the metrics refuse them
/// with their own message.
pub fn check_contrast(x: Matrix<'_>, similarity: Similarity) -> Result<(), MetricError> {
    let (n, d) = (x.n(), x.d());
    if n < 2 {
        return Ok(());
    }
    let first = x.row(0);
    if x.rows().all(|row| row == first) {
        return Err(MetricError::NoContrast {
            similarity,
            reason: format!("all {n} rows hold the same {d} feature value(s)"),
        });
    }
    if d == 1 && matches!(similarity, Similarity::Cosine | Similarity::AbsCosine) {
        return Err(MetricError::NoContrast {
            similarity,
            reason: format!(
                "the profiles have a single feature, so the {similarity} similarity of two rows \
                 is {} and nearly every pair ties (a Euclidean similarity does not)",
                if similarity == Similarity::Cosine {
                    "the sign of their product (±1)"
                } else {
                    "always 1"
                }
            ),
        });
    }
    Ok(())
}

/// Splits `0..n` into consecutive query ranges of `block` rows (the last may be shorter).
pub fn blocks(
    n: usize,
    block: usize,
) -> Result<impl ExactSizeIterator<Item = Range<usize>>, MetricError> {
    if block == 0 {
        return Err(MetricError::InvalidParameter {
            name: "block",
            value: "0".to_owned(),
            reason: "a query block needs at least one row".to_owned(),
        });
    }
    Ok((0..n.div_ceil(block)).map(move |b| b * block..((b + 1) * block).min(n)))
}

/// Fills `out` (row-major, `queries.len() × n`) with `sim(q, j)` for every query
/// row `q` in `queries` and every row `j`: `out[(q − queries.start)·n + j]`.
///
/// The dot products run as one faer `f64` matrix product. Euclidean uses
/// `d = sqrt(max(0, |a|² + |b|² − 2a·b))`; a row's similarity with itself is
/// exactly 1 there, since the formula's rounding would otherwise leave
/// `1/(1 + sqrt(ε))`, visibly below 1. Values are not clamped, so cosines can
/// exceed ±1 by a few ulps.
pub fn similarity_block(
    prepared: &PreparedRows,
    queries: Range<usize>,
    out: &mut [f64],
) -> Result<(), MetricError> {
    let (n, d) = (prepared.n, prepared.d);
    if queries.start > queries.end || queries.end > n {
        return Err(MetricError::InvalidParameter {
            name: "queries",
            value: format!("{}..{}", queries.start, queries.end),
            reason: format!("must be an increasing range within 0..{n}"),
        });
    }
    let b = queries.len();
    if out.len() != b * n {
        return Err(MetricError::ShapeMismatch {
            what: "output block length (queries * n)",
            expected: b * n,
            got: out.len(),
        });
    }
    if b == 0 {
        return Ok(());
    }

    // out, read column-major as n × b, is (all rows) · (query rows)ᵀ.
    let all = MatRef::from_row_major_slice(&prepared.rows, n, d);
    let query_rows_t =
        MatRef::from_column_major_slice(&prepared.rows[queries.start * d..queries.end * d], d, b);
    let dst = MatMut::from_column_major_slice_mut(out, n, b);
    faer::linalg::matmul::matmul(dst, Accum::Replace, all, query_rows_t, 1.0, prepared.par);

    match prepared.similarity {
        Similarity::Cosine | Similarity::Pearson => {}
        Similarity::AbsCosine => out.iter_mut().for_each(|v| *v = v.abs()),
        Similarity::Euclidean => {
            let sq = &prepared.sq_norms;
            for (q, sims) in queries.zip(out.chunks_exact_mut(n)) {
                for (j, s) in sims.iter_mut().enumerate() {
                    *s = if j == q {
                        1.0
                    } else {
                        let dist2 = (sq[q] + sq[j] - 2.0 * *s).max(0.0);
                        1.0 / (1.0 + dist2.sqrt())
                    };
                }
            }
        }
    }
    Ok(())
}

/// Fills `out` (row-major, `queries.len() × t`) with `sim(queries[a], targets[b])`:
/// `out[a·t + b]`, where `targets = None` means every row in order (`t = n`).
///
/// For query sets that are not a contiguous range, and for scoring against a few target rows
/// only (e.g. against controls): the rows are gathered and multiplied as one faer `f64`
/// product, so the cost is `queries × t × d`, not `queries × n × d`. Values follow
/// [`similarity_block`], including Euclidean's exact 1 when a query meets its own row.
pub fn similarity_gathered(
    prepared: &PreparedRows,
    queries: &[usize],
    targets: Option<&[usize]>,
    out: &mut [f64],
) -> Result<(), MetricError> {
    let (n, d) = (prepared.n, prepared.d);
    let out_of_range = |name: &'static str, rows: &[usize]| {
        rows.iter()
            .find(|&&r| r >= n)
            .map(|&r| MetricError::InvalidParameter {
                name,
                value: r.to_string(),
                reason: format!("row index out of range for {n} rows"),
            })
    };
    if let Some(e) =
        out_of_range("queries", queries).or_else(|| out_of_range("targets", targets.unwrap_or(&[])))
    {
        return Err(e);
    }
    let b = queries.len();
    let t = targets.map_or(n, <[usize]>::len);
    if out.len() != b * t {
        return Err(MetricError::ShapeMismatch {
            what: "output block length (queries * targets)",
            expected: b * t,
            got: out.len(),
        });
    }
    if b == 0 || t == 0 {
        return Ok(());
    }

    let gather = |rows: &[usize]| -> Vec<f64> {
        let mut g = Vec::with_capacity(rows.len() * d);
        for &r in rows {
            g.extend_from_slice(&prepared.rows[r * d..(r + 1) * d]);
        }
        g
    };
    let query_rows = gather(queries);
    let target_rows = targets.map(gather);
    let all = MatRef::from_row_major_slice(target_rows.as_deref().unwrap_or(&prepared.rows), t, d);
    // out, read column-major as t × b, is (target rows) · (query rows)ᵀ.
    let query_rows_t = MatRef::from_column_major_slice(&query_rows, d, b);
    let dst = MatMut::from_column_major_slice_mut(out, t, b);
    faer::linalg::matmul::matmul(dst, Accum::Replace, all, query_rows_t, 1.0, prepared.par);

    match prepared.similarity {
        Similarity::Cosine | Similarity::Pearson => {}
        Similarity::AbsCosine => out.iter_mut().for_each(|v| *v = v.abs()),
        Similarity::Euclidean => {
            let sq = &prepared.sq_norms;
            for (&q, sims) in queries.iter().zip(out.chunks_exact_mut(t)) {
                for (k, s) in sims.iter_mut().enumerate() {
                    let j = targets.map_or(k, |ts| ts[k]);
                    *s = if j == q {
                        1.0
                    } else {
                        let dist2 = (sq[q] + sq[j] - 2.0 * *s).max(0.0);
                        1.0 / (1.0 + dist2.sqrt())
                    };
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// splitmix64: deterministic test data without a rand dependency.
    struct Rng(u64);

    impl Rng {
        fn next_u64(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }

        /// Uniform in [lo, hi).
        fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
            let u = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
            lo + (hi - lo) * u
        }
    }

    fn random_matrix(n: usize, d: usize, seed: u64, offset: f32) -> Vec<f32> {
        let mut rng = Rng(seed);
        (0..n * d)
            .map(|_| offset + rng.uniform(-1.0, 1.0))
            .collect()
    }

    /// Straight from the definitions, one pair at a time, in f64.
    fn naive(x: &[f32], d: usize, i: usize, j: usize, sim: Similarity) -> f64 {
        let a: Vec<f64> = x[i * d..(i + 1) * d].iter().map(|&v| v.into()).collect();
        let b: Vec<f64> = x[j * d..(j + 1) * d].iter().map(|&v| v.into()).collect();
        let dot = |a: &[f64], b: &[f64]| a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>();
        let cos = |a: &[f64], b: &[f64]| dot(a, b) / (dot(a, a).sqrt() * dot(b, b).sqrt());
        let center = |v: &[f64]| {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            v.iter().map(|x| x - m).collect::<Vec<_>>()
        };
        match sim {
            Similarity::Cosine => cos(&a, &b),
            Similarity::AbsCosine => cos(&a, &b).abs(),
            Similarity::Pearson => cos(&center(&a), &center(&b)),
            Similarity::Euclidean => {
                let dist = a
                    .iter()
                    .zip(&b)
                    .map(|(x, y)| (x - y) * (x - y))
                    .sum::<f64>();
                1.0 / (1.0 + dist.sqrt())
            }
        }
    }

    /// Full n × n matrix assembled from blocks of the given size.
    fn blocked(x: &[f32], n: usize, d: usize, sim: Similarity, block: usize) -> Vec<f64> {
        let prepared = prepare(Matrix::new(x, n, d).unwrap(), sim).unwrap();
        let mut full = vec![f64::NAN; n * n];
        let mut buf = vec![0.0; block * n];
        for range in blocks(n, block).unwrap() {
            let len = range.len() * n;
            similarity_block(&prepared, range.clone(), &mut buf[..len]).unwrap();
            full[range.start * n..range.end * n].copy_from_slice(&buf[..len]);
        }
        full
    }

    #[test]
    fn blocked_matches_naive_for_every_similarity_and_block_size() {
        let (n, d) = (23, 17);
        // The offset puts rows far from the origin, where Euclidean's
        // |a|²+|b|²−2a·b form loses ~1e-10 without column centering.
        let x = random_matrix(n, d, 7, 1000.0);
        for sim in Similarity::ALL {
            for block in [1, 4, 5, 22, 23, 64] {
                let got = blocked(&x, n, d, sim, block);
                for i in 0..n {
                    for j in 0..n {
                        let want = naive(&x, d, i, j, sim);
                        let g = got[i * n + j];
                        assert!(
                            (g - want).abs() <= 1e-12,
                            "{sim} block {block} ({i},{j}): {g} vs {want}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn similarities_are_symmetric() {
        let (n, d) = (19, 9);
        let x = random_matrix(n, d, 11, 0.0);
        for sim in Similarity::ALL {
            let s = blocked(&x, n, d, sim, 6);
            for i in 0..n {
                for j in 0..i {
                    assert!(
                        (s[i * n + j] - s[j * n + i]).abs() <= 1e-14,
                        "{sim} ({i},{j})"
                    );
                }
            }
        }
    }

    #[test]
    fn self_similarity_is_one() {
        let (n, d) = (15, 8);
        let x = random_matrix(n, d, 3, 0.5);
        for sim in Similarity::ALL {
            let s = blocked(&x, n, d, sim, 4);
            for i in 0..n {
                assert!((s[i * n + i] - 1.0).abs() <= 1e-14, "{sim} row {i}");
            }
        }
        // Exact for Euclidean by construction.
        let s = blocked(&x, n, d, Similarity::Euclidean, 4);
        assert!((0..n).all(|i| s[i * n + i] == 1.0));
    }

    #[test]
    fn hand_computed_values() {
        // a = (1,0), b = (0,1), c = (1,1), e = (-2,0)
        let x = [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0, -2.0, 0.0];
        let cos = blocked(&x, 4, 2, Similarity::Cosine, 4);
        assert!((cos[2] - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-15);
        assert!(cos[1].abs() < 1e-15);
        assert!((cos[3] + 1.0).abs() < 1e-15);
        let abs = blocked(&x, 4, 2, Similarity::AbsCosine, 4);
        assert!((abs[3] - 1.0).abs() < 1e-15);
        let euc = blocked(&x, 4, 2, Similarity::Euclidean, 3);
        assert!((euc[1] - 1.0 / (1.0 + 2f64.sqrt())).abs() < 1e-15);
        assert!((euc[3] - 1.0 / 4.0).abs() < 1e-15);
        assert!((euc[2 * 4 + 3] - 1.0 / (1.0 + 10f64.sqrt())).abs() < 1e-15);

        // Pearson of (1,2,3) with (3,2,1) is −1, with (2,4,7) it is 15/√228.
        let y = [1.0f32, 2.0, 3.0, 3.0, 2.0, 1.0, 2.0, 4.0, 7.0];
        let p = blocked(&y, 3, 3, Similarity::Pearson, 2);
        assert!((p[1] + 1.0).abs() < 1e-15);
        assert!((p[2] - 15.0 / 228f64.sqrt()).abs() < 1e-15);
    }

    #[test]
    fn zero_norm_names_the_row() {
        let x = [1.0f32, 2.0, 0.5, 0.5, 0.0, 0.0, 0.0, 0.0];
        for sim in [Similarity::Cosine, Similarity::AbsCosine] {
            let err = prepare(Matrix::new(&x, 4, 2).unwrap(), sim).unwrap_err();
            assert_eq!(
                err,
                MetricError::ZeroNorm {
                    row: 2,
                    similarity: sim
                }
            );
        }
        let err = prepare(Matrix::new(&x, 4, 2).unwrap(), Similarity::Cosine).unwrap_err();
        assert_eq!(
            err.to_string(),
            "row 2 has zero norm: cosine similarity is undefined"
        );
        // Row 1 (0.5, 0.5) is constant: zero norm once centered.
        let err = prepare(Matrix::new(&x, 4, 2).unwrap(), Similarity::Pearson).unwrap_err();
        assert_eq!(
            err,
            MetricError::ZeroNorm {
                row: 1,
                similarity: Similarity::Pearson
            }
        );
        assert_eq!(
            err.to_string(),
            "row 1 has zero norm after centering (constant row): pearson similarity is undefined"
        );
        // Euclidean is defined for zero rows.
        assert!(prepare(Matrix::new(&x, 4, 2).unwrap(), Similarity::Euclidean).is_ok());
    }

    #[test]
    fn pearson_detects_constant_rows_of_any_value() {
        // A constant row must be reported, not "normalized" into rounding noise.
        let d = 7;
        let mut x = vec![0.1f32; 3 * d];
        x[..d].copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.5]);
        x[2 * d..].copy_from_slice(&[-3.3e7; 7]);
        let err =
            prepare(Matrix::new(&x[..2 * d], 2, d).unwrap(), Similarity::Pearson).unwrap_err();
        assert_eq!(
            err,
            MetricError::ZeroNorm {
                row: 1,
                similarity: Similarity::Pearson
            }
        );
        x[d..2 * d].copy_from_slice(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        let err = prepare(Matrix::new(&x, 3, d).unwrap(), Similarity::Pearson).unwrap_err();
        assert_eq!(
            err,
            MetricError::ZeroNorm {
                row: 2,
                similarity: Similarity::Pearson
            }
        );
    }

    #[test]
    fn invalid_inputs_are_rejected() {
        let x = [1.0f32, 2.0, f32::NAN, 4.0];
        let err = prepare(Matrix::new(&x, 2, 2).unwrap(), Similarity::Euclidean).unwrap_err();
        assert_eq!(err, MetricError::NonFinite { row: 1, col: 0 });

        let err = prepare(Matrix::new(&[], 0, 3).unwrap(), Similarity::Cosine).unwrap_err();
        assert!(matches!(
            err,
            MetricError::TooFewRows {
                needed: 1,
                got: 0,
                ..
            }
        ));
        let err = prepare(Matrix::new(&[], 3, 0).unwrap(), Similarity::Cosine).unwrap_err();
        assert!(matches!(
            err,
            MetricError::InvalidParameter { name: "d", .. }
        ));

        let x = random_matrix(5, 3, 1, 0.0);
        let p = prepare(Matrix::new(&x, 5, 3).unwrap(), Similarity::Cosine).unwrap();
        let mut out = vec![0.0; 10];
        assert!(matches!(
            similarity_block(&p, 4..6, &mut out),
            Err(MetricError::InvalidParameter {
                name: "queries",
                ..
            })
        ));
        assert_eq!(
            similarity_block(&p, 0..3, &mut out),
            Err(MetricError::ShapeMismatch {
                what: "output block length (queries * n)",
                expected: 15,
                got: 10
            })
        );
        assert_eq!(similarity_block(&p, 2..2, &mut []), Ok(()));
    }

    #[test]
    fn gathered_matches_naive_for_any_row_subsets() {
        let (n, d) = (21, 13);
        let x = random_matrix(n, d, 5, 1000.0);
        let queries = [7usize, 0, 20, 7, 3];
        let targets = [20usize, 1, 7, 7, 12, 0];
        for sim in Similarity::ALL {
            let p = prepare(Matrix::new(&x, n, d).unwrap(), sim).unwrap();
            let mut out = vec![f64::NAN; queries.len() * targets.len()];
            similarity_gathered(&p, &queries, Some(&targets), &mut out).unwrap();
            let mut all = vec![f64::NAN; queries.len() * n];
            similarity_gathered(&p, &queries, None, &mut all).unwrap();
            for (a, &q) in queries.iter().enumerate() {
                for (b, &t) in targets.iter().enumerate() {
                    let want = naive(&x, d, q, t, sim);
                    let got = out[a * targets.len() + b];
                    assert!(
                        (got - want).abs() <= 1e-12,
                        "{sim} ({q},{t}): {got} vs {want}"
                    );
                }
                for t in 0..n {
                    let got = all[a * n + t];
                    assert!(
                        (got - naive(&x, d, q, t, sim)).abs() <= 1e-12,
                        "{sim} ({q},{t})"
                    );
                }
            }
            if sim == Similarity::Euclidean {
                // Self pairs are exactly 1, as in similarity_block.
                assert_eq!(out[2], 1.0);
                assert_eq!(out[3], 1.0);
            }
        }
    }

    #[test]
    fn gathered_gives_bit_identical_values_for_identical_rows() {
        // Rank ties between a positive and a negative are decided by bit equality of their
        // similarities, so duplicated profiles must come out identical wherever they sit in
        // the product (tile interior or edge).
        let (d, base) = (37, 9);
        let src = random_matrix(base, d, 17, 0.0);
        let n = 300;
        let x: Vec<f32> = (0..n)
            .flat_map(|i| src[(i % base) * d..(i % base + 1) * d].to_vec())
            .collect();
        for sim in Similarity::ALL {
            let p = prepare(Matrix::new(&x, n, d).unwrap(), sim).unwrap();
            let queries: Vec<usize> = (0..40).map(|k| (k * 7) % n).collect();
            let targets: Vec<usize> = (0..n).rev().collect();
            for tg in [None, Some(&targets[..])] {
                let t = tg.map_or(n, <[usize]>::len);
                let mut out = vec![0.0; queries.len() * t];
                similarity_gathered(&p, &queries, tg, &mut out).unwrap();
                for (a, &q) in queries.iter().enumerate() {
                    let row = &out[a * t..(a + 1) * t];
                    // First non-self target position of each content class.
                    let mut first = [usize::MAX; 9];
                    for k in 0..t {
                        let j = tg.map_or(k, |ts| ts[k]);
                        if j == q {
                            continue;
                        }
                        let c = j % base;
                        if first[c] == usize::MAX {
                            first[c] = k;
                        }
                        assert_eq!(
                            row[k].to_bits(),
                            row[first[c]].to_bits(),
                            "{sim} q={q} j={j}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn gathered_rejects_bad_shapes() {
        let x = random_matrix(5, 3, 1, 0.0);
        let p = prepare(Matrix::new(&x, 5, 3).unwrap(), Similarity::Cosine).unwrap();
        let mut out = vec![0.0; 4];
        assert!(matches!(
            similarity_gathered(&p, &[0, 5], Some(&[1, 2]), &mut out),
            Err(MetricError::InvalidParameter {
                name: "queries",
                ..
            })
        ));
        assert!(matches!(
            similarity_gathered(&p, &[0, 1], Some(&[1, 9]), &mut out),
            Err(MetricError::InvalidParameter {
                name: "targets",
                ..
            })
        ));
        assert!(matches!(
            similarity_gathered(&p, &[0, 1], None, &mut out),
            Err(MetricError::ShapeMismatch { expected: 10, .. })
        ));
        assert_eq!(similarity_gathered(&p, &[], None, &mut []), Ok(()));
    }

    #[test]
    fn blocks_cover_the_range_once() {
        let got: Vec<_> = blocks(10, 4).unwrap().collect();
        assert_eq!(got, vec![0..4, 4..8, 8..10]);
        assert_eq!(blocks(0, 4).unwrap().count(), 0);
        assert!(blocks(10, 0).is_err());
    }

    #[test]
    fn names_round_trip() {
        for sim in Similarity::ALL {
            assert_eq!(sim.to_string().parse::<Similarity>(), Ok(sim));
        }
        assert_eq!("abs_cosine".parse(), Ok(Similarity::AbsCosine));
        assert_eq!("correlation".parse(), Ok(Similarity::Pearson));
        assert_eq!(Similarity::AbsCosine.to_string(), "abs-cosine");
        let err = "Cosine".parse::<Similarity>().unwrap_err();
        assert!(
            matches!(err, MetricError::InvalidParameter { name: "similarity", ref value, .. } if value == "Cosine")
        );
    }

    fn cosine_matrix(x: &[f32], n: usize, d: usize) -> Vec<f64> {
        blocked(x, n, d, Similarity::Cosine, 3)
    }

    proptest! {
        #[test]
        fn cosine_is_invariant_to_positive_row_scaling(
            (n, d, x, scales) in (2usize..8, 1usize..6).prop_flat_map(|(n, d)| (
                Just(n),
                Just(d),
                proptest::collection::vec(-10.0f32..10.0, n * d),
                proptest::collection::vec(0.01f32..100.0, n),
            ))
        ) {
            prop_assume!(x.chunks(d).all(|r| r.iter().any(|&v| v != 0.0)));
            let scaled: Vec<f32> = x
                .chunks(d)
                .zip(&scales)
                .flat_map(|(r, &s)| r.iter().map(move |v| v * s))
                .collect();
            prop_assume!(scaled.iter().zip(&x).all(|(s, v)| (*s == 0.0) == (*v == 0.0)));
            let a = cosine_matrix(&x, n, d);
            let b = cosine_matrix(&scaled, n, d);
            for (p, q) in a.iter().zip(&b) {
                // Scaling in f32 rounds each value by up to 2^-24 relative.
                prop_assert!((p - q).abs() <= 1e-6, "{} vs {}", p, q);
            }
        }

        #[test]
        fn cosine_is_exactly_invariant_to_power_of_two_scaling(
            (n, d, x, exps) in (2usize..8, 1usize..6).prop_flat_map(|(n, d)| (
                Just(n),
                Just(d),
                proptest::collection::vec(-10.0f32..10.0, n * d),
                proptest::collection::vec(-20i32..20, n),
            ))
        ) {
            prop_assume!(x.chunks(d).all(|r| r.iter().any(|&v| v.abs() > 1e-6)));
            // Power-of-two scaling is exact in f32 and cancels exactly in the
            // f64 normalization, so the results must agree bit for bit.
            let scaled: Vec<f32> = x
                .chunks(d)
                .zip(&exps)
                .flat_map(|(r, &e)| r.iter().map(move |v| v * 2f32.powi(e)))
                .collect();
            prop_assert_eq!(cosine_matrix(&x, n, d), cosine_matrix(&scaled, n, d));
        }
    }

    #[test]
    fn identical_rows_and_one_cosine_feature_have_no_contrast() {
        let all = [
            Similarity::Cosine,
            Similarity::AbsCosine,
            Similarity::Pearson,
            Similarity::Euclidean,
        ];
        // Every row the same (−0.0 counts as 0.0): refused under every similarity.
        let same = [1.0f32, 0.0, 2.0, 1.0, -0.0, 2.0, 1.0, 0.0, 2.0];
        for sim in all {
            let e = check_contrast(Matrix::new(&same, 3, 3).unwrap(), sim).unwrap_err();
            assert!(
                matches!(&e, MetricError::NoContrast { reason, .. } if reason.contains("all 3 rows")),
                "{e}"
            );
        }
        // One feature: refused under the cosines only (Pearson refuses constant rows itself).
        let one = [1.0f32, -2.0, 3.0];
        let m = Matrix::new(&one, 3, 1).unwrap();
        for sim in [Similarity::Cosine, Similarity::AbsCosine] {
            let e = check_contrast(m, sim).unwrap_err().to_string();
            assert!(e.contains("single feature"), "{e}");
        }
        check_contrast(m, Similarity::Euclidean).unwrap();
        // One row differing in one value, and fewer than two rows, pass.
        let mut differ = same;
        differ[8] = 2.5;
        for sim in all {
            check_contrast(Matrix::new(&differ, 3, 3).unwrap(), sim).unwrap();
            check_contrast(Matrix::new(&same[..3], 1, 3).unwrap(), sim).unwrap();
        }
    }
}
