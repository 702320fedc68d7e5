//! Reading Parquet: a whole file ([`read_parquet`], which refuses one without columns) or a
//! projection of its columns ([`read_parquet_columns`], used to decode profile features one
//! block at a time). The whole file's structure is checked first ([`check_parquet`], in
//! [`read_parquet`] and, for profiles, once before the column blocks are read).
//!
//! Page contents are polars' to decode, and damaged ones make it fail with an error or panic
//! (a flipped byte in a page: `assertion failed: offset + length <= self.length`). Either way
//! the read becomes an error naming the file and, found by decoding each column (then each of
//! its row groups) on its own, the first column and row group that fail; the panic is caught
//! and not printed (`guarded` in `io`).

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::parquet_check::check_parquet;
use super::{catch_quiet_panic, guarded, polars_at};
use crate::error::{Error, Result};

/// Reads a whole Parquet file; a file without columns is [`Error::Empty`].
pub(super) fn read_parquet(path: &Path) -> Result<DataFrame> {
    check_parquet(path)?;
    let df = decode(path, None, None).map_err(|f| locate(path, None, f))?;
    if df.width() == 0 {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: "the Parquet file has no columns".into(),
        });
    }
    Ok(df)
}

/// Reads the Parquet columns at `projection`, returned in the order of `names`, from a file
/// [`check_parquet`] accepted.
pub(super) fn read_parquet_columns(
    path: &Path,
    projection: Vec<usize>,
    names: &[String],
) -> Result<Vec<Column>> {
    let df = decode(path, Some(projection.clone()), None)
        .map_err(|f| locate(path, Some(&projection), f))?;
    names
        .iter()
        .map(|name| df.column(name).cloned().map_err(|e| polars_at(path, e)))
        .collect()
}

/// Why one polars read failed.
enum Failure {
    /// File access.
    Io(Error),
    /// polars' error.
    Polars(PolarsError),
    /// The message of a panic inside polars, caught.
    Panic(String),
}

impl Failure {
    /// What failed, for a message that names the column.
    fn describe(&self) -> String {
        match self {
            Failure::Io(e) => e.to_string(),
            Failure::Polars(e) => format!("its data cannot be decoded: {e}"),
            Failure::Panic(reason) => {
                format!("its data is corrupt: the reader failed on it ({reason})")
            }
        }
    }

    /// The error when no single column can be blamed.
    fn into_error(self, path: &Path) -> Error {
        match self {
            Failure::Io(e) => e,
            Failure::Polars(e) => polars_at(path, e),
            Failure::Panic(reason) => Error::Parse {
                path: path.to_path_buf(),
                what: format!("the file is corrupt: the reader failed on it ({reason})"),
            },
        }
    }
}

/// One polars read of the columns at `projection` (all when `None`), of the rows in `slice`
/// (`(offset, length)`; all when `None`), with a panic inside polars caught quietly.
fn decode(
    path: &Path,
    projection: Option<Vec<usize>>,
    slice: Option<(usize, usize)>,
) -> std::result::Result<DataFrame, Failure> {
    let file = File::open(path).map_err(|e| Failure::Io(Error::io(path, e)))?;
    match catch_quiet_panic(|| {
        ParquetReader::new(file)
            .with_projection(projection)
            .with_slice(slice)
            .finish()
    }) {
        Ok(Ok(df)) => Ok(df),
        Ok(Err(e)) => Err(Failure::Polars(e)),
        Err(reason) => Err(Failure::Panic(reason)),
    }
}

/// The error of a failed read of `projection` (every column when `None`): the first of those
/// columns that fails when decoded alone and, when decoding its row groups one at a time finds
/// one, the first row group that fails, as [`Error::Parse`]; otherwise `failure`'s own error.
/// Only reached on failure, so decoding the columns again costs nothing on a good file.
fn locate(path: &Path, projection: Option<&[usize]>, failure: Failure) -> Error {
    let layout = File::open(path).ok().and_then(|file| {
        let mut reader = ParquetReader::new(file);
        guarded(path, || {
            let schema = reader.schema().map_err(|e| polars_at(path, e))?;
            let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
            let meta = reader.get_metadata().map_err(|e| polars_at(path, e))?;
            let groups: Vec<usize> = meta.row_groups.iter().map(|g| g.num_rows()).collect();
            Ok((names, groups))
        })
        .ok()
    });
    let Some((names, groups)) = layout else {
        return failure.into_error(path);
    };
    let columns: Vec<usize> =
        projection.map_or_else(|| (0..names.len()).collect(), <[usize]>::to_vec);
    for c in columns {
        let Err(whole) = decode(path, Some(vec![c]), None) else {
            continue;
        };
        let name = names.get(c).map_or("?", String::as_str);
        let mut start = 0;
        for (g, &rows) in groups.iter().enumerate() {
            if let Err(part) = decode(path, Some(vec![c]), Some((start, rows))) {
                return Error::Parse {
                    path: path.to_path_buf(),
                    what: format!(
                        "column '{name}', row group {} of {}: {}",
                        g + 1,
                        groups.len(),
                        part.describe()
                    ),
                };
            }
            start += rows;
        }
        return Error::Parse {
            path: path.to_path_buf(),
            what: format!("column '{name}': {}", whole.describe()),
        };
    }
    failure.into_error(path)
}
