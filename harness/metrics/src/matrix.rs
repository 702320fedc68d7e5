//! A borrowed, shape-checked view of a row-major `f32` matrix.
//!
//! Contract: a [`Matrix`] always holds exactly `n × d` values (checked once, by [`Matrix::new`]
//! through [`check_shape`]); row accessors never copy. This is the one matrix view of cpbench's
//! numerics: `cpbench-prep` re-exports it as `cpbench_prep::Matrix` and converts its
//! [`MetricError`]s into the identical `PrepError` variants.

use crate::error::MetricError;

/// Row-major `n × d` view over `f32` features (one profile per row).
#[derive(Debug, Clone, Copy)]
pub struct Matrix<'a> {
    data: &'a [f32],
    n: usize,
    d: usize,
}

impl<'a> Matrix<'a> {
    /// Wraps `data` as `n` rows of `d` values; fails unless `data.len() == n * d`.
    pub fn new(data: &'a [f32], n: usize, d: usize) -> Result<Self, MetricError> {
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
    pub fn data(&self) -> &'a [f32] {
        self.data
    }

    /// Row `i` (0-based); panics if `i >= n`, like slice indexing.
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    /// Iterator over the rows in order.
    pub fn rows(&self) -> impl ExactSizeIterator<Item = &'a [f32]> + 'a {
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
        let err = Matrix::new(&[], usize::MAX, 2).unwrap_err();
        assert!(matches!(
            err,
            MetricError::InvalidParameter { name: "n*d", .. }
        ));
    }
}
