//! A checked `[[task]]` as the metric it names: one struct per metric holding only that
//! metric's parameters, built by [`Task::params`] from the task table the loader checked
//! (required keys present, no key the metric does not take, ranges valid). Absent optional
//! keys stay `None`: defaults belong to the metric's parameter type in the runner, which is
//! the one place that fills and checks them.
//!
//! The manifest keeps the flat table as its serde form, so that `benchmark.toml` errors name
//! the key, its line and the keys the metric allows, and the published JSON Schema stays
//! the same; code that scores a task reads [`TaskParams`] only.

use super::task::{Metric, Similarity, Task};

/// A task's metric with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskParams {
    /// Mean average precision (copairs).
    Map(MapTask),
    /// Folds of enrichment (DeepProfiler).
    Enrichment(EnrichmentTask),
    /// precision@k (cytominer-eval).
    PrecisionAtK(PrecisionAtKTask),
    /// Percent replicating.
    Replicating(ReplicatingTask),
    /// k-means against labels.
    Kmeans(KmeansTask),
    /// Leave-one-out kNN accuracy.
    KnnAccuracy(KnnTask),
    /// Batch leakage.
    BatchLeakage(LeakageTask),
    /// Known-relationship recall.
    Relations(RelationsTask),
    /// Label prediction across the split (no scores on a plugin's profiles).
    Partition(PartitionTask),
}

/// `metric = "map"`.
#[derive(Debug, Clone, PartialEq)]
pub struct MapTask {
    /// Positive pairs are equal on all these columns.
    pub pos_sameby: Vec<String>,
    /// Positive pairs differ on all these columns.
    pub pos_diffby: Vec<String>,
    /// Negative pairs are equal on all these columns.
    pub neg_sameby: Vec<String>,
    /// Negative pairs differ on all these columns.
    pub neg_diffby: Vec<String>,
    /// Score against these rows only: `controls` or a row filter.
    pub reference: Option<String>,
    /// The multilabel column and its separator.
    pub multilabel: Option<(String, String)>,
    /// Similarity measure.
    pub similarity: Option<Similarity>,
    /// Null draws per configuration.
    pub null_size: Option<u32>,
    /// Seed of the null.
    pub seed: Option<u64>,
    /// q-value threshold of the fraction retrieved.
    pub threshold: Option<f64>,
}

/// `metric = "enrichment"`.
#[derive(Debug, Clone, PartialEq)]
pub struct EnrichmentTask {
    /// The label column.
    pub labels: String,
    /// Separator of several labels in one cell.
    pub multilabel_sep: Option<String>,
    /// Percentile of each query's similarities used as threshold.
    pub percentile: Option<f64>,
    /// Similarity measure.
    pub similarity: Option<Similarity>,
    /// Named variant recorded with the scores.
    pub variant: Option<String>,
}

/// `metric = "precision-at-k"`.
#[derive(Debug, Clone, PartialEq)]
pub struct PrecisionAtKTask {
    /// The label column: the groups to retrieve.
    pub labels: String,
    /// The k values (`k` or `k_values`), in order.
    pub k: Vec<u32>,
    /// Similarity measure.
    pub similarity: Option<Similarity>,
}

/// `metric = "replicating"`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplicatingTask {
    /// Columns that together identify replicates (default `[columns] replicate`).
    pub replicate: Option<Vec<String>>,
    /// Quantile of the null.
    pub quantile: Option<f64>,
    /// Null draws (group-median variant).
    pub null_size: Option<u32>,
    /// Seed of the null (group-median variant).
    pub seed: Option<u64>,
    /// Similarity measure.
    pub similarity: Option<Similarity>,
    /// `pair` or `group-median`.
    pub variant: Option<String>,
}

/// `metric = "kmeans"`.
#[derive(Debug, Clone, PartialEq)]
pub struct KmeansTask {
    /// The label column the clusterings are scored against.
    pub labels: String,
    /// Clusters (default: the number of labels).
    pub k: Option<u32>,
    /// Inclusive range of cluster counts to sweep.
    pub k_sweep: Option<[u32; 2]>,
    /// Seeded restarts.
    pub restarts: Option<u32>,
    /// Base seed.
    pub seed: Option<u64>,
}

/// `metric = "knn-accuracy"`.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnTask {
    /// The label column to predict.
    pub labels: String,
    /// Neighbour counts, each scored (`k` or `k_values`; empty: the metric's default).
    pub k: Vec<u32>,
    /// Neighbours equal to the query on any of these columns are skipped.
    pub exclude_same: Vec<String>,
    /// Similarity measure.
    pub similarity: Option<Similarity>,
}

/// `metric = "batch-leakage"`.
#[derive(Debug, Clone, PartialEq)]
pub struct LeakageTask {
    /// The column to predict.
    pub target: String,
    /// Grouping column of the folds (default `[columns] plate`).
    pub groups: Option<String>,
    /// Cross-validation folds.
    pub folds: Option<u32>,
    /// Fold seed.
    pub seed: Option<u64>,
    /// The rows scored: `controls` (default) or a row filter.
    pub controls: Option<String>,
    /// Named variant recorded with the scores.
    pub variant: Option<String>,
}

/// `metric = "relations"`.
#[derive(Debug, Clone, PartialEq)]
pub struct RelationsTask {
    /// Names of `[[data.annotations]]` pair files.
    pub pairs: Vec<String>,
    /// The gene column when `[columns] perturbation` is absent.
    pub labels: Option<String>,
    /// Similarity measure.
    pub similarity: Option<Similarity>,
}

/// `metric = "partition"`.
#[derive(Debug, Clone, PartialEq)]
pub struct PartitionTask {
    /// The label column.
    pub labels: String,
}

impl Task {
    /// The task's metric with only its parameters. Fails (naming the key) only for a task
    /// that did not go through the manifest check, which requires these keys.
    pub fn params(&self) -> Result<TaskParams, String> {
        let need = |value: &Option<String>, key: &str| {
            value
                .clone()
                .ok_or_else(|| format!("task `{}`: needs `{key}`", self.id))
        };
        let list = |v: &Option<Vec<String>>| v.clone().unwrap_or_default();
        let ks = || match (&self.k_values, self.k) {
            (Some(ks), _) => ks.clone(),
            (None, Some(k)) => vec![k],
            (None, None) => Vec::new(),
        };
        Ok(match self.metric {
            Metric::Map => TaskParams::Map(MapTask {
                pos_sameby: list(&self.pos_sameby),
                pos_diffby: list(&self.pos_diffby),
                neg_sameby: list(&self.neg_sameby),
                neg_diffby: list(&self.neg_diffby),
                reference: self.reference.clone(),
                multilabel: match &self.multilabel_sep {
                    Some(sep) => Some((need(&self.labels, "labels")?, sep.clone())),
                    None => None,
                },
                similarity: self.similarity,
                null_size: self.null_size,
                seed: self.seed,
                threshold: self.threshold,
            }),
            Metric::Enrichment => TaskParams::Enrichment(EnrichmentTask {
                labels: need(&self.labels, "labels")?,
                multilabel_sep: self.multilabel_sep.clone(),
                percentile: self.percentile,
                similarity: self.similarity,
                variant: self.variant.clone(),
            }),
            Metric::PrecisionAtK => {
                let k = ks();
                if k.is_empty() {
                    return Err(format!("task `{}`: needs `k` or `k_values`", self.id));
                }
                TaskParams::PrecisionAtK(PrecisionAtKTask {
                    labels: need(&self.labels, "labels")?,
                    k,
                    similarity: self.similarity,
                })
            }
            Metric::Replicating => TaskParams::Replicating(ReplicatingTask {
                replicate: self.replicate.clone(),
                quantile: self.quantile,
                null_size: self.null_size,
                seed: self.seed,
                similarity: self.similarity,
                variant: self.variant.clone(),
            }),
            Metric::Kmeans => TaskParams::Kmeans(KmeansTask {
                labels: need(&self.labels, "labels")?,
                k: self.k,
                k_sweep: self.k_sweep,
                restarts: self.restarts,
                seed: self.seed,
            }),
            Metric::KnnAccuracy => TaskParams::KnnAccuracy(KnnTask {
                labels: need(&self.labels, "labels")?,
                k: ks(),
                exclude_same: list(&self.exclude_same),
                similarity: self.similarity,
            }),
            Metric::BatchLeakage => TaskParams::BatchLeakage(LeakageTask {
                target: need(&self.target, "target")?,
                groups: self.groups.clone(),
                folds: self.folds,
                seed: self.seed,
                controls: self.controls.clone(),
                variant: self.variant.clone(),
            }),
            Metric::Relations => TaskParams::Relations(RelationsTask {
                pairs: self
                    .pairs
                    .clone()
                    .ok_or_else(|| format!("task `{}`: needs `pairs`", self.id))?,
                labels: self.labels.clone(),
                similarity: self.similarity,
            }),
            Metric::Partition => TaskParams::Partition(PartitionTask {
                labels: need(&self.labels, "labels")?,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(json: serde_json::Value) -> Task {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn each_metric_gets_only_its_parameters() {
        let map = task(serde_json::json!({
            "id": "m", "metric": "map", "pos_sameby": ["A"], "neg_diffby": ["A"],
            "labels": "Metadata_moa", "multilabel_sep": "|", "null_size": 100
        }));
        let TaskParams::Map(m) = map.params().unwrap() else {
            panic!("a map task")
        };
        assert_eq!(m.pos_sameby, ["A"]);
        assert!(m.pos_diffby.is_empty());
        assert_eq!(
            m.multilabel,
            Some(("Metadata_moa".to_string(), "|".to_string()))
        );
        assert_eq!((m.null_size, m.seed), (Some(100), None));

        let knn = task(serde_json::json!({"id": "k", "metric": "knn-accuracy", "labels": "L"}));
        let TaskParams::KnnAccuracy(k) = knn.params().unwrap() else {
            panic!("a knn task")
        };
        assert!(k.k.is_empty(), "no k: the metric's default applies");
        let p = task(serde_json::json!({
            "id": "p", "metric": "precision-at-k", "labels": "L", "k_values": [1, 5]
        }));
        let TaskParams::PrecisionAtK(p) = p.params().unwrap() else {
            panic!("a precision task")
        };
        assert_eq!(p.k, [1, 5]);
    }

    #[test]
    fn a_required_key_missing_outside_the_manifest_check_is_named() {
        let e = task(serde_json::json!({"id": "k", "metric": "kmeans"}))
            .params()
            .unwrap_err();
        assert_eq!(e, "task `k`: needs `labels`");
        let e = task(serde_json::json!({"id": "p", "metric": "precision-at-k", "labels": "L"}))
            .params()
            .unwrap_err();
        assert!(e.contains("`k` or `k_values`"), "{e}");
    }
}
