//! Writing tables in the format the path's extension names, always atomically (through
//! `atomic`): [`write_table`] for any table, [`write_profiles`] for profiles (metadata then
//! features as `Float32`, or `Float64` for `Profiles<f64>`), and [`to_frame`] to join profiles
//! into one table. Delimited text writes each value's shortest round-trip digits for its type,
//! so an `f64` table reads back bit for bit.
//!
//! Profiles go out in batches of rows, so the feature matrix is never copied into a whole
//! table at once: delimited text through polars' batched CSV writer (gzip when the name ends
//! in `.gz`), Parquet through `parquet_write`, one row group per batch.

use std::io::{BufWriter, Write};
use std::path::Path;

use polars::prelude::*;

use super::parquet_write::write_parquet_profiles;
use super::polars_at;
use super::transpose::{BLOCK_COLS, gather_columns};
use super::values::FeatureFloat;
use super::{Commit, Format, write_atomic};
use crate::error::{Error, Result};
use crate::profiles::Profiles;

/// Rows per written batch are chosen so one batch of features takes about this many bytes: the
/// full matrix is never copied into a table at once.
const WRITE_BATCH_BYTES: usize = 32 << 20;

/// Writes profiles (metadata then features) in the format the extension names, atomically.
///
/// Rows go out in batches (Parquet: one row group each), so the features are never copied into
/// a whole table at once.
pub fn write_profiles<T: FeatureFloat>(profiles: &Profiles<T>, path: &Path) -> Result<()> {
    let batch_rows = (WRITE_BATCH_BYTES / (size_of::<T>() * profiles.n_features().max(1))).max(1);
    write_profiles_batched(profiles, path, batch_rows)
}

/// [`write_profiles`] with `batch_rows` rows per batch (Parquet: per row group).
pub(super) fn write_profiles_batched<T: FeatureFloat>(
    profiles: &Profiles<T>,
    path: &Path,
    batch_rows: usize,
) -> Result<()> {
    let format = Format::of(path)?;
    if format == Format::Parquet {
        return write_atomic(path, |file| {
            write_parquet_profiles(profiles, file, batch_rows).map_err(|e| polars_at(path, e))
        });
    }
    let n = profiles.n_rows();
    let batch = |start: usize| -> Result<DataFrame> {
        let mut df = frame_rows(profiles, start, batch_rows.min(n - start))?;
        // Sliced metadata may keep several chunks; the batched CSV writer needs aligned ones.
        df.rechunk_mut();
        Ok(df)
    };
    let starts = || (0..n.max(1)).step_by(batch_rows);
    write_atomic(path, |file| {
        let first = batch(0)?;
        let schema = first.schema().clone();
        let mut pending = Some(first);
        let mut next = |start: usize| match pending.take() {
            Some(df) => Ok(df),
            None => batch(start),
        };
        let fail = |e| polars_at(path, e);
        let Format::Delimited { separator, gzip } = format else {
            unreachable!("Parquet is written above")
        };
        let mut write_csv = |out: &mut dyn Write| -> Result<()> {
            let mut w = CsvWriter::new(out)
                .with_separator(separator)
                .batched(&schema)
                .map_err(fail)?;
            for start in starts() {
                w.write_batch(&next(start)?).map_err(fail)?;
            }
            w.finish().map_err(fail)
        };
        // The buffers are flushed here: dropping them would swallow a write error.
        if gzip {
            let mut enc =
                flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
            write_csv(&mut enc)?;
            let mut buf = enc.finish().map_err(|e| Error::io(path, e))?;
            buf.flush().map_err(|e| Error::io(path, e))
        } else {
            let mut buf = BufWriter::new(file);
            write_csv(&mut buf)?;
            buf.flush().map_err(|e| Error::io(path, e))
        }
    })
}

/// Joins metadata and features into one table, feature columns as `Float32` (`Float64` for
/// `Profiles<f64>`).
pub fn to_frame<T: FeatureFloat>(profiles: &Profiles<T>) -> Result<DataFrame> {
    frame_rows(profiles, 0, profiles.n_rows())
}

/// Rows `start..start + len` of the profiles as a table, feature columns of type `T`.
fn frame_rows<T: FeatureFloat>(
    profiles: &Profiles<T>,
    start: usize,
    len: usize,
) -> Result<DataFrame> {
    let d = profiles.n_features();
    let rows = &profiles.features()[start * d..(start + len) * d];
    let mut cols: Vec<Column> = profiles.meta().slice(start as i64, len).into_columns();
    cols.reserve(d);
    let names = profiles.feature_names();
    for j0 in (0..d).step_by(BLOCK_COLS) {
        let width = BLOCK_COLS.min(d - j0);
        let block = gather_columns(rows, d, j0, width);
        for (values, name) in block.into_iter().zip(&names[j0..j0 + width]) {
            cols.push(T::column(name, values));
        }
    }
    Ok(DataFrame::new_infer_height(cols)?)
}

/// Writes a table in the format the extension names, atomically (no partial file on failure).
pub fn write_table(df: &mut DataFrame, path: &Path) -> Result<()> {
    write_tables(&mut [(df, path)])
}

/// Writes several tables that belong together (e.g. per-row and per-group results) as one
/// [`Commit`]: a reader, or a run killed half-way, never leaves one new and one old.
pub fn write_tables(tables: &mut [(&mut DataFrame, &Path)]) -> Result<()> {
    let mut commit = Commit::new();
    for (df, path) in tables.iter_mut() {
        stage_table(&mut commit, df, path)?;
    }
    commit.commit()
}

fn stage_table(commit: &mut Commit, df: &mut DataFrame, path: &Path) -> Result<()> {
    let format = Format::of(path)?;
    commit.stage(path, |file| {
        let res = match format {
            Format::Delimited {
                separator,
                gzip: false,
            } => CsvWriter::new(BufWriter::new(file))
                .with_separator(separator)
                .finish(df),
            Format::Delimited {
                separator,
                gzip: true,
            } => {
                let mut enc = flate2::write::GzEncoder::new(
                    BufWriter::new(file),
                    flate2::Compression::default(),
                );
                CsvWriter::new(&mut enc)
                    .with_separator(separator)
                    .finish(df)?;
                // Flush the inner buffer here: dropping it would swallow a write error.
                enc.finish()
                    .and_then(|mut buf| buf.flush())
                    .map_err(PolarsError::from)
            }
            Format::Parquet => ParquetWriter::new(file).finish(df).map(|_| ()),
        };
        res.map_err(|e| polars_at(path, e))
    })
}
