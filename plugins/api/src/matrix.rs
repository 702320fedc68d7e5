//! A borrowed row-major `f32` matrix: the shape that crosses the plugin boundary as
//! `(RSlice<f32>, n, d)`, checked once so plugin code can index it without re-deriving offsets.

use abi_stable::std_types::RSlice;

/// A row-major `rows × cols` view over `f32` values, one row per profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Matrix<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
}

impl<'a> Matrix<'a> {
    /// Wraps `data` as `rows × cols`, failing when the length does not match the shape.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Result<Matrix<'a>, String> {
        match rows.checked_mul(cols) {
            Some(len) if len == data.len() => Ok(Matrix { data, rows, cols }),
            _ => Err(format!(
                "matrix holds {} values but its shape is {rows} × {cols}",
                data.len()
            )),
        }
    }

    /// Wraps the `(x, n, d)` triple a [`crate::Representation`] method receives.
    pub fn from_ffi(x: RSlice<'a, f32>, n: u64, d: u64) -> Result<Matrix<'a>, String> {
        let too_big =
            |what: &str, v: u64| format!("{what} = {v} does not fit this platform's usize");
        let rows = usize::try_from(n).map_err(|_| too_big("n", n))?;
        let cols = usize::try_from(d).map_err(|_| too_big("d", d))?;
        Matrix::new(x.as_slice(), rows, cols)
    }

    /// Number of rows (profiles).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (features).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Row `i`; panics when `i >= rows()`, like slice indexing.
    pub fn row(&self, i: usize) -> &'a [f32] {
        assert!(i < self.rows, "row {i} out of range for {} rows", self.rows);
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// Iterates over the rows in order.
    pub fn iter_rows(&self) -> impl ExactSizeIterator<Item = &'a [f32]> + 'a {
        let (data, rows, cols) = (self.data, self.rows, self.cols);
        // chunks_exact(0) panics, and a zero-column matrix still has `rows` (empty) rows.
        (0..rows).map(move |i| &data[i * cols..(i + 1) * cols])
    }

    /// All values, row-major.
    pub fn as_slice(&self) -> &'a [f32] {
        self.data
    }

    /// The values as the `RSlice` the FFI methods take, for host-side callers.
    pub fn as_rslice(&self) -> RSlice<'a, f32> {
        RSlice::from_slice(self.data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_row_major() {
        let data = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0];
        let m = Matrix::new(&data, 2, 3).unwrap();
        assert_eq!(m.row(0), &[1.0, 2.0, 3.0]);
        assert_eq!(m.row(1), &[4.0, 5.0, 6.0]);
        assert_eq!(m.iter_rows().len(), 2);
        assert_eq!(m.iter_rows().last().unwrap(), &[4.0, 5.0, 6.0]);
    }

    #[test]
    fn shape_mismatch_is_an_error() {
        let data = [0.0; 5];
        let err = Matrix::new(&data, 2, 3).unwrap_err();
        assert_eq!(err, "matrix holds 5 values but its shape is 2 × 3");
        let err = Matrix::new(&data, usize::MAX, 2).unwrap_err();
        assert!(err.contains("holds 5 values"), "{err}");
    }

    #[test]
    fn zero_columns_keep_their_rows() {
        let m = Matrix::new(&[], 3, 0).unwrap();
        assert_eq!(m.iter_rows().count(), 3);
        assert!(m.row(2).is_empty());
    }

    #[test]
    fn from_ffi_round_trips() {
        let data = [1.0f32, 2.0];
        let m = Matrix::new(&data, 1, 2).unwrap();
        let back = Matrix::from_ffi(m.as_rslice(), 1, 2).unwrap();
        assert_eq!(back, m);
        assert!(Matrix::from_ffi(m.as_rslice(), 2, 2).is_err());
    }
}
