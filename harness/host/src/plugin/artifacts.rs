//! Hashing a plugin's artifacts before it runs, and the digest that identifies a plugin build.

use std::path::{Path, PathBuf};

use cpbench_core::hash::{sha256_bytes, sha256_file};

use super::Plugin;
use crate::error::HostError;

/// One file a plugin runs from, with its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Artifact {
    /// Manifest key naming it (`plugin.toml`, `onnx.model`, `embedding.table`, `native.library`).
    pub key: String,
    /// The file.
    pub path: PathBuf,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
}

/// Every artifact of a plugin and one digest over all of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArtifactSet {
    /// The manifest first, then the files it names.
    pub artifacts: Vec<Artifact>,
    /// SHA-256 over `key:sha256` lines of all artifacts: what identifies this build of the plugin
    /// in results and caches (a changed config, model or library changes it).
    pub digest: String,
}

/// Hashes the manifest and the files it names, refusing any whose pinned SHA-256 differs.
///
/// `native_library` is the resolved library of a native plugin (its digest is recorded; it is
/// checked when the manifest pins one).
pub fn verify_artifacts(
    plugin: &Plugin,
    native_library: Option<&Path>,
) -> Result<ArtifactSet, HostError> {
    let mut artifacts = vec![Artifact {
        key: "plugin.toml".into(),
        path: plugin.path.clone(),
        sha256: hash(&plugin.path)?,
    }];
    let mut files = plugin.data_files();
    if let (Some(lib), Some(native)) = (native_library, &plugin.manifest.native) {
        files.push(cpbench_core::manifest::DataRef {
            key: "native.library".into(),
            path: lib.to_path_buf(),
            sha256: native.sha256.clone(),
            remote: None,
        });
    }
    for f in files {
        let actual = hash(&f.path)?;
        if let Some(expected) = &f.sha256
            && *expected != actual
        {
            return Err(HostError::ArtifactHash {
                key: f.key,
                path: f.path,
                expected: expected.clone(),
                actual,
            });
        }
        artifacts.push(Artifact {
            key: f.key,
            path: f.path,
            sha256: actual,
        });
    }
    let lines: String = artifacts
        .iter()
        .map(|a| format!("{}:{}\n", a.key, a.sha256))
        .collect();
    Ok(ArtifactSet {
        digest: sha256_bytes(lines.as_bytes()),
        artifacts,
    })
}

fn hash(path: &Path) -> Result<String, HostError> {
    sha256_file(path).map_err(|source| HostError::Io {
        path: path.to_path_buf(),
        source,
    })
}
