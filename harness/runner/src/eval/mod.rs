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

use cpbench_metrics::{MetricError, Similarity};

use crate::err;
use crate::error::Error;
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
        MetricError::InvalidParameter {
            name: "labels",
            reason,
            ..
        } => err!("{file}: {} {labels}: {reason}", origin.key("labels")),
        other => err!("{file}: {other}"),
    }
}
