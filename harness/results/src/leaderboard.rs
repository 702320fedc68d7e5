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

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Invalid, Result};
use crate::format::fmt_raw;
use crate::result::{HarnessInfo, PluginKind, PluginRole, RunResult, Score, Status};

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
    /// Mean of the plugin's per-benchmark mean scaled scores, where scored.
    pub mean_scaled: Option<f64>,
    /// How many benchmarks the mean is over.
    pub benchmarks: u32,
    /// Benchmark id → the plugin's mean scaled score there (null where not scored, or where
    /// the plugin is contaminated: those do not count).
    pub per_benchmark: BTreeMap<String, Option<f64>>,
    /// Benchmarks whose data overlap the plugin's training datasets (shown, not counted).
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
    let overall = build_overall(&benchmarks);
    Leaderboard {
        schema_version: LEADERBOARD_SCHEMA_VERSION,
        harness,
        benchmarks,
        overall,
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
            BoardRow {
                plugin: entry.plugin.clone(),
                status: entry.result.status,
                reasons: entry.result.reasons.clone(),
                contaminated: contamination(&entry.plugin, &entry.benchmark),
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

    BenchmarkBoard {
        id: meta.id.clone(),
        version,
        title: meta.title.clone(),
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

/// The plugin's training datasets that are the benchmark or one of its datasets, ignoring case.
fn contamination(plugin: &PluginMeta, benchmark: &BenchmarkMeta) -> Vec<String> {
    let targets: Vec<String> = std::iter::once(&benchmark.id)
        .chain(&benchmark.datasets)
        .map(|s| s.to_lowercase())
        .collect();
    let mut found: Vec<String> = Vec::new();
    for trained in &plugin.training_datasets {
        if targets.contains(&trained.to_lowercase()) && !found.contains(trained) {
            found.push(trained.clone());
        }
    }
    found
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

/// Display order: ranked rows by rank (ties by id), then other methods and references by id,
/// then controls by score descending (unscored last, ties by id), then examples by id.
fn display_order(
    a: (PluginRole, Option<u32>, Option<f64>, &String),
    b: (PluginRole, Option<u32>, Option<f64>, &String),
) -> std::cmp::Ordering {
    let group = |role: PluginRole, rank: Option<u32>| match role {
        PluginRole::Method | PluginRole::Reference if rank.is_some() => 0,
        PluginRole::Method | PluginRole::Reference => 1,
        PluginRole::Control => 2,
        PluginRole::Example => 3,
    };
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

fn build_overall(boards: &[BenchmarkBoard]) -> Vec<OverallRow> {
    let mut by_plugin: BTreeMap<&str, OverallRow> = BTreeMap::new();
    for board in boards {
        for row in &board.rows {
            let overall = by_plugin
                .entry(row.plugin.id.as_str())
                .or_insert_with(|| OverallRow {
                    plugin: row.plugin.clone(),
                    mean_scaled: None,
                    benchmarks: 0,
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
        let scored: Vec<f64> = row.per_benchmark.values().flatten().copied().collect();
        row.benchmarks = u32::try_from(scored.len()).unwrap_or(u32::MAX);
        row.mean_scaled = mean(scored.into_iter());
    }
    let ranks = rank(
        &rows
            .iter()
            .map(|r| (r.plugin.role, true, r.mean_scaled))
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
    rows
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
        Ok(())
    }
}

/// Every raw value of `baseline` that is worse than `tolerance` in `current`, or missing there,
/// sorted by benchmark, plugin and column.
pub fn regressions(
    current: &Leaderboard,
    baseline: &Leaderboard,
    tolerance: f64,
) -> Vec<Regression> {
    let mut found = Vec::new();
    for old_board in &baseline.benchmarks {
        let new_board = current.benchmarks.iter().find(|b| b.id == old_board.id);
        for old_row in &old_board.rows {
            let new_row =
                new_board.and_then(|b| b.rows.iter().find(|r| r.plugin.id == old_row.plugin.id));
            for (column, old_cell) in old_board.columns.iter().zip(&old_row.cells) {
                let Some(old) = old_cell.raw else { continue };
                let now = new_board.zip(new_row).and_then(|(board, row)| {
                    let c = board.columns.iter().position(|k| k.key == column.key)?;
                    row.cells.get(c)?.raw
                });
                let (drop, listed) = match now {
                    None => (old.abs(), true),
                    Some(now) => {
                        let drop = if column.higher_is_better {
                            old - now
                        } else {
                            now - old
                        };
                        (drop, drop > tolerance)
                    }
                };
                if listed {
                    found.push(Regression {
                        plugin: old_row.plugin.id.clone(),
                        benchmark: old_board.id.clone(),
                        column: column.key.clone(),
                        baseline: old,
                        current: now,
                        drop,
                    });
                }
            }
        }
    }
    found.sort_by(|a, b| {
        (&a.benchmark, &a.plugin, &a.column).cmp(&(&b.benchmark, &b.plugin, &b.column))
    });
    found
}

impl Regression {
    /// One line for the CLI, with the values as stored (shortest exact form).
    pub fn describe(&self) -> String {
        match self.current {
            Some(current) => format!(
                "{} / {}: {} went from {} to {} (worse by {})",
                self.benchmark, self.plugin, self.column, self.baseline, current, self.drop
            ),
            None => format!(
                "{} / {}: {} was {} and has no value now (run failed, missing or column gone)",
                self.benchmark, self.plugin, self.column, self.baseline
            ),
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

    #[test]
    fn overall_averages_per_benchmark_means() {
        let mut entries = controls("a");
        entries.extend(controls("b"));
        entries.push(entry("a", "m", PluginRole::Method, vec![score(MAP, 0.35)])); // 0.5
        entries.push(entry("b", "m", PluginRole::Method, vec![score(MAP, 0.6)])); // 1.0
        entries.push(entry(
            "a",
            "r",
            PluginRole::Reference,
            vec![score(MAP, 0.6)],
        )); // 1.0
        entries.push(with_status(
            entry("b", "r", PluginRole::Reference, vec![]),
            Status::Skipped,
            "no GPU",
        ));
        let lb = build_leaderboard(&entries, harness());
        let ids: Vec<&str> = lb.benchmarks.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let order: Vec<(&str, Option<u32>, u32)> = lb
            .overall
            .iter()
            .map(|r| (r.plugin.id.as_str(), r.rank, r.benchmarks))
            .collect();
        assert_eq!(
            order,
            [
                ("r", Some(1), 1),
                ("m", Some(2), 2),
                ("positive", None, 2),
                ("random", None, 2)
            ]
        );
        let r = &lb.overall[0];
        assert!(close(r.mean_scaled, 1.0));
        assert_eq!(
            r.per_benchmark,
            BTreeMap::from([("a".to_string(), Some(1.0)), ("b".to_string(), None)])
        );
        assert!(close(lb.overall[1].mean_scaled, 0.75));
        assert!(close(lb.overall[3].mean_scaled, 0.0));
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

    #[test]
    fn regressions_beyond_tolerance_and_vanished_runs_are_reported() {
        let baseline = regression_fixture(0.5, 0.3, true);
        // Same values: nothing.
        assert!(regressions(&baseline, &baseline, 0.0).is_empty());
        // Worse by 0.005 on map and on leakage (higher): within 0.01.
        let slightly = regression_fixture(0.495, 0.305, true);
        assert!(regressions(&slightly, &baseline, 0.01).is_empty());
        // Better on both: never a regression.
        let better = regression_fixture(0.7, 0.1, true);
        assert!(regressions(&better, &baseline, 0.0).is_empty());

        // Map fell by 0.1, leakage rose by 0.2, and n vanished.
        let worse = regression_fixture(0.4, 0.5, false);
        let found = regressions(&worse, &baseline, 0.01);
        let summary: Vec<(&str, &str, Option<f64>)> = found
            .iter()
            .map(|r| (r.plugin.as_str(), r.column.as_str(), r.current))
            .collect();
        assert_eq!(
            summary,
            [
                ("m", "batch/batch-leakage/knn-5", Some(0.5)),
                ("m", "replicate-map/map/copairs-0.5", Some(0.4)),
                ("n", "replicate-map/map/copairs-0.5", None),
            ]
        );
        assert!((found[0].drop - 0.2).abs() < 1e-12, "{:?}", found[0]);
        assert!((found[1].drop - 0.1).abs() < 1e-12, "{:?}", found[1]);
        assert_eq!(found[2].drop, 0.3, "vanished: the baseline's magnitude");
        assert_eq!(found[2].baseline, 0.3);
        assert_eq!(
            found[1].describe(),
            "b / m: replicate-map/map/copairs-0.5 went from 0.5 to 0.4 (worse by 0.09999999999999998)"
        );
        assert_eq!(
            found[2].describe(),
            "b / n: replicate-map/map/copairs-0.5 was 0.3 and has no value now \
             (run failed, missing or column gone)"
        );

        // A run that now fails loses its values.
        let mut entries = controls("b");
        entries.push(with_status(
            entry("b", "m", PluginRole::Method, vec![]),
            Status::Failed,
            "boom",
        ));
        entries.push(entry("b", "n", PluginRole::Method, vec![score(MAP, 0.3)]));
        let failing = build_leaderboard(&entries, harness());
        let found = regressions(&failing, &baseline, 1.0);
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|r| r.plugin == "m" && r.current.is_none()));

        // A whole benchmark gone.
        let empty = build_leaderboard(&[], harness());
        // Two controls and m with two values each, n with one.
        assert_eq!(regressions(&empty, &baseline, 1.0).len(), 2 * 2 + 2 + 1);
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
