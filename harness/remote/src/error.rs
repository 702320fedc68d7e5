//! [`RemoteError`]: why a remote file could not be fetched or verified, naming the URL, the
//! manifest key and both values of any mismatch.

use std::path::PathBuf;

/// Why a remote data file is not available.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    /// The URL cannot be fetched from (scheme, bucket, key or an override).
    #[error("{key}: {why}")]
    BadUrl {
        /// The manifest key of the entry.
        key: String,
        /// What is wrong.
        why: String,
    },
    /// The remote object's etag (or size) is not the pinned one: the file changed remotely.
    #[error(
        "{key}: the remote object {url} has {what} {remote}, but the manifest pins {pinned}: the \
         file changed since the benchmark was written; nothing was cached (check the new file, \
         then update the pin and bump the benchmark's version)"
    )]
    RemoteChanged {
        /// The manifest key of the entry.
        key: String,
        /// The URL.
        url: String,
        /// `etag` or `size`.
        what: &'static str,
        /// The value the manifest pins.
        pinned: String,
        /// The value the server reports.
        remote: String,
    },
    /// The object changed between the HEAD request and the download (`If-Match` failed).
    #[error(
        "{key}: the remote object {url} changed during the download (its etag was {etag} when \
         the download started); nothing was cached; run again"
    )]
    ChangedDuringDownload {
        /// The manifest key of the entry.
        key: String,
        /// The URL.
        url: String,
        /// The etag at HEAD.
        etag: String,
    },
    /// The downloaded bytes do not match a pin (etag, SHA-256, git blob id or size).
    #[error(
        "{key}: {url}: the downloaded file has {what} {actual}, but the manifest pins {expected}; \
         nothing was cached"
    )]
    Mismatch {
        /// The manifest key of the entry.
        key: String,
        /// The URL.
        url: String,
        /// Which pin: `etag`, `SHA-256`, `git blob id` or `size`.
        what: &'static str,
        /// The pinned value.
        expected: String,
        /// The value of the downloaded bytes.
        actual: String,
    },
    /// A multipart etag that no candidate part size reproduces.
    #[error(
        "{key}: {url}: the multipart etag {etag} is not reproduced with part sizes {tried}; give \
         the upload's `part_size` (bytes) next to the etag; nothing was cached"
    )]
    PartSize {
        /// The manifest key of the entry.
        key: String,
        /// The URL.
        url: String,
        /// The pinned etag.
        etag: String,
        /// The part sizes tried, for the message.
        tried: String,
    },
    /// `--offline` and the file is not in the cache.
    #[error(
        "{key}: {url} is not in the data cache ({path}) and --offline forbids fetching it; run \
         `cpbench fetch` with network access first"
    )]
    Offline {
        /// The manifest key of the entry.
        key: String,
        /// The URL.
        url: String,
        /// Where it would be.
        path: PathBuf,
    },
    /// The object does not exist on the server.
    #[error("{key}: {url} does not exist on the server (404); check the URL")]
    NotFound {
        /// The manifest key of the entry.
        key: String,
        /// The URL.
        url: String,
    },
    /// The server could not be reached or the transfer kept failing.
    #[error(
        "{key}: fetching {url} failed{resume}: {message}; check the network (or the endpoint \
         override) and run again"
    )]
    Transport {
        /// The manifest key of the entry.
        key: String,
        /// The URL.
        url: String,
        /// What the client reported.
        message: String,
        /// `" after N attempts (the partial download is kept and resumed next time)"` or empty.
        resume: String,
    },
    /// A cache file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl RemoteError {
    /// An I/O error on `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> RemoteError {
        let path = path.into();
        move |source| RemoteError::Io { path, source }
    }
}
