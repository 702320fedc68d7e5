//! Leave-one-out k-nearest-neighbour accuracy with exclusion rules (NSC, NSCB).
//!
//! Every row is a query; its candidates are all other rows except those that share a value
//! with it in *any* exclusion column. With the compound as the only exclusion column this is
//! BBBC021's not-same-compound (NSC) rule; with compound and batch it is not-same-compound-
//! and-batch (NSCB): a neighbour is dropped when it is the same compound *or* from the same
//! batch, so only other compounds from other batches remain (Ljosa et al. 2013).
//!
//! The `k` most similar candidates win (ties in similarity: the lower row index). The
//! prediction is the label most frequent among them; a tied vote is decided by [`VoteTie`]:
//! by default the largest summed similarity, then the lowest label code; with
//! [`VoteTie::LowestLabel`] the lowest label code alone, as scikit-learn's
//! `KNeighborsClassifier` (uniform weights) decides it. A query without any candidate is not scored and
//! is counted in [`KnnResult::n_unscored`]. Accuracy is the share of scored queries predicted
//! right; per-class accuracy (recall) and the confusion matrix cover the same queries.
//!
//! Similarities come from [`crate::similarity`] one pair of row blocks at a time, each pair
//! once (the similarity is symmetric), so memory is `block²` values per worker, never `n × n`. With `k = 1` and no exclusions this agrees with scikit-learn's
//! `KNeighborsClassifier(n_neighbors=k, metric="cosine", algorithm="brute")` fitted on all rows
//! and asked for `k + 1` neighbours with the query itself dropped, whenever no two
//! similarities tie (scikit-learn breaks distance ties by its partition order).

use std::ops::Range;

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use faer::{Accum, MatMut, MatRef, Par};

use crate::error::MetricError;
use crate::matrix::Matrix;
use crate::similarity::{Similarity, blocks, prepare, similarity_gathered};

/// Settings of [`knn_accuracy`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnnParams {
    /// Neighbours that vote (≥ 1).
    pub k: usize,
    /// How a tied vote is decided.
    pub vote_tie: VoteTie,
    /// Similarity ranking the neighbours.
    pub similarity: Similarity,
    /// Rows per similarity block (a block pair holds `block_rows²` values); 0 picks 1024.
    pub block_rows: usize,
    /// Worker threads (each computes and scans one block pair at a time); 0 uses every core.
    pub threads: usize,
}

impl Default for KnnParams {
    fn default() -> Self {
        KnnParams {
            k: 1,
            vote_tie: VoteTie::SummedSimilarity,
            similarity: Similarity::Cosine,
            block_rows: 0,
            threads: 0,
        }
    }
}

/// How a vote of the `k` neighbours that two or more labels win equally is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VoteTie {
    /// The tied label whose voters are more similar in sum, then the lowest label code: the
    /// closer group wins.
    #[default]
    SummedSimilarity,
    /// The lowest label code among the tied labels. This is scikit-learn's
    /// `KNeighborsClassifier` with uniform weights: it predicts the mode of the neighbours'
    /// class indices, a tied mode resolves to the smallest index, and its classes are the
    /// sorted labels, as label codes here follow the byte order of the label text.
    LowestLabel,
}

impl VoteTie {
    /// The name used in flags, manifests and reports: `summed-similarity` or `sklearn`.
    pub fn name(self) -> &'static str {
        match self {
            VoteTie::SummedSimilarity => "summed-similarity",
            VoteTie::LowestLabel => "sklearn",
        }
    }
}

impl std::str::FromStr for VoteTie {
    type Err = MetricError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "summed-similarity" => Ok(VoteTie::SummedSimilarity),
            "sklearn" | "lowest-label" => Ok(VoteTie::LowestLabel),
            _ => Err(MetricError::InvalidParameter {
                name: "vote_ties",
                value: s.to_owned(),
                reason: "expected summed-similarity or sklearn".to_owned(),
            }),
        }
    }
}

/// Accuracy of one true class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClassAccuracy {
    /// Scored queries of this class.
    pub n: usize,
    /// Of those, predicted right.
    pub correct: usize,
    /// `correct / n`; NaN when `n = 0`.
    pub accuracy: f64,
}

/// Leave-one-out kNN accuracy and its breakdown.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnResult {
    /// Share of scored queries whose prediction equals their label; NaN when none is scored.
    pub accuracy: f64,
    /// Scored queries.
    pub n: usize,
    /// Queries that had no candidate neighbour (every other row excluded).
    pub n_unscored: usize,
    /// Predicted label of each row; `None` for an unscored row.
    pub predictions: Vec<Option<u32>>,
    /// Per true class, in code order.
    pub per_class: Vec<ClassAccuracy>,
    /// `n_classes × n_classes` row-major counts: row = true class, column = predicted class.
    pub confusion: Vec<u64>,
}

/// Scores rows `x` with labels `labels` (codes below `n_classes`) by leave-one-out kNN.
///
/// `exclude` holds per-row codes of the exclusion columns (one slice per column, a missing
/// value encoded as a code of its own by the caller); a candidate sharing its code with the
/// query in any of them is dropped. Errors: `k = 0`, lengths that differ, a label code out of
/// range, and the similarity's own input errors (non-finite value, zero-norm row).
pub fn knn_accuracy(
    x: Matrix<'_>,
    labels: &[u32],
    n_classes: usize,
    exclude: &[&[u32]],
    params: &KnnParams,
) -> Result<KnnResult, MetricError> {
    let n = x.n();
    crate::params::neighbours("k", params.k as u64)?;
    if labels.len() != n {
        return Err(MetricError::ShapeMismatch {
            what: "labels (one per row)",
            expected: n,
            got: labels.len(),
        });
    }
    if let Some(column) = exclude.iter().find(|c| c.len() != n) {
        return Err(MetricError::ShapeMismatch {
            what: "exclusion column (one code per row)",
            expected: n,
            got: column.len(),
        });
    }
    if let Some(row) = labels.iter().position(|&c| c as usize >= n_classes) {
        return Err(MetricError::InvalidParameter {
            name: "labels",
            value: labels[row].to_string(),
            reason: format!("row {row}: label code must be below n_classes = {n_classes}"),
        });
    }
    let prepared = prepare(x, params.similarity)?;

    // Similarity is symmetric: each block pair (I, J ≥ I) is computed once and offered to the
    // rows of I (row by row) and to the rows of J (column by column), halving the products.
    let block = if params.block_rows == 0 {
        DEFAULT_BLOCK.min(n).max(1)
    } else {
        params.block_rows.min(n).max(1)
    };
    let ranges: Vec<Range<usize>> = blocks(n, block)?.collect();
    let mut tops: Vec<Vec<(f64, usize)>> = vec![Vec::with_capacity(params.k + 1); n];
    let d = x.d();
    let tolerance = gamma(d + 4, f64::from(f32::EPSILON) / 2.0) + gamma(d + 4, f64::EPSILON / 2.0);
    let screen = matches!(
        params.similarity,
        Similarity::Cosine | Similarity::Pearson | Similarity::AbsCosine
    ) && tolerance < 1e-3;
    let threads = match params.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        t => t,
    };
    if screen {
        // Unit-norm rows: f32 products screen the candidates within a proven error bound of
        // the f64 value, and only the survivors get their exact f64 dot product (see
        // `ScreenedRows`), so the neighbours are those of the f64 similarities.
        let rows = ScreenedRows::new(
            prepared.into_rows(),
            d,
            params.similarity == Similarity::AbsCosine,
        );
        let exact = |q: usize, j: usize, _: f64| rows.exact(q, j);
        let offers = Offers {
            k: params.k,
            tolerance,
            exclude,
            exact: &exact,
        };
        for_block_pairs(
            &ranges,
            &mut tops,
            threads,
            block,
            &offers,
            |ri, rj, out| {
                rows.approx_block(ri, rj, out);
                Ok(())
            },
        )?;
    } else {
        // Each worker asks for one block at a time, so faer's own threads would only contend.
        let prepared = prepared.with_parallelism(Par::Seq);
        let exact = |_: usize, _: usize, s: f64| s;
        let offers = Offers {
            k: params.k,
            tolerance: 0.0,
            exclude,
            exact: &exact,
        };
        for_block_pairs(
            &ranges,
            &mut tops,
            threads,
            block,
            &offers,
            |ri, rj, out| {
                let idx_i: Vec<usize> = ri.collect();
                let idx_j: Vec<usize> = rj.collect();
                similarity_gathered(&prepared, &idx_i, Some(&idx_j), out)
            },
        )?;
    }
    let mut votes = vec![(0usize, 0.0f64); n_classes];
    let predictions: Vec<Option<u32>> = tops
        .iter()
        .map(|top| vote(top, labels, params.vote_tie, &mut votes))
        .collect();

    let mut confusion = vec![0u64; n_classes * n_classes];
    let mut scored = 0usize;
    let mut correct = 0usize;
    for (&truth, pred) in labels.iter().zip(&predictions) {
        if let Some(p) = pred {
            scored += 1;
            correct += usize::from(*p == truth);
            confusion[truth as usize * n_classes + *p as usize] += 1;
        }
    }
    let per_class = (0..n_classes)
        .map(|c| {
            let row = &confusion[c * n_classes..(c + 1) * n_classes];
            let total: u64 = row.iter().sum();
            ClassAccuracy {
                n: total as usize,
                correct: row[c] as usize,
                accuracy: row[c] as f64 / total as f64,
            }
        })
        .collect();
    Ok(KnnResult {
        accuracy: correct as f64 / scored as f64,
        n: scored,
        n_unscored: n - scored,
        predictions,
        per_class,
        confusion,
    })
}

/// Query rows per block of [`knn_accuracy`]: a block pair's similarities take 8 MiB.
const DEFAULT_BLOCK: usize = 1024;

/// `γ(m) = m·u / (1 − m·u)`: the classic bound on the relative error of an `m`-term dot
/// product in a format with unit roundoff `u`, whatever the summation order.
fn gamma(m: usize, u: f64) -> f64 {
    let mu = m as f64 * u;
    if mu >= 1.0 {
        f64::INFINITY
    } else {
        mu / (1.0 - mu)
    }
}

/// Unit-norm rows (centered first for Pearson) in `f64`, and their `f32` rounding.
///
/// For unit vectors `a`, `b` the `f32` product of the rounded rows differs from `a·b` by at
/// most `γ(d + 4)` in `f32` arithmetic (input rounding `2u + u²`, then the sum; Cauchy–Schwarz
/// bounds `Σ|aᵢbᵢ|` by 1), and the sequential `f64` dot product by `γ(d + 4)` in `f64`: a
/// candidate whose `f32` value is below the current k-th best by more than their sum cannot
/// be a neighbour.
struct ScreenedRows {
    d: usize,
    exact: Vec<f64>,
    approx: Vec<f32>,
    abs: bool,
}

impl ScreenedRows {
    /// Wraps the rows [`prepare`] normalized (`n × d`); `abs` for abs-cosine.
    fn new(exact: Vec<f64>, d: usize, abs: bool) -> ScreenedRows {
        let approx = exact.iter().map(|&v| v as f32).collect();
        ScreenedRows {
            d,
            exact,
            approx,
            abs,
        }
    }

    /// The `f64` similarity of rows `q` and `j`, summed in index order.
    fn exact(&self, q: usize, j: usize) -> f64 {
        let d = self.d;
        let a = &self.exact[q * d..(q + 1) * d];
        let b = &self.exact[j * d..(j + 1) * d];
        let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
        if self.abs { dot.abs() } else { dot }
    }

    /// `out` (row-major `rows_i.len() × rows_j.len()`) = the `f32` similarities.
    fn approx_block(&self, rows_i: Range<usize>, rows_j: Range<usize>, out: &mut [f32]) {
        let d = self.d;
        let a = MatRef::from_row_major_slice(
            &self.approx[rows_i.start * d..rows_i.end * d],
            rows_i.len(),
            d,
        );
        let b = MatRef::from_row_major_slice(
            &self.approx[rows_j.start * d..rows_j.end * d],
            rows_j.len(),
            d,
        );
        let dst = MatMut::from_row_major_slice_mut(out, rows_i.len(), rows_j.len());
        faer::linalg::matmul::matmul(dst, Accum::Replace, a, b.transpose(), 1.0f32, Par::Seq);
        if self.abs {
            out.iter_mut().for_each(|v| *v = v.abs());
        }
    }
}

/// The running top-k list of one query: `(similarity, row)`, best first.
type Top = Vec<(f64, usize)>;

/// How candidates enter the running top-k lists: `exact(q, j, approx)` gives the value that
/// ranks (the approximate one itself when `tolerance` is 0); offered values may be below it by
/// at most `tolerance`.
struct Offers<'a, E> {
    k: usize,
    tolerance: f64,
    exclude: &'a [&'a [u32]],
    exact: &'a E,
}

impl<E: Fn(usize, usize, f64) -> f64 + Sync> Offers<'_, E> {
    /// Offered values below this cannot enter `top` (with `tolerance`, whatever their exact value).
    fn threshold(&self, top: &[(f64, usize)]) -> f64 {
        if top.len() == self.k {
            top[self.k - 1].0 - self.tolerance
        } else {
            f64::NEG_INFINITY
        }
    }

    /// Offers candidate `j` (approximate value `s`) to query `q`; true when `top` changed.
    fn consider(&self, top: &mut Vec<(f64, usize)>, q: usize, j: usize, s: f64) -> bool {
        if j == q || self.exclude.iter().any(|col| col[j] == col[q]) {
            return false;
        }
        let s = (self.exact)(q, j, s);
        if top.len() == self.k {
            let (ws, wj) = top[self.k - 1];
            if s < ws || (s == ws && j > wj) {
                return false;
            }
        }
        let at = top.partition_point(|&(t, i)| t > s || (t == s && i < j));
        top.insert(at, (s, j));
        top.truncate(self.k);
        true
    }

    /// Offers row `r` of `sims` (`tops.len()` rows, candidates `first_col..` as columns) to
    /// query `first_row + r`.
    fn rows<T: Copy + Into<f64>>(
        &self,
        tops: &mut [Vec<(f64, usize)>],
        first_row: usize,
        sims: &[T],
        first_col: usize,
    ) {
        let width = sims.len() / tops.len().max(1);
        for (r, top) in tops.iter_mut().enumerate() {
            let q = first_row + r;
            let mut floor = self.threshold(top);
            for (c, &s) in sims[r * width..(r + 1) * width].iter().enumerate() {
                let s: f64 = s.into();
                if s >= floor && self.consider(top, q, first_col + c, s) {
                    floor = self.threshold(top);
                }
            }
        }
    }

    /// Offers column `c` of `sims` (candidates `first_row..` as rows, `tops.len()` columns) to
    /// query `first_col + c`, walking `sims` row by row so that it is read in memory order.
    fn columns<T: Copy + Into<f64>>(
        &self,
        tops: &mut [Vec<(f64, usize)>],
        first_col: usize,
        sims: &[T],
        first_row: usize,
    ) {
        let width = tops.len();
        let mut floors: Vec<f64> = tops.iter().map(|t| self.threshold(t)).collect();
        for (r, row) in sims.chunks_exact(width).enumerate() {
            for (c, (&s, floor)) in row.iter().zip(floors.iter_mut()).enumerate() {
                let s: f64 = s.into();
                if s >= *floor && self.consider(&mut tops[c], first_col + c, first_row + r, s) {
                    *floor = self.threshold(&tops[c]);
                }
            }
        }
    }
}

/// Computes every block pair `(I, J ≥ I)` of `ranges` with `fill` (row-major `|I| × |J|`
/// values) and offers it to the rows of `I` and of `J`, on `threads` workers.
///
/// Workers pull pairs from a shared counter and lock one row block's lists at a time. The
/// result does not depend on the order: a list ends as the `k` best candidates under the total
/// order (exact value, then lower index), and a candidate is only skipped when it ranks below
/// a list member already.
fn for_block_pairs<T, E, F>(
    ranges: &[Range<usize>],
    tops: &mut [Vec<(f64, usize)>],
    threads: usize,
    block: usize,
    offers: &Offers<'_, E>,
    fill: F,
) -> Result<(), MetricError>
where
    T: Copy + Default + Into<f64> + Send,
    E: Fn(usize, usize, f64) -> f64 + Sync,
    F: Fn(Range<usize>, Range<usize>, &mut [T]) -> Result<(), MetricError> + Sync,
{
    let pairs: Vec<(usize, usize)> = (0..ranges.len())
        .flat_map(|bi| (bi..ranges.len()).map(move |bj| (bi, bj)))
        .collect();
    let lists: Vec<Mutex<&mut [Top]>> = tops.chunks_mut(block).map(Mutex::new).collect();
    let next = AtomicUsize::new(0);
    let failure: Mutex<Option<MetricError>> = Mutex::new(None);
    let work = || {
        let mut buf = vec![T::default(); block * block];
        loop {
            let p = next.fetch_add(1, Ordering::Relaxed);
            if p >= pairs.len() {
                break;
            }
            let (bi, bj) = pairs[p];
            let (ri, rj) = (ranges[bi].clone(), ranges[bj].clone());
            let sims = &mut buf[..ri.len() * rj.len()];
            if let Err(e) = fill(ri.clone(), rj.clone(), sims) {
                failure.lock().expect("no worker panics").get_or_insert(e);
                next.store(pairs.len(), Ordering::Relaxed);
                break;
            }
            {
                let mut own = lists[bi].lock().expect("no worker panics");
                offers.rows(&mut own, ri.start, sims, rj.start);
            }
            if bj != bi {
                let mut other = lists[bj].lock().expect("no worker panics");
                offers.columns(&mut other, rj.start, sims, ri.start);
            }
        }
    };
    let threads = threads.clamp(1, pairs.len().max(1));
    if threads == 1 {
        work();
    } else {
        std::thread::scope(|scope| {
            for _ in 0..threads {
                scope.spawn(work);
            }
        });
    }
    match failure.into_inner().expect("workers have finished") {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The majority label among `top`, a tie decided by `tie`.
fn vote(
    top: &[(f64, usize)],
    labels: &[u32],
    tie: VoteTie,
    votes: &mut [(usize, f64)],
) -> Option<u32> {
    if top.is_empty() {
        return None;
    }
    for &(_, j) in top {
        votes[labels[j] as usize] = (0, 0.0);
    }
    for &(s, j) in top {
        let v = &mut votes[labels[j] as usize];
        v.0 += 1;
        v.1 += s;
    }
    let mut best: Option<(u32, usize, f64)> = None;
    for &(_, j) in top {
        let label = labels[j];
        let (count, sum) = votes[label as usize];
        let better = match best {
            None => true,
            Some((b, bc, bs)) => {
                count > bc
                    || (count == bc
                        && match tie {
                            VoteTie::SummedSimilarity => sum > bs || (sum == bs && label < b),
                            VoteTie::LowestLabel => label < b,
                        })
            }
        };
        if better {
            best = Some((label, count, sum));
        }
    }
    best.map(|(label, _, _)| label)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_data::uniform;

    /// The definition, spelled out on a full similarity matrix.
    fn naive(
        x: &[f32],
        n: usize,
        d: usize,
        labels: &[u32],
        exclude: &[&[u32]],
        k: usize,
    ) -> Vec<Option<u32>> {
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
        (0..n)
            .map(|q| {
                let mut cands: Vec<(f64, usize)> = (0..n)
                    .filter(|&j| j != q && exclude.iter().all(|c| c[j] != c[q]))
                    .map(|j| (rows[q].iter().zip(&rows[j]).map(|(a, b)| a * b).sum(), j))
                    .collect();
                cands.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
                cands.truncate(k);
                if cands.is_empty() {
                    return None;
                }
                let mut best: Option<(u32, usize, f64)> = None;
                for label in 0..4u32 {
                    let mine: Vec<f64> = cands
                        .iter()
                        .filter(|c| labels[c.1] == label)
                        .map(|c| c.0)
                        .collect();
                    if mine.is_empty() {
                        continue;
                    }
                    let (count, sum) = (mine.len(), mine.iter().sum::<f64>());
                    if best.is_none_or(|(_, bc, bs)| count > bc || (count == bc && sum > bs)) {
                        best = Some((label, count, sum));
                    }
                }
                best.map(|b| b.0)
            })
            .collect()
    }

    #[test]
    fn matches_the_definition_with_and_without_exclusions() {
        let (n, d) = (57, 6);
        let x = uniform(n, d, 3);
        let labels: Vec<u32> = (0..n).map(|i| (i * 7 % 4) as u32).collect();
        let compound: Vec<u32> = (0..n).map(|i| (i / 3) as u32).collect();
        let batch: Vec<u32> = (0..n).map(|i| (i % 5) as u32).collect();
        let m = Matrix::new(&x, n, d).unwrap();
        for k in [1, 3, 4] {
            for exclude in [vec![], vec![&compound[..]], vec![&compound[..], &batch[..]]] {
                for block_rows in [0, 5] {
                    let params = KnnParams {
                        k,
                        block_rows,
                        threads: 3,
                        ..KnnParams::default()
                    };
                    let got = knn_accuracy(m, &labels, 4, &exclude, &params).unwrap();
                    let want = naive(&x, n, d, &labels, &exclude, k);
                    assert_eq!(
                        got.predictions,
                        want,
                        "k={k} exclude={} block={block_rows}",
                        exclude.len()
                    );
                    let right = want
                        .iter()
                        .zip(&labels)
                        .filter(|(p, t)| **p == Some(**t))
                        .count();
                    assert_eq!(got.n, n);
                    assert!((got.accuracy - right as f64 / n as f64).abs() < 1e-15);
                    assert_eq!(got.confusion.iter().sum::<u64>(), n as u64);
                    let per_class_right: usize = got.per_class.iter().map(|c| c.correct).sum();
                    assert_eq!(per_class_right, right);
                }
            }
        }
    }

    #[test]
    fn ties_go_to_the_lower_index_and_votes_to_summed_similarity() {
        // Rows 1 and 2 are identical, so they tie for row 0's nearest neighbour: row 1 wins.
        let x = [1.0f32, 0.0, 0.8, 0.6, 0.8, 0.6, 0.0, 1.0];
        let m = Matrix::new(&x, 4, 2).unwrap();
        let r = knn_accuracy(m, &[0, 1, 2, 2], 3, &[], &KnnParams::default()).unwrap();
        assert_eq!(r.predictions[0], Some(1));
        // k = 2 for row 3: rows 1 (label 1) and 2 (label 2) tie, one vote each and the same
        // summed similarity, so the lower label wins.
        let r = knn_accuracy(
            m,
            &[0, 1, 2, 2],
            3,
            &[],
            &KnnParams {
                k: 2,
                ..KnnParams::default()
            },
        )
        .unwrap();
        assert_eq!(r.predictions[3], Some(1));
        // Row 1's neighbours are rows 2 (similarity 1), 0 (0.8) and 3 (0.6): with k = 3 and
        // four labels each gets one vote, so the largest summed similarity (label 2) wins.
        let r = knn_accuracy(
            m,
            &[0, 1, 2, 3],
            4,
            &[],
            &KnnParams {
                k: 3,
                ..KnnParams::default()
            },
        )
        .unwrap();
        assert_eq!(r.predictions[1], Some(2));
    }

    #[test]
    fn neighbours_closer_than_f32_resolution_are_told_apart() {
        // Rows 1 and 2 point within 2e-4 of row 0's direction; their cosines with row 0
        // (1 − 2e-8 and 1 − 5e-9) round to the same f32 value, but row 2 is nearer in f64 and must win over row 1's
        // lower index.
        let x = [
            1.0f32, 0.0, 0.0, 1.0, 2e-4, 0.0, 1.0, 1e-4, 0.0, 0.0, 1.0, 0.0,
        ];
        let m = Matrix::new(&x, 4, 3).unwrap();
        for similarity in [Similarity::Cosine, Similarity::AbsCosine] {
            let params = KnnParams {
                similarity,
                ..KnnParams::default()
            };
            let r = knn_accuracy(m, &[0, 1, 2, 3], 4, &[], &params).unwrap();
            assert_eq!(r.predictions[0], Some(2), "{similarity}");
        }
    }

    #[test]
    fn euclidean_neighbours_are_the_nearest_points() {
        let (n, d) = (45, 4);
        let x = uniform(n, d, 13);
        let m = Matrix::new(&x, n, d).unwrap();
        let labels: Vec<u32> = (0..n as u32).collect();
        let compound: Vec<u32> = (0..n as u32).map(|i| i / 3).collect();
        let params = KnnParams {
            similarity: Similarity::Euclidean,
            block_rows: 7,
            ..KnnParams::default()
        };
        let r = knn_accuracy(m, &labels, n, &[&compound], &params).unwrap();
        for q in 0..n {
            let dist = |j: usize| -> f64 {
                (0..d)
                    .map(|c| (f64::from(x[q * d + c]) - f64::from(x[j * d + c])).powi(2))
                    .sum()
            };
            let nearest = (0..n)
                .filter(|&j| compound[j] != compound[q])
                .min_by(|&a, &b| dist(a).total_cmp(&dist(b)))
                .unwrap();
            assert_eq!(r.predictions[q], Some(nearest as u32), "query {q}");
        }
    }

    #[test]
    fn results_do_not_depend_on_threads_or_block_size() {
        // Duplicated rows give exact ties, which must still resolve the same way whichever
        // worker offers which block pair first.
        let (n, d) = (150, 9);
        let mut x = uniform(n, d, 21);
        x.copy_within(0..20 * d, 60 * d);
        let labels: Vec<u32> = (0..n).map(|i| (i * 5 % 6) as u32).collect();
        let compound: Vec<u32> = (0..n).map(|i| (i / 4) as u32).collect();
        let m = Matrix::new(&x, n, d).unwrap();
        for similarity in [
            Similarity::Cosine,
            Similarity::Pearson,
            Similarity::AbsCosine,
            Similarity::Euclidean,
        ] {
            for exclude in [vec![], vec![&compound[..]]] {
                let run = |threads, block_rows| {
                    let params = KnnParams {
                        k: 4,
                        similarity,
                        block_rows,
                        threads,
                        ..KnnParams::default()
                    };
                    knn_accuracy(m, &labels, 6, &exclude, &params).unwrap()
                };
                let reference = run(1, 150);
                assert!(reference.accuracy > 0.0, "{similarity}");
                for (threads, block_rows) in [(1, 7), (2, 7), (4, 16), (3, 0)] {
                    assert_eq!(
                        run(threads, block_rows),
                        reference,
                        "{similarity} threads={threads} block={block_rows}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_query_without_candidates_is_unscored() {
        let x = uniform(4, 3, 9);
        let m = Matrix::new(&x, 4, 3).unwrap();
        let compound = [0u32, 0, 1, 1];
        let batch = [0u32, 1, 0, 1];
        // Under NSCB row 0 may only see rows of another compound and another batch: row 3.
        let r = knn_accuracy(
            m,
            &[0, 0, 1, 1],
            2,
            &[&compound, &batch],
            &KnnParams::default(),
        )
        .unwrap();
        assert_eq!(r.predictions, vec![Some(1), Some(1), Some(0), Some(0)]);
        assert_eq!(r.accuracy, 0.0);
        let all = [0u32; 4];
        let r = knn_accuracy(m, &[0, 0, 1, 1], 2, &[&all], &KnnParams::default()).unwrap();
        assert_eq!((r.n, r.n_unscored), (0, 4));
        assert!(r.accuracy.is_nan());
    }

    #[test]
    fn bad_parameters_are_rejected() {
        let x = uniform(4, 3, 9);
        let m = Matrix::new(&x, 4, 3).unwrap();
        let p = KnnParams::default();
        assert!(matches!(
            knn_accuracy(m, &[0, 0, 1, 1], 2, &[], &KnnParams { k: 0, ..p }),
            Err(MetricError::InvalidParameter { name: "k", .. })
        ));
        assert!(matches!(
            knn_accuracy(m, &[0, 0, 1], 2, &[], &p),
            Err(MetricError::ShapeMismatch { .. })
        ));
        assert!(matches!(
            knn_accuracy(m, &[0, 0, 1, 2], 2, &[], &p),
            Err(MetricError::InvalidParameter { name: "labels", .. })
        ));
        assert!(matches!(
            knn_accuracy(m, &[0, 0, 1, 1], 2, &[&[0, 1]], &p),
            Err(MetricError::ShapeMismatch { .. })
        ));
    }
}
