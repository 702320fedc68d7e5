//! pycytominer 1.7.1 `feature_select` operations, judged on the fit rows.

use std::path::Path;

use cpbench_core::Profiles;
use cpbench_prep::{FeatureOp, FeatureSelect, Float, Matrix, Thresholds};

use crate::error::{Context, Result};
use crate::{bail, err};

/// pycytominer 1.7.1's default blocklist (`benchmarks/data/pycytominer/`), built in.
pub const DEFAULT_BLOCKLIST: &str =
    include_str!("../../../../benchmarks/data/pycytominer/blocklist_features.txt");

/// A parsed feature-selection request.
#[derive(Debug, Clone)]
pub struct SelectSpec {
    /// Operations, in order.
    pub ops: Vec<FeatureOp>,
    /// Thresholds of the operations.
    pub thresholds: Thresholds,
    /// Blocklisted feature names (used when `ops` holds `blocklist`).
    pub blocklist: Vec<String>,
}

impl SelectSpec {
    /// Checks the thresholds and, when `ops` holds `blocklist`, reads the blocklist file (or
    /// pycytominer's built-in list when `blocklist` is `None`).
    pub fn new(
        ops: Vec<FeatureOp>,
        thresholds: Thresholds,
        blocklist: Option<&Path>,
    ) -> Result<SelectSpec> {
        thresholds.validate()?;
        let blocklist = if ops.contains(&FeatureOp::Blocklist) {
            read_blocklist(blocklist)?
        } else {
            Vec::new()
        };
        Ok(SelectSpec {
            ops,
            thresholds,
            blocklist,
        })
    }
}

/// Per operation, the feature names it excluded.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Excluded {
    /// Features in the input.
    pub n_input: usize,
    /// Features kept.
    pub n_kept: usize,
    /// Features dropped by the name filters, before the operations.
    pub name_filters: Vec<String>,
    /// `(operation, features)` in the order run.
    pub ops: Vec<(String, Vec<String>)>,
}

/// Reads a blocklist file: one feature name a line; blank lines, `#` comments and a first
/// line `blocklist` (pycytominer's header) are skipped.
pub fn read_blocklist(path: Option<&Path>) -> Result<Vec<String>> {
    let text = match path {
        Some(p) => std::fs::read_to_string(p)
            .with_context(|| format!("reading blocklist {}", p.display()))?,
        None => DEFAULT_BLOCKLIST.to_owned(),
    };
    Ok(text
        .lines()
        .map(str::trim)
        .enumerate()
        .filter(|&(i, l)| !(l.is_empty() || l.starts_with('#') || (i == 0 && l == "blocklist")))
        .map(|(_, l)| l.to_owned())
        .collect())
}

/// Runs the operations of `spec` judged on the rows of `fit_mask`; returns the narrowed
/// profiles and what each operation excluded. Keeping no feature is an error.
pub fn select_profiles<T: Float>(
    profiles: &Profiles<T>,
    spec: &SelectSpec,
    fit_mask: &[bool],
    file: &str,
) -> Result<(Profiles<T>, Excluded)> {
    let names = profiles.feature_names();
    let blocklisted: Vec<bool> = if spec.ops.contains(&FeatureOp::Blocklist) {
        let set: std::collections::HashSet<&str> =
            spec.blocklist.iter().map(String::as_str).collect();
        names.iter().map(|n| set.contains(n.as_str())).collect()
    } else {
        Vec::new()
    };
    let selector = FeatureSelect::new(spec.ops.clone(), spec.thresholds, blocklisted)?;
    let rows: Vec<usize> = (0..fit_mask.len()).filter(|&i| fit_mask[i]).collect();
    let x = Matrix::new(
        profiles.features(),
        profiles.n_rows(),
        profiles.n_features(),
    )?;
    let sel = selector.run(x, &rows).map_err(|e| match e {
        cpbench_prep::PrepError::NonFinite { what, row, feature } => err!(
            "{file}: {what}: data row {} (1-based), feature `{}` is not finite",
            row + 1,
            names[feature]
        ),
        other => err!("{file}: {other}"),
    })?;
    if sel.keep.is_empty() {
        bail!(
            "{file}: feature selection ({}) kept none of {} features",
            spec.ops
                .iter()
                .map(|o| o.name())
                .collect::<Vec<_>>()
                .join(", "),
            names.len()
        );
    }
    let excluded = Excluded {
        n_input: names.len(),
        n_kept: sel.keep.len(),
        name_filters: Vec::new(),
        ops: sel
            .excluded
            .iter()
            .map(|(op, cols)| {
                (
                    op.name().to_owned(),
                    cols.iter().map(|&j| names[j].clone()).collect(),
                )
            })
            .collect(),
    };
    Ok((profiles.select_features(&sel.keep)?, excluded))
}
