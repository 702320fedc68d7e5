//! Where a parameter came from, and the one place numeric parameters are checked.
//!
//! Every metric and preprocessing step has one parameter type, built either from command-line
//! flags or from a benchmark manifest's task; both go through the checks here, which apply the
//! ranges the metrics define (`cpbench_metrics::params`, also used by the manifest loader), so
//! the same value is refused with the same reason, named as the user wrote it: `--max-iter` on
//! the command line, `max_iter` in a manifest.

use cpbench_metrics::MetricError;

use crate::error::{Error, Result};

/// Where a parameter value was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Origin {
    /// A command-line flag (`--max-iter`).
    #[default]
    Flags,
    /// A key of a benchmark manifest's task or step (`max_iter`).
    Manifest,
}

impl Origin {
    /// The parameter `key` (snake_case) as the user wrote it.
    pub fn key(self, key: &str) -> String {
        match self {
            Origin::Flags => format!("--{}", key.replace('_', "-")),
            Origin::Manifest => key.to_string(),
        }
    }

    /// A metric's parameter check (`cpbench_metrics::params`, where each range is defined)
    /// with the parameter named as the user wrote it.
    pub fn check(self, checked: std::result::Result<(), MetricError>) -> Result<()> {
        checked.map_err(|e| self.metric_error(e))
    }

    /// A metric's error, its parameter (if any) named as the user wrote it.
    pub fn metric_error(self, e: MetricError) -> Error {
        match e {
            MetricError::InvalidParameter {
                name,
                value,
                reason,
            } => Error::Message(format!("{} {value}: {reason}", self.key(name))),
            other => Error::from(other),
        }
    }
}
