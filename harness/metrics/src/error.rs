//! Errors of the metric functions.
//!
//! Contract: rows and columns named by an error are 0-based positions in the matrix the
//! caller handed in; a metric that works on a reordered or gathered copy maps them back with
//! `unpermute_error` before returning.

use crate::measure::Similarity;

/// Everything that can go wrong in a metric computation.
///
/// Row and column indices are 0-based positions in the matrix handed to the
/// metric; callers that know the file or table add that context.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MetricError {
    /// A row (0-based) has zero norm, so a normalized similarity is undefined for it.
    #[error(
        "row {row} has zero norm{}: {similarity} similarity is undefined",
        if *.similarity == Similarity::Pearson { " after centering (constant row)" } else { "" }
    )]
    ZeroNorm {
        /// 0-based row index.
        row: usize,
        /// The similarity that needed the norm.
        similarity: Similarity,
    },
    /// A value is NaN or infinite where every value must be finite.
    #[error("value at row {row}, column {col} is not finite (NaN or infinite)")]
    NonFinite {
        /// 0-based row index.
        row: usize,
        /// 0-based column index.
        col: usize,
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
    /// The profiles cannot tell rows apart under this similarity (every row the same, or a
    /// cosine of a single feature): every pair ties, so a ranking score would be an artefact of
    /// the tie rule (see `similarity::check_contrast`).
    #[error("{similarity} similarity cannot tell the rows apart: {reason}")]
    NoContrast {
        /// The similarity that was asked for.
        similarity: Similarity,
        /// Why, naming the rows or the feature count.
        reason: String,
    },
    /// The input has fewer rows than the computation needs.
    #[error("{what} needs at least {needed} rows, got {got}")]
    TooFewRows {
        /// What needed the rows.
        what: &'static str,
        /// Minimum number of rows.
        needed: usize,
        /// Rows received.
        got: usize,
    },
}

/// Maps the row of an input error back from permuted to caller order.
///
/// `order[r]` is the caller's row behind row `r` of the reordered copy; the rows of
/// [`MetricError::ZeroNorm`] and [`MetricError::NonFinite`] are translated, every other error
/// passes through unchanged.
pub(crate) fn unpermute_error(e: MetricError, order: &[usize]) -> MetricError {
    match e {
        MetricError::ZeroNorm { row, similarity } => MetricError::ZeroNorm {
            row: order[row],
            similarity,
        },
        MetricError::NonFinite { row, col } => MetricError::NonFinite {
            row: order[row],
            col,
        },
        other => other,
    }
}
