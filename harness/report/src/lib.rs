//! cpbench-report: what a run leaves behind and how it is shown.
//!
//! Today this crate holds the versioned result schema ([`result`]): one JSON file per
//! (benchmark@version, plugin@version+hash) with status, provenance, timing and long-form
//! scores, written atomically, read back with errors that name the file, and published as a
//! JSON Schema in `ci/schemas/result.schema.json`.
//!
//! Later modules build on those files:
//!
//! - *leaderboard*: for each (benchmark, task) score, scaling between the worst and best
//!   `role = "control"` plugin (never between methods), with raw and scaled values side by
//!   side, failed runs visible, and a regression check against a previous `leaderboard.json`;
//! - *html*: self-contained reports (inline CSS and SVG, no JavaScript needed) rendered with
//!   minijinja templates, with the per-task plots of the design document.

pub mod error;
pub mod figures;
#[doc(hidden)]
pub mod fixtures;
pub mod html;
pub mod leaderboard;
pub mod result;
pub mod svg;

pub use error::{Error, Invalid, Result};
pub use figures::RunFigures;
pub use html::{
    BenchmarkRuns, LeaderboardPage, RenderError, RunPage, render_leaderboard, render_run_report,
};
pub use leaderboard::{
    BenchmarkBoard, BenchmarkMeta, BoardRow, Cell, ControlAnchor, LEADERBOARD_SCHEMA_FILE,
    LEADERBOARD_SCHEMA_VERSION, LOWER_IS_BETTER, Leaderboard, OverallRow, PluginMeta, Regression,
    RunEntry, TaskColumn, build_leaderboard, higher_is_better, leaderboard_json_schema,
    regressions,
};
pub use result::{
    BenchmarkRef, DatasetFile, HarnessInfo, PluginKind, PluginRef, PluginRole, Provenance,
    RESULT_SCHEMA_FILE, RunResult, SCHEMA_VERSION, Score, Status, Timing, result_json_schema,
    write_schemas,
};
