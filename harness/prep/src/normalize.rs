//! Feature normalization with pycytominer 1.7.1 semantics (`pycytominer.normalize`).
//!
//! Every method maps a value to `(x − center) / scale`, with per-feature
//! `center` and `scale` fitted on chosen rows (all wells, or the controls; per
//! plate or batch through [`crate::step::fit_apply_by_group`]):
//!
//! | method          | pycytominer uses                 | center | scale                              |
//! |-----------------|----------------------------------|--------|------------------------------------|
//! | `standardize`   | sklearn `StandardScaler`         | mean   | population sd (`ddof = 0`)         |
//! | `robustize`     | sklearn `RobustScaler`           | median | IQR `q75 − q25` (numpy linear)     |
//! | `mad_robustize` | pycytominer `RobustMAD`          | median | `1.4826 · MAD + epsilon`           |
//!
//! Near-zero scales follow sklearn's `_handle_zeros_in_scale`: `standardize`
//! replaces the sd of a feature that is constant up to rounding
//! (`var ≤ m·ε·var + (m·mean·ε)²`, sklearn's `_is_constant_feature`) by 1, and
//! `robustize` replaces an IQR below `10·ε` by 1, so such features are only
//! centered. `mad_robustize` has no such guard, as in pycytominer: a zero MAD
//! divides by `epsilon` (default `1e-18`), blowing the feature up; remove
//! constant features first or raise `epsilon`.
//!
//! NaN values are skipped when fitting (see [`crate::stats`]) and stay NaN when
//! applied; a feature with no non-NaN fit value becomes all NaN. Arithmetic is
//! `f64`; results are rounded once to the matrix's type (`f32`, or none for `f64`).

use std::fmt;
use std::str::FromStr;

use crate::error::PrepError;
use crate::matrix::{Float, Matrix};
use crate::stats::{Ddof, column_mean_var, column_median_mad, column_medians, column_quantiles};
use crate::step::{Transform, fitted_for_apply};

/// pycytominer's default `mad_robustize_epsilon`.
pub const DEFAULT_MAD_EPSILON: f64 = 1e-18;

/// Factor making the MAD a consistent estimator of the sd for normal data, as pycytominer spells it.
pub const MAD_NORMAL_SCALE: f64 = 1.4826;

/// A normalization method; names as in pycytominer's `method` argument.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `(x − mean) / sd`, population sd.
    Standardize,
    /// `(x − median) / IQR`.
    Robustize,
    /// `(x − median) / (1.4826 · MAD + epsilon)`.
    MadRobustize,
}

impl Method {
    /// pycytominer's name for the method.
    pub fn name(self) -> &'static str {
        match self {
            Method::Standardize => "standardize",
            Method::Robustize => "robustize",
            Method::MadRobustize => "mad_robustize",
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Method {
    type Err = PrepError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "standardize" => Ok(Method::Standardize),
            "robustize" => Ok(Method::Robustize),
            "mad_robustize" => Ok(Method::MadRobustize),
            _ => Err(PrepError::InvalidParameter {
                name: "method",
                value: s.to_owned(),
                reason: "expected one of standardize, robustize, mad_robustize".to_owned(),
            }),
        }
    }
}

/// Per-feature normalization, fitted on chosen rows; implements [`Transform`].
#[derive(Debug, Clone, PartialEq)]
pub struct Normalize {
    method: Method,
    epsilon: f64,
    fitted: Option<Fitted>,
}

#[derive(Debug, Clone, PartialEq)]
struct Fitted {
    center: Vec<f64>,
    /// The full divisor, `epsilon` included for `mad_robustize`.
    scale: Vec<f64>,
}

impl Normalize {
    /// An unfitted normalizer with pycytominer's default epsilon.
    pub fn new(method: Method) -> Self {
        Self {
            method,
            epsilon: DEFAULT_MAD_EPSILON,
            fitted: None,
        }
    }

    /// Sets the epsilon added to the scaled MAD (used by `mad_robustize` only); must be finite and `>= 0`.
    pub fn with_epsilon(mut self, epsilon: f64) -> Result<Self, PrepError> {
        if !(epsilon.is_finite() && epsilon >= 0.0) {
            return Err(PrepError::InvalidParameter {
                name: "epsilon",
                value: epsilon.to_string(),
                reason: "must be finite and >= 0".to_owned(),
            });
        }
        self.epsilon = epsilon;
        Ok(self)
    }

    /// The method.
    pub fn method(&self) -> Method {
        self.method
    }

    /// The epsilon of `mad_robustize`.
    pub fn epsilon(&self) -> f64 {
        self.epsilon
    }

    /// Fitted per-feature centers, once fitted.
    pub fn center(&self) -> Option<&[f64]> {
        self.fitted.as_ref().map(|f| f.center.as_slice())
    }

    /// Fitted per-feature divisors (after zero handling, epsilon included), once fitted.
    pub fn scale(&self) -> Option<&[f64]> {
        self.fitted.as_ref().map(|f| f.scale.as_slice())
    }
}

impl Transform for Normalize {
    fn name(&self) -> &'static str {
        "normalize"
    }

    fn fit<T: Float>(&mut self, x: Matrix<'_, T>, rows: &[usize]) -> Result<(), PrepError> {
        if rows.is_empty() {
            return Err(PrepError::TooFewRows {
                what: "normalize fit",
                needed: 1,
                got: 0,
            });
        }
        let fitted = match self.method {
            Method::Standardize => {
                let mv = column_mean_var(x, rows, Ddof::Population)?;
                // sklearn computes this bound with float64 eps whatever the input dtype.
                let eps = f64::EPSILON;
                let scale = mv
                    .var
                    .iter()
                    .zip(&mv.mean)
                    .zip(&mv.count)
                    .map(|((&var, &mean), &count)| {
                        let m = count as f64;
                        let upper_bound = m * eps * var + (m * mean * eps).powi(2);
                        if var <= upper_bound { 1.0 } else { var.sqrt() }
                    })
                    .collect();
                Fitted {
                    center: mv.mean,
                    scale,
                }
            }
            Method::Robustize => {
                let center = column_medians(x, rows)?;
                let q = column_quantiles(x, rows, &[0.25, 0.75])?;
                let scale = q[1]
                    .iter()
                    .zip(&q[0])
                    .map(|(hi, lo)| {
                        let iqr = hi - lo;
                        if iqr < 10.0 * f64::EPSILON { 1.0 } else { iqr }
                    })
                    .collect();
                Fitted { center, scale }
            }
            Method::MadRobustize => {
                let (center, mad) = column_median_mad(x, rows)?;
                // scipy's median_abs_deviation(scale=1/1.4826) divides by the
                // reciprocal; kept as is so the divisor matches to the bit.
                let scale = mad
                    .iter()
                    .map(|m| m / (1.0 / MAD_NORMAL_SCALE) + self.epsilon)
                    .collect();
                Fitted { center, scale }
            }
        };
        self.fitted = Some(fitted);
        Ok(())
    }

    fn apply<T: Float>(&self, x: &mut [T], n: usize, d: usize) -> Result<(), PrepError> {
        let fitted = fitted_for_apply(
            self.fitted.as_ref(),
            "normalize",
            |f| f.center.len(),
            (x.len(), n, d),
        )?;
        if d == 0 {
            return Ok(());
        }
        for row in x.chunks_exact_mut(d) {
            for ((v, c), s) in row.iter_mut().zip(&fitted.center).zip(&fitted.scale) {
                *v = T::from_f64((v.to_f64() - c) / s);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::step::fit_apply_by_group;

    fn fit_apply(method: Method, x: &[f32], n: usize, d: usize, rows: &[usize]) -> Vec<f32> {
        let mut t = Normalize::new(method);
        t.fit(Matrix::new(x, n, d).unwrap(), rows).unwrap();
        let mut out = x.to_vec();
        t.apply(&mut out, n, d).unwrap();
        out
    }

    #[rustfmt::skip]
    const STANDARDIZE: [f32; 32] = [
        -1.0954452, -0.65465367, -1.3471507, 5.858501,
        -0.73029673, -1.5275252, 4.041452, 22.522682,
        1.4605935, 1.0910895, -0.57735026, -0.91132236,
        -0.73029673, -0.2182179, 1.7320508, 1.6924559,
        0.36514837, 0.2182179, 2.501851, 14.190591,
        0.36514837, 1.963961, 14.818657, 50.643486,
        0.36514837, 0.65465367, -0.57735026, -0.39056674,
        -1.0954452, -1.5275252, -0.57735026, -0.39056674,
    ];
    #[rustfmt::skip]
    const ROBUSTIZE: [f32; 32] = [
        -0.625, -0.6666667, -1.3333334, 9.6,
        -0.375, -1.3333334, 8.0, 35.2,
        1.125, 0.6666667, 0.0, -0.8,
        -0.375, -0.33333334, 4.0, 3.2,
        0.375, 0.0, 5.3333335, 22.4,
        0.375, 1.3333334, 26.666666, 78.4,
        0.375, 0.33333334, 0.0, 0.0,
        -0.625, -1.3333334, 0.0, 0.0,
    ];
    #[rustfmt::skip]
    const MAD_ROBUSTIZE: [f32; 32] = [
        -0.8431134, -0.899321, -1e+18, 16.187778,
        -0.5058681, -1.798642, 6e+18, 59.355186,
        1.5176042, 0.899321, 0.0, -1.3489815,
        -0.5058681, -0.4496605, 3e+18, 5.395926,
        0.5058681, 0.0, 4e+18, 37.771484,
        0.5058681, 1.798642, 2e+19, 132.2002,
        0.5058681, 0.4496605, 0.0, 0.0,
        -0.8431134, -1.798642, 0.0, 0.0,
    ];

    #[test]
    fn standardize_by_hand() {
        // Column 1, 2, 3, 4: mean 2.5, population sd sqrt(1.25).
        let x = [1.0, 2.0, 3.0, 4.0];
        let out = fit_apply(Method::Standardize, &x, 4, 1, &[0, 1, 2, 3]);
        let s = 1.25f64.sqrt();
        let want: Vec<f32> = [-1.5, -0.5, 0.5, 1.5]
            .iter()
            .map(|v| (v / s) as f32)
            .collect();
        assert_eq!(out, want);
    }

    #[test]
    fn standardized_fit_rows_have_mean_zero_and_population_sd_one() {
        let (n, d) = (9, 3);
        let x: Vec<f32> = (0..n * d)
            .map(|k| ((k * 37 % 11) as f32) * 0.7 - (k % 5) as f32)
            .collect();
        let fit: Vec<usize> = vec![0, 2, 3, 5, 8];
        let out = fit_apply(Method::Standardize, &x, n, d, &fit);
        for j in 0..d {
            let vals: Vec<f64> = fit.iter().map(|&i| f64::from(out[i * d + j])).collect();
            let mean = vals.iter().sum::<f64>() / vals.len() as f64;
            let var = vals.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / vals.len() as f64;
            assert!(mean.abs() < 1e-6, "column {j}: mean {mean}");
            assert!(
                (var.sqrt() - 1.0).abs() < 1e-6,
                "column {j}: sd {}",
                var.sqrt()
            );
        }
    }

    #[test]
    fn matches_sklearn_and_pycytominer_on_a_small_table() {
        // Columns x, y, z, zz of pycytominer's normalize() docstring example,
        // fitted on its four control rows (2, 3, 6, 7) across both plates.
        // Expected values from sklearn 1.9.1 / pycytominer 1.7.1 RobustMAD
        // (float64), rounded to f32: printed by tests/golden/make_normalize_constants.py.
        #[rustfmt::skip]
        let x: [f32; 32] = [
            1.0, 3.0, 1.0, 14.0,
            2.0, 1.0, 8.0, 46.0,
            8.0, 7.0, 2.0, 1.0,
            2.0, 4.0, 5.0, 6.0,
            5.0, 5.0, 6.0, 30.0,
            5.0, 9.0, 22.0, 100.0,
            5.0, 6.0, 2.0, 2.0,
            1.0, 1.0, 2.0, 2.0,
        ];
        let controls = [2, 3, 6, 7];
        let cases: [(Method, [f32; 32]); 3] = [
            (Method::Standardize, STANDARDIZE),
            (Method::Robustize, ROBUSTIZE),
            (Method::MadRobustize, MAD_ROBUSTIZE),
        ];
        for (method, want) in cases {
            let got = fit_apply(method, &x, 8, 4, &controls);
            for (k, (g, w)) in got.iter().zip(&want).enumerate() {
                assert_eq!(g, w, "{method} value {k}");
            }
        }
    }

    #[test]
    fn an_f64_matrix_is_fitted_alike_and_not_rounded() {
        // Values an f32 cannot hold: the f64 matrix keeps them, and its results are the f64
        // values the f32 matrix's results are rounded from.
        let x64: Vec<f64> = (0..24)
            .map(|k| 1000.0 + (k as f64 * 0.7).sin() / 3.0)
            .collect();
        let x32: Vec<f32> = x64.iter().map(|&v| v as f32).collect();
        let rows = [0, 2, 3, 5, 7];
        for method in [Method::Standardize, Method::Robustize, Method::MadRobustize] {
            let mut t = Normalize::new(method);
            t.fit(Matrix::new(&x64, 8, 3).unwrap(), &rows).unwrap();
            let mut out = x64.clone();
            t.apply(&mut out, 8, 3).unwrap();
            let (c, s) = (t.center().unwrap().to_vec(), t.scale().unwrap().to_vec());
            for (k, (o, x)) in out.iter().zip(&x64).enumerate() {
                assert_eq!(*o, (x - c[k % 3]) / s[k % 3], "{method}");
            }
            assert!(out.iter().any(|&v| f64::from(v as f32) != v), "{method}");
            // The widened f32 values fit to the same parameters as an f32 matrix of them.
            let widened: Vec<f64> = x32.iter().map(|&v| f64::from(v)).collect();
            let mut t64 = Normalize::new(method);
            t64.fit(Matrix::new(&widened, 8, 3).unwrap(), &rows)
                .unwrap();
            let mut wide = widened.clone();
            t64.apply(&mut wide, 8, 3).unwrap();
            let narrow = fit_apply(method, &x32, 8, 3, &rows);
            assert_eq!(
                t64.center(),
                {
                    let mut t32 = Normalize::new(method);
                    t32.fit(Matrix::new(&x32, 8, 3).unwrap(), &rows).unwrap();
                    t32.center().map(<[f64]>::to_vec)
                }
                .as_deref()
            );
            for (w, n) in wide.iter().zip(&narrow) {
                assert_eq!((*w as f32).to_bits(), n.to_bits(), "{method}");
            }
        }
    }

    #[test]
    fn per_group_fit_on_controls() {
        // Two plates; each plate standardized against its own controls.
        let x = [1.0, 2.0, 8.0, 2.0, 5.0, 5.0, 5.0, 1.0];
        let groups = [0, 0, 0, 0, 1, 1, 1, 1];
        let controls = [false, false, true, true, false, false, true, true];
        let mut out = x;
        let fitted = fit_apply_by_group(
            || Normalize::new(Method::Standardize),
            &mut out,
            8,
            1,
            &controls,
            &groups,
        )
        .unwrap();
        // Plate 0 controls 8, 2: mean 5, sd 3. Plate 1 controls 5, 1: mean 3, sd 2.
        assert_eq!(fitted[0].center(), Some(&[5.0][..]));
        assert_eq!(fitted[0].scale(), Some(&[3.0][..]));
        assert_eq!(fitted[1].center(), Some(&[3.0][..]));
        assert_eq!(fitted[1].scale(), Some(&[2.0][..]));
        let want = [-4.0 / 3.0, -1.0, 1.0, -1.0, 1.0, 1.0, 1.0, -1.0];
        let want: Vec<f32> = want.iter().map(|&v: &f64| v as f32).collect();
        assert_eq!(out.to_vec(), want);
    }

    #[test]
    fn constant_features_are_only_centered() {
        // Column 0 is constant (0.1) on the fit rows 0..3, column 1 is not.
        let x = [0.1, 1.0, 0.1, 2.0, 0.1, 3.0, 0.6, 4.0];
        for method in [Method::Standardize, Method::Robustize] {
            let mut t = Normalize::new(method);
            t.fit(Matrix::new(&x, 4, 2).unwrap(), &[0, 1, 2]).unwrap();
            assert_eq!(t.scale().unwrap()[0], 1.0, "{method}");
            let mut out = x;
            t.apply(&mut out, 4, 2).unwrap();
            assert_eq!([out[0], out[2], out[4]], [0.0; 3], "{method}");
            assert_eq!(out[6], (0.6f32 as f64 - 0.1f32 as f64) as f32, "{method}");
        }
    }

    #[test]
    fn mad_robustize_divides_by_epsilon_when_mad_is_zero() {
        // Median 2, MAD 0 on the fit rows: the divisor is epsilon alone.
        let x = [2.0, 2.0, 2.0, 3.0];
        let mut t = Normalize::new(Method::MadRobustize)
            .with_epsilon(0.5)
            .unwrap();
        t.fit(Matrix::new(&x, 4, 1).unwrap(), &[0, 1, 2]).unwrap();
        assert_eq!(t.scale(), Some(&[0.5][..]));
        let mut out = x;
        t.apply(&mut out, 4, 1).unwrap();
        assert_eq!(out, [0.0, 0.0, 0.0, 2.0]);
        let mut t = Normalize::new(Method::MadRobustize);
        t.fit(Matrix::new(&x, 4, 1).unwrap(), &[0, 1, 2]).unwrap();
        assert_eq!(t.scale(), Some(&[1e-18][..]));
    }

    #[test]
    fn nan_is_skipped_in_fit_and_kept_in_apply() {
        // Fit values of column 0: 1, NaN, 3 → mean 2, sd 1.
        let x = [1.0, f32::NAN, 3.0, 5.0];
        let out = fit_apply(Method::Standardize, &x, 4, 1, &[0, 1, 2]);
        assert_eq!(out[0], -1.0);
        assert!(out[1].is_nan());
        assert_eq!(out[2..], [1.0, 3.0]);
        // No non-NaN fit value: the feature becomes NaN.
        let out = fit_apply(Method::Robustize, &x, 4, 1, &[1]);
        assert!(out.iter().all(|v| v.is_nan()));
    }

    #[test]
    fn misuse_is_reported() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let t = Normalize::new(Method::Robustize);
        assert_eq!(
            t.apply(&mut x.clone(), 2, 2),
            Err(PrepError::NotFitted { step: "normalize" })
        );
        let mut t = Normalize::new(Method::Standardize);
        let err = t.fit(Matrix::new(&x, 2, 2).unwrap(), &[]).unwrap_err();
        assert!(matches!(
            err,
            PrepError::TooFewRows {
                needed: 1,
                got: 0,
                ..
            }
        ));
        assert_eq!(
            t.fit(Matrix::new(&x, 2, 2).unwrap(), &[0, 2]),
            Err(PrepError::RowOutOfRange { row: 2, n: 2 })
        );
        t.fit(Matrix::new(&x, 2, 2).unwrap(), &[0, 1]).unwrap();
        let err = t.apply(&mut x.clone(), 4, 1).unwrap_err();
        assert!(matches!(
            err,
            PrepError::ShapeMismatch {
                expected: 2,
                got: 1,
                ..
            }
        ));
        for eps in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(
                Normalize::new(Method::MadRobustize)
                    .with_epsilon(eps)
                    .is_err()
            );
        }
    }

    #[test]
    fn method_names_round_trip() {
        for m in [Method::Standardize, Method::Robustize, Method::MadRobustize] {
            assert_eq!(m.to_string().parse::<Method>(), Ok(m));
        }
        assert_eq!(Method::MadRobustize.to_string(), "mad_robustize");
        assert!("spherize".parse::<Method>().is_err());
    }
}
