//! cpbench-prep: preprocessing applied to every representation before scoring.
//!
//! Pure numerics over row-major `f32` or `f64` feature matrices ([`Matrix`],
//! generic over [`Float`]), fit-row selections and group codes; no files, no
//! DataFrames. Statistics accumulate in `f64`, and results are rounded once to
//! the matrix's type, so an `f32` matrix gives the bits it always gave and an
//! `f64` one keeps pycytominer's all-`float64` precision. Operations match
//! pycytominer 1.7.1 where pycytominer has them.
//!
//! Present:
//! - [`step`] — the seams: [`Transform`] (fit on chosen rows, apply in place),
//!   [`Selector`] (choose columns to keep) and [`fit_apply_by_group`] (one
//!   fitted transform per plate or batch).
//! - [`stats`] — NaN-skipping column statistics: mean, variance, median,
//!   numpy-linear quantiles, MAD.
//! - [`normalize`] — standardize, robustize and MAD-robustize.
//! - [`sphere`] — sphering fitted on controls: pycytominer's PCA/ZCA(-cor) and
//!   the CNN-1 regularized variant with its λ sweep, without `n × n` matrices.
//! - [`insp`] — iterative null-space projection of a batch label (JUMP), using
//!   the classifier of `cpbench_metrics::classify`.
//! - [`feature_select`] — pycytominer's `feature_select` operations
//!   (variance, frequency, correlation threshold, NA columns, blocklist,
//!   outliers) as a [`Selector`]; the correlation is a `d × d` faer product.
//! - [`control_normalize`](mod@control_normalize) — within-batch centering and scaling against each
//!   batch's controls (JUMP), zero spreads reported, never divided by.
//! - [`aggregate`] — the [`SetAggregator`] seam (mean, median, MODZ; a Deep
//!   Sets plugin plugs in here) and [`aggregate_groups`].
//! - [`treatment_strength`](mod@treatment_strength) — z-scored distance to the plate's control median
//!   (CNN-1 paper §5.2).
//! - [`matrix`] — [`Matrix`], the row-major view of `cpbench_metrics`, and its element type
//!   [`Float`] (one definition for both crates), with the row and shape checks that report
//!   [`PrepError`].
//! - [`error`] — [`PrepError`], naming the 0-based row, feature or group at fault.

pub mod aggregate;
pub mod control_normalize;
pub mod error;
pub mod feature_select;
pub mod insp;
pub mod matrix;
pub mod normalize;
pub mod sphere;
pub mod stats;
pub mod step;
pub mod treatment_strength;

pub use aggregate::{Mean, Median, Modz, SetAggregator, aggregate_groups};
pub use control_normalize::{
    ControlMethod, ControlNormalizeReport, ControlParams, OnZeroScale, control_normalize,
};
pub use error::PrepError;
pub use feature_select::{CorrMethod, FeatureOp, FeatureSelect, Selection, Thresholds};
pub use insp::{Insp, InspFit, InspParams};
pub use matrix::{CheckRows, Float, Matrix};
pub use normalize::{Method, Normalize};
pub use sphere::{Decomposition, Sphere, SphereMethod, regularized_sweep};
pub use step::{Selector, Transform, fit_apply_by_group, keep_columns};
pub use treatment_strength::{TreatmentStrength, treatment_strength};
