//! Null distributions of average precision under random ranking, and the p-values of group mAPs.
//!
//! # Model (copairs 0.5.5, `SEMANTICS.md` §21–§25)
//!
//! An AP row with `M = n_pos_pairs` positives among `L = n_total_pairs` ranked items has the
//! *configuration* `(M, L)` ([`NullConfig`]). Its null is the AP of a rank list whose `M`
//! positive positions are a uniformly random `M`-subset of `0..L`:
//! `AP = (1/M) Σ_r (r+1)/(pos_r+1)` over the sorted 0-based positions `pos_0 < … < pos_{M−1}`.
//! A group of `m` AP rows (members) is tested against `T = null_size` draws of the mean of its
//! members' null APs, where **members that share a configuration share one draw** (copairs keeps
//! one null vector per configuration and averages the members' rows of it). With `m_c` members in
//! configuration `c`, the group null is therefore `Σ_c (m_c/m)·X_c` with one independent `X_c`
//! per distinct configuration, not the mean of `m` independent APs. The p-value is
//! `p = (1 + #{t : null_t > mAP}) / (T + 1)` with a strict comparison.
//!
//! # Floating point, mimicked from copairs
//!
//! copairs computes null APs in `float32` and compares them in `float32`; cpbench reproduces
//! that arithmetic exactly, because ties between a null value and the mAP are common
//! (`mAP = 1` against a null of 1, singleton groups whose mAP is itself a support value of the
//! null, groups whose members have equal APs) and the rounding decides which side they fall on:
//! - one null AP ([`null_ap`]): `pr_r = f32(r+1) / f32(pos_r+1)` in `f32`, summed with numpy's
//!   pairwise summation (8 accumulators, blocks of 128), then divided by `M` in `f32`. For
//!   `L ≥ 65 536` copairs' positions are `uint32`, which numpy promotes to `float64`: the same
//!   steps run in `f64` and the result is rounded to `f32` once, as there.
//! - the group mean: the members' `f32` values added one by one in member (AP-row) order, then
//!   divided by `m`, in `f32` (numpy's `mean(axis=0)` of the gathered rows);
//! - the comparison: `null_f32 > f32(mAP)` — copairs compares a `float32` array with a Python
//!   float, which numpy 2 (NEP 50) casts to `float32`. Note that this contradicts
//!   `SEMANTICS.md` §25, which assumed a `float64` comparison; verified with numpy 2.4.6:
//!   `np.array([np.float32(1/3)]) > 1/3` is `False`.
//!
//! # How cpbench evaluates the null ([`NullMode::Cpbench`], the default)
//!
//! 1. **Exact, single configuration.** If a group has one configuration and `C(L, M) ≤ T`, all
//!    `M`-subsets are enumerated ([`enumerate_null`]) and `P = P(null > mAP)` is computed exactly
//!    under the `f32` rules above; the reported p-value is `p = (1 + T·P) / (T + 1)`, the
//!    expectation of copairs' Monte-Carlo estimator — the same number without its sampling error.
//! 2. **Exact, several configurations.** If every configuration of the group has
//!    `C(L, M) ≤ T` and the product of their numbers of *distinct* null AP values is `≤ T`, the
//!    joint support is enumerated (each combination evaluated with the member-order `f32` mean)
//!    and `p = (1 + T·P) / (T + 1)` as in 1.
//! 3. **Monte Carlo** otherwise: `T` draws per configuration, `p = (1 + count) / (T + 1)`.
//!
//! # Seeding (cpbench differs from copairs here, deliberately)
//!
//! copairs seeds configuration `c` with `default_rng(seed).integers(8096, size=#configs)[rank of
//! c among the call's configurations]` and caches nulls in `~/.copairs` under a key without that
//! derived seed, so its p-values depend on which other groups are in the call and on what
//! earlier calls left in the cache. cpbench's Monte-Carlo null of a configuration depends on
//! `(seed, M, L)` only: draws are made in chunks of [`CHUNK_DRAWS`]; chunk `k` uses the
//! [`Xoshiro256StarStar`] stream keyed by
//! `key = mix64(mix64(mix64(seed) ^ (M << 32 | L)) ^ k)` ([`stream_key`]), and within a chunk
//! each draw picks its subset with Floyd's algorithm (`for j in L−K..L: t = below(j+1);
//! take t, or j if t was taken`, `K = min(M, L−M)`, taking the complement when `M > L/2`).
//! Results are therefore independent of run order, of the other groups in the call, of the
//! number of threads, and of any cache (there is none outside the call); the first `T` draws
//! are the same for every `null_size ≥ T`.
//!
//! # Bit-exact copairs ([`NullMode::Copairs`])
//!
//! Reproduces copairs 0.5.5 with a fresh `cache_dir` bit for bit: per-configuration seeds from
//! [`copairs_config_seeds`], nulls from [`copairs_null`] (numpy PCG64, `Generator.permuted` of
//! each row of `arange(L)`, first `M` entries), no exact enumeration. The p-values then depend
//! on the set of configurations in the call, exactly as copairs' do (but never on a cache: a
//! copairs run that reused `~/.copairs` nulls from earlier calls is not reproducible by anyone).
//! Checked: identical p-values on every mAP fixture of `tests/fixtures/copairs`.
//!
//! # Cost
//!
//! Each configuration's draws are generated once per call (in parallel, deterministically) and
//! kept in memory (`4·T` bytes, plus a sorted copy when needed). A single-configuration group is
//! a binary search of the sorted draws with its member-order mean, which is monotone in the
//! draw; a multi-configuration group costs `m·T` additions, shared by all groups whose members
//! have the same configuration sequence.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::error::MetricError;
use crate::rng::{NumpyPcg64, Xoshiro256StarStar, mix64};

/// Draws per independently seeded chunk of a cpbench Monte-Carlo null (fixed, so that results
/// do not depend on the number of threads).
pub const CHUNK_DRAWS: usize = 8192;

/// Where a null distribution's randomness comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum NullMode {
    /// cpbench: exact where enumerable, otherwise seeded by `(seed, M, L)` only (module docs).
    #[default]
    Cpbench,
    /// copairs 0.5.5 with a fresh cache, bit for bit (numpy PCG64 stream, per-call seeding).
    Copairs,
}

/// How a group's p-value was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PValueMethod {
    /// `(1 + T·P) / (T + 1)` with `P` computed exactly by enumerating the null.
    Exact,
    /// `(1 + count) / (T + 1)` from `T` draws of cpbench's seeded null.
    MonteCarlo,
    /// `(1 + count) / (T + 1)` from copairs' own numpy stream (`NullMode::Copairs`).
    CopairsStream,
}

/// A null configuration: `n_pos` positives (`M`) among `n_total` ranked items (`L`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NullConfig {
    /// Number of positives `M` (`n_pos_pairs`), at least 1.
    pub n_pos: u32,
    /// Length `L` of the rank list (`n_total_pairs`), at least `n_pos`.
    pub n_total: u32,
}

impl NullConfig {
    /// A configuration, checked: `1 ≤ n_pos ≤ n_total`.
    pub fn new(n_pos: u32, n_total: u32) -> Result<NullConfig, MetricError> {
        if n_pos == 0 || n_pos > n_total {
            return Err(MetricError::InvalidParameter {
                name: "n_pos_pairs",
                value: n_pos.to_string(),
                reason: format!(
                    "a null configuration needs 1 <= n_pos_pairs <= n_total_pairs = {n_total}"
                ),
            });
        }
        Ok(NullConfig { n_pos, n_total })
    }

    /// `C(L, M)` if it is at most `limit`, else `None` (computed without overflow).
    pub fn n_subsets_up_to(self, limit: u64) -> Option<u64> {
        let n = u128::from(self.n_total);
        let k = u128::from(self.n_pos.min(self.n_total - self.n_pos));
        // C(n−k+i, i) grows with i, so the first partial product above `limit` decides.
        let mut c: u128 = 1;
        for i in 1..=k {
            c = c * (n - k + i) / i;
            if c > u128::from(limit) {
                return None;
            }
        }
        (c <= u128::from(limit)).then_some(c as u64)
    }
}

impl std::fmt::Display for NullConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.n_pos, self.n_total)
    }
}

// ---------------------------------------------------------------------------------------------
// One null AP, in copairs' arithmetic.
// ---------------------------------------------------------------------------------------------

/// numpy's pairwise summation (`@TYPE@_pairwise_sum`), reproduced for bit-identical sums.
macro_rules! pairwise_sum_impl {
    ($name:ident, $t:ty) => {
        /// numpy's pairwise sum of `a`, bit for bit.
        pub(crate) fn $name(a: &[$t]) -> $t {
            let n = a.len();
            if n < 8 {
                let mut res: $t = -0.0;
                for &x in a {
                    res += x;
                }
                res
            } else if n <= 128 {
                let mut r = [a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]];
                let full = n - n % 8;
                let mut i = 8;
                while i < full {
                    for (j, acc) in r.iter_mut().enumerate() {
                        *acc += a[i + j];
                    }
                    i += 8;
                }
                let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
                for &x in &a[full..] {
                    res += x;
                }
                res
            } else {
                let mut n2 = n / 2;
                n2 -= n2 % 8;
                $name(&a[..n2]) + $name(&a[n2..])
            }
        }
    };
}
pairwise_sum_impl!(pairwise_sum_f32, f32);
pairwise_sum_impl!(pairwise_sum_f64, f64);

/// Reusable buffers for [`null_ap`]-style evaluations in hot loops.
#[derive(Debug, Default)]
struct ApScratch {
    pr32: Vec<f32>,
    pr64: Vec<f64>,
}

impl ApScratch {
    /// copairs' `float32` AP of the sorted 0-based positive `positions` in a list of `n_total`.
    #[inline]
    fn ap(&mut self, positions: &[u32], n_total: u32) -> f32 {
        let m = positions.len();
        if n_total < 1 << 16 {
            self.pr32.clear();
            self.pr32.extend(
                positions
                    .iter()
                    .enumerate()
                    .map(|(r, &p)| (r + 1) as f32 / (p + 1) as f32),
            );
            // numpy reduces onto the additive identity 0, which leaves a positive sum unchanged.
            pairwise_sum_f32(&self.pr32) / m as f32
        } else {
            self.pr64.clear();
            self.pr64.extend(
                positions
                    .iter()
                    .enumerate()
                    .map(|(r, &p)| (r + 1) as f64 / (f64::from(p) + 1.0)),
            );
            (pairwise_sum_f64(&self.pr64) / m as f64) as f32
        }
    }
}

/// AP of a rank list of `n_total` items whose positives are at the sorted, distinct 0-based
/// `positions`, computed exactly as copairs' `average_precision(rel_k)` does (`float32`).
pub fn null_ap(positions: &[u32], n_total: u32) -> f32 {
    debug_assert!(positions.windows(2).all(|w| w[0] < w[1]));
    debug_assert!(positions.last().is_none_or(|&p| p < n_total));
    ApScratch::default().ap(positions, n_total)
}

// ---------------------------------------------------------------------------------------------
// Exact enumeration.
// ---------------------------------------------------------------------------------------------

/// The exact null of one configuration: its distinct AP values and how many subsets give each.
#[derive(Debug, Clone, PartialEq)]
pub struct NullSupport {
    /// The configuration enumerated.
    pub config: NullConfig,
    /// Distinct `f32` null AP values, ascending.
    pub values: Vec<f32>,
    /// `counts[i]` = number of `M`-subsets whose AP is `values[i]`.
    pub counts: Vec<u64>,
    /// `C(L, M)`, the sum of `counts`.
    pub total: u64,
}

/// Enumerates all `C(L, M)` rank lists of `config` when there are at most `limit`, else `None`.
pub fn enumerate_null(config: NullConfig, limit: u64) -> Option<NullSupport> {
    let total = config.n_subsets_up_to(limit)?;
    let (m, l) = (config.n_pos as usize, config.n_total);
    let mut scratch = ApScratch::default();
    let mut values = Vec::with_capacity(total as usize);
    let mut c: Vec<u32> = (0..m as u32).collect();
    loop {
        values.push(scratch.ap(&c, l));
        // Next combination in lexicographic order: bump the rightmost index that can move.
        let Some(i) = (0..m).rev().find(|&i| c[i] < l - (m - i) as u32) else {
            break;
        };
        c[i] += 1;
        for j in i + 1..m {
            c[j] = c[j - 1] + 1;
        }
    }
    debug_assert_eq!(values.len() as u64, total);
    values.sort_unstable_by(f32::total_cmp);
    let mut distinct: Vec<f32> = Vec::new();
    let mut counts: Vec<u64> = Vec::new();
    for v in values {
        if distinct.last() == Some(&v) {
            *counts.last_mut().expect("counts follows distinct") += 1;
        } else {
            distinct.push(v);
            counts.push(1);
        }
    }
    Some(NullSupport {
        config,
        values: distinct,
        counts,
        total,
    })
}

// ---------------------------------------------------------------------------------------------
// cpbench's seeded Monte-Carlo null.
// ---------------------------------------------------------------------------------------------

/// Key of the xoshiro256** stream that draws chunk `chunk` of `config`'s null for `seed`.
pub fn stream_key(seed: u64, config: NullConfig, chunk: u64) -> u64 {
    let word = (u64::from(config.n_pos) << 32) | u64::from(config.n_total);
    mix64(mix64(mix64(seed) ^ word) ^ chunk)
}

/// Draws uniformly random `M`-subsets of `0..L` (Floyd's algorithm) and scores them.
///
/// The drawn set is kept either as a bitset of `L` bits (when there are no more `L/64` words
/// than draws `K`: reading the set bits yields the positions already sorted) or as generation
/// stamps per position plus a sort of the `K` picks. Both give the same positions, so the
/// choice affects speed only.
struct SubsetSampler {
    config: NullConfig,
    /// Bitset mode: bit `i` set ⇔ position `i` was drawn in the current draw.
    bits: Vec<u64>,
    /// Stamp mode: `stamp[i] == generation` ⇔ position `i` was drawn in the current draw.
    stamp: Vec<u32>,
    generation: u32,
    positions: Vec<u32>,
    scratch: ApScratch,
}

impl SubsetSampler {
    fn new(config: NullConfig) -> SubsetSampler {
        let (m, l) = (config.n_pos as usize, config.n_total as usize);
        let k = m.min(l - m);
        let words = l.div_ceil(64);
        // Measured break-even: reading the bitset pays once there is a draw per word or more
        // (3:387 is 2.4× faster with stamps, 11:35 and 200:400 1.5–3× faster with bits).
        let use_bits = words <= k;
        SubsetSampler {
            config,
            bits: if use_bits { vec![0; words] } else { Vec::new() },
            stamp: if use_bits { Vec::new() } else { vec![0; l] },
            generation: 0,
            positions: Vec::with_capacity(m),
            scratch: ApScratch::default(),
        }
    }

    /// One draw's AP.
    fn draw(&mut self, rng: &mut Xoshiro256StarStar) -> f32 {
        let (m, l) = (self.config.n_pos, self.config.n_total);
        // Draw the smaller side: the positives, or the negatives when positives are the majority.
        let complement = m > l - m;
        let k = if complement { l - m } else { m };
        self.positions.clear();
        if !self.bits.is_empty() {
            self.bits.fill(0);
            for j in l - k..l {
                let t = rng.below(u64::from(j) + 1) as u32;
                let taken = self.bits[(t / 64) as usize] >> (t % 64) & 1 == 1;
                let pick = if taken { j } else { t };
                self.bits[(pick / 64) as usize] |= 1 << (pick % 64);
            }
            for (w, &word) in self.bits.iter().enumerate() {
                let mut word = if complement { !word } else { word };
                if complement && w == self.bits.len() - 1 && l % 64 != 0 {
                    word &= (1u64 << (l % 64)) - 1; // no positions past L
                }
                while word != 0 {
                    self.positions.push(w as u32 * 64 + word.trailing_zeros());
                    word &= word - 1;
                }
            }
        } else {
            if self.generation == u32::MAX {
                self.stamp.fill(0);
                self.generation = 0;
            }
            self.generation += 1;
            let generation = self.generation;
            for j in l - k..l {
                let t = rng.below(u64::from(j) + 1) as u32;
                let pick = if self.stamp[t as usize] == generation {
                    j
                } else {
                    t
                };
                self.stamp[pick as usize] = generation;
                if !complement {
                    self.positions.push(pick);
                }
            }
            if complement {
                let generation = self.generation;
                self.positions
                    .extend((0..l).filter(|&i| self.stamp[i as usize] != generation));
            } else {
                self.positions.sort_unstable();
            }
        }
        self.scratch.ap(&self.positions, l)
    }
}

/// Fills `out` with draws `first_chunk·CHUNK_DRAWS ..` of `config`'s cpbench null.
fn sample_chunks(config: NullConfig, seed: u64, first_chunk: u64, out: &mut [f32]) {
    let mut sampler = SubsetSampler::new(config);
    for (k, chunk) in out.chunks_mut(CHUNK_DRAWS).enumerate() {
        let mut rng =
            Xoshiro256StarStar::from_key(stream_key(seed, config, first_chunk + k as u64));
        for v in chunk {
            *v = sampler.draw(&mut rng);
        }
    }
}

/// `null_size` draws of `config`'s null AP from cpbench's stream for `seed` (module docs);
/// uses up to `threads` threads, with the same result for any thread count.
pub fn sample_null(config: NullConfig, null_size: usize, seed: u64, threads: usize) -> Vec<f32> {
    let mut out = vec![0f32; null_size];
    let n_chunks = null_size.div_ceil(CHUNK_DRAWS);
    let threads = threads.clamp(1, n_chunks.max(1));
    if threads == 1 {
        sample_chunks(config, seed, 0, &mut out);
        return out;
    }
    // Contiguous runs of whole chunks per thread; chunk keys are absolute, so any split agrees.
    let per_thread = n_chunks.div_ceil(threads) * CHUNK_DRAWS;
    std::thread::scope(|s| {
        for (i, part) in out.chunks_mut(per_thread).enumerate() {
            let first = (i * per_thread / CHUNK_DRAWS) as u64;
            s.spawn(move || sample_chunks(config, seed, first, part));
        }
    });
    out
}

// ---------------------------------------------------------------------------------------------
// copairs' numpy null, bit for bit.
// ---------------------------------------------------------------------------------------------

/// copairs' per-configuration seeds: `np.random.default_rng(seed).integers(8096, size=n)`, the
/// `i`-th for the `i`-th distinct configuration in ascending `(n_pos, n_total)` order.
pub fn copairs_config_seeds(seed: u64, n_configs: usize) -> Vec<u64> {
    let mut rng = NumpyPcg64::new(seed);
    (0..n_configs).map(|_| rng.integers_below(8096)).collect()
}

/// copairs' `random_ap(null_size, M, L, config_seed)`: each draw shuffles a fresh `arange(L)`
/// with numpy's `Generator.permuted` and scores its sorted first `M` entries.
pub fn copairs_null(config: NullConfig, null_size: usize, config_seed: u64) -> Vec<f32> {
    let mut rng = NumpyPcg64::new(config_seed);
    let (m, l) = (config.n_pos as usize, config.n_total);
    let mut row: Vec<u32> = Vec::with_capacity(l as usize);
    let mut positions: Vec<u32> = Vec::with_capacity(m);
    let mut scratch = ApScratch::default();
    (0..null_size)
        .map(|_| {
            row.clear();
            row.extend(0..l);
            rng.shuffle(&mut row);
            positions.clear();
            positions.extend_from_slice(&row[..m]);
            positions.sort_unstable();
            scratch.ap(&positions, l)
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// Group p-values.
// ---------------------------------------------------------------------------------------------

/// A group's p-value and how it was obtained.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GroupPValue {
    /// The p-value, in `[1/(T+1), 1]`.
    pub p_value: f64,
    /// Exact, cpbench Monte Carlo, or copairs' stream.
    pub method: PValueMethod,
}

/// The members of one group as the null sees them.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupNullInput {
    /// For each member, in AP-row order, the index of its configuration in the `configs` slice.
    pub member_configs: Vec<usize>,
    /// The group's mAP (`f64`, as copairs' pandas mean).
    pub map: f64,
}

/// Parameters of [`group_p_values`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NullParams {
    /// `T`, the number of null draws (≥ 1).
    pub null_size: usize,
    /// The seed of the call.
    pub seed: u64,
    /// cpbench's null or copairs' stream.
    pub mode: NullMode,
    /// Worker threads (results do not depend on it); 0 means all available cores.
    pub threads: usize,
}

/// `f32` mean of the member values in member order, as numpy's `mean(axis=0)` of the rows.
#[inline]
fn member_mean(members: &[usize], value_of: impl Fn(usize) -> f32) -> f32 {
    let mut acc = value_of(members[0]);
    for &c in &members[1..] {
        acc += value_of(c);
    }
    acc / members.len() as f32
}

/// The member-order mean of `m` copies of `x`; non-decreasing in `x` (each rounded addition is
/// monotone), which lets sorted nulls be searched with a binary search.
#[inline]
fn repeated_mean(x: f32, m: usize) -> f32 {
    let mut acc = x;
    for _ in 1..m {
        acc += x;
    }
    acc / m as f32
}

fn exact_p(p_gt: f64, null_size: usize) -> f64 {
    let t = null_size as f64;
    (1.0 + t * p_gt) / (t + 1.0)
}

fn counted_p(count: usize, null_size: usize) -> f64 {
    (count + 1) as f64 / (null_size + 1) as f64
}

/// Runs `f(0..n)` on up to `threads` scoped threads; the output is in index order.
fn par_map<T: Send>(n: usize, threads: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let threads = threads.clamp(1, n.max(1));
    if threads == 1 {
        return (0..n).map(f).collect();
    }
    let next = AtomicUsize::new(0);
    let mut parts: Vec<Vec<(usize, T)>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|_| {
                s.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= n {
                            break done;
                        }
                        done.push((i, f(i)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a null worker thread panicked"))
            .collect()
    });
    let mut out: Vec<Option<T>> = (0..n).map(|_| None).collect();
    for (i, v) in parts.iter_mut().flat_map(std::mem::take) {
        out[i] = Some(v);
    }
    out.into_iter()
        .map(|v| v.expect("every index was computed"))
        .collect()
}

fn resolve_threads(threads: usize) -> usize {
    if threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        threads
    }
}

/// How one group's p-value will be computed.
enum Plan {
    ExactSingle(usize),
    ExactJoint(Vec<usize>),
    SortedSingle(usize),
    Joint,
}

/// P(member-order mean > a) over the joint support of the group's configurations.
fn exact_joint_p_gt(
    member_configs: &[usize],
    distinct: &[usize],
    supports: &[Option<NullSupport>],
    a: f32,
) -> f64 {
    let sup: Vec<&NullSupport> = distinct
        .iter()
        .map(|&c| supports[c].as_ref().expect("planned exact supports exist"))
        .collect();
    // Member → position in `distinct`, so the mixed-radix digits can be looked up per member.
    let slot: Vec<usize> = member_configs
        .iter()
        .map(|c| {
            distinct
                .iter()
                .position(|d| d == c)
                .expect("member config is distinct")
        })
        .collect();
    let mut digit = vec![0usize; sup.len()];
    let (mut sum, mut comp) = (0f64, 0f64);
    loop {
        let v = member_mean(&slot, |s| sup[s].values[digit[s]]);
        if v > a {
            let w: f64 = sup
                .iter()
                .zip(&digit)
                .map(|(s, &d)| s.counts[d] as f64 / s.total as f64)
                .product();
            // Neumaier summation keeps P accurate to ~1 ulp over up to T terms.
            let t = sum + w;
            comp += if sum.abs() >= w.abs() {
                (sum - t) + w
            } else {
                (w - t) + sum
            };
            sum = t;
        }
        let mut i = 0;
        loop {
            if i == sup.len() {
                return sum + comp;
            }
            digit[i] += 1;
            if digit[i] < sup[i].values.len() {
                break;
            }
            digit[i] = 0;
            i += 1;
        }
    }
}

/// p-values of groups of AP rows against their null (module docs), one per entry of `groups`.
///
/// `configs` are the distinct configurations of the call (any order; in
/// [`NullMode::Copairs`] their sorted rank fixes each one's seed, as in copairs); each group lists
/// its members' configuration indices in AP-row order.
pub fn group_p_values(
    configs: &[NullConfig],
    groups: &[GroupNullInput],
    params: &NullParams,
) -> Result<Vec<GroupPValue>, MetricError> {
    let t = params.null_size;
    crate::params::null_size(t as u64)?;
    let mut sorted: Vec<NullConfig> = configs.to_vec();
    sorted.sort_unstable();
    if let Some(w) = sorted.windows(2).find(|w| w[0] == w[1]) {
        return Err(MetricError::InvalidParameter {
            name: "configs",
            value: w[0].to_string(),
            reason: "null configurations must be distinct".into(),
        });
    }
    for (g, grp) in groups.iter().enumerate() {
        if grp.member_configs.is_empty() {
            return Err(MetricError::InvalidParameter {
                name: "groups",
                value: format!("group {g}"),
                reason: "a group needs at least one member".into(),
            });
        }
        if let Some(&c) = grp.member_configs.iter().find(|&&c| c >= configs.len()) {
            return Err(MetricError::InvalidParameter {
                name: "member_configs",
                value: c.to_string(),
                reason: format!(
                    "group {g} refers to a configuration beyond the {} given",
                    configs.len()
                ),
            });
        }
        if !grp.map.is_finite() {
            return Err(MetricError::InvalidParameter {
                name: "map",
                value: grp.map.to_string(),
                reason: format!("group {g}: a mAP must be finite"),
            });
        }
    }
    let threads = resolve_threads(params.threads);
    let distinct_of = |grp: &GroupNullInput| -> Vec<usize> {
        let mut d = grp.member_configs.clone();
        d.sort_unstable();
        d.dedup();
        d
    };

    let (plans, supports, method) = match params.mode {
        NullMode::Copairs => {
            let plans = groups
                .iter()
                .map(|g| match distinct_of(g).as_slice() {
                    [c] => Plan::SortedSingle(*c),
                    _ => Plan::Joint,
                })
                .collect::<Vec<_>>();
            (
                plans,
                vec![None; configs.len()],
                PValueMethod::CopairsStream,
            )
        }
        NullMode::Cpbench => {
            // Phase 1: enumerate every configuration that some group may use exactly.
            let mut enumerable = vec![false; configs.len()];
            for g in groups {
                for c in distinct_of(g) {
                    enumerable[c] = configs[c].n_subsets_up_to(t as u64).is_some();
                }
            }
            let supports: Vec<Option<NullSupport>> = par_map(configs.len(), threads, |c| {
                if enumerable[c] {
                    enumerate_null(configs[c], t as u64)
                } else {
                    None
                }
            });
            // Phase 2: exact where the (joint) support is small, else Monte Carlo.
            let plans = groups
                .iter()
                .map(|g| {
                    let d = distinct_of(g);
                    if d.iter().all(|&c| supports[c].is_some()) {
                        if let [c] = d.as_slice() {
                            return Plan::ExactSingle(*c);
                        }
                        let mut product: u128 = 1;
                        for &c in &d {
                            let n = supports[c].as_ref().map_or(0, |s| s.values.len()) as u128;
                            product = product.saturating_mul(n);
                        }
                        if product <= t as u128 {
                            return Plan::ExactJoint(d);
                        }
                    }
                    match d.as_slice() {
                        [c] => Plan::SortedSingle(*c),
                        _ => Plan::Joint,
                    }
                })
                .collect::<Vec<_>>();
            (plans, supports, PValueMethod::MonteCarlo)
        }
    };

    // Phase 3: sample the configurations that some Monte-Carlo group needs.
    let mut need_sample = vec![false; configs.len()];
    let mut need_sorted = vec![false; configs.len()];
    for (g, plan) in groups.iter().zip(&plans) {
        match plan {
            Plan::SortedSingle(c) => {
                need_sample[*c] = true;
                need_sorted[*c] = true;
            }
            Plan::Joint => g.member_configs.iter().for_each(|&c| need_sample[c] = true),
            Plan::ExactSingle(_) | Plan::ExactJoint(_) => {}
        }
    }
    let todo: Vec<usize> = (0..configs.len()).filter(|&c| need_sample[c]).collect();
    let mut samples: Vec<Option<Vec<f32>>> = vec![None; configs.len()];
    match params.mode {
        NullMode::Copairs => {
            let seeds = copairs_config_seeds(params.seed, configs.len());
            let rank = |c: usize| {
                sorted
                    .binary_search(&configs[c])
                    .expect("config is in sorted")
            };
            let made = par_map(todo.len(), threads, |i| {
                let c = todo[i];
                copairs_null(configs[c], t, seeds[rank(c)])
            });
            for (&c, v) in todo.iter().zip(made) {
                samples[c] = Some(v);
            }
        }
        NullMode::Cpbench => {
            // Few configurations: split each one's chunks over the threads instead.
            let inner = (threads / todo.len().max(1)).max(1);
            let made = par_map(todo.len(), threads, |i| {
                sample_null(configs[todo[i]], t, params.seed, inner)
            });
            for (&c, v) in todo.iter().zip(made) {
                samples[c] = Some(v);
            }
        }
    }
    let sorted_samples: Vec<Option<Vec<f32>>> = par_map(configs.len(), threads, |c| {
        need_sorted[c].then(|| {
            let mut v = samples[c].clone().expect("sorted configs were sampled");
            v.sort_unstable_by(f32::total_cmp);
            v
        })
    });

    // Phase 4: Monte-Carlo groups with several configurations. Groups whose members have the
    // same configuration sequence (common: one plate layout for every compound) share one null
    // vector, so each distinct sequence is evaluated once and, if shared, sorted and searched.
    let mut joint: BTreeMap<&[usize], Vec<usize>> = BTreeMap::new();
    for (g, plan) in plans.iter().enumerate() {
        if matches!(plan, Plan::Joint) {
            joint.entry(&groups[g].member_configs).or_default().push(g);
        }
    }
    let joint: Vec<(&[usize], Vec<usize>)> = joint.into_iter().collect();
    let joint_counts: Vec<Vec<(usize, usize)>> = par_map(joint.len(), threads, |j| {
        let (sequence, members) = &joint[j];
        let rows: Vec<&[f32]> = sequence
            .iter()
            .map(|&c| samples[c].as_deref().expect("joint configs were sampled"))
            .collect();
        let null = member_order_means(&rows, t);
        // A linear count per group beats an O(T log T) sort until many groups share the null.
        if members.len() < 32 {
            return members
                .iter()
                .map(|&g| {
                    let a = groups[g].map as f32;
                    (g, null.iter().filter(|&&x| x > a).count())
                })
                .collect();
        }
        let mut null = null;
        null.sort_unstable_by(f32::total_cmp);
        members
            .iter()
            .map(|&g| {
                let a = groups[g].map as f32;
                (g, t - null.partition_point(|&x| x <= a))
            })
            .collect()
    });
    let mut joint_count = vec![0usize; groups.len()];
    for (g, count) in joint_counts.into_iter().flatten() {
        joint_count[g] = count;
    }

    // Phase 5: evaluate the groups.
    Ok(par_map(groups.len(), threads, |g| {
        let grp = &groups[g];
        let a = grp.map as f32;
        let m = grp.member_configs.len();
        match &plans[g] {
            Plan::ExactSingle(c) => {
                let s = supports[*c].as_ref().expect("planned exact supports exist");
                let first = s.values.partition_point(|&v| repeated_mean(v, m) <= a);
                let above: u64 = s.counts[first..].iter().sum();
                // p = (total + T·above) / (total·(T+1)), with the integer part exact.
                let num = u128::from(s.total) + t as u128 * u128::from(above);
                GroupPValue {
                    p_value: num as f64 / (s.total as f64 * (t as f64 + 1.0)),
                    method: PValueMethod::Exact,
                }
            }
            Plan::ExactJoint(d) => GroupPValue {
                p_value: exact_p(exact_joint_p_gt(&grp.member_configs, d, &supports, a), t),
                method: PValueMethod::Exact,
            },
            Plan::SortedSingle(c) => {
                let v = sorted_samples[*c].as_ref().expect("sorted sample exists");
                let first = v.partition_point(|&x| repeated_mean(x, m) <= a);
                GroupPValue {
                    p_value: counted_p(t - first, t),
                    method,
                }
            }
            Plan::Joint => GroupPValue {
                p_value: counted_p(joint_count[g], t),
                method,
            },
        }
    }))
}

/// The group null of a member sequence: draw `t` of each member's row, added in member order
/// and divided by the member count, all in `f32` (numpy's `mean(axis=0)` of the gathered rows).
fn member_order_means(rows: &[&[f32]], t: usize) -> Vec<f32> {
    let mf = rows.len() as f32;
    let mut out = rows[0][..t].to_vec();
    // Blocks keep the accumulator in L1 while every member row streams past it.
    const BLOCK: usize = 4096;
    for start in (0..t).step_by(BLOCK) {
        let end = (start + BLOCK).min(t);
        let acc = &mut out[start..end];
        for row in &rows[1..] {
            for (x, &y) in acc.iter_mut().zip(&row[start..end]) {
                *x += y;
            }
        }
        for x in acc.iter_mut() {
            *x /= mf;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(m: u32, l: u32) -> NullConfig {
        NullConfig::new(m, l).unwrap()
    }

    /// All M-subsets of 0..L by brute force (bitmasks), for small L.
    fn brute_force(m: u32, l: u32) -> Vec<f32> {
        let mut out = Vec::new();
        for mask in 0u32..(1 << l) {
            if mask.count_ones() == m {
                let pos: Vec<u32> = (0..l).filter(|i| mask >> i & 1 == 1).collect();
                out.push(null_ap(&pos, l));
            }
        }
        out.sort_unstable_by(f32::total_cmp);
        out
    }

    #[test]
    fn config_validation_and_subset_counts() {
        assert!(NullConfig::new(0, 5).is_err());
        assert!(NullConfig::new(6, 5).is_err());
        assert_eq!(cfg(3, 31).n_subsets_up_to(10_000), Some(4495));
        assert_eq!(cfg(3, 31).n_subsets_up_to(4494), None);
        assert_eq!(cfg(5, 5).n_subsets_up_to(1), Some(1));
        assert_eq!(cfg(28, 30).n_subsets_up_to(1000), Some(435));
        assert_eq!(cfg(3, 387).n_subsets_up_to(u64::MAX), Some(9_585_345));
        assert_eq!(cfg(1000, 100_000).n_subsets_up_to(u64::MAX), None);
    }

    #[test]
    fn null_ap_matches_the_formula_and_known_values() {
        assert_eq!(null_ap(&[0, 1, 2], 10), 1.0);
        assert_eq!(null_ap(&[0], 4), 1.0);
        assert_eq!(null_ap(&[3], 4), 0.25);
        // (1/1 + 2/3) / 2 = 5/6.
        assert_eq!(null_ap(&[0, 2], 5), (1.0f32 + 2.0 / 3.0) / 2.0);
        // f64 path for L ≥ 65 536: one rounding of the f64 result.
        let v = null_ap(&[1, 70_000], 70_001);
        assert_eq!(v, ((0.5f64 + 2.0 / 70_001.0) / 2.0) as f32);
    }

    #[test]
    fn null_ap_is_bit_identical_to_numpy_float32_pairwise_sums() {
        // copairs.compute.average_precision(np.array([pos], dtype=np.uint16)) with numpy 2.4.6,
        // as f32 bit patterns; lengths chosen to hit each branch of numpy's pairwise sum. A plain
        // left-to-right f32 sum differs from all of the first four.
        let cases: Vec<(Vec<u32>, u32, u32)> = vec![
            ((0..20).map(|i| 3 * i + 1).collect(), 70, 0x3eb6_f61e),
            ((0..9).map(|i| 7 * i + 2).collect(), 80, 0x3e3c_9917),
            ((0..150).map(|i| 5 * i / 2).collect(), 400, 0x3ed3_eee9),
            ((0..300).map(|i| 3 * i + 2).collect(), 1000, 0x3eaa_aaab),
            (vec![0, 5, 17], 30, 0x3f00_0000),
        ];
        for (pos, l, bits) in cases {
            let got = null_ap(&pos, l);
            assert_eq!(got.to_bits(), bits, "M={} L={l}: {got}", pos.len());
        }
    }

    #[test]
    fn enumeration_matches_brute_force() {
        for l in 1..=12u32 {
            for m in 1..=l {
                let s = enumerate_null(cfg(m, l), u64::MAX).unwrap();
                let mut expanded: Vec<f32> = Vec::new();
                for (v, &c) in s.values.iter().zip(&s.counts) {
                    expanded.extend(std::iter::repeat_n(*v, c as usize));
                }
                assert_eq!(expanded, brute_force(m, l), "M={m} L={l}");
                assert!(s.values.windows(2).all(|w| w[0] < w[1]));
            }
        }
        assert!(enumerate_null(cfg(3, 31), 4494).is_none());
    }

    #[test]
    fn sampled_null_has_the_enumerated_distribution() {
        // Chi-square goodness of fit of 200 000 draws against the exact support, for a sparse
        // (Floyd + sort), a dense (stamp scan) and a complement configuration.
        for (m, l) in [(2u32, 40u32), (4, 12), (9, 12)] {
            let c = cfg(m, l);
            let s = enumerate_null(c, u64::MAX).unwrap();
            let draws = sample_null(c, 200_000, 42, 2);
            let mut observed = vec![0f64; s.values.len()];
            for d in &draws {
                let i = s
                    .values
                    .binary_search_by(|v| v.total_cmp(d))
                    .expect("draw in support");
                observed[i] += 1.0;
            }
            let n = draws.len() as f64;
            let chi2: f64 = observed
                .iter()
                .zip(&s.counts)
                .map(|(&o, &k)| {
                    let e = n * k as f64 / s.total as f64;
                    (o - e) * (o - e) / e
                })
                .sum();
            let df = (s.values.len() - 1) as f64;
            // Mean df, sd sqrt(2 df): 6 sd is far beyond chance for a fixed seed.
            assert!(
                chi2 < df + 6.0 * (2.0 * df).sqrt() + 10.0,
                "M={m} L={l}: chi2 {chi2} df {df}"
            );
        }
    }

    #[test]
    fn sampler_follows_the_documented_stream() {
        // Reference: Floyd's algorithm on a BTreeSet with the documented keys, chunk by chunk;
        // covers the bitset and stamp modes, with and without the complement, and a chunk edge.
        let t = CHUNK_DRAWS + 100;
        for (m, l) in [
            (3, 387),
            (3, 4999),
            (4990, 5000),
            (250, 300),
            (64, 130),
            (1, 1),
            (5, 5),
        ] {
            let c = cfg(m, l);
            let got = sample_null(c, t, 17, 1);
            let complement = m > l - m;
            let k = if complement { l - m } else { m };
            let mut want = Vec::with_capacity(t);
            for chunk in 0..t.div_ceil(CHUNK_DRAWS) {
                let mut rng = Xoshiro256StarStar::from_key(stream_key(17, c, chunk as u64));
                for _ in 0..CHUNK_DRAWS.min(t - want.len()) {
                    let mut set = std::collections::BTreeSet::new();
                    for j in l - k..l {
                        let r = rng.below(u64::from(j) + 1) as u32;
                        set.insert(if set.contains(&r) { j } else { r });
                    }
                    let pos: Vec<u32> = if complement {
                        (0..l).filter(|i| !set.contains(i)).collect()
                    } else {
                        set.into_iter().collect()
                    };
                    want.push(null_ap(&pos, l));
                }
            }
            assert_eq!(got, want, "M={m} L={l}");
        }
    }

    #[test]
    fn sampling_is_deterministic_thread_independent_and_prefix_stable() {
        let c = cfg(3, 387);
        let a = sample_null(c, 30_000, 9, 1);
        let b = sample_null(c, 30_000, 9, 3);
        assert_eq!(a, b);
        let longer = sample_null(c, 40_000, 9, 2);
        assert_eq!(&longer[..30_000], &a[..]);
        assert_ne!(sample_null(c, 1000, 10, 1), a[..1000].to_vec());
        assert_ne!(sample_null(cfg(3, 388), 1000, 9, 1), a[..1000].to_vec());
    }

    #[test]
    fn copairs_null_matches_numpy() {
        // copairs.compute.random_ap(5, 3, 12, 6886) with numpy 2.4.6, as f32 bit patterns.
        let got: Vec<u32> = copairs_null(cfg(3, 12), 5, 6886)
            .iter()
            .map(|v| v.to_bits())
            .collect();
        assert_eq!(
            got,
            vec![
                0x3e85_b05b,
                0x3f25_7eb5,
                0x3ed7_5d77,
                0x3e9b_6db7,
                0x3ed9_364d
            ]
        );
        assert_eq!(copairs_config_seeds(0, 2), vec![6886, 5156]);
    }

    fn one_group(members: Vec<usize>, map: f64) -> GroupNullInput {
        GroupNullInput {
            member_configs: members,
            map,
        }
    }

    fn params(t: usize, mode: NullMode) -> NullParams {
        NullParams {
            null_size: t,
            seed: 0,
            mode,
            threads: 2,
        }
    }

    #[test]
    fn exact_single_config_p_value_counts_strictly_greater_f32_values() {
        // M=1, L=4: null APs 1, 1/2, 1/3, 1/4 each with probability 1/4.
        let configs = [cfg(1, 4)];
        let groups = vec![
            one_group(vec![0], 1.0),       // nothing above 1: P = 0
            one_group(vec![0], 0.5),       // only 1: P = 1/4
            one_group(vec![0], 1.0 / 3.0), // f32(1/3) is not > f32(1/3): P = 1/2
            one_group(vec![0, 0], 0.3),    // 1/3, 1/2, 1: P = 3/4
        ];
        let t = 1000;
        let got = group_p_values(&configs, &groups, &params(t, NullMode::Cpbench)).unwrap();
        for (g, p_gt) in got.iter().zip([0.0, 0.25, 0.5, 0.75]) {
            assert_eq!(g.method, PValueMethod::Exact);
            assert!(
                (g.p_value - exact_p(p_gt, t)).abs() < 1e-15,
                "{g:?} vs {p_gt}"
            );
        }
    }

    #[test]
    fn exact_joint_matches_brute_force_over_the_product() {
        // Two configurations, members interleaved: c0 c1 c0.
        let configs = [cfg(1, 3), cfg(2, 4)];
        let (s0, s1) = (brute_force(1, 3), brute_force(2, 4));
        let map = 0.7;
        let mut above = 0usize;
        for &x in &s0 {
            for &y in &s1 {
                let v = ((x + y) + x) / 3.0;
                above += usize::from(v > map as f32);
            }
        }
        let p_gt = above as f64 / (s0.len() * s1.len()) as f64;
        let t = 100;
        let got = group_p_values(
            &configs,
            &[one_group(vec![0, 1, 0], map)],
            &params(t, NullMode::Cpbench),
        )
        .unwrap();
        assert_eq!(got[0].method, PValueMethod::Exact);
        assert!((got[0].p_value - exact_p(p_gt, t)).abs() < 1e-15);
    }

    #[test]
    fn monte_carlo_agrees_with_exact_within_sampling_error() {
        // C(30, 3) = 4060 > T, so this is sampled; compare with the enumerated P.
        let c = cfg(3, 30);
        let s = enumerate_null(c, u64::MAX).unwrap();
        let t = 4000;
        for map in [0.2, 0.35, 0.5] {
            let first = s
                .values
                .partition_point(|&v| repeated_mean(v, 2) <= map as f32);
            let p_gt = s.counts[first..].iter().sum::<u64>() as f64 / s.total as f64;
            let got = group_p_values(
                &[c],
                &[one_group(vec![0, 0], map)],
                &params(t, NullMode::Cpbench),
            )
            .unwrap()[0];
            assert_eq!(got.method, PValueMethod::MonteCarlo);
            let sd = (p_gt * (1.0 - p_gt) / t as f64).sqrt();
            assert!((got.p_value - exact_p(p_gt, t)).abs() < 5.0 * sd + 2.0 / t as f64);
        }
    }

    #[test]
    fn sorted_single_and_joint_paths_agree() {
        // The binary search over the sorted null and the blocked joint loop must count exactly
        // what a direct member-order evaluation of the sampled vectors counts.
        let c = cfg(4, 60);
        let t = 5000;
        let draws = sample_null(c, t, 0, 1);
        let map = 0.31;
        let direct = draws
            .iter()
            .filter(|&&x| repeated_mean(x, 3) > map as f32)
            .count();
        let got = group_p_values(
            &[c],
            &[one_group(vec![0, 0, 0], map)],
            &params(t, NullMode::Cpbench),
        )
        .unwrap()[0];
        assert_eq!(got.p_value, counted_p(direct, t));
        // Joint path: two configs, direct member-order count over the two vectors.
        let c2 = cfg(5, 61);
        let d2 = sample_null(c2, t, 0, 1);
        let direct = (0..t)
            .filter(|&i| ((draws[i] + d2[i]) + draws[i]) / 3.0 > map as f32)
            .count();
        let got = group_p_values(
            &[c, c2],
            &[one_group(vec![0, 1, 0], map)],
            &params(t, NullMode::Cpbench),
        )
        .unwrap()[0];
        assert_eq!(got.method, PValueMethod::MonteCarlo);
        assert_eq!(got.p_value, counted_p(direct, t));
        // Groups sharing a member sequence share one null (sorted once 32 or more share it);
        // another member order is a null of its own.
        let maps: Vec<f64> = (0..40).map(|k| 0.1 + 0.01 * k as f64).collect();
        let mut groups: Vec<GroupNullInput> =
            maps.iter().map(|&x| one_group(vec![0, 1, 0], x)).collect();
        groups.push(one_group(vec![1, 0, 0], map));
        groups.push(one_group(vec![1, 0, 0], 0.2));
        let got = group_p_values(&[c, c2], &groups, &params(t, NullMode::Cpbench)).unwrap();
        for (k, &x) in maps.iter().enumerate() {
            let direct = (0..t)
                .filter(|&i| ((draws[i] + d2[i]) + draws[i]) / 3.0 > x as f32)
                .count();
            assert_eq!(got[k].p_value, counted_p(direct, t), "map {x}");
        }
        for (k, x) in [(40, map), (41, 0.2)] {
            let direct = (0..t)
                .filter(|&i| ((d2[i] + draws[i]) + draws[i]) / 3.0 > x as f32)
                .count();
            assert_eq!(got[k].p_value, counted_p(direct, t));
        }
    }

    #[test]
    fn input_errors_are_reported() {
        let c = [cfg(1, 3)];
        assert!(
            group_p_values(
                &c,
                &[one_group(vec![0], 0.5)],
                &params(0, NullMode::Cpbench)
            )
            .is_err()
        );
        assert!(
            group_p_values(
                &c,
                &[one_group(vec![1], 0.5)],
                &params(10, NullMode::Cpbench)
            )
            .is_err()
        );
        assert!(
            group_p_values(
                &c,
                &[one_group(vec![], 0.5)],
                &params(10, NullMode::Cpbench)
            )
            .is_err()
        );
        assert!(
            group_p_values(
                &c,
                &[one_group(vec![0], f64::NAN)],
                &params(10, NullMode::Cpbench)
            )
            .is_err()
        );
        let dup = [cfg(1, 3), cfg(1, 3)];
        assert!(
            group_p_values(
                &dup,
                &[one_group(vec![0], 0.5)],
                &params(10, NullMode::Cpbench)
            )
            .is_err()
        );
    }
}
