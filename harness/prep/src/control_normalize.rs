//! Within-batch control normalization (the JUMP Cell Painting analysis): in each batch,
//! subtract the control rows' center from every row and divide by the controls' spread.
//!
//! Methods: `center` (mean only), `standardize` (mean, population sd),
//! `robustize` (median, IQR) and `mad_robustize` (median, 1.4826·MAD); an
//! optional `epsilon` is added to every spread. A spread that is zero (within
//! rounding: at most `1e-12 · max(1, |center|)`) or undefined in some batch is
//! never divided by: with [`OnZeroScale::Center`] that feature is only centered
//! in that batch, with [`OnZeroScale::Drop`] it is dropped everywhere. A
//! feature whose center is undefined in some batch (no non-NaN control value)
//! is always dropped. Everything changed this way is listed in the
//! [`ControlNormalizeReport`], so no Inf or NaN is produced that was not in
//! the input.

use std::fmt;
use std::str::FromStr;

use crate::error::PrepError;
use crate::matrix::{Float, Matrix, check_shape};
use crate::normalize::MAD_NORMAL_SCALE;
use crate::stats::{Ddof, column_mean_var, column_median_mad, column_medians, column_quantiles};

/// How center and spread are estimated from a batch's controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ControlMethod {
    /// Subtract the mean; no scaling.
    Center,
    /// Mean and population standard deviation.
    Standardize,
    /// Median and interquartile range (numpy linear quantiles).
    Robustize,
    /// Median and 1.4826 × median absolute deviation.
    MadRobustize,
}

impl ControlMethod {
    /// The method's name in manifests and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            ControlMethod::Center => "center",
            ControlMethod::Standardize => "standardize",
            ControlMethod::Robustize => "robustize",
            ControlMethod::MadRobustize => "mad_robustize",
        }
    }
}

impl fmt::Display for ControlMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for ControlMethod {
    type Err = PrepError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            ControlMethod::Center,
            ControlMethod::Standardize,
            ControlMethod::Robustize,
            ControlMethod::MadRobustize,
        ]
        .into_iter()
        .find(|m| m.name() == s)
        .ok_or_else(|| PrepError::InvalidParameter {
            name: "method",
            value: s.to_owned(),
            reason: "expected one of center, standardize, robustize, mad_robustize".to_owned(),
        })
    }
}

/// What to do with a feature whose control spread is zero in a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OnZeroScale {
    /// Center it in that batch without scaling.
    #[default]
    Center,
    /// Drop it from every batch.
    Drop,
}

/// The settings of control normalization.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ControlParams {
    /// How center and spread are estimated.
    pub method: ControlMethod,
    /// Added to every spread before dividing (finite, `>= 0`).
    pub epsilon: f64,
    /// What to do where a spread is zero.
    pub on_zero: OnZeroScale,
}

impl ControlParams {
    /// `method` with no epsilon, centering features of zero spread.
    pub fn new(method: ControlMethod) -> Self {
        Self {
            method,
            epsilon: 0.0,
            on_zero: OnZeroScale::Center,
        }
    }
}

/// What control normalization could not do as asked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ControlNormalizeReport {
    /// (batch code, feature) pairs whose control spread was zero or undefined.
    pub zero_scale: Vec<(u32, usize)>,
    /// (batch code, feature) pairs with no non-NaN control value.
    pub undefined_center: Vec<(u32, usize)>,
    /// Features the caller must drop (increasing): undefined centers, and zero spreads
    /// under [`OnZeroScale::Drop`]. Their values in the matrix are left unchanged.
    pub dropped: Vec<usize>,
}

/// Normalizes the row-major `n × d` matrix `x` in place, batch by batch, against each batch's
/// control rows (`controls[i]`); `batches[i]` is row `i`'s dense batch code. A batch with no
/// control row is [`PrepError::EmptyGroup`]; nothing is written on error.
pub fn control_normalize<T: Float>(
    x: &mut [T],
    n: usize,
    d: usize,
    controls: &[bool],
    batches: &[u32],
    params: &ControlParams,
) -> Result<ControlNormalizeReport, PrepError> {
    let ControlParams {
        method,
        epsilon,
        on_zero,
    } = *params;
    check_shape(x.len(), n, d)?;
    for (what, len) in [
        ("controls length", controls.len()),
        ("batches length", batches.len()),
    ] {
        if len != n {
            return Err(PrepError::ShapeMismatch {
                what,
                expected: n,
                got: len,
            });
        }
    }
    if !(epsilon.is_finite() && epsilon >= 0.0) {
        return Err(PrepError::InvalidParameter {
            name: "epsilon",
            value: epsilon.to_string(),
            reason: "must be finite and >= 0".to_owned(),
        });
    }
    let n_batches = batches.iter().max().map_or(0, |&b| b as usize + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_batches];
    let mut fit: Vec<Vec<usize>> = vec![Vec::new(); n_batches];
    for (i, (&b, &c)) in batches.iter().zip(controls).enumerate() {
        members[b as usize].push(i);
        if c {
            fit[b as usize].push(i);
        }
    }
    if let Some(b) = fit.iter().position(Vec::is_empty) {
        return Err(PrepError::EmptyGroup { group: b as u32 });
    }

    let view = Matrix::new(x, n, d)?;
    let mut report = ControlNormalizeReport::default();
    let mut drop = vec![false; d];
    let mut fitted = Vec::with_capacity(n_batches);
    for (b, rows) in fit.iter().enumerate() {
        let (center, spread) = estimate(view, rows, method)?;
        let mut scale = vec![1.0f64; d];
        for j in 0..d {
            if center[j].is_nan() {
                report.undefined_center.push((b as u32, j));
                drop[j] = true;
                continue;
            }
            let Some(s) = &spread else { continue };
            let tol = 1e-12 * center[j].abs().max(1.0);
            // NaN spreads fail the first test too.
            if s[j].is_nan() || s[j] <= tol || !s[j].is_finite() {
                report.zero_scale.push((b as u32, j));
                if on_zero == OnZeroScale::Drop {
                    drop[j] = true;
                }
            } else {
                scale[j] = s[j] + epsilon;
            }
        }
        fitted.push((center, scale));
    }
    for ((center, scale), rows) in fitted.iter().zip(&members) {
        for &i in rows {
            let row = &mut x[i * d..(i + 1) * d];
            for (j, v) in row.iter_mut().enumerate() {
                if !drop[j] {
                    *v = T::from_f64((v.to_f64() - center[j]) / scale[j]);
                }
            }
        }
    }
    report.dropped = (0..d).filter(|&j| drop[j]).collect();
    Ok(report)
}

/// Per-feature center and (unless `center`) spread of rows `rows`, NaN skipped.
fn estimate<T: Float>(
    x: Matrix<'_, T>,
    rows: &[usize],
    method: ControlMethod,
) -> Result<(Vec<f64>, Option<Vec<f64>>), PrepError> {
    Ok(match method {
        ControlMethod::Center => (column_mean_var(x, rows, Ddof::Population)?.mean, None),
        ControlMethod::Standardize => {
            let mv = column_mean_var(x, rows, Ddof::Population)?;
            let sd = mv.sd();
            (mv.mean, Some(sd))
        }
        ControlMethod::Robustize => {
            let center = column_medians(x, rows)?;
            let q = column_quantiles(x, rows, &[0.25, 0.75])?;
            let iqr = q[1].iter().zip(&q[0]).map(|(h, l)| h - l).collect();
            (center, Some(iqr))
        }
        ControlMethod::MadRobustize => {
            let (center, mad) = column_median_mad(x, rows)?;
            let spread = mad.iter().map(|m| m * MAD_NORMAL_SCALE).collect();
            (center, Some(spread))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_batch_uses_its_own_controls() {
        // Batch 0: rows 0-2, controls 0 and 1; batch 1: rows 3-5, controls 3 and 4.
        // Feature 1 is constant on batch 1's controls.
        let mut x = vec![
            1.0, 5.0, //
            3.0, 7.0, //
            10.0, 9.0, //
            100.0, 2.0, //
            300.0, 2.0, //
            500.0, 4.0,
        ];
        let controls = [true, true, false, true, true, false];
        let batches = [0, 0, 0, 1, 1, 1];
        let report = control_normalize(
            &mut x,
            6,
            2,
            &controls,
            &batches,
            &ControlParams::new(ControlMethod::Standardize),
        )
        .unwrap();
        // Batch 0: means 2, 6; population sds 1, 1.
        assert_eq!(&x[..6], &[-1.0, -1.0, 1.0, 1.0, 8.0, 3.0]);
        // Batch 1: feature 0 mean 200, sd 100; feature 1 centered only.
        assert_eq!(&x[6..], &[-1.0, 0.0, 1.0, 0.0, 3.0, 2.0]);
        assert_eq!(report.zero_scale, vec![(1, 1)]);
        assert!(report.dropped.is_empty());
        assert!(x.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn zero_spread_can_drop_and_undefined_center_always_drops() {
        let mut x = vec![1.0, 4.0, f32::NAN, 3.0, 4.0, f32::NAN, 5.0, 6.0, 7.0];
        let before = x.clone();
        let report = control_normalize(
            &mut x,
            3,
            3,
            &[true, true, false],
            &[0, 0, 0],
            &ControlParams {
                on_zero: OnZeroScale::Drop,
                ..ControlParams::new(ControlMethod::MadRobustize)
            },
        )
        .unwrap();
        assert_eq!(report.zero_scale, vec![(0, 1)]);
        assert_eq!(report.undefined_center, vec![(0, 2)]);
        assert_eq!(report.dropped, vec![1, 2]);
        // Feature 0: median 2, MAD 1 → scale 1.4826.
        assert!((x[0] - (-1.0 / 1.4826) as f32).abs() < 1e-6);
        assert_eq!(x[1], before[1]);
        assert!(x[2].is_nan());
    }

    #[test]
    fn batch_without_controls_is_named() {
        let mut x = vec![1.0, 2.0, 3.0];
        let err = control_normalize(
            &mut x,
            3,
            1,
            &[true, false, false],
            &[0, 1, 1],
            &ControlParams::new(ControlMethod::Center),
        )
        .unwrap_err();
        assert_eq!(err, PrepError::EmptyGroup { group: 1 });
        assert_eq!(x, vec![1.0, 2.0, 3.0]);
        assert!("zscore".parse::<ControlMethod>().is_err());
        assert_eq!(
            "center".parse::<ControlMethod>().unwrap(),
            ControlMethod::Center
        );
    }
}
