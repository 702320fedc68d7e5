//! Self-contained HTML pages: one report per run and the leaderboard `index.html`.
//!
//! Pages are rendered with minijinja from the templates in `reports/templates/`, which are
//! compiled into the binary. Autoescape is on for every `.html` template; plots are inline SVG
//! from [`crate::svg`] (no `xmlns`, which HTML5 does not need), CSS sits in a `<style>` tag, and
//! nothing refers to a URL, so a page reads the same offline, without JavaScript. Numbers show
//! three decimals; a missing or non-finite value shows as `—`.

use std::collections::BTreeMap;

use minijinja::value::Serde;
use minijinja::{Environment, Value};
use serde::Serialize;

use crate::svg::{self, ColourMap};
use cpbench_results::figures::{Coverage, KCurves, LambdaSweep, MapGroups, Projection, RunFigures};
use cpbench_results::leaderboard::{
    BenchmarkBoard, BoardRow, Compared, Leaderboard, PluginMeta, Regression, TaskColumn,
};
use cpbench_results::result::{PluginRole, RunResult, Status};

/// Everything a run report shows.
#[derive(Debug, Clone)]
pub struct RunPage<'a> {
    /// The run's result.
    pub result: &'a RunResult,
    /// The run's plot data; sections without data are left out.
    pub figures: &'a RunFigures,
    /// The benchmark's human-readable title.
    pub benchmark_title: &'a str,
    /// A paragraph about the benchmark, from its manifest.
    pub benchmark_description: Option<&'a str>,
    /// The plugin's one-line description, from its manifest.
    pub plugin_description: &'a str,
    /// `(task id, description)` of the benchmark's tasks, in task order.
    pub task_descriptions: Vec<(String, String)>,
    /// Link back to the leaderboard, relative to the report.
    pub index_href: Option<&'a str>,
}

/// The plot data of one benchmark's runs, for the leaderboard's per-benchmark plots.
#[derive(Debug, Clone)]
pub struct BenchmarkRuns<'a> {
    /// The benchmark id (matches a [`BenchmarkBoard::id`]).
    pub benchmark: &'a str,
    /// A paragraph about the benchmark, shown under its heading.
    pub description: Option<&'a str>,
    /// `(plugin id, figures)` of each run that wrote figures, in the order to draw them.
    pub runs: Vec<(&'a str, &'a RunFigures)>,
}

/// Everything the leaderboard page shows.
#[derive(Debug, Clone)]
pub struct LeaderboardPage<'a> {
    /// The leaderboard.
    pub board: &'a Leaderboard,
    /// Plot data per benchmark; benchmarks without an entry get tables only.
    pub runs: Vec<BenchmarkRuns<'a>>,
    /// A line under the title (e.g. when and from which results the page was built).
    pub generated_note: Option<&'a str>,
}

/// Why a page could not be rendered (a template bug: the inputs themselves cannot fail).
#[derive(Debug, thiserror::Error)]
#[error("cannot render {template}: {source:#}")]
pub struct RenderError {
    /// The template that failed.
    pub template: &'static str,
    /// What minijinja said.
    #[source]
    pub source: minijinja::Error,
}

const BASE_CSS: &str = include_str!("../../../reports/templates/base.css");
const MACROS: &str = include_str!("../../../reports/templates/_macros.html");
const RUN: &str = include_str!("../../../reports/templates/run.html");
const LEADERBOARD: &str = include_str!("../../../reports/templates/leaderboard.html");

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    // Default autoescape: HTML for `.html` names, none for `base.css` (included inside <style>).
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .build()
            .expect("default delimiters are valid"),
    );
    // Escape `& < > " '` only: minijinja's HTML escape also writes `/` as `&#x2f;`, which is
    // valid but makes every link and path in the page source unreadable.
    env.set_formatter(|out, state, value| {
        if matches!(state.auto_escape(), minijinja::AutoEscape::Html)
            && !value.is_safe()
            && let Some(text) = value.as_str()
        {
            out.write_str(&svg::escape(text)).map_err(|e| {
                minijinja::Error::new(minijinja::ErrorKind::WriteFailure, e.to_string())
            })
        } else {
            minijinja::escape_formatter(out, state, value)
        }
    });
    for (name, text) in [
        ("base.css", BASE_CSS),
        ("_macros.html", MACROS),
        ("run.html", RUN),
        ("leaderboard.html", LEADERBOARD),
    ] {
        env.add_template(name, text)
            .unwrap_or_else(|e| panic!("built-in template {name} does not parse: {e:#}"));
    }
    env
}

fn render(template: &'static str, ctx: Value) -> Result<String, RenderError> {
    let env = environment();
    let tmpl = env
        .get_template(template)
        .map_err(|source| RenderError { template, source })?;
    tmpl.render(ctx)
        .map_err(|source| RenderError { template, source })
}

/// A template value from anything serializable (values inside, like safe SVG strings, stay).
fn ser<T: Serialize>(value: T) -> Value {
    Value::from(Serde(value))
}

/// A number with three decimals, or `—` when missing or not finite.
pub fn fmt_num(v: Option<f64>) -> String {
    v.map_or_else(|| "—".into(), svg::fmt3)
}

fn fmt_seconds(s: f64) -> String {
    if !s.is_finite() {
        "—".into()
    } else if s < 60.0 {
        format!("{s:.1} s")
    } else if s < 3600.0 {
        format!("{:.0} min {:.0} s", (s / 60.0).floor(), s % 60.0)
    } else {
        format!(
            "{:.0} h {:.0} min",
            (s / 3600.0).floor(),
            (s % 3600.0) / 60.0
        )
    }
}

/// Compact `k=v` list of score parameters.
fn params_text(params: &BTreeMap<String, serde_json::Value>) -> String {
    if params.is_empty() {
        return "—".into();
    }
    params
        .iter()
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            serde_json::Value::Number(n) => match n.as_f64() {
                Some(f) if n.is_f64() => format!("{k}={}", trim_float(f)),
                _ => format!("{k}={n}"),
            },
            other => format!("{k}={other}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn trim_float(f: f64) -> String {
    if !f.is_finite() {
        return "—".into();
    }
    let s = format!("{f:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_string()
}

/// One plot section: heading, how to read it, and its SVGs.
#[derive(Debug, Serialize)]
struct Section {
    id: String,
    heading: String,
    caption: String,
    figures: Vec<Value>,
    grid: bool,
}

impl Section {
    fn new(id: impl Into<String>, heading: impl Into<String>, caption: &str) -> Section {
        Section {
            id: id.into(),
            heading: heading.into(),
            caption: caption.into(),
            figures: Vec::new(),
            grid: false,
        }
    }

    fn push(&mut self, svg: String) {
        self.figures.push(Value::from_safe_string(svg));
    }
}

const MAP_CAPTION: &str = "each point is a group (e.g. a compound); right means its replicates (or matches) retrieve each other better (higher mAP), up means that is less likely by chance; blue points lie below the dashed corrected-p threshold and count as retrieved.";
const K_CAPTION: &str = "clustering agreement with the labels as the number of k-means clusters k grows; the line is the mean over restarts and the band ± one sd; the dashed line marks the k of the headline score (the number of labels).";
const LEAKAGE_CAPTION: &str = "how well a classifier predicts the batch (or plate) from the profiles, as balanced accuracy; shorter bars are better, and the dashed line is chance, the level a profile free of batch information reaches.";
const LAMBDA_CAPTION: &str = "the score as a function of the sphering regularization λ (log scale); the dashed line marks the λ the benchmark's pipeline uses.";
const PROJECTION_CAPTION: &str = "the evaluated profiles projected to two dimensions; points of one colour clustering together by label is good, by batch is bad (a batch effect). Only the ten most frequent categories get a colour; the rest are grey.";
const SIMILARITY_CAPTION: &str = "cosine similarity between group-mean profiles, rows and columns in hierarchical-clustering order; red is similar, blue anti-similar; the colour strips show each group's annotation, so blocks of one strip colour along the diagonal mean the representation groups like with like.";
const COVERAGE_CAPTION: &str = "how many profiles each condition has in each batch; white cells with a red dot are combinations with no profiles, which limit what can be compared across batches.";
const SCORES_CAPTION: &str = "the raw headline score of each plugin that produced one (± sd where the metric has one); the dashed lines are the worst and best control, which the scaled scores map to 0 and 1.";

fn map_section<'a>(
    groups: impl Iterator<Item = (Option<&'a str>, &'a MapGroups)>,
    id: &str,
    small: bool,
) -> Option<Section> {
    let all: Vec<(Option<&str>, &MapGroups)> =
        groups.filter(|(_, g)| !g.groups.is_empty()).collect();
    if all.is_empty() {
        return None;
    }
    let mut section = Section::new(id, "mAP vs significance", MAP_CAPTION);
    section.grid = small;
    // One y range for all small multiples, so they compare at a glance.
    let y_max = all
        .iter()
        .flat_map(|(_, g)| {
            g.groups
                .iter()
                .map(|p| svg::neg_log10(p.q_value))
                .chain([svg::neg_log10(g.threshold)])
        })
        .fold(0.0, f64::max);
    for (plugin, g) in &all {
        let title = match plugin {
            Some(p) => format!("{p} · {}", g.task),
            None => format!("{} · {} groups", g.task, g.groups.len()),
        };
        section.push(svg::map_scatter(&svg::MapScatter {
            title,
            points: g
                .groups
                .iter()
                .map(|p| svg::MapPoint {
                    label: p.label.clone(),
                    map: p.map,
                    q: p.q_value,
                })
                .collect(),
            threshold: g.threshold,
            y_max: small.then_some(y_max),
            small,
        }));
    }
    Some(section)
}

fn k_reference(k: &KCurves) -> Option<svg::Reference> {
    k.k_reference.map(|k| svg::Reference {
        value: f64::from(k),
        label: format!("k = {k} (labels)"),
    })
}

fn k_points(curve: &cpbench_results::figures::KCurve) -> Vec<svg::LinePoint> {
    curve
        .points
        .iter()
        .map(|p| svg::LinePoint {
            x: f64::from(p.k),
            y: p.mean,
            sd: Some(p.sd),
        })
        .collect()
}

fn leakage_chart(
    title: String,
    groups: Vec<svg::BarGroup>,
    series: Vec<(String, String)>,
) -> String {
    svg::bar_chart(&svg::BarChart {
        title,
        value_label: "balanced accuracy of predicting the batch (lower is better)".into(),
        series,
        groups,
        references: Vec::new(),
        marker_label: Some("chance".into()),
    })
}

fn lambda_series(name: &str, colour: &str, sweep: &LambdaSweep) -> svg::LineSeries {
    svg::LineSeries {
        name: name.into(),
        colour: colour.into(),
        points: sweep
            .points
            .iter()
            .map(|p| svg::LinePoint {
                x: p.lambda,
                y: p.value,
                sd: None,
            })
            .collect(),
    }
}

fn lambda_chart(sweep: &LambdaSweep, series: Vec<svg::LineSeries>) -> String {
    svg::line_chart(&svg::LineChart {
        title: format!("{} · {} vs λ", sweep.task, sweep.metric),
        x_label: "λ (sphering regularization)".into(),
        y_label: sweep.metric.clone(),
        series,
        x_marker: sweep.lambda_used.map(|l| svg::Reference {
            value: l,
            label: format!("λ used = {}", trim_float(l)),
        }),
        log_x: true,
        integer_x: false,
        y_range: None,
    })
}

fn projection_section(p: &Projection) -> Option<Section> {
    if p.x.is_empty() || p.x.len() != p.y.len() {
        return None;
    }
    let caption = match p.sampled_from {
        Some(all) => format!(
            "{PROJECTION_CAPTION} The points are an evenly spaced sample of {} of the {all} \
             profiles, and the components were computed on that sample.",
            p.x.len()
        ),
        None => PROJECTION_CAPTION.to_string(),
    };
    let mut section = Section::new("projection", "2-D projection", &caption);
    let colourings: Vec<_> = [&p.label, &p.batch].into_iter().flatten().collect();
    let base = |title: String, categories| svg::CategoryScatter {
        title,
        x_label: p.axes[0].clone(),
        y_label: p.axes[1].clone(),
        x: p.x.clone(),
        y: p.y.clone(),
        categories,
    };
    if colourings.is_empty() {
        section.push(svg::category_scatter(&base(
            format!("{} of {} profiles", p.method, p.x.len()),
            None,
        )));
    }
    for c in colourings {
        section.push(svg::category_scatter(&base(
            format!("{} coloured by {}", p.method, c.column),
            Some((c.column.clone(), c.values.clone())),
        )));
    }
    Some(section)
}

fn coverage_section(c: &Coverage) -> Option<Section> {
    if c.conditions.is_empty() || c.batches.is_empty() {
        return None;
    }
    let mut section = Section::new("coverage", "Coverage: condition × batch", COVERAGE_CAPTION);
    section.push(svg::count_heatmap(&svg::CountHeatmap {
        title: format!("profiles per {} and {}", c.condition_column, c.batch_column),
        row_label: c.condition_column.clone(),
        col_label: c.batch_column.clone(),
        rows: c.conditions.clone(),
        cols: c.batches.clone(),
        counts: c.counts.clone(),
    }));
    Some(section)
}

/// The plot sections of one run, each present only when its data is.
fn run_sections(f: &RunFigures) -> Vec<Section> {
    let mut sections = Vec::new();
    sections.extend(map_section(
        f.map_groups.iter().map(|g| (None, g)),
        "map",
        false,
    ));
    let k: Vec<&KCurves> = f
        .k_curves
        .iter()
        .filter(|k| k.curves.iter().any(|c| !c.points.is_empty()))
        .collect();
    if !k.is_empty() {
        let mut section = Section::new("k-curves", "Clustering vs k", K_CAPTION);
        for kc in k {
            let series = kc
                .curves
                .iter()
                .enumerate()
                .filter(|(_, c)| !c.points.is_empty())
                .map(|(i, c)| svg::LineSeries {
                    name: c.metric.clone(),
                    colour: svg::categorical(i).into(),
                    points: k_points(c),
                })
                .collect();
            section.push(svg::line_chart(&svg::LineChart {
                title: format!("{} · k-means", kc.task),
                x_label: "k".into(),
                y_label: "score".into(),
                series,
                x_marker: k_reference(kc),
                log_x: false,
                integer_x: true,
                y_range: None,
            }));
        }
        sections.push(section);
    }
    if !f.leakage.is_empty() {
        let mut section = Section::new("leakage", "Batch leakage", LEAKAGE_CAPTION);
        let groups = f
            .leakage
            .iter()
            .map(|l| svg::BarGroup {
                label: format!("{} ({})", l.task, l.target),
                values: vec![Some(svg::BarValue {
                    value: l.balanced_accuracy,
                    err: Some(l.sd),
                })],
                marker: Some(l.chance),
                colour: None,
            })
            .collect();
        section.push(leakage_chart(
            "batch leakage".into(),
            groups,
            vec![("balanced accuracy".into(), svg::categorical(0).into())],
        ));
        sections.push(section);
    }
    if let Some(sweep) = f.lambda_sweep.as_ref().filter(|s| !s.points.is_empty()) {
        let mut section = Section::new("lambda", "Sphering λ sweep", LAMBDA_CAPTION);
        section.push(lambda_chart(
            sweep,
            vec![lambda_series(&sweep.metric, svg::categorical(0), sweep)],
        ));
        sections.push(section);
    }
    if let Some(p) = &f.projection {
        sections.extend(projection_section(p));
    }
    if let Some(s) = f.similarity.as_ref().filter(|s| !s.labels.is_empty()) {
        let mut section = Section::new("similarity", "Similarity of groups", SIMILARITY_CAPTION);
        section.push(svg::heatmap(&svg::Heatmap {
            title: format!("cosine similarity of {} means", s.column),
            labels: s.labels.clone(),
            values: s.values.clone(),
            annotation: s
                .annotation
                .as_ref()
                .map(|a| (a.column.clone(), a.values.clone())),
        }));
        sections.push(section);
    }
    if let Some(c) = &f.coverage {
        sections.extend(coverage_section(c));
    }
    sections
}

#[derive(Serialize)]
struct ScoreRow {
    task: String,
    metric: String,
    variant: String,
    value: String,
    spread: String,
    n: String,
    params: String,
    primary: bool,
}

/// Renders the report of one run.
pub fn render_run_report(page: &RunPage) -> Result<String, RenderError> {
    let r = page.result;
    let scores: Vec<ScoreRow> = r
        .scores
        .iter()
        .map(|s| ScoreRow {
            task: s.task.clone(),
            metric: s.metric.clone(),
            variant: s.variant.clone(),
            value: svg::fmt3(s.value),
            spread: match (s.sd, s.ci) {
                (Some(sd), _) => format!("± {}", svg::fmt3(sd)),
                (None, Some([lo, hi])) => format!("[{}, {}]", svg::fmt3(lo), svg::fmt3(hi)),
                (None, None) => "—".into(),
            },
            n: s.n.map_or_else(|| "—".into(), |n| n.to_string()),
            params: params_text(&s.params),
            primary: s.primary,
        })
        .collect();
    let ctx = minijinja::context! {
        result => ser(r),
        benchmark_title => page.benchmark_title,
        benchmark_description => page.benchmark_description,
        plugin_description => page.plugin_description,
        task_descriptions => ser(&page.task_descriptions),
        index_href => page.index_href,
        scores => ser(scores),
        sections => ser(run_sections(page.figures)),
        wall => fmt_seconds(r.timing.wall_s),
        memory => r.timing.peak_rss_mib.filter(|m| m.is_finite()).map_or_else(|| "—".into(), |m| format!("{m:.0} MiB")),
    };
    render("run.html", ctx)
}

#[derive(Serialize)]
struct CellView {
    raw: String,
    sd: Option<String>,
    scaled: String,
    bar: Option<f64>,
    bar_class: &'static str,
}

#[derive(Serialize)]
struct RowView<'a> {
    plugin: &'a PluginMeta,
    status: &'static str,
    reasons: &'a [String],
    contaminated: &'a [String],
    trained_on_train_split: &'a [String],
    cells: Vec<CellView>,
    mean_scaled: String,
    rank: String,
    execution_provider: Option<&'a str>,
    wall: String,
    report_file: Option<&'a str>,
    result_file: Option<&'a str>,
}

fn row_view(row: &BoardRow) -> RowView<'_> {
    let cells = row
        .cells
        .iter()
        .map(|c| {
            let scaled = c.scaled.filter(|v| v.is_finite());
            CellView {
                raw: fmt_num(c.raw),
                sd: c.sd.filter(|v| v.is_finite()).map(svg::fmt3),
                scaled: fmt_num(scaled),
                // Below the worst control: a short orange stub, so the cell does not look empty.
                bar: scaled.map(|v| {
                    if v < 0.0 {
                        8.0
                    } else {
                        (v.min(1.0) * 1000.0).round() / 10.0
                    }
                }),
                bar_class: match scaled {
                    Some(v) if v > 1.0 => "over",
                    Some(v) if v < 0.0 => "under",
                    _ => "",
                },
            }
        })
        .collect();
    RowView {
        plugin: &row.plugin,
        status: row.status.as_str(),
        reasons: &row.reasons,
        contaminated: &row.contaminated,
        trained_on_train_split: &row.trained_on_train_split,
        cells,
        mean_scaled: fmt_num(row.mean_scaled),
        rank: row.rank.map_or_else(|| "—".into(), |r| r.to_string()),
        execution_provider: row.execution_provider.as_deref(),
        wall: fmt_seconds(row.wall_s),
        report_file: row.report_file.as_deref(),
        result_file: row.result_file.as_deref(),
    }
}

#[derive(Serialize)]
struct ColumnView<'a> {
    task: &'a str,
    metric: &'a str,
    variant: &'a str,
    arrow: &'static str,
    worst: String,
    best: String,
}

fn anchor_text(a: Option<&cpbench_results::leaderboard::ControlAnchor>) -> String {
    a.map_or_else(
        || "no control".into(),
        |a| format!("{} ({})", a.plugin, svg::fmt3(a.value)),
    )
}

fn column_view(c: &TaskColumn) -> ColumnView<'_> {
    ColumnView {
        task: &c.task,
        metric: &c.metric,
        variant: &c.variant,
        arrow: if c.higher_is_better { "↑" } else { "↓" },
        worst: anchor_text(c.worst_control.as_ref()),
        best: anchor_text(c.best_control.as_ref()),
    }
}

/// A fragment identifier made of `[a-z0-9-]` only.
fn anchor_id(prefix: &str, id: &str) -> String {
    let slug: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    format!("{prefix}{slug}")
}

/// The plots of one benchmark on the leaderboard, across its plugins.
fn benchmark_sections(
    board: &BenchmarkBoard,
    runs: Option<&BenchmarkRuns>,
    colours: &ColourMap,
) -> Vec<Section> {
    let prefix = anchor_id("", &board.id);
    let mut sections = Vec::new();
    // Per-task raw scores across plugins, from the board itself.
    let mut scores = Section::new(
        format!("{prefix}-scores"),
        "Headline scores per plugin",
        SCORES_CAPTION,
    );
    for (ci, column) in board.columns.iter().enumerate() {
        let groups: Vec<svg::BarGroup> = board
            .rows
            .iter()
            .filter(|r| r.status == Status::Succeeded && r.plugin.role != PluginRole::Example)
            .filter_map(|r| {
                let cell = r.cells.get(ci)?;
                let raw = cell.raw.filter(|v| v.is_finite())?;
                Some(svg::BarGroup {
                    label: r.plugin.id.clone(),
                    values: vec![Some(svg::BarValue {
                        value: raw,
                        err: cell.sd,
                    })],
                    marker: None,
                    colour: Some(colours.colour(&r.plugin.id).into()),
                })
            })
            .collect();
        if groups.is_empty() {
            continue;
        }
        let references = [
            column.worst_control.as_ref().map(|a| ("worst control", a)),
            column.best_control.as_ref().map(|a| ("best control", a)),
        ]
        .into_iter()
        .flatten()
        .map(|(what, a)| svg::Reference {
            value: a.value,
            label: format!("{what}: {}", a.plugin),
        })
        .collect();
        let variant = if column.variant.is_empty() {
            String::new()
        } else {
            format!(" ({})", column.variant)
        };
        scores.push(svg::bar_chart(&svg::BarChart {
            title: format!("{} · {}{variant}", column.task, column.metric),
            value_label: format!(
                "{} ({} is better)",
                column.metric,
                if column.higher_is_better {
                    "higher"
                } else {
                    "lower"
                }
            ),
            series: vec![(column.metric.clone(), svg::categorical(0).into())],
            groups,
            references,
            marker_label: None,
        }));
    }
    if !scores.figures.is_empty() {
        sections.push(scores);
    }
    let Some(runs) = runs else {
        return sections;
    };
    let runs = &runs.runs;

    // mAP small multiples, per task.
    let mut map_tasks: Vec<&str> = Vec::new();
    for (_, f) in runs {
        for g in &f.map_groups {
            if !map_tasks.contains(&g.task.as_str()) {
                map_tasks.push(&g.task);
            }
        }
    }
    for task in &map_tasks {
        let groups = runs.iter().flat_map(|(plugin, f)| {
            f.map_groups
                .iter()
                .filter(move |g| g.task == *task)
                .map(move |g| (Some(*plugin), g))
        });
        if let Some(mut s) = map_section(
            groups,
            &format!("{prefix}-map-{}", anchor_id("", task)),
            true,
        ) {
            if map_tasks.len() > 1 {
                s.heading = format!("mAP vs significance · {task}");
            }
            sections.push(s);
        }
    }

    // k curves: one chart per (task, metric), plugins overlaid.
    let mut k_section = Section::new(format!("{prefix}-k"), "Clustering vs k", K_CAPTION);
    let mut k_keys: Vec<(String, String)> = Vec::new();
    for (_, f) in runs {
        for kc in &f.k_curves {
            for c in &kc.curves {
                let key = (kc.task.clone(), c.metric.clone());
                if !k_keys.contains(&key) {
                    k_keys.push(key);
                }
            }
        }
    }
    for (task, metric) in &k_keys {
        let mut marker = None;
        let series: Vec<svg::LineSeries> = runs
            .iter()
            .filter_map(|(plugin, f)| {
                let kc = f.k_curves.iter().find(|k| &k.task == task)?;
                let c = kc.curves.iter().find(|c| &c.metric == metric)?;
                if c.points.is_empty() {
                    return None;
                }
                marker = marker.take().or_else(|| k_reference(kc));
                Some(svg::LineSeries {
                    name: (*plugin).into(),
                    colour: colours.colour(plugin).into(),
                    points: k_points(c),
                })
            })
            .collect();
        if series.is_empty() {
            continue;
        }
        k_section.push(svg::line_chart(&svg::LineChart {
            title: format!("{task} · {metric} vs k"),
            x_label: "k".into(),
            y_label: metric.clone(),
            series,
            x_marker: marker,
            log_x: false,
            integer_x: true,
            y_range: None,
        }));
    }
    if !k_section.figures.is_empty() {
        sections.push(k_section);
    }

    // Batch leakage: tasks down the side, one bar per plugin, chance per task.
    let leak_plugins: Vec<&str> = runs
        .iter()
        .filter(|(_, f)| !f.leakage.is_empty())
        .map(|(p, _)| *p)
        .collect();
    if !leak_plugins.is_empty() {
        let mut tasks: Vec<(String, String, f64)> = Vec::new();
        for (_, f) in runs {
            for l in &f.leakage {
                if !tasks
                    .iter()
                    .any(|(t, target, _)| t == &l.task && target == &l.target)
                {
                    tasks.push((l.task.clone(), l.target.clone(), l.chance));
                }
            }
        }
        let groups = tasks
            .iter()
            .map(|(task, target, chance)| svg::BarGroup {
                label: format!("{task} ({target})"),
                values: runs
                    .iter()
                    .filter(|(p, _)| leak_plugins.contains(p))
                    .map(|(_, f)| {
                        f.leakage
                            .iter()
                            .find(|l| &l.task == task && &l.target == target)
                            .map(|l| svg::BarValue {
                                value: l.balanced_accuracy,
                                err: Some(l.sd),
                            })
                    })
                    .collect(),
                marker: Some(*chance),
                colour: None,
            })
            .collect();
        let series = leak_plugins
            .iter()
            .map(|p| (p.to_string(), colours.colour(p).to_string()))
            .collect();
        let mut s = Section::new(
            format!("{prefix}-leakage"),
            "Batch leakage",
            LEAKAGE_CAPTION,
        );
        s.push(leakage_chart(
            "batch leakage per plugin".into(),
            groups,
            series,
        ));
        sections.push(s);
    }

    // λ sweep: plugins overlaid.
    let sweeps: Vec<(&str, &LambdaSweep)> = runs
        .iter()
        .filter_map(|(p, f)| {
            f.lambda_sweep
                .as_ref()
                .filter(|s| !s.points.is_empty())
                .map(|s| (*p, s))
        })
        .collect();
    if let Some((_, first)) = sweeps.first() {
        let series = sweeps
            .iter()
            .map(|(p, s)| lambda_series(p, colours.colour(p), s))
            .collect();
        let mut s = Section::new(
            format!("{prefix}-lambda"),
            "Sphering λ sweep",
            LAMBDA_CAPTION,
        );
        s.push(lambda_chart(first, series));
        sections.push(s);
    }

    // Coverage is a property of the data, the same for every run: draw it once.
    if let Some(c) = runs.iter().find_map(|(_, f)| f.coverage.as_ref())
        && let Some(mut s) = coverage_section(c)
    {
        s.id = format!("{prefix}-coverage");
        sections.push(s);
    }
    sections
}

/// A benchmark id cut into pieces after each `-`, for a column heading that may wrap there.
fn id_pieces(id: &str) -> Vec<String> {
    let mut pieces: Vec<String> = id.split_inclusive('-').map(str::to_string).collect();
    if pieces.is_empty() {
        pieces.push(String::new());
    }
    pieces
}

/// What the page says about the runs of a benchmark that declares a split.
fn split_view(split: &cpbench_results::ScoredSplit) -> Value {
    let r = &split.rows;
    minijinja::context! {
        column => split.column.as_str(),
        file => split.file.as_deref(),
        test => r.test,
        shared => r.shared,
        train => r.train,
        total => r.train + r.test + r.shared + r.none,
    }
}

/// The regression box: tolerances, each regression in its own words, notes.
fn regression_view(board: &Leaderboard) -> Option<Value> {
    let check = board.regression_check.as_ref()?;
    let per_metric: Vec<String> = check
        .tolerance
        .per_metric
        .iter()
        .map(|(m, v)| format!("{m}: {v}"))
        .collect();
    Some(minijinja::context! {
        baseline => check.baseline_harness.version.as_str(),
        baseline_commit => check.baseline_harness.git_commit.as_deref(),
        tolerance => check.tolerance.default.to_string(),
        per_metric => ser(per_metric),
        items => ser(check.regressions.iter().map(Regression::describe).collect::<Vec<_>>()),
        raw => check.regressions.iter().any(|r| r.compared == Compared::Raw),
        notes => ser(&check.notes),
    })
}

/// Renders the leaderboard page (`index.html`).
pub fn render_leaderboard(page: &LeaderboardPage) -> Result<String, RenderError> {
    let board = page.board;
    // One colour per plugin across every chart of the page, in overall then board order.
    let colours = ColourMap::new(
        board.overall.iter().map(|r| r.plugin.id.as_str()).chain(
            board
                .benchmarks
                .iter()
                .flat_map(|b| b.rows.iter().map(|r| r.plugin.id.as_str())),
        ),
    );
    let overall_columns: Vec<&str> = board.benchmarks.iter().map(|b| b.id.as_str()).collect();
    let overall_heads: Vec<Value> = overall_columns
        .iter()
        .map(|id| {
            minijinja::context! {
                id => *id,
                anchor => anchor_id("b-", id),
                pieces => ser(id_pieces(id)),
                common => board.common_benchmarks.iter().any(|c| c == id),
            }
        })
        .collect();
    let overall: Vec<Value> = board
        .overall
        .iter()
        .map(|r| {
            let per_benchmark: Vec<String> = overall_columns
                .iter()
                .map(|id| fmt_num(r.per_benchmark.get(*id).copied().flatten()))
                .collect();
            minijinja::context! {
                plugin => ser(&r.plugin),
                mean_scaled => fmt_num(r.mean_scaled),
                benchmarks => r.benchmarks,
                covers_common => r.covers_common,
                per_benchmark => ser(per_benchmark),
                contaminated_on => ser(&r.contaminated_on),
                rank => r.rank.map_or_else(|| "—".to_string(), |r| r.to_string()),
            }
        })
        .collect();
    let benchmarks: Vec<Value> = board
        .benchmarks
        .iter()
        .map(|b| {
            let runs = page.runs.iter().find(|r| r.benchmark == b.id);
            let (examples, rows): (Vec<&BoardRow>, Vec<&BoardRow>) = b
                .rows
                .iter()
                .partition(|r| r.plugin.role == PluginRole::Example);
            minijinja::context! {
                id => b.id.as_str(),
                anchor => anchor_id("b-", &b.id),
                version => b.version,
                title => b.title.as_str(),
                split => b.split.as_ref().map(split_view),
                description => runs.and_then(|r| r.description),
                notes => ser(&b.notes),
                columns => ser(b.columns.iter().map(column_view).collect::<Vec<_>>()),
                rows => ser(rows.into_iter().map(row_view).collect::<Vec<_>>()),
                examples => ser(examples.into_iter().map(row_view).collect::<Vec<_>>()),
                sections => ser(benchmark_sections(b, runs, &colours)),
            }
        })
        .collect();
    let ctx = minijinja::context! {
        board => ser(board),
        generated_note => page.generated_note,
        regressions => regression_view(board),
        overall => ser(overall),
        overall_heads => ser(overall_heads),
        n_benchmarks => overall_columns.len(),
        common => ser(&board.common_benchmarks),
        benchmarks => ser(benchmarks),
    };
    render("leaderboard.html", ctx)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpbench_results::fixtures;

    fn run_page<'a>(result: &'a RunResult, figures: &'a RunFigures) -> RunPage<'a> {
        RunPage {
            result,
            figures,
            benchmark_title: "Demo compound screen",
            benchmark_description: Some("A small simulated screen."),
            plugin_description: "CNN features",
            task_descriptions: vec![("replicate-map".into(), "mAP of replicates".into())],
            index_href: Some("../../index.html"),
        }
    }

    fn leaderboard_html() -> String {
        let board = fixtures::leaderboard();
        let figures: Vec<(&str, RunFigures)> = fixtures::LEADERBOARD_RUNS
            .iter()
            .map(|(p, q, s)| (*p, fixtures::run_figures_with(*q, *s)))
            .collect();
        render_leaderboard(&LeaderboardPage {
            board: &board,
            runs: vec![BenchmarkRuns {
                benchmark: "demo-screen",
                description: Some("A small simulated screen."),
                runs: figures.iter().map(|(p, f)| (*p, f)).collect(),
            }],
            generated_note: Some("fixture"),
        })
        .unwrap()
    }

    /// The page with the CSS and the inside of every SVG left out: its structure and text.
    fn outline(html: &str) -> String {
        let mut out = String::new();
        let mut rest = html;
        while let Some(start) = rest.find("<svg") {
            out.push_str(&rest[..start]);
            let end = rest[start..].find("</svg>").unwrap() + start + "</svg>".len();
            let svg = &rest[start..end];
            let label = svg
                .split("aria-label=\"")
                .nth(1)
                .and_then(|s| s.split('"').next())
                .unwrap_or("");
            out.push_str(&format!("<svg aria-label=\"{label}\">…</svg>"));
            rest = &rest[end..];
        }
        out.push_str(rest);
        let a = out.find("<style>").unwrap() + "<style>".len();
        let b = out.find("</style>").unwrap();
        out.replace_range(a..b, "…");
        out
    }

    fn section<'h>(html: &'h str, id: &str) -> Option<&'h str> {
        let start = html.find(&format!("<section id=\"{id}\">"))?;
        let end = html[start..].find("</section>")? + start;
        Some(&html[start..end])
    }

    #[test]
    fn run_report_structure() {
        let (result, figures) = (fixtures::run_result(), fixtures::run_figures());
        let html = render_run_report(&run_page(&result, &figures)).unwrap();
        insta::assert_snapshot!("run_report_outline", outline(&html));
    }

    #[test]
    fn leaderboard_structure() {
        insta::assert_snapshot!("leaderboard_outline", outline(&leaderboard_html()));
    }

    #[test]
    fn every_figure_section_has_a_plot() {
        let (result, figures) = (fixtures::run_result(), fixtures::run_figures());
        let html = render_run_report(&run_page(&result, &figures)).unwrap();
        for id in [
            "map",
            "k-curves",
            "leakage",
            "lambda",
            "projection",
            "similarity",
            "coverage",
        ] {
            let s = section(&html, id).unwrap_or_else(|| panic!("no section {id}"));
            assert!(s.contains("<svg"), "section {id} has no plot");
            assert!(
                s.contains("How to read this:"),
                "section {id} has no caption"
            );
        }
        // Label and batch colourings each get a scatter.
        assert_eq!(
            section(&html, "projection")
                .unwrap()
                .matches("<svg")
                .count(),
            2
        );

        let html = leaderboard_html();
        for id in [
            "demo-screen-scores",
            "demo-screen-map-replicate-map",
            "demo-screen-k",
            "demo-screen-leakage",
            "demo-screen-lambda",
            "demo-screen-coverage",
        ] {
            let s = section(&html, id).unwrap_or_else(|| panic!("no section {id}"));
            assert!(s.contains("<svg"), "section {id} has no plot");
        }
        // One small multiple per plugin with figures, one k chart per metric, coverage once.
        let map = section(&html, "demo-screen-map-replicate-map").unwrap();
        assert_eq!(
            map.matches("<svg").count(),
            fixtures::LEADERBOARD_RUNS.len()
        );
        assert_eq!(
            section(&html, "demo-screen-k")
                .unwrap()
                .matches("<svg")
                .count(),
            3
        );
        assert_eq!(html.matches("profiles per Metadata_compound").count(), 2);
    }

    #[test]
    fn missing_sections_leave_no_empty_headings() {
        let result = fixtures::run_result();
        let figures = RunFigures::default();
        let html = render_run_report(&run_page(&result, &figures)).unwrap();
        assert!(!html.contains("<svg"));
        for id in [
            "map",
            "k-curves",
            "leakage",
            "lambda",
            "projection",
            "similarity",
            "coverage",
        ] {
            assert!(section(&html, id).is_none(), "empty section {id}");
        }
        // Only the scores table explains itself; no heading is followed directly by another.
        assert_eq!(html.matches("How to read this:").count(), 1);
        assert!(!html.contains("<h2></h2>") && !html.contains("<h3></h3>"));

        // Present but empty data counts as missing too.
        let mut figures = fixtures::run_figures();
        figures.map_groups[0].groups.clear();
        figures.k_curves[0]
            .curves
            .iter_mut()
            .for_each(|c| c.points.clear());
        figures.similarity.as_mut().unwrap().labels.clear();
        let html = render_run_report(&run_page(&result, &figures)).unwrap();
        for id in ["map", "k-curves", "similarity"] {
            assert!(section(&html, id).is_none(), "empty section {id}");
        }
        assert!(section(&html, "coverage").is_some());
    }

    #[test]
    fn text_is_escaped() {
        let mut result = fixtures::run_result();
        result.plugin.id = "<script>alert(1)</script>".into();
        result.status = Status::Failed;
        result.reasons = vec!["broke on <img src=x onerror=alert(2)>".into()];
        let mut figures = fixtures::run_figures();
        figures.map_groups[0].groups[0].label = "<script>alert(3)</script>".into();
        let html = render_run_report(&run_page(&result, &figures)).unwrap();
        assert!(!html.contains("<script"), "unescaped script");
        assert!(!html.contains("<img"), "unescaped reason");
        assert!(
            html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
                || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;")
        );
        // The fixture leaderboard has a plugin description with a script tag.
        let html = leaderboard_html();
        assert!(
            !html.contains("<script"),
            "unescaped script on the leaderboard"
        );
    }

    #[test]
    fn pages_name_no_url_and_no_nan() {
        let (result, mut figures) = (fixtures::run_result(), fixtures::run_figures());
        figures.map_groups[0].groups[0].q_value = f64::NAN;
        figures.map_groups[0].groups[1].map = f64::NAN;
        figures.k_curves[0].curves[0].points[0].sd = f64::NAN;
        figures.projection.as_mut().unwrap().x[0] = f64::NAN;
        figures.similarity.as_mut().unwrap().values[1] = f64::NAN;
        let pages = [
            render_run_report(&run_page(&result, &figures)).unwrap(),
            leaderboard_html(),
        ];
        for html in &pages {
            assert!(!html.contains("http"), "a URL (or xmlns) in the page");
            assert!(
                !html.contains("NaN") && !html.contains("inf<"),
                "NaN in the page"
            );
            assert!(!html.contains("<script"), "the pages need no JavaScript");
            assert!(html.starts_with("<!DOCTYPE html>"));
        }
        // Missing cells read as a dash on the leaderboard.
        assert!(pages[1].contains("<td class=\"num\">—</td>"));
    }

    #[test]
    fn failed_and_not_applicable_runs_show_their_reasons() {
        let html = leaderboard_html();
        assert!(html.contains(r#"<span class="badge failed">failed</span>"#));
        assert!(html.contains(r#"<span class="badge not_applicable">not applicable</span>"#));
        assert!(html.contains("plugin worker crashed: signal 11 (SIGSEGV)"));
        assert!(html.contains("benchmark has compound wells"));
        assert!(html.contains("⚠ trained on cpg0004"));
        assert!(html.contains("‡ trained on the train split only"));
        assert!(html.contains("Scored on the test split (<code>Metadata_compound</code>"));
        assert!(html.contains("Examples for plugin authors (unranked)"));
        assert!(html.contains(r#"href="runs/demo-screen/cnn-demo.html""#));
        assert!(
            html.contains("0 = random (0.210)") && html.contains("1 = positive-control (0.930)")
        );
        assert!(
            html.contains(r#"id="regressions""#)
                && html.contains(
                    "scaled 0.4333 → 0.3611 (worse by 0.07222, tolerance 0.02; raw 0.522 → 0.47)"
                )
        );

        let mut result = fixtures::run_result();
        result.status = Status::Skipped;
        result.reasons = vec!["no CUDA device".into()];
        result.scores.clear();
        let figures = RunFigures::default();
        let html = render_run_report(&run_page(&result, &figures)).unwrap();
        assert!(html.contains(r#"<span class="badge skipped">skipped</span>"#));
        assert!(html.contains("<li>no CUDA device</li>"));
        assert!(html.contains("This run produced no scores."));
    }

    #[test]
    fn numbers_show_three_decimals_or_a_dash() {
        assert_eq!(fmt_num(Some(0.5)), "0.500");
        assert_eq!(fmt_num(Some(-0.0004)), "0.000");
        assert_eq!(fmt_num(Some(f64::NAN)), "—");
        assert_eq!(fmt_num(None), "—");
        assert_eq!(fmt_seconds(83.4), "1 min 23 s");
        assert_eq!(fmt_seconds(5.25), "5.2 s");
        let params = BTreeMap::from([
            ("k".to_string(), serde_json::json!(5)),
            ("threshold".to_string(), serde_json::json!(0.05)),
            ("similarity".to_string(), serde_json::json!("cosine")),
        ]);
        assert_eq!(
            params_text(&params),
            "k=5, similarity=cosine, threshold=0.05"
        );
    }
}
