//! `[[task]]`s: the metrics ([`Metric`]), similarity measures ([`Similarity`]), the task table
//! ([`Task`]) and its check. Each metric allows only its own parameters (plus the common
//! `level` and `rows`); ranges, label columns declared in `[columns]`, row selections, `k`
//! values, annotation names in `pairs`, and the `[columns]` roles a metric relies on are
//! checked too.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::BenchmarkManifest;
use super::columns::{check_rows, require_control};
use super::params::{check_params, present_keys};
use crate::manifest::ManifestError;
use crate::manifest::source::Doc;
use crate::profiles::Level;

/// A scoring metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Metric {
    /// Mean average precision with permutation p-values (copairs semantics).
    Map,
    /// Folds of enrichment (DeepProfiler convention) of `labels` among each query's nearest rows.
    Enrichment,
    /// Precision at k of `labels` matches among each query's nearest rows.
    PrecisionAtK,
    /// Percent replicating: replicate similarity above a quantile of a null.
    Replicating,
    /// k-means clustering against `labels`: NMI, ARI and purity over restarts.
    Kmeans,
    /// Leave-one-out k-nearest-neighbour accuracy of `labels`, with exclusion rules.
    KnnAccuracy,
    /// Batch leakage: how well `target` is predicted from control profiles (lower is better).
    BatchLeakage,
    /// Known-relationship recall (EFAAR): annotated pairs in the tails of all pairwise cosines.
    Relations,
    /// Label prediction across the `[columns] split`: k-NN fitted on train rows, scored on test rows.
    Partition,
}

/// Parameters every metric accepts.
pub(super) const COMMON_TASK_PARAMS: &[&str] = &["level", "rows"];

impl Metric {
    /// The name used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Map => "map",
            Metric::Enrichment => "enrichment",
            Metric::PrecisionAtK => "precision-at-k",
            Metric::Replicating => "replicating",
            Metric::Kmeans => "kmeans",
            Metric::KnnAccuracy => "knn-accuracy",
            Metric::BatchLeakage => "batch-leakage",
            Metric::Relations => "relations",
            Metric::Partition => "partition",
        }
    }

    /// Which parameters the metric takes: (required, optional, exactly one of).
    pub(super) fn rule(
        self,
    ) -> (
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    ) {
        match self {
            Metric::Map => (
                &["pos_sameby"],
                &[
                    "pos_diffby",
                    "neg_sameby",
                    "neg_diffby",
                    "reference",
                    "similarity",
                    "null_size",
                    "seed",
                    "threshold",
                    "labels",
                    "multilabel_sep",
                ],
                &[],
            ),
            // Only what the metric implements: a key it would ignore is an error, not a no-op.
            Metric::Enrichment => (
                &["labels"],
                &["multilabel_sep", "percentile", "similarity", "variant"],
                &[],
            ),
            Metric::PrecisionAtK => (&["labels"], &["similarity"], &["k", "k_values"]),
            Metric::Replicating => (
                &[],
                &[
                    "replicate",
                    "quantile",
                    "null_size",
                    "seed",
                    "similarity",
                    "variant",
                ],
                &[],
            ),
            Metric::Kmeans => (&["labels"], &["k", "k_sweep", "restarts", "seed"], &[]),
            Metric::KnnAccuracy => (
                &["labels"],
                &["k", "k_values", "exclude_same", "similarity"],
                &[],
            ),
            Metric::BatchLeakage => (
                &["target"],
                &["groups", "folds", "seed", "controls", "variant"],
                &[],
            ),
            Metric::Relations => (&["pairs"], &["labels", "similarity"], &[]),
            Metric::Partition => (
                &["labels"],
                &["k", "exclude_same", "similarity", "variant"],
                &[],
            ),
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How two profiles are compared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Similarity {
    /// Cosine similarity.
    Cosine,
    /// Pearson correlation.
    Pearson,
    /// Absolute value of the cosine similarity.
    AbsCosine,
    /// 1 / (1 + Euclidean distance).
    Euclidean,
}

/// One `[[task]]`: a metric and the parameters it takes (other keys are rejected).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// Task id, unique within the benchmark: lowercase letters, digits and '-'.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]*$"))]
    pub id: String,
    /// The metric; it decides which of the other keys are allowed.
    pub metric: Metric,
    /// What the task measures, shown in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Level the profiles are scored at (all metrics; default: the level after preprocessing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// Score only the rows matching this filter (all metrics), e.g. `Metadata_moa != DMSO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<String>,
    /// Label column: a `[columns] labels` entry or the perturbation column (enrichment, precision-at-k, kmeans, knn-accuracy, partition; map: multilabel column; relations: gene column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<String>,
    /// Separator of multiple labels in one `labels` cell, e.g. `|` (map, enrichment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub multilabel_sep: Option<String>,
    /// Map: positive pairs are equal on all these columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos_sameby: Option<Vec<String>>,
    /// Map: positive pairs differ on all these columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pos_diffby: Option<Vec<String>>,
    /// Map: negative pairs are equal on all these columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neg_sameby: Option<Vec<String>>,
    /// Map: negative pairs differ on all these columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub neg_diffby: Option<Vec<String>>,
    /// Map: negatives are drawn from these rows only: `controls` or a row filter such as `Metadata_pert_type=control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Similarity measure (map, enrichment, precision-at-k, replicating, relations, partition; default cosine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub similarity: Option<Similarity>,
    /// Size of the null distribution (map: p-values; replicating: non-replicate pairs sampled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub null_size: Option<u32>,
    /// Random seed (map, replicating, kmeans, batch-leakage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Map: q-value threshold for the fraction retrieved, in (0, 1] (default 0.05).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Enrichment: percentile of each query's similarities used as threshold, in (0, 100] (default 99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub percentile: Option<f64>,
    /// Number of neighbours (precision-at-k, knn-accuracy, partition) or clusters (kmeans; default: number of labels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub k: Option<u32>,
    /// Several neighbour counts, each scored (precision-at-k, knn-accuracy; instead of `k`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k_values: Option<Vec<u32>>,
    /// Kmeans: inclusive range `[first, last]` of cluster counts to sweep, e.g. `[2, 30]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k_sweep: Option<[u32; 2]>,
    /// Kmeans: number of seeded restarts, each scored separately (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub restarts: Option<u32>,
    /// Neighbours equal to the query on any of these columns are skipped (knn-accuracy, partition), e.g. compound (NSC) and batch (NSCB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exclude_same: Option<Vec<String>>,
    /// Named variant of the metric, recorded next to its value (enrichment, replicating, batch-leakage, partition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
    /// Replicating: quantile in [0, 1] of the non-replicate similarities (default 0.95).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quantile: Option<f64>,
    /// Replicating: columns that together identify replicates (default `[columns] replicate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replicate: Option<Vec<String>>,
    /// Batch-leakage: rows scored, `controls` (default) or a row filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub controls: Option<String>,
    /// Batch-leakage: column to predict, e.g. the batch or plate column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// Batch-leakage: grouping column for grouped folds (default `[columns] plate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<String>,
    /// Batch-leakage: number of cross-validation folds (>= 2, default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds: Option<u32>,
    /// Relations: names of `[[data.annotations]]` gene-pair files to test, e.g. `["CORUM", "Reactome"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairs: Option<Vec<String>>,
}

/// Position of `level` from finest to coarsest.
fn index_of(level: Level) -> usize {
    Level::ALL.iter().position(|l| *l == level).unwrap_or(0)
}

impl BenchmarkManifest {
    /// Checks `[[task]]` `i`: its parameters, and its references to `[columns]` and `[data]`.
    pub(super) fn validate_task(
        &self,
        doc: &Doc<'_>,
        i: usize,
        task: &Task,
    ) -> Result<(), ManifestError> {
        let prefix = format!("task[{i}]");
        let key = |k: &str| format!("{prefix}.{k}");
        doc.check_slug(&key("id"), &task.id)?;
        let what = format!("metric `{}`", task.metric);
        let (required, optional, one_of) = task.metric.rule();
        let allowed: Vec<&str> = required
            .iter()
            .chain(optional)
            .chain(one_of)
            .chain(COMMON_TASK_PARAMS)
            .copied()
            .collect();
        let present = present_keys(doc, &prefix, task, &["id", "metric", "description", "rows"]);
        if let Some(rows) = &task.rows {
            check_rows(doc, &key("rows"), rows, false, &self.columns)?;
        }
        check_params(doc, &prefix, &what, &present, required, &allowed, one_of)?;

        let columns = &self.columns;
        if let Some(level) = task.level
            && index_of(level) < index_of(self.data.level)
        {
            return Err(doc.invalid(
                key("level"),
                format!(
                    "`{}` is finer than the data level `{}`",
                    level.as_str(),
                    self.data.level.as_str()
                ),
            ));
        }
        for (k, value) in [
            ("multilabel_sep", &task.multilabel_sep),
            ("variant", &task.variant),
            ("target", &task.target),
            ("groups", &task.groups),
        ] {
            if let Some(v) = value {
                doc.check_nonempty(&key(k), v)?;
            }
        }
        if let Some(labels) = &task.labels {
            doc.check_nonempty(&key("labels"), labels)?;
            let declared =
                columns.labels.contains(labels) || columns.perturbation.as_ref() == Some(labels);
            if !declared {
                return Err(doc.invalid(
                    key("labels"),
                    format!(
                        "`{labels}` is neither in `[columns] labels` nor the perturbation column; \
                         declare it there so it is hidden from plugins"
                    ),
                ));
            }
        } else if task.multilabel_sep.is_some() {
            return Err(doc.invalid(
                key("multilabel_sep"),
                "needs `labels` (the multilabel column)",
            ));
        }
        if let Some(list) = &task.pos_sameby {
            doc.check_names(&key("pos_sameby"), list)?;
        }
        // copairs configs often spell "no constraint" as an empty list.
        for (k, list) in [
            ("pos_diffby", &task.pos_diffby),
            ("neg_sameby", &task.neg_sameby),
            ("neg_diffby", &task.neg_diffby),
        ] {
            if let Some(list) = list.as_ref().filter(|l| !l.is_empty()) {
                doc.check_names(&key(k), list)?;
            }
        }
        for (k, list) in [
            ("exclude_same", &task.exclude_same),
            ("replicate", &task.replicate),
        ] {
            if let Some(list) = list {
                doc.check_names(&key(k), list)?;
            }
        }
        if let Some(reference) = &task.reference {
            check_rows(doc, &key("reference"), reference, false, columns)?;
        }
        match &task.controls {
            Some(controls) => check_rows(doc, &key("controls"), controls, false, columns)?,
            None if task.metric == Metric::BatchLeakage => {
                require_control(doc, &key("controls"), columns)?
            }
            None => {}
        }
        if let Some(n) = task.null_size {
            doc.check_min(&key("null_size"), n.into(), 1)?;
        }
        if let Some(v) = task.threshold {
            doc.check_range(&key("threshold"), v, 0.0, true, 1.0)?;
        }
        if let Some(v) = task.percentile {
            doc.check_range(&key("percentile"), v, 0.0, true, 100.0)?;
        }
        if let Some(v) = task.quantile {
            doc.check_range(&key("quantile"), v, 0.0, false, 1.0)?;
        }
        let min_k = if task.metric == Metric::Kmeans { 2 } else { 1 };
        if let Some(k) = task.k {
            doc.check_min(&key("k"), k.into(), min_k)?;
        }
        if let Some(ks) = &task.k_values {
            if ks.is_empty() {
                return Err(doc.invalid(key("k_values"), "must list at least one value"));
            }
            for (j, &k) in ks.iter().enumerate() {
                doc.check_min(&format!("{prefix}.k_values[{j}]"), k.into(), 1)?;
                if ks[..j].contains(&k) {
                    return Err(doc.invalid(
                        format!("{prefix}.k_values[{j}]"),
                        format!("{k} is listed twice"),
                    ));
                }
            }
            if task.k.is_some() {
                return Err(doc.invalid(key("k_values"), "give either `k` or `k_values`, not both"));
            }
        }
        if let Some([first, last]) = task.k_sweep
            && (first < 2 || first > last)
        {
            return Err(doc.invalid(
                key("k_sweep"),
                format!(
                    "[{first}, {last}] is not a range of cluster counts: need 2 <= first <= last"
                ),
            ));
        }
        if let Some(n) = task.restarts {
            doc.check_min(&key("restarts"), n.into(), 1)?;
        }
        if let Some(n) = task.folds {
            doc.check_min(&key("folds"), n.into(), 2)?;
        }
        if let Some(pairs) = &task.pairs {
            doc.check_names(&key("pairs"), pairs)?;
            let names: BTreeSet<&str> = self
                .data
                .annotations
                .iter()
                .map(|a| a.name.as_str())
                .collect();
            if let Some((j, p)) = pairs
                .iter()
                .enumerate()
                .find(|(_, p)| !names.contains(p.as_str()))
            {
                let known: Vec<&str> = names.into_iter().collect();
                return Err(doc.invalid(
                    format!("{prefix}.pairs[{j}]"),
                    format!(
                        "no annotation named `{p}` in `[[data.annotations]]` (names: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        }
                    ),
                ));
            }
        }
        if task.metric == Metric::Replicating
            && task.replicate.is_none()
            && columns.replicate.is_empty()
        {
            return Err(doc.invalid(
                key("replicate"),
                format!("{what} needs `replicate` or `[columns] replicate`"),
            ));
        }
        if task.metric == Metric::Partition && columns.split.is_none() {
            return Err(doc.invalid(key("metric"), "`partition` needs `[columns] split`"));
        }
        Ok(())
    }
}
