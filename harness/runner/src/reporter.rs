//! Where the runner's messages go: passed in by the caller, never global.
//!
//! The binary prints summaries on stdout and notes on stderr; library use and tests pass
//! [`Silent`]; a benchmark run scores its tasks silently and records its own notes in the
//! result. Implementations must be cheap: messages are one line each and rare.

/// Receives the one-line summaries and notes of the runner's functions.
pub trait Reporter: Sync {
    /// A one-line summary of a finished computation (e.g. `cpbench eval`'s headline numbers).
    fn summary(&self, line: &str);
    /// A note about the input that did not stop the work (e.g. rows dropped).
    fn note(&self, line: &str);
    /// One (benchmark, plugin) pair of a leaderboard finished.
    fn pair_done(&self, _line: &str) {}
}

/// Drops every message.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Reporter for Silent {
    fn summary(&self, _line: &str) {}
    fn note(&self, _line: &str) {}
}
