//! Known-relationship recall (EFAAR benchmarking 1.0, Celik et al. 2024).
//!
//! Rows are gene-level profiles, one row per gene. An annotation source (CORUM, HuMAP,
//! Reactome, SIGNOR, StringDB) is a list of gene pairs. For a tail pair `(α, 1 − α)` a pair is
//! *recalled* when its similarity lies in either tail of the null distribution of
//! similarities, with EFAAR's rank conventions: with `N` null values, `L = #{null ≤ s}` and
//! `U = #{null < s}`, the pair is in the lower tail when `L / N ≤ α` and in the upper tail when
//! `U / N ≥ 1 − α`. Recall is the share of a source's pairs that are recalled; under a random
//! embedding every pair is as likely as any null pair to fall in the tails, so the expected
//! value is `2α` (0.10 at 5/95, 0.20 at 10/90; a little less when null values tie).
//!
//! Pairs are used as EFAAR uses them: unordered (A–B and B–A count once), self-pairs dropped,
//! genes absent from the map dropped by the caller; a source whose remaining pairs involve
//! fewer than `min_genes` distinct genes is not scored (EFAAR: 20).
//!
//! Where this differs from EFAAR: EFAAR's null is the cosine between two random samples of
//! 5,000 genes drawn with replacement (three seed pairs, self-pairs removed), and it reports one
//! recall per seed pair. Here the null is every unordered pair of distinct rows, so the result
//! is exact and needs no seed; EFAAR's sampled null estimates the same distribution. EFAAR's
//! minimum-gene rule counts distinct first and second genes separately after ordering each pair
//! by name; here the distinct genes of all pairs together are counted.
//!
//! The null is streamed from blocked similarity products and never stored: every null value
//! is located among the sorted pair similarities by binary search, so memory is
//! `O(block × n + pairs)`. An annotated pair is itself one of the null values and ranks as
//! equal to its own entry (so `L` counts it and `U` does not).

use crate::blocks::for_each_block;
use crate::error::MetricError;
use crate::matrix::Matrix;
use crate::parallel::par_chunks;
use crate::similarity::{Similarity, prepare, similarity_gathered};

/// Settings of [`relationship_recall`].
#[derive(Debug, Clone, PartialEq)]
pub struct RelationParams {
    /// Lower-tail shares `α` (each scored with the upper tail `1 − α`); EFAAR: 0.05 and 0.10.
    pub alphas: Vec<f64>,
    /// Sources whose pairs involve fewer distinct genes are not scored.
    pub min_genes: usize,
    /// Similarity between gene profiles (EFAAR: cosine).
    pub similarity: Similarity,
    /// Threads streaming the null; 0 uses every available core.
    pub threads: usize,
}

impl Default for RelationParams {
    fn default() -> Self {
        RelationParams {
            alphas: vec![0.05, 0.10],
            min_genes: 20,
            similarity: Similarity::Cosine,
            threads: 0,
        }
    }
}

/// Recall at one tail pair.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TailRecall {
    /// Lower-tail share `α`.
    pub lower: f64,
    /// Upper-tail share `1 − α`.
    pub upper: f64,
    /// Share of the source's pairs in either tail.
    pub recall: f64,
    /// Expected recall under a random embedding: `2α`.
    pub expected: f64,
}

/// The result for one annotation source.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecall {
    /// Distinct unordered pairs of distinct rows used.
    pub n_pairs: usize,
    /// Distinct genes (rows) those pairs involve.
    pub n_genes: usize,
    /// One entry per `alphas` value; empty when the source has fewer than `min_genes` genes.
    pub tails: Vec<TailRecall>,
}

/// Recall of each annotation source (`sources[s]` = row-index pairs) against the null of all
/// unordered row pairs.
///
/// Errors: an `α` outside `(0, 0.5]`, a row index out of range, fewer than three rows (no
/// null beyond a single pair), and the similarity's input errors (non-finite value, zero row).
pub fn relationship_recall(
    x: Matrix<'_>,
    sources: &[Vec<(usize, usize)>],
    params: &RelationParams,
) -> Result<Vec<SourceRecall>, MetricError> {
    let n = x.n();
    if let Some(&a) = params.alphas.iter().find(|&&a| !(a > 0.0 && a <= 0.5)) {
        return Err(MetricError::InvalidParameter {
            name: "alpha",
            value: a.to_string(),
            reason: "a tail share must lie in (0, 0.5]".to_owned(),
        });
    }
    if n < 3 {
        return Err(MetricError::TooFewRows {
            what: "known-relationship recall",
            needed: 3,
            got: n,
        });
    }
    let mut unique: Vec<Vec<(usize, usize)>> = Vec::with_capacity(sources.len());
    for pairs in sources {
        if let Some(&(a, b)) = pairs.iter().find(|&&(a, b)| a >= n || b >= n) {
            return Err(MetricError::InvalidParameter {
                name: "pairs",
                value: format!("({a}, {b})"),
                reason: format!("row index out of range for {n} rows"),
            });
        }
        let mut p: Vec<(usize, usize)> = pairs
            .iter()
            .filter(|(a, b)| a != b)
            .map(|&(a, b)| (a.min(b), a.max(b)))
            .collect();
        p.sort_unstable();
        p.dedup();
        unique.push(p);
    }
    let prepared = prepare(x, params.similarity)?;

    // Every pair's similarity, gathered per first row, then all of them sorted ascending.
    let mut wanted: Vec<Vec<(usize, usize)>> = vec![Vec::new(); n];
    let mut pair_sims: Vec<Vec<f64>> = Vec::with_capacity(unique.len());
    for (s, pairs) in unique.iter().enumerate() {
        for (k, &(a, _)) in pairs.iter().enumerate() {
            wanted[a].push((s, k));
        }
        pair_sims.push(vec![0.0; pairs.len()]);
    }
    let mut buf = Vec::new();
    for (a, list) in wanted.iter().enumerate().filter(|(_, l)| !l.is_empty()) {
        let targets: Vec<usize> = list.iter().map(|&(s, k)| unique[s][k].1).collect();
        buf.resize(targets.len(), 0.0);
        similarity_gathered(&prepared, &[a], Some(&targets), &mut buf)?;
        for (&(s, k), &v) in list.iter().zip(&buf) {
            pair_sims[s][k] = v;
        }
    }
    let mut queries: Vec<f64> = pair_sims.iter().flatten().copied().collect();
    queries.sort_unstable_by(f64::total_cmp);

    // at_least[i]: null values ≤ queries[i]; below[i]: null values < queries[i]. Counted as
    // histograms over insertion points, then prefix-summed.
    let threads = if params.threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        params.threads
    };
    let q = queries.len();
    let mut hists: Vec<(Vec<u64>, Vec<u64>)> = vec![(vec![0; q + 1], vec![0; q + 1]); threads];
    // Each pair's own value as the null stream computed it: the gathered value above may differ
    // in the last bit, and a pair must rank against the null as the null entry it is.
    let mut stream_sims: Vec<Vec<f64>> = pair_sims.iter().map(|p| vec![0.0; p.len()]).collect();
    for_each_block(&prepared, 0, |range, sims| {
        let rows = range.len();
        for (local, a) in range.clone().enumerate() {
            for &(s, k) in &wanted[a] {
                stream_sims[s][k] = sims[local * n + unique[s][k].1];
            }
        }
        par_chunks(&mut hists, threads, |offset, mine| {
            for (t, (le, lt)) in mine.iter_mut().enumerate() {
                let t = offset + t;
                for local in (t..rows).step_by(threads) {
                    let i = range.start + local;
                    for &v in &sims[local * n + i + 1..(local + 1) * n] {
                        // Queries from this index on are ≥ v (so v counts towards ≤ them) …
                        le[queries.partition_point(|&s| s < v)] += 1;
                        // … and from this one on are > v.
                        lt[queries.partition_point(|&s| s <= v)] += 1;
                    }
                }
            }
        });
    })?;
    let mut le_counts = vec![0u64; q];
    let mut lt_counts = vec![0u64; q];
    let (mut le_run, mut lt_run) = (0u64, 0u64);
    for i in 0..q {
        for (le, lt) in &hists {
            le_run += le[i];
            lt_run += lt[i];
        }
        le_counts[i] = le_run;
        lt_counts[i] = lt_run;
    }
    let n_null = (n as u64) * (n as u64 - 1) / 2;

    let mut out = Vec::with_capacity(unique.len());
    for ((pairs, sims), stream) in unique.iter().zip(&pair_sims).zip(&stream_sims) {
        let mut genes: Vec<usize> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
        genes.sort_unstable();
        genes.dedup();
        let tails = if genes.len() < params.min_genes || pairs.is_empty() {
            Vec::new()
        } else {
            params
                .alphas
                .iter()
                .map(|&alpha| {
                    let upper = 1.0 - alpha;
                    let hits = sims
                        .iter()
                        .zip(stream)
                        .filter(|&(&s, &own)| {
                            // The first sorted query equal to s carries s's counts; the pair's
                            // own null entry counts as equal to it, whatever its last bit.
                            let i = queries.partition_point(|&v| v < s);
                            let le = le_counts[i] + u64::from(own > s);
                            let lt = lt_counts[i] - u64::from(own < s);
                            le as f64 / n_null as f64 <= alpha || lt as f64 / n_null as f64 >= upper
                        })
                        .count();
                    TailRecall {
                        lower: alpha,
                        upper,
                        recall: hits as f64 / pairs.len() as f64,
                        expected: 2.0 * alpha,
                    }
                })
                .collect()
        };
        out.push(SourceRecall {
            n_pairs: pairs.len(),
            n_genes: genes.len(),
            tails,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_data::uniform;

    /// Recall by the definition, with the null stored.
    fn naive(x: &[f32], n: usize, d: usize, pairs: &[(usize, usize)], alpha: f64) -> f64 {
        let rows: Vec<Vec<f64>> = (0..n)
            .map(|i| {
                let r: Vec<f64> = x[i * d..(i + 1) * d]
                    .iter()
                    .map(|&v| f64::from(v))
                    .collect();
                let norm = r.iter().map(|v| v * v).sum::<f64>().sqrt();
                r.iter().map(|v| v / norm).collect()
            })
            .collect();
        let cos = |a: usize, b: usize| {
            rows[a]
                .iter()
                .zip(&rows[b])
                .map(|(u, v)| u * v)
                .sum::<f64>()
        };
        let mut null = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                null.push(cos(i, j));
            }
        }
        let total = null.len() as f64;
        let hits = pairs
            .iter()
            .filter(|&&(a, b)| {
                let s = cos(a, b);
                let le = null.iter().filter(|&&v| v <= s).count() as f64;
                let lt = null.iter().filter(|&&v| v < s).count() as f64;
                le / total <= alpha || lt / total >= 1.0 - alpha
            })
            .count();
        hits as f64 / pairs.len() as f64
    }

    #[test]
    fn matches_the_definition() {
        let (n, d) = (40, 5);
        let x = uniform(n, d, 21);
        let m = Matrix::new(&x, n, d).unwrap();
        let mut pairs: Vec<(usize, usize)> = (0..60)
            .map(|k| (k % n, (k * 7 + 3) % n))
            .filter(|(a, b)| a < b)
            .collect();
        pairs.sort_unstable();
        pairs.dedup();
        let params = RelationParams {
            min_genes: 2,
            threads: 3,
            ..RelationParams::default()
        };
        let r = relationship_recall(m, &[pairs.clone()], &params).unwrap();
        assert_eq!(r[0].n_pairs, pairs.len());
        for t in &r[0].tails {
            assert_eq!(
                t.recall,
                naive(&x, n, d, &pairs, t.lower),
                "alpha {}",
                t.lower
            );
            assert_eq!(t.expected, 2.0 * t.lower);
        }
    }

    #[test]
    fn pairs_are_unordered_and_self_pairs_dropped() {
        let x = uniform(30, 4, 2);
        let m = Matrix::new(&x, 30, 4).unwrap();
        let params = RelationParams {
            min_genes: 2,
            ..RelationParams::default()
        };
        let both = vec![(1, 2), (2, 1), (3, 3), (4, 9)];
        let r = relationship_recall(m, &[both, vec![(1, 2), (4, 9)]], &params).unwrap();
        assert_eq!(r[0], r[1]);
        assert_eq!((r[0].n_pairs, r[0].n_genes), (2, 4));
    }

    #[test]
    fn extreme_pairs_are_recalled_and_small_sources_skipped() {
        // Rows 0 and 1 point the same way, rows 2 and 3 opposite ways: both pairs sit in the tails.
        let mut x = uniform(50, 6, 8);
        for j in 0..6 {
            x[6 + j] = x[j] * 2.0;
            x[18 + j] = -x[12 + j];
        }
        let m = Matrix::new(&x, 50, 6).unwrap();
        let params = RelationParams {
            min_genes: 4,
            ..RelationParams::default()
        };
        let r = relationship_recall(m, &[vec![(0, 1), (2, 3)], vec![(0, 1)]], &params).unwrap();
        assert_eq!(
            r[0].tails.iter().map(|t| t.recall).collect::<Vec<_>>(),
            vec![1.0, 1.0]
        );
        assert!(r[1].tails.is_empty(), "two genes are below min_genes");
    }

    #[test]
    fn bad_input_is_rejected() {
        let x = uniform(5, 2, 1);
        let m = Matrix::new(&x, 5, 2).unwrap();
        let p = RelationParams::default();
        assert!(matches!(
            relationship_recall(m, &[vec![(0, 5)]], &p),
            Err(MetricError::InvalidParameter { name: "pairs", .. })
        ));
        let bad = RelationParams {
            alphas: vec![0.6],
            ..RelationParams::default()
        };
        assert!(matches!(
            relationship_recall(m, &[vec![(0, 1)]], &bad),
            Err(MetricError::InvalidParameter { name: "alpha", .. })
        ));
        let two = Matrix::new(&x[..4], 2, 2).unwrap();
        assert!(matches!(
            relationship_recall(two, &[vec![(0, 1)]], &p),
            Err(MetricError::TooFewRows { .. })
        ));
    }
}
