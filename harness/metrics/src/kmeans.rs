//! Seeded k-means (k-means++ initialization, Lloyd iterations) with many restarts, each kept and
//! scored on its own, as the GRAPE paper reports k-means quality (mean ± sd over 100 runs).
//!
//! The algorithm follows scikit-learn 1.9 `KMeans(init="k-means++", algorithm="lloyd")`:
//!
//! - **Initialization** — greedy k-means++: the first center is a uniformly drawn row; every
//!   further center is the best of `2 + ⌊ln k⌋` candidates drawn with probability proportional to
//!   the squared distance to the nearest chosen center, "best" meaning the lowest total squared
//!   distance after adding it. The local trials are what make the greedy variant reliably better
//!   than plain k-means++.
//! - **Lloyd iterations** — assign every row to its nearest center (first center on ties), move
//!   each center to the mean of its rows; a cluster left empty takes the row farthest from its
//!   current center (scikit-learn's relocation). Stop when the assignment no longer changes, or
//!   when the summed squared center shift is at most `tol × mean feature variance`, or after
//!   `max_iter` iterations; a run that stopped on the tolerance gets a final assignment to the
//!   final centers.
//! - **Inertia** — the sum over rows of the squared Euclidean distance to the assigned center.
//!
//! Work is in `f64` on column-centered data (centering changes no distance; it keeps the
//! `|x|² − 2x·c + |c|²` expansion used for the assignment step precise). Distances to centers
//! are one faer matrix product per iteration. k-means++ needs the distances of every row to each
//! candidate; when the Gram matrix `X Xᵀ` is cheaper than those products over all restarts (and
//! `n ≤ 4096`), it is computed once and candidates read their column of it.
//!
//! **Seeds.** Restart `r` draws from xoshiro256** keyed by [`restart_seed`]`(seed, r)`; that key is
//! reported with the restart and [`kmeans_restart`] reruns it alone. Restarts run on scoped
//! threads pulling indices from a shared counter; each result lands in its own slot, so results
//! are identical for every thread count. The best restart is the one with the lowest inertia
//! (lowest index on ties).

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use faer::{Accum, MatMut, MatRef, Par};

use crate::error::MetricError;
use crate::matrix::Matrix;
use crate::partition::PartitionScores;
use crate::rng::{Xoshiro256StarStar, mix64};

/// Parameters of a k-means run.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansOptions {
    /// Number of clusters (1 ≤ k ≤ number of rows).
    pub k: usize,
    /// Independent restarts (≥ 1); each is kept and can be scored separately.
    pub restarts: usize,
    /// Base seed; restart `r` uses [`restart_seed`]`(seed, r)`.
    pub seed: u64,
    /// Maximum Lloyd iterations per restart (≥ 1; scikit-learn's default 300).
    pub max_iter: usize,
    /// Relative tolerance on the summed squared center shift (≥ 0; scikit-learn's default 1e-4).
    pub tol: f64,
    /// Worker threads over restarts (0: all cores). Results do not depend on it.
    pub threads: usize,
}

impl KMeansOptions {
    /// scikit-learn's defaults (`max_iter = 300`, `tol = 1e-4`) for `k` clusters and 100 restarts.
    pub fn new(k: usize) -> KMeansOptions {
        KMeansOptions {
            k,
            restarts: 100,
            seed: 0,
            max_iter: 300,
            tol: 1e-4,
            threads: 0,
        }
    }

    fn validate(&self, n: usize) -> Result<(), MetricError> {
        let bad = |name: &'static str, value: String, reason: &str| {
            Err(MetricError::InvalidParameter {
                name,
                value,
                reason: reason.to_owned(),
            })
        };
        if self.k == 0 {
            return bad("k", "0".into(), "k-means needs at least one cluster");
        }
        if self.k > n {
            return bad(
                "k",
                self.k.to_string(),
                &format!("more clusters than rows ({n})"),
            );
        }
        crate::params::restarts(self.restarts as u64)?;
        crate::params::max_iter(self.max_iter as u64)?;
        crate::params::tol(self.tol)
    }
}

/// One k-means restart.
#[derive(Debug, Clone, PartialEq)]
pub struct Restart {
    /// The key of this restart's generator ([`restart_seed`] of the base seed and its index).
    pub seed: u64,
    /// Cluster of each row, `0..k`.
    pub labels: Vec<u32>,
    /// Sum of squared distances of rows to their centers.
    pub inertia: f64,
    /// Lloyd iterations run.
    pub iterations: usize,
}

/// All restarts of a k-means run.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansResult {
    /// Restarts in index order.
    pub restarts: Vec<Restart>,
    /// Index of the restart with the lowest inertia (lowest index on ties).
    pub best: usize,
}

impl KMeansResult {
    /// The lowest inertia over the restarts.
    pub fn best_inertia(&self) -> f64 {
        self.restarts[self.best].inertia
    }
}

/// The generator key of restart `r` under base seed `seed`.
pub fn restart_seed(seed: u64, r: usize) -> u64 {
    mix64(seed ^ mix64((r as u64).wrapping_add(1)))
}

/// Data prepared once for every restart: centered `f64` rows, their squared norms, the tolerance.
struct Prepared {
    n: usize,
    d: usize,
    x: Vec<f64>,
    sq_norms: Vec<f64>,
    tol: f64,
    /// `X Xᵀ` (`n × n`), when it is cheaper than the candidates' products of every restart.
    gram: Option<Vec<f64>>,
}

/// Largest row count whose Gram matrix (`n² f64`, 128 MiB at this size) k-means++ may hold.
const GRAM_MAX_ROWS: usize = 4096;

/// Local trials per k-means++ center (scikit-learn's `2 + int(ln k)`).
fn local_trials(k: usize) -> usize {
    2 + (k as f64).ln() as usize
}

impl Prepared {
    /// Computes the Gram matrix once for all restarts when it costs fewer multiply-adds than
    /// k-means++ would spend on candidate products (`n²d` against `R (1 + (k−1) t) n d`) and
    /// fits in memory. The choice depends on the shape and options only, never on threads.
    fn with_gram(mut self, options: &KMeansOptions) -> Prepared {
        let per_restart = 1 + (options.k - 1) * local_trials(options.k);
        let products = options.restarts.saturating_mul(per_restart);
        if self.n <= GRAM_MAX_ROWS && self.n < products {
            let n = self.n;
            let mut gram = vec![0.0f64; n * n];
            let all = MatRef::from_row_major_slice(&self.x, n, self.d);
            let all_t = MatRef::from_column_major_slice(&self.x, self.d, n);
            let dst = MatMut::from_column_major_slice_mut(&mut gram, n, n);
            // Any thread count gives the same Gram matrix: faer's GEMM splits the output among
            // threads, never a sum over features.
            let par = if options.threads == 1 {
                Par::Seq
            } else {
                Par::rayon(options.threads)
            };
            faer::linalg::matmul::matmul(dst, Accum::Replace, all, all_t, 1.0, par);
            self.gram = Some(gram);
        }
        self
    }
}

fn prepare(x: Matrix<'_>, tol: f64) -> Result<Prepared, MetricError> {
    let (n, d) = (x.n(), x.d());
    if n == 0 {
        return Err(MetricError::TooFewRows {
            what: "k-means",
            needed: 1,
            got: 0,
        });
    }
    if d == 0 {
        return Err(MetricError::InvalidParameter {
            name: "d",
            value: "0".into(),
            reason: "profiles need at least one feature".into(),
        });
    }
    for (row, values) in x.rows().enumerate() {
        if let Some(col) = values.iter().position(|v| !v.is_finite()) {
            return Err(MetricError::NonFinite { row, col });
        }
    }
    let mut data: Vec<f64> = x.data().iter().map(|&v| f64::from(v)).collect();
    let mut means = vec![0.0f64; d];
    for row in data.chunks_exact(d) {
        means.iter_mut().zip(row).for_each(|(m, v)| *m += v);
    }
    means.iter_mut().for_each(|m| *m /= n as f64);
    for row in data.chunks_exact_mut(d) {
        row.iter_mut().zip(&means).for_each(|(v, m)| *v -= m);
    }
    // Centered data: each column's variance is its mean square (numpy's var, ddof = 0).
    let mut var = vec![0.0f64; d];
    for row in data.chunks_exact(d) {
        var.iter_mut().zip(row).for_each(|(s, v)| *s += v * v);
    }
    let mean_var = var.iter().map(|s| s / n as f64).sum::<f64>() / d as f64;
    let sq_norms = data
        .chunks_exact(d)
        .map(|r| r.iter().map(|v| v * v).sum())
        .collect();
    Ok(Prepared {
        n,
        d,
        x: data,
        sq_norms,
        tol: mean_var * tol,
        gram: None,
    })
}

/// Runs `options.restarts` seeded k-means restarts on the rows of `x`.
///
/// Errors: invalid options ([`MetricError::InvalidParameter`]), no rows
/// ([`MetricError::TooFewRows`]), a NaN or infinite value ([`MetricError::NonFinite`]).
pub fn kmeans(x: Matrix<'_>, options: &KMeansOptions) -> Result<KMeansResult, MetricError> {
    let restarts = kmeans_range(x, options, 0..options.restarts)?;
    let best = best_restart(restarts.iter().map(|r| r.inertia));
    Ok(KMeansResult { restarts, best })
}

/// The restarts `range` (a part of `0..options.restarts`) of the run [`kmeans`] does, each the
/// same bits as there: the Gram-matrix choice is made for the whole run's `options`, and every
/// restart depends only on its own index. Sharded runs (`--shard i/n`) take a range each.
pub fn kmeans_range(
    x: Matrix<'_>,
    options: &KMeansOptions,
    range: std::ops::Range<usize>,
) -> Result<Vec<Restart>, MetricError> {
    options.validate(x.n())?;
    if range.end > options.restarts || range.start > range.end {
        return Err(MetricError::InvalidParameter {
            name: "restarts",
            value: format!("{}..{}", range.start, range.end),
            reason: format!("not a range of the {} restarts", options.restarts),
        });
    }
    let p = prepare(x, options.tol)?.with_gram(options);
    let threads = match options.threads {
        0 => std::thread::available_parallelism().map_or(1, usize::from),
        t => t,
    }
    .min(range.len().max(1));
    let next = AtomicUsize::new(range.start);
    let slots: Mutex<Vec<Option<Restart>>> = Mutex::new(vec![None; range.len()]);
    let work = || {
        loop {
            let r = next.fetch_add(1, Ordering::Relaxed);
            if r >= range.end {
                break;
            }
            let run = single(
                &p,
                options.k,
                options.max_iter,
                restart_seed(options.seed, r),
            );
            slots
                .lock()
                .expect("no worker panics while holding the lock")[r - range.start] = Some(run);
        }
    };
    if threads <= 1 {
        work();
    } else {
        std::thread::scope(|s| {
            for _ in 0..threads {
                s.spawn(work);
            }
        });
    }
    Ok(slots
        .into_inner()
        .expect("workers have finished")
        .into_iter()
        .map(|r| r.expect("every restart index was claimed"))
        .collect())
}

/// The index of the lowest inertia (the lowest index on ties): the best restart.
pub fn best_restart(inertias: impl IntoIterator<Item = f64>) -> usize {
    let mut best = (0, f64::INFINITY);
    for (r, inertia) in inertias.into_iter().enumerate() {
        if r == 0 || inertia < best.1 {
            best = (r, inertia);
        }
    }
    best.0
}

/// Reruns one restart from its generator key (the `seed` a [`Restart`] reports); with the
/// options of the original run it reproduces that restart exactly.
pub fn kmeans_restart(
    x: Matrix<'_>,
    options: &KMeansOptions,
    key: u64,
) -> Result<Restart, MetricError> {
    options.validate(x.n())?;
    let p = prepare(x, options.tol)?.with_gram(options);
    Ok(single(&p, options.k, options.max_iter, key))
}

/// A uniform `f64` in `[0, 1)` from the top 53 bits.
fn uniform(rng: &mut Xoshiro256StarStar) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// `out[t·n + i] = x_i · x_{rows[t]}` for every row `i` and listed row `t`: columns of the Gram
/// matrix when there is one, else one matrix product.
fn dots_with_rows(p: &Prepared, rows: &[usize], picked: &mut Vec<f64>, out: &mut [f64]) {
    let (n, d) = (p.n, p.d);
    if let Some(gram) = &p.gram {
        for (t, &r) in rows.iter().enumerate() {
            out[t * n..(t + 1) * n].copy_from_slice(&gram[r * n..(r + 1) * n]);
        }
        return;
    }
    picked.clear();
    for &r in rows {
        picked.extend_from_slice(&p.x[r * d..(r + 1) * d]);
    }
    let all = MatRef::from_row_major_slice(&p.x, n, d);
    let rhs = MatRef::from_column_major_slice(picked, d, rows.len());
    let dst = MatMut::from_column_major_slice_mut(&mut out[..n * rows.len()], n, rows.len());
    faer::linalg::matmul::matmul(dst, Accum::Replace, all, rhs, 1.0, Par::Seq);
}

/// Greedy k-means++: returns the `k × d` row-major initial centers.
fn init_plus_plus(p: &Prepared, k: usize, rng: &mut Xoshiro256StarStar) -> Vec<f64> {
    let (n, d) = (p.n, p.d);
    let trials = local_trials(k);
    let mut centers = Vec::with_capacity(k * d);
    let mut picked = Vec::with_capacity(trials * d);
    let mut dots = vec![0.0f64; n * trials];
    let first = rng.below(n as u64) as usize;
    centers.extend_from_slice(&p.x[first * d..(first + 1) * d]);
    dots_with_rows(p, &[first], &mut picked, &mut dots);
    let sq_dist =
        |i: usize, c: usize, dot: f64| (p.sq_norms[i] + p.sq_norms[c] - 2.0 * dot).max(0.0);
    let mut closest: Vec<f64> = (0..n).map(|i| sq_dist(i, first, dots[i])).collect();
    let mut potential: f64 = closest.iter().sum();
    let mut cumsum = vec![0.0f64; n];
    let mut candidate_dist = vec![0.0f64; n * trials];
    let mut candidates = vec![0usize; trials];
    for _ in 1..k {
        let mut acc = 0.0;
        for (c, v) in cumsum.iter_mut().zip(&closest) {
            acc += v;
            *c = acc;
        }
        for cand in candidates.iter_mut() {
            let target = uniform(rng) * potential;
            // The first row whose cumulative weight reaches the target (numpy searchsorted, left).
            *cand = cumsum.partition_point(|&c| c < target).min(n - 1);
        }
        dots_with_rows(p, &candidates, &mut picked, &mut dots);
        let mut best = (0usize, f64::INFINITY);
        for (t, &cand) in candidates.iter().enumerate() {
            let dist = &mut candidate_dist[t * n..(t + 1) * n];
            let mut pot = 0.0;
            for i in 0..n {
                let v = sq_dist(i, cand, dots[t * n + i]).min(closest[i]);
                dist[i] = v;
                pot += v;
            }
            if pot < best.1 {
                best = (t, pot);
            }
        }
        let (t, pot) = best;
        potential = pot;
        closest.copy_from_slice(&candidate_dist[t * n..(t + 1) * n]);
        let c = candidates[t];
        centers.extend_from_slice(&p.x[c * d..(c + 1) * d]);
    }
    centers
}

/// Rows per tile of [`assign`]: a tile (`ASSIGN_TILE × d` values) stays in the core's cache
/// between its distance product and its additions to the cluster sums.
const ASSIGN_TILE: usize = 128;

/// Assigns each row to its nearest center (first center on ties) and adds it to its cluster's
/// `sums` and `counts`; returns whether any label changed.
///
/// One pass over the rows in tiles: the product `centers · tileᵀ` reads the rows in place
/// (row-major `x` is a column-major `d × n` matrix), and the sums use each row while it is
/// still cached. Rows enter the sums in index order, as a separate pass would add them.
fn assign(
    p: &Prepared,
    centers: &[f64],
    k: usize,
    dots: &mut [f64],
    labels: &mut [u32],
    sums: &mut [f64],
    counts: &mut [usize],
) -> bool {
    let (n, d) = (p.n, p.d);
    let c_norms: Vec<f64> = centers
        .chunks_exact(d)
        .map(|c| c.iter().map(|v| v * v).sum())
        .collect();
    sums.iter_mut().for_each(|v| *v = 0.0);
    counts.iter_mut().for_each(|c| *c = 0);
    let lhs = MatRef::from_row_major_slice(centers, k, d);
    let mut changed = false;
    for start in (0..n).step_by(ASSIGN_TILE) {
        let m = ASSIGN_TILE.min(n - start);
        let tile = &p.x[start * d..(start + m) * d];
        let rhs = MatRef::from_column_major_slice(tile, d, m);
        let dst = MatMut::from_column_major_slice_mut(&mut dots[..k * m], k, m);
        faer::linalg::matmul::matmul(dst, Accum::Replace, lhs, rhs, 1.0, Par::Seq);
        for (t, (col, row)) in dots[..k * m]
            .chunks_exact(k)
            .zip(tile.chunks_exact(d))
            .enumerate()
        {
            // |x|² is the same for every center, so the argmin needs only |c|² − 2x·c.
            let mut best = 0usize;
            let mut best_val = c_norms[0] - 2.0 * col[0];
            for j in 1..k {
                let v = c_norms[j] - 2.0 * col[j];
                if v < best_val {
                    best_val = v;
                    best = j;
                }
            }
            let label = &mut labels[start + t];
            changed |= *label != best as u32;
            *label = best as u32;
            counts[best] += 1;
            sums[best * d..(best + 1) * d]
                .iter_mut()
                .zip(row)
                .for_each(|(s, v)| *s += v);
        }
    }
    changed
}

fn sq_dist_direct(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Moves centers to their clusters' means from the `sums` and `counts` of [`assign`]
/// (relocating empty clusters); returns the summed squared center shift.
fn update(
    p: &Prepared,
    centers: &mut [f64],
    k: usize,
    labels: &[u32],
    sums: &mut [f64],
    counts: &mut [usize],
) -> f64 {
    let d = p.d;
    let empty: Vec<usize> = (0..k).filter(|&j| counts[j] == 0).collect();
    if !empty.is_empty() {
        // The rows farthest from their (old) centers found the empty clusters, as scikit-learn.
        let mut far: Vec<(f64, usize)> = labels
            .iter()
            .enumerate()
            .map(|(i, &l)| {
                let l = l as usize;
                (
                    sq_dist_direct(&p.x[i * d..(i + 1) * d], &centers[l * d..(l + 1) * d]),
                    i,
                )
            })
            .collect();
        far.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        for (&j, &(_, i)) in empty.iter().zip(&far) {
            let old = labels[i] as usize;
            let row = &p.x[i * d..(i + 1) * d];
            sums[old * d..(old + 1) * d]
                .iter_mut()
                .zip(row)
                .for_each(|(s, v)| *s -= v);
            sums[j * d..(j + 1) * d].copy_from_slice(row);
            counts[old] -= 1;
            counts[j] = 1;
        }
    }
    let mut shift = 0.0;
    for j in 0..k {
        let new = &mut sums[j * d..(j + 1) * d];
        if counts[j] > 0 {
            let inv = counts[j] as f64;
            new.iter_mut().for_each(|v| *v /= inv);
        } else {
            // A relocation can take the only row of a cluster (as in scikit-learn): that
            // cluster keeps its previous center.
            new.copy_from_slice(&centers[j * d..(j + 1) * d]);
        }
        shift += sq_dist_direct(new, &centers[j * d..(j + 1) * d]);
    }
    centers.copy_from_slice(sums);
    shift
}

/// One restart: k-means++ then Lloyd iterations.
fn single(p: &Prepared, k: usize, max_iter: usize, key: u64) -> Restart {
    let mut rng = Xoshiro256StarStar::from_key(key);
    let mut centers = init_plus_plus(p, k, &mut rng);
    let (n, d) = (p.n, p.d);
    // u32::MAX marks "no label yet", so the first assignment always counts as a change.
    let mut labels = vec![u32::MAX; n];
    let mut dots = vec![0.0f64; k * ASSIGN_TILE.min(n)];
    let mut sums = vec![0.0f64; k * d];
    let mut counts = vec![0usize; k];
    let mut strict = false;
    let mut iterations = 0;
    for _ in 0..max_iter {
        iterations += 1;
        let changed = assign(
            p,
            &centers,
            k,
            &mut dots,
            &mut labels,
            &mut sums,
            &mut counts,
        );
        let shift = update(p, &mut centers, k, &labels, &mut sums, &mut counts);
        if !changed {
            strict = true;
            break;
        }
        if shift <= p.tol {
            break;
        }
    }
    if !strict {
        assign(
            p,
            &centers,
            k,
            &mut dots,
            &mut labels,
            &mut sums,
            &mut counts,
        );
    }
    let inertia = labels
        .iter()
        .enumerate()
        .map(|(i, &l)| {
            let l = l as usize;
            sq_dist_direct(&p.x[i * d..(i + 1) * d], &centers[l * d..(l + 1) * d])
        })
        .sum();
    Restart {
        seed: key,
        labels,
        inertia,
        iterations,
    }
}

/// Mean and population standard deviation (`ddof = 0`, numpy's `std` default) of some values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSd {
    /// Arithmetic mean.
    pub mean: f64,
    /// Population standard deviation (divides by the count, not count − 1).
    pub sd: f64,
}

impl MeanSd {
    /// Summarizes `values`; NaN for both when empty.
    pub fn of(values: &[f64]) -> MeanSd {
        if values.is_empty() {
            return MeanSd {
                mean: f64::NAN,
                sd: f64::NAN,
            };
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        MeanSd {
            mean,
            sd: var.sqrt(),
        }
    }
}

/// NMI, ARI and purity of every restart against `truth`, and their summaries.
#[derive(Debug, Clone, PartialEq)]
pub struct RestartScores {
    /// Scores of each restart, in restart order.
    pub per_restart: Vec<PartitionScores>,
    /// NMI over restarts.
    pub nmi: MeanSd,
    /// ARI over restarts.
    pub ari: MeanSd,
    /// Purity over restarts.
    pub purity: MeanSd,
}

/// Scores every restart of `result` separately against the ground-truth labels `truth`.
pub fn score_restarts(truth: &[u32], result: &KMeansResult) -> Result<RestartScores, MetricError> {
    let per_restart = result
        .restarts
        .iter()
        .map(|r| PartitionScores::new(truth, &r.labels))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RestartScores::of(per_restart))
}

impl RestartScores {
    /// Means and SDs of the scores of restarts `0..`, in that order (sharded runs gather the
    /// restarts of every part first, so the sums are the same as unsharded).
    pub fn of(per_restart: Vec<PartitionScores>) -> RestartScores {
        let pick = |f: fn(&PartitionScores) -> f64| {
            MeanSd::of(&per_restart.iter().map(f).collect::<Vec<_>>())
        };
        RestartScores {
            nmi: pick(|s| s.nmi),
            ari: pick(|s| s.ari),
            purity: pick(|s| s.purity),
            per_restart,
        }
    }
}

/// One point of a k sweep.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// Number of clusters.
    pub k: usize,
    /// NMI, ARI and purity over the restarts at this k.
    pub scores: RestartScores,
    /// Lowest inertia over the restarts at this k.
    pub best_inertia: f64,
}

/// Runs k-means for every `k` in `ks` (each with `options`' restarts and seed) and scores it.
pub fn k_sweep(
    x: Matrix<'_>,
    truth: &[u32],
    ks: &[usize],
    options: &KMeansOptions,
) -> Result<Vec<SweepPoint>, MetricError> {
    if truth.len() != x.n() {
        return Err(MetricError::ShapeMismatch {
            what: "label vector length (must equal rows)",
            expected: x.n(),
            got: truth.len(),
        });
    }
    for &k in ks {
        KMeansOptions {
            k,
            ..options.clone()
        }
        .validate(x.n())?;
    }
    ks.iter()
        .map(|&k| {
            let result = kmeans(
                x,
                &KMeansOptions {
                    k,
                    ..options.clone()
                },
            )?;
            Ok(SweepPoint {
                k,
                scores: score_restarts(truth, &result)?,
                best_inertia: result.best_inertia(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three tight, well-separated 2-D blobs of 10 rows each.
    fn blobs() -> (Vec<f32>, Vec<u32>) {
        let mut data = Vec::new();
        let mut truth = Vec::new();
        let mut rng = Xoshiro256StarStar::from_key(3);
        for (c, (cx, cy)) in [(0.0f32, 0.0f32), (10.0, 0.0), (0.0, 10.0)]
            .into_iter()
            .enumerate()
        {
            for _ in 0..10 {
                data.push(cx + uniform(&mut rng) as f32 - 0.5);
                data.push(cy + uniform(&mut rng) as f32 - 0.5);
                truth.push(c as u32);
            }
        }
        (data, truth)
    }

    #[test]
    fn separated_blobs_are_recovered_by_every_restart() {
        let (data, truth) = blobs();
        let x = Matrix::new(&data, 30, 2).unwrap();
        let opts = KMeansOptions {
            restarts: 10,
            ..KMeansOptions::new(3)
        };
        let res = kmeans(x, &opts).unwrap();
        let scores = score_restarts(&truth, &res).unwrap();
        assert_eq!(scores.nmi, MeanSd { mean: 1.0, sd: 0.0 });
        assert_eq!(scores.ari.mean, 1.0);
        // Inertia is the within-blob scatter, identical for every restart up to rounding.
        for r in &res.restarts {
            assert!((r.inertia - res.best_inertia()).abs() < 1e-9);
        }
        // Direct computation of the inertia from the labels.
        let lab = &res.restarts[0].labels;
        let mut want = 0.0;
        for c in 0..3u32 {
            let rows: Vec<usize> = (0..30).filter(|&i| lab[i] == c).collect();
            for dim in 0..2 {
                let m = rows
                    .iter()
                    .map(|&i| f64::from(data[i * 2 + dim]))
                    .sum::<f64>()
                    / rows.len() as f64;
                want += rows
                    .iter()
                    .map(|&i| (f64::from(data[i * 2 + dim]) - m).powi(2))
                    .sum::<f64>();
            }
        }
        assert!((res.restarts[0].inertia - want).abs() < 1e-9);
    }

    #[test]
    fn results_do_not_depend_on_threads_and_restarts_can_be_rerun() {
        let (data, _) = blobs();
        let x = Matrix::new(&data, 30, 2).unwrap();
        let base = KMeansOptions {
            restarts: 12,
            seed: 42,
            ..KMeansOptions::new(5)
        };
        let one = kmeans(
            x,
            &KMeansOptions {
                threads: 1,
                ..base.clone()
            },
        )
        .unwrap();
        let four = kmeans(
            x,
            &KMeansOptions {
                threads: 4,
                ..base.clone()
            },
        )
        .unwrap();
        assert_eq!(one, four);
        let r7 = &one.restarts[7];
        assert_eq!(r7.seed, restart_seed(42, 7));
        assert_eq!(&kmeans_restart(x, &base, r7.seed).unwrap(), r7);
        // Different restarts draw different initializations: not all labelings coincide.
        assert!(
            one.restarts
                .iter()
                .any(|r| r.labels != one.restarts[0].labels)
        );
    }

    #[test]
    fn gram_and_product_paths_agree() {
        // One restart on 30 rows computes candidate products; ten restarts use the Gram matrix.
        // Restart 0 has the same key in both runs.
        let (data, _) = blobs();
        let x = Matrix::new(&data, 30, 2).unwrap();
        let one = kmeans(
            x,
            &KMeansOptions {
                restarts: 1,
                ..KMeansOptions::new(3)
            },
        )
        .unwrap();
        let ten = kmeans(
            x,
            &KMeansOptions {
                restarts: 10,
                ..KMeansOptions::new(3)
            },
        )
        .unwrap();
        assert_eq!(one.restarts[0].labels, ten.restarts[0].labels);
        assert!((one.restarts[0].inertia - ten.restarts[0].inertia).abs() < 1e-9);
    }

    #[test]
    fn k_equal_to_n_puts_each_row_alone_and_k_one_is_total_scatter() {
        let data = [0.0f32, 1.0, 3.0, 7.0];
        let x = Matrix::new(&data, 4, 1).unwrap();
        let all = kmeans(
            x,
            &KMeansOptions {
                restarts: 3,
                ..KMeansOptions::new(4)
            },
        )
        .unwrap();
        assert_eq!(all.best_inertia(), 0.0);
        let one = kmeans(
            x,
            &KMeansOptions {
                restarts: 2,
                ..KMeansOptions::new(1)
            },
        )
        .unwrap();
        // Mean 2.75: 2.75² + 1.75² + 0.25² + 4.25².
        assert!((one.best_inertia() - 28.75).abs() < 1e-12);
    }

    #[test]
    fn duplicate_rows_leave_no_cluster_empty() {
        // Only two distinct points but k = 3: a cluster is emptied and must be refilled.
        let data = [0.0f32, 0.0, 0.0, 5.0, 5.0, 5.0];
        let x = Matrix::new(&data, 6, 1).unwrap();
        let res = kmeans(
            x,
            &KMeansOptions {
                restarts: 5,
                ..KMeansOptions::new(3)
            },
        )
        .unwrap();
        for r in &res.restarts {
            let mut used: Vec<u32> = r.labels.clone();
            used.sort_unstable();
            used.dedup();
            assert!(used.len() >= 2, "{r:?}");
            assert_eq!(r.inertia, 0.0);
        }
    }

    #[test]
    fn parameters_are_validated_before_work() {
        let data = [0.0f32, 1.0];
        let x = Matrix::new(&data, 2, 1).unwrap();
        let err = |o: KMeansOptions| kmeans(x, &o).unwrap_err();
        assert!(matches!(
            err(KMeansOptions::new(0)),
            MetricError::InvalidParameter { name: "k", .. }
        ));
        assert!(matches!(
            err(KMeansOptions::new(3)),
            MetricError::InvalidParameter { name: "k", .. }
        ));
        assert!(matches!(
            err(KMeansOptions {
                restarts: 0,
                ..KMeansOptions::new(1)
            }),
            MetricError::InvalidParameter {
                name: "restarts",
                ..
            }
        ));
        assert!(matches!(
            err(KMeansOptions {
                tol: f64::NAN,
                ..KMeansOptions::new(1)
            }),
            MetricError::InvalidParameter { name: "tol", .. }
        ));
        let bad = [0.0f32, f32::NAN];
        assert_eq!(
            kmeans(Matrix::new(&bad, 2, 1).unwrap(), &KMeansOptions::new(1)).unwrap_err(),
            MetricError::NonFinite { row: 1, col: 0 }
        );
    }

    #[test]
    fn mean_sd_is_the_population_sd() {
        let s = MeanSd::of(&[1.0, 2.0, 3.0, 4.0]);
        assert_eq!(s.mean, 2.5);
        assert!((s.sd - 1.25f64.sqrt()).abs() < 1e-15);
        assert!(MeanSd::of(&[]).mean.is_nan());
    }

    #[test]
    fn k_sweep_scores_each_k() {
        let (data, truth) = blobs();
        let x = Matrix::new(&data, 30, 2).unwrap();
        let opts = KMeansOptions {
            restarts: 4,
            ..KMeansOptions::new(1)
        };
        let sweep = k_sweep(x, &truth, &[2, 3, 4], &opts).unwrap();
        assert_eq!(sweep.iter().map(|p| p.k).collect::<Vec<_>>(), [2, 3, 4]);
        assert_eq!(sweep[1].scores.ari.mean, 1.0);
        assert!(sweep[0].scores.ari.mean < 1.0);
        // More clusters never fit worse at the best restart on this easy data.
        assert!(sweep[0].best_inertia > sweep[1].best_inertia);
        assert!(sweep[1].best_inertia >= sweep[2].best_inertia);
    }
}
