//! What every `cpbench eval` command shares: reading the profiles, turning metadata columns into
//! label codes, writing outputs atomically.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use cpbench_core::Profiles;
use cpbench_core::filter::apply_filters;
use cpbench_core::io::{NonFinitePolicy, ReadOptions, read_profiles, write_bytes_atomic};
use cpbench_core::select::FeatureSelector;
use cpbench_metrics::replicating::GroupKeys;
use cpbench_metrics::{LabelColumn, Matrix, MultiLabelColumn};

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
}

impl ProfileArgs {
    /// Reads, filters and feature-selects the profiles; NaN or infinite features are an error.
    pub fn load(&self) -> Result<Profiles> {
        let mut opts = ReadOptions {
            nonfinite: NonFinitePolicy::Error,
            ..ReadOptions::default()
        };
        if !self.metadata_prefix.is_empty() {
            opts.metadata_prefixes = self.metadata_prefix.clone();
        }
        let (mut profiles, _) = read_profiles(&self.profiles, &opts)?;
        if !self.filters.is_empty() {
            profiles = apply_filters(&profiles, &self.filters)?;
            anyhow::ensure!(
                profiles.n_rows() > 0,
                "{}: no row passes the filters {:?}",
                self.profiles.display(),
                self.filters
            );
        }
        if let Some(re) = &self.features {
            profiles = FeatureSelector::all().include(&[re])?.apply(&profiles)?;
        }
        Ok(profiles)
    }
}

/// Splits a comma-separated column list (`A,B`), dropping empty pieces.
pub fn split_list(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A metadata column as label codes; an error naming the column when it is absent.
pub fn label_column(profiles: &Profiles, column: &str) -> Result<LabelColumn> {
    let values = profiles.meta_strings(column)?;
    Ok(LabelColumn::encode(column, &values))
}

/// A metadata column split on `sep` into label sets; an error naming the column when absent.
pub fn multilabel_column(profiles: &Profiles, column: &str, sep: &str) -> Result<MultiLabelColumn> {
    let values = profiles.meta_strings(column)?;
    Ok(MultiLabelColumn::encode(column, &values, sep))
}

/// Writes a value as pretty JSON, atomically.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<()> {
    let mut text = serde_json::to_string_pretty(value)?;
    text.push('\n');
    write_bytes_atomic(path, text.as_bytes()).with_context(|| format!("writing {}", path.display()))
}

/// Rows grouped by equality on every one of `columns` (e.g. a replicate definition).
pub fn group_keys(profiles: &Profiles, columns: &[String], file: &str) -> Result<GroupKeys> {
    super::enrichment::require_columns(profiles, columns, file)?;
    let encoded = columns
        .iter()
        .map(|c| label_column(profiles, c))
        .collect::<Result<Vec<_>>>()?;
    Ok(GroupKeys::new(&encoded.iter().collect::<Vec<_>>())?)
}

/// The profiles' feature matrix as the metrics crate's view.
pub fn matrix(profiles: &Profiles) -> Result<Matrix<'_>> {
    Ok(Matrix::new(
        profiles.features(),
        profiles.n_rows(),
        profiles.n_features(),
    )?)
}
