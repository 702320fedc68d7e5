//! The data behind a run's plots, written beside its result as `<run>.figures.json`.
//!
//! Scores say how good a representation is; figures show why. The runner fills what its tasks
//! computed anyway (per-group mAP and p-values, k-means curves, leakage) plus a few views of the
//! final profiles (2-D projection, similarity of treatments, coverage). Everything is plain
//! numbers and strings so that a leaderboard can overlay the runs of many plugins.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Plot data of one (benchmark, plugin) run; every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunFigures {
    /// Per-group mAP with p-values, one list per mAP task (mAP vs -log10 p scatter).
    #[serde(default)]
    pub map_groups: Vec<MapGroups>,
    /// NMI/ARI/purity (mean ± sd over restarts) against k, one per k-means task with a sweep.
    #[serde(default)]
    pub k_curves: Vec<KCurves>,
    /// Batch leakage per leakage task, with the chance level.
    #[serde(default)]
    pub leakage: Vec<LeakageBar>,
    /// A score against the sphering regularization λ (CNN-1 paper Fig. 6B).
    #[serde(default)]
    pub lambda_sweep: Option<LambdaSweep>,
    /// 2-D projection of the evaluated profiles.
    #[serde(default)]
    pub projection: Option<Projection>,
    /// Cosine similarity of group-mean profiles, rows and columns in clustering order.
    #[serde(default)]
    pub similarity: Option<SimilarityMap>,
    /// How many profiles each condition has in each batch (or plate).
    #[serde(default)]
    pub coverage: Option<Coverage>,
}

/// The groups of one mAP task.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapGroups {
    /// Task id.
    pub task: String,
    /// Significance threshold on the corrected p-value (q) that counts a group as retrieved.
    pub threshold: f64,
    /// One point per group.
    pub groups: Vec<MapGroup>,
}

/// One group's mAP and its significance.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MapGroup {
    /// Group key (e.g. the compound), several columns joined with ` / `.
    pub label: String,
    /// Mean average precision of the group.
    pub map: f64,
    /// Permutation p-value.
    pub p_value: f64,
    /// Benjamini-Hochberg corrected p-value.
    pub q_value: f64,
}

/// Clustering scores of one k-means task over a sweep of k.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KCurves {
    /// Task id.
    pub task: String,
    /// The k the task's headline scores use (number of labels), marked on the plot.
    pub k_reference: Option<u32>,
    /// One curve per metric (`nmi`, `ari`, `purity`).
    pub curves: Vec<KCurve>,
}

/// One metric against k.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KCurve {
    /// Metric name.
    pub metric: String,
    /// Points in increasing k.
    pub points: Vec<KPoint>,
}

/// Mean and sd of a metric over restarts at one k.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KPoint {
    /// Number of clusters.
    pub k: u32,
    /// Mean over restarts.
    pub mean: f64,
    /// Standard deviation over restarts.
    pub sd: f64,
}

/// Batch leakage of one task: lower is better, chance is the floor a batch-free profile reaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LeakageBar {
    /// Task id.
    pub task: String,
    /// What was predicted (e.g. `Metadata_Plate`).
    pub target: String,
    /// Mean balanced accuracy over folds.
    pub balanced_accuracy: f64,
    /// Standard deviation over folds.
    pub sd: f64,
    /// Balanced accuracy of guessing (1 / number of classes).
    pub chance: f64,
}

/// A score as a function of the sphering regularization.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LambdaSweep {
    /// Task whose score is swept.
    pub task: String,
    /// Metric of that task (e.g. `nsc-accuracy`).
    pub metric: String,
    /// The λ the benchmark's pipeline uses, marked on the plot.
    pub lambda_used: Option<f64>,
    /// Points in increasing λ.
    pub points: Vec<LambdaPoint>,
}

/// One point of a λ sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LambdaPoint {
    /// Regularization added to the eigenvalues.
    pub lambda: f64,
    /// The score at that λ.
    pub value: f64,
}

/// Profiles projected to two dimensions, with what to colour them by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Projection {
    /// How the projection was made (e.g. `PCA`).
    pub method: String,
    /// Axis names (e.g. `PC1 (23.1%)`).
    pub axes: [String; 2],
    /// First coordinate per profile.
    pub x: Vec<f64>,
    /// Second coordinate per profile.
    pub y: Vec<f64>,
    /// Label column name and value per profile (e.g. MoA); absent if the benchmark has none.
    pub label: Option<Colouring>,
    /// Batch (or plate) column name and value per profile.
    pub batch: Option<Colouring>,
    /// How many profiles were scored when the points are an evenly spaced sample of them
    /// (tables larger than the plot can show); absent when every profile is a point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_from: Option<u64>,
}

/// A categorical value per point.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Colouring {
    /// Column the values come from.
    pub column: String,
    /// One value per point.
    pub values: Vec<String>,
}

/// Cosine similarity between group-mean profiles, ordered by hierarchical clustering.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimilarityMap {
    /// Column the groups come from (e.g. `Metadata_broad_sample`).
    pub column: String,
    /// Group names in display order.
    pub labels: Vec<String>,
    /// Optional annotation per group (e.g. its MoA), drawn as a colour strip.
    pub annotation: Option<Colouring>,
    /// Row-major `labels.len()²` similarities in [-1, 1].
    pub values: Vec<f64>,
}

/// Counts of profiles per (condition, batch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// Column of the conditions (rows).
    pub condition_column: String,
    /// Column of the batches (columns).
    pub batch_column: String,
    /// Condition names.
    pub conditions: Vec<String>,
    /// Batch names.
    pub batches: Vec<String>,
    /// Row-major counts, `conditions.len() × batches.len()`.
    pub counts: Vec<u32>,
}
