//! Leave-one-out k-nearest-neighbour accuracy with exclusion rules (definition:
//! `cpbench_metrics::knn`).
//!
//! `exclude_same` drops a candidate neighbour that shares its value with the query in *any*
//! listed column (a missing value shares with a missing value). BBBC021's NSC excludes
//! `Metadata_Compound`; NSCB, which also keeps neighbours out of the query's batch, excludes
//! `Metadata_Compound` and `Metadata_Batch`.
//!
//! Report: `accuracy` and `n` (scored queries), `n_unscored` (queries left without candidates),
//! the settings, `per_class` accuracy and the `confusion` matrix (rows = true label, columns =
//! predicted label, both in `classes` order).

use cpbench_core::Profiles;
use cpbench_metrics::Similarity;
use cpbench_metrics::knn::{KnnParams, VoteTie, knn_accuracy};
use serde::Serialize;

use super::explain;
use crate::error::Result;
use crate::params::Origin;
use crate::reporter::Reporter;
use crate::table::{Source, label_column, matrix, require_columns, row_note};
use crate::{bail, err};

/// Parameters of kNN accuracy.
#[derive(Debug, Clone)]
pub struct Params {
    /// The label column to predict; every row needs a value.
    pub labels: String,
    /// Neighbours that vote.
    pub k: usize,
    /// Columns: a neighbour sharing its value with the query in any of them is no candidate.
    pub exclude_same: Vec<String>,
    /// Similarity ranking the neighbours.
    pub similarity: Similarity,
    /// How a tied vote is decided (`sklearn`: as scikit-learn's `KNeighborsClassifier`).
    pub vote_tie: VoteTie,
    /// Worker threads (0: all cores). Results do not depend on it.
    pub threads: usize,
    /// Where the values were written, for messages.
    pub origin: Origin,
}

impl Params {
    /// Checks every value before any work.
    pub fn check(&self) -> Result<()> {
        self.origin
            .check(cpbench_metrics::params::neighbours("k", self.k as u64))
    }
}

/// Accuracy of one class.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassReport {
    /// The class label.
    pub label: String,
    /// Scored queries of this class.
    pub n: u64,
    /// Of them, predicted right.
    pub correct: u64,
    /// `correct / n`.
    pub accuracy: f64,
}

/// The kNN report (`cpbench eval knn --out`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Always `knn_accuracy`.
    pub metric: &'static str,
    /// Share of scored queries whose neighbours vote for their own label.
    pub accuracy: f64,
    /// Scored queries.
    pub n: u64,
    /// Queries left without candidates.
    pub n_unscored: u64,
    /// Neighbours that vote.
    pub k: usize,
    /// Similarity name.
    pub similarity: &'static str,
    /// How a tied vote was decided: `summed-similarity` or `sklearn`.
    pub vote_ties: &'static str,
    /// The label column.
    pub labels: String,
    /// The exclusion columns.
    pub exclude_same: Vec<String>,
    /// Class labels, in code order.
    pub classes: Vec<String>,
    /// Accuracy per class.
    pub per_class: Vec<ClassReport>,
    /// Confusion matrix: rows true, columns predicted.
    pub confusion: Vec<Vec<u64>>,
}

/// Leave-one-out kNN accuracy of `params.labels` on `profiles`.
pub fn evaluate(
    profiles: &Profiles,
    params: &Params,
    source: &Source,
    reporter: &dyn Reporter,
) -> Result<Report> {
    params.check()?;
    let file = &source.name;
    let mut wanted = vec![params.labels.clone()];
    wanted.extend(params.exclude_same.iter().cloned());
    require_columns(profiles, &wanted, file)?;

    let labels = label_column(profiles, &params.labels)?;
    if let Some(&row) = labels.missing_rows().first() {
        bail!(
            "{file}: {} {}: row {row}{} has no value (drop such rows with --filter)",
            params.origin.key("labels"),
            params.labels,
            row_note(source.filtered())
        );
    }
    let codes: Vec<u32> = labels.codes.iter().map(|c| c.expect("checked")).collect();
    let n = codes.len();
    // One label makes every vote right, and labels that no two rows share make every vote
    // wrong: either accuracy is fixed by the labels alone, so it is refused, not reported.
    if n >= 2 && labels.labels.len() < 2 {
        bail!(
            "{file}: {} {}: every row has the same label ({}), so every vote would be right by \
             construction; kNN accuracy needs at least two labels",
            params.origin.key("labels"),
            params.labels,
            labels.labels.first().map_or("", String::as_str)
        );
    }
    if n >= 2 && labels.labels.len() == n {
        bail!(
            "{file}: {} {}: no two of the {n} rows share a label, so no vote could be right; \
             kNN accuracy needs labels with replicates",
            params.origin.key("labels"),
            params.labels
        );
    }
    // Leave-one-out: at most n − 1 rows can vote. scikit-learn refuses k beyond its fitted rows.
    if n >= 2 && params.k > n - 1 {
        bail!(
            "{file}: {} {}: a query has only {} other row(s) to vote",
            params.origin.key("k"),
            params.k,
            n - 1
        );
    }
    // A missing exclusion value gets a code of its own, so missing shares with missing.
    let exclude: Vec<Vec<u32>> = params
        .exclude_same
        .iter()
        .map(|c| {
            let col = label_column(profiles, c)?;
            let missing = col.labels.len() as u32;
            Ok(col.codes.iter().map(|v| v.unwrap_or(missing)).collect())
        })
        .collect::<Result<_>>()?;
    let exclude_refs: Vec<&[u32]> = exclude.iter().map(Vec::as_slice).collect();
    let x = matrix(profiles)?;
    super::require_contrast(x, params.similarity, source, params.origin)?;
    let knn = KnnParams {
        k: params.k,
        similarity: params.similarity,
        vote_tie: params.vote_tie,
        threads: params.threads,
        ..KnnParams::default()
    };
    let n_classes = labels.labels.len();
    let result = knn_accuracy(x, &codes, n_classes, &exclude_refs, &knn)
        .map_err(|e| explain(e, source, &params.labels, params.origin))?;
    if result.n == 0 {
        return Err(if params.exclude_same.is_empty() {
            err!("{file}: a single row has no neighbour to vote")
        } else {
            err!(
                "{file}: {} {} leaves no candidate neighbour for any row",
                params.origin.key("exclude_same"),
                params.exclude_same.join(",")
            )
        });
    }
    let per_class = labels
        .labels
        .iter()
        .zip(&result.per_class)
        .map(|(label, c)| ClassReport {
            label: label.clone(),
            n: c.n as u64,
            correct: c.correct as u64,
            accuracy: c.accuracy,
        })
        .collect();
    let confusion = result
        .confusion
        .chunks(n_classes.max(1))
        .map(<[u64]>::to_vec)
        .collect();
    reporter.summary(&format!(
        "kNN accuracy (k = {}, {}): {:.4} ({} of {} queries{})",
        params.k,
        params.similarity,
        result.accuracy,
        result.confusion.iter().step_by(n_classes + 1).sum::<u64>(),
        result.n,
        if result.n_unscored > 0 {
            format!(", {} without candidates", result.n_unscored)
        } else {
            String::new()
        }
    ));
    Ok(Report {
        metric: "knn_accuracy",
        accuracy: result.accuracy,
        n: result.n as u64,
        n_unscored: result.n_unscored as u64,
        k: params.k,
        similarity: params.similarity.name(),
        vote_ties: params.vote_tie.name(),
        labels: params.labels.clone(),
        exclude_same: params.exclude_same.clone(),
        classes: labels.labels.clone(),
        per_class,
        confusion,
    })
}
