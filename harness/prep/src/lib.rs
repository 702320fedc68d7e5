//! cpbench-prep: preprocessing applied to every representation before scoring.
//!
//! Pure numerics over row-major `f32` feature matrices ([`Matrix`]), fit-row
//! selections and group codes; no files, no DataFrames. Statistics accumulate
//! in `f64`. Operations match pycytominer 1.7.1 where pycytominer has them.
//!
//! Present:
//! - [`step`] — the seams: [`Transform`] (fit on chosen rows, apply in place),
//!   [`Selector`] (choose columns to keep) and [`fit_apply_by_group`] (one
//!   fitted transform per plate or batch).
//! - [`stats`] — NaN-skipping column statistics: mean, variance, median,
//!   numpy-linear quantiles, MAD.
//! - [`normalize`] — standardize, robustize and MAD-robustize.
//! - [`error`] — [`PrepError`], naming the 0-based row, feature or group at fault.
//!
//! Planned (see DESIGN.md §6): feature selection (variance, correlation
//! threshold, NA columns, blocklist, compartment/channel filters) as
//! [`Selector`]s; sphering (PCA/ZCA and -cor variants, fitted on controls),
//! null-space projection and within-batch control centering as [`Transform`]s;
//! aggregation (cell → site → well → treatment); treatment strength.

pub mod error;
pub mod matrix;
pub mod normalize;
pub mod stats;
pub mod step;

pub use error::PrepError;
pub use matrix::Matrix;
pub use normalize::{Method, Normalize};
pub use step::{Selector, Transform, fit_apply_by_group, keep_columns};
