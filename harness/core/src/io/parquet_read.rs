//! Reading Parquet: a whole file ([`read_parquet`], which refuses one without columns) or a
//! projection of its columns ([`read_parquet_columns`], used to decode profile features one
//! block at a time). polars errors name the file.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::polars_at;
use crate::error::{Error, Result};

/// Reads a whole Parquet file; a file without columns is [`Error::Empty`].
pub(super) fn read_parquet(path: &Path) -> Result<DataFrame> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let df = ParquetReader::new(file)
        .finish()
        .map_err(|e| polars_at(path, e))?;
    if df.width() == 0 {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: "the Parquet file has no columns".into(),
        });
    }
    Ok(df)
}

/// Reads the Parquet columns at `projection`, returned in the order of `names`.
pub(super) fn read_parquet_columns(
    path: &Path,
    projection: Vec<usize>,
    names: &[String],
) -> Result<Vec<Column>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let df = ParquetReader::new(file)
        .with_projection(Some(projection))
        .finish()
        .map_err(|e| polars_at(path, e))?;
    names
        .iter()
        .map(|name| df.column(name).cloned().map_err(|e| polars_at(path, e)))
        .collect()
}
