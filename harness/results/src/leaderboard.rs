//! Leaderboards: run results gathered per benchmark, scaled between controls, ranked.
//!
//! Pure logic: [`build_leaderboard`] turns [`RunEntry`]s (a result plus what its plugin and
//! benchmark manifests say) into a [`Leaderboard`], which is written as `leaderboard.json`
//! ([`Leaderboard::write_json`]) and, by cpbench-report, as `leaderboard.md` and `index.html`;
//! it is compared with a previous one by [`regressions`]. Finding the result files and
//! rendering live elsewhere.
//!
//! Every headline score (a [`Score`] with `primary`) is a column. Its scaled value is
//! `(raw − worst) / (best − worst)` between the worst and best `role = "control"` plugin that
//! succeeded on that benchmark, never between methods, so 0 is the worst control and 1 the best;
//! values outside `[0, 1]` are kept. Raw values are always kept beside scaled ones, and failed,
//! skipped and not-applicable runs stay on the board with their reasons.
//!
//! Fairness rules:
//! - **Contamination.** A plugin whose `training_datasets` names the benchmark or one of its
//!   datasets is shown with its scores but not ranked there. An entry `<benchmark id>:train`
//!   (the plugin saw only that benchmark's train split) is not contamination on a run that
//!   scored the benchmark's test split (`provenance.split` of its result): that row is ranked.
//! - **Overall ranking over common benchmarks** (as MTEB averages only over a fixed task set):
//!   [`common_benchmarks`] picks the benchmarks every overall-ranked plugin was scored on; a
//!   plugin's overall score is its mean over exactly those, and a plugin not scored on all of
//!   them is shown with its coverage but no overall rank. A plugin scored on one benchmark can
//!   therefore never outrank one scored on three by averaging over fewer.
//! - **Regressions on the control-scaled scale.** [`regressions`] compares scaled values (0 =
//!   worst control, 1 = best), so one tolerance means the same for mAP and folds of enrichment;
//!   a column with no scaled value on either side falls back to raw values and says so.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use cpbench_core::manifest::train_split_benchmark;

use crate::error::{Error, Invalid, Result};
use crate::format::{fmt_raw, sig};
use crate::result::{HarnessInfo, PluginKind, PluginRole, RunResult, Score, ScoredSplit, Status};

/// The leaderboard schema version this crate writes and reads.
pub const LEADERBOARD_SCHEMA_VERSION: u32 = 1;

/// File name of the leaderboard JSON Schema inside a schemas folder.
pub const LEADERBOARD_SCHEMA_FILE: &str = "leaderboard.schema.json";

/// Metric names where lower is better (everything else: higher is better).
pub const LOWER_IS_BETTER: &[&str] = &["batch-leakage"];

/// Below this spread the best and worst control are taken as equal and nothing is scaled.
const MIN_CONTROL_SPREAD: f64 = 1e-12;

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

/// One run as input to [`build_leaderboard`]: a result and the manifests it refers to.
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
    /// The benchmarks the overall ranking compares plugins over, in id order: every plugin with
    /// an overall rank was scored on each of them, and its overall score is its mean over them.
    #[serde(default)]
    pub common_benchmarks: Vec<String>,
    /// One row per plugin across benchmarks: ranked ones by their mean scaled score over the
    /// common benchmarks, then the others.
    pub overall: Vec<OverallRow>,
    /// The comparison with a baseline leaderboard (`cpbench leaderboard --baseline`), when one
    /// was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regression_check: Option<RegressionCheck>,
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
    /// The train/test split the runs were scored under, when the benchmark declares one: tasks
    /// scored its test (and shared) rows only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<ScoredSplit>,
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
    /// The plugin's training datasets that overlap the rows the run scored, as written in its
    /// manifest; a contaminated row is shown but not ranked.
    pub contaminated: Vec<String>,
    /// The plugin's `<benchmark id>:train` entries for this benchmark, cleared because the run
    /// scored the benchmark's test split, which the plugin never saw: the row is ranked.
    #[serde(default)]
    pub trained_on_train_split: Vec<String>,
    /// One cell per column, aligned with the board's `columns`.
    pub cells: Vec<Cell>,
    /// Mean of the row's scaled cells; absent when none is scaled.
    pub mean_scaled: Option<f64>,
    /// Competition rank ("1224") among scored methods and references not contaminated on this
    /// benchmark; absent for the others.
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
    /// Mean of the plugin's per-benchmark mean scaled scores over the leaderboard's
    /// `common_benchmarks`; absent when it was not scored on every one of them.
    pub mean_scaled: Option<f64>,
    /// On how many benchmarks the plugin was scored (its coverage, out of all the boards):
    /// succeeded, scaled and not contaminated.
    pub benchmarks: u32,
    /// Whether the plugin was scored on every common benchmark; only such methods and
    /// references get an overall rank.
    #[serde(default)]
    pub covers_common: bool,
    /// Benchmark id → the plugin's mean scaled score there (null where not scored, or where
    /// the plugin is contaminated: those do not count).
    pub per_benchmark: BTreeMap<String, Option<f64>>,
    /// Benchmarks whose data overlap the plugin's training datasets (shown, not counted).
    pub contaminated_on: Vec<String>,
    /// Competition rank among methods and references scored on every common benchmark;
    /// absent for the others.
    pub rank: Option<u32>,
}

/// Which values a regression compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Compared {
    /// Control-scaled values (0 = worst control, 1 = best): the default.
    Scaled,
    /// Raw values in the metric's own direction, where the column has no scaled value in the
    /// baseline or now (fewer than two controls, or controls that tie).
    Raw,
}

/// How far a headline score may drop against the baseline before it is a regression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Tolerance {
    /// Largest allowed drop of any metric not listed in `per_metric`.
    pub default: f64,
    /// Metric name (the middle part of a column key, e.g. `map`) → its own largest drop.
    #[serde(default)]
    pub per_metric: BTreeMap<String, f64>,
}

impl Tolerance {
    /// The same tolerance for every metric.
    pub fn uniform(default: f64) -> Tolerance {
        Tolerance {
            default,
            per_metric: BTreeMap::new(),
        }
    }

    /// The largest allowed drop of `metric`.
    pub fn of(&self, metric: &str) -> f64 {
        self.per_metric.get(metric).copied().unwrap_or(self.default)
    }

    /// Refuses a tolerance that is negative, infinite or NaN, naming its flag.
    pub fn check(&self) -> std::result::Result<(), ToleranceError> {
        let range = |flag: String, value: f64| {
            if value.is_finite() && value >= 0.0 {
                Ok(())
            } else {
                Err(ToleranceError::Range { flag, value })
            }
        };
        range("--tolerance".into(), self.default)?;
        for (metric, &value) in &self.per_metric {
            range(format!("--tolerance-for {metric}"), value)?;
        }
        Ok(())
    }
}

/// Why a tolerance cannot be used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ToleranceError {
    /// A tolerance that is negative, infinite or NaN.
    #[error("{flag} {value}: must be finite and ≥ 0")]
    Range {
        /// How the value was given (`--tolerance`, `--tolerance-for map`).
        flag: String,
        /// The value.
        value: f64,
    },
    /// A per-metric tolerance for a metric that no column of either leaderboard has (a typo
    /// would otherwise leave the default in force without a word).
    #[error(
        "--tolerance-for {metric}: no headline column has metric `{metric}` (metrics: {known})"
    )]
    UnknownMetric {
        /// The metric named.
        metric: String,
        /// The metrics the columns have, comma-separated.
        known: String,
    },
}

/// The comparison of a leaderboard with a baseline: what regressed, and what was not compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegressionCheck {
    /// The harness that built the baseline.
    pub baseline_harness: HarnessInfo,
    /// The tolerances applied.
    pub tolerance: Tolerance,
    /// Every headline value that got worse than its tolerance, or vanished; sorted by
    /// benchmark, plugin and column.
    pub regressions: Vec<Regression>,
    /// Boards left out of the comparison and why (a new benchmark version scores other rows).
    pub notes: Vec<String>,
}

/// A headline value that got worse than in a baseline leaderboard, or vanished.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Regression {
    /// The plugin id.
    pub plugin: String,
    /// The benchmark id.
    pub benchmark: String,
    /// The column key, `task/metric/variant`.
    pub column: String,
    /// Whether `baseline`, `current` and `drop` are control-scaled or raw values.
    pub compared: Compared,
    /// The value in the baseline.
    pub baseline: f64,
    /// The value now; absent when the run failed, vanished or lost the column.
    pub current: Option<f64>,
    /// How much worse, in the direction where higher is better; absent when vanished.
    pub drop: Option<f64>,
    /// The largest drop allowed for this column's metric.
    pub tolerance: f64,
    /// The raw value in the baseline.
    pub baseline_raw: f64,
    /// The raw value now, where there is one.
    pub current_raw: Option<f64>,
}

/// Builds every benchmark's board and the overall ranking from the runs given.
///
/// A board shows the newest benchmark version among its runs; runs of older versions are left
/// out with a note. If a plugin appears twice on one board, the later entry wins, with a note.
pub fn build_leaderboard(entries: &[RunEntry], harness: HarnessInfo) -> Leaderboard {
    let mut by_benchmark: BTreeMap<&str, Vec<&RunEntry>> = BTreeMap::new();
    for entry in entries {
        by_benchmark
            .entry(entry.benchmark.id.as_str())
            .or_default()
            .push(entry);
    }
    let benchmarks: Vec<BenchmarkBoard> = by_benchmark.into_values().map(build_board).collect();
    let (common_benchmarks, overall) = build_overall(&benchmarks);
    Leaderboard {
        schema_version: LEADERBOARD_SCHEMA_VERSION,
        harness,
        benchmarks,
        common_benchmarks,
        overall,
        regression_check: None,
    }
}

/// Whether larger values of `metric` are better.
pub fn higher_is_better(metric: &str) -> bool {
    !LOWER_IS_BETTER.contains(&metric)
}

fn build_board(entries: Vec<&RunEntry>) -> BenchmarkBoard {
    let mut notes = Vec::new();
    let version = entries
        .iter()
        .map(|e| e.benchmark.version)
        .max()
        .expect("a board is built only for a benchmark with runs");
    let (current, older): (Vec<&RunEntry>, Vec<&RunEntry>) = entries
        .into_iter()
        .partition(|e| e.benchmark.version == version);
    if !older.is_empty() {
        let mut left_out: Vec<String> = older
            .iter()
            .map(|e| format!("{} (v{})", e.plugin.id, e.benchmark.version))
            .collect();
        left_out.sort();
        notes.push(format!(
            "runs of older benchmark versions left out: {}",
            left_out.join(", ")
        ));
    }
    // One run per plugin id; the later entry wins.
    let mut by_plugin: BTreeMap<&str, &RunEntry> = BTreeMap::new();
    for entry in &current {
        if by_plugin.insert(entry.plugin.id.as_str(), entry).is_some() {
            notes.push(format!(
                "plugin {} has several runs; showing the last one given{}",
                entry.plugin.id,
                entry
                    .result_file
                    .as_deref()
                    .map(|f| format!(" ({f})"))
                    .unwrap_or_default()
            ));
        }
    }
    let meta = &current[0].benchmark;
    let runs: Vec<&RunEntry> = by_plugin.into_values().collect();

    let columns_keys = collect_columns(&runs);
    let mut rows: Vec<BoardRow> = runs
        .iter()
        .map(|entry| {
            let cells = columns_keys
                .iter()
                .map(|(task, metric, variant)| {
                    let score = (entry.result.status == Status::Succeeded)
                        .then(|| find_primary(&entry.result.scores, task, metric, variant))
                        .flatten();
                    Cell {
                        raw: score.map(|s| s.value),
                        sd: score.and_then(|s| s.sd),
                        scaled: None,
                    }
                })
                .collect();
            let (contaminated, trained_on_train_split) = contamination(
                &entry.plugin,
                &entry.benchmark,
                entry.result.provenance.split.is_some(),
            );
            BoardRow {
                plugin: entry.plugin.clone(),
                status: entry.result.status,
                reasons: entry.result.reasons.clone(),
                contaminated,
                trained_on_train_split,
                cells,
                mean_scaled: None,
                rank: None,
                execution_provider: entry.result.provenance.execution_provider.clone(),
                wall_s: entry.result.timing.wall_s,
                result_file: entry.result_file.clone(),
                report_file: entry.report_file.clone(),
            }
        })
        .collect();

    let mut columns = Vec::with_capacity(columns_keys.len());
    for (c, (task, metric, variant)) in columns_keys.into_iter().enumerate() {
        let key = format!("{task}/{metric}/{variant}");
        let higher = higher_is_better(&metric);
        // Rows are in plugin id order, so among equal controls the first id anchors.
        let controls: Vec<(&str, f64)> = rows
            .iter()
            .filter(|r| r.plugin.role == PluginRole::Control && r.status == Status::Succeeded)
            .filter_map(|r| r.cells[c].raw.map(|v| (r.plugin.id.as_str(), v)))
            .collect();
        let better = |a: f64, b: f64| if higher { a > b } else { a < b };
        let pick = |want_best: bool| {
            controls
                .iter()
                .copied()
                .reduce(|kept, next| {
                    let replace = if want_best {
                        better(next.1, kept.1)
                    } else {
                        better(kept.1, next.1)
                    };
                    if replace { next } else { kept }
                })
                .map(|(plugin, value)| ControlAnchor {
                    plugin: plugin.to_string(),
                    value,
                })
        };
        let worst = pick(false);
        let best = pick(true);
        match (&worst, &best) {
            _ if controls.is_empty() => {
                notes.push(format!("{key}: not scaled, no control has a value"))
            }
            _ if controls.len() == 1 => notes.push(format!(
                "{key}: not scaled, only one control has a value ({})",
                controls[0].0
            )),
            (Some(w), Some(b)) if (b.value - w.value).abs() < MIN_CONTROL_SPREAD => {
                let ids: Vec<&str> = controls.iter().map(|(id, _)| *id).collect();
                notes.push(format!(
                    "{key}: not scaled, every control ({}) scores {}",
                    ids.join(", "),
                    fmt_raw(b.value)
                ))
            }
            (Some(w), Some(b)) => {
                for row in &mut rows {
                    let cell = &mut row.cells[c];
                    cell.scaled = cell.raw.map(|raw| (raw - w.value) / (b.value - w.value));
                }
            }
            _ => unreachable!("controls is not empty, so both anchors exist"),
        }
        columns.push(TaskColumn {
            key,
            task,
            metric,
            variant,
            higher_is_better: higher,
            worst_control: worst,
            best_control: best,
        });
    }

    for row in &mut rows {
        row.mean_scaled = mean(row.cells.iter().filter_map(|c| c.scaled));
    }
    // A contaminated row is shown with its scores but not ranked: it saw this benchmark's
    // data or labels in training.
    let ranks = rank(
        &rows
            .iter()
            .map(|r| {
                let eligible = r.status == Status::Succeeded && r.contaminated.is_empty();
                (r.plugin.role, eligible, r.mean_scaled)
            })
            .collect::<Vec<_>>(),
    );
    for (row, rank) in rows.iter_mut().zip(ranks) {
        row.rank = rank;
    }
    rows.sort_by(|a, b| {
        display_order(
            (a.plugin.role, a.rank, a.mean_scaled, &a.plugin.id),
            (b.plugin.role, b.rank, b.mean_scaled, &b.plugin.id),
        )
    });

    // Every run of one benchmark version reads the same manifest, hence the same split.
    let split = runs.iter().find_map(|e| e.result.provenance.split.clone());
    BenchmarkBoard {
        id: meta.id.clone(),
        version,
        title: meta.title.clone(),
        split,
        columns,
        rows,
        notes,
    }
}

/// The distinct (task, metric, variant) of the primary scores of succeeded runs: tasks in order
/// of first appearance, and within a task its columns in order of first appearance.
fn collect_columns(runs: &[&RunEntry]) -> Vec<(String, String, String)> {
    let mut tasks: Vec<&str> = Vec::new();
    let mut keys: Vec<(&str, &str, &str)> = Vec::new();
    for entry in runs {
        if entry.result.status != Status::Succeeded {
            continue;
        }
        for score in entry.result.scores.iter().filter(|s| s.primary) {
            let key = (
                score.task.as_str(),
                score.metric.as_str(),
                score.variant.as_str(),
            );
            if !tasks.contains(&key.0) {
                tasks.push(key.0);
            }
            if !keys.contains(&key) {
                keys.push(key);
            }
        }
    }
    // Stable sort: within a task, first appearance order stays.
    keys.sort_by_key(|k| tasks.iter().position(|t| *t == k.0));
    keys.into_iter()
        .map(|(t, m, v)| (t.to_string(), m.to_string(), v.to_string()))
        .collect()
}

fn find_primary<'a>(
    scores: &'a [Score],
    task: &str,
    metric: &str,
    variant: &str,
) -> Option<&'a Score> {
    scores
        .iter()
        .find(|s| s.primary && s.task == task && s.metric == metric && s.variant == variant)
}

/// The plugin's training datasets that are the benchmark or one of its datasets, ignoring case:
/// (contaminating entries, `<benchmark id>:train` entries cleared because the run scored this
/// benchmark's test split). A train-split entry of another benchmark that this one includes
/// (by its `datasets`) is contamination: this benchmark's rows are not split the same way.
fn contamination(
    plugin: &PluginMeta,
    benchmark: &BenchmarkMeta,
    scored_test_split: bool,
) -> (Vec<String>, Vec<String>) {
    let targets: Vec<String> = std::iter::once(&benchmark.id)
        .chain(&benchmark.datasets)
        .map(|s| s.to_lowercase())
        .collect();
    let mut found: Vec<String> = Vec::new();
    let mut cleared: Vec<String> = Vec::new();
    for trained in &plugin.training_datasets {
        let (name, train_split) = match train_split_benchmark(trained) {
            Some(id) => (id, true),
            None => (trained.as_str(), false),
        };
        if !targets.contains(&name.to_lowercase()) {
            continue;
        }
        let list = if train_split && scored_test_split && name.eq_ignore_ascii_case(&benchmark.id) {
            &mut cleared
        } else {
            &mut found
        };
        if !list.contains(trained) {
            list.push(trained.clone());
        }
    }
    (found, cleared)
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0u32), |(s, n), v| (s + v, n + 1));
    (n > 0).then(|| sum / f64::from(n))
}

fn is_ranked_role(role: PluginRole) -> bool {
    matches!(role, PluginRole::Method | PluginRole::Reference)
}

/// Competition ranks ("1224") by score descending, for method and reference rows that
/// succeeded and have a score; `None` for every other row.
fn rank(rows: &[(PluginRole, bool, Option<f64>)]) -> Vec<Option<u32>> {
    let scores: Vec<Option<f64>> = rows
        .iter()
        .map(|&(role, ok, score)| score.filter(|_| ok && is_ranked_role(role)))
        .collect();
    scores
        .iter()
        .map(|score| {
            score.map(|s| {
                let better = scores.iter().flatten().filter(|&&other| other > s).count();
                u32::try_from(better + 1).unwrap_or(u32::MAX)
            })
        })
        .collect()
}

/// 0 ranked methods and references, 1 the other methods and references, 2 controls, 3 examples.
fn display_group(role: PluginRole, rank: Option<u32>) -> u8 {
    match role {
        PluginRole::Method | PluginRole::Reference if rank.is_some() => 0,
        PluginRole::Method | PluginRole::Reference => 1,
        PluginRole::Control => 2,
        PluginRole::Example => 3,
    }
}

/// Display order: ranked rows by rank (ties by id), then other methods and references by id,
/// then controls by score descending (unscored last, ties by id), then examples by id.
fn display_order(
    a: (PluginRole, Option<u32>, Option<f64>, &String),
    b: (PluginRole, Option<u32>, Option<f64>, &String),
) -> std::cmp::Ordering {
    let group = display_group;
    let descending = |x: Option<f64>, y: Option<f64>| match (x, y) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => std::cmp::Ordering::Less,
        (None, Some(_)) => std::cmp::Ordering::Greater,
        (None, None) => std::cmp::Ordering::Equal,
    };
    let (ga, gb) = (group(a.0, a.1), group(b.0, b.1));
    ga.cmp(&gb)
        .then_with(|| a.1.cmp(&b.1))
        .then_with(|| {
            if ga == 2 {
                descending(a.2, b.2)
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .then_with(|| a.3.cmp(b.3))
}

/// The overall table: (the common benchmarks, one row per plugin).
fn build_overall(boards: &[BenchmarkBoard]) -> (Vec<String>, Vec<OverallRow>) {
    let mut by_plugin: BTreeMap<&str, OverallRow> = BTreeMap::new();
    for board in boards {
        for row in &board.rows {
            let overall = by_plugin
                .entry(row.plugin.id.as_str())
                .or_insert_with(|| OverallRow {
                    plugin: row.plugin.clone(),
                    mean_scaled: None,
                    benchmarks: 0,
                    covers_common: false,
                    per_benchmark: BTreeMap::new(),
                    contaminated_on: Vec::new(),
                    rank: None,
                });
            // A benchmark the plugin is contaminated on is listed but does not count.
            let counted = row.mean_scaled.filter(|_| row.contaminated.is_empty());
            overall.per_benchmark.insert(board.id.clone(), counted);
            if !row.contaminated.is_empty() {
                overall.contaminated_on.push(board.id.clone());
            }
        }
    }
    let mut rows: Vec<OverallRow> = by_plugin.into_values().collect();
    for row in &mut rows {
        let scored = row.per_benchmark.values().flatten().count();
        row.benchmarks = u32::try_from(scored).unwrap_or(u32::MAX);
    }
    let coverage = |r: &OverallRow| -> Vec<String> {
        r.per_benchmark
            .iter()
            .filter(|(_, v)| v.is_some())
            .map(|(id, _)| id.clone())
            .collect()
    };
    let common = common_benchmarks(
        &rows
            .iter()
            .filter(|r| is_ranked_role(r.plugin.role))
            .map(coverage)
            .collect::<Vec<_>>(),
    );
    for row in &mut rows {
        let values: Option<Vec<f64>> = common
            .iter()
            .map(|id| row.per_benchmark.get(id).copied().flatten())
            .collect();
        row.covers_common = !common.is_empty() && values.is_some();
        row.mean_scaled = values
            .filter(|_| row.covers_common)
            .and_then(|v| mean(v.into_iter()));
    }
    let ranks = rank(
        &rows
            .iter()
            .map(|r| (r.plugin.role, r.covers_common, r.mean_scaled))
            .collect::<Vec<_>>(),
    );
    for (row, rank) in rows.iter_mut().zip(ranks) {
        row.rank = rank;
    }
    // Ranked rows first; then the other methods and references, widest coverage first.
    rows.sort_by(|a, b| {
        let group = display_group(a.plugin.role, a.rank);
        group
            .cmp(&display_group(b.plugin.role, b.rank))
            .then_with(|| {
                if group == 1 {
                    b.benchmarks.cmp(&a.benchmarks)
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .then_with(|| {
                display_order(
                    (a.plugin.role, a.rank, a.mean_scaled, &a.plugin.id),
                    (b.plugin.role, b.rank, b.mean_scaled, &b.plugin.id),
                )
            })
    });
    (common, rows)
}

/// The benchmarks an overall ranking compares over, given the benchmarks each method or
/// reference was scored on: the set `S` of benchmarks that maximizes the number of
/// like-for-like comparisons, |S| × (plugins scored on every benchmark of S); ties go to the
/// larger S, then to the ids that sort first. Only intersections of the plugins' own sets can
/// win (adding a benchmark every counted plugin has only adds comparisons), so those are the
/// candidates. The plugins covering S are exactly those it ranks, each over all of S.
pub fn common_benchmarks(coverage: &[Vec<String>]) -> Vec<String> {
    use std::collections::BTreeSet;
    let sets: Vec<BTreeSet<&str>> = coverage
        .iter()
        .map(|c| c.iter().map(String::as_str).collect::<BTreeSet<&str>>())
        .filter(|c| !c.is_empty())
        .collect();
    let mut candidates: Vec<BTreeSet<&str>> = Vec::new();
    for set in &sets {
        if !candidates.contains(set) {
            candidates.push(set.clone());
        }
    }
    // Close the family under intersection.
    let mut i = 0;
    while i < candidates.len() {
        for j in 0..i {
            let both: BTreeSet<&str> = candidates[i]
                .intersection(&candidates[j])
                .copied()
                .collect();
            if !both.is_empty() && !candidates.contains(&both) {
                candidates.push(both);
            }
        }
        i += 1;
    }
    let key = |set: &BTreeSet<&str>| {
        let covering = sets.iter().filter(|s| set.is_subset(s)).count();
        (set.len() * covering, set.len())
    };
    candidates
        .into_iter()
        .max_by(|a, b| key(a).cmp(&key(b)).then_with(|| b.cmp(a)))
        .map(|set| set.into_iter().map(str::to_string).collect())
        .unwrap_or_default()
}

/// Just enough of a leaderboard file to check its version before parsing the rest.
#[derive(Deserialize)]
struct VersionProbe {
    schema_version: u32,
}

impl Leaderboard {
    /// Writes the leaderboard as pretty JSON with a trailing newline, atomically; refuses
    /// non-finite numbers, naming their JSON path.
    pub fn write_json(&self, path: &Path) -> Result<()> {
        let bytes = self.to_json_bytes().map_err(|source| Error::Refused {
            path: path.to_path_buf(),
            source,
        })?;
        cpbench_core::io::write_bytes_atomic(path, &bytes)?;
        Ok(())
    }

    /// The leaderboard as pretty JSON with a trailing newline; refuses non-finite numbers,
    /// naming their JSON path.
    pub fn to_json_bytes(&self) -> std::result::Result<Vec<u8>, Invalid> {
        self.check_finite()?;
        let mut bytes = serde_json::to_vec_pretty(self)
            .expect("a leaderboard holds only strings, finite numbers and string-keyed maps");
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Reads a leaderboard file; refuses any schema version but 1.
    pub fn read_json(path: &Path) -> Result<Leaderboard> {
        let bytes = std::fs::read(path).map_err(|source| Error::Read {
            path: path.to_path_buf(),
            source,
        })?;
        // The version first, so a newer file says so instead of naming an unknown field.
        if let Ok(probe) = serde_json::from_slice::<VersionProbe>(&bytes)
            && probe.schema_version != LEADERBOARD_SCHEMA_VERSION
        {
            return Err(Error::Invalid {
                path: path.to_path_buf(),
                source: Invalid {
                    at: "schema_version".into(),
                    what: format!(
                        "is {}, but this cpbench reads leaderboard version {LEADERBOARD_SCHEMA_VERSION}",
                        probe.schema_version
                    ),
                },
            });
        }
        serde_json::from_slice(&bytes).map_err(|source| Error::ParseLeaderboard {
            path: path.to_path_buf(),
            source,
        })
    }

    /// The first non-finite number, by JSON path (serde_json would write it as `null`).
    fn check_finite(&self) -> std::result::Result<(), Invalid> {
        let check = |at: &dyn Fn() -> String, value: Option<f64>| match value {
            Some(v) if !v.is_finite() => Err(Invalid {
                at: at(),
                what: format!("is {v}, which JSON cannot hold"),
            }),
            _ => Ok(()),
        };
        for (b, board) in self.benchmarks.iter().enumerate() {
            for (c, column) in board.columns.iter().enumerate() {
                let anchors = [
                    ("worst_control", &column.worst_control),
                    ("best_control", &column.best_control),
                ];
                for (name, anchor) in anchors {
                    check(
                        &|| format!("benchmarks[{b}].columns[{c}].{name}.value"),
                        anchor.as_ref().map(|a| a.value),
                    )?;
                }
            }
            for (r, row) in board.rows.iter().enumerate() {
                let at = |field: &str| format!("benchmarks[{b}].rows[{r}].{field}");
                check(&|| at("mean_scaled"), row.mean_scaled)?;
                check(&|| at("wall_s"), Some(row.wall_s))?;
                for (c, cell) in row.cells.iter().enumerate() {
                    for (name, value) in
                        [("raw", cell.raw), ("sd", cell.sd), ("scaled", cell.scaled)]
                    {
                        check(&|| at(&format!("cells[{c}].{name}")), value)?;
                    }
                }
            }
        }
        for (r, row) in self.overall.iter().enumerate() {
            check(&|| format!("overall[{r}].mean_scaled"), row.mean_scaled)?;
            for (id, value) in &row.per_benchmark {
                check(&|| format!("overall[{r}].per_benchmark.{id}"), *value)?;
            }
        }
        if let Some(rc) = &self.regression_check {
            check(
                &|| "regression_check.tolerance.default".into(),
                Some(rc.tolerance.default),
            )?;
            for (metric, value) in &rc.tolerance.per_metric {
                check(
                    &|| format!("regression_check.tolerance.per_metric.{metric}"),
                    Some(*value),
                )?;
            }
            for (i, r) in rc.regressions.iter().enumerate() {
                let at = |field: &str| format!("regression_check.regressions[{i}].{field}");
                for (name, value) in [
                    ("baseline", Some(r.baseline)),
                    ("current", r.current),
                    ("drop", r.drop),
                    ("tolerance", Some(r.tolerance)),
                    ("baseline_raw", Some(r.baseline_raw)),
                    ("current_raw", r.current_raw),
                ] {
                    check(&|| at(name), value)?;
                }
            }
        }
        Ok(())
    }
}

/// Compares `current` with `baseline`: every headline value of the baseline that dropped by more
/// than its metric's tolerance, or vanished, sorted by benchmark, plugin and column.
///
/// Values are compared on the control-scaled scale, where both leaderboards scaled the column,
/// so one tolerance means the same for every metric; otherwise (fewer than two controls, or
/// controls that tie, on either side) on raw values in the metric's direction, marked
/// [`Compared::Raw`]. A board whose benchmark version changed is not compared (it may score
/// other rows or tasks): a note says so. Errors: a tolerance out of range, or a per-metric one
/// naming a metric no column of either leaderboard has.
pub fn regressions(
    current: &Leaderboard,
    baseline: &Leaderboard,
    tolerance: &Tolerance,
) -> std::result::Result<RegressionCheck, ToleranceError> {
    tolerance.check()?;
    let metrics: std::collections::BTreeSet<&str> = [current, baseline]
        .iter()
        .flat_map(|lb| &lb.benchmarks)
        .flat_map(|b| &b.columns)
        .map(|c| c.metric.as_str())
        .collect();
    for metric in tolerance.per_metric.keys() {
        if !metrics.contains(metric.as_str()) {
            return Err(ToleranceError::UnknownMetric {
                metric: metric.clone(),
                known: metrics.iter().copied().collect::<Vec<_>>().join(", "),
            });
        }
    }
    let mut found = Vec::new();
    let mut notes = Vec::new();
    for old_board in &baseline.benchmarks {
        let new_board = current.benchmarks.iter().find(|b| b.id == old_board.id);
        if let Some(new) = new_board
            && new.version != old_board.version
        {
            notes.push(format!(
                "{}: not compared, the baseline has v{} and this leaderboard v{} (a new version \
                 may score other rows or tasks)",
                old_board.id, old_board.version, new.version
            ));
            continue;
        }
        for old_row in &old_board.rows {
            let new_row =
                new_board.and_then(|b| b.rows.iter().find(|r| r.plugin.id == old_row.plugin.id));
            for (column, old_cell) in old_board.columns.iter().zip(&old_row.cells) {
                let Some(old_raw) = old_cell.raw else {
                    continue;
                };
                let now = new_board.zip(new_row).and_then(|(board, row)| {
                    let c = board.columns.iter().position(|k| k.key == column.key)?;
                    let cell = row.cells.get(c)?;
                    cell.raw.map(|raw| (raw, cell.scaled))
                });
                let limit = tolerance.of(&column.metric);
                let (compared, old, new) = match (old_cell.scaled, now) {
                    (Some(old), Some((_, Some(new)))) => (Compared::Scaled, old, Some(new)),
                    (Some(old), None) => (Compared::Scaled, old, None),
                    (_, Some((raw, _))) => (Compared::Raw, old_raw, Some(raw)),
                    (None, None) => (Compared::Raw, old_raw, None),
                };
                // Scaled values grow towards the best control whatever the metric's direction.
                let drop = new.map(|new| {
                    if compared == Compared::Scaled || column.higher_is_better {
                        old - new
                    } else {
                        new - old
                    }
                });
                if drop.is_none_or(|d| d > limit) {
                    found.push(Regression {
                        plugin: old_row.plugin.id.clone(),
                        benchmark: old_board.id.clone(),
                        column: column.key.clone(),
                        compared,
                        baseline: old,
                        current: new,
                        drop,
                        tolerance: limit,
                        baseline_raw: old_raw,
                        current_raw: now.map(|(raw, _)| raw),
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| {
        (&a.benchmark, &a.plugin, &a.column).cmp(&(&b.benchmark, &b.plugin, &b.column))
    });
    Ok(RegressionCheck {
        baseline_harness: baseline.harness.clone(),
        tolerance: tolerance.clone(),
        regressions: found,
        notes,
    })
}

/// Significant digits of the numbers in regression messages.
const MESSAGE_DIGITS: u32 = 4;

impl Regression {
    /// One line for the CLI, the Markdown and the page, numbers to 4 significant digits.
    pub fn describe(&self) -> String {
        let n = |v: f64| sig(v, MESSAGE_DIGITS);
        let what = match self.compared {
            Compared::Scaled => "scaled",
            Compared::Raw => "raw (the column has no scaled value)",
        };
        match (self.current, self.drop) {
            (Some(current), Some(drop)) => {
                let raw = match (self.compared, self.current_raw) {
                    (Compared::Scaled, Some(now)) => {
                        format!("; raw {} → {}", n(self.baseline_raw), n(now))
                    }
                    _ => String::new(),
                };
                format!(
                    "{} / {}: {} {what} {} → {} (worse by {}, tolerance {}{raw})",
                    self.benchmark,
                    self.plugin,
                    self.column,
                    n(self.baseline),
                    n(current),
                    n(drop),
                    n(self.tolerance)
                )
            }
            _ => {
                let was = match self.compared {
                    Compared::Scaled => {
                        format!("scaled {} (raw {})", n(self.baseline), n(self.baseline_raw))
                    }
                    Compared::Raw => n(self.baseline_raw),
                };
                format!(
                    "{} / {}: {} was {was} and has no value now (run failed, missing or column \
                     gone)",
                    self.benchmark, self.plugin, self.column
                )
            }
        }
    }
}

/// The JSON Schema (draft 2020-12) of [`Leaderboard`], pretty-printed with a trailing newline.
pub fn leaderboard_json_schema() -> String {
    let schema = schemars::schema_for!(Leaderboard);
    let mut text = serde_json::to_string_pretty(&schema)
        .expect("a JSON Schema is a JSON value, which always encodes");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::board::{self, LEAK, MAP, controls, entry, harness, score, with_status};
    use std::path::PathBuf;

    fn row<'a>(board: &'a BenchmarkBoard, plugin: &str) -> &'a BoardRow {
        board
            .rows
            .iter()
            .find(|r| r.plugin.id == plugin)
            .unwrap_or_else(|| panic!("no row {plugin}"))
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    fn scratch(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("cpbench-report-lb-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn scales_between_the_worst_and_best_control_in_the_metric_direction() {
        let mut entries = controls("b");
        entries.push(entry(
            "b",
            "m",
            PluginRole::Method,
            vec![score(MAP, 0.35), score(LEAK, 0.55)],
        ));
        entries.push(entry(
            "b",
            "n",
            PluginRole::Method,
            vec![score(MAP, 0.85), score(LEAK, 1.6)],
        ));
        let lb = build_leaderboard(&entries, harness());
        assert_eq!(lb.schema_version, 1);
        let board = &lb.benchmarks[0];
        assert!(board.notes.is_empty(), "{:?}", board.notes);
        let keys: Vec<&str> = board.columns.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(
            keys,
            ["replicate-map/map/copairs-0.5", "batch/batch-leakage/knn-5"]
        );

        let map = &board.columns[0];
        assert!(map.higher_is_better);
        assert_eq!(
            map.worst_control,
            Some(ControlAnchor {
                plugin: "random".into(),
                value: 0.1
            })
        );
        assert_eq!(
            map.best_control,
            Some(ControlAnchor {
                plugin: "positive".into(),
                value: 0.6
            })
        );
        let leak = &board.columns[1];
        assert!(!leak.higher_is_better);
        assert_eq!(
            leak.worst_control,
            Some(ControlAnchor {
                plugin: "random".into(),
                value: 0.9
            })
        );
        assert_eq!(
            leak.best_control,
            Some(ControlAnchor {
                plugin: "positive".into(),
                value: 0.2
            })
        );

        let m = row(board, "m");
        assert_eq!(m.cells[0].raw, Some(0.35));
        assert!(close(m.cells[0].scaled, 0.5), "{:?}", m.cells[0]);
        assert!(close(m.cells[1].scaled, 0.5), "{:?}", m.cells[1]);
        assert!(close(m.mean_scaled, 0.5));
        // Beyond the controls on both sides: kept, not clipped.
        let n = row(board, "n");
        assert!(close(n.cells[0].scaled, 1.5), "{:?}", n.cells[0]);
        assert!(close(n.cells[1].scaled, -1.0), "{:?}", n.cells[1]);
        assert!(close(n.mean_scaled, 0.25));
        assert!(close(row(board, "random").cells[1].scaled, 0.0));
        assert!(close(row(board, "positive").cells[1].scaled, 1.0));
        assert!(close(row(board, "positive").mean_scaled, 1.0));
        // Methods never anchor: m's 0.35 is the scale's midpoint, not its minimum.
        assert_eq!(m.rank, Some(1));
        assert_eq!(n.rank, Some(2));
        assert_eq!(m.wall_s, 1.5);
        assert_eq!(m.result_file.as_deref(), Some("results/b/m.json"));
    }

    #[test]
    fn one_control_or_equal_controls_leave_the_column_unscaled_with_a_note() {
        // Column MAP: only `random` has it. Column LEAK: both controls agree.
        let entries = vec![
            entry(
                "b",
                "random",
                PluginRole::Control,
                vec![score(MAP, 0.1), score(LEAK, 0.5)],
            ),
            entry("b", "shuffled", PluginRole::Control, vec![score(LEAK, 0.5)]),
            entry(
                "b",
                "m",
                PluginRole::Method,
                vec![score(MAP, 0.3), score(LEAK, 0.4)],
            ),
        ];
        let board = &build_leaderboard(&entries, harness()).benchmarks[0];
        assert_eq!(
            board.notes,
            [
                "replicate-map/map/copairs-0.5: not scaled, only one control has a value (random)",
                "batch/batch-leakage/knn-5: not scaled, every control (random, shuffled) scores 0.500",
            ]
        );
        let m = row(board, "m");
        assert_eq!(
            m.cells[0],
            Cell {
                raw: Some(0.3),
                sd: None,
                scaled: None
            }
        );
        assert_eq!(
            m.cells[1],
            Cell {
                raw: Some(0.4),
                sd: None,
                scaled: None
            }
        );
        assert_eq!(m.mean_scaled, None);
        assert_eq!(m.rank, None, "nothing to rank by");
        assert_eq!(
            board.columns[0].worst_control,
            Some(ControlAnchor {
                plugin: "random".into(),
                value: 0.1
            })
        );

        // No control at all.
        let lonely = vec![entry("b", "m", PluginRole::Method, vec![score(MAP, 0.3)])];
        let board = &build_leaderboard(&lonely, harness()).benchmarks[0];
        assert_eq!(
            board.notes,
            ["replicate-map/map/copairs-0.5: not scaled, no control has a value"]
        );
        assert_eq!(board.columns[0].worst_control, None);
        assert_eq!(board.columns[0].best_control, None);

        // A failed control does not anchor either.
        let mut entries = controls("b");
        entries[1] = with_status(entries[1].clone(), Status::Failed, "boom");
        entries.push(entry("b", "m", PluginRole::Method, vec![score(MAP, 0.3)]));
        let board = &build_leaderboard(&entries, harness()).benchmarks[0];
        assert_eq!(
            board.notes[0],
            "replicate-map/map/copairs-0.5: not scaled, only one control has a value (random)"
        );
    }

    #[test]
    fn ranks_methods_and_references_with_ties_and_orders_the_rest() {
        let mut entries = controls("b");
        for (id, role, value) in [
            ("delta", PluginRole::Method, 0.35),   // 0.5
            ("alpha", PluginRole::Method, 0.5),    // 0.8
            ("charlie", PluginRole::Method, 0.35), // 0.5, tie with delta
            ("ref", PluginRole::Reference, 0.2),   // 0.2
            ("example", PluginRole::Example, 0.9), // 1.6, not ranked
        ] {
            entries.push(entry("b", id, role, vec![score(MAP, value)]));
        }
        entries.push(with_status(
            entry("b", "broken", PluginRole::Method, vec![]),
            Status::Failed,
            "worker crashed",
        ));
        entries.push(entry("b", "unscored", PluginRole::Method, vec![]));
        let board = &build_leaderboard(&entries, harness()).benchmarks[0];
        let order: Vec<(&str, Option<u32>)> = board
            .rows
            .iter()
            .map(|r| (r.plugin.id.as_str(), r.rank))
            .collect();
        assert_eq!(
            order,
            [
                ("alpha", Some(1)),
                ("charlie", Some(2)),
                ("delta", Some(2)),
                ("ref", Some(4)),
                ("broken", None),
                ("unscored", None),
                ("positive", None),
                ("random", None),
                ("example", None),
            ]
        );
        assert!(close(row(board, "example").mean_scaled, 1.6));
        assert!(close(row(board, "alpha").mean_scaled, 0.8));
        let empty = Cell {
            raw: None,
            sd: None,
            scaled: None,
        };
        assert_eq!(row(board, "unscored").cells, [empty.clone(), empty]);
    }

    #[test]
    fn failed_and_not_applicable_runs_stay_on_the_board_and_in_markdown() {
        let entries = board::failed_and_not_applicable();
        let lb = build_leaderboard(&entries, harness());
        let board = &lb.benchmarks[0];
        let crash = row(board, "crash");
        assert_eq!(crash.status, Status::Failed);
        assert_eq!(crash.reasons.len(), 2);
        assert_eq!(
            crash.cells[0].raw, None,
            "a failed run's scores are not shown"
        );
        assert_eq!(crash.rank, None);
        let imgs = row(board, "imgs");
        assert_eq!(imgs.status, Status::NotApplicable);
        assert_eq!(
            board.columns.len(),
            2,
            "a failed run's scores make no columns"
        );
    }

    #[test]
    fn detects_contamination_ignoring_case() {
        let entries = board::contaminated();
        let lb = build_leaderboard(&entries, harness());
        let lincs = lb
            .benchmarks
            .iter()
            .find(|b| b.id == "lincs-sq00015054")
            .unwrap();
        assert_eq!(
            row(lincs, "cnn").contaminated,
            ["JUMP-CP", "LINCS-SQ00015054"]
        );
        assert!(row(lincs, "random").contaminated.is_empty());
        let bbbc = lb.benchmarks.iter().find(|b| b.id == "bbbc021").unwrap();
        assert!(row(bbbc, "cnn").contaminated.is_empty());
        let cnn = lb.overall.iter().find(|r| r.plugin.id == "cnn").unwrap();
        assert_eq!(cnn.contaminated_on, ["lincs-sq00015054"]);
        // Shown with its scores, not ranked there, and not counted overall.
        assert!(row(lincs, "cnn").mean_scaled.is_some());
        assert_eq!(row(lincs, "cnn").rank, None);
        assert_eq!(cnn.per_benchmark["lincs-sq00015054"], None);
        assert_eq!((cnn.benchmarks, cnn.mean_scaled, cnn.rank), (0, None, None));
    }

    #[test]
    fn a_contaminated_method_is_shown_but_not_ranked() {
        let mut entries = controls("a");
        entries.push(entry(
            "a",
            "clean",
            PluginRole::Method,
            vec![score(MAP, 0.3)],
        ));
        let mut dirty = entry("a", "dirty", PluginRole::Method, vec![score(MAP, 0.6)]);
        dirty.plugin.training_datasets = vec!["a".into()];
        entries.push(dirty);
        let lb = build_leaderboard(&entries, harness());
        let a = &lb.benchmarks[0];
        assert_eq!(row(a, "dirty").contaminated, ["a"]);
        assert!(row(a, "dirty").mean_scaled.unwrap() > row(a, "clean").mean_scaled.unwrap());
        assert_eq!(
            (row(a, "clean").rank, row(a, "dirty").rank),
            (Some(1), None)
        );
        let overall = |id: &str| lb.overall.iter().find(|r| r.plugin.id == id).unwrap();
        assert_eq!(overall("clean").rank, Some(1));
        assert_eq!(overall("dirty").rank, None);
        assert_eq!(overall("dirty").per_benchmark["a"], None);
    }

    fn split() -> ScoredSplit {
        ScoredSplit {
            column: "Metadata_compound".into(),
            file: None,
            train: vec!["c1".into()],
            test: vec!["c2".into()],
            shared: vec!["DMSO".into()],
            rows: crate::result::SplitRows {
                train: 6,
                test: 6,
                shared: 4,
                none: 0,
            },
        }
    }

    #[test]
    fn a_plugin_trained_on_the_train_split_is_ranked_on_the_test_split() {
        let mut entries = controls("a");
        entries.extend(controls("nosplit"));
        entries.extend(controls("includes-a"));
        for e in entries.iter_mut().filter(|e| e.benchmark.id == "a") {
            e.result.provenance.split = Some(split());
        }
        for bench in ["a", "nosplit", "includes-a"] {
            let mut m = entry(bench, "learned", PluginRole::Method, vec![score(MAP, 0.35)]);
            m.plugin.training_datasets =
                vec!["a:train".into(), "nosplit:train".into(), "other".into()];
            if bench == "a" {
                m.result.provenance.split = Some(split());
            }
            if bench == "includes-a" {
                m.benchmark.datasets = vec!["A".into()];
            }
            entries.push(m);
        }
        let lb = build_leaderboard(&entries, harness());
        let board = |id: &str| lb.benchmarks.iter().find(|b| b.id == id).unwrap();
        // Scored on the test split of the benchmark it names: ranked, and the split is shown.
        let a = row(board("a"), "learned");
        assert!(a.contaminated.is_empty(), "{a:?}");
        assert_eq!(a.trained_on_train_split, ["a:train"]);
        assert_eq!(a.rank, Some(1));
        assert_eq!(board("a").split, Some(split()));
        // A benchmark without a split gives no test rows to score: contaminated.
        let nosplit = row(board("nosplit"), "learned");
        assert_eq!(nosplit.contaminated, ["nosplit:train"]);
        assert!(nosplit.trained_on_train_split.is_empty());
        assert_eq!(
            (nosplit.rank, board("nosplit").split.as_ref()),
            (None, None)
        );
        // Another benchmark built on a's data is not split the same way: contaminated.
        let wider = row(board("includes-a"), "learned");
        assert_eq!(wider.contaminated, ["a:train"]);
        assert_eq!(wider.rank, None);
        let overall = lb
            .overall
            .iter()
            .find(|r| r.plugin.id == "learned")
            .unwrap();
        assert_eq!(overall.contaminated_on, ["includes-a", "nosplit"]);
        assert!(close(overall.per_benchmark["a"], 0.5));
    }

    /// The overall rows as (id, rank, coverage, mean over the common benchmarks).
    fn overall_summary(lb: &Leaderboard) -> Vec<(&str, Option<u32>, u32, Option<f64>)> {
        lb.overall
            .iter()
            .map(|r| {
                (
                    r.plugin.id.as_str(),
                    r.rank,
                    r.benchmarks,
                    r.mean_scaled.map(|m| (m * 1e6).round() / 1e6),
                )
            })
            .collect()
    }

    #[test]
    fn overall_ranks_only_over_the_benchmarks_every_ranked_plugin_ran() {
        let mut entries = controls("a");
        entries.extend(controls("b"));
        entries.extend(controls("s"));
        for (bench, id, value) in [
            ("a", "wide", 0.35),  // 0.5
            ("b", "wide", 0.35),  // 0.5
            ("s", "wide", 0.1),   // 0.0
            ("a", "pair", 0.6),   // 1.0
            ("b", "pair", 0.35),  // 0.5
            ("s", "narrow", 1.1), // 2.0: far better, but on one benchmark only
        ] {
            entries.push(entry(
                bench,
                id,
                PluginRole::Method,
                vec![score(MAP, value)],
            ));
        }
        let lb = build_leaderboard(&entries, harness());
        // {a, b}: two plugins × two benchmarks beat {a, b, s} (one × three) and {s} (two × one).
        assert_eq!(lb.common_benchmarks, ["a", "b"]);
        assert_eq!(
            overall_summary(&lb),
            [
                ("pair", Some(1), 2, Some(0.75)),
                ("wide", Some(2), 3, Some(0.5)),
                ("narrow", None, 1, None),
                ("positive", None, 3, Some(1.0)),
                ("random", None, 3, Some(0.0)),
            ]
        );
        let narrow = lb.overall.iter().find(|r| r.plugin.id == "narrow").unwrap();
        assert!(!narrow.covers_common);
        assert_eq!(narrow.per_benchmark["s"], Some(2.0), "shown, not ranked");
        // Its own board still ranks it.
        let s = lb.benchmarks.iter().find(|b| b.id == "s").unwrap();
        assert_eq!(row(s, "narrow").rank, Some(1));
    }

    #[test]
    fn one_synthetic_benchmark_cannot_beat_three_overall() {
        let mut entries = Vec::new();
        for bench in ["a", "b", "synthetic"] {
            entries.extend(controls(bench));
            entries.push(entry(
                bench,
                "features",
                PluginRole::Reference,
                vec![score(MAP, 0.2)],
            ));
        }
        entries.push(entry(
            "synthetic",
            "set-encoder",
            PluginRole::Method,
            vec![score(MAP, 0.55)],
        ));
        let lb = build_leaderboard(&entries, harness());
        assert_eq!(lb.common_benchmarks, ["a", "b", "synthetic"]);
        let summary = overall_summary(&lb);
        assert_eq!(summary[0], ("features", Some(1), 3, Some(0.2)));
        assert_eq!(summary[1], ("set-encoder", None, 1, None));
    }

    #[test]
    fn common_benchmarks_maximize_like_for_like_comparisons() {
        let sets = |v: &[&[&str]]| -> Vec<Vec<String>> {
            v.iter()
                .map(|s| s.iter().map(|x| x.to_string()).collect())
                .collect()
        };
        assert!(common_benchmarks(&[]).is_empty());
        assert!(common_benchmarks(&sets(&[&[]])).is_empty());
        assert_eq!(common_benchmarks(&sets(&[&["a", "b"]])), ["a", "b"]);
        // Only an intersection of the plugins' sets can win: {b, c} here, 3 × 2.
        assert_eq!(
            common_benchmarks(&sets(&[&["a", "b", "c"], &["b", "c", "d"], &["b", "c"]])),
            ["b", "c"]
        );
        // A tie of 2 × 1 against 1 × 2 goes to more benchmarks; equal sizes to the first ids.
        assert_eq!(common_benchmarks(&sets(&[&["a", "b"], &["b"]])), ["a", "b"]);
        assert_eq!(common_benchmarks(&sets(&[&["a"], &["b"]])), ["a"]);
    }

    #[test]
    fn columns_follow_task_order_and_take_the_first_primary_score() {
        let mut first = entry(
            "b",
            "p1",
            PluginRole::Method,
            vec![
                score(("t1", "map", "x"), 0.1),
                score(("t2", "nmi", "y"), 0.2),
            ],
        );
        let mut secondary = score(("t1", "map", "hidden"), 0.9);
        secondary.primary = false;
        first.result.scores.push(secondary);
        let mut repeated = score(("t1", "map", "x"), 0.7);
        repeated.params.insert("k".into(), serde_json::json!(5));
        let mut with_sd = score(("t1", "map", "z"), 0.3);
        with_sd.sd = Some(0.01);
        let second = entry(
            "b",
            "p2",
            PluginRole::Method,
            vec![
                score(("t1", "map", "x"), 0.4),
                repeated,
                with_sd,
                score(("t2", "nmi", "y"), 0.5),
            ],
        );
        let board = &build_leaderboard(&[first, second], harness()).benchmarks[0];
        let keys: Vec<&str> = board.columns.iter().map(|c| c.key.as_str()).collect();
        assert_eq!(keys, ["t1/map/x", "t1/map/z", "t2/nmi/y"]);
        let p2 = row(board, "p2");
        assert_eq!(p2.cells[0].raw, Some(0.4));
        assert_eq!(
            p2.cells[1],
            Cell {
                raw: Some(0.3),
                sd: Some(0.01),
                scaled: None
            }
        );
        assert_eq!(row(board, "p1").cells[1].raw, None);
    }

    #[test]
    fn older_benchmark_versions_and_duplicate_runs_are_noted() {
        let mut entries = controls("b");
        let mut old = entry("b", "m", PluginRole::Method, vec![score(MAP, 0.1)]);
        old.benchmark.version = 0;
        entries.push(old);
        entries.push(entry("b", "n", PluginRole::Method, vec![score(MAP, 0.2)]));
        let mut again = entry("b", "n", PluginRole::Method, vec![score(MAP, 0.35)]);
        again.result_file = Some("again.json".into());
        entries.push(again);
        let board = &build_leaderboard(&entries, harness()).benchmarks[0];
        assert_eq!(board.version, 1);
        assert_eq!(
            board.notes,
            [
                "runs of older benchmark versions left out: m (v0)",
                "plugin n has several runs; showing the last one given (again.json)",
            ]
        );
        assert_eq!(board.rows.len(), 3);
        assert_eq!(row(board, "n").cells[0].raw, Some(0.35));
    }

    fn regression_fixture(m_map: f64, m_leak: f64, with_n: bool) -> Leaderboard {
        let mut entries = controls("b");
        entries.push(entry(
            "b",
            "m",
            PluginRole::Method,
            vec![score(MAP, m_map), score(LEAK, m_leak)],
        ));
        if with_n {
            entries.push(entry("b", "n", PluginRole::Method, vec![score(MAP, 0.3)]));
        }
        build_leaderboard(&entries, harness())
    }

    fn found(check: &RegressionCheck) -> Vec<(&str, &str, Compared, Option<f64>)> {
        check
            .regressions
            .iter()
            .map(|r| {
                (
                    r.plugin.as_str(),
                    r.column.as_str(),
                    r.compared,
                    r.current.map(|c| (c * 1e9).round() / 1e9),
                )
            })
            .collect()
    }

    #[test]
    fn regressions_compare_control_scaled_values_with_per_metric_tolerances() {
        // Controls: map 0.1 (worst) to 0.6 (best), leakage 0.9 (worst) to 0.2 (best).
        let baseline = regression_fixture(0.5, 0.3, true); // scaled 0.8 and 0.857
        let uniform = |t: f64| Tolerance::uniform(t);
        // Same values: nothing.
        let same = regressions(&baseline, &baseline, &uniform(0.0)).unwrap();
        assert!(same.regressions.is_empty() && same.notes.is_empty());
        assert_eq!(same.baseline_harness, harness());
        // Better on both: never a regression.
        let better = regression_fixture(0.7, 0.1, true);
        assert!(
            regressions(&better, &baseline, &uniform(0.0))
                .unwrap()
                .regressions
                .is_empty()
        );

        // map 0.5 → 0.4 is a raw drop of 0.1 but 0.2 on the scale; leakage 0.3 → 0.5 is 0.286.
        let worse = regression_fixture(0.4, 0.5, true);
        let check = regressions(&worse, &baseline, &uniform(0.25)).unwrap();
        assert_eq!(
            found(&check),
            [(
                "m",
                "batch/batch-leakage/knn-5",
                Compared::Scaled,
                Some(0.571428571)
            )]
        );
        let r = &check.regressions[0];
        assert!((r.drop.unwrap() - 2.0 / 7.0).abs() < 1e-12, "{r:?}");
        assert_eq!(
            (r.baseline_raw, r.current_raw, r.tolerance),
            (0.3, Some(0.5), 0.25)
        );
        assert_eq!(
            r.describe(),
            "b / m: batch/batch-leakage/knn-5 scaled 0.8571 → 0.5714 (worse by 0.2857, \
             tolerance 0.25; raw 0.3 → 0.5)"
        );
        // A tighter tolerance for map alone lists map too; a looser one for leakage drops it.
        let per_metric = Tolerance {
            default: 0.25,
            per_metric: BTreeMap::from([("map".into(), 0.1), ("batch-leakage".into(), 0.3)]),
        };
        let check = regressions(&worse, &baseline, &per_metric).unwrap();
        assert_eq!(
            found(&check),
            [(
                "m",
                "replicate-map/map/copairs-0.5",
                Compared::Scaled,
                Some(0.6)
            )]
        );
        assert_eq!(check.regressions[0].tolerance, 0.1);
        assert_eq!(check.tolerance, per_metric);

        // n vanished; m's run failed: every value of theirs is listed, with no drop.
        let mut entries = controls("b");
        entries.push(with_status(
            entry("b", "m", PluginRole::Method, vec![]),
            Status::Failed,
            "boom",
        ));
        let failing = build_leaderboard(&entries, harness());
        let check = regressions(&failing, &baseline, &uniform(1.0)).unwrap();
        assert_eq!(check.regressions.len(), 3, "{check:?}");
        assert!(
            check
                .regressions
                .iter()
                .all(|r| r.current.is_none() && r.drop.is_none())
        );
        assert_eq!(
            check.regressions[2].describe(),
            "b / n: replicate-map/map/copairs-0.5 was scaled 0.4 (raw 0.3) and has no value now \
             (run failed, missing or column gone)"
        );
        // A whole benchmark gone: two controls and m with two values each, n with one.
        let empty = build_leaderboard(&[], harness());
        assert_eq!(
            regressions(&empty, &baseline, &uniform(1.0))
                .unwrap()
                .regressions
                .len(),
            2 * 2 + 2 + 1
        );
    }

    #[test]
    fn a_column_without_scaled_values_is_compared_raw_and_says_so() {
        // One control only: no column is scaled, raw values are compared in their direction.
        let one_control = |map: f64, leak: f64| {
            build_leaderboard(
                &[
                    entry("b", "random", PluginRole::Control, vec![score(MAP, 0.1)]),
                    entry(
                        "b",
                        "m",
                        PluginRole::Method,
                        vec![score(MAP, map), score(LEAK, leak)],
                    ),
                ],
                harness(),
            )
        };
        let baseline = one_control(0.5, 0.3);
        let check = regressions(
            &one_control(0.45, 0.32),
            &baseline,
            &Tolerance::uniform(0.01),
        )
        .unwrap();
        assert_eq!(
            found(&check),
            [
                ("m", "batch/batch-leakage/knn-5", Compared::Raw, Some(0.32)),
                (
                    "m",
                    "replicate-map/map/copairs-0.5",
                    Compared::Raw,
                    Some(0.45)
                ),
            ]
        );
        assert_eq!(
            check.regressions[1].describe(),
            "b / m: replicate-map/map/copairs-0.5 raw (the column has no scaled value) 0.5 → \
             0.45 (worse by 0.05, tolerance 0.01)"
        );
    }

    #[test]
    fn a_new_benchmark_version_is_not_compared_and_bad_tolerances_are_refused() {
        let baseline = regression_fixture(0.5, 0.3, true);
        let mut entries = controls("b");
        entries.push(entry("b", "m", PluginRole::Method, vec![score(MAP, 0.1)]));
        for e in &mut entries {
            e.benchmark.version = 2;
        }
        let check = regressions(
            &build_leaderboard(&entries, harness()),
            &baseline,
            &Tolerance::uniform(0.0),
        )
        .unwrap();
        assert!(check.regressions.is_empty());
        assert_eq!(
            check.notes,
            [
                "b: not compared, the baseline has v1 and this leaderboard v2 (a new version may \
              score other rows or tasks)"
            ]
        );

        let err = |t: Tolerance| {
            regressions(&baseline, &baseline, &t)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(Tolerance::uniform(-0.1)),
            "--tolerance -0.1: must be finite and ≥ 0"
        );
        let mut nan = Tolerance::uniform(0.1);
        nan.per_metric.insert("map".into(), f64::NAN);
        assert_eq!(err(nan), "--tolerance-for map NaN: must be finite and ≥ 0");
        let mut typo = Tolerance::uniform(0.1);
        typo.per_metric.insert("mAP".into(), 0.01);
        assert_eq!(
            err(typo),
            "--tolerance-for mAP: no headline column has metric `mAP` (metrics: batch-leakage, map)"
        );
    }

    #[test]
    fn regressions_are_written_in_the_json() {
        let baseline = regression_fixture(0.5, 0.3, true);
        let mut lb = regression_fixture(0.4, 0.3, true);
        lb.regression_check = Some(regressions(&lb, &baseline, &Tolerance::uniform(0.02)).unwrap());
        let text = String::from_utf8(lb.to_json_bytes().unwrap()).unwrap();
        assert!(text.contains("\"compared\": \"scaled\""), "{text}");
        assert!(text.contains("\"regression_check\""), "{text}");
        let back: Leaderboard = serde_json::from_str(&text).unwrap();
        assert_eq!(back.regression_check, lb.regression_check);
        // A leaderboard written before these fields existed still reads as a baseline.
        let mut old: serde_json::Value = serde_json::from_str(&text).unwrap();
        let obj = old.as_object_mut().unwrap();
        obj.remove("regression_check");
        obj.remove("common_benchmarks");
        for row in old["overall"].as_array_mut().unwrap() {
            row.as_object_mut().unwrap().remove("covers_common");
        }
        for board in old["benchmarks"].as_array_mut().unwrap() {
            for row in board["rows"].as_array_mut().unwrap() {
                row.as_object_mut()
                    .unwrap()
                    .remove("trained_on_train_split");
            }
        }
        let old: Leaderboard = serde_json::from_value(old).unwrap();
        assert_eq!(old.regression_check, None);
    }

    #[test]
    fn json_round_trips_and_refuses_other_versions_and_non_finite_numbers() {
        let dir = scratch("json");
        let path = dir.join("leaderboard.json");
        let mut entries = controls("b");
        entries.push(entry("b", "m", PluginRole::Method, vec![score(MAP, 0.35)]));
        entries.push(with_status(
            entry("b", "x", PluginRole::Method, vec![]),
            Status::NotApplicable,
            "no images",
        ));
        let lb = build_leaderboard(&entries, harness());
        lb.write_json(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.ends_with("}\n"), "pretty JSON with a trailing newline");
        assert!(text.contains("\"status\": \"not_applicable\""), "{text}");
        assert!(text.contains("\"role\": \"control\""), "{text}");
        assert_eq!(Leaderboard::read_json(&path).unwrap(), lb);

        let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
        json["schema_version"] = serde_json::json!(2);
        json["new_field"] = serde_json::json!(true);
        std::fs::write(&path, json.to_string()).unwrap();
        let err = Leaderboard::read_json(&path).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "{}: schema_version: is 2, but this cpbench reads leaderboard version 1",
                path.display()
            )
        );

        json["schema_version"] = serde_json::json!(1);
        std::fs::write(&path, json.to_string()).unwrap();
        let err = Leaderboard::read_json(&path).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}: not a cpbench leaderboard:", path.display())),
            "{err}"
        );
        assert!(err.contains("unknown field `new_field`"), "{err}");

        let missing = dir.join("nope.json");
        let err = Leaderboard::read_json(&missing).unwrap_err().to_string();
        assert!(err.starts_with(&missing.display().to_string()), "{err}");

        let mut bad = lb.clone();
        bad.benchmarks[0].rows[0].cells[0].scaled = Some(f64::NAN);
        let out = dir.join("bad.json");
        let err = bad.write_json(&out).unwrap_err().to_string();
        assert_eq!(
            err,
            format!(
                "refusing to write {}: benchmarks[0].rows[0].cells[0].scaled: is NaN, which JSON cannot hold",
                out.display()
            )
        );
        assert!(!out.exists());
        let mut bad = lb;
        bad.overall[0]
            .per_benchmark
            .insert("b".into(), Some(f64::INFINITY));
        let err = bad.write_json(&out).unwrap_err().to_string();
        assert!(
            err.ends_with("overall[0].per_benchmark.b: is inf, which JSON cannot hold"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn schema_describes_the_leaderboard() {
        let schema: serde_json::Value = serde_json::from_str(&leaderboard_json_schema()).unwrap();
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["properties"]["schema_version"]["const"], 1);
        let row = &schema["$defs"]["BoardRow"];
        assert_eq!(row["additionalProperties"], false);
        assert!(row["properties"]["cells"].is_object(), "{row}");
        assert!(schema["$defs"]["TaskColumn"]["properties"]["higher_is_better"].is_object());
    }

    #[test]
    fn committed_schema_is_current() {
        let committed = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../ci/schemas")
            .join(LEADERBOARD_SCHEMA_FILE);
        let on_disk = std::fs::read_to_string(&committed)
            .unwrap_or_default()
            .replace("\r\n", "\n");
        assert!(
            on_disk == leaderboard_json_schema(),
            "ci/schemas/leaderboard.schema.json is stale: run `cpbench schemas ci/schemas`"
        );
    }
}
