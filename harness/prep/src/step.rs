//! The seams every preprocessing operation plugs into.
//!
//! Two kinds of step exist, because they change the matrix differently:
//!
//! - [`Transform`] keeps the shape: it learns parameters from some rows (e.g.
//!   the controls) with [`Transform::fit`], then rewrites values in place with
//!   [`Transform::apply`]. Normalization, sphering, batch correction.
//!   [`fit_apply_by_group`] runs one transform per plate or batch.
//! - [`Selector`] removes features: it looks at some rows and returns the
//!   columns to keep; [`keep_columns`] then builds the narrower matrix, and the
//!   caller drops the same indices from its feature names. Selection is global,
//!   never per group, so that every row keeps the same columns.
//!
//! Both work on `f32` or `f64` matrices ([`Float`]): a step fits in `f64` whatever it reads, and
//! a fitted transform rewrites values of either type, rounding each result once.

use crate::error::PrepError;
use crate::matrix::{Float, Matrix, check_shape};

/// A shape-preserving step: fit on chosen rows, then rewrite values in place.
pub trait Transform {
    /// Short name used in errors and provenance, e.g. `"normalize"`.
    fn name(&self) -> &'static str;

    /// Learns the step's parameters from rows `rows` (0-based) of `x`; refitting replaces them.
    fn fit<T: Float>(&mut self, x: Matrix<'_, T>, rows: &[usize]) -> Result<(), PrepError>;

    /// Rewrites the row-major `n × d` matrix `x` in place with the fitted parameters.
    fn apply<T: Float>(&self, x: &mut [T], n: usize, d: usize) -> Result<(), PrepError>;
}

/// The fitted state a [`Transform::apply`] needs: checks that `x` holds `n × d` values, that
/// `fit` came first, and that the fit saw `d` features (`fitted_d` says how many it saw).
pub(crate) fn fitted_for_apply<'a, F>(
    fitted: Option<&'a F>,
    step: &'static str,
    fitted_d: impl Fn(&F) -> usize,
    (len, n, d): (usize, usize, usize),
) -> Result<&'a F, PrepError> {
    check_shape(len, n, d)?;
    let fitted = fitted.ok_or(PrepError::NotFitted { step })?;
    if fitted_d(fitted) != d {
        return Err(PrepError::ShapeMismatch {
            what: "features (fitted vs applied)",
            expected: fitted_d(fitted),
            got: d,
        });
    }
    Ok(fitted)
}

/// A feature-removing step: decides which columns survive.
pub trait Selector {
    /// Short name used in errors and provenance, e.g. `"variance_threshold"`.
    fn name(&self) -> &'static str;

    /// Returns the 0-based columns to keep, strictly increasing, judged on rows `rows` of `x`.
    fn select<T: Float>(&self, x: Matrix<'_, T>, rows: &[usize]) -> Result<Vec<usize>, PrepError>;
}

/// Copies the columns `keep` (strictly increasing, each `< d`) of `x` into a new
/// row-major `n × keep.len()` matrix.
pub fn keep_columns<T: Copy>(x: Matrix<'_, T>, keep: &[usize]) -> Result<Vec<T>, PrepError> {
    if let Some(w) = keep.windows(2).find(|w| w[0] >= w[1]) {
        return Err(PrepError::InvalidParameter {
            name: "keep",
            value: format!("[.., {}, {}, ..]", w[0], w[1]),
            reason: "column indices must be strictly increasing".to_owned(),
        });
    }
    if let Some(&c) = keep.last().filter(|&&c| c >= x.d()) {
        return Err(PrepError::InvalidParameter {
            name: "keep",
            value: c.to_string(),
            reason: format!("column index out of range for {} columns", x.d()),
        });
    }
    let mut out = Vec::with_capacity(x.n() * keep.len());
    for i in 0..x.n() {
        let row = x.row(i);
        out.extend(keep.iter().map(|&c| row[c]));
    }
    Ok(out)
}

/// Fits one transform per group on that group's fit rows and applies it to all
/// of that group's rows, in place; returns the fitted transforms indexed by group.
///
/// `groups[i]` is row `i`'s group code; codes must be dense, `0..=max`, as a
/// factorize step produces. `fit_rows[i]` marks the rows to fit on (e.g.
/// controls, or all `true` to fit on every row). A code with no fit rows is
/// [`PrepError::EmptyGroup`]. Every transform is fitted before any value is
/// written, so a fit error leaves `x` untouched; an error from `apply` can leave
/// earlier groups written.
pub fn fit_apply_by_group<T: Transform, F: Float>(
    make: impl Fn() -> T,
    x: &mut [F],
    n: usize,
    d: usize,
    fit_rows: &[bool],
    groups: &[u32],
) -> Result<Vec<T>, PrepError> {
    check_shape(x.len(), n, d)?;
    for (what, len) in [
        ("fit_rows length", fit_rows.len()),
        ("groups length", groups.len()),
    ] {
        if len != n {
            return Err(PrepError::ShapeMismatch {
                what,
                expected: n,
                got: len,
            });
        }
    }
    let n_groups = groups.iter().max().map_or(0, |&g| g as usize + 1);
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
    let mut fit_members: Vec<Vec<usize>> = vec![Vec::new(); n_groups];
    for (i, (&g, &fit)) in groups.iter().zip(fit_rows).enumerate() {
        members[g as usize].push(i);
        if fit {
            fit_members[g as usize].push(i);
        }
    }
    if let Some(g) = fit_members.iter().position(Vec::is_empty) {
        return Err(PrepError::EmptyGroup { group: g as u32 });
    }

    let view = Matrix::new(x, n, d)?;
    let mut fitted = Vec::with_capacity(n_groups);
    for rows in &fit_members {
        let mut t = make();
        t.fit(view, rows)?;
        fitted.push(t);
    }

    // Rows of a group are generally not contiguous: gather, apply, scatter.
    let mut buf = Vec::new();
    for (t, rows) in fitted.iter().zip(&members) {
        // `apply` sees one group's rows; errors must name rows of the whole matrix.
        let remap = |e: PrepError| match e {
            PrepError::NonFinite { what, row, feature } => PrepError::NonFinite {
                what,
                row: rows[row],
                feature,
            },
            other => other,
        };
        // A run of consecutive rows (always so for a single group) is applied in place,
        // sparing a copy of the whole matrix.
        if let (Some(&first), Some(&last)) = (rows.first(), rows.last())
            && last - first + 1 == rows.len()
        {
            t.apply(&mut x[first * d..(last + 1) * d], rows.len(), d)
                .map_err(remap)?;
            continue;
        }
        buf.clear();
        for &i in rows {
            buf.extend_from_slice(&x[i * d..(i + 1) * d]);
        }
        t.apply(&mut buf, rows.len(), d).map_err(remap)?;
        for (k, &i) in rows.iter().enumerate() {
            x[i * d..(i + 1) * d].copy_from_slice(&buf[k * d..(k + 1) * d]);
        }
    }
    Ok(fitted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::matrix::CheckRows;

    /// Subtracts the per-column mean of the fit rows: small enough to check by hand.
    #[derive(Debug, Default)]
    struct Center {
        means: Option<Vec<f64>>,
    }

    impl Transform for Center {
        fn name(&self) -> &'static str {
            "center"
        }

        fn fit<T: Float>(&mut self, x: Matrix<'_, T>, rows: &[usize]) -> Result<(), PrepError> {
            let mut means = vec![0.0f64; x.d()];
            for &r in rows {
                means
                    .iter_mut()
                    .zip(x.row(r))
                    .for_each(|(m, v)| *m += v.to_f64());
            }
            means.iter_mut().for_each(|m| *m /= rows.len() as f64);
            self.means = Some(means);
            Ok(())
        }

        fn apply<T: Float>(&self, x: &mut [T], n: usize, d: usize) -> Result<(), PrepError> {
            check_shape(x.len(), n, d)?;
            let means = self
                .means
                .as_ref()
                .ok_or(PrepError::NotFitted { step: "center" })?;
            for row in x.chunks_exact_mut(d) {
                row.iter_mut()
                    .zip(means)
                    .for_each(|(v, m)| *v = T::from_f64(v.to_f64() - m));
            }
            Ok(())
        }
    }

    /// Keeps the columns that are not constant on the given rows.
    struct DropConstant;

    impl Selector for DropConstant {
        fn name(&self) -> &'static str {
            "drop_constant"
        }

        fn select<T: Float>(
            &self,
            x: Matrix<'_, T>,
            rows: &[usize],
        ) -> Result<Vec<usize>, PrepError> {
            x.check_rows(rows)?;
            Ok((0..x.d())
                .filter(|&c| rows.iter().any(|&r| x.row(r)[c] != x.row(rows[0])[c]))
                .collect())
        }
    }

    #[test]
    fn each_group_is_fitted_on_its_own_fit_rows() {
        // Group 0: rows 0, 2, 4 (fit on 0 and 2); group 1: rows 1, 3 (fit on 3).
        let mut x = vec![1.0, 10.0, 100.0, 200.0, 3.0, 30.0, 300.0, 400.0, 7.0, 70.0];
        let fit_rows = [true, false, true, true, false];
        let groups = [0, 1, 0, 1, 0];
        let fitted = fit_apply_by_group(Center::default, &mut x, 5, 2, &fit_rows, &groups).unwrap();
        assert_eq!(fitted.len(), 2);
        assert_eq!(fitted[0].means, Some(vec![2.0, 20.0]));
        assert_eq!(fitted[1].means, Some(vec![300.0, 400.0]));
        assert_eq!(
            x,
            vec![-1.0, -10.0, -200.0, -200.0, 1.0, 10.0, 0.0, 0.0, 5.0, 50.0]
        );
    }

    #[test]
    fn contiguous_groups_are_applied_in_place_to_their_own_rows_only() {
        // Group 0 is rows 0-1 and group 1 rows 2-4: both runs take the in-place path, which
        // must hand each transform exactly its rows.
        let mut x = vec![
            1.0, 10.0, 3.0, 30.0, 100.0, 200.0, 300.0, 400.0, 500.0, 600.0,
        ];
        let fit_rows = [true, true, false, true, true];
        let groups = [0, 0, 1, 1, 1];
        let fitted = fit_apply_by_group(Center::default, &mut x, 5, 2, &fit_rows, &groups).unwrap();
        assert_eq!(fitted[0].means, Some(vec![2.0, 20.0]));
        assert_eq!(fitted[1].means, Some(vec![400.0, 500.0]));
        assert_eq!(
            x,
            vec![
                -1.0, -10.0, 1.0, 10.0, -300.0, -300.0, -100.0, -100.0, 100.0, 100.0
            ]
        );
    }

    #[test]
    fn group_without_fit_rows_is_named_and_nothing_is_written() {
        let mut x = vec![1.0, 2.0, 3.0, 4.0];
        let before = x.clone();
        let err = fit_apply_by_group(
            Center::default,
            &mut x,
            4,
            1,
            &[true, false, true, false],
            &[0, 1, 2, 1],
        )
        .unwrap_err();
        assert_eq!(err, PrepError::EmptyGroup { group: 1 });
        assert_eq!(x, before);
        // A code with no rows at all (gap in 0..=max) has no fit rows either.
        let err = fit_apply_by_group(Center::default, &mut x, 4, 1, &[true; 4], &[0, 0, 2, 2])
            .unwrap_err();
        assert_eq!(err, PrepError::EmptyGroup { group: 1 });
    }

    #[test]
    fn lengths_are_checked() {
        let mut x = vec![0.0; 6];
        let err =
            fit_apply_by_group(Center::default, &mut x, 3, 2, &[true; 2], &[0; 3]).unwrap_err();
        assert_eq!(
            err,
            PrepError::ShapeMismatch {
                what: "fit_rows length",
                expected: 3,
                got: 2
            }
        );
        let err =
            fit_apply_by_group(Center::default, &mut x, 2, 2, &[true; 2], &[0; 2]).unwrap_err();
        assert!(matches!(
            err,
            PrepError::ShapeMismatch {
                what: "data length (n*d)",
                ..
            }
        ));
        let fitted =
            fit_apply_by_group::<_, f32>(Center::default, &mut [], 0, 2, &[], &[]).unwrap();
        assert!(fitted.is_empty());
    }

    #[test]
    fn selector_and_keep_columns() {
        // Column 1 is constant on rows 0 and 1, though not on row 2.
        let x = [1.0, 5.0, 9.0, 2.0, 5.0, 8.0, 3.0, 6.0, 7.0];
        let view = Matrix::new(&x, 3, 3).unwrap();
        let keep = DropConstant.select(view, &[0, 1]).unwrap();
        assert_eq!(keep, vec![0, 2]);
        assert_eq!(
            keep_columns(view, &keep).unwrap(),
            vec![1.0, 9.0, 2.0, 8.0, 3.0, 7.0]
        );
        assert_eq!(keep_columns(view, &[]).unwrap(), Vec::<f32>::new());
        assert!(matches!(
            keep_columns(view, &[2, 0]),
            Err(PrepError::InvalidParameter { name: "keep", .. })
        ));
        assert!(matches!(
            keep_columns(view, &[0, 3]),
            Err(PrepError::InvalidParameter { name: "keep", .. })
        ));
    }
}
