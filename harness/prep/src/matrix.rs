//! A borrowed, shape-checked view of a row-major `f32` matrix.

use crate::error::PrepError;

/// Row-major `n × d` view over `f32` features (one profile per row).
#[derive(Debug, Clone, Copy)]
pub struct Matrix<'a> {
    data: &'a [f32],
    n: usize,
    d: usize,
}

impl<'a> Matrix<'a> {
    /// Wraps `data` as `n` rows of `d` values; fails unless `data.len() == n * d`.
    pub fn new(data: &'a [f32], n: usize, d: usize) -> Result<Self, PrepError> {
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

    /// Fails with [`PrepError::RowOutOfRange`] for the first index `>= n`.
    pub fn check_rows(&self, rows: &[usize]) -> Result<(), PrepError> {
        match rows.iter().find(|&&r| r >= self.n) {
            Some(&row) => Err(PrepError::RowOutOfRange { row, n: self.n }),
            None => Ok(()),
        }
    }
}

/// Fails unless a buffer of `len` values holds exactly `n × d`.
pub fn check_shape(len: usize, n: usize, d: usize) -> Result<(), PrepError> {
    let expected = n
        .checked_mul(d)
        .ok_or_else(|| PrepError::InvalidParameter {
            name: "n*d",
            value: format!("{n}*{d}"),
            reason: "overflows usize".to_owned(),
        })?;
    if len != expected {
        return Err(PrepError::ShapeMismatch {
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
    fn shape_and_rows_are_checked() {
        let data = [1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        let m = Matrix::new(&data, 3, 2).unwrap();
        assert_eq!(m.row(2), &[5.0, 6.0]);
        assert_eq!(m.check_rows(&[0, 2]), Ok(()));
        assert_eq!(
            m.check_rows(&[1, 3, 7]),
            Err(PrepError::RowOutOfRange { row: 3, n: 3 })
        );
        assert_eq!(
            Matrix::new(&data, 2, 2).unwrap_err(),
            PrepError::ShapeMismatch {
                what: "data length (n*d)",
                expected: 4,
                got: 6
            }
        );
    }
}
