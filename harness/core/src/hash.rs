//! Provenance: streaming SHA-256 of files.

use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::Path;

/// Lowercase hex SHA-256 of a file, read in 1 MiB chunks (memory does not grow with the file).
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    sha256_file_with_progress(path, |_| {})
}

/// As [`sha256_file`], calling `progress` with the number of bytes read after each chunk.
pub fn sha256_file_with_progress(
    path: &Path,
    mut progress: impl FnMut(u64),
) -> std::io::Result<String> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        progress(n as u64);
    }
    Ok(to_hex(&hasher.finalize()))
}

/// Lowercase hex SHA-256 of bytes in memory.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    to_hex(&Sha256::digest(bytes))
}

fn to_hex(digest: &[u8]) -> String {
    use std::fmt::Write;
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        // NIST test vector for "abc".
        assert_eq!(
            sha256_bytes(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        // Larger than one chunk, so the streaming loop runs more than once.
        let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        let mut seen = 0;
        let h = sha256_file_with_progress(&p, |n| seen += n).unwrap();
        assert_eq!(h, sha256_bytes(&data));
        assert_eq!(seen, 3_000_000);
    }
}
