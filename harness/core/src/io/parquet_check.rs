//! The structure of a Parquet file, checked before polars decodes it: polars unwraps on some
//! corrupt page headers (an unknown encoding panics) and trusts value counts for its
//! allocations (a corrupt count aborts the process on an impossible allocation), so a truncated
//! or damaged file must be stopped here.
//!
//! [`check_parquet`] reads the footer and every page header (a few kilobytes at each page's
//! start, not the pages) and checks that
//!
//! - the file starts and ends with `PAR1` and the footer length fits in the file (a truncated
//!   file fails here);
//! - the footer decodes, its row count is the sum of its row groups', and every column chunk lies
//!   inside the file's data, before the footer;
//! - each flat column chunk holds one value per row of its row group, and its data pages hold
//!   exactly those values, with known encodings and non-negative sizes.
//!
//! Each problem is [`Error::Parse`] naming the file and, past the footer, the column and the
//! 1-based row group. Page contents (values, compressed bytes) are left to polars, whose errors
//! name the file; a panic there is caught, quietly (`guarded` in `io`).

use std::fs::File;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::path::Path;

use polars_parquet::parquet::encoding::Encoding;
use polars_parquet::parquet::metadata::ColumnChunkMetadata;
use polars_parquet::parquet::page::{CompressedPage, DataPageHeader};
use polars_parquet::parquet::read::{PageMetaData, PageReader, read_metadata};

use super::catch_quiet_panic;
use crate::error::{Error, Result};

const MAGIC: &[u8; 4] = b"PAR1";

/// Checks the footer and page headers of the Parquet file at `path`.
pub(super) fn check_parquet(path: &Path) -> Result<()> {
    check_parquet_with(path, HEADER_WINDOW)
}

/// [`check_parquet`], reading `window` bytes at each page's start.
fn check_parquet_with(path: &Path, window: usize) -> Result<()> {
    let bad = |what: String| Error::Parse {
        path: path.to_path_buf(),
        what,
    };
    let mut file = File::open(path).map_err(|e| Error::io(path, e))?;
    let len = file.metadata().map_err(|e| Error::io(path, e))?.len();
    if len < 12 {
        return Err(bad(format!(
            "not a Parquet file, or a truncated one: {len} bytes, fewer than the 12 of an empty \
             Parquet file"
        )));
    }
    let mut head = [0u8; 4];
    let mut tail = [0u8; 8];
    let io = |e| Error::io(path, e);
    file.read_exact(&mut head).map_err(io)?;
    file.seek(SeekFrom::End(-8)).map_err(io)?;
    file.read_exact(&mut tail).map_err(io)?;
    if &head != MAGIC {
        return Err(bad(
            "not a Parquet file: it does not start with the magic bytes PAR1".into(),
        ));
    }
    if &tail[4..] != MAGIC {
        return Err(bad(
            "truncated or corrupt Parquet file: it does not end with the magic bytes PAR1 \
             (the footer is missing; was the write cut short?)"
                .into(),
        ));
    }
    let footer_len = u64::from(u32::from_le_bytes([tail[0], tail[1], tail[2], tail[3]]));
    if footer_len + 12 > len {
        return Err(bad(format!(
            "corrupt Parquet footer: its length field says {footer_len} bytes, but the file has \
             only {len}"
        )));
    }
    let data_end = len - 8 - footer_len;
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let meta = match catch_quiet_panic(|| read_metadata(&mut file)) {
        Ok(Ok(meta)) => meta,
        Ok(Err(e)) => return Err(bad(format!("corrupt Parquet footer: {e}"))),
        Err(panic) => {
            return Err(bad(format!(
                "corrupt Parquet footer: the decoder failed on it ({panic})"
            )));
        }
    };
    let groups = meta.row_groups.len();
    let total: u128 = meta.row_groups.iter().map(|g| g.num_rows() as u128).sum();
    if total != meta.num_rows as u128 {
        return Err(bad(format!(
            "corrupt Parquet footer: it counts {} rows, but its {groups} row groups hold {total}",
            meta.num_rows
        )));
    }
    for (g, group) in meta.row_groups.iter().enumerate() {
        for column in group.parquet_columns() {
            let at = |what: String| {
                bad(format!(
                    "column '{}', row group {} of {groups}: {what}",
                    column.descriptor().path_in_schema.join("."),
                    g + 1
                ))
            };
            catch_quiet_panic(|| {
                check_chunk(&mut file, column, group.num_rows(), data_end, window)
            })
            .unwrap_or_else(|panic| Err(format!("corrupt page: the decoder failed ({panic})")))
            .map_err(at)?;
        }
    }
    Ok(())
}

/// Checks one column chunk of a row group of `rows` rows; the file's data ends at `data_end`;
/// `header_window` bytes are read at each page's start.
fn check_chunk(
    file: &mut File,
    column: &ColumnChunkMetadata,
    rows: usize,
    data_end: u64,
    header_window: usize,
) -> std::result::Result<(), String> {
    let start = column
        .dictionary_page_offset()
        .unwrap_or(column.data_page_offset());
    let size = column.compressed_size();
    let end = start.checked_add(size);
    if start < 4 || size < 0 || end.is_none_or(|e| e as u64 > data_end) {
        return Err(format!(
            "its pages ({size} bytes from byte {start}) lie outside the file's data (bytes 4 to \
             {data_end}): the file is truncated or corrupt"
        ));
    }
    let values = column.num_values();
    let flat = column.descriptor().descriptor.max_rep_level == 0;
    if values < 0 || (flat && values as u64 != rows as u64) {
        return Err(format!(
            "the footer gives it {values} values for {rows} rows"
        ));
    }
    let (start, size) = (start as u64, size as usize);
    let compression = column.compression();
    let descriptor = &column.descriptor().descriptor;
    let (mut offset, mut seen) = (0usize, 0i64);
    while seen < values {
        if offset >= size {
            break;
        }
        let meta = PageMetaData::new(0, values - seen, compression, descriptor.clone());
        let mut window = header_window.min(size - offset);
        let (page, consumed) = loop {
            let read = read_page(file, start + offset as u64, size - offset, window, &meta);
            let whole = window == size - offset;
            match read {
                // The header may run past the window: read the rest of the chunk and retry.
                Err(_) if !whole => window = size - offset,
                Err(e) => return Err(e),
                Ok((CompressedPage::Data(page), consumed))
                    if !whole && consumed - page.compressed_size() >= window =>
                {
                    window = size - offset;
                }
                // A dictionary page's size is not exposed: read whole, its end is exact.
                Ok((CompressedPage::Dict(_), _)) if !whole => window = size - offset,
                Ok(done) => break done,
            }
        };
        offset += consumed;
        let page = match page {
            CompressedPage::Dict(_) if seen == 0 && offset == consumed => continue,
            CompressedPage::Dict(_) => return Err("a second dictionary page".into()),
            CompressedPage::Data(page) => page,
        };
        let (n, encodings) = match page.header() {
            DataPageHeader::V1(h) => (
                h.num_values,
                vec![
                    h.encoding,
                    h.definition_level_encoding,
                    h.repetition_level_encoding,
                ],
            ),
            DataPageHeader::V2(h) => {
                let levels = i64::from(h.definition_levels_byte_length)
                    + i64::from(h.repetition_levels_byte_length);
                if h.num_nulls < 0
                    || h.num_nulls > h.num_values
                    || h.num_rows < 0
                    || h.definition_levels_byte_length < 0
                    || h.repetition_levels_byte_length < 0
                    || levels > page.uncompressed_size() as i64
                {
                    return Err(format!(
                        "corrupt page header: {} values, {} nulls, {} rows, {levels} bytes of \
                         levels in {} bytes",
                        h.num_values,
                        h.num_nulls,
                        h.num_rows,
                        page.uncompressed_size()
                    ));
                }
                (h.num_values, vec![h.encoding])
            }
        };
        if n < 0 || seen + i64::from(n) > values {
            return Err(format!(
                "corrupt page header: a page of {n} values after {seen} of the chunk's {values}"
            ));
        }
        seen += i64::from(n);
        for e in encodings {
            Encoding::try_from(e)
                .map_err(|_| format!("corrupt page header: unknown encoding {}", e.0))?;
        }
    }
    if seen != values {
        return Err(format!(
            "its pages hold {seen} values, but the footer gives it {values}"
        ));
    }
    Ok(())
}

/// Bytes read at a page's start to decode its header (headers are a few dozen bytes, more with
/// statistics); a header that does not fit is decoded again from the rest of the chunk.
const HEADER_WINDOW: usize = 4096;

/// Decodes the page at `at` of the file, `left` bytes before its column chunk ends, reading only
/// its first `window` bytes: the rest of the buffer stays zeroed and untouched (the page body is
/// sliced, never read), so a chunk costs a few kilobytes per page, not its size. Returns the page
/// and the bytes it spans (header and body).
fn read_page(
    file: &mut File,
    at: u64,
    left: usize,
    window: usize,
    meta: &PageMetaData,
) -> std::result::Result<(CompressedPage, usize), String> {
    let mut bytes = vec![0u8; left];
    file.seek(SeekFrom::Start(at))
        .and_then(|_| file.read_exact(&mut bytes[..window]))
        .map_err(|e| format!("its pages cannot be read: {e}"))?;
    let mut pages =
        PageReader::new_with_page_meta(Cursor::new(bytes.into()), meta.clone(), Vec::new(), left);
    let page = pages
        .next()
        .ok_or("its pages end early")?
        .map_err(|e| format!("corrupt page: {e}"))?;
    let (cursor, _) = pages.into_inner();
    Ok((page, cursor.position() as usize))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/fuzz/tables")
    }

    /// Headers read through windows smaller than themselves are read again whole: the verdict
    /// on every corpus file is the one of the default window.
    #[test]
    fn small_header_windows_give_the_same_verdicts() {
        let mut files: Vec<_> = std::fs::read_dir(corpus())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
            .collect();
        files.sort();
        assert!(files.len() >= 10);
        for path in files {
            let want = check_parquet(&path).map_err(|e| e.to_string());
            for window in [1, 2, 5, 16, 100] {
                let got = check_parquet_with(&path, window).map_err(|e| e.to_string());
                assert_eq!(got, want, "{} with a window of {window}", path.display());
            }
        }
    }
}
