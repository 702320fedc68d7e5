//! Average precision per query profile, exactly as copairs 0.5.5 computes it.
//!
//! For each query row, the rank list holds its positive and its negative pairs (the
//! [`rules`](super::rules) decide which), ordered by the key `f32(1 − f32(sim))` ascending:
//! the similarity is computed in `f64`, stored as `f32` and subtracted from 1 in `f32` — two
//! roundings, as in copairs (SEMANTICS.md §13). Ties put positives first and NaN keys last. With
//! `M` positives,
//!
//! `AP = (1/M) · Σ_{r=1..M} r / (r + #negatives ranked strictly before the r-th positive)`;
//!
//! no positive gives NaN, no negative gives 1. A pair that satisfies both rules counts as a
//! positive *and* as a negative (§8), so `n_total_pairs = M + #negatives` counts it twice.
//!
//! Multilabel (a [`PairColumn::Multi`] in `pos_sameby`): one rank list per (row, label ℓ) with
//! at least one ℓ-positive; it holds those positives and all of the row's negatives. Rows with
//! no positive for any label are absent from the output (§19).
//!
//! # How it avoids the `n × n` matrix
//!
//! Queries are processed in blocks of [`QUERY_BLOCK`] rows, clustered by their most selective
//! `pos_sameby` label so that a block's positives mostly lie inside the block. For each query,
//! the positive and negative candidates come from group indexes (the query's own group of a
//! `sameby` column, or the other groups of a `diffby` column); only queries with at least one
//! positive need similarities.
//! When the union of a block's candidates is clearly smaller than `n` (scoring against
//! controls: the controls plus the block's replicates), chunks of the block's queries are
//! multiplied against the gathered union of their own candidates only; otherwise the block is
//! multiplied against all rows. Memory is `O(QUERY_BLOCK · n)` per worker thread.
//!
//! Negatives before each positive are counted with one binary search per negative in the
//! query's sorted positive keys, `O(L log M)` instead of sorting the whole list.
//!
//! # Where cpbench deliberately differs from copairs
//!
//! - A zero-norm row (cosine, abs-cosine) or a constant row (Pearson) is an input error naming
//!   the row; copairs gives NaN similarities and ranks them last (fixtures `synth_zero_*`).
//! - Features are `f32` (DESIGN.md §2) where copairs' tutorial uses `float64`: rank keys can
//!   differ by one `f32` ulp, which reorders only a positive and a negative whose similarities
//!   differ by less than about 1e-7 (the fixtures flag such rows `has_near_tie`).
//! - Multilabel: copairs looks up a query's negatives with a `searchsorted` that, for a query
//!   with positives but no negative at all, picks up another row's negatives (or fails).
//!   cpbench gives such a query an empty negative list, hence AP = 1.
//!
//! [`CompiledRules::candidates`]: super::rules

use std::sync::atomic::{AtomicUsize, Ordering};

use faer::Par;

use crate::error::MetricError;
use crate::matrix::Matrix;
use crate::retrieval::rules::{CompiledRules, PairColumn, PairRules, RuleError};
use crate::similarity::{PreparedRows, Similarity, prepare, similarity_gathered};

/// Queries per block. Fixed, so that results never depend on memory or thread count: the
/// `f64` similarities of a product can differ in the last bit between block shapes.
pub const QUERY_BLOCK: usize = 256;

/// Queries per product when a block needs clearly fewer than `n` target rows. Smaller
/// products waste less on pairs among the queries themselves, at the price of gathering the
/// targets once per chunk (measured: 64 is ~20% faster than 256 when scoring against 384
/// controls; the dense all-vs-all case keeps whole blocks, where re-packing all rows per
/// product would dominate).
const SPARSE_CHUNK: usize = 64;

/// How the computation runs; results do not depend on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApOptions {
    /// Worker threads over query blocks; 0 means the machine's available parallelism.
    pub threads: usize,
}

/// One part of a computation split into `count` parts (`index` in `1..=count`, as
/// `--shard index/count` writes it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    /// Which part, 1-based.
    pub index: usize,
    /// How many parts.
    pub count: usize,
}

impl Shard {
    /// The most parts a computation may be split into.
    pub const MAX_COUNT: usize = 100_000;

    /// Parses `i/n` with `1 ≤ i ≤ n ≤` [`Shard::MAX_COUNT`].
    pub fn parse(text: &str) -> Result<Shard, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("`{text}`: expected i/n, e.g. 2/7"))?;
        let num = |v: &str| {
            v.trim()
                .parse::<usize>()
                .map_err(|_| format!("`{text}`: `{v}` is not a whole number"))
        };
        let shard = Shard {
            index: num(i)?,
            count: num(n)?,
        };
        if shard.count == 0 || shard.index == 0 || shard.index > shard.count {
            return Err(format!("`{text}`: i must be between 1 and n"));
        }
        if shard.count > Shard::MAX_COUNT {
            return Err(format!("`{text}`: at most {} parts", Shard::MAX_COUNT));
        }
        Ok(shard)
    }

    /// The items of `0..len` this shard takes: a contiguous range, the ranges of shards
    /// `1..=count` covering `0..len` in order, sizes differing by at most one.
    pub fn range(&self, len: usize) -> std::ops::Range<usize> {
        // In u128: k · len cannot overflow; a part outside 1..=count takes nothing.
        let count = self.count.max(1) as u128;
        let at = |k: usize| ((k as u128).min(count) * len as u128 / count) as usize;
        at(self.index.max(1) - 1)..at(self.index.max(1))
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// What one shard of [`average_precision_shard`] computed: its queries' rows of the
/// [`ApTable`] and the pairs they saw, which [`merge_ap_shards`] adds up.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApShard {
    /// The shard's queries, in output order.
    pub table: ApTable,
    /// Positive pairs seen from the shard's queries.
    pub n_pos: u64,
    /// Negative pairs seen from the shard's queries.
    pub n_neg: u64,
}

/// Average precision per query, in output order: input row order, then (multilabel) label
/// code order, which is byte order of the label text.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ApTable {
    /// 0-based input row of each output row.
    pub row: Vec<usize>,
    /// Multilabel mode only: the label code (into the multilabel column's `labels`) of each row.
    pub label: Option<Vec<u32>>,
    /// Average precision; NaN when the query has no positive pair.
    pub average_precision: Vec<f64>,
    /// Number of positive pairs `M` of the query.
    pub n_pos_pairs: Vec<usize>,
    /// Length of the rank list: `M` + number of negative pairs.
    pub n_total_pairs: Vec<usize>,
}

impl ApTable {
    /// Number of output rows.
    pub fn len(&self) -> usize {
        self.row.len()
    }

    /// Whether there are no output rows.
    pub fn is_empty(&self) -> bool {
        self.row.is_empty()
    }
}

/// Why average precision could not be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ApError {
    /// The pair rules do not fit the label columns.
    #[error(transparent)]
    Rules(#[from] RuleError),
    /// The features are unusable for the similarity (zero-norm row, non-finite value, ...).
    #[error(transparent)]
    Features(#[from] MetricError),
    /// No two rows form a positive pair (copairs raises `UnpairedException`).
    #[error("no positive pairs: no two rows satisfy pos_sameby/pos_diffby")]
    NoPositivePairs,
    /// No two rows form a negative pair (copairs raises `UnpairedException`).
    #[error("no negative pairs: no two rows satisfy neg_sameby/neg_diffby")]
    NoNegativePairs,
}

/// Average precision of every query row of `x` under `rules`, copairs 0.5.5 semantics.
///
/// `columns` are the label columns the rules index into (one row per row of `x`). Errors:
/// invalid rules or missing labels ([`ApError::Rules`]), zero-norm or non-finite rows
/// ([`ApError::Features`]), and no positive or no negative pair in the whole input.
pub fn average_precision(
    x: Matrix<'_>,
    columns: &[PairColumn],
    rules: &PairRules,
    similarity: Similarity,
    opts: &ApOptions,
) -> Result<ApTable, ApError> {
    let whole = Shard { index: 1, count: 1 };
    merge_ap_shards(vec![average_precision_shard(
        x, columns, rules, similarity, opts, whole,
    )?])
}

/// The rows of [`average_precision`]'s table for one shard of the queries: the query blocks
/// (queries sorted by their most selective positive label, [`QUERY_BLOCK`] to a block) are the
/// same whatever the shard, and shard `i/n` computes the `i`-th contiguous range of them, so
/// every AP is bit for bit the one the unsharded computation gives. Whether the whole input has
/// positive and negative pairs is for [`merge_ap_shards`] to say.
pub fn average_precision_shard(
    x: Matrix<'_>,
    columns: &[PairColumn],
    rules: &PairRules,
    similarity: Similarity,
    opts: &ApOptions,
    shard: Shard,
) -> Result<ApShard, ApError> {
    let n = x.n();
    let compiled = rules.compile(columns, n)?;
    // Threads run over blocks, so each product stays sequential.
    let prepared = prepare(x, similarity)?.with_parallelism(Par::Seq);

    // Queries whose positives share a label sit in the same block, so the union of a block's
    // candidates stays small when scoring against a few rows (controls).
    let mut order: Vec<u32> = (0..n as u32).collect();
    if let Some(codes) = compiled.most_selective_pos_codes() {
        order.sort_by_key(|&i| codes[i as usize]);
    }
    let all_blocks: Vec<&[u32]> = order.chunks(QUERY_BLOCK).collect();
    let blocks = &all_blocks[shard.range(all_blocks.len())];
    let threads = match opts.threads {
        0 => std::thread::available_parallelism().map_or(1, |t| t.get()),
        t => t,
    }
    .clamp(1, blocks.len().max(1));

    let next = AtomicUsize::new(0);
    let work = || -> Result<Vec<BlockOut>, MetricError> {
        let mut scratch = Scratch::new(n);
        let mut outs = Vec::new();
        loop {
            let b = next.fetch_add(1, Ordering::Relaxed);
            let Some(block) = blocks.get(b) else {
                return Ok(outs);
            };
            outs.push(process_block(&compiled, &prepared, block, &mut scratch)?);
        }
    };
    let outs: Vec<BlockOut> = if threads == 1 {
        work()?
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
            let mut all = Vec::new();
            for h in handles {
                all.extend(h.join().expect("AP worker panicked")?);
            }
            Ok::<_, MetricError>(all)
        })?
    };

    let (mut n_pos, mut n_neg) = (0u64, 0u64);
    let mut entries: Vec<Entry> = Vec::new();
    for out in outs {
        n_pos += out.n_pos;
        n_neg += out.n_neg;
        entries.extend(out.entries);
    }
    entries.sort_unstable_by_key(|e| (e.row, e.label));

    let multilabel = compiled.multi.is_some();
    let mut table = ApTable {
        label: multilabel.then(|| Vec::with_capacity(entries.len())),
        ..ApTable::default()
    };
    for e in entries {
        table.row.push(e.row as usize);
        if let Some(labels) = table.label.as_mut() {
            labels.push(e.label);
        }
        table.average_precision.push(e.ap);
        table.n_pos_pairs.push(e.n_pos);
        table.n_total_pairs.push(e.n_total);
    }
    Ok(ApShard {
        table,
        n_pos,
        n_neg,
    })
}

/// The [`ApTable`] of the whole input from the tables of its shards (in any order): rows in
/// output order, and the errors of an input without positive or negative pairs.
pub fn merge_ap_shards(shards: Vec<ApShard>) -> Result<ApTable, ApError> {
    let n_pos: u64 = shards.iter().map(|s| s.n_pos).sum();
    let n_neg: u64 = shards.iter().map(|s| s.n_neg).sum();
    if n_pos == 0 {
        return Err(ApError::NoPositivePairs);
    }
    if n_neg == 0 {
        return Err(ApError::NoNegativePairs);
    }
    let multilabel = shards.iter().any(|s| s.table.label.is_some());
    let mut rows: Vec<(usize, u32, usize)> = Vec::new();
    let mut ap = Vec::new();
    for s in &shards {
        let t = &s.table;
        for k in 0..t.len() {
            let label = t.label.as_ref().map_or(0, |l| l[k]);
            rows.push((t.row[k], label, ap.len()));
            ap.push((t.average_precision[k], t.n_pos_pairs[k], t.n_total_pairs[k]));
        }
    }
    rows.sort_unstable_by_key(|r| (r.0, r.1));
    let mut table = ApTable {
        label: multilabel.then(|| Vec::with_capacity(rows.len())),
        ..ApTable::default()
    };
    for (row, label, at) in rows {
        let (a, p, t) = ap[at];
        table.row.push(row);
        if let Some(labels) = table.label.as_mut() {
            labels.push(label);
        }
        table.average_precision.push(a);
        table.n_pos_pairs.push(p);
        table.n_total_pairs.push(t);
    }
    Ok(table)
}

/// One output row.
struct Entry {
    row: u32,
    /// Label code in multilabel mode, 0 otherwise.
    label: u32,
    ap: f64,
    n_pos: usize,
    n_total: usize,
}

/// What one block contributes.
struct BlockOut {
    entries: Vec<Entry>,
    /// Positive / negative pairs seen from this block's queries (each pair is seen twice overall).
    n_pos: u64,
    n_neg: u64,
}

/// A query of the current block whose rank lists need similarities.
struct Active {
    row: u32,
    /// Range of its negatives in `Scratch::negs`.
    negs: std::ops::Range<usize>,
    /// (label, range in `Scratch::pos`) of each non-empty positive list.
    lists: std::ops::Range<usize>,
}

/// Per-worker buffers, reused across blocks.
struct Scratch {
    negs: Vec<u32>,
    pos: Vec<u32>,
    lists: Vec<(u32, std::ops::Range<usize>)>,
    /// Column of each target row in the product; `u32::MAX` when not a target.
    slot: Vec<u32>,
    targets: Vec<usize>,
    sims: Vec<f64>,
    neg_keys: Vec<f32>,
    pos_keys: Vec<f32>,
    hist: Vec<u32>,
}

impl Scratch {
    fn new(n: usize) -> Scratch {
        Scratch {
            negs: Vec::new(),
            pos: Vec::new(),
            lists: Vec::new(),
            slot: vec![u32::MAX; n],
            targets: Vec::new(),
            sims: Vec::new(),
            neg_keys: Vec::new(),
            pos_keys: Vec::new(),
            hist: Vec::new(),
        }
    }
}

/// Enumerates the pairs of a block's queries, computes the needed similarities and the APs.
fn process_block(
    rules: &CompiledRules,
    prepared: &PreparedRows,
    block: &[u32],
    s: &mut Scratch,
) -> Result<BlockOut, MetricError> {
    let n = rules.n;
    let sets = rules.multilabel_sets();
    s.negs.clear();
    s.pos.clear();
    s.lists.clear();
    let mut active: Vec<Active> = Vec::new();
    let mut out = BlockOut {
        entries: Vec::with_capacity(block.len()),
        n_pos: 0,
        n_neg: 0,
    };

    for &row in block {
        let i = row as usize;
        let lists_start = s.lists.len();
        match sets {
            None => {
                let start = s.pos.len();
                rules.candidates(&rules.pos, i, None, &mut s.pos);
                if s.pos.len() > start {
                    s.lists.push((0, start..s.pos.len()));
                }
            }
            Some(sets) => {
                for &label in &sets[i] {
                    let start = s.pos.len();
                    rules.candidates(&rules.pos, i, Some(label), &mut s.pos);
                    if s.pos.len() > start {
                        s.lists.push((label, start..s.pos.len()));
                    }
                }
            }
        }
        let neg_start = s.negs.len();
        rules.candidates(&rules.neg, i, None, &mut s.negs);
        let n_neg = s.negs.len() - neg_start;
        out.n_neg += n_neg as u64;
        out.n_pos += s.lists[lists_start..]
            .iter()
            .map(|(_, r)| r.len() as u64)
            .sum::<u64>();
        if s.lists.len() > lists_start {
            active.push(Active {
                row,
                negs: neg_start..s.negs.len(),
                lists: lists_start..s.lists.len(),
            });
        } else {
            // Only the count is needed: no positive means no rank list.
            s.negs.truncate(neg_start);
            if sets.is_none() {
                out.entries.push(Entry {
                    row,
                    label: 0,
                    ap: f64::NAN,
                    n_pos: 0,
                    n_total: n_neg,
                });
            }
        }
    }
    if active.is_empty() {
        return Ok(out);
    }

    // Scoring against a few rows (controls): gather them and multiply small query chunks,
    // so that little is spent on the pairs among the block's own queries. Otherwise one
    // product of the whole block against every row. Each query's similarities always come
    // from a single product, so bit-identical profiles get bit-identical similarities.
    let gathered = collect_targets(s, &active) < n - n / 8;
    clear_targets(s);
    let chunk = if gathered { SPARSE_CHUNK } else { active.len() };
    for group in active.chunks(chunk) {
        let t = if gathered {
            collect_targets(s, group)
        } else {
            n
        };
        let queries: Vec<usize> = group.iter().map(|a| a.row as usize).collect();
        s.sims.clear();
        s.sims.resize(queries.len() * t, 0.0);
        similarity_gathered(
            prepared,
            &queries,
            gathered.then_some(&s.targets[..]),
            &mut s.sims,
        )?;
        let slot = |j: u32| {
            if gathered {
                s.slot[j as usize] as usize
            } else {
                j as usize
            }
        };
        for (a, q) in group.iter().enumerate() {
            let sims = &s.sims[a * t..(a + 1) * t];
            s.neg_keys.clear();
            s.neg_keys.extend(
                s.negs[q.negs.clone()]
                    .iter()
                    .map(|&j| rank_key(sims[slot(j)])),
            );
            for (label, range) in &s.lists[q.lists.clone()] {
                s.pos_keys.clear();
                s.pos_keys.extend(
                    s.pos[range.clone()]
                        .iter()
                        .map(|&j| rank_key(sims[slot(j)])),
                );
                let ap = ap_from_keys(&mut s.pos_keys, &s.neg_keys, &mut s.hist);
                out.entries.push(Entry {
                    row: q.row,
                    label: *label,
                    ap,
                    n_pos: range.len(),
                    n_total: range.len() + s.neg_keys.len(),
                });
            }
        }
        clear_targets(s);
    }
    Ok(out)
}

/// Fills `s.targets` with the rows the queries' rank lists need, each once, and `s.slot`
/// with their positions; returns how many there are.
fn collect_targets(s: &mut Scratch, queries: &[Active]) -> usize {
    s.targets.clear();
    for a in queries {
        let pos_ranges = s.lists[a.lists.clone()].iter().map(|(_, r)| r.clone());
        let rows = pos_ranges
            .flat_map(|r| s.pos[r].iter())
            .chain(s.negs[a.negs.clone()].iter());
        for &j in rows {
            if s.slot[j as usize] == u32::MAX {
                s.slot[j as usize] = s.targets.len() as u32;
                s.targets.push(j as usize);
            }
        }
    }
    s.targets.len()
}

/// Resets the slots [`collect_targets`] set.
fn clear_targets(s: &mut Scratch) {
    for &j in &s.targets {
        s.slot[j] = u32::MAX;
    }
    s.targets.clear();
}

/// copairs' rank key: the `f64` similarity stored as `f32`, then `1 − s` in `f32`.
///
/// NaN becomes the positive quiet NaN and −0 becomes +0, so that `f32::total_cmp` orders keys
/// as copairs' sort does: ascending, NaN last.
#[inline]
pub fn rank_key(sim: f64) -> f32 {
    let k = 1.0f32 - sim as f32;
    if k.is_nan() { f32::NAN } else { k + 0.0 }
}

/// AP of one rank list given its positive and negative [`rank_key`]s; sorts `pos` in place.
///
/// A negative is ranked before a positive iff its key is strictly smaller (ties go to
/// positives; NaN is largest). `hist[t]` counts the negatives that come after exactly `t`
/// positives, so the negatives before the r-th positive are a prefix sum.
pub fn ap_from_keys(pos: &mut [f32], neg: &[f32], hist: &mut Vec<u32>) -> f64 {
    let m = pos.len();
    if m == 0 {
        return f64::NAN;
    }
    pos.sort_unstable_by(f32::total_cmp);
    hist.clear();
    hist.resize(m + 1, 0);
    for &k in neg {
        hist[pos.partition_point(|&p| p.total_cmp(&k).is_le())] += 1;
    }
    let mut before = 0u64;
    let mut sum = 0.0f64;
    for (r, &h) in hist[..m].iter().enumerate() {
        before += u64::from(h);
        let r = (r + 1) as u64;
        sum += r as f64 / (r + before) as f64;
    }
    sum / m as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::labels::{LabelColumn, MultiLabelColumn};
    use crate::retrieval::rules::assign_reference_index;
    use crate::similarity::similarity_block;
    use proptest::prelude::*;

    fn ap_keys(pos: &[f32], neg: &[f32]) -> f64 {
        ap_from_keys(&mut pos.to_vec(), neg, &mut Vec::new())
    }

    #[test]
    fn hand_computed_rank_lists() {
        // + - + - - +  →  (1/1 + 2/3 + 3/6) / 3
        let ap = ap_keys(&[0.1, 0.3, 0.6], &[0.2, 0.4, 0.5]);
        assert!((ap - (1.0 + 2.0 / 3.0 + 0.5) / 3.0).abs() < 1e-15);
        // all positives first
        assert_eq!(ap_keys(&[0.0, 0.1], &[0.2, 0.3]), 1.0);
        // all positives last: (1/3 + 2/4) / 2
        assert!((ap_keys(&[0.5, 0.6], &[0.1, 0.2]) - (1.0 / 3.0 + 0.5) / 2.0).abs() < 1e-15);
        // no negatives → 1, no positives → NaN
        assert_eq!(ap_keys(&[0.3, 0.9], &[]), 1.0);
        assert!(ap_keys(&[], &[0.1]).is_nan());
    }

    #[test]
    fn ties_go_to_positives_and_nan_is_last() {
        // A tie between a positive and a negative ranks the positive first.
        assert_eq!(ap_keys(&[0.2], &[0.2, 0.2]), 1.0);
        // - (0.1) then + (0.2) tied with two negatives: 1/(1+1)
        assert_eq!(ap_keys(&[0.2], &[0.1, 0.2, 0.2]), 0.5);
        // NaN positive after every finite negative; NaN negatives never before a positive.
        assert_eq!(ap_keys(&[f32::NAN], &[0.1, f32::NAN]), 0.5);
        assert_eq!(ap_keys(&[0.9, f32::NAN], &[f32::NAN, f32::NAN]), 1.0);
        // Zero-norm query in copairs: every similarity NaN, positives win the NaN ties.
        let nan = rank_key(f64::NAN);
        assert_eq!(ap_keys(&[nan, nan], &[nan, nan, nan]), 1.0);
        assert_eq!(rank_key(1.0).to_bits(), 0.0f32.to_bits());
    }

    #[test]
    fn rank_key_rounds_twice() {
        // f32(1 − f32(s)) differs from rounding 1 − s once.
        let s = 0.1f64 + 1e-9;
        assert_eq!(rank_key(s), 1.0f32 - (s as f32));
        // Just above the midpoint 1 − 2^-25 between the f32 neighbours 1 − 2^-24 and 1, s
        // rounds to 1, so the key is 0; rounding 1 − s = 2^-25 − 2^-50 once would not give 0.
        let s = 1.0 - 2f64.powi(-25) + 2f64.powi(-50);
        assert_eq!(rank_key(s), 0.0);
        assert_ne!((1.0 - s) as f32, 0.0);
    }

    fn single(name: &str, v: &[&str]) -> PairColumn {
        let values: Vec<Option<String>> = v.iter().map(|s| Some(s.to_string())).collect();
        PairColumn::Single(LabelColumn::encode(name, &values))
    }

    fn rules(ps: &[usize], pd: &[usize], ns: &[usize], nd: &[usize]) -> PairRules {
        PairRules {
            pos_sameby: ps.to_vec(),
            pos_diffby: pd.to_vec(),
            neg_sameby: ns.to_vec(),
            neg_diffby: nd.to_vec(),
        }
    }

    /// Shards 1..=k of every k in 1, 2, 3, 7 merge, in reverse order, into `whole` bit for bit
    /// (empty shards included: 7 shards of a few blocks).
    fn assert_shards_merge_to(
        whole: &ApTable,
        x: &[f32],
        d: usize,
        cols: &[PairColumn],
        r: &PairRules,
        sim: Similarity,
    ) {
        let n = x.len() / d;
        for count in [1, 2, 3, 7] {
            let mut shards: Vec<ApShard> = (1..=count)
                .map(|index| {
                    let m = Matrix::new(x, n, d).unwrap();
                    let opts = ApOptions {
                        threads: 1 + index % 2,
                    };
                    average_precision_shard(m, cols, r, sim, &opts, Shard { index, count }).unwrap()
                })
                .collect();
            let sizes: Vec<usize> = shards.iter().map(|s| s.table.len()).collect();
            assert_eq!(
                sizes.iter().sum::<usize>(),
                whole.len(),
                "{count} shards: {sizes:?}"
            );
            shards.reverse();
            let merged = merge_ap_shards(shards).unwrap();
            assert_eq!(merged.row, whole.row, "{count} shards");
            assert_eq!(merged.label, whole.label);
            assert_eq!(merged.n_pos_pairs, whole.n_pos_pairs);
            assert_eq!(merged.n_total_pairs, whole.n_total_pairs);
            let bits = |t: &ApTable| -> Vec<u64> {
                t.average_precision.iter().map(|a| a.to_bits()).collect()
            };
            assert_eq!(bits(&merged), bits(whole), "{count} shards");
        }
    }

    #[test]
    fn shards_parse_and_cover_the_items_in_order() {
        assert_eq!(Shard::parse("2/7"), Ok(Shard { index: 2, count: 7 }));
        for bad in ["0/3", "4/3", "1/0", "3", "a/2", "1/b"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
        for count in 1..9 {
            for len in [0, 1, 5, 8, 100] {
                let mut next = 0;
                for index in 1..=count {
                    let r = Shard { index, count }.range(len);
                    assert_eq!(r.start, next);
                    assert!(r.len() <= len / count + 1);
                    next = r.end;
                }
                assert_eq!(next, len);
            }
        }
        // The totals decide the whole input's errors, whatever each shard saw.
        let none = ApShard::default();
        assert_eq!(
            merge_ap_shards(vec![none.clone()]),
            Err(ApError::NoPositivePairs)
        );
        let pos_only = ApShard {
            n_pos: 3,
            ..ApShard::default()
        };
        let neg_only = ApShard {
            n_neg: 2,
            ..ApShard::default()
        };
        assert_eq!(
            merge_ap_shards(vec![pos_only.clone()]),
            Err(ApError::NoNegativePairs)
        );
        assert!(merge_ap_shards(vec![pos_only, neg_only]).is_ok());
    }

    fn run(x: &[f32], d: usize, cols: &[PairColumn], r: &PairRules, sim: Similarity) -> ApTable {
        let n = x.len() / d;
        average_precision(
            Matrix::new(x, n, d).unwrap(),
            cols,
            r,
            sim,
            &ApOptions::default(),
        )
        .unwrap()
    }

    #[test]
    fn tiny_example_by_hand() {
        // 1-d profiles on the unit circle (2-d): angles make the cosine order obvious.
        let ang = [0.0f64, 0.1, 0.25, 0.3, 1.0];
        let x: Vec<f32> = ang
            .iter()
            .flat_map(|a| [a.cos() as f32, a.sin() as f32])
            .collect();
        let cols = vec![single("g", &["a", "b", "a", "b", "a"])];
        let t = run(
            &x,
            2,
            &cols,
            &rules(&[0], &[], &[], &[0]),
            Similarity::Cosine,
        );
        // Row 0: list by angle distance: 1(b,0.1) 2(a,0.25) 3(b,0.3) 4(a,1.0) → − + − +
        //   AP = (1/2 + 2/4) / 2 = 0.5
        // Row 1: 0(a,0.1) 2(a,0.15) 3(b,0.2) 4(a,0.9) → + only b is 3 → − − + −: 1/3
        // Row 4: 3(b,0.7) 2(a,0.75) 1(b,0.9) 0(a,1.0) → − + − +: (1/2 + 2/4)/2 = 0.5
        assert_eq!(t.row, vec![0, 1, 2, 3, 4]);
        assert!(t.label.is_none());
        assert!((t.average_precision[0] - 0.5).abs() < 1e-15);
        assert!((t.average_precision[1] - 1.0 / 3.0).abs() < 1e-15);
        assert!((t.average_precision[4] - 0.5).abs() < 1e-15);
        assert_eq!(t.n_pos_pairs, vec![2, 1, 2, 1, 2]);
        assert_eq!(t.n_total_pairs, vec![4, 4, 4, 4, 4]);
    }

    #[test]
    fn overlapping_pairs_count_twice() {
        // Positives: same group. Negatives: different batch. Row 0 and row 1 share the group
        // and differ in batch, so (0, 1) is a positive and a negative.
        let x = [1.0f32, 0.0, 0.9, 0.1, 0.0, 1.0];
        let cols = vec![
            single("g", &["a", "a", "b"]),
            single("batch", &["1", "2", "2"]),
        ];
        let t = run(
            &x,
            2,
            &cols,
            &rules(&[0], &[], &[], &[1]),
            Similarity::Cosine,
        );
        // Row 0: positive 1 (key k01), negatives 1 (k01, tie → positive first) and 2 → AP 1.
        assert_eq!(t.n_pos_pairs[0], 1);
        assert_eq!(t.n_total_pairs[0], 3);
        assert_eq!(t.average_precision[0], 1.0);
        // Row 2: no positive → NaN, its negative is row 0 only.
        assert!(t.average_precision[2].is_nan());
        assert_eq!((t.n_pos_pairs[2], t.n_total_pairs[2]), (0, 1));
    }

    #[test]
    fn reference_trick_ranks_against_controls() {
        let cpd = ["c1", "ctl", "c1", "ctl", "c2", "c2"];
        let x = [
            1.0f32, 0.0, // c1
            0.0, 1.0, // ctl
            0.8, 0.6, // c1
            0.6, 0.8, // ctl
            -1.0, 0.1, // c2
            -1.0, -0.1, // c2
        ];
        let mask: Vec<bool> = cpd.iter().map(|&c| c == "ctl").collect();
        let cols = vec![
            single("cpd", &cpd),
            PairColumn::Single(assign_reference_index("ref", &mask)),
        ];
        let t = run(
            &x,
            2,
            &cols,
            &rules(&[0, 1], &[], &[], &[0, 1]),
            Similarity::Cosine,
        );
        // Treated rows see 1 positive and the 2 controls; controls see the 4 treated rows.
        assert_eq!(t.n_pos_pairs, vec![1, 0, 1, 0, 1, 1]);
        assert_eq!(t.n_total_pairs, vec![3, 4, 3, 4, 3, 3]);
        // Row 0: sim to row 2 = 0.8, to controls 0 and 0.6 → AP 1.
        assert_eq!(t.average_precision[0], 1.0);
        // Row 2: sim to row 0 = 0.8, to controls 0.6 and 0.96 → 1/2.
        assert_eq!(t.average_precision[2], 0.5);
        assert!(t.average_precision[1].is_nan() && t.average_precision[3].is_nan());
    }

    #[test]
    fn multilabel_one_row_per_label_with_positives() {
        let labels = ["A", "A|B", "B", "C", "B|C"];
        let values: Vec<Option<String>> = labels.iter().map(|s| Some(s.to_string())).collect();
        let cols = vec![PairColumn::Multi(MultiLabelColumn::encode(
            "moa", &values, "|",
        ))];
        let x = [
            1.0f32, 0.0, 0.0, //
            0.9, 0.3, 0.0, //
            0.1, 1.0, 0.2, //
            0.0, 0.1, 1.0, //
            0.0, 0.7, 0.7,
        ];
        let t = run(
            &x,
            3,
            &cols,
            &rules(&[0], &[], &[], &[0]),
            Similarity::Cosine,
        );
        // (row, label): (0,A) (1,A) (1,B) (2,B) (3,C) (4,B) (4,C); codes A=0 B=1 C=2.
        assert_eq!(t.row, vec![0, 1, 1, 2, 3, 4, 4]);
        assert_eq!(t.label.as_deref(), Some(&[0, 0, 1, 1, 2, 1, 2][..]));
        // Row 0 {A}: positive 1, negatives: rows sharing nothing = 2, 3, 4.
        assert_eq!((t.n_pos_pairs[0], t.n_total_pairs[0]), (1, 4));
        // Row 1 {A,B}: A-positive 0, B-positives 2 and 4; negatives: 3 only.
        assert_eq!((t.n_pos_pairs[1], t.n_total_pairs[1]), (1, 2));
        assert_eq!((t.n_pos_pairs[2], t.n_total_pairs[2]), (2, 3));
        // Row 4 {B,C}: negatives = row 0 only.
        assert_eq!((t.n_pos_pairs[6], t.n_total_pairs[6]), (1, 2));
        assert!(t.average_precision.iter().all(|a| (0.0..=1.0).contains(a)));
    }

    #[test]
    fn unpaired_inputs_are_errors() {
        let x = [1.0f32, 0.0, 0.0, 1.0, 1.0, 1.0];
        let m = Matrix::new(&x, 3, 2).unwrap();
        let cols = vec![single("g", &["a", "b", "c"]), single("p", &["1", "1", "1"])];
        let o = ApOptions::default();
        let e = average_precision(
            m,
            &cols,
            &rules(&[0], &[], &[], &[0]),
            Similarity::Cosine,
            &o,
        );
        assert_eq!(e.unwrap_err(), ApError::NoPositivePairs);
        let e = average_precision(
            m,
            &cols,
            &rules(&[1], &[], &[], &[1]),
            Similarity::Cosine,
            &o,
        );
        assert_eq!(e.unwrap_err(), ApError::NoNegativePairs);
    }

    #[test]
    fn zero_norm_rows_are_errors_not_nan() {
        let x = [1.0f32, 0.0, 0.0, 0.0, 1.0, 1.0, 2.0, 1.0];
        let m = Matrix::new(&x, 4, 2).unwrap();
        let cols = vec![single("g", &["a", "a", "b", "b"])];
        let e = average_precision(
            m,
            &cols,
            &rules(&[0], &[], &[], &[0]),
            Similarity::Cosine,
            &ApOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            e,
            ApError::Features(MetricError::ZeroNorm {
                row: 1,
                similarity: Similarity::Cosine
            })
        );
        assert_eq!(
            e.to_string(),
            "row 1 has zero norm: cosine similarity is undefined"
        );
    }

    // ---- brute force reference: every pair materialized, copairs' list walk ----

    /// Labels per row for the reference: single codes, or a multilabel set.
    fn reference_ap(
        x: &[f32],
        d: usize,
        cols: &[PairColumn],
        r: &PairRules,
        sim: Similarity,
    ) -> Vec<(usize, u32, f64, usize, usize)> {
        let n = x.len() / d;
        let p = prepare(Matrix::new(x, n, d).unwrap(), sim).unwrap();
        let mut s = vec![0.0; n * n];
        similarity_block(&p, 0..n, &mut s).unwrap();
        let holds = |same: &[usize], diff: &[usize], i: usize, j: usize, label: Option<u32>| {
            let eq = |c: usize| match &cols[c] {
                PairColumn::Single(l) => Some(l.codes[i] == l.codes[j]),
                PairColumn::Multi(m) => match label {
                    Some(l) => Some(m.sets[j].contains(&l)),
                    None => Some(m.share(i, j)),
                },
            };
            let share = |c: usize| match &cols[c] {
                PairColumn::Multi(m) => m.share(i, j),
                PairColumn::Single(l) => l.codes[i] == l.codes[j],
            };
            same.iter().all(|&c| eq(c).unwrap()) && diff.iter().all(|&c| !share(c))
        };
        let multi = cols.iter().position(|c| matches!(c, PairColumn::Multi(_)));
        let mut out = Vec::new();
        for i in 0..n {
            let negs: Vec<usize> = (0..n)
                .filter(|&j| j != i && holds(&r.neg_sameby, &r.neg_diffby, i, j, None))
                .collect();
            let labels: Vec<Option<u32>> = match multi {
                Some(m) => match &cols[m] {
                    PairColumn::Multi(c) => c.sets[i].iter().map(|&l| Some(l)).collect(),
                    PairColumn::Single(_) => unreachable!(),
                },
                None => vec![None],
            };
            for label in labels {
                let poss: Vec<usize> = (0..n)
                    .filter(|&j| j != i && holds(&r.pos_sameby, &r.pos_diffby, i, j, label))
                    .collect();
                if multi.is_some() && poss.is_empty() {
                    continue;
                }
                // copairs: all positives then all negatives, stable sort by key, NaN last.
                let mut list: Vec<(f32, bool)> = poss
                    .iter()
                    .map(|&j| (rank_key(s[i * n + j]), true))
                    .chain(negs.iter().map(|&j| (rank_key(s[i * n + j]), false)))
                    .collect();
                list.sort_by(|a, b| a.0.total_cmp(&b.0));
                let (mut hits, mut sum) = (0usize, 0.0f64);
                for (rank, &(_, is_pos)) in list.iter().enumerate() {
                    if is_pos {
                        hits += 1;
                        sum += hits as f64 / (rank + 1) as f64;
                    }
                }
                let ap = if poss.is_empty() {
                    f64::NAN
                } else {
                    sum / poss.len() as f64
                };
                out.push((i, label.unwrap_or(0), ap, poss.len(), list.len()));
            }
        }
        out
    }

    fn assert_matches_reference(
        x: &[f32],
        d: usize,
        cols: &[PairColumn],
        r: &PairRules,
        sim: Similarity,
    ) {
        let got = run(x, d, cols, r, sim);
        assert_shards_merge_to(&got, x, d, cols, r, sim);
        let want = reference_ap(x, d, cols, r, sim);
        assert_eq!(got.len(), want.len());
        for (k, w) in want.iter().enumerate() {
            let label = got.label.as_ref().map_or(0, |l| l[k]);
            assert_eq!((got.row[k], label), (w.0, w.1), "output row {k}");
            assert_eq!(
                (got.n_pos_pairs[k], got.n_total_pairs[k]),
                (w.3, w.4),
                "row {}",
                w.0
            );
            let (a, b) = (got.average_precision[k], w.2);
            assert!(
                (a.is_nan() && b.is_nan()) || (a - b).abs() <= 1e-12,
                "row {} label {}: {a} vs {b}",
                w.0,
                w.1
            );
        }
    }

    /// splitmix64 for deterministic test data.
    fn rng_stream(seed: u64) -> impl FnMut() -> f64 {
        let mut state = seed;
        move || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    #[test]
    fn matches_brute_force_across_blocks_and_rules() {
        // 700 rows: several query blocks, gathered and full products both used.
        let (n, d) = (700, 6);
        let mut u = rng_stream(42);
        let x: Vec<f32> = (0..n * d).map(|_| (u() * 2.0 - 1.0) as f32).collect();
        let names = |k: usize, f: &dyn Fn(usize) -> usize| -> Vec<String> {
            (0..n).map(|i| format!("v{}", f(i) % k)).collect()
        };
        let col = |name: &str, v: Vec<String>| {
            let v: Vec<Option<String>> = v.into_iter().map(Some).collect();
            PairColumn::Single(LabelColumn::encode(name, &v))
        };
        let cpd = names(150, &|i| (i * 7919) % 1009);
        let plate = names(5, &|i| i / 7);
        let ctl: Vec<bool> = cpd.iter().map(|c| c == "v0" || c == "v1").collect();
        let cols = vec![
            col("cpd", cpd),
            col("plate", plate),
            PairColumn::Single(assign_reference_index("ref", &ctl)),
        ];
        for (r, sim) in [
            (rules(&[0], &[], &[], &[0]), Similarity::Cosine),
            (rules(&[0, 2], &[], &[], &[0, 2]), Similarity::Cosine),
            (rules(&[0], &[1], &[1], &[0]), Similarity::Pearson),
            (rules(&[0], &[], &[], &[1]), Similarity::AbsCosine),
            (rules(&[], &[1], &[1], &[0]), Similarity::Euclidean),
        ] {
            assert_matches_reference(&x, d, &cols, &r, sim);
        }
    }

    #[test]
    fn exact_ties_with_controls_survive_gathered_chunks() {
        // 300 compounds × 2 replicates + 20 controls. The second replicate of compound k is
        // a copy of control k % 20, so every first replicate sees its positive tied with a
        // negative; a block needs ~280 of the 620 rows, so chunks of queries are multiplied
        // against gathered targets. The brute force ranks from one product of all rows.
        let (compounds, controls, d) = (300, 20, 7);
        let mut u = rng_stream(11);
        let ctl: Vec<Vec<f32>> = (0..controls)
            .map(|_| (0..d).map(|_| (u() * 2.0 - 1.0) as f32).collect())
            .collect();
        let mut x = Vec::new();
        let mut cpd = Vec::new();
        for k in 0..compounds {
            x.extend((0..d).map(|_| (u() * 2.0 - 1.0) as f32));
            x.extend(&ctl[k % controls]);
            cpd.extend([format!("c{k}"), format!("c{k}")]);
        }
        for c in &ctl {
            x.extend(c);
            cpd.push("DMSO".to_owned());
        }
        let mask: Vec<bool> = cpd.iter().map(|c| c == "DMSO").collect();
        let values: Vec<Option<String>> = cpd.into_iter().map(Some).collect();
        let cols = vec![
            PairColumn::Single(LabelColumn::encode("cpd", &values)),
            PairColumn::Single(assign_reference_index("ref", &mask)),
        ];
        let r = rules(&[0, 1], &[], &[], &[0, 1]);
        assert_matches_reference(&x, d, &cols, &r, Similarity::Cosine);
    }

    #[test]
    fn multilabel_matches_brute_force() {
        let (n, d) = (300, 5);
        let mut u = rng_stream(7);
        let x: Vec<f32> = (0..n * d).map(|_| (u() * 2.0 - 1.0) as f32).collect();
        let pool = ["A", "B", "C", "D", "E", "F"];
        let values: Vec<Option<String>> = (0..n)
            .map(|_| {
                let k = (u() * 3.0) as usize; // 0..=2 labels; 0 gives an empty set
                let labs: Vec<&str> = (0..k).map(|_| pool[(u() * 6.0) as usize]).collect();
                Some(labs.join("|"))
            })
            .collect();
        let cpd: Vec<Option<String>> = (0..n).map(|i| Some(format!("c{}", i / 3))).collect();
        let cols = vec![
            PairColumn::Multi(MultiLabelColumn::encode("moa", &values, "|")),
            PairColumn::Single(LabelColumn::encode("cpd", &cpd)),
        ];
        assert_matches_reference(
            &x,
            d,
            &cols,
            &rules(&[0], &[], &[], &[0]),
            Similarity::Cosine,
        );
        assert_matches_reference(
            &x,
            d,
            &cols,
            &rules(&[0], &[1], &[], &[0]),
            Similarity::Cosine,
        );
        assert_matches_reference(
            &x,
            d,
            &cols,
            &rules(&[0], &[1], &[0], &[1]),
            Similarity::Cosine,
        );
    }

    #[test]
    fn results_do_not_depend_on_thread_count() {
        let (n, d) = (900, 8);
        let mut u = rng_stream(3);
        let x: Vec<f32> = (0..n * d).map(|_| (u() * 2.0 - 1.0) as f32).collect();
        let g: Vec<Option<String>> = (0..n).map(|i| Some(format!("g{}", i % 200))).collect();
        let cols = vec![PairColumn::Single(LabelColumn::encode("g", &g))];
        let r = rules(&[0], &[], &[], &[0]);
        let m = Matrix::new(&x, n, d).unwrap();
        let one = average_precision(m, &cols, &r, Similarity::Cosine, &ApOptions { threads: 1 });
        let three = average_precision(m, &cols, &r, Similarity::Cosine, &ApOptions { threads: 3 });
        let (one, three) = (one.unwrap(), three.unwrap());
        assert_eq!(one.row, three.row);
        let bits = |t: &ApTable| {
            t.average_precision
                .iter()
                .map(|v| v.to_bits())
                .collect::<Vec<_>>()
        };
        assert_eq!(bits(&one), bits(&three));
    }

    // ---- properties ----

    /// Random profiles with 2..5 groups of 2..4 replicates.
    fn grouped_profiles() -> impl Strategy<Value = (usize, Vec<f32>, Vec<usize>)> {
        (2usize..6, 2usize..5, 1usize..6).prop_flat_map(|(groups, reps, d)| {
            let n = groups * reps;
            (
                Just(d),
                proptest::collection::vec(-10.0f32..10.0, n * d),
                Just((0..n).map(|i| i % groups).collect::<Vec<_>>()),
            )
        })
    }

    fn group_cols(g: &[usize]) -> Vec<PairColumn> {
        let v: Vec<Option<String>> = g.iter().map(|k| Some(format!("g{k}"))).collect();
        vec![PairColumn::Single(LabelColumn::encode("g", &v))]
    }

    fn nonzero_rows(x: &[f32], d: usize) -> bool {
        x.chunks(d).all(|r| r.iter().any(|&v| v.abs() > 1e-3))
    }

    proptest! {
        #[test]
        fn ap_is_within_unit_interval((d, x, g) in grouped_profiles()) {
            prop_assume!(nonzero_rows(&x, d));
            for sim in Similarity::ALL {
                if sim == Similarity::Pearson && d < 2 { continue; }
                let n = x.len() / d;
                let Ok(t) = average_precision(
                    Matrix::new(&x, n, d).unwrap(), &group_cols(&g),
                    &rules(&[0], &[], &[], &[0]), sim, &ApOptions::default()) else { continue };
                for &a in &t.average_precision {
                    prop_assert!((0.0..=1.0).contains(&a), "{sim}: {a}");
                }
            }
        }

        #[test]
        fn ap_is_invariant_to_row_order(
            (d, x, g) in grouped_profiles(),
            seed in any::<u64>(),
        ) {
            prop_assume!(nonzero_rows(&x, d));
            let n = x.len() / d;
            // A seeded permutation (Fisher–Yates).
            let mut perm: Vec<usize> = (0..n).collect();
            let mut u = rng_stream(seed);
            for k in (1..n).rev() {
                perm.swap(k, (u() * (k + 1) as f64) as usize);
            }
            let xp: Vec<f32> = perm.iter().flat_map(|&i| x[i * d..(i + 1) * d].to_vec()).collect();
            let gp: Vec<usize> = perm.iter().map(|&i| g[i]).collect();
            let r = rules(&[0], &[], &[], &[0]);
            let a = run(&x, d, &group_cols(&g), &r, Similarity::Cosine);
            let b = run(&xp, d, &group_cols(&gp), &r, Similarity::Cosine);
            for (k, &i) in perm.iter().enumerate() {
                prop_assert_eq!(a.n_total_pairs[i], b.n_total_pairs[k]);
                prop_assert!((a.average_precision[i] - b.average_precision[k]).abs() <= 1e-12);
            }
        }

        #[test]
        fn cosine_ap_is_invariant_to_positive_scaling(
            (d, x, g) in grouped_profiles(),
            exps in proptest::collection::vec(-8i32..8, 20),
        ) {
            prop_assume!(nonzero_rows(&x, d));
            // Power-of-two factors scale exactly, so the similarities, and with them every
            // tie, are bit-identical; any other factor would only add rounding noise.
            let scaled: Vec<f32> = x
                .chunks(d)
                .zip(exps.iter().cycle())
                .flat_map(|(r, &e)| r.iter().map(move |v| v * 2f32.powi(e)))
                .collect();
            let r = rules(&[0], &[], &[], &[0]);
            let a = run(&x, d, &group_cols(&g), &r, Similarity::Cosine);
            let b = run(&scaled, d, &group_cols(&g), &r, Similarity::Cosine);
            prop_assert_eq!(a, b);
        }

        #[test]
        fn cosine_ap_barely_moves_under_arbitrary_positive_scaling(
            (d, x, g) in grouped_profiles(),
            scales in proptest::collection::vec(0.01f32..100.0, 20),
        ) {
            prop_assume!(nonzero_rows(&x, d));
            let scaled: Vec<f32> = x
                .chunks(d)
                .zip(scales.iter().cycle())
                .flat_map(|(r, &s)| r.iter().map(move |v| v * s))
                .collect();
            let r = rules(&[0], &[], &[], &[0]);
            let a = run(&x, d, &group_cols(&g), &r, Similarity::Cosine);
            let b = run(&scaled, d, &group_cols(&g), &r, Similarity::Cosine);
            // Scaling in f32 perturbs each similarity by ~1e-7; AP moves only where a
            // positive and a negative are that close.
            let n = x.len() / d;
            let p = prepare(Matrix::new(&x, n, d).unwrap(), Similarity::Cosine).unwrap();
            let mut s = vec![0.0; n * n];
            similarity_block(&p, 0..n, &mut s).unwrap();
            for i in 0..n {
                let close = (0..n).any(|j| (0..n).any(|k| {
                    j != i && k != i && g[j] == g[i] && g[k] != g[i]
                        && (s[i * n + j] - s[i * n + k]).abs() < 1e-5
                }));
                if !close {
                    prop_assert_eq!(a.average_precision[i], b.average_precision[i], "row {}", i);
                }
            }
        }

        #[test]
        fn ap_is_one_when_all_positives_rank_first(
            (d, x, g) in grouped_profiles(),
        ) {
            // Pull every row to its group's direction: positives then outrank negatives.
            prop_assume!(nonzero_rows(&x, d));
            let n = x.len() / d;
            let d2 = d + 8;
            let y: Vec<f32> = (0..n)
                .flat_map(|i| {
                    let mut row: Vec<f32> = x[i * d..(i + 1) * d].iter().map(|v| v * 1e-3).collect();
                    row.extend((0..8).map(|k| if k == g[i] { 100.0 } else { 0.0 }));
                    row
                })
                .collect();
            let t = run(&y, d2, &group_cols(&g), &rules(&[0], &[], &[], &[0]), Similarity::Cosine);
            prop_assert!(t.average_precision.iter().all(|&a| a == 1.0));
        }
    }
}
