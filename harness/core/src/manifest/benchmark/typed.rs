//! A `[[task]]`'s metric with its own parameters: one struct per metric holding only the keys
//! that metric takes ([`TaskParams`]), converted from and to the flat table a manifest is
//! written in (`TaskTable`). The conversion refuses a table with a key its metric does not take
//! or without a required one (the loader's precheck names the key and line first). Absent
//! optional keys stay `None`: defaults belong to the metric's parameter type in the runner,
//! which fills them; ranges are checked with the metrics' own rules (`cpbench_metrics::params`)
//! both here, at load, and there.

use super::task::{Metric, Similarity, Task, TaskTable, VoteTies, check_task_keys};

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
    /// How a tied vote is decided.
    pub vote_ties: Option<VoteTies>,
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
    /// Neighbours that vote.
    pub k: Option<u32>,
    /// Neighbours equal to the query on any of these columns are skipped.
    pub exclude_same: Vec<String>,
    /// Similarity measure.
    pub similarity: Option<Similarity>,
    /// Named variant recorded with the scores.
    pub variant: Option<String>,
}

impl TaskParams {
    /// The metric these parameters belong to.
    pub fn metric(&self) -> Metric {
        match self {
            TaskParams::Map(_) => Metric::Map,
            TaskParams::Enrichment(_) => Metric::Enrichment,
            TaskParams::PrecisionAtK(_) => Metric::PrecisionAtK,
            TaskParams::Replicating(_) => Metric::Replicating,
            TaskParams::Kmeans(_) => Metric::Kmeans,
            TaskParams::KnnAccuracy(_) => Metric::KnnAccuracy,
            TaskParams::BatchLeakage(_) => Metric::BatchLeakage,
            TaskParams::Relations(_) => Metric::Relations,
            TaskParams::Partition(_) => Metric::Partition,
        }
    }
}

impl TaskParams {
    /// The lists of metadata columns the parameters name, with their keys.
    pub fn column_lists(&self) -> Vec<(&'static str, &[String])> {
        match self {
            TaskParams::Map(m) => vec![
                ("pos_sameby", &m.pos_sameby[..]),
                ("pos_diffby", &m.pos_diffby[..]),
                ("neg_sameby", &m.neg_sameby[..]),
                ("neg_diffby", &m.neg_diffby[..]),
            ],
            TaskParams::Replicating(r) => r
                .replicate
                .as_deref()
                .map(|l| vec![("replicate", l)])
                .unwrap_or_default(),
            TaskParams::KnnAccuracy(k) => vec![("exclude_same", &k.exclude_same[..])],
            TaskParams::Partition(p) => vec![("exclude_same", &p.exclude_same[..])],
            _ => Vec::new(),
        }
    }

    /// The single metadata columns the parameters name, with their keys.
    pub fn columns(&self) -> Vec<(&'static str, &str)> {
        match self {
            TaskParams::Map(m) => m
                .multilabel
                .as_ref()
                .map(|(labels, _)| vec![("labels", labels.as_str())])
                .unwrap_or_default(),
            TaskParams::Enrichment(e) => vec![("labels", &e.labels)],
            TaskParams::PrecisionAtK(p) => vec![("labels", &p.labels)],
            TaskParams::Replicating(_) => Vec::new(),
            TaskParams::Kmeans(k) => vec![("labels", &k.labels)],
            TaskParams::KnnAccuracy(k) => vec![("labels", &k.labels)],
            TaskParams::BatchLeakage(l) => {
                let mut out = vec![("target", l.target.as_str())];
                out.extend(l.groups.as_deref().map(|g| ("groups", g)));
                out
            }
            TaskParams::Relations(r) => r
                .labels
                .as_deref()
                .map(|l| vec![("labels", l)])
                .unwrap_or_default(),
            TaskParams::Partition(p) => vec![("labels", &p.labels)],
        }
    }
}

impl TryFrom<TaskTable> for Task {
    type Error = String;

    /// The typed task, or which key is wrong and why (a key the metric does not take, a
    /// required one missing, `labels` of `map` without its `multilabel_sep`).
    fn try_from(t: TaskTable) -> Result<Task, String> {
        let present: Vec<String> = t.set_keys().into_iter().map(str::to_string).collect();
        check_task_keys(t.metric, &present).map_err(|(key, why)| format!("`{key}`: {why}"))?;
        let need = |value: Option<String>, key: &str| {
            value.ok_or_else(|| format!("`{key}`: required by metric `{}`", t.metric))
        };
        let ks = |k: Option<u32>, k_values: Option<Vec<u32>>| match (k_values, k) {
            (Some(ks), _) => ks,
            (None, Some(k)) => vec![k],
            (None, None) => Vec::new(),
        };
        let params = match t.metric {
            Metric::Map => TaskParams::Map(MapTask {
                pos_sameby: t.pos_sameby.unwrap_or_default(),
                pos_diffby: t.pos_diffby.unwrap_or_default(),
                neg_sameby: t.neg_sameby.unwrap_or_default(),
                neg_diffby: t.neg_diffby.unwrap_or_default(),
                reference: t.reference,
                multilabel: match (t.labels, t.multilabel_sep) {
                    (Some(labels), Some(sep)) => Some((labels, sep)),
                    (None, None) => None,
                    (Some(_), None) => {
                        return Err("`multilabel_sep`: `labels` of metric `map` names the \
                                    multilabel column and needs its separator"
                            .to_string());
                    }
                    (None, Some(_)) => {
                        return Err("`labels`: needs `labels` (the multilabel column)".to_string());
                    }
                },
                similarity: t.similarity,
                null_size: t.null_size,
                seed: t.seed,
                threshold: t.threshold,
            }),
            Metric::Enrichment => TaskParams::Enrichment(EnrichmentTask {
                labels: need(t.labels, "labels")?,
                multilabel_sep: t.multilabel_sep,
                percentile: t.percentile,
                similarity: t.similarity,
                variant: t.variant,
            }),
            Metric::PrecisionAtK => TaskParams::PrecisionAtK(PrecisionAtKTask {
                labels: need(t.labels, "labels")?,
                k: ks(t.k, t.k_values),
                similarity: t.similarity,
            }),
            Metric::Replicating => TaskParams::Replicating(ReplicatingTask {
                replicate: t.replicate,
                quantile: t.quantile,
                null_size: t.null_size,
                seed: t.seed,
                similarity: t.similarity,
                variant: t.variant,
            }),
            Metric::Kmeans => TaskParams::Kmeans(KmeansTask {
                labels: need(t.labels, "labels")?,
                k: t.k,
                k_sweep: t.k_sweep,
                restarts: t.restarts,
                seed: t.seed,
            }),
            Metric::KnnAccuracy => TaskParams::KnnAccuracy(KnnTask {
                labels: need(t.labels, "labels")?,
                k: ks(t.k, t.k_values),
                exclude_same: t.exclude_same.unwrap_or_default(),
                similarity: t.similarity,
                vote_ties: t.vote_ties,
            }),
            Metric::BatchLeakage => TaskParams::BatchLeakage(LeakageTask {
                target: need(t.target, "target")?,
                groups: t.groups,
                folds: t.folds,
                seed: t.seed,
                controls: t.controls,
                variant: t.variant,
            }),
            Metric::Relations => TaskParams::Relations(RelationsTask {
                pairs: t.pairs.unwrap_or_default(),
                labels: t.labels,
                similarity: t.similarity,
            }),
            Metric::Partition => TaskParams::Partition(PartitionTask {
                labels: need(t.labels, "labels")?,
                k: t.k,
                exclude_same: t.exclude_same.unwrap_or_default(),
                similarity: t.similarity,
                variant: t.variant,
            }),
        };
        Ok(Task {
            id: t.id,
            description: t.description,
            level: t.level,
            rows: t.rows,
            params,
        })
    }
}

/// A list key as written: absent when empty.
fn listed(v: Vec<String>) -> Option<Vec<String>> {
    (!v.is_empty()).then_some(v)
}

/// Neighbour counts as written: one as `k`, several as `k_values`.
fn k_keys(k: Vec<u32>) -> (Option<u32>, Option<Vec<u32>>) {
    match k.as_slice() {
        [] => (None, None),
        [one] => (Some(*one), None),
        _ => (None, Some(k)),
    }
}

impl From<Task> for TaskTable {
    fn from(task: Task) -> TaskTable {
        let mut t = TaskTable {
            metric: task.metric(),
            ..TaskTable::empty(task.id)
        };
        t.description = task.description;
        t.level = task.level;
        t.rows = task.rows;
        match task.params {
            TaskParams::Map(m) => {
                t.pos_sameby = listed(m.pos_sameby);
                t.pos_diffby = listed(m.pos_diffby);
                t.neg_sameby = listed(m.neg_sameby);
                t.neg_diffby = listed(m.neg_diffby);
                t.reference = m.reference;
                if let Some((labels, sep)) = m.multilabel {
                    t.labels = Some(labels);
                    t.multilabel_sep = Some(sep);
                }
                t.similarity = m.similarity;
                t.null_size = m.null_size;
                t.seed = m.seed;
                t.threshold = m.threshold;
            }
            TaskParams::Enrichment(e) => {
                t.labels = Some(e.labels);
                t.multilabel_sep = e.multilabel_sep;
                t.percentile = e.percentile;
                t.similarity = e.similarity;
                t.variant = e.variant;
            }
            TaskParams::PrecisionAtK(p) => {
                t.labels = Some(p.labels);
                (t.k, t.k_values) = k_keys(p.k);
                t.similarity = p.similarity;
            }
            TaskParams::Replicating(r) => {
                t.replicate = r.replicate;
                t.quantile = r.quantile;
                t.null_size = r.null_size;
                t.seed = r.seed;
                t.similarity = r.similarity;
                t.variant = r.variant;
            }
            TaskParams::Kmeans(k) => {
                t.labels = Some(k.labels);
                t.k = k.k;
                t.k_sweep = k.k_sweep;
                t.restarts = k.restarts;
                t.seed = k.seed;
            }
            TaskParams::KnnAccuracy(k) => {
                t.labels = Some(k.labels);
                (t.k, t.k_values) = k_keys(k.k);
                t.exclude_same = listed(k.exclude_same);
                t.similarity = k.similarity;
                t.vote_ties = k.vote_ties;
            }
            TaskParams::BatchLeakage(l) => {
                t.target = Some(l.target);
                t.groups = l.groups;
                t.folds = l.folds;
                t.seed = l.seed;
                t.controls = l.controls;
                t.variant = l.variant;
            }
            TaskParams::Relations(r) => {
                t.pairs = Some(r.pairs);
                t.labels = r.labels;
                t.similarity = r.similarity;
            }
            TaskParams::Partition(p) => {
                t.labels = Some(p.labels);
                t.k = p.k;
                t.exclude_same = listed(p.exclude_same);
                t.similarity = p.similarity;
                t.variant = p.variant;
            }
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(json: serde_json::Value) -> Result<Task, String> {
        serde_json::from_value(json).map_err(|e| e.to_string())
    }

    #[test]
    fn each_metric_gets_only_its_parameters() {
        let map = task(serde_json::json!({
            "id": "m", "metric": "map", "pos_sameby": ["A"], "neg_diffby": ["A"],
            "labels": "Metadata_moa", "multilabel_sep": "|", "null_size": 100
        }))
        .unwrap();
        let TaskParams::Map(m) = &map.params else {
            panic!("a map task")
        };
        assert_eq!(m.pos_sameby, ["A"]);
        assert!(m.pos_diffby.is_empty());
        assert_eq!(
            m.multilabel,
            Some(("Metadata_moa".to_string(), "|".to_string()))
        );
        assert_eq!((m.null_size, m.seed), (Some(100), None));
        assert_eq!(map.metric(), Metric::Map);

        let knn =
            task(serde_json::json!({"id": "k", "metric": "knn-accuracy", "labels": "L"})).unwrap();
        let TaskParams::KnnAccuracy(k) = knn.params else {
            panic!("a knn task")
        };
        assert!(k.k.is_empty(), "no k: the metric's default applies");
        let p = task(serde_json::json!({
            "id": "p", "metric": "precision-at-k", "labels": "L", "k_values": [1, 5]
        }))
        .unwrap();
        let TaskParams::PrecisionAtK(p) = p.params else {
            panic!("a precision task")
        };
        assert_eq!(p.k, [1, 5]);
    }

    #[test]
    fn a_table_that_does_not_fit_its_metric_is_refused_naming_the_key() {
        let e = task(serde_json::json!({"id": "k", "metric": "kmeans"})).unwrap_err();
        assert!(e.contains("`labels`: required by metric `kmeans`"), "{e}");
        let e = task(serde_json::json!({"id": "p", "metric": "precision-at-k", "labels": "L"}))
            .unwrap_err();
        assert!(e.contains("needs one of: k, k_values"), "{e}");
        let e = task(serde_json::json!({
            "id": "m", "metric": "map", "pos_sameby": ["A"], "restarts": 3
        }))
        .unwrap_err();
        assert!(
            e.contains("`restarts`: not a parameter of metric `map`"),
            "{e}"
        );
        let e = task(serde_json::json!({
            "id": "m", "metric": "map", "pos_sameby": ["A"], "labels": "L"
        }))
        .unwrap_err();
        assert!(e.contains("`multilabel_sep`"), "{e}");
        let e = task(serde_json::json!({
            "id": "k", "metric": "knn-accuracy", "labels": "L", "k": 1, "k_values": [2]
        }))
        .unwrap_err();
        assert!(e.contains("not both"), "{e}");
    }

    #[test]
    fn every_metric_round_trips_through_its_flat_table() {
        let tables = [
            serde_json::json!({"id": "a", "metric": "map", "pos_sameby": ["A"],
                "pos_diffby": ["B"], "neg_diffby": ["A"], "reference": "controls",
                "labels": "A", "multilabel_sep": "|", "similarity": "pearson",
                "null_size": 10, "seed": 3, "threshold": 0.1, "level": "well",
                "rows": "A != x", "description": "d"}),
            serde_json::json!({"id": "b", "metric": "enrichment", "labels": "A",
                "multilabel_sep": "|", "percentile": 98.0, "variant": "v"}),
            serde_json::json!({"id": "c", "metric": "precision-at-k", "labels": "A",
                "k_values": [1, 5]}),
            serde_json::json!({"id": "d", "metric": "replicating", "replicate": ["A"],
                "quantile": 0.9, "null_size": 5, "seed": 1, "variant": "group-median"}),
            serde_json::json!({"id": "e", "metric": "kmeans", "labels": "A", "k": 4,
                "k_sweep": [2, 6], "restarts": 7, "seed": 2}),
            serde_json::json!({"id": "f", "metric": "knn-accuracy", "labels": "A", "k": 3,
                "exclude_same": ["B"], "vote_ties": "sklearn"}),
            serde_json::json!({"id": "g", "metric": "batch-leakage", "target": "P",
                "groups": "Q", "folds": 3, "seed": 4, "controls": "controls", "variant": "v"}),
            serde_json::json!({"id": "h", "metric": "relations", "pairs": ["CORUM"],
                "labels": "G"}),
            serde_json::json!({"id": "i", "metric": "partition", "labels": "A", "k": 1,
                "exclude_same": ["B"], "variant": "nsc"}),
        ];
        assert_eq!(tables.len(), Metric::ALL.len());
        for table in tables {
            let typed = task(table.clone()).unwrap();
            assert_eq!(serde_json::to_value(&typed).unwrap(), table);
        }
    }

    #[test]
    fn the_key_list_covers_every_field_of_the_published_table() {
        let schema = serde_json::to_value(schemars::schema_for!(TaskTable)).unwrap();
        let mut properties: Vec<&str> = schema["properties"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .filter(|k| *k != "id" && *k != "metric")
            .collect();
        let full = TaskTable::full();
        let mut listed = full.set_keys();
        properties.sort_unstable();
        listed.sort_unstable();
        assert_eq!(listed, properties);
    }
}
