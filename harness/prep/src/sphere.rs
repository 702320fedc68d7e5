//! Sphering (whitening) fitted on chosen rows, usually the controls.
//!
//! Two families share one decomposition, the SVD `Xc = U S Vᵀ` of the fit rows
//! after centering (or standardizing, for the `-cor` methods). Only `S` and the
//! `d × d` factor `V` are kept: a full SVD is taken when `n ≤ d` (then `U` is
//! `n × n ≤ d × d`) and a thin one when `n > d`, so no `n × n` matrix is ever
//! formed, unlike pycytominer's `full_matrices=True` call.
//!
//! - [`Sphere::pycytominer`] reproduces pycytominer 1.7.1 `Spherize`:
//!   `W = V diag(√(n−1) / (s + ε))`, times `Vᵀ` for ZCA. `ε` is added to the
//!   singular values of the centered fit rows, not to eigenvalues. When `n ≤ d`
//!   the rank `r` (numpy `matrix_rank` tolerance) must be `n − 1` or `n`, and
//!   the `d − r` directions outside the fit rows' span take the `r`-th singular
//!   value, as pycytominer pads them; when `n > d` every singular value is used
//!   as computed, so a direction the fit rows do not span is divided by about
//!   `ε` (pycytominer does the same).
//! - [`Sphere::regularized`] is the DeepProfiler / CNN-1 paper variant on the
//!   population covariance `C = XcᵀXc / n = V diag(s²/n) Vᵀ`:
//!   `W = V (Δ + λ)^(−1/2)`, times `Vᵀ` when rotating (ZCA). [`regularized_sweep`]
//!   fits one such transform per `λ` from a single decomposition.
//!
//! PCA outputs (no rotation) are defined up to the sign of each component; this
//! module makes the largest-magnitude loading of every component positive, which
//! need not be LAPACK's choice, so comparisons with pycytominer's PCA columns
//! hold up to a per-column sign. When `n ≤ d` the PCA columns beyond the rank
//! project onto an arbitrary orthonormal basis of the fit rows' null space (they
//! all share one scale); only their joint norm is reproducible. ZCA is unique.
//!
//! Applying is an `f64` product with `diag(1/sd) W` (the `-cor` scaling folded
//! in), in row blocks spread over threads, in place on the `f32` or `f64` matrix
//! (each result rounded once). It is not done in `f32`: `W` scales directions by
//! up to `1/ε`, so an `f32` sum's rounding is not bounded by the output tolerance
//! on ill-conditioned controls.
//!
//! Fit rows must be finite (a NaN makes the decomposition undefined); NaN in
//! other rows propagates to every output value of that row, as in `X @ W`.

use std::fmt;
use std::str::FromStr;
use std::sync::Mutex;

use faer::{Accum, Mat, MatMut, MatRef, Par};

use crate::error::PrepError;
use crate::matrix::{CheckRows, Float, Matrix};
use crate::step::{Transform, fitted_for_apply};

/// The parallelism of the fit's faer calls (SVD, Gram product, `V diag(g) Vᵀ`): always two
/// parts. faer splits a parallel routine's sums into as many parts as its `Par` names, so faer's
/// global setting (one per thread of the pool) made the fit's rounding follow
/// `RAYON_NUM_THREADS`; with a fixed count it is the same at any thread count (two: the numbers the
/// shipped leaderboard was scored with). Applying needs no such care: each row block is one
/// sequential product, whichever thread takes it.
const FIT_PAR: Par = Par::Rayon(std::num::NonZeroUsize::new(2).unwrap());

/// pycytominer's default sphering epsilon.
pub const DEFAULT_SPHERE_EPSILON: f64 = 1e-6;

/// Rows per block when applying `W`, bounding each thread's `f64` working copies (2 × 8 MB at
/// 1,000 features) while keeping the product's row panels long.
const APPLY_BLOCK: usize = 1024;

/// A pycytominer `Spherize` method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SphereMethod {
    /// PCA whitening of the centered data.
    Pca,
    /// ZCA (Mahalanobis) whitening of the centered data.
    Zca,
    /// PCA whitening of the standardized data (correlation matrix).
    PcaCor,
    /// ZCA whitening of the standardized data (correlation matrix).
    ZcaCor,
}

impl SphereMethod {
    /// The CLI spelling (lower case), e.g. `"zca-cor"`.
    pub fn name(self) -> &'static str {
        match self {
            SphereMethod::Pca => "pca",
            SphereMethod::Zca => "zca",
            SphereMethod::PcaCor => "pca-cor",
            SphereMethod::ZcaCor => "zca-cor",
        }
    }

    /// Whether the fit rows are standardized before the decomposition.
    pub fn is_cor(self) -> bool {
        matches!(self, SphereMethod::PcaCor | SphereMethod::ZcaCor)
    }

    /// Whether `W` is rotated back to feature space (ZCA).
    pub fn rotates(self) -> bool {
        matches!(self, SphereMethod::Zca | SphereMethod::ZcaCor)
    }
}

impl fmt::Display for SphereMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for SphereMethod {
    type Err = PrepError;

    /// Accepts the CLI spelling or pycytominer's (`PCA`, `ZCA-cor`, ...), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "pca" => Ok(SphereMethod::Pca),
            "zca" => Ok(SphereMethod::Zca),
            "pca-cor" => Ok(SphereMethod::PcaCor),
            "zca-cor" => Ok(SphereMethod::ZcaCor),
            _ => Err(PrepError::InvalidParameter {
                name: "method",
                value: s.to_owned(),
                reason: "expected one of pca, zca, pca-cor, zca-cor".to_owned(),
            }),
        }
    }
}

/// How the whitening matrix is built from the decomposition.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Pycytominer {
        method: SphereMethod,
        epsilon: f64,
        center: bool,
    },
    Regularized {
        lambda: f64,
        rotate: bool,
    },
}

/// A sphering transform, fitted on chosen rows; implements [`Transform`].
#[derive(Debug, Clone, PartialEq)]
pub struct Sphere {
    kind: Kind,
    fitted: Option<Fitted>,
}

#[derive(Debug, Clone, PartialEq)]
struct Fitted {
    /// Subtracted before `W` (zeros when not centering).
    mean: Vec<f64>,
    /// Divisor before `W` for the `-cor` methods.
    scale: Option<Vec<f64>>,
    /// Row-major `d × d`; a row `z` maps to `z · W`.
    w: Vec<f64>,
}

/// The decomposition of the prepared fit rows that every sphering variant shares.
#[derive(Debug, Clone)]
pub struct Decomposition {
    n: usize,
    d: usize,
    mean: Vec<f64>,
    scale: Option<Vec<f64>>,
    /// `min(n, d)` singular values, nonincreasing.
    s: Vec<f64>,
    /// `d × d`, column `k` the `k`-th right singular vector (sign fixed).
    v: Mat<f64>,
    /// Numerical rank with numpy's `matrix_rank` tolerance.
    rank: usize,
}

fn check_epsilon(name: &'static str, value: f64) -> Result<(), PrepError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(PrepError::InvalidParameter {
            name,
            value: value.to_string(),
            reason: "must be finite and >= 0".to_owned(),
        })
    }
}

impl Sphere {
    /// pycytominer `Spherize(method, epsilon, center)`; `-cor` methods require `center`.
    pub fn pycytominer(
        method: SphereMethod,
        epsilon: f64,
        center: bool,
    ) -> Result<Self, PrepError> {
        check_epsilon("epsilon", epsilon)?;
        if method.is_cor() && !center {
            return Err(PrepError::InvalidParameter {
                name: "center",
                value: "false".to_owned(),
                reason: format!("{method} standardizes the fit rows, which centers them"),
            });
        }
        Ok(Self {
            kind: Kind::Pycytominer {
                method,
                epsilon,
                center,
            },
            fitted: None,
        })
    }

    /// The CNN-1 variant `W = V (Δ + λ)^(−1/2) [Vᵀ]` on the centered fit rows' population covariance; `λ > 0`.
    pub fn regularized(lambda: f64, rotate: bool) -> Result<Self, PrepError> {
        check_lambda(lambda)?;
        Ok(Self {
            kind: Kind::Regularized { lambda, rotate },
            fitted: None,
        })
    }

    /// The fitted row-major `d × d` whitening matrix (a row `z` maps to `z · W`), once fitted.
    pub fn whitening_matrix(&self) -> Option<&[f64]> {
        self.fitted.as_ref().map(|f| f.w.as_slice())
    }

    /// The fitted per-feature center (zeros when not centering), once fitted.
    pub fn center(&self) -> Option<&[f64]> {
        self.fitted.as_ref().map(|f| f.mean.as_slice())
    }
}

fn check_lambda(lambda: f64) -> Result<(), PrepError> {
    if lambda.is_finite() && lambda > 0.0 {
        Ok(())
    } else {
        Err(PrepError::InvalidParameter {
            name: "lambda",
            value: lambda.to_string(),
            reason: "must be finite and > 0".to_owned(),
        })
    }
}

impl Decomposition {
    /// Centers (`center`) or standardizes (`standardize`, implies centering) rows
    /// `rows` of `x` and decomposes them; at least 2 finite rows are required.
    pub fn fit<T: Float>(
        x: Matrix<'_, T>,
        rows: &[usize],
        center: bool,
        standardize: bool,
    ) -> Result<Self, PrepError> {
        x.check_rows(rows)?;
        let (n, d) = (rows.len(), x.d());
        if n < 2 {
            return Err(PrepError::TooFewRows {
                what: "sphere fit",
                needed: 2,
                got: n,
            });
        }
        for &r in rows {
            if let Some(j) = x.row(r).iter().position(|v| !v.is_finite()) {
                return Err(PrepError::NonFinite {
                    what: "sphere fit",
                    row: r,
                    feature: j,
                });
            }
        }
        let center = center || standardize;
        let mut mean = vec![0.0f64; d];
        if center {
            for &r in rows {
                mean.iter_mut()
                    .zip(x.row(r))
                    .for_each(|(m, &v)| *m += v.to_f64());
            }
            mean.iter_mut().for_each(|m| *m /= n as f64);
        }
        let mut xc = Mat::<f64>::from_fn(n, d, |i, j| x.row(rows[i])[j].to_f64() - mean[j]);
        let scale = if standardize {
            let scale = standard_scale(xc.as_ref(), &mean)?;
            for (j, &s) in scale.iter().enumerate() {
                xc.col_mut(j).iter_mut().for_each(|v| *v /= s);
            }
            Some(scale)
        } else {
            None
        };

        let (s, mut v) = singular_values_and_v(xc)?;
        fix_signs(&mut v);
        let tol = s.first().copied().unwrap_or(0.0) * n.max(d) as f64 * f64::EPSILON;
        let rank = s.iter().filter(|&&sv| sv > tol).count();
        if rank == 0 {
            return Err(PrepError::TooFewRows {
                what: "sphere fit (distinct rows after centering)",
                needed: 2,
                got: 1,
            });
        }
        Ok(Self {
            n,
            d,
            mean,
            scale,
            s,
            v,
            rank,
        })
    }

    /// The numerical rank of the prepared fit rows.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The singular values of the prepared fit rows, nonincreasing (`min(n, d)` of them).
    pub fn singular_values(&self) -> &[f64] {
        &self.s
    }

    /// `W = V diag(g) [Vᵀ]` for per-component gains `g` (length `d`).
    fn whitening(&self, gains: &[f64], rotate: bool) -> Fitted {
        let d = self.d;
        let vg = Mat::<f64>::from_fn(d, d, |i, k| self.v[(i, k)] * gains[k]);
        let mut w = vec![0.0f64; d * d];
        if rotate {
            let dst = MatMut::from_row_major_slice_mut(&mut w, d, d);
            faer::linalg::matmul::matmul(
                dst,
                Accum::Replace,
                vg.as_ref(),
                self.v.as_ref().transpose(),
                1.0,
                FIT_PAR,
            );
        } else {
            for i in 0..d {
                for k in 0..d {
                    w[i * d + k] = vg[(i, k)];
                }
            }
        }
        Fitted {
            mean: self.mean.clone(),
            scale: self.scale.clone(),
            w,
        }
    }

    /// pycytominer's per-component gains `√(n−1) / (s' + ε)`, `s'` padded past the rank when `n ≤ d`.
    fn pycytominer_gains(&self, epsilon: f64) -> Result<Vec<f64>, PrepError> {
        let (n, d, r) = (self.n, self.d, self.rank);
        let padded: Vec<f64> = if n <= d {
            if r + 1 < n {
                return Err(PrepError::RankDeficient {
                    what: "sphere fit",
                    rank: r,
                    rows: n,
                    features: d,
                });
            }
            (0..d).map(|k| self.s[k.min(r - 1)]).collect()
        } else {
            self.s.clone()
        };
        let c = ((n - 1) as f64).sqrt();
        Ok(padded.iter().map(|s| c / (s + epsilon)).collect())
    }

    /// The CNN-1 gains `(s²/n + λ)^(−1/2)`; components beyond `min(n, d)` have eigenvalue 0.
    fn regularized_gains(&self, lambda: f64) -> Vec<f64> {
        let n = self.n as f64;
        (0..self.d)
            .map(|k| {
                let ev = self.s.get(k).map_or(0.0, |s| s * s / n);
                1.0 / (ev + lambda).sqrt()
            })
            .collect()
    }

    /// A fitted [`Sphere::regularized`] transform for `lambda`, without redoing the decomposition.
    pub fn regularized(&self, lambda: f64, rotate: bool) -> Result<Sphere, PrepError> {
        let mut t = Sphere::regularized(lambda, rotate)?;
        if self.scale.is_some() {
            return Err(PrepError::InvalidParameter {
                name: "standardize",
                value: "true".to_owned(),
                reason: "the regularized variant whitens the covariance, not the correlation"
                    .to_owned(),
            });
        }
        t.fitted = Some(self.whitening(&self.regularized_gains(lambda), rotate));
        Ok(t)
    }
}

/// Singular values and the full `d × d` right factor of `xc` (`n × d`); `U` is never formed,
/// which spares an `n × d` (or `n × n`) matrix and the work of accumulating it.
fn singular_values_and_v(xc: Mat<f64>) -> Result<(Vec<f64>, Mat<f64>), PrepError> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::svd::{ComputeSvdVectors, svd, svd_scratch};

    let (n, d) = xc.shape();
    let par = FIT_PAR;
    let mut s = faer::diag::Diag::<f64>::zeros(n.min(d));
    let mut v = Mat::<f64>::zeros(d, d);
    let scratch = svd_scratch::<f64>(
        n,
        d,
        ComputeSvdVectors::No,
        ComputeSvdVectors::Full,
        par,
        Default::default(),
    );
    svd(
        xc.as_ref(),
        s.as_mut(),
        None,
        Some(v.as_mut()),
        par,
        MemStack::new(&mut MemBuffer::new(scratch)),
        Default::default(),
    )
    .map_err(|e| PrepError::Decomposition {
        what: "sphere fit SVD",
        reason: format!("{e:?}"),
    })?;
    let s: Vec<f64> = s.column_vector().iter().copied().collect();
    let finite =
        s.iter().all(|x| x.is_finite()) && (0..d).all(|i| (0..d).all(|k| v[(i, k)].is_finite()));
    if finite {
        return Ok((s, v));
    }
    // faer's SVD can return NaN without an error on nearly rank-deficient input (seen on
    // 330 DMSO wells × 329 PCA components of BBBC021, singular values down to 1e-9). The
    // eigendecomposition of the Gram matrix XᵀX (eigenvalues s²) is the robust fallback.
    gram_singular_values_and_v(xc.as_ref())
}

/// Singular values (nonincreasing, `min(n, d)`) and right singular vectors (`d × d`) of `xc`
/// from the eigendecomposition of `xcᵀ xc`.
fn gram_singular_values_and_v(xc: MatRef<'_, f64>) -> Result<(Vec<f64>, Mat<f64>), PrepError> {
    use faer::dyn_stack::{MemBuffer, MemStack};
    use faer::linalg::evd::{ComputeEigenvectors, self_adjoint_evd, self_adjoint_evd_scratch};

    let (n, d) = xc.shape();
    let mut g = Mat::<f64>::zeros(d, d);
    faer::linalg::matmul::matmul(g.as_mut(), Accum::Replace, xc.transpose(), xc, 1.0, FIT_PAR);
    // `self_adjoint_evd` with FIT_PAR: `self_adjoint_eigen` would take faer's global parallelism.
    let mut u = Mat::<f64>::zeros(d, d);
    let mut ev = faer::diag::Diag::<f64>::zeros(d);
    let scratch =
        self_adjoint_evd_scratch::<f64>(d, ComputeEigenvectors::Yes, FIT_PAR, Default::default());
    self_adjoint_evd(
        g.as_ref(),
        ev.as_mut(),
        Some(u.as_mut()),
        FIT_PAR,
        MemStack::new(&mut MemBuffer::new(scratch)),
        Default::default(),
    )
    .map_err(|e| PrepError::Decomposition {
        what: "sphere fit eigendecomposition",
        reason: format!("{e:?}"),
    })?;
    // Eigenvalues come in nondecreasing order: reverse to match the SVD's order.
    let ev: Vec<f64> = ev.column_vector().iter().copied().collect();
    let v = Mat::<f64>::from_fn(d, d, |i, k| u[(i, d - 1 - k)]);
    let s = (0..n.min(d))
        .map(|k| ev[d - 1 - k].max(0.0).sqrt())
        .collect();
    Ok((s, v))
}

/// sklearn `StandardScaler` scale on centered columns: population sd; a zero
/// variance is an error (pycytominer refuses it); a variance that is zero only
/// up to rounding (sklearn's `_is_constant_feature`) gets scale 1, as sklearn does.
fn standard_scale(xc: MatRef<'_, f64>, mean: &[f64]) -> Result<Vec<f64>, PrepError> {
    let n = xc.nrows() as f64;
    (0..xc.ncols())
        .map(|j| {
            let var = xc.col(j).iter().map(|v| v * v).sum::<f64>() / n;
            if var == 0.0 {
                return Err(PrepError::ZeroVariance { feature: j });
            }
            let bound = n * f64::EPSILON * var + (n * mean[j] * f64::EPSILON).powi(2);
            Ok(if var <= bound { 1.0 } else { var.sqrt() })
        })
        .collect()
}

/// Makes the largest-magnitude entry of every column positive (first one on ties).
fn fix_signs(v: &mut Mat<f64>) {
    for k in 0..v.ncols() {
        let mut best = 0.0f64;
        let mut sign = 1.0;
        for x in v.col(k).iter() {
            if x.abs() > best {
                best = x.abs();
                sign = x.signum();
            }
        }
        if sign < 0.0 {
            v.col_mut(k).iter_mut().for_each(|x| *x = -*x);
        }
    }
}

/// Fits one [`Sphere::regularized`] transform per `λ` in `lambdas` on rows `rows`
/// of `x` from a single decomposition (the CNN-1 regularization sweep).
pub fn regularized_sweep<T: Float>(
    x: Matrix<'_, T>,
    rows: &[usize],
    lambdas: &[f64],
    rotate: bool,
) -> Result<Vec<Sphere>, PrepError> {
    if lambdas.is_empty() {
        return Err(PrepError::InvalidParameter {
            name: "lambdas",
            value: "[]".to_owned(),
            reason: "the sweep needs at least one lambda".to_owned(),
        });
    }
    for &l in lambdas {
        check_lambda(l)?;
    }
    let dec = Decomposition::fit(x, rows, true, false)?;
    lambdas
        .iter()
        .map(|&l| dec.regularized(l, rotate))
        .collect()
}

impl Transform for Sphere {
    fn name(&self) -> &'static str {
        "sphere"
    }

    fn fit<T: Float>(&mut self, x: Matrix<'_, T>, rows: &[usize]) -> Result<(), PrepError> {
        let fitted = match self.kind {
            Kind::Pycytominer {
                method,
                epsilon,
                center,
            } => {
                let dec = Decomposition::fit(x, rows, center, method.is_cor())?;
                let gains = dec.pycytominer_gains(epsilon)?;
                dec.whitening(&gains, method.rotates())
            }
            Kind::Regularized { lambda, rotate } => {
                let dec = Decomposition::fit(x, rows, true, false)?;
                dec.whitening(&dec.regularized_gains(lambda), rotate)
            }
        };
        self.fitted = Some(fitted);
        Ok(())
    }

    fn apply<T: Float>(&self, x: &mut [T], n: usize, d: usize) -> Result<(), PrepError> {
        let fitted = fitted_for_apply(
            self.fitted.as_ref(),
            "sphere",
            |f| f.mean.len(),
            (x.len(), n, d),
        )?;
        if d == 0 || n == 0 {
            return Ok(());
        }
        // Standardizing is folded into W (rows scaled by 1/sd), so each block is only centered
        // on its way to f64; centering before the product keeps the f64 sums free of the
        // cancellation a folded-in bias would bring.
        let scaled;
        let w = match &fitted.scale {
            Some(s) => {
                scaled = fitted
                    .w
                    .chunks_exact(d)
                    .zip(s)
                    .flat_map(|(row, &sj)| row.iter().map(move |v| v / sj))
                    .collect::<Vec<f64>>();
                &scaled
            }
            None => &fitted.w,
        };
        let w = MatRef::from_row_major_slice(w, d, d);
        // Threads take blocks of rows from a shared queue (the machine may be busy, so a static
        // split could leave one thread idle) and each converts, multiplies and writes back its
        // block: every value is touched once, and the f64 copies stay per-thread and small.
        let mean = &fitted.mean;
        let blocks = Mutex::new(x.chunks_mut(APPLY_BLOCK * d));
        let work = || {
            let mut z = vec![0.0f64; APPLY_BLOCK.min(n) * d];
            let mut out = vec![0.0f64; APPLY_BLOCK.min(n) * d];
            loop {
                let next = blocks.lock().unwrap_or_else(|e| e.into_inner()).next();
                let Some(block) = next else { break };
                let b = block.len() / d;
                let (z, out) = (&mut z[..b * d], &mut out[..b * d]);
                for (zr, xr) in z.chunks_exact_mut(d).zip(block.chunks_exact(d)) {
                    for ((zv, &xv), &m) in zr.iter_mut().zip(xr).zip(mean) {
                        *zv = xv.to_f64() - m;
                    }
                }
                faer::linalg::matmul::matmul(
                    MatMut::from_row_major_slice_mut(out, b, d),
                    Accum::Replace,
                    MatRef::from_row_major_slice(z, b, d),
                    w,
                    1.0,
                    Par::Seq,
                );
                block
                    .iter_mut()
                    .zip(out.iter())
                    .for_each(|(v, o)| *v = T::from_f64(*o));
            }
        };
        let threads = match faer::get_global_parallelism() {
            Par::Seq => 1,
            Par::Rayon(t) => t.get(),
        }
        .min(n.div_ceil(APPLY_BLOCK));
        std::thread::scope(|scope| {
            for _ in 1..threads {
                scope.spawn(work);
            }
            work();
        });
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::fit_apply_by_group;

    /// Deterministic pseudo-random values in (-1, 1) with correlated columns.
    fn data(n: usize, d: usize, seed: u64) -> Vec<f32> {
        let mut state = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
        };
        let mut x = vec![0.0f32; n * d];
        for i in 0..n {
            let shared = next();
            for j in 0..d {
                x[i * d + j] = (next() * (1.0 + j as f64) + shared * 0.8 + j as f64) as f32;
            }
        }
        x
    }

    fn fitted(t: Sphere, x: &[f32], n: usize, d: usize, rows: &[usize]) -> Sphere {
        let mut t = t;
        t.fit(Matrix::new(x, n, d).unwrap(), rows).unwrap();
        t
    }

    /// Covariance (`ddof`) of the rows `rows` of the `f64` row-major `n × d` matrix `z`.
    fn covariance(z: &[f64], d: usize, rows: &[usize], ddof: usize) -> Vec<f64> {
        let m = rows.len() as f64;
        let mean: Vec<f64> = (0..d)
            .map(|j| rows.iter().map(|&i| z[i * d + j]).sum::<f64>() / m)
            .collect();
        let mut c = vec![0.0; d * d];
        for a in 0..d {
            for b in 0..d {
                c[a * d + b] = rows
                    .iter()
                    .map(|&i| (z[i * d + a] - mean[a]) * (z[i * d + b] - mean[b]))
                    .sum::<f64>()
                    / (m - ddof as f64);
            }
        }
        c
    }

    /// `z · W` in `f64`, after centering and scaling as the fitted transform does.
    fn apply_f64(t: &Sphere, x: &[f32], d: usize) -> Vec<f64> {
        let f = t.fitted.as_ref().unwrap();
        let mut out = Vec::with_capacity(x.len());
        for row in x.chunks_exact(d) {
            let z: Vec<f64> = (0..d)
                .map(|j| {
                    let c = f64::from(row[j]) - f.mean[j];
                    f.scale.as_ref().map_or(c, |s| c / s[j])
                })
                .collect();
            out.extend((0..d).map(|k| (0..d).map(|j| z[j] * f.w[j * d + k]).sum::<f64>()));
        }
        out
    }

    fn assert_identity(c: &[f64], d: usize, tol: f64, what: &str) {
        for a in 0..d {
            for b in 0..d {
                let want = if a == b { 1.0 } else { 0.0 };
                assert!(
                    (c[a * d + b] - want).abs() < tol,
                    "{what}: cov[{a}][{b}] = {}",
                    c[a * d + b]
                );
            }
        }
    }

    #[test]
    fn sphering_fitted_on_controls_makes_their_covariance_the_identity() {
        let (n, d) = (60, 7);
        let x = data(n, d, 1);
        let controls: Vec<usize> = (0..n).filter(|i| i % 3 != 0).collect();
        for method in [
            SphereMethod::Pca,
            SphereMethod::Zca,
            SphereMethod::PcaCor,
            SphereMethod::ZcaCor,
        ] {
            let t = fitted(
                Sphere::pycytominer(method, 0.0, true).unwrap(),
                &x,
                n,
                d,
                &controls,
            );
            let z = apply_f64(&t, &x, d);
            assert_identity(&covariance(&z, d, &controls, 1), d, 1e-9, method.name());
            // The f32 output path agrees with the f64 reference.
            let mut out = x.clone();
            t.apply(&mut out, n, d).unwrap();
            for (o, r) in out.iter().zip(&z) {
                assert!((f64::from(*o) - r).abs() <= 1e-6 * r.abs().max(1.0));
            }
        }
    }

    #[test]
    fn an_f64_matrix_is_sphered_without_rounding() {
        // The f32 data widened: the same fit, and an apply that equals the f64 reference to
        // rounding of the sums instead of to f32's 1e-7.
        let (n, d) = (50, 6);
        let x = data(n, d, 9);
        let x64: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let controls: Vec<usize> = (0..n).filter(|i| i % 4 != 1).collect();
        for method in [SphereMethod::Zca, SphereMethod::PcaCor] {
            let t = fitted(
                Sphere::pycytominer(method, 1e-6, true).unwrap(),
                &x,
                n,
                d,
                &controls,
            );
            let mut t64 = Sphere::pycytominer(method, 1e-6, true).unwrap();
            t64.fit(Matrix::new(&x64, n, d).unwrap(), &controls)
                .unwrap();
            assert_eq!(t64.whitening_matrix(), t.whitening_matrix(), "{method}");
            let want = apply_f64(&t, &x, d);
            let mut got = x64.clone();
            t64.apply(&mut got, n, d).unwrap();
            for (g, r) in got.iter().zip(&want) {
                assert!(
                    (g - r).abs() <= 1e-12 * r.abs().max(1.0),
                    "{method}: {g} vs {r}"
                );
            }
            // Rounded once, the f64 results are the f32 matrix's.
            let mut narrow = x.clone();
            t.apply(&mut narrow, n, d).unwrap();
            for (g, o) in got.iter().zip(&narrow) {
                assert_eq!((*g as f32).to_bits(), o.to_bits(), "{method}");
            }
        }
    }

    #[test]
    fn blocked_parallel_apply_matches_the_f64_reference_on_every_row() {
        // More rows than several apply blocks (and not a multiple of one), so rows are
        // spread over threads and the last block is short; every row must still be
        // transformed exactly once.
        let (n, d) = (3 * APPLY_BLOCK + 17, 6);
        let x = data(n, d, 11);
        let controls: Vec<usize> = (0..n).step_by(4).collect();
        for method in [SphereMethod::Zca, SphereMethod::PcaCor] {
            let t = fitted(
                Sphere::pycytominer(method, 1e-6, true).unwrap(),
                &x,
                n,
                d,
                &controls,
            );
            let want = apply_f64(&t, &x, d);
            let mut got = x.clone();
            t.apply(&mut got, n, d).unwrap();
            for (i, (g, r)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (f64::from(*g) - r).abs() <= 1e-6 * r.abs().max(1.0),
                    "{method}: value {i}: {g} vs {r}"
                );
            }
        }
    }

    #[test]
    fn zca_is_symmetric_and_pca_components_are_orthogonal() {
        let (n, d) = (40, 5);
        let x = data(n, d, 2);
        let rows: Vec<usize> = (0..n).collect();
        let zca = fitted(
            Sphere::pycytominer(SphereMethod::Zca, 1e-6, true).unwrap(),
            &x,
            n,
            d,
            &rows,
        );
        let w = zca.whitening_matrix().unwrap();
        for a in 0..d {
            for b in 0..d {
                assert!((w[a * d + b] - w[b * d + a]).abs() < 1e-10);
            }
        }
        let pca = fitted(
            Sphere::pycytominer(SphereMethod::Pca, 1e-6, true).unwrap(),
            &x,
            n,
            d,
            &rows,
        );
        let w = pca.whitening_matrix().unwrap();
        for a in 0..d {
            for b in (a + 1)..d {
                let dot: f64 = (0..d).map(|i| w[i * d + a] * w[i * d + b]).sum();
                assert!(dot.abs() < 1e-10, "components {a} and {b}: {dot}");
            }
        }
    }

    #[test]
    fn rank_deficient_controls_are_padded_like_pycytominer() {
        // 5 controls over 12 features: rank 4 after centering. Every direction
        // outside their span takes the 4th singular value, so the ZCA matrix acts
        // on that complement as the scalar sqrt(n - 1) / (s_4 + eps).
        let (n, d) = (9, 12);
        let x = data(n, d, 3);
        let controls = [0, 2, 4, 6, 8];
        let eps = 1e-6;
        let dec =
            Decomposition::fit(Matrix::new(&x, n, d).unwrap(), &controls, true, false).unwrap();
        assert_eq!(dec.rank(), 4);
        let t = fitted(
            Sphere::pycytominer(SphereMethod::Zca, eps, true).unwrap(),
            &x,
            n,
            d,
            &controls,
        );
        let w = t.whitening_matrix().unwrap();
        let scalar = 2.0 / (dec.singular_values()[3] + eps);
        // A vector orthogonal to the centered controls: the null-space part of e_0.
        let v = dec.v.as_ref();
        let mut u = vec![0.0; d];
        u[0] = 1.0;
        for k in 0..4 {
            let p = v[(0, k)];
            (0..d).for_each(|i| u[i] -= p * v[(i, k)]);
        }
        let uw: Vec<f64> = (0..d)
            .map(|c| (0..d).map(|r| u[r] * w[r * d + c]).sum())
            .collect();
        for i in 0..d {
            assert!((uw[i] - scalar * u[i]).abs() < 1e-8 * scalar, "{i}");
        }
    }

    #[test]
    fn bad_fits_are_errors_not_nan() {
        let (n, d) = (6, 4);
        let mut x = data(n, d, 4);
        let zca = || Sphere::pycytominer(SphereMethod::Zca, 1e-6, true).unwrap();
        let mut t = zca();
        let view = Matrix::new(&x, n, d).unwrap();
        assert_eq!(
            t.fit(view, &[3]),
            Err(PrepError::TooFewRows {
                what: "sphere fit",
                needed: 2,
                got: 1
            })
        );
        assert!(matches!(
            t.apply(&mut x.clone(), n, d),
            Err(PrepError::NotFitted { step: "sphere" })
        ));
        // Two identical rows: nothing left after centering.
        let mut dup = x.clone();
        dup.copy_within(0..d, d);
        let view = Matrix::new(&dup, n, d).unwrap();
        assert!(matches!(
            t.fit(view, &[0, 1]),
            Err(PrepError::TooFewRows { .. })
        ));
        // n <= d with a repeated row: rank n - 2, which pycytominer refuses too.
        let (n2, d2) = (4, 8);
        let mut y = data(n2, d2, 5);
        y.copy_within(0..d2, d2);
        let view = Matrix::new(&y, n2, d2).unwrap();
        assert_eq!(
            zca().fit(view, &[0, 1, 2, 3]),
            Err(PrepError::RankDeficient {
                what: "sphere fit",
                rank: 2,
                rows: 4,
                features: 8
            })
        );
        // A constant feature under -cor names the feature.
        (0..n).for_each(|i| x[i * d + 2] = 0.5);
        let view = Matrix::new(&x, n, d).unwrap();
        let mut cor = Sphere::pycytominer(SphereMethod::ZcaCor, 1e-6, true).unwrap();
        assert_eq!(
            cor.fit(view, &[0, 1, 2, 3]),
            Err(PrepError::ZeroVariance { feature: 2 })
        );
        // NaN on a fit row names row and feature.
        x[4 * d + 1] = f32::NAN;
        let view = Matrix::new(&x, n, d).unwrap();
        assert_eq!(
            zca().fit(view, &[0, 4]),
            Err(PrepError::NonFinite {
                what: "sphere fit",
                row: 4,
                feature: 1
            })
        );
        assert!(Sphere::pycytominer(SphereMethod::PcaCor, 1e-6, false).is_err());
        assert!(Sphere::pycytominer(SphereMethod::Pca, -1.0, true).is_err());
        assert!(Sphere::regularized(0.0, true).is_err());
        assert!(Sphere::regularized(f64::NAN, true).is_err());
        assert!(regularized_sweep(view, &[0, 1], &[], true).is_err());
    }

    #[test]
    fn gram_fallback_matches_the_svd() {
        let (n, d) = (40, 7);
        let x = data(n, d, 3);
        let xc = Mat::<f64>::from_fn(n, d, |i, j| f64::from(x[i * d + j]));
        let (s1, v1) = singular_values_and_v(xc.clone()).unwrap();
        let (s2, v2) = gram_singular_values_and_v(xc.as_ref()).unwrap();
        for (a, b) in s1.iter().zip(&s2) {
            assert!((a - b).abs() < 1e-9 * s1[0], "{s1:?} vs {s2:?}");
        }
        // Same singular vectors up to sign.
        for k in 0..d {
            let dot: f64 = (0..d).map(|i| v1[(i, k)] * v2[(i, k)]).sum();
            assert!(
                (dot.abs() - 1.0).abs() < 1e-8,
                "component {k}: |dot| = {}",
                dot.abs()
            );
        }
    }

    #[test]
    fn regularized_fit_on_nearly_square_rank_deficient_controls_is_finite() {
        // 330 controls × 329 features, centered within 55 groups of 6 (rank ≤ 275): the shape
        // of a PCA plugin's output on BBBC021 after per-plate normalization.
        let (n, d) = (330, 329);
        let mut x = data(n, d, 11);
        for g in 0..55 {
            for j in 0..d {
                let m: f32 = (0..6).map(|i| x[(g * 6 + i) * d + j]).sum::<f32>() / 6.0;
                (0..6).for_each(|i| x[(g * 6 + i) * d + j] -= m);
            }
        }
        let rows: Vec<usize> = (0..n).collect();
        let t = fitted(Sphere::regularized(1.0, true).unwrap(), &x, n, d, &rows);
        let w = t.whitening_matrix().unwrap();
        assert!(
            w.iter().all(|v| v.is_finite()),
            "non-finite whitening matrix"
        );
    }

    #[test]
    fn regularized_whitening_inverts_the_regularized_covariance() {
        // Wᵀ (C + λI) W = I with C the controls' population covariance, for both rotations.
        let (n, d) = (30, 6);
        let x = data(n, d, 6);
        let controls: Vec<usize> = (0..20).collect();
        let lambdas = [1e-3, 0.1, 10.0];
        let xf: Vec<f64> = x.iter().map(|&v| f64::from(v)).collect();
        let c = covariance(&xf, d, &controls, 0);
        for rotate in [true, false] {
            let sweep =
                regularized_sweep(Matrix::new(&x, n, d).unwrap(), &controls, &lambdas, rotate)
                    .unwrap();
            for (t, &l) in sweep.iter().zip(&lambdas) {
                let w = t.whitening_matrix().unwrap();
                let mut m = vec![0.0; d * d];
                for a in 0..d {
                    for b in 0..d {
                        m[a * d + b] = (0..d)
                            .flat_map(|i| (0..d).map(move |j| (i, j)))
                            .map(|(i, j)| {
                                let cij = c[i * d + j] + if i == j { l } else { 0.0 };
                                w[i * d + a] * cij * w[j * d + b]
                            })
                            .sum();
                    }
                }
                assert_identity(&m, d, 1e-9, &format!("rotate {rotate}, lambda {l}"));
                // The sweep equals fitting each λ on its own.
                let single = fitted(Sphere::regularized(l, rotate).unwrap(), &x, n, d, &controls);
                assert_eq!(single.whitening_matrix(), t.whitening_matrix());
            }
        }
    }

    #[test]
    fn per_group_sphering_uses_each_groups_controls() {
        let (n, d) = (40, 3);
        let x = data(n, d, 7);
        let groups: Vec<u32> = (0..n).map(|i| (i % 2) as u32).collect();
        let fit_rows: Vec<bool> = (0..n).map(|i| i < 32).collect();
        let mut out = x.clone();
        let make = || Sphere::pycytominer(SphereMethod::Zca, 0.0, true).unwrap();
        let fitted_groups = fit_apply_by_group(make, &mut out, n, d, &fit_rows, &groups).unwrap();
        for (g, t) in fitted_groups.iter().enumerate() {
            let ctrl: Vec<usize> = (0..32).filter(|i| i % 2 == g).collect();
            let z = apply_f64(t, &x, d);
            assert_identity(&covariance(&z, d, &ctrl, 1), d, 1e-9, &format!("group {g}"));
            for i in (0..n).filter(|i| i % 2 == g) {
                for j in 0..d {
                    let r = z[i * d + j];
                    assert!((f64::from(out[i * d + j]) - r).abs() <= 1e-6 * r.abs().max(1.0));
                }
            }
        }
    }

    #[test]
    fn method_names_parse_both_spellings() {
        for m in [
            SphereMethod::Pca,
            SphereMethod::Zca,
            SphereMethod::PcaCor,
            SphereMethod::ZcaCor,
        ] {
            assert_eq!(m.name().parse::<SphereMethod>().unwrap(), m);
        }
        assert_eq!(
            "ZCA-cor".parse::<SphereMethod>().unwrap(),
            SphereMethod::ZcaCor
        );
        assert!("zca_cor".parse::<SphereMethod>().is_err());
    }
}
