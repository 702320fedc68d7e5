//! Where a parameter came from, and the one place numeric parameters are checked.
//!
//! Every metric and preprocessing step has one parameter type, built either from command-line
//! flags or from a benchmark manifest's task; both go through the checks here, so the same
//! value is refused with the same reason, named as the user wrote it: `--max-iter` on the
//! command line, `max_iter` in a manifest.

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

    /// An error about parameter `key` with `value`: "`--key value`: reason" style.
    pub fn invalid(self, key: &str, value: impl std::fmt::Display, reason: &str) -> Error {
        Error::Message(format!("{} {value} {reason}", self.key(key)))
    }

    /// Refuses `value` below 1.
    pub fn at_least_one(self, key: &str, value: usize) -> Result<()> {
        if value == 0 {
            return Err(Error::Message(format!(
                "{} must be at least 1",
                self.key(key)
            )));
        }
        Ok(())
    }

    /// Refuses a NaN, infinite or negative `value`.
    pub fn finite_non_negative(self, key: &str, value: f64) -> Result<()> {
        if !(value.is_finite() && value >= 0.0) {
            return Err(self.invalid(key, value, "must be finite and ≥ 0"));
        }
        Ok(())
    }

    /// Refuses `value` outside `[lo, hi]`.
    pub fn within(self, key: &str, value: f64, lo: f64, hi: f64) -> Result<()> {
        if !(lo..=hi).contains(&value) {
            return Err(self.invalid(key, value, &format!("must be within [{lo}, {hi}]")));
        }
        Ok(())
    }
}
