//! What every preprocessing operation shares: reading a table with NaN kept (the steps handle
//! it), choosing the fit rows (`fit_on`), coding groups (`by`), and messages naming the group.

use std::path::Path;

use cpbench_core::Profiles;
use cpbench_core::filter::{RowFilter, mask_all};
use cpbench_core::io::{NonFinitePolicy, ReadOptions, read_profiles, write_profiles};
use cpbench_prep::PrepError;

use crate::bail;
use crate::err;
use crate::error::{Context, Error, Result};

/// Reads a profile table keeping missing values as NaN, which the steps skip when fitting and
/// keep when applying. An infinite value is read as NaN too: it is no more a measurement than
/// a missing one, and kept as it is it would turn every mean and deviation of its feature into
/// inf or NaN.
pub fn read_input(path: &Path, prefixes: &[String]) -> Result<Profiles> {
    let mut opts = ReadOptions {
        nonfinite: NonFinitePolicy::Keep,
        ..ReadOptions::default()
    };
    if !prefixes.is_empty() {
        opts.metadata_prefixes = prefixes.to_vec();
    }
    let (mut profiles, _) = read_profiles(path, &opts)?;
    for v in profiles.features_mut() {
        if v.is_infinite() {
            *v = f32::NAN;
        }
    }
    Ok(profiles)
}

/// Writes profiles (metadata columns first, as read) atomically.
pub fn write_output(profiles: &Profiles, path: &Path) -> Result<()> {
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
    pub fn mask(&self, profiles: &Profiles, file: &str) -> Result<Vec<bool>> {
        match (&self.control_spec, self.fit_on.trim()) {
            (Some((column, values)), "controls") => control_mask(profiles, column, values, file),
            _ => fit_mask(profiles, &self.fit_on, self.controls.as_deref(), file),
        }
    }
}

/// Resolves a fit-row specification (`all`, `controls`, or a row filter) to a mask.
pub fn fit_mask(
    profiles: &Profiles,
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
    let mask = mask_all(std::slice::from_ref(&filter), profiles)
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
    pub fn of(profiles: &Profiles, columns: &[String], file: &str) -> Result<Groups> {
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
pub fn control_mask(
    profiles: &Profiles,
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
