//! Errors of the preprocessing operations.
//!
//! Contract: indices named by an error are 0-based positions in the step's inputs. Errors of
//! `cpbench_metrics` convert with `From`: those with a `PrepError` twin (shape, parameter and
//! row-count errors, e.g. from [`crate::Matrix::new`]) become that twin with the same fields and
//! message; any other is carried unchanged as [`PrepError::Metric`]. Steps that run a metric
//! as part of their algorithm (the classifier of `insp`) wrap its errors with context instead.

use cpbench_metrics::MetricError;

/// Everything that can go wrong in a preprocessing step.
///
/// Row, feature and group indices are 0-based positions in the inputs handed
/// to the step; callers that know the file or table add that context.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PrepError {
    /// Fewer rows than the operation needs.
    #[error("{what} needs at least {needed} rows, got {got}")]
    TooFewRows {
        /// What needed the rows, e.g. "normalize fit".
        what: &'static str,
        /// Minimum number of rows.
        needed: usize,
        /// Rows received.
        got: usize,
    },
    /// A feature (0-based column) has zero variance where the operation must divide by it.
    #[error("feature {feature} has zero variance on the fit rows")]
    ZeroVariance {
        /// 0-based column index.
        feature: usize,
    },
    /// A group (0-based code) has no rows to fit on.
    #[error("group {group} has no rows to fit on")]
    EmptyGroup {
        /// The group code.
        group: u32,
    },
    /// `apply` was called before `fit`.
    #[error("{step}: apply called before fit")]
    NotFitted {
        /// Name of the step.
        step: &'static str,
    },
    /// A row index (0-based) is outside the matrix.
    #[error("row index {row} is out of range for {n} rows")]
    RowOutOfRange {
        /// The offending index.
        row: usize,
        /// Number of rows in the matrix.
        n: usize,
    },
    /// Two sizes that must agree do not.
    #[error("shape mismatch in {what}: expected {expected}, got {got}")]
    ShapeMismatch {
        /// What was measured, e.g. "data length (n*d)".
        what: &'static str,
        /// The size required by the other inputs.
        expected: usize,
        /// The size received.
        got: usize,
    },
    /// A parameter is outside its allowed range.
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name as the user spells it.
        name: &'static str,
        /// The rejected value, rendered.
        value: String,
        /// Why it was rejected.
        reason: String,
    },
    /// A value the operation cannot use (NaN or infinite) on a fit row.
    #[error("{what}: row {row}, feature {feature} is not finite")]
    NonFinite {
        /// What needed finite values, e.g. "sphere fit".
        what: &'static str,
        /// 0-based row index.
        row: usize,
        /// 0-based column index.
        feature: usize,
    },
    /// The fit rows span fewer dimensions than the operation needs.
    #[error(
        "{what}: the {rows} fit rows have rank {rank} over {features} features; \
         need rank {rows} - 1 or {rows} (remove duplicate or linearly dependent fit rows)"
    )]
    RankDeficient {
        /// What needed the rank, e.g. "sphere fit".
        what: &'static str,
        /// Numerical rank found.
        rank: usize,
        /// Number of fit rows.
        rows: usize,
        /// Number of features.
        features: usize,
    },
    /// The classifier inside a step (null-space projection) refused its input.
    #[error("{what}: {reason}")]
    Classifier {
        /// What ran the classifier, e.g. "insp".
        what: &'static str,
        /// The classifier's error, rendered.
        reason: String,
    },
    /// A matrix decomposition failed to converge.
    #[error("{what} failed: {reason}")]
    Decomposition {
        /// Which decomposition.
        what: &'static str,
        /// The solver's report.
        reason: String,
    },
    /// A group (0-based code) whose fit rows cannot give the statistic the operation needs.
    #[error("{what}: group {group}: {reason}")]
    DegenerateGroup {
        /// What needed the statistic, e.g. "treatment strength".
        what: &'static str,
        /// The group code.
        group: u32,
        /// What is wrong, e.g. "fewer than 2 control rows".
        reason: String,
    },
    /// An error of `cpbench_metrics` that has no preprocessing twin, passed through unchanged.
    #[error(transparent)]
    Metric(MetricError),
}

impl From<MetricError> for PrepError {
    /// The twin variant (same fields, same message) where there is one, else [`PrepError::Metric`].
    fn from(e: MetricError) -> Self {
        match e {
            MetricError::ShapeMismatch {
                what,
                expected,
                got,
            } => PrepError::ShapeMismatch {
                what,
                expected,
                got,
            },
            MetricError::InvalidParameter {
                name,
                value,
                reason,
            } => PrepError::InvalidParameter {
                name,
                value,
                reason,
            },
            MetricError::TooFewRows { what, needed, got } => {
                PrepError::TooFewRows { what, needed, got }
            }
            other => PrepError::Metric(other),
        }
    }
}
