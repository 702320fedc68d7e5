//! `[[task]]`s: the metrics ([`Metric`]), similarity measures ([`Similarity`]), the task
//! ([`Task`]: an id, the common keys and the metric's own typed parameters) and its checks.
//!
//! A task is read in three steps, so that every error names the key and its line:
//! 1. before serde, `precheck_tasks` reads each `[[task]]` table's keys off the document: a
//!    key the metric does not take, a required one missing, or two exclusive ones are refused
//!    with the keys the metric allows;
//! 2. serde reads the flat table (`TaskTable`, the published JSON Schema) and turns it into a
//!    [`Task`] holding a [`TaskParams`] (types and spellings are named by key);
//! 3. `validate_task` checks the typed parameters: ranges (with the metrics' own rules,
//!    `cpbench_metrics::params`, the one place they are defined), label columns declared in
//!    `[columns]`, row selections, annotation names in `pairs`, and the `[columns]` roles a
//!    metric relies on.

use std::collections::BTreeSet;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use cpbench_metrics::MetricError;
use cpbench_metrics::params as limits;

use super::BenchmarkManifest;
use super::columns::{check_rows, require_control};
use super::params::{at_key, check_params, doc_keys};
use super::typed::TaskParams;
use crate::manifest::ManifestError;
use crate::manifest::source::{Doc, closest};
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
    /// Every metric, in the order of the documentation.
    pub const ALL: [Metric; 9] = [
        Metric::Map,
        Metric::Enrichment,
        Metric::PrecisionAtK,
        Metric::Replicating,
        Metric::Kmeans,
        Metric::KnnAccuracy,
        Metric::BatchLeakage,
        Metric::Relations,
        Metric::Partition,
    ];

    /// The metric named `name` in a manifest.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.as_str() == name)
    }

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
                &["k", "k_values", "exclude_same", "similarity", "vote_ties"],
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

/// How a tied kNN vote is decided (`knn-accuracy`'s `vote_ties`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum VoteTies {
    /// The tied label whose voters are more similar in sum (the default).
    SummedSimilarity,
    /// The lowest label, as scikit-learn's `KNeighborsClassifier`.
    Sklearn,
}

/// One `[[task]]`: its id, the keys every metric takes, and the metric with its own
/// parameters. Written and published as one flat table (`TaskTable`); once read, it holds
/// only what its metric takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "TaskTable", into = "TaskTable")]
pub struct Task {
    /// Task id, unique within the benchmark: lowercase letters, digits and '-'.
    pub id: String,
    /// What the task measures, shown in reports.
    pub description: Option<String>,
    /// Level the profiles are scored at (default: the level after preprocessing).
    pub level: Option<Level>,
    /// Score only the rows matching this filter, e.g. `Metadata_moa != DMSO`.
    pub rows: Option<String>,
    /// The metric and its parameters.
    pub params: TaskParams,
}

impl Task {
    /// The task's metric.
    pub fn metric(&self) -> Metric {
        self.params.metric()
    }
}

// The published schema of a task is its flat table's: one object whose `metric` decides
// which other keys are allowed (the loader names the offending key and the allowed ones).
impl JsonSchema for Task {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Task".into()
    }

    fn schema_id() -> std::borrow::Cow<'static, str> {
        concat!(module_path!(), "::Task").into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        TaskTable::json_schema(generator)
    }
}

/// The serde form of a `[[task]]`: one flat table, as written in `benchmark.toml` and
/// published in its JSON Schema. It exists only to be read, checked and turned into a
/// [`Task`]; nothing scores from it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(
    description = "One `[[task]]`: a metric and the parameters it takes (other keys are rejected)."
)]
pub(super) struct TaskTable {
    /// Task id, unique within the benchmark: lowercase letters, digits and '-'.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]*$"))]
    pub(super) id: String,
    /// The metric; it decides which of the other keys are allowed.
    pub(super) metric: Metric,
    /// What the task measures, shown in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) description: Option<String>,
    /// Level the profiles are scored at (all metrics; default: the level after preprocessing).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) level: Option<Level>,
    /// Score only the rows matching this filter (all metrics), e.g. `Metadata_moa != DMSO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) rows: Option<String>,
    /// Label column: a `[columns] labels` entry or the perturbation column (enrichment, precision-at-k, kmeans, knn-accuracy, partition; map: multilabel column; relations: gene column).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) labels: Option<String>,
    /// Separator of multiple labels in one `labels` cell, e.g. `|` (map, enrichment).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) multilabel_sep: Option<String>,
    /// Map: positive pairs are equal on all these columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) pos_sameby: Option<Vec<String>>,
    /// Map: positive pairs differ on all these columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) pos_diffby: Option<Vec<String>>,
    /// Map: negative pairs are equal on all these columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) neg_sameby: Option<Vec<String>>,
    /// Map: negative pairs differ on all these columns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) neg_diffby: Option<Vec<String>>,
    /// Map: negatives are drawn from these rows only: `controls` or a row filter such as `Metadata_pert_type=control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) reference: Option<String>,
    /// Similarity measure (map, enrichment, precision-at-k, replicating, relations, partition; default cosine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) similarity: Option<Similarity>,
    /// Size of the null distribution (map: p-values; replicating: non-replicate pairs sampled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub(super) null_size: Option<u32>,
    /// Random seed (map, replicating, kmeans, batch-leakage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) seed: Option<u64>,
    /// Map: q-value threshold for the fraction retrieved, in (0, 1] (default 0.05).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) threshold: Option<f64>,
    /// Enrichment: percentile of each query's similarities used as threshold, in (0, 100] (default 99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) percentile: Option<f64>,
    /// Number of neighbours (precision-at-k, knn-accuracy, partition) or clusters (kmeans; default: number of labels).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub(super) k: Option<u32>,
    /// Several neighbour counts, each scored (precision-at-k, knn-accuracy; instead of `k`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) k_values: Option<Vec<u32>>,
    /// Kmeans: inclusive range `[first, last]` of cluster counts to sweep, e.g. `[2, 30]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) k_sweep: Option<[u32; 2]>,
    /// Kmeans: number of seeded restarts, each scored separately (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub(super) restarts: Option<u32>,
    /// Neighbours equal to the query on any of these columns are skipped (knn-accuracy, partition), e.g. compound (NSC) and batch (NSCB).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) exclude_same: Option<Vec<String>>,
    /// Knn-accuracy: a tied vote goes to `summed-similarity` (default: the label whose voters are more similar in sum) or `sklearn` (the lowest label, as scikit-learn's KNeighborsClassifier).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) vote_ties: Option<VoteTies>,
    /// Named variant of the metric, recorded next to its value (enrichment, replicating, batch-leakage, partition).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) variant: Option<String>,
    /// Replicating: quantile in [0, 1] of the non-replicate similarities (default 0.95).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) quantile: Option<f64>,
    /// Replicating: columns that together identify replicates (default `[columns] replicate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) replicate: Option<Vec<String>>,
    /// Batch-leakage: rows scored, `controls` (default) or a row filter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) controls: Option<String>,
    /// Batch-leakage: column to predict, e.g. the batch or plate column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) target: Option<String>,
    /// Batch-leakage: grouping column for grouped folds (default `[columns] plate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) groups: Option<String>,
    /// Batch-leakage: number of cross-validation folds (>= 2, default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) folds: Option<u32>,
    /// Relations: names of `[[data.annotations]]` gene-pair files to test, e.g. `["CORUM", "Reactome"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(super) pairs: Option<Vec<String>>,
}

impl TaskTable {
    /// The keys this table sets, apart from `id` and `metric`, in field order.
    pub(super) fn set_keys(&self) -> Vec<&'static str> {
        let set = [
            ("description", self.description.is_some()),
            ("level", self.level.is_some()),
            ("rows", self.rows.is_some()),
            ("labels", self.labels.is_some()),
            ("multilabel_sep", self.multilabel_sep.is_some()),
            ("pos_sameby", self.pos_sameby.is_some()),
            ("pos_diffby", self.pos_diffby.is_some()),
            ("neg_sameby", self.neg_sameby.is_some()),
            ("neg_diffby", self.neg_diffby.is_some()),
            ("reference", self.reference.is_some()),
            ("similarity", self.similarity.is_some()),
            ("null_size", self.null_size.is_some()),
            ("seed", self.seed.is_some()),
            ("threshold", self.threshold.is_some()),
            ("percentile", self.percentile.is_some()),
            ("k", self.k.is_some()),
            ("k_values", self.k_values.is_some()),
            ("k_sweep", self.k_sweep.is_some()),
            ("restarts", self.restarts.is_some()),
            ("exclude_same", self.exclude_same.is_some()),
            ("vote_ties", self.vote_ties.is_some()),
            ("variant", self.variant.is_some()),
            ("quantile", self.quantile.is_some()),
            ("replicate", self.replicate.is_some()),
            ("controls", self.controls.is_some()),
            ("target", self.target.is_some()),
            ("groups", self.groups.is_some()),
            ("folds", self.folds.is_some()),
            ("pairs", self.pairs.is_some()),
        ];
        set.into_iter()
            .filter(|(_, on)| *on)
            .map(|(k, _)| k)
            .collect()
    }

    /// Whether `key` is a key of some task table.
    fn is_key(key: &str) -> bool {
        key == "id" || key == "metric" || TaskTable::full().set_keys().contains(&key)
    }

    /// A map task with id `id` and no other key, to be filled in.
    pub(super) fn empty(id: String) -> TaskTable {
        TaskTable {
            id,
            metric: Metric::Map,
            description: None,
            level: None,
            rows: None,
            labels: None,
            multilabel_sep: None,
            pos_sameby: None,
            pos_diffby: None,
            neg_sameby: None,
            neg_diffby: None,
            reference: None,
            similarity: None,
            null_size: None,
            seed: None,
            threshold: None,
            percentile: None,
            k: None,
            k_values: None,
            k_sweep: None,
            restarts: None,
            exclude_same: None,
            vote_ties: None,
            variant: None,
            quantile: None,
            replicate: None,
            controls: None,
            target: None,
            groups: None,
            folds: None,
            pairs: None,
        }
    }

    /// A table with every key set, for listing them.
    pub(super) fn full() -> TaskTable {
        TaskTable {
            id: String::new(),
            metric: Metric::Map,
            description: Some(String::new()),
            level: Some(Level::Well),
            rows: Some(String::new()),
            labels: Some(String::new()),
            multilabel_sep: Some(String::new()),
            pos_sameby: Some(Vec::new()),
            pos_diffby: Some(Vec::new()),
            neg_sameby: Some(Vec::new()),
            neg_diffby: Some(Vec::new()),
            reference: Some(String::new()),
            similarity: Some(Similarity::Cosine),
            null_size: Some(0),
            seed: Some(0),
            threshold: Some(0.0),
            percentile: Some(0.0),
            k: Some(0),
            k_values: Some(Vec::new()),
            k_sweep: Some([0, 0]),
            restarts: Some(0),
            exclude_same: Some(Vec::new()),
            vote_ties: Some(VoteTies::Sklearn),
            variant: Some(String::new()),
            quantile: Some(0.0),
            replicate: Some(Vec::new()),
            controls: Some(String::new()),
            target: Some(String::new()),
            groups: Some(String::new()),
            folds: Some(0),
            pairs: Some(Vec::new()),
        }
    }
}

/// Keys that are not parameters: checked on their own, allowed for every metric.
const NOT_PARAMETERS: &[&str] = &["id", "metric", "description", "rows"];

/// Checks which keys a task of `metric` sets: none it does not take (an unknown key gets the
/// nearest known spelling), every required one, exactly one of an exclusive group, not both
/// `k` and `k_values`. Returns the key at fault and why.
pub(super) fn check_task_keys(metric: Metric, present: &[String]) -> Result<(), (String, String)> {
    let what = format!("metric `{metric}`");
    let (required, optional, one_of) = metric.rule();
    let allowed: Vec<&str> = required
        .iter()
        .chain(optional)
        .chain(one_of)
        .chain(COMMON_TASK_PARAMS)
        .copied()
        .collect();
    let params: Vec<String> = present
        .iter()
        .filter(|k| !NOT_PARAMETERS.contains(&k.as_str()))
        .cloned()
        .collect();
    if let Some(unknown) = params.iter().find(|k| !TaskTable::is_key(k)) {
        let message = match closest(unknown, &allowed) {
            Some(near) => format!("unknown key (did you mean `{near}`?)"),
            None => format!("unknown key (allowed for {what}: {})", allowed.join(", ")),
        };
        return Err((unknown.clone(), message));
    }
    check_params(&what, &params, required, &allowed, one_of)?;
    if params.iter().any(|k| k == "k") && params.iter().any(|k| k == "k_values") {
        return Err((
            "k_values".to_string(),
            "give either `k` or `k_values`, not both".to_string(),
        ));
    }
    Ok(())
}

/// Position of `level` from finest to coarsest.
fn index_of(level: Level) -> usize {
    Level::ALL.iter().position(|l| *l == level).unwrap_or(0)
}

/// The column and row references of a typed task, with the keys that hold them.
#[derive(Default)]
struct References<'t> {
    /// Strings that must not be empty.
    nonempty: Vec<(&'static str, &'t str)>,
    /// The label column, when the task has one.
    labels: Option<&'t str>,
    /// Column lists whose names must be valid (an empty list allowed where `true`).
    lists: Vec<(&'static str, &'t [String], bool)>,
    /// Row selections (`controls` or a row filter).
    rows: Vec<(&'static str, &'t str)>,
}

impl<'t> References<'t> {
    fn text(&mut self, key: &'static str, value: &'t Option<String>) {
        if let Some(v) = value {
            self.nonempty.push((key, v.as_str()));
        }
    }
}

fn references(params: &TaskParams) -> References<'_> {
    let mut r = References::default();
    match params {
        TaskParams::Map(m) => {
            if let Some((labels, sep)) = &m.multilabel {
                r.nonempty.push(("multilabel_sep", sep));
                r.labels = Some(labels);
            }
            r.lists.push(("pos_sameby", &m.pos_sameby, false));
            // copairs configs often spell "no constraint" as an empty list.
            r.lists.push(("pos_diffby", &m.pos_diffby, true));
            r.lists.push(("neg_sameby", &m.neg_sameby, true));
            r.lists.push(("neg_diffby", &m.neg_diffby, true));
            if let Some(reference) = &m.reference {
                r.rows.push(("reference", reference));
            }
        }
        TaskParams::Enrichment(e) => {
            r.text("multilabel_sep", &e.multilabel_sep);
            r.text("variant", &e.variant);
            r.labels = Some(&e.labels);
        }
        TaskParams::PrecisionAtK(p) => r.labels = Some(&p.labels),
        TaskParams::Replicating(rep) => {
            r.text("variant", &rep.variant);
            if let Some(list) = &rep.replicate {
                r.lists.push(("replicate", list, false));
            }
        }
        TaskParams::Kmeans(k) => r.labels = Some(&k.labels),
        TaskParams::KnnAccuracy(k) => {
            r.labels = Some(&k.labels);
            r.lists.push(("exclude_same", &k.exclude_same, true));
        }
        TaskParams::BatchLeakage(l) => {
            r.nonempty.push(("target", &l.target));
            r.text("groups", &l.groups);
            r.text("variant", &l.variant);
            if let Some(controls) = &l.controls {
                r.rows.push(("controls", controls));
            }
        }
        TaskParams::Relations(rel) => r.labels = rel.labels.as_deref(),
        TaskParams::Partition(p) => {
            r.text("variant", &p.variant);
            r.labels = Some(&p.labels);
            r.lists.push(("exclude_same", &p.exclude_same, true));
        }
    }
    r
}

/// The ranges of a typed task's numbers, checked with the metrics' own rules.
fn check_ranges(params: &TaskParams, k_key: &'static str) -> Result<(), MetricError> {
    let ks = |ks: &[u32]| -> Result<(), MetricError> {
        match ks {
            [] => Ok(()),
            [k] if k_key == "k" => limits::neighbours("k", (*k).into()),
            _ => limits::neighbour_list(
                "k_values",
                &ks.iter().map(|&k| k.into()).collect::<Vec<u64>>(),
            ),
        }
    };
    match params {
        TaskParams::Map(m) => {
            if let Some(n) = m.null_size {
                limits::null_size(n.into())?;
            }
            if let Some(t) = m.threshold {
                limits::threshold(t)?;
            }
        }
        TaskParams::Enrichment(e) => {
            if let Some(p) = e.percentile {
                limits::percentile(p)?;
            }
        }
        TaskParams::PrecisionAtK(p) => ks(&p.k)?,
        TaskParams::Replicating(r) => {
            if let Some(q) = r.quantile {
                limits::quantile(q)?;
            }
            if let Some(n) = r.null_size {
                limits::null_size(n.into())?;
            }
        }
        TaskParams::Kmeans(k) => {
            if let Some(n) = k.k {
                limits::clusters(n.into())?;
            }
            if let Some([first, last]) = k.k_sweep {
                limits::k_sweep(first.into(), last.into())?;
            }
            if let Some(n) = k.restarts {
                limits::restarts(n.into())?;
            }
        }
        TaskParams::KnnAccuracy(k) => ks(&k.k)?,
        TaskParams::BatchLeakage(l) => {
            if let Some(n) = l.folds {
                limits::folds(n.into())?;
            }
        }
        TaskParams::Relations(_) => {}
        TaskParams::Partition(p) => {
            if let Some(k) = p.k {
                limits::neighbours("k", k.into())?;
            }
        }
    }
    Ok(())
}

impl BenchmarkManifest {
    /// Checks, before serde reads them, the keys of every `[[task]]` table against its
    /// metric, so that the error names the key and its line. A task whose `metric` is missing
    /// or not a known name is left to serde, which names it.
    pub(super) fn precheck_tasks(doc: &Doc<'_>) -> Result<(), ManifestError> {
        for i in 0..doc.len_of("task") {
            let prefix = format!("task[{i}]");
            let Some(metric) = doc
                .str_at(&format!("{prefix}.metric"))
                .and_then(Metric::from_name)
            else {
                continue;
            };
            let present = doc_keys(doc, &prefix, &[]);
            check_task_keys(metric, &present).map_err(|problem| at_key(doc, &prefix, problem))?;
        }
        Ok(())
    }

    /// Checks `[[task]]` `i`: its id, level and rows, the ranges of its parameters, and its
    /// references to `[columns]` and `[data]`.
    pub(super) fn validate_task(
        &self,
        doc: &Doc<'_>,
        i: usize,
        task: &Task,
    ) -> Result<(), ManifestError> {
        let prefix = format!("task[{i}]");
        let key = |k: &str| format!("{prefix}.{k}");
        doc.check_slug(&key("id"), &task.id)?;
        let what = format!("metric `{}`", task.metric());
        if let Some(rows) = &task.rows {
            check_rows(doc, &key("rows"), rows, false, &self.columns)?;
        }
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
        let refs = references(&task.params);
        for (k, v) in &refs.nonempty {
            doc.check_nonempty(&key(k), v)?;
        }
        if let Some(labels) = refs.labels {
            doc.check_nonempty(&key("labels"), labels)?;
            let declared = columns.labels.iter().any(|l| l == labels)
                || columns.perturbation.as_deref() == Some(labels);
            if !declared {
                return Err(doc.invalid(
                    key("labels"),
                    format!(
                        "`{labels}` is neither in `[columns] labels` nor the perturbation column; \
                         declare it there so it is hidden from plugins"
                    ),
                ));
            }
        }
        for (k, list, may_be_empty) in &refs.lists {
            if !(list.is_empty() && *may_be_empty) {
                doc.check_names(&key(k), list)?;
            }
        }
        for (k, rows) in &refs.rows {
            check_rows(doc, &key(k), rows, false, columns)?;
        }
        let k_key = if doc.keys_of(&prefix).iter().any(|k| k == "k_values") {
            "k_values"
        } else {
            "k"
        };
        check_ranges(&task.params, k_key).map_err(|e| match e {
            MetricError::InvalidParameter {
                name,
                value,
                reason,
            } => doc.invalid(key(name), format!("{value}: {reason}")),
            other => doc.invalid(prefix.clone(), other.to_string()),
        })?;
        match &task.params {
            TaskParams::BatchLeakage(l) if l.controls.is_none() => {
                require_control(doc, &key("controls"), columns)?
            }
            TaskParams::Relations(r) => {
                doc.check_names(&key("pairs"), &r.pairs)?;
                let names: BTreeSet<&str> = self
                    .data
                    .annotations
                    .iter()
                    .map(|a| a.name.as_str())
                    .collect();
                if let Some((j, p)) = r
                    .pairs
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
            TaskParams::Replicating(r) if r.replicate.is_none() && columns.replicate.is_empty() => {
                return Err(doc.invalid(
                    key("replicate"),
                    format!("{what} needs `replicate` or `[columns] replicate`"),
                ));
            }
            TaskParams::Partition(_) if columns.split.is_none() => {
                return Err(doc.invalid(key("metric"), "`partition` needs `[columns] split`"));
            }
            _ => {}
        }
        Ok(())
    }
}
