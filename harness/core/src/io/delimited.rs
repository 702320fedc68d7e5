//! Delimited text tables (CSV, TSV, optionally gzip-compressed): the bytes are read (and
//! decompressed) whole, their structure is checked ([`check_delimited`]: header names UTF-8 and
//! distinct, every record as wide as the header, quotes closed, values UTF-8, each problem
//! named by line and column) before polars sees them, then every row is scanned for column
//! types, so a value that breaks a column late in the file is still caught.

use std::io::{Cursor, Read};
use std::path::Path;

use polars::io::utils::compression::SupportedCompression;
use polars::prelude::*;

use super::delimited_check::check_delimited;
use super::{guarded, polars_at};
use crate::error::{Error, Result};

/// Reads a delimited table with `separator`, gzip-compressed when `gzip`, its structure checked
/// first.
pub(super) fn read_delimited(path: &Path, separator: u8, gzip: bool) -> Result<DataFrame> {
    let bytes = read_bytes(path, gzip)?;
    let shape = check_delimited(path, &bytes, separator)?;
    let df = guarded(path, || {
        CsvReadOptions::default()
            .with_has_header(true)
            // Scan every row for types: a value that breaks a column's type late in the file
            // must surface as a typed error, not as a silently stringly column.
            .with_infer_schema_length(None)
            .with_parse_options(CsvParseOptions::default().with_separator(separator))
            .into_reader_with_file_handle(Cursor::new(bytes))
            .finish()
            .map_err(|e| polars_at(path, e))
    })?;
    // The check and polars split records alike on every file the check accepts; a difference
    // would be a bug here, and silently shifted rows are what the check exists to prevent.
    if df.shape() != (shape.rows, shape.names.len()) {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            what: format!(
                "the table parsed as {} rows × {} columns, but the file holds {} records of {} \
                 fields",
                df.height(),
                df.width(),
                shape.rows,
                shape.names.len()
            ),
        });
    }
    Ok(df)
}

/// The file's bytes, gunzipped when `gzip` or when they start with a compression magic number
/// (polars would decompress those itself, after the structure check).
fn read_bytes(path: &Path, gzip: bool) -> Result<Vec<u8>> {
    let mut bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if gzip {
        bytes = gunzip(path, &bytes)?;
    }
    if SupportedCompression::check(&bytes).is_some() {
        let mut out = Vec::new();
        #[allow(deprecated)] // The whole table is in memory already; polars parses it so.
        polars::io::utils::compression::maybe_decompress_bytes(&bytes, &mut out).map_err(|e| {
            Error::Parse {
                path: path.to_path_buf(),
                what: format!(
                    "the data starts like a compressed stream but does not decompress: {e}"
                ),
            }
        })?;
        bytes = out;
    }
    Ok(bytes)
}

fn gunzip(path: &Path, raw: &[u8]) -> Result<Vec<u8>> {
    if raw.is_empty() {
        return Ok(Vec::new()); // An empty file: said so by the structure check.
    }
    if !raw.starts_with(&[0x1f, 0x8b]) {
        return Err(Error::Parse {
            path: path.to_path_buf(),
            what: "not a valid gzip file: it does not start with the gzip magic bytes 1f 8b".into(),
        });
    }
    let mut out = Vec::with_capacity(raw.len() * 4);
    flate2::read::MultiGzDecoder::new(raw)
        .read_to_end(&mut out)
        .map_err(|e| {
            let what = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                format!(
                    "truncated gzip stream: the file ends before the compressed data does \
                     ({} bytes decompressed)",
                    out.len()
                )
            } else {
                format!("not a valid gzip file: {e}")
            };
            Error::Parse {
                path: path.to_path_buf(),
                what,
            }
        })?;
    Ok(out)
}
