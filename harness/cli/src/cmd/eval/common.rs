//! What every `cpbench eval` command shares: the profile-table flags, comma-separated lists,
//! similarity names, and writing outputs atomically.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cpbench_core::io::{NonFinitePolicy, write_bytes_atomic};
use cpbench_metrics::Similarity;
use cpbench_runner::table::TableSpec;

pub use cpbench_runner::table::split_list;

/// The profile table and which of its rows and features to score.
#[derive(clap::Args, Debug)]
pub struct ProfileArgs {
    /// Profile table (.csv, .csv.gz, .tsv, .parquet).
    #[arg(long)]
    pub profiles: PathBuf,
    /// Score only feature columns matching this regex (default: every feature column).
    #[arg(long, value_name = "REGEX")]
    pub features: Option<String>,
    /// Metadata column prefix; repeat for several (default Metadata_).
    #[arg(long = "metadata-prefix", value_name = "PREFIX")]
    pub metadata_prefix: Vec<String>,
    /// Score only rows passing this filter (COL=VALUE, COL!=VALUE, 'COL in [A, B]'); repeatable.
    #[arg(long = "filter", value_name = "EXPR")]
    pub filters: Vec<String>,
    /// NaN, missing or infinite feature values: error, drop-rows (drop every row holding one)
    /// or drop-columns (drop every feature column holding one).
    #[arg(long = "on-nonfinite", default_value = "error", value_name = "POLICY")]
    pub on_nonfinite: NonFinitePolicy,
}

impl ProfileArgs {
    /// The table the flags name.
    pub fn spec(&self) -> TableSpec {
        TableSpec {
            profiles: self.profiles.clone(),
            features: self.features.clone(),
            metadata_prefix: self.metadata_prefix.clone(),
            filters: self.filters.clone(),
            nonfinite: self.on_nonfinite,
        }
    }
}

/// A `--similarity` value.
pub fn similarity(text: &str) -> Result<Similarity> {
    Ok(text.parse::<Similarity>()?)
}

/// Writes a value as pretty JSON, atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_bytes_atomic(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))
}
