//! Profile tables as the metrics see them: which file and rows to score, metadata columns as
//! label codes and groups, the feature matrix view, and row numbers in messages.

use std::path::{Path, PathBuf};

use cpbench_core::Profiles;
use cpbench_core::filter::apply_filters;
use cpbench_core::io::{Format, NonFinitePolicy, ReadOptions, read_profiles};
use cpbench_core::select::FeatureSelector;
use cpbench_metrics::{GroupKeys, LabelColumn, Matrix, MultiLabelColumn};

use crate::error::{Context, Result};

/// A profile table to score: the file, and which of its rows and features.
#[derive(Debug, Clone, Default)]
pub struct TableSpec {
    /// Profile table (.csv, .csv.gz, .tsv, .parquet).
    pub profiles: PathBuf,
    /// Score only feature columns matching this regex (default: every feature column).
    pub features: Option<String>,
    /// Metadata column prefixes (empty: `Metadata_`).
    pub metadata_prefix: Vec<String>,
    /// Score only rows passing these filters (`COL=VALUE`, `COL!=VALUE`, `COL in [A, B]`).
    pub filters: Vec<String>,
    /// NaN, missing or infinite feature values: an error (default), or drop their rows or
    /// columns before scoring.
    pub nonfinite: NonFinitePolicy,
}

impl TableSpec {
    /// Reads, filters and feature-selects the profiles; NaN or infinite features are an error
    /// unless `nonfinite` drops them.
    pub fn load(&self) -> Result<Profiles> {
        let mut opts = ReadOptions {
            nonfinite: self.nonfinite,
            ..ReadOptions::default()
        };
        if !self.metadata_prefix.is_empty() {
            opts.metadata_prefixes = self.metadata_prefix.clone();
        }
        let (mut profiles, _) = read_profiles(&self.profiles, &opts)?;
        if !self.filters.is_empty() {
            profiles = apply_filters(&profiles, &self.filters)?;
            crate::ensure!(
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

    /// What messages and reports call the table, and the filters its rows passed.
    pub fn source(&self) -> Source {
        Source {
            name: self.profiles.display().to_string(),
            filters: self.filters.clone(),
        }
    }
}

/// What a scored table is called in messages and reports, and the filters its rows passed.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// The file, or what the profiles are (e.g. a plugin's output after preprocessing).
    pub name: String,
    /// The row filters applied before scoring (row numbers in messages count the kept rows).
    pub filters: Vec<String>,
}

impl Source {
    /// A table known by `name` whose rows were not filtered.
    pub fn named(name: impl Into<String>) -> Source {
        Source {
            name: name.into(),
            filters: Vec::new(),
        }
    }

    /// Whether rows were filtered before scoring.
    pub fn filtered(&self) -> bool {
        !self.filters.is_empty()
    }
}

/// How row numbers in messages count.
pub fn row_note(filtered: bool) -> &'static str {
    if filtered {
        " (0-based, counting the rows kept by --filter)"
    } else {
        " (0-based data row)"
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

/// Rows grouped by equality on every one of `columns` (e.g. a replicate definition).
pub fn group_keys(profiles: &Profiles, columns: &[String], file: &str) -> Result<GroupKeys> {
    require_columns(profiles, columns, file)?;
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

/// Fails, naming the file and the columns it has, unless every one of `columns` is metadata.
pub fn require_columns(profiles: &Profiles, columns: &[String], file: &str) -> Result<()> {
    if let Some(c) = columns.iter().find(|c| profiles.meta().column(c).is_err()) {
        return Err(cpbench_core::Error::MissingColumn {
            source_name: file.to_owned(),
            column: c.clone(),
            available: profiles.meta_names(),
        }
        .into());
    }
    Ok(())
}

/// Fails unless `path` names a format the table writer can write.
pub fn check_table_path(path: &Path) -> Result<()> {
    Format::of(path)?;
    Ok(())
}

/// Reads the table at `path` and returns the named columns as text, one `Option` per row (a
/// missing value is `None`); a missing column is an error naming the file and the columns it has.
pub fn text_columns<const N: usize>(
    path: &Path,
    names: [&str; N],
) -> Result<[Vec<Option<String>>; N]> {
    use polars::prelude::DataType;
    let df = cpbench_core::io::read_table(path)?;
    let mut out: [Vec<Option<String>>; N] = std::array::from_fn(|_| Vec::new());
    for (slot, name) in out.iter_mut().zip(names) {
        let col = df
            .column(name)
            .map_err(|_| cpbench_core::Error::MissingColumn {
                source_name: path.display().to_string(),
                column: name.to_owned(),
                available: df
                    .get_column_names()
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            })?;
        let text = col
            .as_materialized_series()
            .cast(&DataType::String)
            .with_context(|| format!("{}: column {name} as text", path.display()))?;
        *slot = text
            .str()
            .with_context(|| format!("{}: column {name} as text", path.display()))?
            .iter()
            .map(|v| v.map(str::to_owned))
            .collect();
    }
    Ok(out)
}
