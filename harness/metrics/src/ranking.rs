//! Rank-based retrieval summaries of two reference code bases, named after them:
//!
//! - [`precision_recall_at_k`]: precision@k / recall@k per replicate group, cytominer-eval's
//!   `precision_recall` (the operation behind its published LINCS counts).
//! - [`interpolated_average_precision`]: one query's interpolated-precision average of
//!   DeepProfilerExperiments (`profiling/metrics.py`, `interpolated_precision_recall_curve`);
//!   its mean over queries is that code base's "MAP". It is **not** copairs' mean average
//!   precision ([`crate::retrieval`]): it averages an interpolated curve over a recall grid.
//!
//! # precision@k (cytominer-eval)
//!
//! cytominer-eval melts the full pairwise matrix without its diagonal into ordered pairs
//! `(pair_a, pair_b)`, sorts all of them by similarity (descending) and groups them by the
//! `pair_a` side's group columns. For group `g` with `n_g` rows the candidates are therefore the
//! `n_g·(n − 1)` ordered pairs whose *first* member is in `g`; a candidate is a replicate pair
//! when the second member is in `g` too (`n_g·(n_g − 1)` of them: each unordered replicate pair
//! twice). With `h` replicate pairs among the top `k` candidates:
//! `precision = h / k` (even when fewer than `k` candidates exist) and
//! `recall = h / (n_g·(n_g − 1))` (NaN for a singleton group, as numpy's 0/0).
//! Every group is scored, controls included (the published counts need the DMSO group); a
//! missing value is a group of its own, as cytominer-eval's string cast makes it ("nan").
//! Ties at the k-th place are broken by ranking non-replicate pairs first (pandas' unstable
//! quicksort leaves them unspecified; with continuous similarities they do not occur).
//!
//! # Interpolated average precision (DeepProfilerExperiments)
//!
//! For query `i` among `n` rows: the query's own similarity is set to −1 and it is not a match
//! (the reference's "suppress self matching"); the `n` scores then go through scikit-learn's
//! `precision_recall_curve` as the reference ran it (releases that stop the curve at full
//! recall, `last_ind = tps.searchsorted(tps[-1])`): one point per distinct score, in decreasing
//! score order, up to the first point that reaches recall 1, with precision `tp/(tp+fp)` and
//! recall `tp/P` counted over all rows scoring at least that score; reversed, plus the final
//! point `(precision 1, recall 0)`. `max_precision` is the running maximum from the full-recall
//! end (interpolated precision: the best precision at this recall or higher). The recall grid
//! is `np.linspace(0, 1, n)[::-1]` (`n` points, `n` = all rows), and the reference fills it as
//!
//! ```text
//! j = 0
//! for i in range(n): interp[i] = max_precision[j]; while grid[i] < recall[j]: j += 1
//! ```
//!
//! (so each grid point reads the curve where the previous one left it). The query's value is
//! the mean of `interp` over the grid; the MAP is the mean over queries, which equals the
//! reference's mean over the grid of the query-averaged curve. Queries are rows with at least
//! two matches among the other rows (`Y_true.sum(axis=0) > 1` after the diagonal was cleared).

use std::cmp::Ordering;

use crate::blocks::for_each_block;
use crate::error::{MetricError, unpermute_error};
use crate::labels::GroupKeys;
use crate::matrix::Matrix;
use crate::similarity::{Similarity, prepare};

/// Reusable buffers for [`interpolated_average_precision`].
#[derive(Debug, Default)]
pub struct InterpolatedScratch {
    /// Distinct positive scores, descending, and how many positives share each.
    levels: Vec<(f64, usize)>,
    /// Rows scoring exactly a level, and strictly between it and the level above.
    at: Vec<usize>,
    between: Vec<usize>,
    /// Per level: positives so far, rows scoring above it, rows scoring at least it.
    counts: Vec<(usize, usize, usize)>,
    /// Interpolated precision where the fill loop rests on each level's recall run.
    entry: Vec<f64>,
}

/// The recall grid point `np.linspace(0, 1, n)[::-1][i]`, bit for bit (`k·(1/(n−1))`, last = 1).
fn grid_point(n: usize, i: usize) -> f64 {
    let k = n - 1 - i;
    if k == n - 1 {
        1.0
    } else {
        k as f64 * (1.0 / (n - 1) as f64)
    }
}

/// One query's interpolated average precision (DeepProfilerExperiments; see the module docs).
///
/// `sims[j]` is the query's similarity to row `j` and `matches[j]` whether row `j` is relevant;
/// entry `query` is the query itself and is overridden (score −1, not relevant). Returns NaN
/// when no other row is relevant.
///
/// Runs in `O(n log P)` without sorting the `n` scores: the reference's running maximum is
/// only ever read where a recall run starts (the fill loop skips whole runs of equal recall),
/// and there it is determined by per-level counts. Level `l` (the `l`-th distinct positive
/// score `u_l`, descending) reaches `tp_l` positives among the `ge_l` rows scoring `≥ u_l`;
/// its run of recall `tp_l/P` starts at the lowest negative-only score group above `u_{l+1}`
/// (precision `tp_l/gt_{l+1}`, `gt` counting rows scoring `> u_{l+1}`) when there is one, else
/// at the level's own point; every other point of a run is dominated by the level's own point
/// `tp_l/ge_l`. The recall-0 run starts at a negative group above every positive (precision 0)
/// if one exists, else at the final `(1, 0)` point.
pub fn interpolated_average_precision(
    sims: &[f64],
    matches: &[bool],
    query: usize,
    scratch: &mut InterpolatedScratch,
) -> f64 {
    let n = sims.len();
    let s = scratch;
    let score = |j: usize| if j == query { -1.0 } else { sims[j] };
    s.levels.clear();
    s.levels.extend(
        (0..n)
            .filter(|&j| matches[j] && j != query)
            .map(|j| (score(j), 1)),
    );
    let positives = s.levels.len();
    if positives == 0 || n < 2 {
        return f64::NAN;
    }
    s.levels.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
    // Merge equal scores (== also merges +0 and -0, as the reference's np.diff does).
    s.levels.dedup_by(|later, kept| {
        let same = later.0 == kept.0;
        if same {
            kept.1 += later.1;
        }
        same
    });
    let n_levels = s.levels.len();
    let lowest = s.levels[n_levels - 1].0;
    s.at.clear();
    s.at.resize(n_levels, 0);
    s.between.clear();
    s.between.resize(n_levels, 0);
    let mut above_all = 0usize;
    for j in 0..n {
        let v = score(j);
        if v < lowest {
            continue;
        }
        // Levels strictly above v.
        let l = s.levels.partition_point(|&(u, _)| u > v);
        if l < n_levels && s.levels[l].0 == v {
            s.at[l] += 1;
        } else if l == 0 {
            above_all += 1;
        } else {
            s.between[l] += 1;
        }
    }

    // gt/ge per level, and each level's own-point precision tp/ge.
    s.entry.clear();
    s.entry.resize(n_levels, 0.0);
    let (mut tp, mut gt) = (0usize, above_all);
    let own = &mut s.counts;
    own.clear();
    for l in 0..n_levels {
        gt += s.between[l];
        tp += s.levels[l].1;
        let ge = gt + s.at[l];
        own.push((tp, gt, ge));
        gt = ge;
    }
    // Entry values from the full-recall end: best own-point precision of the lower levels,
    // against this run's start.
    let mut best_below = f64::NEG_INFINITY;
    for l in (0..n_levels).rev() {
        let (tp, _, ge) = own[l];
        let start = match own.get(l + 1) {
            Some(&(_, gt_next, _)) if s.between[l + 1] > 0 => tp as f64 / gt_next as f64,
            _ => tp as f64 / ge as f64,
        };
        s.entry[l] = best_below.max(start);
        best_below = best_below.max(tp as f64 / ge as f64);
    }
    let entry_zero = if above_all > 0 {
        best_below.max(0.0)
    } else {
        1.0
    };
    let recall = |l: usize| own[l].0 as f64 / positives as f64;

    // The reference's fill loop over runs: `cur` is the run the loop rests on (None: recall 0).
    let mut cur = Some(n_levels - 1);
    let mut sum = 0.0;
    for i in 0..n {
        sum += cur.map_or(entry_zero, |l| s.entry[l]);
        let r = grid_point(n, i);
        while let Some(l) = cur {
            if r < recall(l) {
                cur = l.checked_sub(1);
            } else {
                break;
            }
        }
    }
    sum / n as f64
}

/// Precision and recall at one `k` for one group.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PrecisionAtK {
    /// The group (index into [`GroupKeys`]).
    pub group: u32,
    /// Number of top candidates considered.
    pub k: usize,
    /// Replicate pairs among the top `k`, divided by `k`.
    pub precision: f64,
    /// Replicate pairs among the top `k`, divided by the group's `n_g·(n_g − 1)`.
    pub recall: f64,
}

/// Orders candidates best first: higher similarity, then non-replicate before replicate.
fn by_rank(a: &(f64, bool), b: &(f64, bool)) -> Ordering {
    b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
}

/// precision@k and recall@k of every group for every `k` (cytominer-eval; see the module docs).
///
/// Rows come out ordered by `k` (as given), then group. `block_rows` is the number of query
/// rows per similarity block (0: about 64 MiB per block). Errors: shape mismatch, an empty or
/// zero `k`, and the similarity's input errors (rows named in the caller's order).
pub fn precision_recall_at_k(
    x: Matrix<'_>,
    groups: &GroupKeys,
    ks: &[usize],
    similarity: Similarity,
    block_rows: usize,
) -> Result<Vec<PrecisionAtK>, MetricError> {
    let (n, d) = (x.n(), x.d());
    if groups.len() != n {
        return Err(MetricError::ShapeMismatch {
            what: "group rows",
            expected: n,
            got: groups.len(),
        });
    }
    if ks.is_empty() || ks.contains(&0) {
        return Err(MetricError::InvalidParameter {
            name: "k",
            value: format!("{ks:?}"),
            reason: "give at least one k, each at least 1".to_owned(),
        });
    }
    // Rows sorted by group make every group one contiguous range of query rows.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| (groups.keys[i], i));
    let mut permuted = Vec::with_capacity(n * d);
    for &i in &order {
        permuted.extend_from_slice(x.row(i));
    }
    let prepared = prepare(Matrix::new(&permuted, n, d)?, similarity)
        .map_err(|e| unpermute_error(e, &order))?;
    let n_groups = groups.n_groups();
    let mut start = vec![0usize; n_groups + 1];
    for &i in &order {
        start[groups.keys[i] as usize + 1] += 1;
    }
    for g in 0..n_groups {
        start[g + 1] += start[g];
    }

    let k_max = *ks.iter().max().expect("ks is not empty");
    let trim_at = 2 * k_max.max(1024);
    let mut hits_at: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
    let finish = |g: usize, cand: &mut Vec<(f64, bool)>, hits_at: &mut [Vec<usize>]| {
        cand.sort_unstable_by(by_rank);
        let mut prefix = Vec::with_capacity(cand.len() + 1);
        prefix.push(0usize);
        for c in cand.iter() {
            prefix.push(prefix[prefix.len() - 1] + usize::from(c.1));
        }
        hits_at[g] = ks.iter().map(|&k| prefix[k.min(cand.len())]).collect();
        cand.clear();
    };
    // The group being collected, its candidates, and a similarity below which nothing can
    // enter its top k_max any more (the worst of k_max candidates already held).
    let mut current = usize::MAX;
    let mut cand: Vec<(f64, bool)> = Vec::new();
    let mut cutoff = f64::NEG_INFINITY;
    for_each_block(&prepared, block_rows, |range, sims| {
        for (local, q) in range.clone().enumerate() {
            let g = groups.keys[order[q]] as usize;
            if g != current {
                if current != usize::MAX {
                    finish(current, &mut cand, &mut hits_at);
                }
                current = g;
                cutoff = f64::NEG_INFINITY;
            }
            let members = start[g]..start[g + 1];
            let row = &sims[local * n..(local + 1) * n];
            for (j, &v) in row.iter().enumerate() {
                if j == q || v < cutoff {
                    continue;
                }
                cand.push((v, members.contains(&j)));
                if cand.len() >= trim_at {
                    cand.select_nth_unstable_by(k_max - 1, by_rank);
                    cand.truncate(k_max);
                    cutoff = cand.iter().map(|c| c.0).fold(f64::INFINITY, f64::min);
                }
            }
        }
    })?;
    if current != usize::MAX {
        finish(current, &mut cand, &mut hits_at);
    }

    let mut out = Vec::with_capacity(ks.len() * n_groups);
    for (t, &k) in ks.iter().enumerate() {
        for (g, hits) in hits_at.iter().enumerate() {
            let size = (start[g + 1] - start[g]) as f64;
            let h = hits[t] as f64;
            out.push(PrecisionAtK {
                group: g as u32,
                k,
                precision: h / k as f64,
                recall: h / (size * (size - 1.0)),
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::LabelColumn;
    use crate::similarity::similarity_block;

    fn scratch() -> InterpolatedScratch {
        InterpolatedScratch::default()
    }

    /// The reference algorithm transcribed literally (old scikit-learn curve, lagged fill).
    fn reference(sims: &[f64], matches: &[bool], query: usize) -> f64 {
        let n = sims.len();
        let mut s: Vec<f64> = sims.to_vec();
        let mut y: Vec<bool> = matches.to_vec();
        s[query] = -1.0;
        y[query] = false;
        // _binary_clf_curve: stable sort ascending, reversed → descending.
        let mut idx: Vec<usize> = (0..n).collect();
        idx.sort_by(|&a, &b| s[a].total_cmp(&s[b]));
        idx.reverse();
        let ys: Vec<f64> = idx.iter().map(|&i| s[i]).collect();
        let yt: Vec<bool> = idx.iter().map(|&i| y[i]).collect();
        let mut thr_idx: Vec<usize> = (0..n - 1).filter(|&t| ys[t + 1] != ys[t]).collect();
        thr_idx.push(n - 1);
        let mut cum = vec![0.0; n];
        let mut c = 0.0;
        for t in 0..n {
            c += f64::from(u8::from(yt[t]));
            cum[t] = c;
        }
        let tps: Vec<f64> = thr_idx.iter().map(|&t| cum[t]).collect();
        let fps: Vec<f64> = thr_idx
            .iter()
            .zip(&tps)
            .map(|(&t, tp)| 1.0 + t as f64 - tp)
            .collect();
        let p_all = *tps.last().unwrap();
        let last = tps.iter().position(|&t| t >= p_all).unwrap();
        let mut prec: Vec<f64> = (0..=last)
            .rev()
            .map(|t| tps[t] / (tps[t] + fps[t]))
            .collect();
        let mut rec: Vec<f64> = (0..=last).rev().map(|t| tps[t] / p_all).collect();
        prec.push(1.0);
        rec.push(0.0);
        let mut mx = prec.clone();
        for t in 1..mx.len() {
            mx[t] = mx[t].max(mx[t - 1]);
        }
        let grid: Vec<f64> = (0..n).map(|i| grid_point(n, i)).collect();
        let mut j = 0;
        let mut interp = vec![0.0; n];
        for i in 0..n {
            interp[i] = mx[j];
            while grid[i] < rec[j] {
                j += 1;
            }
        }
        interp.iter().sum::<f64>() / n as f64
    }

    #[test]
    fn grid_matches_numpy_linspace() {
        // np.linspace(0, 1, 7)[::-1] with numpy 2.4.6.
        let want = [
            1.0,
            0.8333333333333333,
            0.6666666666666666,
            0.5,
            0.3333333333333333,
            0.16666666666666666,
            0.0,
        ];
        let got: Vec<f64> = (0..7).map(|i| grid_point(7, i)).collect();
        assert_eq!(got, want);
        assert_eq!(grid_point(2, 0), 1.0);
        assert_eq!(grid_point(2, 1), 0.0);
    }

    #[test]
    fn hand_computed_interpolated_precision() {
        // Query 0; ranking of the others: 1 (pos), 2 (neg), 3 (pos), 4 (neg).
        let sims = [1.0, 0.9, 0.8, 0.7, 0.6];
        let matches = [true, true, false, true, false];
        // Curve (reversed): (2/3, 1), (1/2, 1/2), (1, 1/2), (1, 0); running max 2/3, 2/3, 1, 1.
        // Grid (n = 5): 1, .75, .5, .25, 0 → interp: M0, M0, M0 (.75 < 1 → j=1; .5 ≥ .5 stops),
        // i=3 reads M1=2/3 then .25 < .5 → j=3, i=4 reads M3 = 1.
        let want = (2.0 / 3.0 * 4.0 + 1.0) / 5.0;
        let got = interpolated_average_precision(&sims, &matches, 0, &mut scratch());
        assert!((got - want).abs() < 1e-15, "{got} vs {want}");
        assert_eq!(got, reference(&sims, &matches, 0));
    }

    #[test]
    fn agrees_with_the_literal_reference_with_ties() {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for trial in 0..3000 {
            let n = 2 + (next() % 60) as usize;
            let levels = 1.0 + (next() % 6) as f64;
            // Coarse values force ties; -1 ties with the query's own score, ±0 compare equal.
            let sims: Vec<f64> = (0..n)
                .map(|_| match next() % 10 {
                    0 => -1.0,
                    1 => -0.0,
                    2 => 0.0,
                    _ => ((next() % 7) as f64 / levels) - 0.5,
                })
                .collect();
            let matches: Vec<bool> = (0..n).map(|_| next() % 3 == 0).collect();
            let q = (next() as usize) % n;
            let got = interpolated_average_precision(&sims, &matches, q, &mut scratch());
            if matches.iter().enumerate().any(|(j, &m)| m && j != q) {
                assert_eq!(got, reference(&sims, &matches, q), "trial {trial}");
            } else {
                assert!(got.is_nan());
            }
        }
    }

    #[test]
    fn perfect_ranking_scores_one() {
        let sims = [0.0, 0.9, 0.8, 0.1, 0.2];
        let matches = [false, true, true, false, false];
        assert_eq!(
            interpolated_average_precision(&sims, &matches, 0, &mut scratch()),
            1.0
        );
    }

    fn keys(v: &[&str]) -> GroupKeys {
        let v: Vec<Option<String>> = v.iter().map(|s| Some(s.to_string())).collect();
        GroupKeys::new(&[&LabelColumn::encode("g", &v)]).unwrap()
    }

    /// precision/recall by materializing every ordered pair, as cytominer-eval does.
    fn naive(x: &[f32], n: usize, d: usize, g: &GroupKeys, ks: &[usize]) -> Vec<PrecisionAtK> {
        let p = prepare(Matrix::new(x, n, d).unwrap(), Similarity::Pearson).unwrap();
        let mut s = vec![0.0; n * n];
        similarity_block(&p, 0..n, &mut s).unwrap();
        let mut out = vec![];
        for &k in ks {
            for grp in 0..g.n_groups() as u32 {
                let mut c: Vec<(f64, bool)> = vec![];
                for a in (0..n).filter(|&a| g.keys[a] == grp) {
                    for b in (0..n).filter(|&b| b != a) {
                        c.push((s[a * n + b], g.keys[b] == grp));
                    }
                }
                c.sort_by(by_rank);
                let size = g.keys.iter().filter(|&&k| k == grp).count() as f64;
                let h = c.iter().take(k).filter(|c| c.1).count() as f64;
                out.push(PrecisionAtK {
                    group: grp,
                    k,
                    precision: h / k as f64,
                    recall: h / (size * (size - 1.0)),
                });
            }
        }
        out
    }

    #[test]
    fn blocked_precision_matches_naive() {
        let (n, d) = (41, 5);
        let mut x = 7u64;
        let data: Vec<f32> = (0..n * d)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (x >> 40) as f32 / (1u64 << 24) as f32
            })
            .collect();
        let names: Vec<&str> = (0..n)
            .map(|i| ["a", "b", "c", "d", "e", "f", "z"][i * 5 % 7])
            .collect();
        let mut names = names;
        names[40] = "single";
        let g = keys(&names);
        let ks = [1, 3, 10, 200, 5000];
        let want = naive(&data, n, d, &g, &ks);
        for block in [0, 1, 4, 40] {
            let got = precision_recall_at_k(
                Matrix::new(&data, n, d).unwrap(),
                &g,
                &ks,
                Similarity::Pearson,
                block,
            )
            .unwrap();
            assert_eq!(got.len(), want.len());
            for (a, b) in got.iter().zip(&want) {
                assert_eq!((a.group, a.k), (b.group, b.k));
                assert_eq!(a.precision, b.precision, "block {block} {a:?}");
                assert!(
                    a.recall == b.recall || (a.recall.is_nan() && b.recall.is_nan()),
                    "{a:?} {b:?}"
                );
            }
        }
        // The singleton group: no replicate pair, recall 0/0.
        let single = (0..g.n_groups() as u32)
            .find(|&k| g.describe(k) == "single")
            .unwrap();
        assert!(want.iter().any(|p| p.group == single && p.recall.is_nan()));
    }

    #[test]
    fn precision_errors() {
        let data = [1.0f32, 2.0, 3.0, 1.0, 5.0, 5.0];
        let g = keys(&["a", "a", "b"]);
        let m = Matrix::new(&data, 3, 2).unwrap();
        assert!(precision_recall_at_k(m, &g, &[], Similarity::Pearson, 0).is_err());
        assert!(precision_recall_at_k(m, &g, &[0], Similarity::Pearson, 0).is_err());
        // Row 2 is constant: the error names it in the caller's order despite the permutation.
        let g = keys(&["b", "a", "a"]);
        let err = precision_recall_at_k(m, &g, &[1], Similarity::Pearson, 0).unwrap_err();
        assert_eq!(
            err,
            MetricError::ZeroNorm {
                row: 2,
                similarity: Similarity::Pearson
            }
        );
    }
}
