//! What every preprocessing operation shares: the precision features are kept in
//! ([`Precision`]), reading a table with NaN kept (the steps handle it), choosing the fit rows
//! (`fit_on`), coding groups (`by`), and messages naming the group.
//!
//! Every op is generic over the feature type `T` (`f32` or `f64`): `cpbench prep` reads, computes
//! and writes at the precision `--precision` resolves to, while a benchmark run's preprocessing
//! is the same code at `f32`, the precision plugins and metrics read.

use std::path::Path;
use std::str::FromStr;

use cpbench_core::Profiles;
use cpbench_core::filter::RowFilter;
use cpbench_core::io::{
    FeatureFloat, NonFinitePolicy, ReadOptions, read_profiles_as, stored_feature_types,
    write_profiles,
};
use cpbench_prep::{Float, PrepError};
use polars::prelude::DataType;

use crate::bail;
use crate::err;
use crate::error::{Context, Error, Result};

/// The precision `cpbench prep` keeps features in (`--precision`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Precision {
    /// `f64` when the input stores every feature column as `Float64` (a Parquet table), else
    /// `f32`. CSV and TSV store no type and are `f32`, so that a table cpbench wrote as `f32`
    /// text is not widened by the next command.
    #[default]
    Auto,
    /// Read, compute and write `f32`: what the benchmark path uses; `Float32` output.
    F32,
    /// Read, compute and write `f64` (pycytominer's `float64`): `Float64` output, and text with
    /// each value's shortest round-trip `f64` digits.
    F64,
}

/// A resolved [`Precision`]: the feature type the work is done in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Width {
    /// `Profiles<f32>`.
    F32,
    /// `Profiles<f64>`.
    F64,
}

impl FromStr for Precision {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "auto" => Ok(Precision::Auto),
            "f32" => Ok(Precision::F32),
            "f64" => Ok(Precision::F64),
            _ => Err(format!("`{s}`: expected auto, f32 or f64")),
        }
    }
}

impl Precision {
    /// The width for the input at `path` (metadata by `prefixes`, as [`read_input`] reads it):
    /// `auto` reads only the Parquet footer, and leaves a file it cannot open to the reader.
    pub fn resolve(self, path: &Path, prefixes: &[String]) -> Width {
        match self {
            Precision::F32 => Width::F32,
            Precision::F64 => Width::F64,
            Precision::Auto => match stored_feature_types(path, &read_options(prefixes)) {
                Some(types)
                    if !types.is_empty() && types.iter().all(|t| *t == DataType::Float64) =>
                {
                    Width::F64
                }
                _ => Width::F32,
            },
        }
    }
}

/// How `cpbench prep` reads its input: NaN kept, metadata by `prefixes` (default `Metadata_`).
fn read_options(prefixes: &[String]) -> ReadOptions {
    let mut opts = ReadOptions {
        nonfinite: NonFinitePolicy::Keep,
        ..ReadOptions::default()
    };
    if !prefixes.is_empty() {
        opts.metadata_prefixes = prefixes.to_vec();
    }
    opts
}

/// Reads a profile table as `T` keeping missing values as NaN, which the steps skip when
/// fitting and keep when applying. An infinite value is read as NaN too: it is no more a
/// measurement than a missing one, and kept as it is it would turn every mean and deviation of
/// its feature into inf or NaN.
pub fn read_input<T: FeatureFloat>(path: &Path, prefixes: &[String]) -> Result<Profiles<T>> {
    let (mut profiles, _) = read_profiles_as::<T>(path, &read_options(prefixes))?;
    for v in profiles.features_mut() {
        if v.to_f64().is_infinite() {
            *v = T::NAN;
        }
    }
    Ok(profiles)
}

/// Writes profiles (metadata columns first, as read) atomically, features as `Float32` or
/// `Float64` after `T`.
pub fn write_output<T: FeatureFloat>(profiles: &Profiles<T>, path: &Path) -> Result<()> {
    write_profiles(profiles, path).with_context(|| format!("writing {}", path.display()))
}

/// Which rows a step is fitted on: `all`, `controls`, or a row filter.
#[derive(Debug, Clone, Default)]
pub struct FitRows {
    /// `all`, `controls`, or a filter (`COL=VALUE`, `COL!=VALUE`, `COL in [A, B]`).
    pub fit_on: String,
    /// The filter `controls` stands for on the command line (`--controls`).
    pub controls: Option<String>,
    /// What `controls` means in a benchmark: its `[columns] control` (column, values).
    pub control_spec: Option<(String, Vec<String>)>,
}

impl FitRows {
    /// Fit rows `fit_on`, with `controls` resolved by a benchmark's `[columns] control`.
    pub fn from_step(fit_on: &str, control_spec: Option<(String, Vec<String>)>) -> FitRows {
        FitRows {
            fit_on: fit_on.to_owned(),
            controls: None,
            control_spec,
        }
    }

    /// The fit-row mask over `profiles`; an error when no row is selected.
    pub fn mask<T: Float>(&self, profiles: &Profiles<T>, file: &str) -> Result<Vec<bool>> {
        match (&self.control_spec, self.fit_on.trim()) {
            (Some((column, values)), "controls") => control_mask(profiles, column, values, file),
            _ => fit_mask(profiles, &self.fit_on, self.controls.as_deref(), file),
        }
    }
}

/// Resolves a fit-row specification (`all`, `controls`, or a row filter) to a mask.
pub fn fit_mask<T: Float>(
    profiles: &Profiles<T>,
    fit_on: &str,
    controls: Option<&str>,
    file: &str,
) -> Result<Vec<bool>> {
    let expr = match fit_on.trim() {
        "all" => return Ok(vec![true; profiles.n_rows()]),
        "controls" => match controls {
            Some(c) => c,
            None => bail!("--fit-on controls needs --controls 'COL=VALUE' naming the control rows"),
        },
        other => other,
    };
    let filter = RowFilter::parse(expr)?;
    let mask = filter
        .mask_frame(profiles.meta())
        .with_context(|| format!("{file}: fit rows `{expr}`"))?;
    if !mask.iter().any(|&m| m) {
        bail!("{file}: no row matches the fit rows `{expr}`");
    }
    Ok(mask)
}

/// Rows coded by their values on the `by` columns: dense codes in order of first appearance.
#[derive(Debug, Clone)]
pub struct Groups {
    /// The grouping columns.
    pub columns: Vec<String>,
    /// Group code per row.
    pub codes: Vec<u32>,
    /// Per code, its values on `columns` (`None` for missing).
    pub keys: Vec<Vec<Option<String>>>,
}

impl Groups {
    /// One group holding every row.
    pub fn single(n: usize) -> Groups {
        Groups {
            columns: Vec::new(),
            codes: vec![0; n],
            keys: vec![Vec::new()],
        }
    }

    /// Codes the rows of `profiles` by `columns`; an error naming a missing column.
    pub fn of<T: Float>(profiles: &Profiles<T>, columns: &[String], file: &str) -> Result<Groups> {
        if columns.is_empty() {
            return Ok(Groups::single(profiles.n_rows()));
        }
        let values = columns
            .iter()
            .map(|c| {
                if profiles.meta().column(c).is_err() {
                    return Err(cpbench_core::Error::MissingColumn {
                        source_name: file.to_owned(),
                        column: c.clone(),
                        available: profiles.meta_names(),
                    }
                    .into());
                }
                profiles.meta_strings(c).map_err(Error::from)
            })
            .collect::<Result<Vec<_>>>()?;
        let mut index = std::collections::HashMap::new();
        let mut keys = Vec::new();
        let codes = (0..profiles.n_rows())
            .map(|i| {
                let key: Vec<Option<String>> = values.iter().map(|v| v[i].clone()).collect();
                *index.entry(key.clone()).or_insert_with(|| {
                    keys.push(key);
                    (keys.len() - 1) as u32
                })
            })
            .collect();
        Ok(Groups {
            columns: columns.to_vec(),
            codes,
            keys,
        })
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there is no group (only for a table without rows).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// A group rendered for messages, e.g. `Metadata_Plate=P1`.
    pub fn describe(&self, code: u32) -> String {
        if self.columns.is_empty() {
            return "all rows".to_owned();
        }
        self.columns
            .iter()
            .zip(&self.keys[code as usize])
            .map(|(c, v)| format!("{c}={}", v.as_deref().unwrap_or("<missing>")))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Turns a preprocessing error into a message naming the file, group and fit rows.
pub fn explain(e: PrepError, file: &str, groups: &Groups, fit_on: &str) -> Error {
    match e {
        PrepError::EmptyGroup { group } => err!(
            "{file}: group {} has no fit rows (--fit-on {fit_on})",
            groups.describe(group)
        ),
        other => err!("{file}: {other}"),
    }
}

/// Rows whose `column` holds one of `values` (a benchmark's `[columns] control`).
pub fn control_mask<T: Float>(
    profiles: &Profiles<T>,
    column: &str,
    values: &[String],
    file: &str,
) -> Result<Vec<bool>> {
    if profiles.meta().column(column).is_err() {
        return Err(cpbench_core::Error::MissingColumn {
            source_name: file.to_owned(),
            column: column.to_owned(),
            available: profiles.meta_names(),
        }
        .into());
    }
    let mask: Vec<bool> = profiles
        .meta_strings(column)?
        .iter()
        .map(|v| v.as_ref().is_some_and(|v| values.contains(v)))
        .collect();
    if !mask.iter().any(|&m| m) {
        bail!("{file}: no control row: no `{column}` value is one of {values:?}");
    }
    Ok(mask)
}
