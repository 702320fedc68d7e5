//! The leading principal axes of a centred matrix, for plots of a representation.
//!
//! [`leading_axes`] forms the `d × d` Gram matrix `XᵀX` once (one sequential product, so the
//! result does not depend on the thread count), then finds its top eigenvectors by power
//! iteration with deflation from a fixed start vector; each axis is signed so that its largest
//! loading is positive, so reruns and platforms agree. The work is one `n·d²` product plus
//! `d²` per iteration, instead of `n·d` per iteration when iterating on `X` itself.

use faer::{Accum, Mat, MatRef, Par};

/// Iterations at most per axis.
const MAX_ITER: usize = 300;
/// An axis has converged when it moves less than this (L1) in one iteration.
const TOLERANCE: f64 = 1e-10;

/// The leading principal axes and the share of the total variance each explains.
#[derive(Debug, Clone, PartialEq)]
pub struct Axes {
    /// Unit axes (each of length `d`), largest variance first.
    pub components: Vec<Vec<f64>>,
    /// Share of the total sum of squares along each axis, in `[0, 1]`.
    pub explained: Vec<f64>,
}

impl Axes {
    /// Coordinates of each row of `centered` (`n × d`, row-major) on axis `k`.
    pub fn coordinates(&self, centered: &[f64], d: usize, k: usize) -> Vec<f64> {
        let u = &self.components[k];
        centered
            .chunks_exact(d)
            .map(|r| r.iter().zip(u).map(|(a, b)| a * b).sum())
            .collect()
    }
}

/// The `k` leading principal axes of the centred `n × d` row-major matrix `centered`; `None`
/// when it has no variance at all. (A matrix with fewer than `k` directions of variance gives
/// axes beyond them that explain ≈ 0 of it, found from rounding noise.)
pub fn leading_axes(centered: &[f64], n: usize, d: usize, k: usize) -> Option<Axes> {
    if n == 0 || d == 0 || centered.len() != n * d {
        return None;
    }
    let x = MatRef::from_row_major_slice(centered, n, d);
    let mut gram = Mat::<f64>::zeros(d, d);
    faer::linalg::matmul::matmul(
        gram.as_mut(),
        Accum::Replace,
        x.transpose(),
        x,
        1.0,
        Par::Seq,
    );
    let total: f64 = (0..d).map(|j| gram[(j, j)]).sum();
    if total <= 0.0 {
        return None;
    }
    let mut components: Vec<Vec<f64>> = Vec::new();
    let mut explained = Vec::new();
    for c in 0..k {
        // Deterministic start: a fixed, non-degenerate vector.
        let mut v: Vec<f64> = (0..d)
            .map(|j| 1.0 + ((j * 7 + c * 3) % 11) as f64 / 11.0)
            .collect();
        let mut eig = 0.0;
        for _ in 0..MAX_ITER {
            // w = XᵀX v, minus the earlier axes.
            let mut w: Vec<f64> = (0..d)
                .map(|i| (0..d).map(|j| gram[(i, j)] * v[j]).sum())
                .collect();
            for u in &components {
                let dot: f64 = w.iter().zip(u).map(|(a, b)| a * b).sum();
                w.iter_mut().zip(u).for_each(|(a, b)| *a -= dot * b);
            }
            let norm = w.iter().map(|a| a * a).sum::<f64>().sqrt();
            if norm == 0.0 {
                return None;
            }
            let next: Vec<f64> = w.iter().map(|a| a / norm).collect();
            let delta: f64 = next.iter().zip(&v).map(|(a, b)| (a - b).abs()).sum();
            v = next;
            eig = norm;
            if delta < TOLERANCE {
                break;
            }
        }
        let big = v
            .iter()
            .copied()
            .fold(0.0f64, |m, a| if a.abs() > m.abs() { a } else { m });
        if big < 0.0 {
            v.iter_mut().for_each(|a| *a = -*a);
        }
        explained.push(eig / total);
        components.push(v);
    }
    Some(Axes {
        components,
        explained,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_axes_of_an_elongated_cloud() {
        // Points along (1, 1, 0) with a smaller, uncorrelated spread along (1, -1, 0) (each t
        // once with +s and once with -s), centred.
        let mut x = Vec::new();
        for i in 0..40 {
            let t = ((i / 2) as f64 - 9.5) / 2.0;
            let s = if i % 2 == 0 { 0.5 } else { -0.5 };
            x.extend([t + s, t - s, 0.0]);
        }
        let a = leading_axes(&x, 40, 3, 2).unwrap();
        let h = std::f64::consts::FRAC_1_SQRT_2;
        for (got, want) in a.components[0].iter().zip([h, h, 0.0]) {
            assert!((got - want).abs() < 1e-9, "{:?}", a.components[0]);
        }
        assert!((a.components[1][0].abs() - h).abs() < 1e-9);
        assert!((a.components[1][0] + a.components[1][1]).abs() < 1e-9);
        // Every bit of variance is in these two axes.
        assert!((a.explained.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(a.explained[0] > a.explained[1]);
        let c = a.coordinates(&x, 3, 0);
        assert_eq!(c.len(), 40);
        assert!(c[39] > c[0], "the largest loading is positive");
        assert_eq!(leading_axes(&[0.0; 12], 4, 3, 2), None);
    }
}
