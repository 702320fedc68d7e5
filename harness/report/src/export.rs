//! The leaderboard's output files, one [`Exporter`] per format (as hyperfine's exporters):
//! a file name and the bytes of that file. The runner writes every exporter's file of
//! [`leaderboard_exporters`] into the output folder; a new format is a new exporter here.

use cpbench_results::Invalid;

use crate::html::{LeaderboardPage, RenderError, render_leaderboard};
use crate::markdown::leaderboard_markdown;

/// Why a format could not be produced.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The page template failed (a template bug: the inputs themselves cannot fail).
    #[error(transparent)]
    Render(#[from] RenderError),
    /// The leaderboard holds a value its schema refuses (e.g. a non-finite number).
    #[error("leaderboard.json: {0}")]
    Invalid(#[from] Invalid),
}

/// One output format of a leaderboard.
pub trait Exporter {
    /// The file this format is written to, inside the output folder.
    fn file_name(&self) -> &'static str;
    /// The file's bytes.
    fn export(&self, page: &LeaderboardPage<'_>) -> Result<Vec<u8>, ExportError>;
}

/// `leaderboard.json`: the board itself (schema `ci/schemas/leaderboard.schema.json`).
#[derive(Debug, Clone, Copy, Default)]
pub struct JsonExporter;

impl Exporter for JsonExporter {
    fn file_name(&self) -> &'static str {
        "leaderboard.json"
    }
    fn export(&self, page: &LeaderboardPage<'_>) -> Result<Vec<u8>, ExportError> {
        Ok(page.board.to_json_bytes()?)
    }
}

/// `leaderboard.md`: tables for CI summaries and pull-request comments.
#[derive(Debug, Clone, Copy, Default)]
pub struct MarkdownExporter;

impl Exporter for MarkdownExporter {
    fn file_name(&self) -> &'static str {
        "leaderboard.md"
    }
    fn export(&self, page: &LeaderboardPage<'_>) -> Result<Vec<u8>, ExportError> {
        Ok(leaderboard_markdown(page.board).into_bytes())
    }
}

/// `index.html`: the self-contained leaderboard page with its plots.
#[derive(Debug, Clone, Copy, Default)]
pub struct HtmlExporter;

impl Exporter for HtmlExporter {
    fn file_name(&self) -> &'static str {
        "index.html"
    }
    fn export(&self, page: &LeaderboardPage<'_>) -> Result<Vec<u8>, ExportError> {
        Ok(render_leaderboard(page)?.into_bytes())
    }
}

/// Every format a leaderboard is written in, in the order they are written (the page that
/// links the others last).
pub fn leaderboard_exporters() -> [&'static dyn Exporter; 3] {
    [&JsonExporter, &MarkdownExporter, &HtmlExporter]
}
