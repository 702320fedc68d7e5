//! The feature matrix of the preprocessing steps: [`cpbench_metrics::Matrix`] and its element
//! type [`Float`] (`f32` or `f64`), re-exported (one definition for metrics and prep), with the
//! checks prep reports as [`PrepError`].
//!
//! Contract: [`Matrix::new`] reports a bad shape as a [`cpbench_metrics::MetricError`]; `?` in a
//! function returning [`PrepError`] turns it into the identical `PrepError` variant (same
//! fields, same message; see `PrepError`'s `From<MetricError>`). [`check_shape`] and
//! [`CheckRows::check_rows`] report [`PrepError`] directly.

use crate::error::PrepError;

pub use cpbench_metrics::Matrix;
pub use cpbench_metrics::matrix::Float;

/// The row-index check of a [`Matrix`] that every step runs on its fit rows.
pub trait CheckRows {
    /// Fails with [`PrepError::RowOutOfRange`] for the first index `>= n`.
    fn check_rows(&self, rows: &[usize]) -> Result<(), PrepError>;
}

impl<T> CheckRows for Matrix<'_, T> {
    fn check_rows(&self, rows: &[usize]) -> Result<(), PrepError> {
        match rows.iter().find(|&&r| r >= self.n()) {
            Some(&row) => Err(PrepError::RowOutOfRange { row, n: self.n() }),
            None => Ok(()),
        }
    }
}

/// Fails unless a buffer of `len` values holds exactly `n × d`
/// ([`cpbench_metrics::matrix::check_shape`], reported as a [`PrepError`]).
pub fn check_shape(len: usize, n: usize, d: usize) -> Result<(), PrepError> {
    cpbench_metrics::matrix::check_shape(len, n, d).map_err(PrepError::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_and_rows_are_checked() {
        let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let m = Matrix::new(&data, 3, 2).unwrap();
        assert_eq!(m.row(2), &[5.0, 6.0]);
        assert_eq!(m.check_rows(&[0, 2]), Ok(()));
        assert_eq!(
            m.check_rows(&[1, 3, 7]),
            Err(PrepError::RowOutOfRange { row: 3, n: 3 })
        );
        let want = PrepError::ShapeMismatch {
            what: "data length (n*d)",
            expected: 4,
            got: 6,
        };
        let err = Matrix::new(&data, 2, 2).unwrap_err();
        assert_eq!(err.to_string(), want.to_string());
        assert_eq!(PrepError::from(err), want);
        assert_eq!(check_shape(data.len(), 2, 2), Err(want));
        assert_eq!(check_shape(data.len(), 2, 3), Ok(()));
    }

    #[test]
    fn overflowing_shape_is_an_invalid_parameter() {
        let err = Matrix::<f32>::new(&[], usize::MAX, 2).unwrap_err();
        let prep = PrepError::from(err.clone());
        assert_eq!(prep.to_string(), err.to_string());
        assert!(matches!(
            prep,
            PrepError::InvalidParameter { name: "n*d", .. }
        ));
        assert_eq!(check_shape(0, usize::MAX, 2), Err(prep));
    }
}
