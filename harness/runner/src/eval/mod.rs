//! The metrics on a profile table: one module per metric, each with its parameter type
//! (checked once, naming the flag or manifest key at fault), its report type (what
//! `cpbench eval <metric> --out` writes) and one `evaluate` function. `cpbench eval` and the
//! tasks of a benchmark run both call `evaluate`, so a benchmark score and an ad-hoc
//! `cpbench eval` on the same profiles are one number by construction.

pub mod enrichment;
pub mod kmeans;
pub mod knn;
pub mod leakage;
pub mod map;
pub mod partition;
pub mod precision;
pub mod relations;
pub mod replicating;

use cpbench_metrics::similarity::check_contrast;
use cpbench_metrics::{Matrix, MetricError, Similarity};

use crate::err;
use crate::error::{Error, Result};
use crate::params::Origin;
use crate::table::{Source, row_note};

/// The metrics crate's similarity for a manifest's.
pub fn similarity(s: cpbench_core::manifest::Similarity) -> Similarity {
    use cpbench_core::manifest::Similarity as M;
    match s {
        M::Cosine => Similarity::Cosine,
        M::Pearson => Similarity::Pearson,
        M::AbsCosine => Similarity::AbsCosine,
        M::Euclidean => Similarity::Euclidean,
    }
}

/// Refuses profiles that `similarity` cannot rank (`check_contrast`: every row the same, or
/// the cosine of a single feature). Every score that ranks rows by similarity (mAP,
/// enrichment, precision@k, percent replicating, kNN, relations) calls it first: on such
/// profiles its tie rule, not the profiles, would set the value, which can be a perfect score
/// (copairs ranks tied positives first, so identical rows give mAP 1 with p < 0.05).
pub(crate) fn require_contrast(
    x: Matrix<'_>,
    similarity: Similarity,
    source: &Source,
    origin: Origin,
) -> Result<()> {
    check_contrast(x, similarity).map_err(|e| explain(e, source, "", origin))
}

/// Turns a metric error into a message naming the file, the row and the parameter at fault
/// (`labels` holds the label column's name).
pub(crate) fn explain(e: MetricError, source: &Source, labels: &str, origin: Origin) -> Error {
    let file = &source.name;
    let note = row_note(source.filtered());
    match e {
        MetricError::ZeroNorm { row, similarity } => err!(
            "{file}: row {row}{note} {}: {similarity} similarity is undefined. Remove the row \
             (--filter) or choose another {}",
            if similarity == Similarity::Pearson {
                "is constant (zero norm after centering)"
            } else {
                "has zero norm"
            },
            origin.key("similarity")
        ),
        MetricError::NonFinite { row, col } => {
            err!("{file}: feature {col} of row {row}{note} is NaN or infinite")
        }
        MetricError::NoContrast { similarity, reason } => err!(
            "{file}: {similarity} similarity ({} {similarity}) cannot tell the rows{} apart: \
             {reason}, so a score ranking rows by it would only show how ties are broken",
            origin.key("similarity"),
            if source.filtered() {
                " kept by the filters"
            } else {
                ""
            }
        ),
        MetricError::InvalidParameter {
            name: "labels",
            reason,
            ..
        } => err!("{file}: {} {labels}: {reason}", origin.key("labels")),
        other => err!("{file}: {other}"),
    }
}
