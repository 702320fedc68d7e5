//! How to read a profile table ([`ReadOptions`]: metadata prefixes, the [`NonFinitePolicy`],
//! the level) and what reading changed or guessed ([`ReadReport`]). Plain data: the policy
//! itself is applied by the readers in `read`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::profiles::Level;

/// The metadata column prefix of the Cell Painting ecosystem (pycytominer, copairs).
pub const DEFAULT_METADATA_PREFIX: &str = "Metadata_";

/// What to do with NaN, missing or infinite feature values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NonFinitePolicy {
    /// Fail, naming the first offending row and column.
    #[default]
    Error,
    /// Drop every row that holds one.
    DropRows,
    /// Drop every feature column that holds one.
    DropColumns,
    /// Keep them (for steps such as feature selection that handle NaN themselves).
    Keep,
}

impl std::str::FromStr for NonFinitePolicy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "error" => Ok(Self::Error),
            "drop-rows" => Ok(Self::DropRows),
            "drop-columns" => Ok(Self::DropColumns),
            "keep" => Ok(Self::Keep),
            _ => Err(format!(
                "unknown policy '{s}' (expected error, drop-rows, drop-columns or keep)"
            )),
        }
    }
}

/// How to read a profile table.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// A column is metadata iff its name starts with one of these.
    pub metadata_prefixes: Vec<String>,
    /// Policy for NaN, missing and infinite feature values.
    pub nonfinite: NonFinitePolicy,
    /// The level rows describe; guessed from the metadata columns when `None`.
    pub level: Option<Level>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            metadata_prefixes: vec![DEFAULT_METADATA_PREFIX.to_string()],
            nonfinite: NonFinitePolicy::Error,
            level: None,
        }
    }
}

/// What reading changed or guessed, for the user to see.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadReport {
    /// 1-based data rows dropped for non-finite values.
    pub dropped_rows: Vec<usize>,
    /// Feature columns dropped for non-finite values.
    pub dropped_columns: Vec<String>,
    /// Whether the level was guessed rather than given.
    pub level_guessed: bool,
}
