//! Folds of enrichment, DeepProfilerExperiments convention, with the interpolated-precision
//! "MAP" of the same code base.
//!
//! Reconstructed from `profiling/quality.py` (`enrichment_analysis`) and the evaluation
//! notebooks of broadinstitute/DeepProfilerExperiments, as used for the Cell Painting CNN
//! (Moshkov et al.). For every query row `i`:
//!
//! 1. The query's similarities to all *other* rows (`n − 1` values; itself excluded) give the
//!    threshold `t = np.percentile(sims, percentile)` (numpy's default linear interpolation).
//! 2. A 2×2 table over the other rows: `v11` = above `t` (strictly `>`) and matching,
//!    `v12` = above and not matching, `v21` = at or below and matching, `v22` = at or below and
//!    not matching. Rows match when they share a label ([`Labels`]); a row without a label
//!    matches nothing, but still counts in other queries' tables.
//! 3. `scipy.stats.fisher_exact(table, alternative="greater")`: odds ratio
//!    `(v11·v22)/(v12·v21)`, `+inf` when `v12·v21 = 0`, NaN (with p = 1) when a row or column
//!    of the table sums to zero; the p-value is the hypergeometric tail `P(X ≥ v11)`.
//! 4. "Folds" = that odds ratio, except that an infinite one is replaced by `v22` (what
//!    `enrichment_analysis` does: `if np.isinf(r[0]): result["ods_ratio"] = v22`). NaN stays NaN.
//!    Beside it, the Haldane–Anscombe ratio `(v11+½)(v22+½)/((v12+½)(v21+½))`, always finite.
//!
//! A row is a query when its label group has at least two members, i.e. it matches at least one
//! other row (the notebooks' `moa_matches.sum(axis=0) > 1` with the diagonal counted). Labels
//! that leave no query, or under which every row matches every other (no query has a
//! non-match), are an error: the scores would be fixed by the labels alone. Folds of
//! enrichment is the plain mean over queries (`np.mean`: one NaN makes it NaN).
//!
//! The interpolated "MAP" ([`crate::ranking::interpolated_average_precision`]) is *not*
//! copairs' mean average precision: it averages an interpolated precision–recall curve over a
//! fixed recall grid, and only rows with at least two matches among the others are its queries.
//!
//! Similarities come from [`crate::similarity`] one block of queries at a time: memory is
//! `block × n`, never `n × n`. The per-query work runs on scoped threads; results do not
//! depend on the thread count.

use statrs::distribution::{DiscreteCDF, Hypergeometric};

use crate::blocks::for_each_block;
use crate::error::MetricError;
use crate::labels::{LabelColumn, MultiLabelColumn};
use crate::matrix::Matrix;
use crate::parallel::par_chunks;
use crate::quantile::quantile_linear;
use crate::ranking::{InterpolatedScratch, interpolated_average_precision};
use crate::similarity::{Similarity, prepare};

/// Which rows count as matches of each other.
#[derive(Debug, Clone, Copy)]
pub enum Labels<'a> {
    /// One label per row; rows match when their labels are equal. Missing labels match nothing.
    Single(&'a LabelColumn),
    /// A label set per row; rows match when they share a label. Empty sets match nothing.
    Multi(&'a MultiLabelColumn),
}

impl Labels<'_> {
    /// Number of rows.
    pub fn len(&self) -> usize {
        match self {
            Labels::Single(c) => c.len(),
            Labels::Multi(c) => c.len(),
        }
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of distinct labels.
    fn n_labels(&self) -> usize {
        match self {
            Labels::Single(c) => c.labels.len(),
            Labels::Multi(c) => c.labels.len(),
        }
    }

    /// Writes `out[j]` = whether row `j` matches row `i`, for every `j` (including `i` itself,
    /// which matches unless its label is missing). `mask` is scratch of `n_labels` bits.
    pub(crate) fn fill_matches(&self, i: usize, out: &mut [bool], mask: &mut Vec<u64>) {
        match self {
            Labels::Single(c) => match c.codes[i] {
                None => out.fill(false),
                Some(code) => out
                    .iter_mut()
                    .zip(&c.codes)
                    .for_each(|(o, cj)| *o = *cj == Some(code)),
            },
            Labels::Multi(c) => {
                // A bit mask of the query's labels turns each pair test into |set_j| lookups.
                mask.clear();
                mask.resize(self.n_labels().div_ceil(64), 0);
                for &l in &c.sets[i] {
                    mask[l as usize / 64] |= 1 << (l % 64);
                }
                out.iter_mut().zip(&c.sets).for_each(|(o, set)| {
                    *o = set
                        .iter()
                        .any(|&l| mask[l as usize / 64] & (1 << (l % 64)) != 0)
                });
            }
        }
    }
}

/// Result of a one-sided Fisher exact test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FisherExact {
    /// Sample odds ratio `(v11·v22)/(v12·v21)`; `+inf` when `v12·v21 = 0`, NaN for a zero margin.
    pub odds_ratio: f64,
    /// `P(X ≥ v11)` for `X` hypergeometric with the table's margins; 1 for a zero margin.
    pub p_value: f64,
}

/// `scipy.stats.fisher_exact([[v11, v12], [v21, v22]], alternative="greater")`.
///
/// As scipy: a zero row or column sum gives `(NaN, 1)`; otherwise the odds ratio is infinite
/// when `v12 = 0` or `v21 = 0` (even if `v11·v22 = 0`), and the p-value is scipy's
/// `hypergeom.cdf(v12, N, v11 + v12, v12 + v22)` (statrs' hypergeometric), capped at 1.
pub fn fisher_exact_greater(table: [[u64; 2]; 2]) -> FisherExact {
    let [[v11, v12], [v21, v22]] = table;
    if v11 + v12 == 0 || v21 + v22 == 0 || v11 + v21 == 0 || v12 + v22 == 0 {
        return FisherExact {
            odds_ratio: f64::NAN,
            p_value: 1.0,
        };
    }
    let odds_ratio = if v21 > 0 && v12 > 0 {
        // Integer products, then one true division: what numpy does with int64 tables.
        (v11 * v22) as f64 / (v21 * v12) as f64
    } else {
        f64::INFINITY
    };
    let total = v11 + v12 + v21 + v22;
    // P(X11 ≥ v11) equals P(X12 ≤ v12) for the first row's other cell; scipy computes the
    // latter, a short sum for the sparse top rows enrichment produces.
    let p_value = Hypergeometric::new(total, v11 + v12, v12 + v22)
        .map(|h| h.cdf(v12))
        .unwrap_or(f64::NAN) // unreachable: the margins are within the total by construction
        .min(1.0);
    FisherExact {
        odds_ratio,
        p_value,
    }
}

/// The Haldane–Anscombe corrected odds ratio `(v11+½)(v22+½)/((v12+½)(v21+½))`.
pub fn haldane_odds_ratio(table: [[u64; 2]; 2]) -> f64 {
    let [[v11, v12], [v21, v22]] = table.map(|r| r.map(|v| v as f64 + 0.5));
    (v11 * v22) / (v12 * v21)
}

/// Parameters of [`folds_of_enrichment`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EnrichmentOptions {
    /// Percentile (0–100) of each query's similarities above which rows count as "top".
    pub percentile: f64,
    /// Similarity between profiles (DeepProfilerExperiments uses cosine).
    pub similarity: Similarity,
    /// Query rows per similarity block; 0 picks about 64 MiB of `f64` per block.
    pub block_rows: usize,
    /// Threads for the per-query work; 0 uses the available parallelism.
    pub threads: usize,
}

impl Default for EnrichmentOptions {
    fn default() -> Self {
        EnrichmentOptions {
            percentile: 99.0,
            similarity: Similarity::Cosine,
            block_rows: 0,
            threads: 0,
        }
    }
}

/// One query's enrichment table and statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct QueryEnrichment {
    /// 0-based row of the query.
    pub row: usize,
    /// Rows other than the query that match it.
    pub n_matches: u64,
    /// The percentile of the query's similarities to the other rows.
    pub threshold: f64,
    /// `[[v11, v12], [v21, v22]]`: rows above / at-or-below the threshold × match / non-match.
    pub table: [[u64; 2]; 2],
    /// scipy's sample odds ratio (`+inf` and NaN kept).
    pub odds_ratio: f64,
    /// The odds ratio with `+inf` replaced by `v22`: this query's fold of enrichment.
    pub folds: f64,
    /// Haldane–Anscombe corrected odds ratio.
    pub haldane_odds_ratio: f64,
    /// One-sided (greater) Fisher exact p-value.
    pub p_value: f64,
    /// The query's interpolated average precision; `None` with fewer than two matches.
    pub interpolated_ap: Option<f64>,
}

/// Folds of enrichment over all queries, and the interpolated-precision MAP.
#[derive(Debug, Clone, PartialEq)]
pub struct Enrichment {
    /// The options used.
    pub options: EnrichmentOptions,
    /// Number of rows scored.
    pub n_profiles: usize,
    /// Per-query results, in row order (only rows that are queries).
    pub queries: Vec<QueryEnrichment>,
    /// Mean of [`QueryEnrichment::folds`] over the queries (NaN if any is NaN).
    pub folds_of_enrichment: f64,
    /// Mean Haldane–Anscombe corrected odds ratio over the queries.
    pub haldane_folds_of_enrichment: f64,
    /// Mean one-sided Fisher p-value over the queries.
    pub mean_p_value: f64,
    /// Queries whose odds ratio was infinite (replaced by `v22`).
    pub n_infinite_odds: usize,
    /// Queries whose odds ratio is undefined (NaN: a zero row or column in the table).
    pub n_undefined_odds: usize,
    /// Mean interpolated average precision over its queries (NaN when there are none).
    pub interpolated_map: f64,
    /// Number of queries of the interpolated MAP (rows with at least two matches).
    pub n_interpolated_queries: usize,
}

/// Folds of enrichment (DeepProfilerExperiments) of `x` under `labels`; see the module docs.
///
/// Errors: shape mismatch between `x` and `labels`, a percentile outside `[0, 100]`, fewer
/// than 2 rows, the similarity's input errors ([`prepare`]), and no query at all (no row
/// shares a label with another).
pub fn folds_of_enrichment(
    x: Matrix<'_>,
    labels: Labels<'_>,
    options: &EnrichmentOptions,
) -> Result<Enrichment, MetricError> {
    let n = x.n();
    if labels.len() != n {
        return Err(MetricError::ShapeMismatch {
            what: "label rows",
            expected: n,
            got: labels.len(),
        });
    }
    crate::params::percentile(options.percentile)?;
    if n < 2 {
        return Err(MetricError::TooFewRows {
            what: "folds of enrichment",
            needed: 2,
            got: n,
        });
    }
    let prepared = prepare(x, options.similarity)?;
    // np.percentile divides by 100 before anything else.
    let q = options.percentile / 100.0;
    let mut slots: Vec<Option<QueryEnrichment>> = vec![None; n];
    for_each_block(&prepared, options.block_rows, |range, sims| {
        let out = &mut slots[range.clone()];
        par_chunks(out, options.threads, |offset, chunk| {
            let mut scratch = QueryScratch::default();
            for (k, slot) in chunk.iter_mut().enumerate() {
                let local = offset + k;
                let row = &sims[local * n..(local + 1) * n];
                *slot = score_query(range.start + local, row, labels, q, &mut scratch);
            }
        });
    })?;
    let queries: Vec<QueryEnrichment> = slots.into_iter().flatten().collect();
    if queries.is_empty() {
        return Err(MetricError::InvalidParameter {
            name: "labels",
            value: format!("{n} rows"),
            reason: "no row shares a label with another row, so there is no query".to_owned(),
        });
    }
    // With every other row a match, no query has a non-match: the odds ratio is NaN and the
    // interpolated precision 1 whatever the profiles, a perfect "MAP" of nothing.
    if queries.iter().all(|q| q.n_matches + 1 == n as u64) {
        return Err(MetricError::InvalidParameter {
            name: "labels",
            value: format!("{n} rows"),
            reason: "every row shares a label with every other row, so no query has a \
                     non-match to be enriched against"
                .to_owned(),
        });
    }
    let mean = |f: &dyn Fn(&QueryEnrichment) -> f64| {
        queries.iter().map(f).sum::<f64>() / queries.len() as f64
    };
    let iaps: Vec<f64> = queries.iter().filter_map(|q| q.interpolated_ap).collect();
    Ok(Enrichment {
        options: *options,
        n_profiles: n,
        folds_of_enrichment: mean(&|q| q.folds),
        haldane_folds_of_enrichment: mean(&|q| q.haldane_odds_ratio),
        mean_p_value: mean(&|q| q.p_value),
        n_infinite_odds: queries
            .iter()
            .filter(|q| q.odds_ratio.is_infinite())
            .count(),
        n_undefined_odds: queries.iter().filter(|q| q.odds_ratio.is_nan()).count(),
        interpolated_map: if iaps.is_empty() {
            f64::NAN
        } else {
            iaps.iter().sum::<f64>() / iaps.len() as f64
        },
        n_interpolated_queries: iaps.len(),
        queries,
    })
}

/// Reusable per-thread buffers for [`score_query`].
#[derive(Default)]
struct QueryScratch {
    matches: Vec<bool>,
    mask: Vec<u64>,
    others: Vec<f64>,
    ranking: InterpolatedScratch,
}

/// Scores query `i` from its similarity row (`sims[j] = sim(i, j)` for every `j`).
fn score_query(
    i: usize,
    sims: &[f64],
    labels: Labels<'_>,
    q: f64,
    s: &mut QueryScratch,
) -> Option<QueryEnrichment> {
    let n = sims.len();
    s.matches.resize(n, false);
    labels.fill_matches(i, &mut s.matches, &mut s.mask);
    s.matches[i] = false;
    let n_matches = s.matches.iter().filter(|&&m| m).count() as u64;
    if n_matches == 0 {
        return None;
    }

    s.others.clear();
    s.others.extend(
        sims.iter()
            .enumerate()
            .filter(|&(j, _)| j != i)
            .map(|(_, &v)| v),
    );
    // Finite similarities of finite inputs: the only error (NaN) cannot occur.
    let threshold = quantile_linear(&mut s.others, q).ok()?;

    let mut table = [[0u64; 2]; 2];
    for (j, (&v, &m)) in sims.iter().zip(&s.matches).enumerate() {
        if j != i {
            table[usize::from(v <= threshold)][usize::from(!m)] += 1;
        }
    }
    let fisher = fisher_exact_greater(table);
    let folds = if fisher.odds_ratio.is_infinite() {
        table[1][1] as f64
    } else {
        fisher.odds_ratio
    };
    let interpolated_ap = (n_matches >= 2)
        .then(|| interpolated_average_precision(sims, &s.matches, i, &mut s.ranking));
    Some(QueryEnrichment {
        row: i,
        n_matches,
        threshold,
        table,
        odds_ratio: fisher.odds_ratio,
        folds,
        haldane_odds_ratio: haldane_odds_ratio(table),
        p_value: fisher.p_value,
        interpolated_ap,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quantile::{lerp, linear_quantile_ranks};
    use crate::similarity::similarity_block;

    /// Values from scipy 1.17.1: `fisher_exact(t, alternative="greater")`. statrs sums the
    /// hypergeometric pmf from log-gamma values, good to ~1e-12 against scipy's Boost CDF.
    #[test]
    fn fisher_matches_scipy() {
        let cases: [([[u64; 2]; 2], f64, f64); 6] = [
            ([[8, 2], [1, 5]], 20.0, 0.024_475_524_475_524_483),
            ([[3, 1], [1, 3]], 9.0, 0.242_857_142_857_142_83),
            (
                [[1, 3], [10, 370]],
                12.333_333_333_333_334,
                0.110_165_851_248_81,
            ),
            ([[0, 5], [5, 0]], 0.0, 1.0),
            ([[2, 0], [5, 100]], f64::INFINITY, 0.003_703_050_608_358_314),
            ([[1, 4], [0, 4]], f64::INFINITY, 0.555_555_555_555_555_6),
        ];
        for (t, odds, p) in cases {
            let r = fisher_exact_greater(t);
            assert_eq!(r.odds_ratio, odds, "{t:?}");
            assert!(
                (r.p_value - p).abs() <= 1e-12,
                "{t:?}: {} vs {p}",
                r.p_value
            );
        }
    }

    #[test]
    fn fisher_p_value_is_the_upper_hypergeometric_tail() {
        // Independent check: sum the exact pmf P(X = k) for k ≥ v11 with rational arithmetic
        // in u128 (binomials of small numbers).
        fn binom(n: u128, k: u128) -> u128 {
            if k > n {
                return 0;
            }
            (0..k).fold(1u128, |acc, i| acc * (n - i) / (i + 1))
        }
        for t in [
            [[4u64, 6], [3, 17]],
            [[0, 2], [9, 9]],
            [[5, 1], [2, 30]],
            [[7, 7], [7, 7]],
        ] {
            let [[a, b], [c, d]] = t.map(|r| r.map(u128::from));
            let (r1, c1, n) = (a + b, a + c, a + b + c + d);
            let num: u128 = (a..=r1.min(c1))
                .map(|k| binom(c1, k) * binom(n - c1, r1 - k))
                .sum();
            let want = num as f64 / binom(n, r1) as f64;
            let got = fisher_exact_greater(t).p_value;
            assert!((got - want).abs() <= 1e-13, "{t:?}: {got} vs {want}");
        }
    }

    #[test]
    fn odds_ratio_edge_cases() {
        // v12 = 0 or v21 = 0: infinite, even when v11·v22 = 0 (scipy's rule).
        assert!(fisher_exact_greater([[0, 0], [3, 4]]).odds_ratio.is_nan());
        assert_eq!(
            fisher_exact_greater([[3, 0], [2, 4]]).odds_ratio,
            f64::INFINITY
        );
        assert_eq!(fisher_exact_greater([[0, 3], [0, 4]]).p_value, 1.0);
        assert_eq!(
            fisher_exact_greater([[1, 2], [0, 4]]).odds_ratio,
            f64::INFINITY
        );
        // Zero margins: NaN odds, p = 1.
        for t in [
            [[0, 0], [1, 2]],
            [[1, 2], [0, 0]],
            [[0, 1], [0, 2]],
            [[1, 0], [2, 0]],
        ] {
            let r = fisher_exact_greater(t);
            assert!(r.odds_ratio.is_nan(), "{t:?}");
            assert_eq!(r.p_value, 1.0);
        }
        assert_eq!(
            haldane_odds_ratio([[3, 0], [2, 4]]),
            3.5 * 4.5 / (0.5 * 2.5)
        );
        assert!(haldane_odds_ratio([[0, 0], [0, 0]]) == 1.0);
    }

    fn labels(v: &[Option<&str>]) -> LabelColumn {
        let v: Vec<Option<String>> = v.iter().map(|s| s.map(str::to_owned)).collect();
        LabelColumn::encode("l", &v)
    }

    /// Folds by brute force from the full similarity matrix, straight from the definitions.
    fn naive(
        x: &[f32],
        n: usize,
        d: usize,
        lab: &LabelColumn,
        p: f64,
    ) -> Vec<(usize, [[u64; 2]; 2], f64)> {
        let m = Matrix::new(x, n, d).unwrap();
        let prep = prepare(m, Similarity::Cosine).unwrap();
        let mut s = vec![0.0; n * n];
        similarity_block(&prep, 0..n, &mut s).unwrap();
        let mut out = vec![];
        for i in 0..n {
            let matches: Vec<bool> = (0..n)
                .map(|j| j != i && lab.codes[i].is_some() && lab.codes[i] == lab.codes[j])
                .collect();
            if !matches.iter().any(|&m| m) {
                continue;
            }
            let mut others: Vec<f64> = (0..n).filter(|&j| j != i).map(|j| s[i * n + j]).collect();
            others.sort_by(f64::total_cmp);
            let (lo, hi, g) = linear_quantile_ranks(others.len() as u64, p / 100.0);
            let t = lerp(others[lo as usize], others[hi as usize], g);
            let mut table = [[0; 2]; 2];
            for j in (0..n).filter(|&j| j != i) {
                let above = s[i * n + j] > t;
                table[usize::from(!above)][usize::from(!matches[j])] += 1;
            }
            out.push((i, table, t));
        }
        out
    }

    use crate::test_data::uniform as data;

    #[test]
    fn blocked_threaded_result_matches_naive_and_is_block_independent() {
        let (n, d) = (57, 6);
        let x = data(n, d, 42);
        let names = ["a", "b", "c", "d", "e"];
        let lab_v: Vec<Option<&str>> = (0..n)
            .map(|i| {
                if i % 11 == 3 {
                    None
                } else {
                    Some(names[i * 7 % 5])
                }
            })
            .collect();
        let lab = labels(&lab_v);
        let want = naive(&x, n, d, &lab, 90.0);
        let mut first: Option<Enrichment> = None;
        for (block_rows, threads) in [(0, 0), (1, 1), (5, 3), (56, 2), (100, 4)] {
            let opts = EnrichmentOptions {
                percentile: 90.0,
                block_rows,
                threads,
                ..EnrichmentOptions::default()
            };
            let r =
                folds_of_enrichment(Matrix::new(&x, n, d).unwrap(), Labels::Single(&lab), &opts)
                    .unwrap();
            assert_eq!(r.queries.len(), want.len());
            // Block shapes change faer's kernels, so similarities may differ in the last ulp.
            for (q, (row, table, t)) in r.queries.iter().zip(&want) {
                assert_eq!((q.row, q.table), (*row, *table));
                assert!((q.threshold - t).abs() < 1e-12, "{} vs {t}", q.threshold);
            }
            if let Some(f) = &first {
                for (a, b) in f.queries.iter().zip(&r.queries) {
                    assert_eq!(
                        (a.row, a.table, a.folds, a.p_value),
                        (b.row, b.table, b.folds, b.p_value)
                    );
                    assert_eq!(a.interpolated_ap, b.interpolated_ap);
                }
                assert_eq!(f.folds_of_enrichment, r.folds_of_enrichment);
                assert_eq!(f.interpolated_map, r.interpolated_map);
            } else {
                first = Some(r);
            }
        }
    }

    #[test]
    fn infinite_odds_become_v22_and_singletons_are_not_queries() {
        // Two tight pairs far apart plus singletons: each pair member's top neighbour is its
        // partner, so v12 = 0 → infinite odds → folds = v22.
        let x = [
            1.0f32, 0.0, 0.0, //
            0.99, 0.01, 0.0, //
            0.0, 1.0, 0.0, //
            0.0, 0.99, 0.02, //
            0.0, 0.0, 1.0, //
            0.5, 0.5, 0.5,
        ];
        let lab = labels(&[Some("a"), Some("a"), Some("b"), Some("b"), Some("c"), None]);
        let r = folds_of_enrichment(
            Matrix::new(&x, 6, 3).unwrap(),
            Labels::Single(&lab),
            &EnrichmentOptions::default(),
        )
        .unwrap();
        assert_eq!(
            r.queries.iter().map(|q| q.row).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        for q in &r.queries {
            assert_eq!(q.table, [[1, 0], [0, 4]], "row {}", q.row);
            assert_eq!(q.odds_ratio, f64::INFINITY);
            assert_eq!(q.folds, 4.0);
            assert_eq!(q.haldane_odds_ratio, 1.5 * 4.5 / (0.5 * 0.5));
            // P(X ≥ 1) with one of five drawn and one success: 1/5.
            assert!((q.p_value - 0.2).abs() < 1e-15);
            // A single match: not a query of the interpolated MAP.
            assert_eq!(q.interpolated_ap, None);
        }
        assert_eq!(r.folds_of_enrichment, 4.0);
        assert_eq!(r.n_infinite_odds, 4);
        assert!(r.interpolated_map.is_nan());
    }

    #[test]
    fn multilabel_matches_share_a_label() {
        let v: Vec<Option<String>> = ["a|b", "b", "c", "c|a", ""]
            .iter()
            .map(|s| Some(s.to_string()))
            .collect();
        let m = MultiLabelColumn::encode("moa", &v, "|");
        let l = Labels::Multi(&m);
        let mut out = vec![false; 5];
        let mut mask = vec![];
        l.fill_matches(0, &mut out, &mut mask);
        assert_eq!(out, [true, true, false, true, false]);
        l.fill_matches(4, &mut out, &mut mask);
        assert_eq!(out, [false; 5]);
    }

    #[test]
    fn invalid_input_is_rejected() {
        let x = data(4, 2, 1);
        let lab = labels(&[Some("a"), Some("b"), Some("c"), Some("d")]);
        let m = Matrix::new(&x, 4, 2).unwrap();
        let err = folds_of_enrichment(m, Labels::Single(&lab), &EnrichmentOptions::default())
            .unwrap_err();
        assert!(err.to_string().contains("no query"), "{err}");
        let short = labels(&[Some("a")]);
        assert!(matches!(
            folds_of_enrichment(m, Labels::Single(&short), &EnrichmentOptions::default()),
            Err(MetricError::ShapeMismatch { .. })
        ));
        let opts = EnrichmentOptions {
            percentile: 101.0,
            ..EnrichmentOptions::default()
        };
        assert!(matches!(
            folds_of_enrichment(m, Labels::Single(&lab), &opts),
            Err(MetricError::InvalidParameter {
                name: "percentile",
                ..
            })
        ));
    }
}
