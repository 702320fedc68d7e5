//! Where fetched remote data files live: the layout of the data cache, and nothing else (the
//! fetching itself, with the network, is `cpbench-remote`'s).
//!
//! Contract: the cache is content-addressed. A file pinned by SHA-256 lives at
//! `<root>/blobs/sha256-<hex>/<name>`; one pinned only by its S3 etag at
//! `<root>/blobs/etag-<etag>/<name>`, one pinned by a git blob id at
//! `<root>/blobs/git-<id>/<name>`, where `<name>` is the last segment of its URL (kept so
//! the extension still names the format). Both pins name content, so two benchmarks that pin
//! the same bytes share one file, and a changed pin can never be served an old file. Beside
//! each file, `<name>.meta.json` records the URL, etag, size and SHA-256 it was verified
//! against; a file without that record is not in the cache. Downloads in progress are under
//! `<root>/partial/`, never at a blob path.

use std::path::{Path, PathBuf};

use crate::manifest::RemoteFile;

/// The environment variable naming the data cache folder (overrides the default).
pub const DATA_DIR_ENV: &str = "CPBENCH_DATA_DIR";

/// The data cache: a folder of verified remote files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataCache {
    root: PathBuf,
}

impl DataCache {
    /// A cache rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        DataCache { root: root.into() }
    }

    /// `--cache-dir` when given, else `$CPBENCH_DATA_DIR`, else `data/` under cpbench's cache
    /// folder (`$CPBENCH_CACHE_DIR`, else `$XDG_CACHE_HOME/cpbench`, else `~/.cache/cpbench`).
    pub fn resolve(flag: Option<&Path>) -> Self {
        if let Some(dir) = flag {
            return DataCache::new(dir);
        }
        if let Some(dir) = std::env::var_os(DATA_DIR_ENV).filter(|d| !d.is_empty()) {
            return DataCache::new(dir);
        }
        DataCache::new(cache_home().join("data"))
    }

    /// The cache folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The folder of a remote file pinned as given (SHA-256 preferred over the etag).
    pub fn blob_dir(&self, remote: &RemoteFile, sha256: Option<&str>) -> PathBuf {
        let key = match (sha256, remote.etag.as_deref(), remote.git_blob.as_deref()) {
            (Some(sha), _, _) => format!("sha256-{sha}"),
            (None, Some(etag), _) => format!("etag-{etag}"),
            (None, None, Some(blob)) => format!("git-{blob}"),
            // Validation refuses an unpinned remote file; an unvalidated one still gets a
            // stable, URL-derived place, never another file's.
            (None, None, None) => {
                format!("url-{}", crate::hash::sha256_bytes(remote.url.as_bytes()))
            }
        };
        self.root.join("blobs").join(key)
    }

    /// Where a remote file is once fetched.
    pub fn blob_path(&self, remote: &RemoteFile, sha256: Option<&str>) -> PathBuf {
        self.blob_dir(remote, sha256).join(remote.file_name())
    }

    /// The verification record beside a cached file.
    pub fn meta_path(blob: &Path) -> PathBuf {
        let mut name = blob.file_name().unwrap_or_default().to_os_string();
        name.push(".meta.json");
        blob.with_file_name(name)
    }

    /// The folder of downloads in progress.
    pub fn partial_dir(&self) -> PathBuf {
        self.root.join("partial")
    }
}

/// cpbench's cache folder: `$CPBENCH_CACHE_DIR`, else `$XDG_CACHE_HOME/cpbench`, else
/// `~/.cache/cpbench` (a relative `cpbench-cache` when there is no home at all).
pub fn cache_home() -> PathBuf {
    let var = |name: &str| std::env::var_os(name).filter(|d| !d.is_empty());
    if let Some(dir) = var("CPBENCH_CACHE_DIR") {
        return PathBuf::from(dir);
    }
    if let Some(dir) = var("XDG_CACHE_HOME") {
        return PathBuf::from(dir).join("cpbench");
    }
    match var("HOME") {
        Some(home) => PathBuf::from(home).join(".cache").join("cpbench"),
        None => PathBuf::from("cpbench-cache"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn remote(url: &str, etag: Option<&str>) -> RemoteFile {
        RemoteFile {
            url: url.to_string(),
            etag: etag.map(str::to_string),
            git_blob: None,
            size: None,
            part_size: None,
        }
    }

    #[test]
    fn layout_is_content_addressed_and_keeps_the_file_name() {
        let c = DataCache::new("/c");
        let r = remote(
            "s3://b/k/profiles.parquet",
            Some("0123456789abcdef0123456789abcdef-3"),
        );
        assert_eq!(
            c.blob_path(&r, None),
            Path::new("/c/blobs/etag-0123456789abcdef0123456789abcdef-3/profiles.parquet")
        );
        let sha = "a".repeat(64);
        assert_eq!(
            c.blob_path(&r, Some(&sha)),
            Path::new("/c/blobs")
                .join(format!("sha256-{sha}"))
                .join("profiles.parquet")
        );
        assert_eq!(
            DataCache::meta_path(Path::new("/c/x/p.csv.gz")),
            Path::new("/c/x/p.csv.gz.meta.json")
        );
        // Another URL with the same pin shares the folder (same bytes); the name may differ.
        let other = remote("https://h/other/profiles.parquet", r.etag.as_deref());
        assert_eq!(c.blob_dir(&other, None), c.blob_dir(&r, None));
    }
}
