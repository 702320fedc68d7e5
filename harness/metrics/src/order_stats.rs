//! Exact order statistics of a stream of `f64` values that can be replayed but not stored.
//!
//! Contract: [`OrderStats`] finds the values at two adjacent 0-based ascending ranks
//! (`r1 ∈ {r0, r0 + 1}`, in `f64::total_cmp` order) of a stream of known length, exactly, by
//! narrowing histogram passes over the bit patterns ([`order_key`]); memory stays within the
//! collect limit plus one histogram, however long the stream. The caller replays the *same*
//! values (in any order) on every pass until [`OrderStats::result`] is `Some`:
//!
//! ```text
//! while stats.result().is_none() { stats.begin_pass(); for v in stream { stats.push(v) } stats.end_pass() }
//! ```
//!
//! Combined with [`crate::quantile::linear_quantile_ranks`] and [`crate::quantile::lerp`] this
//! gives numpy's linear quantile (and median) of streams too large to hold.

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
pub(crate) struct OrderStats {
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
    pub(crate) fn new(total: u64, r0: u64, r1: u64, limit: usize) -> OrderStats {
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

    pub(crate) fn result(&self) -> Option<(f64, f64)> {
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

    pub(crate) fn begin_pass(&mut self) {
        if matches!(self.pass, Pass::Extremes { .. }) {
            return;
        }
        self.pass = if self.in_range <= self.limit as u64 {
            Pass::Collect(Vec::with_capacity(self.in_range as usize))
        } else {
            Pass::Histogram(vec![0; BUCKETS as usize])
        };
    }

    pub(crate) fn push(&mut self, v: f64) {
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

    pub(crate) fn end_pass(&mut self) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
