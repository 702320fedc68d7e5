//! Percent replicating, in two named variants.
//!
//! # `pair` — cytominer-eval `replicate_reproducibility`
//!
//! All unordered pairs `i < j` (the upper triangle). A pair is a replicate pair when the two
//! rows agree on every replicate column, a missing value agreeing with a missing value
//! (cytominer-eval casts metadata to strings, so NaN becomes `"nan"` on both sides; its
//! published LINCS MoA value needs exactly this). The threshold is the quantile `q` (numpy
//! linear interpolation, reached like pandas' `Series.quantile`: `np.percentile(v, 100·q)`)
//! of the similarities of all non-replicate pairs; percent replicating is the share of
//! replicate pairs whose similarity is strictly above it. Published on the shipped LINCS
//! plate (Pearson): 0.4583 (q = 0.95) and 0.681 (q = 0.5) with replicate =
//! `Metadata_broad_sample, Metadata_mg_per_ml`; 0.3074 with replicate = `Metadata_moa`.
//!
//! # `group-median` — copairs `replicating` style, with a per-size permutation null
//!
//! Each group of at least two rows with equal replicate values gets the median (numpy's: the
//! mean of the two middle values for an even count) of its `C(s, 2)` pairwise similarities.
//! The null for group size `s` holds `null_size` medians of random groups of `s` rows drawn
//! from `s` *distinct* replicate values (a value chosen uniformly among all values, singletons
//! included, then one of its rows uniformly), i.e. groups of non-replicates of the same size.
//! A group is replicating when its median is strictly above the null's quantile `q` (numpy
//! linear); percent replicating is the share of groups that are.
//!
//! Where this differs from copairs 0.5 `correlation_test`: copairs draws one null of medians of
//! `min(median group size, 50)` random non-replicate *pairs* with numpy's RNG (and an order
//! that depends on its sampler); cpbench draws a null per group size from its own seeded
//! generator (SplitMix64 keyed by seed and size), so a group size's null does not depend on
//! which other sizes exist or on the order in which anything is computed. It does depend on the
//! seed, the replicate values (in byte order of their text) and the row order within a group.
//!
//! Pair similarities are streamed from blocked similarity products: the quantile of the
//! non-replicate pairs is found exactly by narrowing histogram passes over the stream when the
//! pairs do not fit in [`COLLECT_LIMIT`] values, so memory never grows with `n²`.

use std::collections::BTreeMap;

use faer::Par;

use crate::enrichment::{for_each_block, lerp, linear_quantile_ranks, par_chunks};
use crate::error::MetricError;
use crate::labels::LabelColumn;
use crate::matrix::Matrix;
use crate::similarity::{PreparedRows, Similarity, blocks, prepare, similarity_block};

/// Most pair similarities held in memory at once by the exact quantile search (128 MiB).
pub const COLLECT_LIMIT: usize = 1 << 24;

/// Rows grouped by their values in one or more metadata columns (missing is a value of its own).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupKeys {
    /// The columns, in the order given.
    pub columns: Vec<String>,
    /// Group index of each row.
    pub keys: Vec<u32>,
    /// Each group's value in each column (`None` = missing), groups in byte order of the text
    /// (missing first).
    pub values: Vec<Vec<Option<String>>>,
}

impl GroupKeys {
    /// Groups rows by their values in `columns`; errors when no column is given or lengths differ.
    pub fn new(columns: &[&LabelColumn]) -> Result<GroupKeys, MetricError> {
        let Some(first) = columns.first() else {
            return Err(MetricError::InvalidParameter {
                name: "columns",
                value: "[]".to_owned(),
                reason: "group by at least one column".to_owned(),
            });
        };
        let n = first.len();
        if let Some(c) = columns.iter().find(|c| c.len() != n) {
            return Err(MetricError::ShapeMismatch {
                what: "rows of a grouping column",
                expected: n,
                got: c.len(),
            });
        }
        // Codes follow the byte order of the text and None sorts first, so the map's order is
        // the groups' order.
        let mut index: BTreeMap<Vec<Option<u32>>, u32> = BTreeMap::new();
        let tuples: Vec<Vec<Option<u32>>> = (0..n)
            .map(|i| columns.iter().map(|c| c.codes[i]).collect())
            .collect();
        for t in &tuples {
            index.entry(t.clone()).or_insert(0);
        }
        for (g, slot) in index.values_mut().enumerate() {
            *slot = g as u32;
        }
        let values = index
            .keys()
            .map(|t| {
                t.iter()
                    .zip(columns)
                    .map(|(code, c)| code.map(|k| c.labels[k as usize].clone()))
                    .collect()
            })
            .collect();
        Ok(GroupKeys {
            columns: columns.iter().map(|c| c.name.clone()).collect(),
            keys: tuples.iter().map(|t| index[t]).collect(),
            values,
        })
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Number of groups.
    pub fn n_groups(&self) -> usize {
        self.values.len()
    }

    /// Rows of each group, in row order.
    pub fn members(&self) -> Vec<Vec<usize>> {
        let mut m = vec![Vec::new(); self.n_groups()];
        for (i, &k) in self.keys.iter().enumerate() {
            m[k as usize].push(i);
        }
        m
    }

    /// The group's values joined for messages, e.g. `BRD-K1, 0.3` (missing shown as `NA`).
    pub fn describe(&self, group: u32) -> String {
        self.values[group as usize]
            .iter()
            .map(|v| v.as_deref().unwrap_or("NA"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The pair-level (cytominer-eval) percent replicating.
#[derive(Debug, Clone, PartialEq)]
pub struct PairReplicating {
    /// Share of replicate pairs above the threshold.
    pub percent_replicating: f64,
    /// The quantile of the non-replicate similarities used as threshold.
    pub threshold: f64,
    /// Number of replicate pairs (upper triangle).
    pub n_replicate_pairs: u64,
    /// Number of non-replicate pairs (upper triangle).
    pub n_non_replicate_pairs: u64,
    /// Replicate pairs strictly above the threshold.
    pub n_above: u64,
}

/// `q` as pandas hands it to numpy: `Series.quantile(q)` calls `np.percentile(v, q·100)`,
/// which divides by 100 again (not always giving back `q` exactly).
fn pandas_quantile(q: f64) -> f64 {
    (q * 100.0) / 100.0
}

fn check_quantile(q: f64) -> Result<(), MetricError> {
    if (0.0..=1.0).contains(&q) {
        Ok(())
    } else {
        Err(MetricError::InvalidParameter {
            name: "quantile",
            value: q.to_string(),
            reason: "must be within [0, 1]".to_owned(),
        })
    }
}

/// Pair-level percent replicating (cytominer-eval; see the module docs).
///
/// Errors: shape mismatch, `quantile` outside `[0, 1]`, the similarity's input errors, no
/// replicate pair (every row's values unique) and no non-replicate pair (one group only).
pub fn percent_replicating_pairs(
    x: Matrix<'_>,
    groups: &GroupKeys,
    quantile: f64,
    similarity: Similarity,
) -> Result<PairReplicating, MetricError> {
    let n = x.n();
    if groups.len() != n {
        return Err(MetricError::ShapeMismatch {
            what: "group rows",
            expected: n,
            got: groups.len(),
        });
    }
    check_quantile(quantile)?;
    let prepared = prepare(x, similarity)?;
    let n_rep: u64 = groups
        .members()
        .iter()
        .map(|m| pairs_of(m.len() as u64))
        .sum();
    let n_non = pairs_of(n as u64) - n_rep;
    if n_rep == 0 {
        return Err(MetricError::InvalidParameter {
            name: "replicate columns",
            value: groups.columns.join(","),
            reason: "no two rows share their values, so there is no replicate pair".to_owned(),
        });
    }
    if n_non == 0 {
        return Err(MetricError::InvalidParameter {
            name: "replicate columns",
            value: groups.columns.join(","),
            reason: "every row has the same values, so there is no non-replicate pair".to_owned(),
        });
    }
    let (r0, r1, gamma) = linear_quantile_ranks(n_non, pandas_quantile(quantile));
    let mut stats = OrderStats::new(n_non, r0, r1, COLLECT_LIMIT);
    let mut replicate_sims: Option<Vec<f64>> =
        (n_rep <= COLLECT_LIMIT as u64).then(|| Vec::with_capacity(n_rep as usize));
    let keys = &groups.keys;
    let mut first = true;
    while stats.result().is_none() {
        stats.begin_pass();
        for_each_upper_pair(&prepared, |i, j, v| {
            if keys[i] != keys[j] {
                stats.push(v);
            } else if first && let Some(r) = replicate_sims.as_mut() {
                r.push(v);
            }
        })?;
        stats.end_pass();
        first = false;
    }
    let (a, b) = stats.result().expect("the loop ends with a result");
    let threshold = lerp(a, b, gamma);
    let n_above = match replicate_sims {
        Some(r) => r.iter().filter(|&&v| v > threshold).count() as u64,
        None => {
            let mut above = 0u64;
            for_each_upper_pair(&prepared, |i, j, v| {
                above += u64::from(keys[i] == keys[j] && v > threshold);
            })?;
            above
        }
    };
    Ok(PairReplicating {
        percent_replicating: n_above as f64 / n_rep as f64,
        threshold,
        n_replicate_pairs: n_rep,
        n_non_replicate_pairs: n_non,
        n_above,
    })
}

/// Parameters of [`percent_replicating_group_median`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupMedianOptions {
    /// Quantile of the null a group's median must exceed.
    pub quantile: f64,
    /// Similarity between profiles.
    pub similarity: Similarity,
    /// Random groups per group size in the null.
    pub null_size: usize,
    /// Seed of the null's generator.
    pub seed: u64,
    /// Threads; 0 uses the available parallelism.
    pub threads: usize,
}

impl Default for GroupMedianOptions {
    fn default() -> Self {
        GroupMedianOptions {
            quantile: 0.95,
            similarity: Similarity::Pearson,
            null_size: 1000,
            seed: 0,
            threads: 0,
        }
    }
}

/// One replicate group of the group-median variant.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMedian {
    /// The group (index into [`GroupKeys`]).
    pub group: u32,
    /// Number of rows.
    pub size: usize,
    /// Median similarity over the group's pairs.
    pub median: f64,
    /// The null threshold for this size.
    pub threshold: f64,
    /// Whether `median > threshold`.
    pub replicating: bool,
}

/// The null of one group size.
#[derive(Debug, Clone, PartialEq)]
pub struct SizeNull {
    /// Group size.
    pub size: usize,
    /// The null's quantile: the threshold for groups of this size.
    pub threshold: f64,
    /// The null's medians, in draw order.
    pub medians: Vec<f64>,
}

/// The group-median percent replicating.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupMedianReplicating {
    /// Share of groups (size ≥ 2) whose median exceeds their size's null threshold.
    pub percent_replicating: f64,
    /// Every group with at least two rows, in group order.
    pub groups: Vec<GroupMedian>,
    /// One null per distinct group size, by size.
    pub nulls: Vec<SizeNull>,
}

/// Group-median percent replicating with a per-size permutation null (see the module docs).
///
/// Errors: shape mismatch, `quantile` outside `[0, 1]`, `null_size = 0`, the similarity's input
/// errors, no group of two rows, and a group larger than the number of distinct replicate
/// values (no null group of that size can be drawn).
pub fn percent_replicating_group_median(
    x: Matrix<'_>,
    groups: &GroupKeys,
    options: &GroupMedianOptions,
) -> Result<GroupMedianReplicating, MetricError> {
    let n = x.n();
    if groups.len() != n {
        return Err(MetricError::ShapeMismatch {
            what: "group rows",
            expected: n,
            got: groups.len(),
        });
    }
    check_quantile(options.quantile)?;
    if options.null_size == 0 {
        return Err(MetricError::InvalidParameter {
            name: "null_size",
            value: "0".to_owned(),
            reason: "the null needs at least one random group".to_owned(),
        });
    }
    // Validate every row once, naming the row in the caller's order.
    drop(prepare(x, options.similarity)?);
    let members = groups.members();
    let replicate_groups: Vec<u32> = (0..groups.n_groups() as u32)
        .filter(|&g| members[g as usize].len() >= 2)
        .collect();
    if replicate_groups.is_empty() {
        return Err(MetricError::InvalidParameter {
            name: "replicate columns",
            value: groups.columns.join(","),
            reason: "no two rows share their values, so there is no replicate group".to_owned(),
        });
    }
    let n_values = groups.n_groups();
    if let Some(&g) = replicate_groups
        .iter()
        .find(|&&g| members[g as usize].len() > n_values)
    {
        return Err(MetricError::InvalidParameter {
            name: "replicate columns",
            value: groups.columns.join(","),
            reason: format!(
                "group '{}' has {} rows but there are only {n_values} distinct replicate values, \
                 so no null group of that size can be drawn (filter that group out)",
                groups.describe(g),
                members[g as usize].len()
            ),
        });
    }

    let mut scored = vec![(f64::NAN, None::<MetricError>); replicate_groups.len()];
    par_chunks(&mut scored, options.threads, |offset, chunk| {
        for (k, slot) in chunk.iter_mut().enumerate() {
            let rows = &members[replicate_groups[offset + k] as usize];
            match median_of_pairs(x, rows, options.similarity) {
                Ok(v) => slot.0 = v,
                Err(e) => slot.1 = Some(e),
            }
        }
    });
    if let Some(e) = scored.iter_mut().find_map(|s| s.1.take()) {
        return Err(e);
    }
    let medians: Vec<f64> = scored.into_iter().map(|s| s.0).collect();

    let q = pandas_quantile(options.quantile);
    let mut sizes: Vec<usize> = replicate_groups
        .iter()
        .map(|&g| members[g as usize].len())
        .collect();
    sizes.sort_unstable();
    sizes.dedup();
    let mut nulls = Vec::with_capacity(sizes.len());
    for &size in &sizes {
        let mut rng = SplitMix64::new(options.seed ^ SplitMix64::new(size as u64).next_u64());
        // Draw every random group first (sequential generator), then score them in parallel.
        let draws: Vec<Vec<usize>> = (0..options.null_size)
            .map(|_| {
                let mut values = sample_distinct(n_values, size, &mut rng);
                values.sort_unstable();
                values
                    .iter()
                    .map(|&v| {
                        let m = &members[v];
                        m[rng.below(m.len() as u64) as usize]
                    })
                    .collect()
            })
            .collect();
        let mut null = vec![(f64::NAN, None::<MetricError>); draws.len()];
        par_chunks(&mut null, options.threads, |offset, chunk| {
            for (k, slot) in chunk.iter_mut().enumerate() {
                match median_of_pairs(x, &draws[offset + k], options.similarity) {
                    Ok(v) => slot.0 = v,
                    Err(e) => slot.1 = Some(e),
                }
            }
        });
        if let Some(e) = null.iter_mut().find_map(|s| s.1.take()) {
            return Err(e);
        }
        let null_medians: Vec<f64> = null.into_iter().map(|s| s.0).collect();
        let mut sorted = null_medians.clone();
        sorted.sort_unstable_by(f64::total_cmp);
        let (lo, hi, gamma) = linear_quantile_ranks(sorted.len() as u64, q);
        nulls.push(SizeNull {
            size,
            threshold: lerp(sorted[lo as usize], sorted[hi as usize], gamma),
            medians: null_medians,
        });
    }

    let groups_out: Vec<GroupMedian> = replicate_groups
        .iter()
        .zip(&medians)
        .map(|(&g, &median)| {
            let size = members[g as usize].len();
            let threshold = nulls
                .iter()
                .find(|s| s.size == size)
                .map_or(f64::NAN, |s| s.threshold);
            GroupMedian {
                group: g,
                size,
                median,
                threshold,
                replicating: median > threshold,
            }
        })
        .collect();
    let n_replicating = groups_out.iter().filter(|g| g.replicating).count();
    Ok(GroupMedianReplicating {
        percent_replicating: n_replicating as f64 / groups_out.len() as f64,
        groups: groups_out,
        nulls,
    })
}

/// Number of unordered pairs of `m` items.
fn pairs_of(m: u64) -> u64 {
    m * m.saturating_sub(1) / 2
}

/// Calls `f(i, j, sim)` for every pair `i < j`, one query block at a time.
fn for_each_upper_pair(
    prepared: &PreparedRows,
    mut f: impl FnMut(usize, usize, f64),
) -> Result<(), MetricError> {
    let n = prepared.n();
    for_each_block(prepared, 0, |range, sims| {
        for (local, i) in range.enumerate() {
            let row = &sims[local * n..(local + 1) * n];
            for (j, &v) in row.iter().enumerate().skip(i + 1) {
                f(i, j, v);
            }
        }
    })
}

/// numpy's median of the similarities of all pairs among `rows` (at least two rows).
fn median_of_pairs(
    x: Matrix<'_>,
    rows: &[usize],
    similarity: Similarity,
) -> Result<f64, MetricError> {
    let (s, d) = (rows.len(), x.d());
    let mut data = Vec::with_capacity(s * d);
    for &r in rows {
        data.extend_from_slice(x.row(r));
    }
    // Small products: faer's thread pool would cost more than it saves.
    let prepared = prepare(Matrix::new(&data, s, d)?, similarity)
        .map_err(|e| crate::ranking::unpermute_error(e, rows))?
        .with_parallelism(Par::Seq);
    let m = pairs_of(s as u64);
    let (r0, r1) = ((m - 1) / 2, m / 2);
    let mut stats = OrderStats::new(m, r0, r1, COLLECT_LIMIT);
    let block = (COLLECT_LIMIT / s).clamp(1, s);
    let mut buf = vec![0.0; block * s];
    while stats.result().is_none() {
        stats.begin_pass();
        for range in blocks(s, block)? {
            let len = range.len() * s;
            similarity_block(&prepared, range.clone(), &mut buf[..len])?;
            for (local, i) in range.enumerate() {
                buf[local * s + i + 1..(local + 1) * s]
                    .iter()
                    .for_each(|&v| stats.push(v));
            }
        }
        stats.end_pass();
    }
    let (a, b) = stats.result().expect("the loop ends with a result");
    // np.median averages the two middle values: (a + b) / 2.
    Ok(if r0 == r1 { a } else { (a + b) / 2.0 })
}

/// Maps `f64` to `u64` preserving the total order (`f64::total_cmp`).
fn order_key(v: f64) -> u64 {
    let b = v.to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// Inverse of [`order_key`].
fn from_order_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Buckets per histogram pass of [`OrderStats`].
const BUCKETS: u64 = 1 << 16;

/// Exact order statistics (the values at two adjacent ranks) of a value stream that can be
/// replayed but not stored: each pass either histograms the current key range into
/// [`BUCKETS`] buckets and narrows it to the bucket holding the ranks, or, once the range holds
/// few enough values, collects and sorts them.
#[derive(Debug)]
struct OrderStats {
    ranks: (u64, u64),
    /// Inclusive range of order keys still in play.
    lo: u64,
    hi: u64,
    /// Values below `lo` (all passes see the same stream).
    below: u64,
    /// Values within `lo..=hi`.
    in_range: u64,
    limit: usize,
    pass: Pass,
    result: Option<(f64, f64)>,
}

#[derive(Debug)]
enum Pass {
    Idle,
    Histogram(Vec<u64>),
    Collect(Vec<f64>),
    /// The two ranks sit in different buckets: the first is its bucket's largest value and the
    /// second the next bucket's smallest.
    Extremes {
        first: (u64, u64),
        second: (u64, u64),
        max_first: u64,
        min_second: u64,
    },
}

impl OrderStats {
    /// Order statistics at 0-based ascending ranks `r0` and `r1 ∈ {r0, r0 + 1}` of `total` values.
    fn new(total: u64, r0: u64, r1: u64, limit: usize) -> OrderStats {
        debug_assert!(r0 <= r1 && r1 <= r0 + 1 && r1 < total);
        OrderStats {
            ranks: (r0, r1),
            lo: 0,
            hi: u64::MAX,
            below: 0,
            in_range: total,
            limit,
            pass: Pass::Idle,
            result: None,
        }
    }

    fn result(&self) -> Option<(f64, f64)> {
        self.result
    }

    /// Width of the key range as `u128` (the full range has 2^64 keys).
    fn width(&self) -> u128 {
        u128::from(self.hi - self.lo) + 1
    }

    fn bucket(&self, key: u64) -> usize {
        (u128::from(key - self.lo) * u128::from(BUCKETS) / self.width()) as usize
    }

    /// First key of bucket `b` (`b = BUCKETS` gives one past the range).
    fn bucket_start(&self, b: u64) -> u128 {
        let w = self.width();
        u128::from(self.lo) + (u128::from(b) * w).div_ceil(u128::from(BUCKETS))
    }

    fn begin_pass(&mut self) {
        if matches!(self.pass, Pass::Extremes { .. }) {
            return;
        }
        self.pass = if self.in_range <= self.limit as u64 {
            Pass::Collect(Vec::with_capacity(self.in_range as usize))
        } else {
            Pass::Histogram(vec![0; BUCKETS as usize])
        };
    }

    fn push(&mut self, v: f64) {
        let key = order_key(v);
        let in_range = (self.lo..=self.hi).contains(&key);
        let bucket =
            (in_range && matches!(self.pass, Pass::Histogram(_))).then(|| self.bucket(key));
        match &mut self.pass {
            Pass::Extremes {
                first,
                second,
                max_first,
                min_second,
            } => {
                if (first.0..=first.1).contains(&key) {
                    *max_first = (*max_first).max(key);
                } else if (second.0..=second.1).contains(&key) {
                    *min_second = (*min_second).min(key);
                }
            }
            Pass::Collect(values) if in_range => values.push(v),
            Pass::Histogram(counts) => {
                if let Some(b) = bucket {
                    counts[b] += 1;
                }
            }
            Pass::Collect(_) | Pass::Idle => {}
        }
    }

    fn end_pass(&mut self) {
        let (t0, t1) = (self.ranks.0 - self.below, self.ranks.1 - self.below);
        match std::mem::replace(&mut self.pass, Pass::Idle) {
            Pass::Idle => {}
            Pass::Extremes {
                max_first,
                min_second,
                ..
            } => {
                self.result = Some((from_order_key(max_first), from_order_key(min_second)));
            }
            Pass::Collect(mut values) => {
                // Selection, not a sort: t1 is t0 or the smallest value right of it.
                let (_, &mut a, right) = values.select_nth_unstable_by(t0 as usize, f64::total_cmp);
                let b = if t1 == t0 {
                    a
                } else {
                    right.iter().copied().min_by(f64::total_cmp).unwrap_or(a)
                };
                self.result = Some((a, b));
            }
            Pass::Histogram(counts) => {
                let find = |t: u64| {
                    let mut cum = 0u64;
                    for (b, &c) in counts.iter().enumerate() {
                        if cum + c > t {
                            return (b as u64, cum);
                        }
                        cum += c;
                    }
                    unreachable!("rank {t} beyond the {cum} values counted in range")
                };
                let ((b0, before0), (b1, _)) = (find(t0), find(t1));
                let range_of = |b: u64| {
                    let start = self.bucket_start(b) as u64;
                    let end = (self.bucket_start(b + 1) - 1) as u64;
                    (start, end)
                };
                let (first, second) = (range_of(b0), range_of(b1));
                if first.0 == first.1 && second.0 == second.1 {
                    // Single-key buckets: the values are known.
                    self.result = Some((from_order_key(first.0), from_order_key(second.0)));
                } else if b0 != b1 {
                    self.pass = Pass::Extremes {
                        first,
                        second,
                        max_first: first.0,
                        min_second: second.1,
                    };
                } else {
                    self.below += before0;
                    self.in_range = counts[b0 as usize];
                    (self.lo, self.hi) = first;
                }
            }
        }
    }
}

/// SplitMix64 (Steele, Lea & Flood): a small, well-mixed seeded generator.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..m` (`m ≥ 1`), without modulo bias (Lemire's multiply-and-reject).
    fn below(&mut self, m: u64) -> u64 {
        let threshold = m.wrapping_neg() % m;
        loop {
            let prod = u128::from(self.next_u64()) * u128::from(m);
            if (prod as u64) >= threshold {
                return (prod >> 64) as u64;
            }
        }
    }
}

/// `k` distinct values of `0..n`, uniformly (Floyd's algorithm).
fn sample_distinct(n: usize, k: usize, rng: &mut SplitMix64) -> Vec<usize> {
    let mut chosen: Vec<usize> = Vec::with_capacity(k);
    let mut seen = std::collections::HashSet::with_capacity(k);
    for j in n - k..n {
        let t = rng.below(j as u64 + 1) as usize;
        let pick = if seen.contains(&t) { j } else { t };
        seen.insert(pick);
        chosen.push(pick);
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, v: &[Option<&str>]) -> LabelColumn {
        let v: Vec<Option<String>> = v.iter().map(|s| s.map(str::to_owned)).collect();
        LabelColumn::encode(name, &v)
    }

    use crate::test_data::uniform as data;

    #[test]
    fn group_keys_treat_missing_as_a_value() {
        let a = column("a", &[Some("x"), None, Some("x"), None, Some("y")]);
        let b = column("b", &[Some("1"), Some("1"), Some("1"), Some("1"), None]);
        let g = GroupKeys::new(&[&a, &b]).unwrap();
        // Groups: (NA,1), (x,1), (y,NA) in byte order, missing first.
        assert_eq!(g.keys, [1, 0, 1, 0, 2]);
        assert_eq!(g.describe(0), "NA, 1");
        assert_eq!(g.describe(2), "y, NA");
        assert_eq!(g.members(), vec![vec![1, 3], vec![0, 2], vec![4]]);
        assert!(GroupKeys::new(&[]).is_err());
        let short = column("c", &[Some("x")]);
        assert!(GroupKeys::new(&[&a, &short]).is_err());
    }

    #[test]
    fn order_keys_preserve_order() {
        let v = [
            f64::NEG_INFINITY,
            -3.5,
            -1e-300,
            -0.0,
            0.0,
            1e-300,
            0.25,
            7.0,
            f64::INFINITY,
        ];
        for w in v.windows(2) {
            assert!(order_key(w[0]) < order_key(w[1]), "{w:?}");
        }
        for x in v {
            assert_eq!(from_order_key(order_key(x)).to_bits(), x.to_bits());
        }
    }

    /// Streams `values` through OrderStats with a tiny collect limit, to exercise narrowing.
    fn streamed(values: &[f64], r0: u64, r1: u64, limit: usize) -> ((f64, f64), usize) {
        let mut s = OrderStats::new(values.len() as u64, r0, r1, limit);
        let mut passes = 0;
        while s.result().is_none() {
            s.begin_pass();
            values.iter().for_each(|&v| s.push(v));
            s.end_pass();
            passes += 1;
            assert!(passes < 40, "no progress");
        }
        (s.result().unwrap(), passes)
    }

    #[test]
    fn streamed_order_statistics_are_exact() {
        let mut x = 0x1234_5678_9ABC_DEF0u64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for trial in 0..200 {
            let n = 1 + (next() % 3000) as usize;
            let coarse = trial % 3 == 0;
            let values: Vec<f64> = (0..n)
                .map(|_| {
                    let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
                    if coarse {
                        (u * 5.0).floor() / 5.0 - 0.4
                    } else {
                        u * 2.0 - 1.0
                    }
                })
                .collect();
            let mut sorted = values.clone();
            sorted.sort_by(f64::total_cmp);
            let r0 = next() % n as u64;
            let r1 = (r0 + 1).min(n as u64 - 1);
            for limit in [1, 7, 100, 1 << 20] {
                let ((a, b), _) = streamed(&values, r0, r1, limit);
                assert_eq!(
                    (a, b),
                    (sorted[r0 as usize], sorted[r1 as usize]),
                    "trial {trial} limit {limit}"
                );
            }
        }
        // All-equal values with a limit of 1 still terminate.
        let ((a, b), passes) = streamed(&[0.5; 1000], 10, 11, 1);
        assert_eq!((a, b, passes < 10), (0.5, 0.5, true));
    }

    /// Pair-level percent replicating from the full matrix, straight from the definition.
    fn naive_pairs(x: &[f32], n: usize, d: usize, g: &GroupKeys, q: f64) -> (f64, f64) {
        let p = prepare(Matrix::new(x, n, d).unwrap(), Similarity::Pearson).unwrap();
        let mut s = vec![0.0; n * n];
        similarity_block(&p, 0..n, &mut s).unwrap();
        let (mut rep, mut non) = (vec![], vec![]);
        for i in 0..n {
            for j in i + 1..n {
                if g.keys[i] == g.keys[j] {
                    rep.push(s[i * n + j])
                } else {
                    non.push(s[i * n + j])
                }
            }
        }
        non.sort_by(f64::total_cmp);
        let (lo, hi, gm) = linear_quantile_ranks(non.len() as u64, pandas_quantile(q));
        let t = lerp(non[lo as usize], non[hi as usize], gm);
        (
            rep.iter().filter(|&&v| v > t).count() as f64 / rep.len() as f64,
            t,
        )
    }

    #[test]
    fn pair_level_matches_naive() {
        let (n, d) = (60, 7);
        let x = data(n, d, 9);
        let names: Vec<Option<&str>> = (0..n)
            .map(|i| {
                if i % 13 == 0 {
                    None
                } else {
                    Some(["a", "b", "c", "d", "e", "f", "g", "h"][i % 8])
                }
            })
            .collect();
        let g = GroupKeys::new(&[&column("r", &names)]).unwrap();
        for q in [0.0, 0.013, 0.5, 0.95, 1.0] {
            let r = percent_replicating_pairs(
                Matrix::new(&x, n, d).unwrap(),
                &g,
                q,
                Similarity::Pearson,
            )
            .unwrap();
            let (want, t) = naive_pairs(&x, n, d, &g, q);
            assert_eq!((r.percent_replicating, r.threshold), (want, t), "q {q}");
            assert_eq!(
                r.n_replicate_pairs + r.n_non_replicate_pairs,
                (n * (n - 1) / 2) as u64
            );
        }
        // q = 0.013 is not exactly recovered by pandas' round trip through percent.
        assert_ne!(pandas_quantile(0.013), 0.013);
    }

    #[test]
    fn pair_level_errors() {
        let x = data(4, 3, 1);
        let m = Matrix::new(&x, 4, 3).unwrap();
        let unique =
            GroupKeys::new(&[&column("r", &[Some("a"), Some("b"), Some("c"), Some("d")])]).unwrap();
        let err = percent_replicating_pairs(m, &unique, 0.95, Similarity::Pearson).unwrap_err();
        assert!(err.to_string().contains("no replicate pair"), "{err}");
        let one = GroupKeys::new(&[&column("r", &[Some("a"); 4])]).unwrap();
        let err = percent_replicating_pairs(m, &one, 0.95, Similarity::Pearson).unwrap_err();
        assert!(err.to_string().contains("no non-replicate pair"), "{err}");
        let two =
            GroupKeys::new(&[&column("r", &[Some("a"), Some("a"), Some("b"), Some("b")])]).unwrap();
        assert!(percent_replicating_pairs(m, &two, 1.5, Similarity::Pearson).is_err());
    }

    #[test]
    fn splitmix_below_is_in_range_and_sampling_distinct() {
        let mut r = SplitMix64::new(3);
        for m in [1u64, 2, 3, 10, 1 << 40] {
            for _ in 0..1000 {
                assert!(r.below(m) < m);
            }
        }
        for (n, k) in [(5, 5), (10, 3), (100, 50)] {
            let mut s = sample_distinct(n, k, &mut r);
            s.sort_unstable();
            s.dedup();
            assert_eq!(s.len(), k);
            assert!(s.iter().all(|&v| v < n));
        }
        // Every value of 0..4 appears in 2-subsets roughly equally often.
        let mut counts = [0usize; 4];
        for _ in 0..40_000 {
            for v in sample_distinct(4, 2, &mut r) {
                counts[v] += 1;
            }
        }
        assert!(
            counts.iter().all(|&c| (19_000..21_000).contains(&c)),
            "{counts:?}"
        );
    }

    #[test]
    fn group_median_is_seeded_and_thread_independent() {
        let (n, d) = (48, 5);
        let mut x = data(n, d, 5);
        // Make groups 0..4 (rows 0..16) replicate well: rows of a group share a base profile.
        for i in 0..16 {
            for k in 0..d {
                x[i * d + k] = x[(i % 4) * d + k] + 0.01 * x[i * d + k];
            }
        }
        let names: Vec<Option<String>> = (0..n)
            .map(|i| {
                Some(if i < 16 {
                    format!("g{}", i % 4)
                } else {
                    format!("s{}", i % 20)
                })
            })
            .collect();
        let g = GroupKeys::new(&[&LabelColumn::encode("r", &names)]).unwrap();
        let m = Matrix::new(&x, n, d).unwrap();
        let base = GroupMedianOptions {
            null_size: 200,
            seed: 7,
            ..GroupMedianOptions::default()
        };
        let a = percent_replicating_group_median(m, &g, &GroupMedianOptions { threads: 1, ..base })
            .unwrap();
        let b = percent_replicating_group_median(m, &g, &GroupMedianOptions { threads: 3, ..base })
            .unwrap();
        assert_eq!(a, b);
        // The four tight groups replicate.
        let tight: Vec<_> = a
            .groups
            .iter()
            .filter(|r| g.describe(r.group).starts_with('g'))
            .collect();
        assert_eq!(tight.len(), 4);
        assert!(
            tight.iter().all(|r| r.replicating && r.size == 4),
            "{tight:?}"
        );
        let c = percent_replicating_group_median(m, &g, &GroupMedianOptions { seed: 8, ..base })
            .unwrap();
        assert_ne!(a.nulls, c.nulls);
        // Group medians by brute force.
        let p = prepare(m, Similarity::Pearson).unwrap();
        let mut s = vec![0.0; n * n];
        similarity_block(&p, 0..n, &mut s).unwrap();
        for r in &a.groups {
            let rows = &g.members()[r.group as usize];
            let mut v: Vec<f64> = vec![];
            for (k, &i) in rows.iter().enumerate() {
                for &j in &rows[k + 1..] {
                    v.push(s[i * n + j]);
                }
            }
            v.sort_by(f64::total_cmp);
            let want = if v.len() % 2 == 1 {
                v[v.len() / 2]
            } else {
                (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
            };
            assert!((r.median - want).abs() < 1e-12, "{} vs {want}", r.median);
        }
        // A group larger than the number of distinct values cannot have a null.
        let big: Vec<Option<&str>> = (0..n)
            .map(|i| Some(if i < 40 { "x" } else { "y" }))
            .collect();
        let g = GroupKeys::new(&[&column("r", &big)]).unwrap();
        let err = percent_replicating_group_median(m, &g, &base).unwrap_err();
        assert!(err.to_string().contains("group 'x' has 40 rows"), "{err}");
    }
}
