//! Reading Parquet: a whole file ([`read_parquet`], which refuses one without columns) or a
//! projection of its columns ([`read_parquet_columns`], used to decode profile features one
//! block at a time). The whole file's structure is checked first ([`check_parquet`], in
//! [`read_parquet`] and, for profiles, once before the column blocks are read); polars errors
//! name the file, and a panic inside polars is caught as an error naming it.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::parquet_check::check_parquet;
use super::{guarded, polars_at};
use crate::error::{Error, Result};

/// Reads a whole Parquet file; a file without columns is [`Error::Empty`].
pub(super) fn read_parquet(path: &Path) -> Result<DataFrame> {
    check_parquet(path)?;
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let df = guarded(path, || {
        ParquetReader::new(file)
            .finish()
            .map_err(|e| polars_at(path, e))
    })?;
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
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let df = guarded(path, || {
        ParquetReader::new(file)
            .with_projection(Some(projection))
            .finish()
            .map_err(|e| polars_at(path, e))
    })?;
    names
        .iter()
        .map(|name| df.column(name).cloned().map_err(|e| polars_at(path, e)))
        .collect()
}
