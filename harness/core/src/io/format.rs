//! The on-disk table formats and how a path names one: `.csv`, `.tsv` / `.txt` (each optionally
//! `.gz`) and `.parquet` / `.pq`, case-insensitively. Any other name is
//! [`Error::UnsupportedFormat`]; nothing here opens a file.

use std::path::Path;

use crate::error::{Error, Result};

/// On-disk table formats, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text, optionally gzip-compressed.
    Delimited {
        /// Field separator (`,` or tab).
        separator: u8,
        /// Whether the file is gzip-compressed.
        gzip: bool,
    },
    /// Apache Parquet.
    Parquet,
}

impl Format {
    /// The format a path's extension names.
    pub fn of(path: &Path) -> Result<Format> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_lowercase())
            .unwrap_or_default();
        let (stem, gzip) = match name.strip_suffix(".gz") {
            Some(stem) => (stem.to_string(), true),
            None => (name, false),
        };
        if stem.ends_with(".csv") {
            Ok(Format::Delimited {
                separator: b',',
                gzip,
            })
        } else if stem.ends_with(".tsv") || stem.ends_with(".txt") {
            Ok(Format::Delimited {
                separator: b'\t',
                gzip,
            })
        } else if !gzip && (stem.ends_with(".parquet") || stem.ends_with(".pq")) {
            Ok(Format::Parquet)
        } else {
            Err(Error::UnsupportedFormat {
                path: path.to_path_buf(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_extension() {
        assert_eq!(
            Format::of(Path::new("a.csv.gz")).unwrap(),
            Format::Delimited {
                separator: b',',
                gzip: true
            }
        );
        assert_eq!(
            Format::of(Path::new("a.TSV")).unwrap(),
            Format::Delimited {
                separator: b'\t',
                gzip: false
            }
        );
        assert_eq!(Format::of(Path::new("a.parquet")).unwrap(), Format::Parquet);
        let e = Format::of(Path::new("a.xlsx")).unwrap_err();
        assert!(e.to_string().contains("a.xlsx: unsupported format"), "{e}");
    }
}
