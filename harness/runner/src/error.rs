//! The runner's error: what went wrong, with the context it happened in (file, task, step).
//!
//! Errors of the crates below keep their own types (rows, columns and keys stay typed) and are
//! wrapped with [`Context`]; messages built here are [`Error::Message`]. [`Error::chain`] prints
//! an error and every cause behind it joined by `": "`, which is how a failed run's reason is
//! recorded and how the binary prints errors.

/// Result with the runner error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong running a metric, a preprocessing step, a benchmark or a leaderboard.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A message built by the runner (bad parameters, missing roles, empty results, ...).
    #[error("{0}")]
    Message(String),
    /// `source`, in the context of `context` (the task, the step, the file).
    #[error("{context}")]
    Context {
        /// Where it happened, e.g. "task `moa-knn` (knn-accuracy)".
        context: String,
        /// What happened there.
        #[source]
        source: Box<Error>,
    },
    /// Reading, parsing or writing tables and manifests.
    #[error(transparent)]
    Core(#[from] cpbench_core::Error),
    /// A manifest that does not parse or check.
    #[error(transparent)]
    Manifest(#[from] cpbench_core::manifest::ManifestError),
    /// A metric refused its input.
    #[error(transparent)]
    Metric(#[from] cpbench_metrics::MetricError),
    /// Average precision refused its input.
    #[error(transparent)]
    Ap(#[from] cpbench_metrics::retrieval::ApError),
    /// A preprocessing operation refused its input.
    #[error(transparent)]
    Prep(#[from] cpbench_prep::PrepError),
    /// A plugin could not be loaded or run.
    #[error(transparent)]
    Host(#[from] cpbench_host::HostError),
    /// A remote data file could not be fetched or verified.
    #[error(transparent)]
    Remote(#[from] cpbench_remote::RemoteError),
    /// A result or leaderboard file could not be read, checked or written.
    #[error(transparent)]
    Results(#[from] cpbench_results::Error),
    /// A leaderboard output format could not be produced.
    #[error(transparent)]
    Export(#[from] cpbench_report::ExportError),
    /// A report page could not be rendered.
    #[error(transparent)]
    Render(#[from] cpbench_report::RenderError),
    /// A table operation of polars failed.
    #[error(transparent)]
    Polars(#[from] polars::error::PolarsError),
    /// A file or process could not be read, written or started.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// JSON could not be encoded or decoded.
    #[error(transparent)]
    Json(#[from] serde_json::Error),
    /// A count does not fit the type a library needs.
    #[error(transparent)]
    Conversion(#[from] std::num::TryFromIntError),
    /// The merge of a sharded run reached a task the parts hold no complete share of (a part
    /// failed where the merge's own run did not): an error of the command, never a result.
    #[error("{0}")]
    PartsIncomplete(String),
}

impl Error {
    /// The error and every cause behind it, joined by `": "` (outermost first).
    pub fn chain(&self) -> String {
        let mut text = self.to_string();
        let mut cause = std::error::Error::source(self);
        while let Some(c) = cause {
            text.push_str(": ");
            text.push_str(&c.to_string());
            cause = c.source();
        }
        text
    }

    /// Whether the error came from outside the computation (a plugin worker stopped by a
    /// timeout, memory running out or a signal): rerunning the same inputs may succeed.
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Host(cpbench_host::HostError::Interrupted { .. }) => true,
            Error::Context { source, .. } => source.is_transient(),
            _ => false,
        }
    }

    /// Whether the error is [`Error::PartsIncomplete`], under any context.
    pub fn is_parts_incomplete(&self) -> bool {
        match self {
            Error::PartsIncomplete(_) => true,
            Error::Context { source, .. } => source.is_parts_incomplete(),
            _ => false,
        }
    }

    /// Wraps the error in `context`.
    pub fn context(self, context: impl std::fmt::Display) -> Error {
        Error::Context {
            context: context.to_string(),
            source: Box::new(self),
        }
    }
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::Message(message)
    }
}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::Message(message.to_string())
    }
}

/// Adds context to a failure, as the message that says where it happened.
pub trait Context<T> {
    /// Wraps the error (or a `None`) in `context`.
    fn context(self, context: impl std::fmt::Display) -> Result<T>;
    /// Wraps the error (or a `None`) in the context `f` builds, only when there is one.
    fn with_context<C: std::fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T>;
}

impl<T, E: Into<Error>> Context<T> for Result<T, E> {
    fn context(self, context: impl std::fmt::Display) -> Result<T> {
        self.map_err(|e| e.into().context(context))
    }
    fn with_context<C: std::fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.map_err(|e| e.into().context(f()))
    }
}

impl<T> Context<T> for Option<T> {
    fn context(self, context: impl std::fmt::Display) -> Result<T> {
        self.ok_or_else(|| Error::Message(context.to_string()))
    }
    fn with_context<C: std::fmt::Display>(self, f: impl FnOnce() -> C) -> Result<T> {
        self.ok_or_else(|| Error::Message(f().to_string()))
    }
}

/// An [`Error::Message`] from a format string.
#[macro_export]
#[doc(hidden)]
macro_rules! err {
    ($($arg:tt)*) => {
        $crate::error::Error::Message(format!($($arg)*))
    };
}

/// Returns early with an [`Error::Message`] from a format string.
#[macro_export]
#[doc(hidden)]
macro_rules! bail {
    ($($arg:tt)*) => {
        return Err($crate::err!($($arg)*))
    };
}

/// Returns early with an [`Error::Message`] unless the condition holds.
#[macro_export]
#[doc(hidden)]
macro_rules! ensure {
    ($cond:expr, $($arg:tt)*) => {
        if !$cond {
            $crate::bail!($($arg)*);
        }
    };
}
