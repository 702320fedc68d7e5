//! cpbench-results: what a run leaves behind, as data, apart from how it is shown (as
//! nextest keeps `nextest-metadata` apart from its reporter).
//!
//! - [`result`]: the versioned result of one (benchmark@version, plugin@version+hash) run —
//!   status, provenance, timing, long-form scores — written atomically and published as a JSON
//!   Schema (`ci/schemas/result.schema.json`); [`figures`]: the plot data written beside it.
//! - [`leaderboard`]: each headline score scaled between the worst and best `role = "control"`
//!   plugin (never between methods), raw and scaled side by side, failed and not-applicable runs
//!   kept, contamination flagged (a plugin trained on a benchmark's train split is ranked on its
//!   test split), the overall ranking over the benchmarks every ranked plugin ran, and the
//!   regression check of control-scaled scores against a previous `leaderboard.json`.
//! - [`shard`]: one part of a sharded computation and the checks `cpbench merge` makes.
//! - [`format`]: how numbers are written wherever people read them (notes, Markdown, HTML).
//!
//! Depends on serde, schemars and cpbench-core only; HTML, Markdown and SVG live in
//! cpbench-report.

pub mod error;
pub mod figures;
#[cfg(any(test, feature = "fixtures"))]
pub mod fixtures;
pub mod format;
pub mod leaderboard;
pub mod result;
pub mod shard;

pub use error::{Error, Invalid, Result};
pub use figures::RunFigures;
pub use leaderboard::{
    BenchmarkBoard, BenchmarkMeta, BoardRow, Cell, Compared, ControlAnchor,
    LEADERBOARD_SCHEMA_FILE, LEADERBOARD_SCHEMA_VERSION, LOWER_IS_BETTER, Leaderboard, OverallRow,
    PluginMeta, Regression, RegressionCheck, RunEntry, TaskColumn, Tolerance, ToleranceError,
    build_leaderboard, common_benchmarks, higher_is_better, leaderboard_json_schema, regressions,
};
pub use result::{
    BenchmarkRef, DatasetFile, HarnessInfo, PluginKind, PluginRef, PluginRole, Provenance,
    RESULT_SCHEMA_FILE, RunResult, SCHEMA_VERSION, Score, ScoredSplit, SplitRows, Status, Timing,
    result_json_schema, write_schemas,
};
