//! The `[columns]` table ([`Columns`], [`ControlSpec`], [`SplitSpec`]): which metadata columns
//! play which role, checked for empty names and a train/test split whose sides are disjoint.
//! Also the row selections steps and tasks take (`controls`, `all` where allowed, or a row
//! filter), since `controls` needs `[columns] control`.
//!
//! A split assigns each row to a [`SplitSide`] by the value of one metadata column, either
//! directly (the column holds the split labels, or the lists name its values) or through a split
//! file that maps the column's values to labels. Plugins may fit on the train and shared rows,
//! tasks score the test and shared rows only, and a plugin that declares training on a
//! benchmark's train split (`training_datasets = ["<benchmark id>:train"]`, see
//! [`train_split_benchmark`]) is therefore scored on rows it never saw.

use std::path::PathBuf;

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
    /// A train/test split of the rows: plugins fit on the train (and shared) rows, every task
    /// scores the test (and shared) rows only.
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

/// A train/test split: each row's side is decided by its value in `column`, directly or, with
/// `file`, through the split label the file gives that value. Values (or labels) in none of the
/// lists put their rows in no side: neither fitted on nor scored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitSpec {
    /// The metadata column that decides a row's side: it holds the split labels, or (with
    /// `file`) the key the split file maps to a label, e.g. `Metadata_broad_sample`.
    pub column: String,
    /// Values (or, with `file`, labels) of the training rows: plugins may fit on them, and a
    /// plugin may have been trained on them (`training_datasets = ["<benchmark id>:train"]`).
    pub train: Vec<String>,
    /// Values (or labels) of the test rows, the only rows tasks score besides the shared ones;
    /// disjoint from `train`.
    pub test: Vec<String>,
    /// Values (or labels) of rows on both sides, e.g. the negative controls: plugins may fit on
    /// them and tasks score them (as the reference of a retrieval task); disjoint from the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shared: Vec<String>,
    /// A split file (.csv, .csv.gz, .tsv or .parquet), relative to this manifest, with a column
    /// named as `column` (each value once) and a `split` column holding its label; `train`,
    /// `test` and `shared` then list labels. Every label in the file must be in one of them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<PathBuf>,
    /// Expected SHA-256 of the split file (64 lowercase hex digits); checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
}

/// The name of the label column of a split file.
pub const SPLIT_FILE_LABEL_COLUMN: &str = "split";

/// The suffix of a `training_datasets` entry that names a benchmark's train split.
pub const TRAIN_SPLIT_SUFFIX: &str = ":train";

/// Which side of a split a row is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SplitSide {
    /// Training rows: fitted on, never scored.
    Train,
    /// Test rows: scored, never fitted on.
    Test,
    /// Rows on both sides (e.g. negative controls): fitted on and scored.
    Shared,
}

impl SplitSide {
    /// The name plugins see in their `split` context column.
    pub fn as_str(self) -> &'static str {
        match self {
            SplitSide::Train => "train",
            SplitSide::Test => "test",
            SplitSide::Shared => "shared",
        }
    }

    /// Whether plugins may fit on rows of this side.
    pub fn fitted(self) -> bool {
        matches!(self, SplitSide::Train | SplitSide::Shared)
    }

    /// Whether tasks score rows of this side.
    pub fn scored(self) -> bool {
        matches!(self, SplitSide::Test | SplitSide::Shared)
    }
}

impl SplitSpec {
    /// The side of a row whose value (or, with a file, label) is `value`; `None`: no side.
    pub fn side(&self, value: &str) -> Option<SplitSide> {
        let has = |list: &[String]| list.iter().any(|v| v == value);
        if has(&self.train) {
            Some(SplitSide::Train)
        } else if has(&self.test) {
            Some(SplitSide::Test)
        } else if has(&self.shared) {
            Some(SplitSide::Shared)
        } else {
            None
        }
    }
}

/// The benchmark id of a `training_datasets` entry that names a benchmark's train split
/// (`lincs-sq00015054:train` → `lincs-sq00015054`); `None` for a whole dataset.
pub fn train_split_benchmark(entry: &str) -> Option<&str> {
    entry.strip_suffix(TRAIN_SPLIT_SUFFIX)
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
            if !split.shared.is_empty() {
                doc.check_names("columns.split.shared", &split.shared)?;
            }
            // A value on two sides would be fitted on and scored under two names: refused.
            let sides = [
                ("train", &split.train),
                ("test", &split.test),
                ("shared", &split.shared),
            ];
            for (later, (name, list)) in sides.iter().enumerate().skip(1) {
                for (i, v) in list.iter().enumerate() {
                    if let Some((other, _)) = sides[..later].iter().find(|(_, l)| l.contains(v)) {
                        return Err(doc.invalid(
                            format!("columns.split.{name}[{i}]"),
                            format!("`{v}` is in both {other} and {name}"),
                        ));
                    }
                }
            }
            doc.check_sha256("columns.split.sha256", split.sha256.as_deref())?;
            match &split.file {
                Some(file) => doc.require_file("columns.split.file", file)?,
                None if split.sha256.is_some() => {
                    return Err(
                        doc.invalid("columns.split.sha256", "given without columns.split.file")
                    );
                }
                None => {}
            }
        }
        Ok(())
    }
}
