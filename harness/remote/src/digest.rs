//! The digests a download is checked against, computed in one pass over the bytes as they
//! arrive: SHA-256 (always: the cache records it), the S3 etag (single-part MD5, or the MD5 of
//! the part MD5s for each candidate part size of a multipart etag) and the git blob id.

use md5::{Digest as _, Md5};
use sha1::Sha1;
use sha2::Sha256;

use cpbench_core::manifest::etag_parts;

/// Part sizes tried for a multipart etag pinned without `part_size`: the defaults of the AWS
/// CLI and boto3 (8 MiB), S3's minimum (5 MiB), and other common client settings.
pub const DEFAULT_PART_SIZES: [u64; 5] = [8 << 20, 5 << 20, 16 << 20, 64 << 20, 100 << 20];

/// MD5s of consecutive parts of one size, as S3 computes a multipart etag.
struct Parts {
    part_size: u64,
    current: Md5,
    in_part: u64,
    digests: Vec<u8>,
    count: u64,
}

impl Parts {
    fn new(part_size: u64) -> Self {
        Parts {
            part_size,
            current: Md5::new(),
            in_part: 0,
            digests: Vec::new(),
            count: 0,
        }
    }

    fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let room = (self.part_size - self.in_part) as usize;
            let take = room.min(data.len());
            self.current.update(&data[..take]);
            self.in_part += take as u64;
            if self.in_part == self.part_size {
                self.digests
                    .extend_from_slice(&self.current.finalize_reset());
                self.count += 1;
                self.in_part = 0;
            }
            data = &data[take..];
        }
    }

    fn finish(mut self) -> String {
        if self.in_part > 0 || self.count == 0 {
            self.digests.extend_from_slice(&self.current.finalize());
            self.count += 1;
        }
        format!("{}-{}", hex(&Md5::digest(&self.digests)), self.count)
    }
}

/// Running digests of a download.
pub struct Digests {
    sha256: Sha256,
    md5: Option<Md5>,
    parts: Vec<Parts>,
    git: Option<Sha1>,
}

/// The finished digests.
pub struct Finished {
    /// SHA-256, lowercase hex.
    pub sha256: String,
    /// The etag the bytes have: single-part MD5, or for a multipart pin the candidate that
    /// matched it (with its part size), else the first candidate's.
    pub etag: Option<(String, Option<u64>)>,
    /// Part sizes tried for a multipart etag.
    pub tried: Vec<u64>,
    /// The git blob id (when asked for).
    pub git_blob: Option<String>,
}

impl Digests {
    /// Digests for a file of `size` bytes (when known) checked against `etag` (when pinned):
    /// a multipart etag is computed for `part_size`, or for each default part size that gives
    /// its number of parts. `git` also computes the git blob id, which needs the size first.
    pub fn new(etag: Option<&str>, part_size: Option<u64>, size: Option<u64>, git: bool) -> Self {
        let (md5, parts) = match etag.map(etag_parts) {
            None => (None, Vec::new()),
            Some(None) => (Some(Md5::new()), Vec::new()),
            Some(Some(n)) => {
                let sizes: Vec<u64> = match part_size {
                    Some(p) => vec![p],
                    None => DEFAULT_PART_SIZES
                        .into_iter()
                        .filter(|&p| size.is_none_or(|s| s.div_ceil(p).max(1) == n))
                        .collect(),
                };
                (None, sizes.into_iter().map(Parts::new).collect())
            }
        };
        let git = match (git, size) {
            (true, Some(size)) => {
                let mut h = Sha1::new();
                h.update(format!("blob {size}\0").as_bytes());
                Some(h)
            }
            _ => None,
        };
        Digests {
            sha256: Sha256::new(),
            md5,
            parts,
            git,
        }
    }

    /// Feeds the next bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.sha256.update(data);
        if let Some(m) = &mut self.md5 {
            m.update(data);
        }
        for p in &mut self.parts {
            p.update(data);
        }
        if let Some(g) = &mut self.git {
            g.update(data);
        }
    }

    /// The digests; `pinned` picks, among multipart candidates, the one that matches.
    pub fn finish(self, pinned: Option<&str>) -> Finished {
        let tried: Vec<u64> = self.parts.iter().map(|p| p.part_size).collect();
        let etag = match self.md5 {
            Some(m) => Some((hex(&m.finalize()), None)),
            None => {
                let all: Vec<(String, Option<u64>)> = self
                    .parts
                    .into_iter()
                    .map(|p| {
                        let size = p.part_size;
                        (p.finish(), Some(size))
                    })
                    .collect();
                let hit = all.iter().position(|(e, _)| Some(e.as_str()) == pinned);
                all.into_iter().nth(hit.unwrap_or(0))
            }
        };
        Finished {
            sha256: hex(&self.sha256.finalize()),
            etag,
            tried,
            git_blob: self.git.map(|g| hex(&g.finalize())),
        }
    }
}

/// Lowercase hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_part_etag_is_the_md5() {
        let mut d = Digests::new(
            Some("900150983cd24fb0d6963f7d28e17f72"),
            None,
            Some(3),
            false,
        );
        d.update(b"a");
        d.update(b"bc");
        let f = d.finish(None);
        assert_eq!(f.etag.unwrap().0, "900150983cd24fb0d6963f7d28e17f72");
        assert_eq!(
            f.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn multipart_etag_is_the_md5_of_part_md5s() {
        // 10 bytes in parts of 4: "0123", "4567", "89", fed in uneven chunks.
        let data = b"0123456789";
        let mut parts = Vec::new();
        for chunk in data.chunks(4) {
            parts.extend_from_slice(&Md5::digest(chunk));
        }
        let want = format!("{}-3", hex(&Md5::digest(&parts)));
        let mut d = Digests::new(Some(&want), Some(4), Some(10), false);
        d.update(&data[..3]);
        d.update(&data[3..9]);
        d.update(&data[9..]);
        let f = d.finish(Some(&want));
        assert_eq!(f.etag, Some((want, Some(4))));
        // An exact multiple of the part size has no empty trailing part.
        let mut d = Digests::new(
            Some("00000000000000000000000000000000-2"),
            Some(5),
            None,
            false,
        );
        d.update(data);
        let mut two = Vec::new();
        for chunk in data.chunks(5) {
            two.extend_from_slice(&Md5::digest(chunk));
        }
        assert_eq!(
            d.finish(None).etag.unwrap().0,
            format!("{}-2", hex(&Md5::digest(&two)))
        );
    }

    #[test]
    fn default_part_sizes_are_filtered_by_the_part_count() {
        let size = 20 << 20; // 20 MiB: 3 parts of 8 MiB, 4 of 5 MiB, 2 of 16 MiB
        let d = Digests::new(
            Some("00000000000000000000000000000000-3"),
            None,
            Some(size),
            false,
        );
        assert_eq!(d.finish(None).tried, vec![8 << 20]);
        let d = Digests::new(
            Some("00000000000000000000000000000000-4"),
            None,
            Some(size),
            false,
        );
        assert_eq!(d.finish(None).tried, vec![5 << 20]);
    }

    #[test]
    fn git_blob_id_matches_git() {
        // `printf 'hello\n' | git hash-object --stdin`
        let mut d = Digests::new(None, None, Some(6), true);
        d.update(b"hello\n");
        assert_eq!(
            d.finish(None).git_blob.as_deref(),
            Some("ce013625030ba8dba906f756967f9e9ca394464a")
        );
    }
}
