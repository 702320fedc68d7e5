//! Delimited text tables (CSV, TSV, optionally gzip-compressed): the bytes are read (and
//! decompressed) whole, the header line is checked for emptiness and duplicate names before
//! polars sees it (polars would rename duplicates silently), then every row is scanned for
//! column types, so a value that breaks a column late in the file is still caught.

use std::io::{Cursor, Read};
use std::path::Path;

use polars::prelude::*;

use super::polars_at;
use crate::error::{Error, Result};

/// Reads a delimited table with `separator`, gzip-compressed when `gzip`, its header checked
/// first.
pub(super) fn read_delimited(path: &Path, separator: u8, gzip: bool) -> Result<DataFrame> {
    let bytes = read_bytes(path, gzip)?;
    check_header(path, &bytes, separator)?;
    CsvReadOptions::default()
        .with_has_header(true)
        // Scan every row for types: a value that breaks a column's type late in the file
        // must surface as a typed error, not as a silently stringly column.
        .with_infer_schema_length(None)
        .with_parse_options(CsvParseOptions::default().with_separator(separator))
        .into_reader_with_file_handle(Cursor::new(bytes))
        .finish()
        .map_err(|e| polars_at(path, e))
}

fn read_bytes(path: &Path, gzip: bool) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if !gzip {
        return Ok(raw);
    }
    let mut out = Vec::with_capacity(raw.len() * 4);
    flate2::read::MultiGzDecoder::new(&raw[..])
        .read_to_end(&mut out)
        .map_err(|e| {
            Error::io(
                path,
                std::io::Error::new(e.kind(), format!("not a valid gzip file: {e}")),
            )
        })?;
    Ok(out)
}

/// Rejects an empty file and duplicate header names before polars sees them (polars would
/// rename duplicates silently).
fn check_header(path: &Path, bytes: &[u8], separator: u8) -> Result<()> {
    let text_end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .unwrap_or(bytes.len());
    let line = String::from_utf8_lossy(&bytes[..text_end]);
    let line = line.trim_end_matches('\r');
    if line.trim().is_empty() {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: "the file is empty (no header line)".into(),
        });
    }
    let names = split_header(line, separator as char);
    let mut seen = std::collections::HashMap::new();
    for (i, name) in names.iter().enumerate() {
        if let Some(first) = seen.insert(name.as_str(), i) {
            return Err(Error::DuplicateColumn {
                path: path.to_path_buf(),
                column: name.clone(),
                first: first + 1,
                second: i + 1,
            });
        }
    }
    Ok(())
}

fn split_header(line: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == sep && !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}
