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
//! non-replicate pairs is found exactly by narrowing histogram passes over the stream
//! (`crate::order_stats`) when the pairs do not fit in [`COLLECT_LIMIT`] values, so memory
//! never grows with `n²`. Rows are grouped by [`GroupKeys`] (`crate::labels`).

use faer::Par;

use crate::blocks::for_each_block;
use crate::error::{MetricError, unpermute_error};
use crate::labels::GroupKeys;
use crate::matrix::Matrix;
use crate::order_stats::OrderStats;
use crate::parallel::par_chunks;
use crate::quantile::{lerp, linear_quantile_ranks};
use crate::rng::{SplitMix64, sample_distinct};
use crate::similarity::{PreparedRows, Similarity, blocks, prepare, similarity_block};

/// Most pair similarities held in memory at once by the exact quantile search (128 MiB).
pub const COLLECT_LIMIT: usize = 1 << 24;

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
    crate::params::quantile(q)
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
    crate::params::null_size(options.null_size as u64)?;
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
        .map_err(|e| unpermute_error(e, rows))?
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::LabelColumn;

    fn column(name: &str, v: &[Option<&str>]) -> LabelColumn {
        let v: Vec<Option<String>> = v.iter().map(|s| s.map(str::to_owned)).collect();
        LabelColumn::encode(name, &v)
    }

    use crate::test_data::uniform as data;

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
