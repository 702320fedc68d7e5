//! cpbench-report: how results are shown. The data model lives in cpbench-results.
//!
//! - [`html`] and [`svg`]: self-contained pages (inline CSS and SVG, no JavaScript) rendered with
//!   minijinja templates compiled in from `reports/templates/`; one SVG module per plot kind.
//! - [`markdown`]: the leaderboard as Markdown.
//! - [`export`]: the leaderboard's output files behind one [`Exporter`] trait (JSON, Markdown,
//!   HTML).

pub mod export;
pub mod html;
pub mod markdown;
pub mod svg;

pub use export::{
    ExportError, Exporter, HtmlExporter, JsonExporter, MarkdownExporter, leaderboard_exporters,
};
pub use html::{
    BenchmarkRuns, LeaderboardPage, RenderError, RunPage, render_leaderboard, render_run_report,
};
pub use markdown::leaderboard_markdown;
