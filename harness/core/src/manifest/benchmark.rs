//! `benchmark.toml`: a dataset, the roles of its metadata columns, the preprocessing applied
//! to every plugin's output, and the tasks that score it.

use std::collections::BTreeSet;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::source::Doc;
use super::{DataRef, Loaded, Manifest, ManifestError};
use crate::filter::RowFilter;
use crate::io::NonFinitePolicy;
use crate::profiles::Level;

/// A benchmark: one profile table, its column roles, preprocessing and scored tasks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkManifest {
    /// Manifest format version; must be 1.
    #[schemars(range(min = 1, max = 1))]
    pub schema_version: u32,
    /// Benchmark id: lowercase letters, digits and '-', e.g. `lincs-sq00015054`.
    #[schemars(pattern(r"^[a-z0-9][a-z0-9-]*$"))]
    pub id: String,
    /// Benchmark version (>= 1); bump it whenever data, preprocessing or tasks change.
    #[schemars(range(min = 1))]
    pub version: u32,
    /// Short human-readable title shown in reports.
    pub title: String,
    /// Longer description shown in reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The profile table and the annotation files tasks use.
    pub data: DataSpec,
    /// Which metadata columns play which role; only roles that tasks or steps use are needed.
    #[serde(default)]
    pub columns: Columns,
    /// Preprocessing steps applied in order to every plugin's output before scoring.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preprocess: Vec<PrepStep>,
    /// The tasks scored on the preprocessed profiles (`[[task]]`, at least one).
    #[serde(rename = "task")]
    pub tasks: Vec<Task>,
    /// Datasets whose information the data or labels carry (e.g. `CORUM`); a plugin trained on
    /// one of them, or on this benchmark, is flagged as contaminated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub datasets: Vec<String>,
    /// Re-score one task over several sphering regularizations (CNN-1 paper, Fig. 6B).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda_sweep: Option<LambdaSweepSpec>,
}

/// The `[lambda_sweep]` table: the benchmark's one `sphere` step rerun with each λ.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LambdaSweepSpec {
    /// Id of the task rescored at each λ.
    pub task: String,
    /// Which score of the task to plot (default: its first primary score).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The λ values, each > 0.
    pub values: Vec<f64>,
}

/// The `[data]` table: the profile table and its annotation files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Profile table (.csv, .csv.gz, .tsv, .tsv.gz or .parquet), relative to this manifest.
    pub profiles: PathBuf,
    /// Expected SHA-256 of the profile table (64 lowercase hex digits); checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
    /// What one row of the profile table describes.
    pub level: Level,
    /// Columns whose names start with this prefix are metadata; all others are features.
    #[serde(default = "default_metadata_prefix")]
    pub metadata_prefix: String,
    /// What to do with NaN, missing or infinite feature values.
    #[serde(default)]
    pub on_nonfinite: NonFinitePolicy,
    /// Extra files tasks refer to by name: label tables, gene-pair lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
    /// Arguments of `cpbench simulate` (without `--out`) that write the data files into the
    /// profile table's folder when they are missing: synthetic data is generated, not shipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulate: Option<Vec<String>>,
    /// Image crops (`.npy`, `[N, C, H, W]` float32), one per profile row, for image plugins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<PathBuf>,
    /// Expected SHA-256 of the images file; checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub images_sha256: Option<String>,
}

fn default_metadata_prefix() -> String {
    crate::io::DEFAULT_METADATA_PREFIX.to_string()
}

/// An annotation file (`[[data.annotations]]`), referred to by name from tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Annotation {
    /// Name tasks use to refer to this file, e.g. `CORUM` in a task's `pairs`.
    pub name: String,
    /// The file, relative to this manifest.
    pub path: PathBuf,
    /// Expected SHA-256 of the file (64 lowercase hex digits); checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
}

/// The `[columns]` table: the roles metadata columns play.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    /// Column naming the perturbation (compound, gene, guide); hidden from plugins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perturbation: Option<String>,
    /// Columns that together identify replicates (default for `replicating` tasks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicate: Vec<String>,
    /// Plate column (per-plate normalization, grouped folds, treatment strength).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate: Option<String>,
    /// Well column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub well: Option<String>,
    /// Batch column (batch correction, batch leakage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// Which rows are negative controls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<ControlSpec>,
    /// Label columns (MoA, pathway, complex); hidden from plugins, used by tasks' `labels`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// A train/test split of the rows, for `partition` tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitSpec>,
}

/// Negative controls: rows whose `column` holds one of `values`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlSpec {
    /// The column tested, e.g. `Metadata_broad_sample`.
    pub column: String,
    /// Values marking a control row, e.g. `["DMSO"]`.
    pub values: Vec<String>,
}

/// A train/test split: rows whose `column` holds a value in `train` or in `test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    /// The column holding the split assignment.
    pub column: String,
    /// Values marking training rows.
    pub train: Vec<String>,
    /// Values marking test rows; disjoint from `train`.
    pub test: Vec<String>,
}

/// A preprocessing operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum PrepOp {
    /// Drop features (pycytominer feature_select): variance, correlation, NA, blocklist, outliers.
    FeatureSelect,
    /// Scale features (pycytominer normalize): standardize, robustize or mad_robustize.
    Normalize,
    /// Whiten features (PCA/ZCA, optionally on correlations), fitted on `fit_on` rows.
    Sphere,
    /// Iterative null-space projection: remove what predicts `batch`.
    Insp,
    /// Within-batch centering and scaling against the batch's control rows.
    ControlNormalize,
    /// Aggregate rows over the `by` columns (mean or median).
    Aggregate,
    /// Consensus over replicates (median or moderated z-score).
    Consensus,
    /// Replace profiles by their z-scored distance to the plate's control median.
    TreatmentStrength,
}

impl PrepOp {
    /// The name used in manifests.
    pub fn as_str(self) -> &'static str {
        match self {
            PrepOp::FeatureSelect => "feature-select",
            PrepOp::Normalize => "normalize",
            PrepOp::Sphere => "sphere",
            PrepOp::Insp => "insp",
            PrepOp::ControlNormalize => "control-normalize",
            PrepOp::Aggregate => "aggregate",
            PrepOp::Consensus => "consensus",
            PrepOp::TreatmentStrength => "treatment-strength",
        }
    }

    /// Which parameters the operation takes: (required, optional, allowed `method` values).
    fn rule(
        self,
    ) -> (
        &'static [&'static str],
        &'static [&'static str],
        &'static [&'static str],
    ) {
        match self {
            PrepOp::FeatureSelect => (
                &["ops"],
                &[
                    "method",
                    "fit_on",
                    "columns",
                    "freq_cut",
                    "unique_cut",
                    "na_cutoff",
                    "corr_threshold",
                    "blocklist",
                ],
                &["pearson", "spearman", "kendall"],
            ),
            PrepOp::Normalize => (
                &[],
                &["method", "fit_on", "by", "epsilon", "columns"],
                &["standardize", "robustize", "mad_robustize"],
            ),
            PrepOp::Sphere => (
                &[],
                &[
                    "method", "fit_on", "by", "lambda", "epsilon", "center", "rotate",
                ],
                &["pca", "zca", "pca-cor", "zca-cor"],
            ),
            PrepOp::Insp => (
                &[],
                &[
                    "batch",
                    "fit_on",
                    "max_iter",
                    "folds",
                    "seed",
                    "balance",
                    "lambda",
                    "threshold",
                ],
                &[],
            ),
            PrepOp::ControlNormalize => (
                &[],
                &["method", "batch", "fit_on", "epsilon"],
                &["center", "standardize", "robustize", "mad_robustize"],
            ),
            PrepOp::Aggregate => (
                &["by"],
                &["method", "columns", "level"],
                &["mean", "median"],
            ),
            PrepOp::Consensus => (
                &["by"],
                &["method", "columns", "level"],
                &["median", "modz"],
            ),
            PrepOp::TreatmentStrength => (&[], &["by", "fit_on"], &[]),
        }
    }
}

/// Feature-selection operations accepted in `ops` (pycytominer 1.7.1 names).
const FEATURE_SELECT_OPS: &[&str] = &[
    "variance_threshold",
    "frequency_threshold",
    "correlation_threshold",
    "drop_na_columns",
    "blocklist",
    "drop_outliers",
];

/// One `[[preprocess]]` step: an operation and the parameters it takes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PrepStep {
    /// The operation; it decides which of the other keys are allowed.
    pub op: PrepOp,
    /// Variant of the operation, e.g. `mad_robustize` (normalize), `zca` (sphere), `median` (aggregate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    /// Rows the step is fitted on: `controls`, `all` or a row filter such as `Metadata_pert_type=control`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit_on: Option<String>,
    /// Grouping columns: fit per group (normalize, sphere, treatment-strength) or aggregate over them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Vec<String>>,
    /// Feature-selection operations, e.g. `["variance_threshold", "correlation_threshold"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ops: Option<Vec<String>>,
    /// Small constant added to scales (normalize, control-normalize) or eigenvalues (sphere).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epsilon: Option<f64>,
    /// Regularization strength (sphere: added to the covariance diagonal; insp: classifier penalty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lambda: Option<f64>,
    /// Sphere: subtract the fitted mean before whitening (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub center: Option<bool>,
    /// Sphere: rotate whitened data back onto the feature axes; must agree with `method` (zca: true, pca: false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rotate: Option<bool>,
    /// Insp: stop once batch's cross-validated balanced accuracy falls below this (default 0.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// Feature-select variance_threshold: ratio of second most common to most common value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub freq_cut: Option<f64>,
    /// Feature-select variance_threshold: ratio of unique values to samples.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique_cut: Option<f64>,
    /// Feature-select drop_na_columns: largest allowed share of missing values.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub na_cutoff: Option<f64>,
    /// Feature-select correlation_threshold: absolute correlation above which features are dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub corr_threshold: Option<f64>,
    /// Feature-select blocklist: file listing feature names to drop, relative to this manifest.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocklist: Option<PathBuf>,
    /// Batch column for insp and control-normalize (default `[columns] batch`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// Insp: maximum number of projection iterations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_iter: Option<u32>,
    /// Insp: number of cross-validation folds (>= 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub folds: Option<u32>,
    /// Insp: random seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Insp: balance batch classes when training the classifier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance: Option<bool>,
    /// Columns the step acts on: features considered (feature-select, normalize) or metadata kept (aggregate, consensus).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub columns: Option<Vec<String>>,
    /// Aggregate, consensus: level of the output rows (default: the next coarser level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
}

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
const COMMON_TASK_PARAMS: &[&str] = &["level", "rows"];

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
    fn rule(
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

impl std::fmt::Display for PrepOp {
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

/// Keys set in a flat parameter struct, found via its serialized form so the list
/// cannot drift from the struct's fields.
/// cannot drift from the struct's fields; ordered as written in the document, so the first
/// error reported is the first one a reader meets.
fn present_keys<T: Serialize>(
    doc: &Doc<'_>,
    prefix: &str,
    value: &T,
    skip: &[&str],
) -> Vec<String> {
    let mut keys: Vec<String> = match serde_json::to_value(value) {
        Ok(serde_json::Value::Object(map)) => map
            .into_iter()
            .map(|(k, _)| k)
            .filter(|k| !skip.contains(&k.as_str()))
            .collect(),
        _ => Vec::new(),
    };
    keys.sort_by_cached_key(|k| doc.line_of(&format!("{prefix}.{k}")));
    keys
}

fn index_of(level: Level) -> usize {
    Level::ALL.iter().position(|l| *l == level).unwrap_or(0)
}

/// Checks parameters against an operation's or metric's table.
fn check_params(
    doc: &Doc<'_>,
    prefix: &str,
    what: &str,
    present: &[String],
    required: &[&str],
    allowed: &[&str],
    one_of: &[&str],
) -> Result<(), ManifestError> {
    for key in present {
        if !allowed.contains(&key.as_str()) {
            return Err(doc.invalid(
                format!("{prefix}.{key}"),
                format!(
                    "not a parameter of {what} (allowed: {})",
                    allowed.join(", ")
                ),
            ));
        }
    }
    for key in required {
        if !present.iter().any(|p| p == key) {
            return Err(doc.invalid(format!("{prefix}.{key}"), format!("required by {what}")));
        }
    }
    if !one_of.is_empty() {
        let set: Vec<&String> = present
            .iter()
            .filter(|p| one_of.contains(&p.as_str()))
            .collect();
        match set.as_slice() {
            [_] => {}
            [] => {
                return Err(doc.invalid(
                    format!("{prefix}.{}", one_of[0]),
                    format!("{what} needs one of: {}", one_of.join(", ")),
                ));
            }
            [_, second, ..] => {
                return Err(doc.invalid(
                    format!("{prefix}.{second}"),
                    format!("give only one of: {}", one_of.join(", ")),
                ));
            }
        }
    }
    Ok(())
}

/// Row selections are `controls`, (where allowed) `all`, or a row filter.
fn check_rows(
    doc: &Doc<'_>,
    key: &str,
    value: &str,
    allow_all: bool,
    columns: &Columns,
) -> Result<(), ManifestError> {
    match value {
        "controls" => require_control(doc, key, columns),
        "all" if allow_all => Ok(()),
        _ => RowFilter::parse(value).map(|_| ()).map_err(|e| {
            let all = if allow_all { "`all`, " } else { "" };
            doc.invalid(
                key,
                format!("expected `controls`, {all}or a row filter: {e}"),
            )
        }),
    }
}

fn require_control(doc: &Doc<'_>, key: &str, columns: &Columns) -> Result<(), ManifestError> {
    if columns.control.is_some() {
        Ok(())
    } else {
        Err(doc.invalid(
            key,
            "uses the control rows, but `[columns] control` is not set",
        ))
    }
}

impl Manifest for BenchmarkManifest {
    fn validate(&self, doc: &Doc<'_>) -> Result<(), ManifestError> {
        doc.check_schema_version(self.schema_version)?;
        doc.check_slug("id", &self.id)?;
        doc.check_min("version", self.version.into(), 1)?;
        doc.check_nonempty("title", &self.title)?;
        self.validate_data(doc)?;
        self.validate_columns(doc)?;
        for (i, step) in self.preprocess.iter().enumerate() {
            self.validate_step(doc, i, step)?;
        }
        if self.tasks.is_empty() {
            return Err(doc.invalid("task", "a benchmark needs at least one [[task]]"));
        }
        for (i, task) in self.tasks.iter().enumerate() {
            if let Some(first) = self.tasks[..i].iter().position(|t| t.id == task.id) {
                return Err(doc.invalid(
                    format!("task[{i}].id"),
                    format!("duplicate task id `{}` (also task[{first}])", task.id),
                ));
            }
            self.validate_task(doc, i, task)?;
        }
        if let Some(sweep) = &self.lambda_sweep {
            if !self.tasks.iter().any(|t| t.id == sweep.task) {
                return Err(doc.invalid(
                    "lambda_sweep.task",
                    format!("no [[task]] has id `{}`", sweep.task),
                ));
            }
            let spheres = self
                .preprocess
                .iter()
                .filter(|s| s.op == PrepOp::Sphere)
                .count();
            if spheres != 1 {
                return Err(doc.invalid(
                    "lambda_sweep",
                    format!("needs exactly one `sphere` step in [[preprocess]], found {spheres}"),
                ));
            }
            if sweep.values.is_empty() || sweep.values.iter().any(|v| !(*v > 0.0 && v.is_finite()))
            {
                return Err(doc.invalid(
                    "lambda_sweep.values",
                    "must list at least one λ, each finite and > 0",
                ));
            }
        }
        Ok(())
    }
}

impl BenchmarkManifest {
    fn validate_data(&self, doc: &Doc<'_>) -> Result<(), ManifestError> {
        let data = &self.data;
        doc.check_sha256("data.sha256", data.sha256.as_deref())?;
        // Generated data may not exist yet: `cpbench run` writes it on first use.
        let generated = data.simulate.is_some();
        if !generated {
            doc.require_file("data.profiles", &data.profiles)?;
        }
        doc.check_nonempty("data.metadata_prefix", &data.metadata_prefix)?;
        for (i, a) in data.annotations.iter().enumerate() {
            let key = format!("data.annotations[{i}]");
            doc.check_nonempty(&format!("{key}.name"), &a.name)?;
            if data.annotations[..i].iter().any(|b| b.name == a.name) {
                return Err(doc.invalid(
                    format!("{key}.name"),
                    format!("duplicate annotation name `{}`", a.name),
                ));
            }
            doc.check_sha256(&format!("{key}.sha256"), a.sha256.as_deref())?;
            doc.require_file(&format!("{key}.path"), &a.path)?;
        }
        doc.check_sha256("data.images_sha256", data.images_sha256.as_deref())?;
        if let Some(images) = &data.images {
            if !generated {
                doc.require_file("data.images", images)?;
            }
        } else if data.images_sha256.is_some() {
            return Err(doc.invalid("data.images_sha256", "given without data.images"));
        }
        Ok(())
    }

    fn validate_columns(&self, doc: &Doc<'_>) -> Result<(), ManifestError> {
        let c = &self.columns;
        for (key, value) in [
            ("perturbation", &c.perturbation),
            ("plate", &c.plate),
            ("well", &c.well),
            ("batch", &c.batch),
        ] {
            if let Some(v) = value {
                doc.check_nonempty(&format!("columns.{key}"), v)?;
            }
        }
        if !c.replicate.is_empty() {
            doc.check_names("columns.replicate", &c.replicate)?;
        }
        if !c.labels.is_empty() {
            doc.check_names("columns.labels", &c.labels)?;
        }
        if let Some(control) = &c.control {
            doc.check_nonempty("columns.control.column", &control.column)?;
            doc.check_names("columns.control.values", &control.values)?;
        }
        if let Some(split) = &c.split {
            doc.check_nonempty("columns.split.column", &split.column)?;
            doc.check_names("columns.split.train", &split.train)?;
            doc.check_names("columns.split.test", &split.test)?;
            if let Some((i, v)) = split
                .test
                .iter()
                .enumerate()
                .find(|(_, v)| split.train.contains(v))
            {
                return Err(doc.invalid(
                    format!("columns.split.test[{i}]"),
                    format!("`{v}` is in both train and test"),
                ));
            }
        }
        Ok(())
    }

    fn validate_step(&self, doc: &Doc<'_>, i: usize, step: &PrepStep) -> Result<(), ManifestError> {
        Self::validate_prep_step(&self.columns, doc, i, step)
    }

    /// Checks `[[preprocess]]` step `i` against the `[columns]` roles it relies on.
    pub(super) fn validate_prep_step(
        columns: &Columns,
        doc: &Doc<'_>,
        i: usize,
        step: &PrepStep,
    ) -> Result<(), ManifestError> {
        let prefix = format!("preprocess[{i}]");
        let key = |k: &str| format!("{prefix}.{k}");
        let what = format!("op `{}`", step.op);
        let (required, optional, methods) = step.op.rule();
        let allowed: Vec<&str> = required.iter().chain(optional).copied().collect();
        let present = present_keys(doc, &prefix, step, &["op"]);
        check_params(doc, &prefix, &what, &present, required, &allowed, &[])?;

        if let Some(method) = &step.method
            && !methods.contains(&method.as_str())
        {
            return Err(doc.invalid(
                key("method"),
                format!(
                    "unknown method `{method}` for {what} (expected one of: {})",
                    methods.join(", ")
                ),
            ));
        }
        match &step.fit_on {
            Some(fit_on) => check_rows(doc, &key("fit_on"), fit_on, true, columns)?,
            None if matches!(
                step.op,
                PrepOp::ControlNormalize | PrepOp::TreatmentStrength
            ) =>
            {
                require_control(doc, &key("fit_on"), columns)?;
            }
            None => {}
        }
        for (k, list) in [("by", &step.by), ("columns", &step.columns)] {
            if let Some(list) = list {
                doc.check_names(&key(k), list)?;
            }
        }
        if let Some(ops) = &step.ops {
            doc.check_names(&key("ops"), ops)?;
            if let Some((j, op)) = ops
                .iter()
                .enumerate()
                .find(|(_, o)| !FEATURE_SELECT_OPS.contains(&o.as_str()))
            {
                return Err(doc.invalid(
                    format!("{prefix}.ops[{j}]"),
                    format!(
                        "unknown feature-selection operation `{op}` (expected one of: {})",
                        FEATURE_SELECT_OPS.join(", ")
                    ),
                ));
            }
        }
        for (k, value, lo, lo_open, hi) in [
            ("epsilon", step.epsilon, 0.0, false, f64::INFINITY),
            ("lambda", step.lambda, 0.0, false, f64::INFINITY),
            ("threshold", step.threshold, 0.0, false, 1.0),
            ("freq_cut", step.freq_cut, 0.0, true, 1.0),
            ("unique_cut", step.unique_cut, 0.0, true, 1.0),
            ("na_cutoff", step.na_cutoff, 0.0, false, 1.0),
            ("corr_threshold", step.corr_threshold, 0.0, true, 1.0),
        ] {
            if let Some(v) = value {
                doc.check_range(&key(k), v, lo, lo_open, hi)?;
            }
        }
        if let Some(n) = step.max_iter {
            doc.check_min(&key("max_iter"), n.into(), 1)?;
        }
        if let Some(n) = step.folds {
            doc.check_min(&key("folds"), n.into(), 2)?;
        }
        if let Some(blocklist) = &step.blocklist {
            doc.require_file(&key("blocklist"), blocklist)?;
        }
        if let (Some(method), Some(rotate)) = (&step.method, step.rotate)
            && rotate != method.starts_with("zca")
        {
            return Err(doc.invalid(
                key("rotate"),
                format!("`rotate = {rotate}` contradicts `method = \"{method}\"` (zca rotates back, pca does not)"),
            ));
        }
        match &step.batch {
            Some(b) => doc.check_nonempty(&key("batch"), b)?,
            None if matches!(step.op, PrepOp::Insp | PrepOp::ControlNormalize)
                && columns.batch.is_none() =>
            {
                return Err(doc.invalid(
                    key("batch"),
                    format!("{what} needs `batch` or `[columns] batch`"),
                ));
            }
            None => {}
        }
        if step.op == PrepOp::TreatmentStrength && step.by.is_none() && columns.plate.is_none() {
            return Err(doc.invalid(key("by"), format!("{what} needs `by` or `[columns] plate`")));
        }
        Ok(())
    }

    fn validate_task(&self, doc: &Doc<'_>, i: usize, task: &Task) -> Result<(), ManifestError> {
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

impl Loaded<BenchmarkManifest> {
    /// The profile table, annotation files and blocklists, resolved, with their pinned digests.
    pub fn data_files(&self) -> Vec<DataRef> {
        let data = &self.manifest.data;
        let mut out = vec![DataRef {
            key: "data.profiles".to_string(),
            path: self.resolve(&data.profiles),
            sha256: data.sha256.clone(),
        }];
        out.extend(data.images.iter().map(|images| DataRef {
            key: "data.images".to_string(),
            path: self.resolve(images),
            sha256: data.images_sha256.clone(),
        }));
        out.extend(data.annotations.iter().enumerate().map(|(i, a)| DataRef {
            key: format!("data.annotations[{i}].path"),
            path: self.resolve(&a.path),
            sha256: a.sha256.clone(),
        }));
        out.extend(
            self.manifest
                .preprocess
                .iter()
                .enumerate()
                .filter_map(|(i, s)| {
                    s.blocklist.as_ref().map(|b| DataRef {
                        key: format!("preprocess[{i}].blocklist"),
                        path: self.resolve(b),
                        sha256: None,
                    })
                }),
        );
        out
    }

    /// Every metadata column the manifest names, with the key that names it, so a check can
    /// compare them with the profile table's header. Preprocessing `columns` lists are left out:
    /// they may name feature columns.
    pub fn referenced_columns(&self) -> Vec<(String, String)> {
        let m = &self.manifest;
        let c = &m.columns;
        let mut out: Vec<(String, String)> = Vec::new();
        let mut one = |key: String, col: &str| out.push((key, col.to_string()));
        for (role, col) in [
            ("perturbation", &c.perturbation),
            ("plate", &c.plate),
            ("well", &c.well),
            ("batch", &c.batch),
        ] {
            if let Some(col) = col {
                one(format!("columns.{role}"), col);
            }
        }
        for (i, col) in c.replicate.iter().enumerate() {
            one(format!("columns.replicate[{i}]"), col);
        }
        if let Some(ctl) = &c.control {
            one("columns.control.column".into(), &ctl.column);
        }
        for (i, col) in c.labels.iter().enumerate() {
            one(format!("columns.labels[{i}]"), col);
        }
        if let Some(split) = &c.split {
            one("columns.split.column".into(), &split.column);
        }
        for (i, s) in m.preprocess.iter().enumerate() {
            for (j, col) in s.by.iter().flatten().enumerate() {
                one(format!("preprocess[{i}].by[{j}]"), col);
            }
            if let Some(col) = &s.batch {
                one(format!("preprocess[{i}].batch"), col);
            }
        }
        for (i, t) in m.tasks.iter().enumerate() {
            let lists = [
                ("pos_sameby", &t.pos_sameby),
                ("pos_diffby", &t.pos_diffby),
                ("neg_sameby", &t.neg_sameby),
                ("neg_diffby", &t.neg_diffby),
                ("exclude_same", &t.exclude_same),
                ("replicate", &t.replicate),
            ];
            for (name, list) in lists {
                for (j, col) in list.iter().flatten().enumerate() {
                    one(format!("task[{i}].{name}[{j}]"), col);
                }
            }
            for (name, col) in [
                ("labels", &t.labels),
                ("target", &t.target),
                ("groups", &t.groups),
            ] {
                if let Some(col) = col {
                    one(format!("task[{i}].{name}"), col);
                }
            }
        }
        out
    }

    /// The task with this id.
    pub fn task(&self, id: &str) -> Option<&Task> {
        self.manifest.tasks.iter().find(|t| t.id == id)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::manifest::test_util::{Fixture, assert_err, relative};

    /// The smallest valid benchmark; needs `p.csv` next to it.
    pub(crate) const MINIMAL: &str = r#"
schema_version = 1
id = "mini"
version = 1
title = "Minimal"

[data]
profiles = "p.csv"
level = "well"

[[task]]
id = "rep-map"
metric = "map"
pos_sameby = ["Metadata_pert"]
null_size = 100
"#;

    const FULL: &str = r#"
schema_version = 1
id = "lincs-sq00015054"
version = 2
title = "LINCS plate SQ00015054"
description = "One A549 plate, 58 compounds at 6 doses."

[data]
profiles = "../data/plate.csv.gz"
sha256 = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
level = "well"
metadata_prefix = "Metadata_"
on_nonfinite = "drop-columns"
annotations = [
  { name = "CORUM", path = "../data/corum.csv.gz" },
  { name = "moa", path = "../data/moa.tsv", sha256 = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210" },
]

[columns]
perturbation = "Metadata_broad_sample"
replicate = ["Metadata_broad_sample", "Metadata_mg_per_ml"]
plate = "Metadata_Plate"
well = "Metadata_Well"
batch = "Metadata_Batch_Number"
control = { column = "Metadata_broad_sample", values = ["DMSO"] }
labels = ["Metadata_moa", "Metadata_gene"]
split = { column = "Metadata_split", train = ["train"], test = ["test"] }

[[preprocess]]
op = "feature-select"
ops = ["variance_threshold", "correlation_threshold", "blocklist"]
corr_threshold = 0.9
blocklist = "blocklist.txt"

[[preprocess]]
op = "normalize"
method = "mad_robustize"
fit_on = "Metadata_pert_type=control"
by = ["Metadata_Plate"]
epsilon = 1e-6

[[preprocess]]
op = "sphere"
method = "zca"
fit_on = "controls"
lambda = 0.01

[[preprocess]]
op = "insp"
max_iter = 10
folds = 5
lambda = 1.0

[[preprocess]]
op = "aggregate"
by = ["Metadata_broad_sample", "Metadata_mg_per_ml"]
method = "mean"
level = "treatment"

[[task]]
id = "replicate-map"
metric = "map"
pos_sameby = ["Metadata_broad_sample"]
pos_diffby = []
neg_sameby = []
neg_diffby = ["Metadata_broad_sample"]
reference = "controls"
null_size = 10000
seed = 0
threshold = 0.05

[[task]]
id = "moa-knn"
metric = "knn-accuracy"
labels = "Metadata_moa"
k = 1
exclude_same = ["Metadata_broad_sample"]

[[task]]
id = "moa-enrichment"
metric = "enrichment"
labels = "Metadata_moa"
percentile = 99.0

[[task]]
id = "p-at-k"
metric = "precision-at-k"
labels = "Metadata_broad_sample"
k_values = [1, 5, 10]

[[task]]
id = "percent-replicating"
metric = "replicating"
quantile = 0.95
similarity = "pearson"

[[task]]
id = "clusters"
metric = "kmeans"
labels = "Metadata_moa"
level = "treatment"
k_sweep = [2, 30]
restarts = 100

[[task]]
id = "leakage"
metric = "batch-leakage"
target = "Metadata_Batch_Number"
groups = "Metadata_Plate"
folds = 5

[[task]]
id = "corum"
metric = "relations"
labels = "Metadata_gene"
pairs = ["CORUM"]

[[task]]
id = "held-out"
metric = "partition"
labels = "Metadata_moa"
k = 1
"#;

    fn full_fixture() -> Fixture {
        Fixture::new(&[
            "data/plate.csv.gz",
            "data/corum.csv.gz",
            "data/moa.tsv",
            "bench/blocklist.txt",
        ])
    }

    fn full_err(from: &str, to: &str) -> String {
        assert!(FULL.contains(from), "test edit `{from}` does not apply");
        full_fixture()
            .error::<BenchmarkManifest>("bench/benchmark.toml", &FULL.replacen(from, to, 1))
    }

    #[test]
    fn full_example_parses_with_defaults_and_resolved_paths() {
        let fx = full_fixture();
        let m = fx
            .load::<BenchmarkManifest>("bench/benchmark.toml", FULL)
            .unwrap();
        let b = &m.manifest;
        assert_eq!(b.id, "lincs-sq00015054");
        assert_eq!(b.version, 2);
        assert_eq!(b.data.level, Level::Well);
        assert_eq!(b.data.on_nonfinite, NonFinitePolicy::DropColumns);
        assert_eq!(b.preprocess.len(), 5);
        assert_eq!(b.preprocess[2].op, PrepOp::Sphere);
        assert_eq!(b.preprocess[2].lambda, Some(0.01));
        assert_eq!(b.tasks.len(), 9);
        assert_eq!(b.tasks[1].metric, Metric::KnnAccuracy);
        assert_eq!(b.tasks[5].k_sweep, Some([2, 30]));
        assert_eq!(b.tasks[4].similarity, Some(Similarity::Pearson));
        assert_eq!(
            m.task("corum").unwrap().pairs.as_deref(),
            Some(&["CORUM".to_string()][..])
        );
        assert!(m.task("nope").is_none());

        let files = m.data_files();
        let keys: Vec<&str> = files.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "data.profiles",
                "data.annotations[0].path",
                "data.annotations[1].path",
                "preprocess[0].blocklist"
            ]
        );
        assert_eq!(
            relative(&files[0].path, fx.dir.path()),
            PathBuf::from("bench/../data/plate.csv.gz")
        );
        assert!(files.iter().all(|f| f.path.is_file()), "{files:?}");
        assert_eq!(files[0].sha256.as_deref().map(str::len), Some(64));
        assert_eq!(files[1].sha256, None);
        assert_eq!(
            relative(&files[3].path, fx.dir.path()),
            PathBuf::from("bench/blocklist.txt")
        );
    }

    #[test]
    fn minimal_example_gets_defaults() {
        let fx = Fixture::new(&["p.csv"]);
        let m = fx
            .load::<BenchmarkManifest>("benchmark.toml", MINIMAL)
            .unwrap();
        assert_eq!(m.manifest.data.metadata_prefix, "Metadata_");
        assert_eq!(m.manifest.data.on_nonfinite, NonFinitePolicy::Error);
        assert_eq!(m.manifest.columns, Columns::default());
        assert!(m.manifest.preprocess.is_empty());
        assert_eq!(m.dir, fx.dir.path());
    }

    #[test]
    fn absolute_paths_stay_absolute() {
        let fx = Fixture::new(&["elsewhere/p.csv"]);
        let abs = fx.path("elsewhere/p.csv");
        let text = MINIMAL.replace("\"p.csv\"", &format!("{:?}", abs.display().to_string()));
        let m = fx
            .load::<BenchmarkManifest>("b/benchmark.toml", &text)
            .unwrap();
        assert_eq!(m.data_files()[0].path, abs);
    }

    #[test]
    fn round_trips_through_serde() {
        let fx = full_fixture();
        let m = fx
            .load::<BenchmarkManifest>("bench/benchmark.toml", FULL)
            .unwrap()
            .manifest;
        let text = toml::to_string(&m).unwrap();
        let again = fx
            .load::<BenchmarkManifest>("bench/benchmark.toml", &text)
            .unwrap()
            .manifest;
        assert_eq!(again, m);
    }

    #[test]
    fn unknown_keys_are_named_with_their_path() {
        assert_err(
            &full_err("null_size = 10000", "nul_size = 10000"),
            "task[0].nul_size",
            "unknown key (did you mean `null_size`?)",
        );
        assert_err(&full_err("title = ", "titel = "), "titel", "unknown key");
        assert_err(
            &full_err("well = \"Metadata_Well\"", "wel = \"Metadata_Well\""),
            "columns.wel",
            "did you mean `well`?",
        );
    }

    #[test]
    fn wrong_types_and_values() {
        assert_err(
            &full_err("null_size = 10000", "null_size = \"many\""),
            "task[0].null_size",
            "invalid type: string \"many\", expected a non-negative integer",
        );
        assert_err(
            &full_err("k = 1\nexclude", "k = -1\nexclude"),
            "task[1].k",
            "expected a non-negative integer",
        );
        assert_err(
            &full_err("percentile = 99.0", "percentile = 150.0"),
            "task[2].percentile",
            "out of range",
        );
        assert_err(
            &full_err("threshold = 0.05", "threshold = nan"),
            "task[0].threshold",
            "out of range",
        );
        assert_err(
            &full_err("restarts = 100", "restarts = 0"),
            "task[5].restarts",
            "at least 1",
        );
        assert_err(
            &full_err("k_sweep = [2, 30]", "k_sweep = [30, 2]"),
            "task[5].k_sweep",
            "2 <= first <= last",
        );
        assert_err(
            &full_err("k_sweep = [2, 30]", "k_sweep = [2]"),
            "task[5].k_sweep",
            "invalid length 1",
        );
        assert_err(
            &full_err("corr_threshold = 0.9", "corr_threshold = 1.5"),
            "preprocess[0].corr_threshold",
            "(0, 1]",
        );
    }

    #[test]
    fn unknown_enum_values() {
        assert_err(
            &full_err("metric = \"map\"", "metric = \"mAP\""),
            "task[0].metric",
            "unknown value `mAP`, expected one of `map`",
        );
        assert_err(
            &full_err("level = \"well\"", "level = \"plate\""),
            "data.level",
            "unknown value `plate`",
        );
        assert_err(
            &full_err("op = \"sphere\"", "op = \"whiten\""),
            "preprocess[2].op",
            "unknown value `whiten`",
        );
        assert_err(
            &full_err("similarity = \"pearson\"", "similarity = \"spearman\""),
            "task[4].similarity",
            "unknown value `spearman`",
        );
        assert_err(
            &full_err("on_nonfinite = \"drop-columns\"", "on_nonfinite = \"drop\""),
            "data.on_nonfinite",
            "unknown value `drop`",
        );
    }

    #[test]
    fn schema_version_id_and_required_keys() {
        assert_err(
            &full_err("schema_version = 1", "schema_version = 2"),
            "schema_version",
            "unsupported schema version 2",
        );
        assert_err(
            &full_err("id = \"lincs-sq00015054\"", "id = \"LINCS_1\""),
            "id",
            "not a valid id",
        );
        assert_err(
            &full_err("id = \"moa-knn\"", "id = \"moa knn\""),
            "task[1].id",
            "not a valid id",
        );
        assert_err(
            &full_err("version = 2\n", ""),
            "version",
            "required key is missing",
        );
        assert_err(
            &full_err("profiles = \"../data/plate.csv.gz\"\n", ""),
            "data.profiles",
            "required key is missing",
        );
        assert_err(
            &full_err("id = \"moa-knn\"\n", ""),
            "task[1].id",
            "required key is missing",
        );
        let fx = Fixture::new(&["p.csv"]);
        let no_tasks = MINIMAL.split("[[task]]").next().unwrap();
        assert_err(
            &fx.error::<BenchmarkManifest>("benchmark.toml", no_tasks),
            "task",
            "required key is missing",
        );
    }

    #[test]
    fn per_metric_parameters() {
        let err = full_err(
            "id = \"moa-knn\"\nmetric = \"knn-accuracy\"",
            "id = \"moa-knn\"\nmetric = \"map\"",
        );
        assert_err(
            &err,
            "task[1].k",
            "not a parameter of metric `map` (allowed: pos_sameby, pos_diffby",
        );
        let err = full_err("k = 1\nexclude", "k = 1\nnull_size = 5\nexclude");
        assert_err(
            &err,
            "task[1].null_size",
            "not a parameter of metric `knn-accuracy`",
        );
        assert_err(
            &full_err("pos_sameby = [\"Metadata_broad_sample\"]\n", ""),
            "task[0].pos_sameby",
            "required by metric `map`",
        );
        assert_err(
            &full_err("k_values = [1, 5, 10]\n", ""),
            "task[3].k",
            "needs one of: k, k_values",
        );
        assert_err(
            &full_err("k_values = [1, 5, 10]", "k_values = [1, 5, 10]\nk = 3"),
            "task[3].k",
            "give only one of: k, k_values",
        );
        assert_err(
            &full_err("k_values = [1, 5, 10]", "k_values = [1, 5, 5]"),
            "task[3].k_values[2]",
            "listed twice",
        );
    }

    #[test]
    fn per_op_parameters() {
        assert_err(
            &full_err("lambda = 0.01", "lambda = 0.01\nmax_iter = 3"),
            "preprocess[2].max_iter",
            "not a parameter of op `sphere` (allowed: method, fit_on",
        );
        assert_err(
            &full_err(
                "ops = [\"variance_threshold\", \"correlation_threshold\", \"blocklist\"]\n",
                "",
            ),
            "preprocess[0].ops",
            "required by op `feature-select`",
        );
        assert_err(
            &full_err(
                "\"correlation_threshold\", \"blocklist\"",
                "\"correlation\", \"blocklist\"",
            ),
            "preprocess[0].ops[1]",
            "unknown feature-selection operation `correlation`",
        );
        assert_err(
            &full_err("method = \"mad_robustize\"", "method = \"zscore\""),
            "preprocess[1].method",
            "unknown method `zscore` for op `normalize`",
        );
        assert_err(
            &full_err("method = \"zca\"", "method = \"zca\"\nrotate = false"),
            "preprocess[2].rotate",
            "contradicts",
        );
        assert_err(
            &full_err(
                "fit_on = \"Metadata_pert_type=control\"",
                "fit_on = \"some rows\"",
            ),
            "preprocess[1].fit_on",
            "expected `controls`, `all`, or a row filter",
        );
        assert_err(
            &full_err("folds = 5\nlambda", "folds = 1\nlambda"),
            "preprocess[3].folds",
            "at least 2",
        );
    }

    #[test]
    fn cross_references() {
        assert_err(
            &full_err("id = \"moa-knn\"", "id = \"replicate-map\""),
            "task[1].id",
            "duplicate task id `replicate-map` (also task[0])",
        );
        assert_err(
            &full_err("pairs = [\"CORUM\"]", "pairs = [\"CORUM\", \"HuMAP\"]"),
            "task[7].pairs[1]",
            "no annotation named `HuMAP`",
        );
        assert_err(
            &full_err(
                "control = { column = \"Metadata_broad_sample\", values = [\"DMSO\"] }\n",
                "",
            ),
            "preprocess[2].fit_on",
            "`[columns] control` is not set",
        );
        assert_err(
            &full_err(
                "labels = [\"Metadata_moa\", \"Metadata_gene\"]",
                "labels = [\"Metadata_gene\"]",
            ),
            "task[1].labels",
            "hidden from plugins",
        );
        assert_err(
            &full_err(
                "split = { column = \"Metadata_split\", train = [\"train\"], test = [\"test\"] }\n",
                "",
            ),
            "task[8].metric",
            "needs `[columns] split`",
        );
        assert_err(
            &full_err("test = [\"test\"]", "test = [\"train\"]"),
            "columns.split.test[0]",
            "both train and test",
        );
        assert_err(
            &full_err(
                "replicate = [\"Metadata_broad_sample\", \"Metadata_mg_per_ml\"]\n",
                "",
            ),
            "task[4].replicate",
            "needs `replicate` or `[columns] replicate`",
        );
        assert_err(
            &full_err("batch = \"Metadata_Batch_Number\"\n", ""),
            "preprocess[3].batch",
            "needs `batch` or `[columns] batch`",
        );
        assert_err(
            &full_err(
                "level = \"treatment\"\nk_sweep",
                "level = \"cell\"\nk_sweep",
            ),
            "task[5].level",
            "finer than the data level `well`",
        );
        assert_err(
            &full_err("{ name = \"moa\"", "{ name = \"CORUM\""),
            "data.annotations[1].name",
            "duplicate annotation name",
        );
    }

    #[test]
    fn digests_and_files() {
        assert_err(
            &full_err("sha256 = \"0123456789abcdef", "sha256 = \"0123456789ABCDEF"),
            "data.sha256",
            "64 lowercase hex digits",
        );
        assert_err(
            &full_err("sha256 = \"fedcba", "sha256 = \"xx"),
            "data.annotations[1].sha256",
            "not a SHA-256 digest",
        );
        let err = full_err("../data/corum.csv.gz", "../data/missing.csv.gz");
        assert_err(&err, "data.annotations[0].path", "file not found: ");
        assert!(err.contains("bench/../data/missing.csv.gz"), "{err}");
        let err = full_err(
            "profiles = \"../data/plate.csv.gz\"",
            "profiles = \"plate.csv.gz\"",
        );
        assert_err(&err, "data.profiles", "bench/plate.csv.gz");
        assert_err(
            &full_err("blocklist = \"blocklist.txt\"", "blocklist = \"nope.txt\""),
            "preprocess[0].blocklist",
            "file not found",
        );
    }

    #[test]
    fn parameter_tables_name_real_fields() {
        let schema = serde_json::to_value(schemars::schema_for!(BenchmarkManifest)).unwrap();
        let props = |def: &str| -> BTreeSet<String> {
            schema["$defs"][def]["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect()
        };
        let task_fields = props("Task");
        let mut used = BTreeSet::new();
        for metric in [
            Metric::Map,
            Metric::Enrichment,
            Metric::PrecisionAtK,
            Metric::Replicating,
            Metric::Kmeans,
            Metric::KnnAccuracy,
            Metric::BatchLeakage,
            Metric::Relations,
            Metric::Partition,
        ] {
            let (r, o, one) = metric.rule();
            for k in r.iter().chain(o).chain(one).chain(COMMON_TASK_PARAMS) {
                assert!(
                    task_fields.contains(*k),
                    "{metric}: `{k}` is not a Task field"
                );
                used.insert(k.to_string());
            }
        }
        let unused: Vec<&String> = task_fields
            .iter()
            .filter(|f| {
                !used.contains(*f) && !["id", "metric", "description"].contains(&f.as_str())
            })
            .collect();
        assert!(
            unused.is_empty(),
            "Task fields no metric accepts: {unused:?}"
        );

        let step_fields = props("PrepStep");
        let mut used = BTreeSet::new();
        for op in [
            PrepOp::FeatureSelect,
            PrepOp::Normalize,
            PrepOp::Sphere,
            PrepOp::Insp,
            PrepOp::ControlNormalize,
            PrepOp::Aggregate,
            PrepOp::Consensus,
            PrepOp::TreatmentStrength,
        ] {
            let (r, o, _) = op.rule();
            for k in r.iter().chain(o) {
                assert!(
                    step_fields.contains(*k),
                    "{op}: `{k}` is not a PrepStep field"
                );
                used.insert(k.to_string());
            }
        }
        let unused: Vec<&String> = step_fields
            .iter()
            .filter(|f| !used.contains(*f) && *f != "op")
            .collect();
        assert!(
            unused.is_empty(),
            "PrepStep fields no op accepts: {unused:?}"
        );
    }
}
