//! A borrowed, shape-checked view of a row-major matrix of `f32` (or, for preprocessing at
//! `f64`, [`Float`]) values.
//!
//! Contract: a [`Matrix`] always holds exactly `n × d` values (checked once, by [`Matrix::new`]
//! through [`check_shape`]); row accessors never copy. This is the one matrix view of cpbench's
//! numerics: `cpbench-prep` re-exports it as `cpbench_prep::Matrix` and converts its
//! [`MetricError`]s into the identical `PrepError` variants. The metrics take `Matrix<'_>`, which
//! is `f32`; only preprocessing is written for any [`Float`].

use std::fmt;

use crate::error::MetricError;

/// The element type of a feature matrix: `f32`, what profiles hold and every metric takes, or
/// `f64`, which `cpbench prep --precision f64` keeps through preprocessing.
///
/// Numerics generic over it read each value with [`Float::to_f64`] (exact) and round each result
/// once with [`Float::from_f64`], so at `f32` they give the bits that code written for `f32` alone
/// gave. Sealed: implemented for `f32` and `f64` only.
pub trait Float:
    Copy + Default + PartialEq + PartialOrd + fmt::Debug + Send + Sync + 'static + sealed::Sealed
{
    /// Not a number.
    const NAN: Self;
    /// The value as `f64` (exact).
    fn to_f64(self) -> f64;
    /// `v` rounded to the nearest value of this type (exact for `f64`).
    fn from_f64(v: f64) -> Self;
    /// `v` as this type (exact; bit for bit for `f32`, NaN payloads included).
    fn from_f32(v: f32) -> Self;
    /// Whether the value is NaN.
    fn is_nan(self) -> bool;
    /// Whether the value is neither NaN nor infinite.
    fn is_finite(self) -> bool;
}

mod sealed {
    /// Keeps [`super::Float`] to `f32` and `f64`.
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl Float for f32 {
    const NAN: Self = f32::NAN;
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn from_f64(v: f64) -> Self {
        v as f32
    }
    fn from_f32(v: f32) -> Self {
        v
    }
    fn is_nan(self) -> bool {
        f32::is_nan(self)
    }
    fn is_finite(self) -> bool {
        f32::is_finite(self)
    }
}

impl Float for f64 {
    const NAN: Self = f64::NAN;
    fn to_f64(self) -> f64 {
        self
    }
    fn from_f64(v: f64) -> Self {
        v
    }
    fn from_f32(v: f32) -> Self {
        f64::from(v)
    }
    fn is_nan(self) -> bool {
        f64::is_nan(self)
    }
    fn is_finite(self) -> bool {
        f64::is_finite(self)
    }
}

/// Row-major `n × d` view over features (one profile per row); `f32` unless stated.
#[derive(Debug, Clone, Copy)]
pub struct Matrix<'a, T = f32> {
    data: &'a [T],
    n: usize,
    d: usize,
}

impl<'a, T> Matrix<'a, T> {
    /// Wraps `data` as `n` rows of `d` values; fails unless `data.len() == n * d`.
    pub fn new(data: &'a [T], n: usize, d: usize) -> Result<Self, MetricError> {
        check_shape(data.len(), n, d)?;
        Ok(Self { data, n, d })
    }

    /// Number of rows.
    pub fn n(&self) -> usize {
        self.n
    }

    /// Number of columns (features).
    pub fn d(&self) -> usize {
        self.d
    }

    /// The underlying row-major data.
    pub fn data(&self) -> &'a [T] {
        self.data
    }

    /// Row `i` (0-based); panics if `i >= n`, like slice indexing.
    pub fn row(&self, i: usize) -> &'a [T] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    /// Iterator over the rows in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &'a [T]> + 'a {
        // chunks_exact(0) panics; a d = 0 matrix still has n (empty) rows.
        let d = self.d;
        let data = self.data;
        (0..self.n).map(move |i| &data[i * d..(i + 1) * d])
    }
}

/// Fails unless a buffer of `len` values holds exactly `n × d`.
///
/// Errors: [`MetricError::InvalidParameter`] (`n*d`) when `n · d` overflows `usize`, else
/// [`MetricError::ShapeMismatch`] (`data length (n*d)`) when `len` differs from `n · d`.
pub fn check_shape(len: usize, n: usize, d: usize) -> Result<(), MetricError> {
    let expected = n
        .checked_mul(d)
        .ok_or_else(|| MetricError::InvalidParameter {
            name: "n*d",
            value: format!("{n}*{d}"),
            reason: "overflows usize".to_owned(),
        })?;
    if len != expected {
        return Err(MetricError::ShapeMismatch {
            what: "data length (n*d)",
            expected,
            got: len,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_checks_length() {
        let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let m = Matrix::new(&data, 2, 3).unwrap();
        assert_eq!(m.row(1), &[4.0, 5.0, 6.0]);
        assert_eq!(m.rows().count(), 2);
        assert_eq!(
            Matrix::new(&data, 4, 2).unwrap_err(),
            MetricError::ShapeMismatch {
                what: "data length (n*d)",
                expected: 8,
                got: 6
            }
        );
    }

    #[test]
    fn zero_width_matrix_has_empty_rows() {
        let m = Matrix::new(&[], 3, 0).unwrap();
        assert_eq!(
            m.rows().map(<[f32]>::len).collect::<Vec<_>>(),
            vec![0, 0, 0]
        );
    }

    #[test]
    fn overflowing_shape_is_rejected() {
        let err = Matrix::<f32>::new(&[], usize::MAX, 2).unwrap_err();
        assert!(matches!(
            err,
            MetricError::InvalidParameter { name: "n*d", .. }
        ));
    }
}
