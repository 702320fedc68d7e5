//! Errors of reading, checking and writing results; each names the file it is about.

use std::path::PathBuf;

/// Result with the report error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A rule of the result schema that a value breaks, located by its JSON path.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{at}: {what}")]
pub struct Invalid {
    /// JSON path of the offending value, e.g. `scores[2].value`.
    pub at: String,
    /// What is wrong with it.
    pub what: String,
}

/// What went wrong reading or writing a result file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying IO error.
        source: std::io::Error,
    },
    /// The file could not be written (the core error names the file).
    #[error(transparent)]
    Write(Box<cpbench_core::Error>),
    /// The file is not JSON of the result schema; serde_json's message gives line and column.
    #[error("{}: not a cpbench result: {source}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// The parse error, with line and column.
        source: serde_json::Error,
    },
    /// The file is not JSON of the leaderboard schema; serde_json's message gives line and column.
    #[error("{}: not a cpbench leaderboard: {source}", path.display())]
    ParseLeaderboard {
        /// The file.
        path: PathBuf,
        /// The parse error, with line and column.
        source: serde_json::Error,
    },
    /// The file parsed but breaks a rule of the schema.
    #[error("{}: {source}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// The rule broken and where.
        source: Invalid,
    },
    /// The result could not be encoded as JSON.
    #[error("{}: cannot encode result as JSON: {source}", path.display())]
    Encode {
        /// The file that was not written.
        path: PathBuf,
        /// The encoding error.
        source: serde_json::Error,
    },
    /// A result breaking a rule of the schema was not written.
    #[error("refusing to write {}: {source}", path.display())]
    Refused {
        /// The file that was not written.
        path: PathBuf,
        /// The rule broken and where.
        source: Invalid,
    },
}

// Boxed because core's error carries several strings; keeping `Error` small keeps every
// `Result` in this crate cheap to return.
impl From<cpbench_core::Error> for Error {
    fn from(e: cpbench_core::Error) -> Self {
        Error::Write(Box::new(e))
    }
}
