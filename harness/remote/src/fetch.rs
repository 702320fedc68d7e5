//! [`Fetcher::fetch`]: one remote data file into the cache, verified, resumable.
//!
//! Order of work for one file (under an exclusive lock on its cache key, so concurrent
//! processes fetch it once):
//!
//! 1. In the cache with its record: its SHA-256 is recomputed and compared with the record
//!    (and the pins). A match is a hit; a mismatch (a corrupted or edited file) removes the
//!    entry, says so, and fetches again.
//! 2. `--offline`: a miss is an error naming the URL and where the file would be.
//! 3. HEAD: the server's etag must equal a pinned etag, the size a pinned size; otherwise the
//!    error names both values and nothing is written.
//! 4. GET from the end of a partial download left by an earlier, interrupted fetch (when it was
//!    for the same etag and size; `If-Match` guards against the object changing under it),
//!    streaming to `partial/` while every digest is updated. A body cut off mid-transfer, or
//!    silent for a minute, is requested again from where it stopped, with backoff, up to
//!    [`ATTEMPTS`] times; the partial file survives for the next run.
//! 5. The complete file is checked against every pin (etag, SHA-256, git blob id, size); a
//!    mismatch deletes it. Then it is renamed into the cache and its record written last: a
//!    file without a record is never served.

use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use object_store::{GetOptions, GetRange, ObjectStoreExt};
use serde::{Deserialize, Serialize};

use cpbench_core::datacache::DataCache;
use cpbench_core::manifest::RemoteFile;

use crate::digest::{Digests, Finished, hex};
use crate::error::RemoteError;
use crate::store;

/// Attempts at a body before giving up (each resumes where the last one stopped).
pub const ATTEMPTS: u32 = 6;
/// A body that sends nothing for this long is abandoned and requested again.
const STALL: Duration = Duration::from_secs(60);

/// One file to fetch: the remote object, the entry's SHA-256 pin, the manifest key.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The remote object and its pins.
    pub remote: &'a RemoteFile,
    /// The entry's SHA-256 pin.
    pub sha256: Option<&'a str>,
    /// The manifest key (`data.profiles`), for messages.
    pub key: &'a str,
}

/// How the file came to be in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// It was there and verified.
    Cached,
    /// Downloaded now, `bytes` of it; `resumed_from` > 0 when a partial download was continued.
    Downloaded {
        /// Bytes transferred by this fetch.
        bytes: u64,
        /// Bytes already on disk from an interrupted fetch.
        resumed_from: u64,
    },
}

/// A verified file in the cache.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Where it is.
    pub path: PathBuf,
    /// Its SHA-256.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
    /// Hit or download.
    pub outcome: Outcome,
}

/// Progress of transfers and verifications, shown by the caller (a bar on a terminal).
pub trait Progress {
    /// A transfer or check of `label` starts: `total` bytes if known, `done` already there.
    fn start(&self, label: &str, total: Option<u64>, done: u64);
    /// `n` more bytes.
    fn advance(&self, n: u64);
    /// The transfer or check ended.
    fn finish(&self);
    /// Something the user should know (a corrupt cache entry, a resumed download, a retry).
    fn note(&self, text: &str);
}

/// Shows nothing.
pub struct Silent;

impl Progress for Silent {
    fn start(&self, _: &str, _: Option<u64>, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
    fn note(&self, _: &str) {}
}

/// The record beside a cached file: what it was fetched from and verified against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Record {
    url: String,
    etag: Option<String>,
    git_blob: Option<String>,
    size: u64,
    sha256: String,
    part_size: Option<u64>,
}

/// The record of a partial download: it may be continued only for the same object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PartialRecord {
    url: String,
    etag: Option<String>,
    size: Option<u64>,
    /// The server's modification time: with no etag, the only sign of a new version.
    last_modified: String,
}

/// Fetches remote files into a [`DataCache`]. Clones share one async runtime.
#[derive(Clone)]
pub struct Fetcher {
    cache: DataCache,
    offline: bool,
    runtime: std::sync::Arc<tokio::runtime::Runtime>,
}

impl Fetcher {
    /// A fetcher for `cache`; `offline`: only the cache is used.
    pub fn new(cache: DataCache, offline: bool) -> Result<Self, RemoteError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(RemoteError::io(cache.root()))?;
        Ok(Fetcher {
            cache,
            offline,
            runtime: std::sync::Arc::new(runtime),
        })
    }

    /// The cache.
    pub fn cache(&self) -> &DataCache {
        &self.cache
    }

    /// Makes `req`'s file available in the cache and returns where it is.
    pub fn fetch(&self, req: Request<'_>, progress: &dyn Progress) -> Result<Fetched, RemoteError> {
        let blob = self.cache.blob_path(req.remote, req.sha256);
        let dir = blob.parent().unwrap_or(self.cache.root()).to_path_buf();
        fs::create_dir_all(&dir).map_err(RemoteError::io(&dir))?;
        let _lock = Lock::take(&dir.join(".lock"))?;
        if let Some(hit) = self.cached(req, &blob, progress)? {
            return Ok(hit);
        }
        if self.offline {
            return Err(RemoteError::Offline {
                key: req.key.to_string(),
                url: req.remote.url.clone(),
                path: blob,
            });
        }
        self.runtime.block_on(self.download(req, &blob, progress))
    }

    /// The cached file, verified; a corrupt entry is removed (and `None` returned).
    fn cached(
        &self,
        req: Request<'_>,
        blob: &Path,
        progress: &dyn Progress,
    ) -> Result<Option<Fetched>, RemoteError> {
        let meta = DataCache::meta_path(blob);
        let record: Option<Record> = fs::read(&meta)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let Some(record) = record else {
            // A file without its record was never completed: it is not in the cache.
            remove(blob);
            remove(&meta);
            return Ok(None);
        };
        if !blob.is_file() {
            remove(&meta);
            return Ok(None);
        }
        let r = req.remote;
        let pins_agree = r
            .etag
            .as_ref()
            .is_none_or(|e| record.etag.as_ref() == Some(e))
            && r.git_blob
                .as_ref()
                .is_none_or(|g| record.git_blob.as_ref() == Some(g))
            && req.sha256.is_none_or(|s| s == record.sha256)
            && r.size.is_none_or(|s| s == record.size);
        let size = fs::metadata(blob).map(|m| m.len()).unwrap_or(u64::MAX);
        let sha256 = if pins_agree && size == record.size {
            progress.start(&format!("verifying {}", r.file_name()), Some(size), 0);
            let sha = sha256_file(blob, progress)?;
            progress.finish();
            Some(sha)
        } else {
            None
        };
        if sha256.as_deref() == Some(record.sha256.as_str()) {
            return Ok(Some(Fetched {
                path: blob.to_path_buf(),
                sha256: record.sha256,
                size,
                outcome: Outcome::Cached,
            }));
        }
        progress.note(&format!(
            "{}: the cached copy {} {}; fetching it again",
            req.key,
            blob.display(),
            match sha256 {
                Some(actual) =>
                    format!("is corrupt (SHA-256 {actual}, recorded {})", record.sha256),
                None if size != record.size => {
                    format!("is corrupt ({size} bytes, recorded {})", record.size)
                }
                None => "was verified against other pins".to_string(),
            }
        ));
        remove(blob);
        remove(&meta);
        Ok(None)
    }

    async fn download(
        &self,
        req: Request<'_>,
        blob: &Path,
        progress: &dyn Progress,
    ) -> Result<Fetched, RemoteError> {
        let r = req.remote;
        let key = req.key.to_string();
        let transport = |message: String, resume: String| RemoteError::Transport {
            key: key.clone(),
            url: r.url.clone(),
            message,
            resume,
        };
        let remote = store::open(&r.url).map_err(|why| RemoteError::BadUrl {
            key: key.clone(),
            why,
        })?;
        let head = remote.store.head(&remote.path).await.map_err(|e| match e {
            object_store::Error::NotFound { .. } => RemoteError::NotFound {
                key: key.clone(),
                url: remote.url.clone(),
            },
            e => transport(e.to_string(), String::new()),
        })?;
        let remote_etag = head.e_tag.as_deref().map(clean_etag);
        if let (Some(pinned), Some(actual)) = (&r.etag, &remote_etag)
            && pinned != actual
        {
            return Err(RemoteError::RemoteChanged {
                key,
                url: remote.url,
                what: "etag",
                pinned: pinned.clone(),
                remote: actual.clone(),
            });
        }
        let size = head.size;
        if let Some(pinned) = r.size
            && pinned != size
        {
            return Err(RemoteError::RemoteChanged {
                key,
                url: remote.url,
                what: "size",
                pinned: pinned.to_string(),
                remote: size.to_string(),
            });
        }

        // Resume a partial download of the same object, else start over.
        let partial_dir = self.cache.partial_dir();
        fs::create_dir_all(&partial_dir).map_err(RemoteError::io(&partial_dir))?;
        let stem = blob
            .parent()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let part = partial_dir.join(format!("{stem}-{}.part", r.file_name()));
        let part_meta = partial_dir.join(format!("{stem}-{}.part.json", r.file_name()));
        let this = PartialRecord {
            url: remote.url.clone(),
            etag: remote_etag.clone(),
            size: Some(size),
            last_modified: head.last_modified.to_rfc3339(),
        };
        let previous: Option<PartialRecord> = fs::read(&part_meta)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        let have = fs::metadata(&part).map(|m| m.len()).unwrap_or(0);
        let resume_from = if previous.as_ref() == Some(&this) && have <= size {
            have
        } else {
            0
        };
        // The old bytes go before the new record is written: a kill in between must not leave
        // another version's bytes under this version's record.
        let mut file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&part)
            .map_err(RemoteError::io(&part))?;
        file.set_len(resume_from).map_err(RemoteError::io(&part))?;
        let json = serde_json::to_vec(&this).expect("a partial record serializes");
        cpbench_core::io::write_bytes_atomic(&part_meta, &json).map_err(|e| RemoteError::Io {
            path: part_meta.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;

        // The git blob id is always computed (cheap), so the record can answer a manifest that
        // pins the same bytes by it.
        let new_digests = || Digests::new(r.etag.as_deref(), r.part_size, Some(size), true);
        let mut digests = new_digests();
        let label = r.file_name().to_string();
        if resume_from > 0 {
            progress.note(&format!(
                "{key}: resuming {} at byte {resume_from} of {size}",
                remote.url
            ));
            // The bytes already on disk feed the digests first.
            file.seek(SeekFrom::Start(0))
                .map_err(RemoteError::io(&part))?;
            let mut reader = BufReader::with_capacity(1 << 20, (&mut file).take(resume_from));
            let mut buf = vec![0u8; 1 << 20];
            loop {
                let n = reader.read(&mut buf).map_err(RemoteError::io(&part))?;
                if n == 0 {
                    break;
                }
                digests.update(&buf[..n]);
            }
        }
        file.seek(SeekFrom::Start(resume_from))
            .map_err(RemoteError::io(&part))?;

        progress.start(&label, Some(size), resume_from);
        let started = Instant::now();
        let mut written = resume_from;
        let mut attempt = 0u32;
        while written < size {
            attempt += 1;
            let opts = GetOptions {
                range: (written > 0).then_some(GetRange::Offset(written)),
                // A weak etag never matches under If-Match's strong comparison: not sent.
                if_match: head
                    .e_tag
                    .clone()
                    .filter(|t| !t.trim_start().starts_with("W/")),
                ..Default::default()
            };
            let result = match remote.store.get_opts(&remote.path, opts).await {
                Ok(res) => {
                    let mut stream = res.into_stream();
                    let mut failure = None;
                    loop {
                        match tokio::time::timeout(STALL, stream.next()).await {
                            Ok(Some(Ok(chunk))) => {
                                let room = (size - written) as usize;
                                let chunk = &chunk[..chunk.len().min(room)];
                                file.write_all(chunk).map_err(RemoteError::io(&part))?;
                                digests.update(chunk);
                                written += chunk.len() as u64;
                                progress.advance(chunk.len() as u64);
                            }
                            Ok(Some(Err(e))) => {
                                failure = Some(e.to_string());
                                break;
                            }
                            Ok(None) => break,
                            Err(_) => {
                                failure = Some(format!("no data for {} s", STALL.as_secs()));
                                break;
                            }
                        }
                    }
                    failure
                }
                Err(object_store::Error::Precondition { .. }) => {
                    progress.finish();
                    remove(&part);
                    remove(&part_meta);
                    return Err(RemoteError::ChangedDuringDownload {
                        key,
                        url: remote.url,
                        etag: remote_etag.unwrap_or_default(),
                    });
                }
                // A server that answers a range request with the whole object cannot resume:
                // start over from byte 0.
                Err(object_store::Error::NotSupported { .. }) if written > 0 => {
                    file.set_len(0).map_err(RemoteError::io(&part))?;
                    file.seek(SeekFrom::Start(0))
                        .map_err(RemoteError::io(&part))?;
                    digests = new_digests();
                    progress.note(&format!(
                        "{key}: the server does not serve byte ranges; downloading from the start"
                    ));
                    written = 0;
                    Some("range requests are not supported".to_string())
                }
                Err(e) => Some(e.to_string()),
            };
            if written >= size {
                break;
            }
            let why =
                result.unwrap_or_else(|| format!("the body ended at byte {written} of {size}"));
            if attempt >= ATTEMPTS {
                progress.finish();
                file.flush().map_err(RemoteError::io(&part))?;
                return Err(transport(
                    why,
                    format!(
                        " after {ATTEMPTS} attempts ({written} of {size} bytes kept; the next \
                         fetch resumes there)"
                    ),
                ));
            }
            let wait = Duration::from_millis(250 << (attempt - 1).min(5));
            progress.note(&format!(
                "{key}: {why}; retrying from byte {written} in {:.1} s",
                wait.as_secs_f64()
            ));
            tokio::time::sleep(wait).await;
        }
        progress.finish();
        file.sync_all().map_err(RemoteError::io(&part))?;
        drop(file);
        let bytes = written - resume_from;
        let done = digests.finish(r.etag.as_deref());
        if let Err(e) = verify(req, &remote.url, &done) {
            remove(&part);
            remove(&part_meta);
            return Err(e);
        }
        let dir = blob.parent().unwrap_or(self.cache.root());
        fs::rename(&part, blob).map_err(RemoteError::io(blob))?;
        remove(&part_meta);
        let record = Record {
            url: remote.url.clone(),
            etag: done.etag.as_ref().map(|(e, _)| e.clone()).or(remote_etag),
            git_blob: done.git_blob.clone(),
            size,
            sha256: done.sha256.clone(),
            part_size: done.etag.as_ref().and_then(|(_, p)| *p),
        };
        let json = serde_json::to_vec_pretty(&record).expect("a record serializes");
        let meta = DataCache::meta_path(blob);
        cpbench_core::io::write_bytes_atomic(&meta, &json).map_err(|e| RemoteError::Io {
            path: meta.clone(),
            source: std::io::Error::other(e.to_string()),
        })?;
        sync_dir(dir);
        let secs = started.elapsed().as_secs_f64();
        progress.note(&format!(
            "{key}: fetched {} ({} in {secs:.1} s{})",
            remote.url,
            human_bytes(bytes),
            if resume_from > 0 {
                format!(", resumed at byte {resume_from}")
            } else {
                String::new()
            }
        ));
        Ok(Fetched {
            path: blob.to_path_buf(),
            sha256: done.sha256,
            size,
            outcome: Outcome::Downloaded {
                bytes,
                resumed_from: resume_from,
            },
        })
    }
}

/// The SHA-256 recorded for a file in the data cache when it was fetched and verified; `None`
/// when the file has no record (it is not in the cache).
pub fn recorded_sha256(blob: &Path) -> Option<String> {
    if !blob.is_file() {
        return None;
    }
    let bytes = fs::read(DataCache::meta_path(blob)).ok()?;
    serde_json::from_slice::<Record>(&bytes)
        .ok()
        .map(|r| r.sha256)
}

/// Checks the finished digests against every pin of `req`.
fn verify(req: Request<'_>, url: &str, done: &Finished) -> Result<(), RemoteError> {
    let r = req.remote;
    let mismatch = |what: &'static str, expected: &str, actual: &str| RemoteError::Mismatch {
        key: req.key.to_string(),
        url: url.to_string(),
        what,
        expected: expected.to_string(),
        actual: actual.to_string(),
    };
    if let Some(pinned) = &r.etag {
        let (actual, _) = done.etag.clone().unwrap_or_default();
        if &actual != pinned {
            if r.part_size.is_none() && r.etag_parts().is_some() {
                return Err(RemoteError::PartSize {
                    key: req.key.to_string(),
                    url: url.to_string(),
                    etag: pinned.clone(),
                    tried: if done.tried.is_empty() {
                        "none (no default part size gives that many parts)".to_string()
                    } else {
                        done.tried
                            .iter()
                            .map(|p| human_bytes(*p))
                            .collect::<Vec<_>>()
                            .join(", ")
                    },
                });
            }
            return Err(mismatch("etag", pinned, &actual));
        }
    }
    if let Some(pinned) = req.sha256
        && pinned != done.sha256
    {
        return Err(mismatch("SHA-256", pinned, &done.sha256));
    }
    if let Some(pinned) = &r.git_blob {
        let actual = done.git_blob.clone().unwrap_or_default();
        if &actual != pinned {
            return Err(mismatch("git blob id", pinned, &actual));
        }
    }
    Ok(())
}

/// An etag as S3 and HTTP servers send it, without quotes or the weak prefix.
fn clean_etag(raw: &str) -> String {
    raw.trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .to_ascii_lowercase()
}

/// SHA-256 of a file, reporting progress.
fn sha256_file(path: &Path, progress: &dyn Progress) -> Result<String, RemoteError> {
    use sha2::{Digest, Sha256};
    let mut f = File::open(path).map_err(RemoteError::io(path))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(RemoteError::io(path))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        progress.advance(n as u64);
    }
    Ok(hex(&h.finalize()))
}

fn remove(path: &Path) {
    let _ = fs::remove_file(path);
}

fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// `1.2 MiB`-style sizes for messages.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// An exclusive `flock` on a file, released on drop (when the file closes), so that two
/// processes never download the same cache entry at once: the second waits, then finds it.
struct Lock(#[allow(dead_code)] File);

impl Lock {
    fn take(path: &Path) -> Result<Lock, RemoteError> {
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(RemoteError::io(path))?;
        #[cfg(unix)]
        {
            use std::os::fd::AsRawFd;
            loop {
                // SAFETY: flock on a descriptor this function owns.
                if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) } == 0 {
                    break;
                }
                let err = std::io::Error::last_os_error();
                if err.kind() != std::io::ErrorKind::Interrupted {
                    return Err(RemoteError::Io {
                        path: path.to_path_buf(),
                        source: err,
                    });
                }
            }
        }
        Ok(Lock(file))
    }
}
