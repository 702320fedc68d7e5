//! The `[data]` table ([`DataSpec`]) and its `[[data.annotations]]` files ([`Annotation`]),
//! with their checks: digests are 64 lowercase hex digits, annotation names are unique, and
//! every referenced local file exists unless `simulate` generates the data on first use.
//!
//! The profile table and each annotation file may instead be a remote object
//! ([`DataLocation::Remote`]: `{ url = "s3://…" | "https://…", etag, size, part_size }`), which
//! must be pinned by an S3 etag, a git blob id or the entry's `sha256` (or several): a remote file that could
//! change under the benchmark without anyone noticing is refused at load time. Where a fetched
//! file lives is [`crate::datacache::DataCache`]'s business; nothing here touches the network.

use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::BenchmarkManifest;
use crate::filter::RowFilter;
use crate::io::NonFinitePolicy;
use crate::manifest::ManifestError;
use crate::manifest::source::Doc;
use crate::profiles::Level;

/// The `[data]` table: the profile table and its annotation files.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    /// Profile table (.csv, .csv.gz, .tsv, .tsv.gz or .parquet): a path relative to this
    /// manifest, or a remote object `{ url, etag, size, part_size }`.
    pub profiles: DataLocation,
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
    /// Metadata tables joined into the profile table's metadata on load, in order (e.g. JUMP's
    /// perturbation → gene symbol table): a left join on key columns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub join: Vec<JoinTable>,
    /// Row filters (`COL=VALUE`, `COL != VALUE`, `COL in [A, B]`, `COL not in [A, B]`) that
    /// every row must pass to be read at all, tested on the metadata after the joins (sources,
    /// plates, plate types): feature values of other rows are never decoded into memory.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rows: Vec<String>,
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

/// Where a data file lives: a path relative to the manifest, or a remote object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum DataLocation {
    /// A local file, relative to the manifest (absolute paths are kept).
    Local(PathBuf),
    /// An object on S3 or an HTTP(S) server, fetched into the data cache.
    Remote(RemoteFile),
}

impl DataLocation {
    /// The remote object, if this is one.
    pub fn remote(&self) -> Option<&RemoteFile> {
        match self {
            DataLocation::Remote(r) => Some(r),
            DataLocation::Local(_) => None,
        }
    }

    /// The local path, if this is one.
    pub fn local(&self) -> Option<&Path> {
        match self {
            DataLocation::Local(p) => Some(p),
            DataLocation::Remote(_) => None,
        }
    }
}

impl From<PathBuf> for DataLocation {
    fn from(p: PathBuf) -> Self {
        DataLocation::Local(p)
    }
}

/// A remote data file: where it is and how it is pinned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RemoteFile {
    /// `s3://bucket/key` (anonymous unless AWS credentials are in the environment) or
    /// `https://host/path` (`http://` too, for servers on loopback).
    pub url: String,
    /// The object's S3 etag without quotes: the MD5 of the content (32 hex digits) for a
    /// single-part upload, `<md5 of the part MD5s>-<parts>` for a multipart one. A remote
    /// object whose etag differs is refused; the downloaded bytes are checked against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{32}(-[1-9][0-9]*)?$"))]
    pub etag: Option<String>,
    /// The file's git blob id (40 hex digits: SHA-1 of `blob <size>\0` and the content), for a
    /// file pinned by the git repository that publishes it; the downloaded bytes are checked
    /// against it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{40}$"))]
    pub git_blob: Option<String>,
    /// Size in bytes; checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// Part size in bytes of a multipart upload, needed to check a `<md5>-<parts>` etag
    /// (without it the usual client defaults, 8 MiB, 5 MiB, 16 MiB, 64 MiB, are tried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_size: Option<u64>,
}

impl RemoteFile {
    /// The last segment of the URL's path: the cached file keeps it, so that its extension
    /// still names its format.
    pub fn file_name(&self) -> &str {
        let path = self.url.split(['?', '#']).next().unwrap_or("");
        path.rsplit('/').next().unwrap_or("")
    }

    /// The number of parts a multipart etag names (`None` for a single-part etag).
    pub fn etag_parts(&self) -> Option<u64> {
        etag_parts(self.etag.as_deref()?)
    }
}

/// The number of parts of a multipart etag `<md5>-<parts>`; `None` for a single-part one.
pub fn etag_parts(etag: &str) -> Option<u64> {
    etag.split_once('-').and_then(|(_, n)| n.parse().ok())
}

/// Whether `etag` has S3's form: 32 lowercase hex digits, optionally `-<parts>` (parts ≥ 1).
pub fn is_s3_etag(etag: &str) -> bool {
    let (md5, parts) = match etag.split_once('-') {
        Some((m, p)) => (m, Some(p)),
        None => (etag, None),
    };
    md5.len() == 32
        && md5
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        && parts.is_none_or(|p| {
            !p.is_empty()
                && !p.starts_with('0')
                && p.bytes().all(|b| b.is_ascii_digit())
                && p.parse::<u64>().is_ok()
        })
}

/// Splits a remote URL into its scheme (`s3`, `https`, `http`), host or bucket, and key; an
/// error says what is wrong with it.
pub fn split_url(url: &str) -> Result<(&str, &str, &str), String> {
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| format!("`{url}` is not a URL (expected s3://bucket/key or https://…)"))?;
    if !matches!(scheme, "s3" | "https" | "http") {
        return Err(format!(
            "`{url}`: scheme `{scheme}` is not supported (use s3://, https:// or http://)"
        ));
    }
    let (host, key) = rest
        .split_once('/')
        .ok_or_else(|| format!("`{url}` names no object (nothing after the host or bucket)"))?;
    if host.is_empty() {
        return Err(format!("`{url}` has an empty host or bucket"));
    }
    if key.is_empty() || key.ends_with('/') {
        return Err(format!("`{url}` names a folder, not an object"));
    }
    if url.contains(['?', '#']) {
        return Err(format!(
            "`{url}` has a query or fragment; give the object's plain URL (a pin names bytes, \
             not a request)"
        ));
    }
    Ok((scheme, host, key))
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
    /// The file: a path relative to this manifest, or a remote object `{ url, etag, … }`.
    pub path: DataLocation,
    /// Expected SHA-256 of the file (64 lowercase hex digits); checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
}

/// A metadata table joined into the profiles (`[[data.join]]`): each profile row gets the
/// `columns` of the table row with the same `on` values, or missing values when there is none.
/// A key repeated in the table is an error (the join would multiply rows).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinTable {
    /// The table (.csv, .csv.gz, .tsv, .parquet): a path relative to this manifest, or a
    /// remote object `{ url, etag, … }`.
    pub path: DataLocation,
    /// Expected SHA-256 of the file; checked when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(pattern(r"^[0-9a-f]{64}$"))]
    pub sha256: Option<String>,
    /// Key columns, present in both tables (compared as text).
    pub on: Vec<String>,
    /// Columns of the table to add (metadata names); one the profiles already have is checked
    /// against the table instead (both values present must agree).
    pub columns: Vec<String>,
}

impl BenchmarkManifest {
    /// Checks `[data]`: digests, the profile table and annotation files, images.
    pub(super) fn validate_data(&self, doc: &Doc<'_>) -> Result<(), ManifestError> {
        let data = &self.data;
        doc.check_sha256("data.sha256", data.sha256.as_deref())?;
        // Generated data may not exist yet: `cpbench run` writes it on first use.
        let generated = data.simulate.is_some();
        check_location(
            doc,
            "data.profiles",
            &data.profiles,
            data.sha256.as_deref(),
            generated,
        )?;
        if generated && data.profiles.remote().is_some() {
            return Err(doc.invalid(
                "data.profiles",
                "a remote profile table cannot also be generated by `simulate`",
            ));
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
            check_location(
                doc,
                &format!("{key}.path"),
                &a.path,
                a.sha256.as_deref(),
                false,
            )?;
        }
        for (i, j) in data.join.iter().enumerate() {
            let key = format!("data.join[{i}]");
            doc.check_sha256(&format!("{key}.sha256"), j.sha256.as_deref())?;
            check_location(
                doc,
                &format!("{key}.path"),
                &j.path,
                j.sha256.as_deref(),
                false,
            )?;
            doc.check_names(&format!("{key}.on"), &j.on)?;
            doc.check_names(&format!("{key}.columns"), &j.columns)?;
            for (k, c) in j.columns.iter().enumerate() {
                if !c.starts_with(&data.metadata_prefix) {
                    return Err(doc.invalid(
                        format!("{key}.columns[{k}]"),
                        format!(
                            "`{c}` would become a feature: joined columns are metadata, named \
                             with the prefix `{}`",
                            data.metadata_prefix
                        ),
                    ));
                }
                if j.on.contains(c) {
                    return Err(doc.invalid(
                        format!("{key}.columns[{k}]"),
                        format!("`{c}` is a key column (in `on`)"),
                    ));
                }
            }
        }
        for (i, expr) in data.rows.iter().enumerate() {
            RowFilter::parse(expr)
                .map_err(|e| doc.invalid(format!("data.rows[{i}]"), e.to_string()))?;
        }
        if !data.rows.is_empty() && data.images.is_some() {
            return Err(doc.invalid(
                "data.rows",
                "cannot be combined with data.images, which holds one crop per row of the file",
            ));
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

/// A local file must exist (unless generated); a remote one needs a valid URL and a pin.
fn check_location(
    doc: &Doc<'_>,
    key: &str,
    location: &DataLocation,
    sha256: Option<&str>,
    generated: bool,
) -> Result<(), ManifestError> {
    match location {
        DataLocation::Local(path) if !generated => doc.require_file(key, path),
        DataLocation::Local(_) => Ok(()),
        DataLocation::Remote(r) => {
            split_url(&r.url).map_err(|m| doc.invalid(format!("{key}.url"), m))?;
            if r.file_name().is_empty() {
                return Err(doc.invalid(format!("{key}.url"), "the URL names no file"));
            }
            if let Some(etag) = &r.etag
                && !is_s3_etag(etag)
            {
                return Err(doc.invalid(
                    format!("{key}.etag"),
                    format!(
                        "`{etag}` is not an S3 etag: expected 32 lowercase hex digits, \
                         optionally followed by -<parts> (without quotes)"
                    ),
                ));
            }
            if let Some(blob) = &r.git_blob
                && !(blob.len() == 40
                    && blob
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()))
            {
                return Err(doc.invalid(
                    format!("{key}.git_blob"),
                    format!("`{blob}` is not a git blob id: expected 40 lowercase hex digits"),
                ));
            }
            if r.etag.is_none() && r.git_blob.is_none() && sha256.is_none() {
                return Err(doc.invalid(
                    key,
                    "a remote file must be pinned: give its `etag` (S3), its `git_blob` or the \
                     entry's `sha256`",
                ));
            }
            if r.part_size == Some(0) {
                return Err(doc.invalid(format!("{key}.part_size"), "must be positive"));
            }
            if r.part_size.is_some() && r.etag_parts().is_none() {
                return Err(doc.invalid(
                    format!("{key}.part_size"),
                    "only a multipart etag (`<md5>-<parts>`) has a part size",
                ));
            }
            Ok(())
        }
    }
}
