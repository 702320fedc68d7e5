//! Scores comparing two partitions of the same items: a ground truth (`true`, e.g. the MoA of
//! each profile) and a clustering (`pred`, e.g. one k-means restart).
//!
//! Every score is an exact function of the contingency table `n_ij` (items with true label `i`
//! and predicted label `j`), with class sizes `a_i = Σ_j n_ij`, cluster sizes `b_j = Σ_i n_ij` and
//! `N` items. Labels are arbitrary `u32` codes; only equality matters.
//!
//! - **NMI** — scikit-learn 1.9 `normalized_mutual_info_score` with `average_method =
//!   "arithmetic"`: `MI / ((H(true) + H(pred)) / 2)`, natural logarithms. Its special cases are
//!   kept: both labelings a single cluster, or both empty → 1; `MI = 0` (including one side a
//!   single cluster and the other not) → 0. `MI` and the entropies use scikit-learn's formulas
//!   term by term (each `MI` term below machine epsilon in magnitude is set to 0; the sum is
//!   clipped at 0).
//! - **ARI** — scikit-learn `adjusted_rand_score` from the pair confusion matrix, in exact
//!   integer arithmetic (`i128`, as scikit-learn converts to Python integers before the final
//!   division); identical pair structure (no pair split one way and joined the other) → 1.
//! - **Homogeneity / completeness / V-measure** — scikit-learn
//!   `homogeneity_completeness_v_measure` with `beta = 1`: `MI / H(true)` and `MI / H(pred)`,
//!   each 1 when its entropy is 0; V = harmonic mean (0 when both are 0).
//! - **Purity** — `(1/N) Σ_j max_i n_ij`, the share of items in their cluster's majority class;
//!   **inverse purity** — `(1/N) Σ_i max_j n_ij` (purity with the roles swapped). Purity is at
//!   least `max_i a_i / N` (the largest class share) and at least `1 / (number of classes)`.
//!
//! Empty input: scikit-learn returns 1 for NMI, ARI, homogeneity, completeness and V-measure of
//! two empty labelings; cpbench matches it and, by the same vacuous-perfection convention,
//! defines purity and inverse purity of empty input as 1. Labelings of different lengths are a
//! [`MetricError::ShapeMismatch`].

use crate::error::MetricError;

/// The contingency table of two labelings, in the sparse form the scores need.
#[derive(Debug, Clone, PartialEq)]
pub struct Contingency {
    /// Number of items `N`.
    pub n: usize,
    /// Size of each true class `a_i`, classes in increasing code order.
    pub class_sizes: Vec<u64>,
    /// Size of each predicted cluster `b_j`, clusters in increasing code order.
    pub cluster_sizes: Vec<u64>,
    /// Non-zero cells `(i, j, n_ij)`, row-major (class, then cluster), as scipy lists them.
    pub cells: Vec<(usize, usize, u64)>,
}

impl Contingency {
    /// Builds the table of `labels_true` against `labels_pred` (same length).
    pub fn new(labels_true: &[u32], labels_pred: &[u32]) -> Result<Contingency, MetricError> {
        if labels_true.len() != labels_pred.len() {
            return Err(MetricError::ShapeMismatch {
                what: "labels_pred length (must equal labels_true length)",
                expected: labels_true.len(),
                got: labels_pred.len(),
            });
        }
        let (ti, n_classes) = dense_codes(labels_true);
        let (pj, n_clusters) = dense_codes(labels_pred);
        let mut pairs: Vec<(usize, usize)> = ti.into_iter().zip(pj).collect();
        pairs.sort_unstable();
        let mut class_sizes = vec![0u64; n_classes];
        let mut cluster_sizes = vec![0u64; n_clusters];
        let mut cells: Vec<(usize, usize, u64)> = Vec::new();
        for &(i, j) in &pairs {
            class_sizes[i] += 1;
            cluster_sizes[j] += 1;
            match cells.last_mut() {
                Some(last) if last.0 == i && last.1 == j => last.2 += 1,
                _ => cells.push((i, j, 1)),
            }
        }
        Ok(Contingency {
            n: pairs.len(),
            class_sizes,
            cluster_sizes,
            cells,
        })
    }

    /// Mutual information in nats, term by term as scikit-learn's `mutual_info_score`.
    pub fn mutual_info(&self) -> f64 {
        if self.class_sizes.len() == 1 || self.cluster_sizes.len() == 1 || self.n == 0 {
            return 0.0;
        }
        let total = self.n as f64;
        let log_total = total.ln();
        let log_rows = (self.class_sizes.iter().sum::<u64>() as f64).ln();
        let log_cols = (self.cluster_sizes.iter().sum::<u64>() as f64).ln();
        let mut mi = 0.0;
        for &(i, j, c) in &self.cells {
            let c_f = c as f64;
            let p = c_f / total;
            let outer = (self.class_sizes[i] * self.cluster_sizes[j]) as f64;
            let log_outer = -outer.ln() + log_rows + log_cols;
            let term = p * (c_f.ln() - log_total) + p * log_outer;
            if term.abs() >= f64::EPSILON {
                mi += term;
            }
        }
        mi.max(0.0)
    }
}

/// Maps arbitrary codes onto `0..m` in increasing code order; returns the dense codes and `m`.
fn dense_codes(labels: &[u32]) -> (Vec<usize>, usize) {
    let mut uniq: Vec<u32> = labels.to_vec();
    uniq.sort_unstable();
    uniq.dedup();
    let dense = labels
        .iter()
        .map(|l| {
            uniq.binary_search(l)
                .expect("every label is in its own set")
        })
        .collect();
    (dense, uniq.len())
}

/// Shannon entropy (nats) of a labeling given its group sizes, as scikit-learn's `_entropy`.
fn entropy(sizes: &[u64], n: usize) -> f64 {
    if n == 0 {
        return 1.0;
    }
    if sizes.len() == 1 {
        return 0.0;
    }
    let total = sizes.iter().sum::<u64>() as f64;
    let log_total = total.ln();
    -sizes
        .iter()
        .map(|&s| {
            let s = s as f64;
            s / total * (s.ln() - log_total)
        })
        .sum::<f64>()
}

/// All partition scores of one pair of labelings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartitionScores {
    /// Number of items scored.
    pub n: usize,
    /// Normalized mutual information (arithmetic mean of the entropies).
    pub nmi: f64,
    /// Adjusted Rand index.
    pub ari: f64,
    /// Share of items in their cluster's majority class.
    pub purity: f64,
    /// Share of items in their class's majority cluster.
    pub inverse_purity: f64,
    /// Each cluster holds one class only (1 = perfectly homogeneous).
    pub homogeneity: f64,
    /// Each class lies in one cluster only (1 = perfectly complete).
    pub completeness: f64,
    /// Harmonic mean of homogeneity and completeness.
    pub v_measure: f64,
}

impl PartitionScores {
    /// Computes every score of `labels_pred` against `labels_true`.
    pub fn new(labels_true: &[u32], labels_pred: &[u32]) -> Result<PartitionScores, MetricError> {
        let c = Contingency::new(labels_true, labels_pred)?;
        let mi = c.mutual_info();
        let (h, comp, v) = hcv_from(&c, mi);
        Ok(PartitionScores {
            n: c.n,
            nmi: nmi_from(&c, mi),
            ari: ari_from(&c),
            purity: purity_from(&c, false),
            inverse_purity: purity_from(&c, true),
            homogeneity: h,
            completeness: comp,
            v_measure: v,
        })
    }
}

/// Normalized mutual information (scikit-learn, arithmetic average, natural log).
pub fn nmi(labels_true: &[u32], labels_pred: &[u32]) -> Result<f64, MetricError> {
    let c = Contingency::new(labels_true, labels_pred)?;
    Ok(nmi_from(&c, c.mutual_info()))
}

/// Adjusted Rand index (scikit-learn `adjusted_rand_score`).
pub fn ari(labels_true: &[u32], labels_pred: &[u32]) -> Result<f64, MetricError> {
    Ok(ari_from(&Contingency::new(labels_true, labels_pred)?))
}

/// Purity of `labels_pred` with respect to `labels_true`.
pub fn purity(labels_true: &[u32], labels_pred: &[u32]) -> Result<f64, MetricError> {
    Ok(purity_from(
        &Contingency::new(labels_true, labels_pred)?,
        false,
    ))
}

fn nmi_from(c: &Contingency, mi: f64) -> f64 {
    let (k_true, k_pred) = (c.class_sizes.len(), c.cluster_sizes.len());
    if (k_true == 1 && k_pred == 1) || (k_true == 0 && k_pred == 0) {
        return 1.0;
    }
    if mi == 0.0 {
        return 0.0;
    }
    let h_true = entropy(&c.class_sizes, c.n);
    let h_pred = entropy(&c.cluster_sizes, c.n);
    mi / ((h_true + h_pred) / 2.0)
}

fn hcv_from(c: &Contingency, mi: f64) -> (f64, f64, f64) {
    if c.n == 0 {
        return (1.0, 1.0, 1.0);
    }
    let h_true = entropy(&c.class_sizes, c.n);
    let h_pred = entropy(&c.cluster_sizes, c.n);
    let homogeneity = if h_true != 0.0 { mi / h_true } else { 1.0 };
    let completeness = if h_pred != 0.0 { mi / h_pred } else { 1.0 };
    let v = if homogeneity + completeness == 0.0 {
        0.0
    } else {
        2.0 * homogeneity * completeness / (homogeneity + completeness)
    };
    (homogeneity, completeness, v)
}

fn ari_from(c: &Contingency) -> f64 {
    match ari_exact(c) {
        Some(v) => v,
        // Only beyond ~4·10^9 items does an i128 product overflow; f64 is then the best we have.
        None => ari_float(c),
    }
}

/// The pair confusion matrix `(tn, fp, fn, tp)` counted over ordered pairs, as scikit-learn.
fn pair_confusion(c: &Contingency) -> Option<(i128, i128, i128, i128)> {
    let n = i128::try_from(c.n).ok()?;
    let mut sum_squares: i128 = 0;
    let mut with_cluster: i128 = 0;
    let mut with_class: i128 = 0;
    for &(i, j, v) in &c.cells {
        let v = i128::from(v);
        sum_squares = sum_squares.checked_add(v.checked_mul(v)?)?;
        with_cluster = with_cluster.checked_add(v.checked_mul(i128::from(c.cluster_sizes[j]))?)?;
        with_class = with_class.checked_add(v.checked_mul(i128::from(c.class_sizes[i]))?)?;
    }
    let tp = sum_squares - n;
    let fp = with_cluster - sum_squares;
    let fn_ = with_class - sum_squares;
    let tn = n.checked_mul(n)? - fp - fn_ - sum_squares;
    Some((tn, fp, fn_, tp))
}

fn ari_exact(c: &Contingency) -> Option<f64> {
    let (tn, fp, fn_, tp) = pair_confusion(c)?;
    if fn_ == 0 && fp == 0 {
        return Some(1.0);
    }
    let num = tp.checked_mul(tn)?.checked_sub(fn_.checked_mul(fp)?)?;
    let den = (tp + fn_)
        .checked_mul(fn_ + tn)?
        .checked_add((tp + fp).checked_mul(fp + tn)?)?;
    // Python divides float(2 * num) by float(den): both rounded once, then one division.
    Some(2.0 * (num as f64) / (den as f64))
}

fn ari_float(c: &Contingency) -> f64 {
    let n = c.n as f64;
    let (mut sum_squares, mut with_cluster, mut with_class) = (0.0, 0.0, 0.0);
    for &(i, j, v) in &c.cells {
        let v = v as f64;
        sum_squares += v * v;
        with_cluster += v * c.cluster_sizes[j] as f64;
        with_class += v * c.class_sizes[i] as f64;
    }
    let (tp, fp, fn_) = (
        sum_squares - n,
        with_cluster - sum_squares,
        with_class - sum_squares,
    );
    let tn = n * n - fp - fn_ - sum_squares;
    if fn_ == 0.0 && fp == 0.0 {
        return 1.0;
    }
    2.0 * (tp * tn - fn_ * fp) / ((tp + fn_) * (fn_ + tn) + (tp + fp) * (fp + tn))
}

/// Purity (`inverse = false`: majority class per cluster) or inverse purity.
fn purity_from(c: &Contingency, inverse: bool) -> f64 {
    if c.n == 0 {
        return 1.0;
    }
    let groups = if inverse {
        c.class_sizes.len()
    } else {
        c.cluster_sizes.len()
    };
    let mut best = vec![0u64; groups];
    for &(i, j, v) in &c.cells {
        let g = if inverse { i } else { j };
        best[g] = best[g].max(v);
    }
    best.iter().sum::<u64>() as f64 / c.n as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn identical_labelings_score_one() {
        let a = [0, 0, 1, 1, 2, 2];
        let b = [5, 5, 3, 3, 9, 9];
        let s = PartitionScores::new(&a, &b).unwrap();
        for v in [
            s.nmi,
            s.ari,
            s.purity,
            s.inverse_purity,
            s.homogeneity,
            s.completeness,
            s.v_measure,
        ] {
            assert!((v - 1.0).abs() < 1e-15, "{s:?}");
        }
    }

    #[test]
    fn hand_computed_small_case() {
        // true: {0,1,2} {3,4,5}; pred: {0,1} {2,3} {4,5}.
        let t = [0, 0, 0, 1, 1, 1];
        let p = [0, 0, 1, 1, 2, 2];
        // Purity: clusters' majorities 2 + 1 + 2 = 5 of 6; inverse: classes' 2 + 2 = 4 of 6.
        assert!((purity(&t, &p).unwrap() - 5.0 / 6.0).abs() < 1e-15);
        let s = PartitionScores::new(&t, &p).unwrap();
        assert!((s.inverse_purity - 4.0 / 6.0).abs() < 1e-15);
        // Ordered pairs: tp = Σ n_ij² − N = 10 − 6, fp = Σ n_ij b_j − Σ n_ij² = 12 − 10,
        // fn = Σ n_ij a_i − Σ n_ij² = 18 − 10, tn = N² − fp − fn − Σ n_ij² = 36 − 2 − 8 − 10.
        let (tn, fp, fn_, tp) = pair_confusion(&Contingency::new(&t, &p).unwrap()).unwrap();
        assert_eq!((tn, fp, fn_, tp), (16, 2, 8, 4));
        // MI = Σ p_ij ln(p_ij / (p_i p_j)) by hand.
        let (p_big, p_small, p_i, p_j) = (2.0f64 / 6.0, 1.0f64 / 6.0, 0.5f64, 2.0f64 / 6.0);
        let mi_hand =
            2.0 * p_big * (p_big / (p_i * p_j)).ln() + 2.0 * p_small * (p_small / (p_i * p_j)).ln();
        let h_true = 2f64.ln();
        let h_pred = 3f64.ln();
        assert!((s.nmi - mi_hand / ((h_true + h_pred) / 2.0)).abs() < 1e-15);
        assert!((s.homogeneity - mi_hand / h_true).abs() < 1e-15);
        assert!((s.completeness - mi_hand / h_pred).abs() < 1e-15);
    }

    #[test]
    fn degenerate_cases_follow_scikit_learn() {
        // Both single clusters: NMI 1 and ARI 1.
        let one = [7u32; 5];
        assert_eq!(nmi(&one, &one).unwrap(), 1.0);
        assert_eq!(ari(&one, &one).unwrap(), 1.0);
        // One side a single cluster, the other not: MI = 0 → NMI 0; ARI 0.
        let spread = [0u32, 1, 2, 3, 4];
        assert_eq!(nmi(&one, &spread).unwrap(), 0.0);
        assert_eq!(ari(&one, &spread).unwrap(), 0.0);
        // All singletons on both sides: no same-cluster pair at all, fp = fn = 0 → ARI 1.
        assert_eq!(ari(&spread, &spread).unwrap(), 1.0);
        assert!((nmi(&spread, &spread).unwrap() - 1.0).abs() < 1e-15);
        // Empty: every score 1 (scikit-learn's convention; purity by the same convention).
        let s = PartitionScores::new(&[], &[]).unwrap();
        assert_eq!(s.n, 0);
        for v in [
            s.nmi,
            s.ari,
            s.purity,
            s.inverse_purity,
            s.homogeneity,
            s.completeness,
            s.v_measure,
        ] {
            assert_eq!(v, 1.0);
        }
    }

    #[test]
    fn different_lengths_are_rejected() {
        assert_eq!(
            nmi(&[0, 1], &[0]).unwrap_err(),
            MetricError::ShapeMismatch {
                what: "labels_pred length (must equal labels_true length)",
                expected: 2,
                got: 1
            }
        );
    }

    #[test]
    fn huge_counts_do_not_overflow() {
        // 3·10^9 items would overflow i64 pair counts (N² ≈ 9·10^18 fits, but products do not).
        let c = Contingency {
            n: 3_000_000_000,
            class_sizes: vec![1_500_000_000, 1_500_000_000],
            cluster_sizes: vec![1_500_000_000, 1_500_000_000],
            cells: vec![(0, 0, 1_500_000_000), (1, 1, 1_500_000_000)],
        };
        assert_eq!(ari_from(&c), 1.0);
        let c = Contingency {
            cells: vec![
                (0, 0, 750_000_000),
                (0, 1, 750_000_000),
                (1, 0, 750_000_000),
                (1, 1, 750_000_000),
            ],
            ..c
        };
        assert!(ari_from(&c).abs() < 1e-9);
    }

    fn labelings() -> impl Strategy<Value = (Vec<u32>, Vec<u32>)> {
        (1usize..40).prop_flat_map(|n| {
            (
                proptest::collection::vec(0u32..5, n),
                proptest::collection::vec(0u32..7, n),
            )
        })
    }

    proptest! {
        #[test]
        fn nmi_and_ari_are_symmetric((a, b) in labelings()) {
            let ab = PartitionScores::new(&a, &b).unwrap();
            let ba = PartitionScores::new(&b, &a).unwrap();
            prop_assert!((ab.nmi - ba.nmi).abs() < 1e-12);
            prop_assert!((ab.ari - ba.ari).abs() < 1e-12);
            // Swapping the roles swaps purity with inverse purity, homogeneity with completeness.
            prop_assert_eq!(ab.purity, ba.inverse_purity);
            prop_assert!((ab.homogeneity - ba.completeness).abs() < 1e-12);
        }

        #[test]
        fn scores_ignore_the_names_of_labels((a, b) in labelings(), shift in 1u32..1000) {
            // A bijective relabeling: reverse the order and move the codes.
            let relabel = |v: &[u32]| v.iter().map(|&x| (100 - x) * shift).collect::<Vec<_>>();
            let s = PartitionScores::new(&a, &b).unwrap();
            let r = PartitionScores::new(&relabel(&a), &relabel(&b)).unwrap();
            prop_assert_eq!(s.ari, r.ari);
            prop_assert!((s.nmi - r.nmi).abs() < 1e-12);
            prop_assert_eq!(s.purity, r.purity);
        }

        #[test]
        fn purity_is_at_least_the_largest_class_share((a, b) in labelings()) {
            // Each cluster's majority count is at least its share of the largest class, so
            // purity ≥ max class share ≥ 1 / (number of classes).
            let c = Contingency::new(&a, &b).unwrap();
            let p = purity(&a, &b).unwrap();
            let largest = *c.class_sizes.iter().max().unwrap() as f64 / c.n as f64;
            prop_assert!(p >= largest - 1e-15);
            prop_assert!(p >= 1.0 / c.class_sizes.len() as f64 - 1e-15);
            prop_assert!(p <= 1.0);
        }

        #[test]
        fn scores_lie_in_their_ranges((a, b) in labelings()) {
            let s = PartitionScores::new(&a, &b).unwrap();
            prop_assert!((0.0..=1.0 + 1e-12).contains(&s.nmi));
            prop_assert!((-1.0..=1.0 + 1e-12).contains(&s.ari));
            prop_assert!((0.0..=1.0 + 1e-12).contains(&s.v_measure));
        }
    }
}
