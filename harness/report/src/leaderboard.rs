//! Leaderboards: run results gathered per benchmark, scaled between controls, ranked.
//!
//! Pure logic: `build_leaderboard` turns [`RunEntry`]s (a result plus what its plugin and
//! benchmark manifests say) into a [`Leaderboard`], which is written as `leaderboard.json`
//! (`Leaderboard::write_json`) and `leaderboard.md` (`Leaderboard::to_markdown`), and compared
//! with a previous one by `regressions`. Finding the result files and rendering HTML live
//! elsewhere.
//!
//! Every headline score (a `Score` with `primary`) is a column. Its scaled value is
//! `(raw − worst) / (best − worst)` between the worst and best `role = "control"` plugin that
//! succeeded on that benchmark, never between methods, so 0 is the worst control and 1 the best;
//! values outside `[0, 1]` are kept. Raw values are always kept beside scaled ones, and failed,
//! skipped and not-applicable runs stay on the board with their reasons.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::result::{HarnessInfo, PluginKind, PluginRole, RunResult, Status};

/// The leaderboard schema version this crate writes and reads.
pub const LEADERBOARD_SCHEMA_VERSION: u32 = 1;

/// File name of the leaderboard JSON Schema inside a schemas folder.
pub const LEADERBOARD_SCHEMA_FILE: &str = "leaderboard.schema.json";

/// Metric names where lower is better (everything else: higher is better).
pub const LOWER_IS_BETTER: &[&str] = &["batch-leakage"];

/// What a plugin's manifest says about it, as shown on a leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PluginMeta {
    /// The plugin's id, as in its `plugin.toml`.
    pub id: String,
    /// The plugin's version, as in its `plugin.toml`.
    pub version: String,
    /// What the plugin is on a leaderboard (method, control, reference, example).
    pub role: PluginRole,
    /// How the plugin produces its representation.
    pub kind: PluginKind,
    /// One-line description from the manifest.
    pub description: String,
    /// Datasets or benchmark ids the plugin was trained on, as written in its manifest.
    pub training_datasets: Vec<String>,
}

/// What a benchmark's manifest says about it, as shown on a leaderboard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkMeta {
    /// The benchmark's id, as in its `benchmark.toml`.
    pub id: String,
    /// The benchmark's version, as in its `benchmark.toml`.
    pub version: u32,
    /// Human-readable title.
    pub title: String,
    /// Names of the datasets the benchmark reads (compared with plugins' training datasets).
    pub datasets: Vec<String>,
}

/// One run as input to `build_leaderboard`: a result and the manifests it refers to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunEntry {
    /// The run's result.
    pub result: RunResult,
    /// The plugin that ran, from its manifest.
    pub plugin: PluginMeta,
    /// The benchmark it ran on, from its manifest.
    pub benchmark: BenchmarkMeta,
    /// Where the result JSON lies, relative to the leaderboard output, for links.
    pub result_file: Option<String>,
    /// Where the run's HTML report lies, relative to the leaderboard output, for links.
    pub report_file: Option<String>,
}

/// Every benchmark's board and the overall ranking; written as `leaderboard.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Leaderboard {
    /// Version of this schema; always 1 for files this version of cpbench writes.
    #[schemars(extend("const" = 1))]
    pub schema_version: u32,
    /// The harness that built the leaderboard.
    pub harness: HarnessInfo,
    /// One board per benchmark, in benchmark id order.
    pub benchmarks: Vec<BenchmarkBoard>,
    /// One row per plugin across benchmarks, ranked by mean scaled score.
    pub overall: Vec<OverallRow>,
}

/// The leaderboard of one benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BenchmarkBoard {
    /// The benchmark's id.
    pub id: String,
    /// The benchmark's version whose runs the board shows.
    pub version: u32,
    /// Human-readable title.
    pub title: String,
    /// The headline scores, in task order.
    pub columns: Vec<TaskColumn>,
    /// One row per plugin: ranked methods, then unranked ones, then controls, then examples.
    pub rows: Vec<BoardRow>,
    /// Why columns are not scaled, runs left out, and the like.
    pub notes: Vec<String>,
}

/// One headline score of a benchmark: a (task, metric, variant) column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskColumn {
    /// `task/metric/variant`, unique within the board.
    pub key: String,
    /// The task id.
    pub task: String,
    /// The metric name.
    pub metric: String,
    /// The metric variant.
    pub variant: String,
    /// Whether larger raw values are better (false for metrics in [`LOWER_IS_BETTER`]).
    pub higher_is_better: bool,
    /// The control scaled to 0; absent when no control has a value.
    pub worst_control: Option<ControlAnchor>,
    /// The control scaled to 1; absent when no control has a value.
    pub best_control: Option<ControlAnchor>,
}

/// A control plugin and its raw value, anchoring a column's scale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlAnchor {
    /// The control plugin's id.
    pub plugin: String,
    /// Its raw value in the column.
    pub value: f64,
}

/// One plugin's run on one benchmark.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BoardRow {
    /// The plugin.
    pub plugin: PluginMeta,
    /// Whether the run produced scores.
    pub status: Status,
    /// Why the run failed, was skipped or does not apply (or warnings of a success).
    pub reasons: Vec<String>,
    /// The plugin's training datasets that overlap the benchmark, as written in its manifest.
    pub contaminated: Vec<String>,
    /// One cell per column, aligned with the board's `columns`.
    pub cells: Vec<Cell>,
    /// Mean of the row's scaled cells; absent when none is scaled.
    pub mean_scaled: Option<f64>,
    /// Competition rank ("1224") among scored methods and references; absent for the others.
    pub rank: Option<u32>,
    /// The ONNX Runtime execution provider that ran, where there was one.
    pub execution_provider: Option<String>,
    /// Wall-clock seconds the run took.
    pub wall_s: f64,
    /// Where the result JSON lies, for links.
    pub result_file: Option<String>,
    /// Where the run's HTML report lies, for links.
    pub report_file: Option<String>,
}

/// One plugin's value in one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Cell {
    /// The score as the run reported it; absent when the run did not produce it.
    pub raw: Option<f64>,
    /// Its standard deviation, where the metric has one.
    pub sd: Option<f64>,
    /// The raw value scaled between the column's worst (0) and best (1) control.
    pub scaled: Option<f64>,
}

/// One plugin across all benchmarks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OverallRow {
    /// The plugin.
    pub plugin: PluginMeta,
    /// Mean of the plugin's per-benchmark mean scaled scores, where scored.
    pub mean_scaled: Option<f64>,
    /// How many benchmarks the mean is over.
    pub benchmarks: u32,
    /// Benchmark id → the plugin's mean scaled score there (null where not scored).
    pub per_benchmark: BTreeMap<String, Option<f64>>,
    /// Benchmarks whose data overlap the plugin's training datasets.
    pub contaminated_on: Vec<String>,
    /// Competition rank among scored methods and references; absent for the others.
    pub rank: Option<u32>,
}

/// A raw value that got worse than in a baseline leaderboard, or vanished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Regression {
    /// The plugin id.
    pub plugin: String,
    /// The benchmark id.
    pub benchmark: String,
    /// The column key, `task/metric/variant`.
    pub column: String,
    /// The raw value in the baseline.
    pub baseline: f64,
    /// The raw value now; absent when the run failed, vanished or lost the column.
    pub current: Option<f64>,
    /// How much worse, in the metric's own direction; the baseline's magnitude when vanished.
    pub drop: f64,
}
