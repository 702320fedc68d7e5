//! The `[data]` table ([`DataSpec`]) and its `[[data.annotations]]` files ([`Annotation`]),
//! with their checks: digests are 64 lowercase hex digits, annotation names are unique, and
//! every referenced file exists unless `simulate` generates the data on first use.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::BenchmarkManifest;
use crate::io::NonFinitePolicy;
use crate::manifest::ManifestError;
use crate::manifest::source::Doc;
use crate::profiles::Level;

/// The `[data]` table: the profile table and its annotation files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Profile table (.csv, .csv.gz, .tsv, .tsv.gz or .parquet), relative to this manifest.
    pub profiles: PathBuf,
    /// Expected SHA-256 of the profile table (64 lowercase hex digits); checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
    /// What one row of the profile table describes.
    pub level: Level,
    /// Columns whose names start with this prefix are metadata; all others are features.
    #[serde(default = "default_metadata_prefix")]
    pub metadata_prefix: String,
    /// What to do with NaN, missing or infinite feature values.
    #[serde(default)]
    pub on_nonfinite: NonFinitePolicy,
    /// Extra files tasks refer to by name: label tables, gene-pair lists.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotations: Vec<Annotation>,
    /// Arguments of `cpbench simulate` (without `--out`) that write the data files into the
    /// profile table's folder when they are missing: synthetic data is generated, not shipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub simulate: Option<Vec<String>>,
    /// Image crops (`.npy`, `[N, C, H, W]` float32), one per profile row, for image plugins.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<PathBuf>,
    /// Expected SHA-256 of the images file; checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub images_sha256: Option<String>,
}

fn default_metadata_prefix() -> String {
    crate::io::DEFAULT_METADATA_PREFIX.to_string()
}

/// An annotation file (`[[data.annotations]]`), referred to by name from tasks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Annotation {
    /// Name tasks use to refer to this file, e.g. `CORUM` in a task's `pairs`.
    pub name: String,
    /// The file, relative to this manifest.
    pub path: PathBuf,
    /// Expected SHA-256 of the file (64 lowercase hex digits); checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
}

impl BenchmarkManifest {
    /// Checks `[data]`: digests, the profile table and annotation files, images.
    pub(super) fn validate_data(&self, doc: &Doc<'_>) -> Result<(), ManifestError> {
        let data = &self.data;
        doc.check_sha256("data.sha256", data.sha256.as_deref())?;
        // Generated data may not exist yet: `cpbench run` writes it on first use.
        let generated = data.simulate.is_some();
        if !generated {
            doc.require_file("data.profiles", &data.profiles)?;
        }
        doc.check_nonempty("data.metadata_prefix", &data.metadata_prefix)?;
        for (i, a) in data.annotations.iter().enumerate() {
            let key = format!("data.annotations[{i}]");
            doc.check_nonempty(&format!("{key}.name"), &a.name)?;
            if data.annotations[..i].iter().any(|b| b.name == a.name) {
                return Err(doc.invalid(
                    format!("{key}.name"),
                    format!("duplicate annotation name `{}`", a.name),
                ));
            }
            doc.check_sha256(&format!("{key}.sha256"), a.sha256.as_deref())?;
            doc.require_file(&format!("{key}.path"), &a.path)?;
        }
        doc.check_sha256("data.images_sha256", data.images_sha256.as_deref())?;
        if let Some(images) = &data.images {
            if !generated {
                doc.require_file("data.images", images)?;
            }
        } else if data.images_sha256.is_some() {
            return Err(doc.invalid("data.images_sha256", "given without data.images"));
        }
        Ok(())
    }
}
