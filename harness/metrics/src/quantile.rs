//! numpy's default ("linear") quantile, and the rank/interpolation pieces it is made of.
//!
//! Contract: results equal numpy 2's `np.quantile(v, q)` / `np.percentile(v, 100·q)` with
//! `method="linear"` bit for bit, not only to rounding: the virtual index `(n − 1)·q`, its two
//! neighbouring order statistics (`linear_quantile_ranks`) and numpy's two-sided `_lerp`
//! (`lerp`). [`quantile_linear`] selects the order statistics from an unsorted slice; callers
//! that already hold the order statistics (sorted values, a streamed search such as
//! `order_stats`) combine the two pieces themselves. Values are `f64`;
//! [`quantile_linear`] rejects NaN rather than skipping it.

use crate::error::MetricError;

/// numpy's default (`method="linear"`) quantile of `values` at fraction `q ∈ [0, 1]`.
///
/// Exactly as numpy 2: virtual index `(len − 1)·q`, the two neighbouring order statistics
/// `a ≤ b`, `gamma` the fractional part, and `b − (b − a)(1 − gamma)` when `gamma ≥ ½`, else
/// `a + (b − a)·gamma`. Reorders `values` (selection, not a full sort). `np.percentile(v, p)`
/// is `q = p / 100`. Errors on an empty slice, a NaN value or `q` outside `[0, 1]`.
pub fn quantile_linear(values: &mut [f64], q: f64) -> Result<f64, MetricError> {
    if values.is_empty() {
        return Err(MetricError::TooFewRows {
            what: "quantile",
            needed: 1,
            got: 0,
        });
    }
    if !(0.0..=1.0).contains(&q) {
        return Err(MetricError::InvalidParameter {
            name: "quantile",
            value: q.to_string(),
            reason: "must be within [0, 1]".to_owned(),
        });
    }
    if let Some(i) = values.iter().position(|v| v.is_nan()) {
        return Err(MetricError::InvalidParameter {
            name: "values",
            value: format!("NaN at index {i}"),
            reason: "a quantile needs comparable values".to_owned(),
        });
    }
    let (lo, hi, gamma) = linear_quantile_ranks(values.len() as u64, q);
    let (_, &mut a, right) = values.select_nth_unstable_by(lo as usize, f64::total_cmp);
    let b = if hi == lo {
        a
    } else {
        // The (lo + 1)-th order statistic is the smallest value right of the lo-th.
        right.iter().copied().fold(f64::INFINITY, f64::min)
    };
    Ok(lerp(a, b, gamma))
}

/// For numpy's linear quantile of `n ≥ 1` sorted values at `q`: the 0-based ranks of the two
/// neighbours and the interpolation weight, as numpy's `_get_indexes` / `_get_gamma` give them.
pub(crate) fn linear_quantile_ranks(n: u64, q: f64) -> (u64, u64, f64) {
    let virtual_index = (n - 1) as f64 * q;
    if virtual_index >= (n - 1) as f64 {
        // numpy takes the last value twice there; gamma is irrelevant when a == b.
        return (n - 1, n - 1, 0.0);
    }
    let lo = virtual_index.floor();
    (lo as u64, lo as u64 + 1, virtual_index - lo)
}

/// numpy's `_lerp`: interpolation that is exact at both ends and monotone in `gamma`.
pub(crate) fn lerp(a: f64, b: f64, gamma: f64) -> f64 {
    let diff = b - a;
    if gamma >= 0.5 {
        b - diff * (1.0 - gamma)
    } else {
        a + diff * gamma
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_matches_numpy() {
        // np.percentile([...], p) with numpy 2.4.6.
        let v = [0.3, -1.0, 2.5, 0.3, 7.0, 1.25, -0.5];
        let cases = [
            (99.0, 6.729_999_999_999_998),
            (50.0, 0.3),
            (0.0, -1.0),
            (100.0, 7.0),
            (25.0, -0.100_000_000_000_000_03),
            (90.0, 4.300_000_000_000_002),
        ];
        for (p, want) in cases {
            let got = quantile_linear(&mut v.clone(), p / 100.0).unwrap();
            assert_eq!(got, want, "p = {p}");
        }
        // Two values at the 99th percentile: index 0.99, so gamma ≥ 0.5 takes b − (b−a)·0.01.
        assert_eq!(quantile_linear(&mut [1.0, 2.0], 0.99).unwrap(), 1.99);
        assert_eq!(quantile_linear(&mut [4.0], 0.99).unwrap(), 4.0);
        assert!(quantile_linear(&mut [], 0.5).is_err());
        assert!(quantile_linear(&mut [1.0], 1.5).is_err());
        assert!(quantile_linear(&mut [1.0, f64::NAN], 0.5).is_err());
    }

    #[test]
    fn quantile_agrees_with_sorting() {
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        for n in [1usize, 2, 3, 10, 101, 384] {
            let v: Vec<f64> = (0..n).map(|_| (next() * 8.0).round() / 4.0).collect();
            let mut sorted = v.clone();
            sorted.sort_by(f64::total_cmp);
            for q in [0.0, 0.01, 0.5, 0.95, 0.99, 1.0] {
                let (lo, hi, g) = linear_quantile_ranks(n as u64, q);
                let want = lerp(sorted[lo as usize], sorted[hi as usize], g);
                assert_eq!(
                    quantile_linear(&mut v.clone(), q).unwrap(),
                    want,
                    "n {n} q {q}"
                );
            }
        }
    }
}
