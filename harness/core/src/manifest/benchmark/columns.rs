//! The `[columns]` table ([`Columns`], [`ControlSpec`], [`SplitSpec`]): which metadata columns
//! play which role, checked for empty names and a train/test split whose sides are disjoint.
//! Also the row selections steps and tasks take (`controls`, `all` where allowed, or a row
//! filter), since `controls` needs `[columns] control`.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::BenchmarkManifest;
use crate::filter::RowFilter;
use crate::manifest::ManifestError;
use crate::manifest::source::Doc;

/// The `[columns]` table: the roles metadata columns play.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Columns {
    /// Column naming the perturbation (compound, gene, guide); hidden from plugins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perturbation: Option<String>,
    /// Columns that together identify replicates (default for `replicating` tasks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub replicate: Vec<String>,
    /// Plate column (per-plate normalization, grouped folds, treatment strength).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate: Option<String>,
    /// Well column.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub well: Option<String>,
    /// Batch column (batch correction, batch leakage).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<String>,
    /// Which rows are negative controls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub control: Option<ControlSpec>,
    /// Label columns (MoA, pathway, complex); hidden from plugins, used by tasks' `labels`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    /// A train/test split of the rows, for `partition` tasks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split: Option<SplitSpec>,
}

/// Negative controls: rows whose `column` holds one of `values`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ControlSpec {
    /// The column tested, e.g. `Metadata_broad_sample`.
    pub column: String,
    /// Values marking a control row, e.g. `["DMSO"]`.
    pub values: Vec<String>,
}

/// A train/test split: rows whose `column` holds a value in `train` or in `test`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    /// The column holding the split assignment.
    pub column: String,
    /// Values marking training rows.
    pub train: Vec<String>,
    /// Values marking test rows; disjoint from `train`.
    pub test: Vec<String>,
}

/// Row selections are `controls`, (where allowed) `all`, or a row filter.
pub(super) fn check_rows(
    doc: &Doc<'_>,
    key: &str,
    value: &str,
    allow_all: bool,
    columns: &Columns,
) -> Result<(), ManifestError> {
    match value {
        "controls" => require_control(doc, key, columns),
        "all" if allow_all => Ok(()),
        _ => RowFilter::parse(value).map(|_| ()).map_err(|e| {
            let all = if allow_all { "`all`, " } else { "" };
            doc.invalid(
                key,
                format!("expected `controls`, {all}or a row filter: {e}"),
            )
        }),
    }
}

/// `key` uses the control rows: `[columns] control` must be set.
pub(super) fn require_control(
    doc: &Doc<'_>,
    key: &str,
    columns: &Columns,
) -> Result<(), ManifestError> {
    if columns.control.is_some() {
        Ok(())
    } else {
        Err(doc.invalid(
            key,
            "uses the control rows, but `[columns] control` is not set",
        ))
    }
}

impl BenchmarkManifest {
    /// Checks `[columns]`: role names non-empty, split sides disjoint.
    pub(super) fn validate_columns(&self, doc: &Doc<'_>) -> Result<(), ManifestError> {
        let c = &self.columns;
        for (key, value) in [
            ("perturbation", &c.perturbation),
            ("plate", &c.plate),
            ("well", &c.well),
            ("batch", &c.batch),
        ] {
            if let Some(v) = value {
                doc.check_nonempty(&format!("columns.{key}"), v)?;
            }
        }
        if !c.replicate.is_empty() {
            doc.check_names("columns.replicate", &c.replicate)?;
        }
        if !c.labels.is_empty() {
            doc.check_names("columns.labels", &c.labels)?;
        }
        if let Some(control) = &c.control {
            doc.check_nonempty("columns.control.column", &control.column)?;
            doc.check_names("columns.control.values", &control.values)?;
        }
        if let Some(split) = &c.split {
            doc.check_nonempty("columns.split.column", &split.column)?;
            doc.check_names("columns.split.train", &split.train)?;
            doc.check_names("columns.split.test", &split.test)?;
            if let Some((i, v)) = split
                .test
                .iter()
                .enumerate()
                .find(|(_, v)| split.train.contains(v))
            {
                return Err(doc.invalid(
                    format!("columns.split.test[{i}]"),
                    format!("`{v}` is in both train and test"),
                ));
            }
        }
        Ok(())
    }
}
