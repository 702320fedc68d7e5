//! Reading tables: [`read_table`] for any table (profiles, annotations), the profile readers
//! [`read_profiles`] / [`read_profiles_or_keys`], and [`OpenProfiles`], which reads a profile
//! table in two steps (metadata first; then the features of chosen rows only, or none).
//!
//! A profile table's columns are metadata when their name starts with one of the
//! [`ReadOptions`] prefixes and numeric features otherwise. Features are converted column block
//! by column block (Parquet ones read from disk only then) into a row-major `f32` matrix (`f64`
//! with [`read_profiles_as`]); the [`NonFinitePolicy`] is applied afterwards, and every error
//! names the file, the column and the 1-based row. The level is taken from the options or
//! guessed ([`guess_level`]). [`stored_feature_types`] tells which precision a Parquet table's
//! features were stored in, without reading them.

use std::fs::File;
use std::path::Path;

use polars::prelude::*;

use super::delimited::read_delimited;
use super::parquet_check::check_parquet;
use super::parquet_read::{read_parquet, read_parquet_columns};
use super::transpose::{BLOCK_COLS, scatter_columns};
use super::values::{FeatureFloat, describe_nonfinite, fill_numeric};
use super::{Format, NonFinitePolicy, ReadOptions, ReadReport};
use super::{guarded, polars_at};
use crate::error::{Error, Result};
use crate::profiles::{Level, Profiles};

/// Feature columns are read and converted in blocks of about this many bytes (at least
/// [`BLOCK_COLS`] columns), so only one block is ever decoded at a time.
const READ_BLOCK_BYTES: usize = 16 << 20;

/// Reads a profile table: metadata columns by prefix, every other column a numeric feature
/// (as `f32`, whatever the file stores).
pub fn read_profiles(path: &Path, opts: &ReadOptions) -> Result<(Profiles, ReadReport)> {
    read_profiles_as(path, opts)
}

/// [`read_profiles`] with the features as `T`: `f64` keeps a `Float64` column's values (and a
/// text table's digits) exactly, `f32` rounds each value once, as [`read_profiles`] does.
pub fn read_profiles_as<T: FeatureFloat>(
    path: &Path,
    opts: &ReadOptions,
) -> Result<(Profiles<T>, ReadReport)> {
    let table = open_split(path, opts)?;
    profiles_from(path, table, opts, None, None)
}

/// The stored types of a Parquet table's feature columns (by the metadata prefixes of `opts`),
/// read from its footer only: what a precision can be chosen by before reading. `None` for a
/// text table, which stores no types, and for a file that cannot be opened as Parquet (reading
/// it then reports why).
pub fn stored_feature_types(path: &Path, opts: &ReadOptions) -> Option<Vec<DataType>> {
    if Format::of(path).ok()? != Format::Parquet || check_parquet(path).is_err() {
        return None;
    }
    let file = File::open(path).ok()?;
    let schema = guarded(path, || {
        let mut reader = ParquetReader::new(file);
        reader.schema().map_err(|e| polars_at(path, e))
    })
    .ok()?;
    let is_meta = |name: &str| {
        opts.metadata_prefixes
            .iter()
            .any(|p| name.starts_with(p.as_str()))
    };
    Some(
        schema
            .iter()
            .filter(|(name, _)| !is_meta(name.as_str()))
            .map(|(_, field)| DataType::from_arrow_field(field))
            .collect(),
    )
}

/// Like [`read_profiles`], but a table with metadata columns only (a gene list, a crop index:
/// the plugin brings the representation) gives profiles without features instead of an error.
pub fn read_profiles_or_keys(path: &Path, opts: &ReadOptions) -> Result<Profiles> {
    OpenProfiles::open(path, opts)?.read_or_keys(None, None)
}

/// A profile table opened in two steps, so rows can be chosen before any feature is decoded:
/// [`OpenProfiles::open`] reads the metadata columns only (a Parquet table's features stay on
/// disk); the caller may add columns to that metadata (joins) and pick rows by it (filters on
/// sources, plates, plate types); [`OpenProfiles::read`] then decodes the features block by
/// block and keeps only the picked rows, so the feature matrix is never held for rows that
/// are dropped. Errors about values name the row of the file, not of the selection.
pub struct OpenProfiles {
    path: std::path::PathBuf,
    opts: ReadOptions,
    table: SplitTable,
}

impl OpenProfiles {
    /// Opens `path` and reads its metadata columns (every column is read for a text table,
    /// which cannot be read by column).
    pub fn open(path: &Path, opts: &ReadOptions) -> Result<OpenProfiles> {
        Ok(OpenProfiles {
            path: path.to_path_buf(),
            opts: opts.clone(),
            table: open_split(path, opts)?,
        })
    }

    /// Rows in the file.
    pub fn n_rows(&self) -> usize {
        self.table.n_rows
    }

    /// Names of the feature columns, in file order.
    pub fn feature_names(&self) -> &[String] {
        &self.table.feature_names
    }

    /// The metadata columns as a table (the columns are shared, not copied).
    pub fn metadata(&self) -> Result<DataFrame> {
        DataFrame::new_infer_height(self.table.meta.clone()).map_err(|e| polars_at(&self.path, e))
    }

    /// Decodes the features of the rows in `keep` (0-based file rows, ascending; every row when
    /// `None`), with `meta` (one row per file row, e.g. [`Self::metadata`] with joined columns)
    /// as their metadata, or the file's own metadata when `None`.
    pub fn read<T: FeatureFloat>(
        self,
        meta: Option<DataFrame>,
        keep: Option<&[usize]>,
    ) -> Result<(Profiles<T>, ReadReport)> {
        self.check_selection(meta.as_ref(), keep)?;
        profiles_from(&self.path, self.table, &self.opts, meta, keep)
    }

    /// [`Self::read`], except that a table with metadata columns only gives profiles without
    /// features (as [`read_profiles_or_keys`]).
    pub fn read_or_keys(self, meta: Option<DataFrame>, keep: Option<&[usize]>) -> Result<Profiles> {
        if self.table.feature_names.is_empty() && !self.table.meta.is_empty() {
            return self.read_keys(meta, keep);
        }
        Ok(self.read(meta, keep)?.0)
    }

    /// The metadata of the rows in `keep` without any feature (none is decoded): for readers
    /// that bring their own representation (an embedding looked up by key, image crops).
    pub fn read_keys(self, meta: Option<DataFrame>, keep: Option<&[usize]>) -> Result<Profiles> {
        self.check_selection(meta.as_ref(), keep)?;
        let meta = match meta {
            Some(m) => m,
            None => self.metadata()?,
        };
        if meta.width() == 0 {
            return Err(Error::Empty {
                path: self.path.clone(),
                what: format!(
                    "no metadata columns (none starts with {})",
                    self.opts.metadata_prefixes.join(", ")
                ),
            });
        }
        let meta = take_rows(&self.path, meta, keep)?;
        let level = self.opts.level.unwrap_or_else(|| guess_level(&meta));
        Profiles::new(meta, Vec::new(), Vec::new(), level)
    }

    fn check_selection(&self, meta: Option<&DataFrame>, keep: Option<&[usize]>) -> Result<()> {
        let n = self.table.n_rows;
        let bad = |what: String| Error::Empty {
            path: self.path.clone(),
            what,
        };
        if let Some(m) = meta
            && m.height() != n
        {
            return Err(bad(format!(
                "metadata of {} rows given for a table of {n} rows",
                m.height()
            )));
        }
        if let Some(k) = keep {
            if k.is_empty() {
                return Err(bad("no row is selected".into()));
            }
            if k.windows(2).any(|w| w[0] >= w[1]) || k.last().is_some_and(|&i| i >= n) {
                return Err(bad(format!(
                    "the selected rows must be ascending 0-based rows below {n}"
                )));
            }
        }
        Ok(())
    }
}

/// The rows `keep` of `meta` (all when `None`).
fn take_rows(path: &Path, meta: DataFrame, keep: Option<&[usize]>) -> Result<DataFrame> {
    let Some(keep) = keep else {
        return Ok(meta);
    };
    let idx: Vec<IdxSize> = keep.iter().map(|&i| i as IdxSize).collect();
    let idx = IdxCa::from_vec("rows".into(), idx);
    meta.take(&idx).map_err(|e| polars_at(path, e))
}

fn open_split(path: &Path, opts: &ReadOptions) -> Result<SplitTable> {
    let is_meta = |name: &str| {
        opts.metadata_prefixes
            .iter()
            .any(|p| name.starts_with(p.as_str()))
    };
    SplitTable::open(path, &is_meta)
}

fn profiles_from<T: FeatureFloat>(
    path: &Path,
    mut table: SplitTable,
    opts: &ReadOptions,
    meta: Option<DataFrame>,
    keep: Option<&[usize]>,
) -> Result<(Profiles<T>, ReadReport)> {
    let n_file = table.n_rows;
    // Row i of the result is row file_row(i) of the file.
    let file_row = |i: usize| keep.map_or(i, |k| k[i]);
    let n = keep.map_or(n_file, <[usize]>::len);
    if table.feature_names.is_empty() {
        return Err(Error::NoFeatures {
            path: path.to_path_buf(),
            reason: format!(
                "every column starts with a metadata prefix ({})",
                opts.metadata_prefixes.join(", ")
            ),
        });
    }
    let d = table.feature_names.len();
    let mut names = std::mem::take(&mut table.feature_names);
    let mut features = vec![T::default(); n * d];
    let mut finite_cols = vec![true; d];
    // (file row, column, description) of the first non-finite value, row-major order.
    let mut first_bad: Option<(usize, usize, String)> = None;
    // Each block is one projected Parquet read, which parses the footer again: blocks of
    // READ_BLOCK_BYTES keep those few on tall-and-narrow and short-and-wide tables alike.
    let block_cols = (READ_BLOCK_BYTES / (size_of::<T>() * n_file)).clamp(BLOCK_COLS.min(d), d);
    let mut block = vec![T::default(); n * block_cols];
    // With a row selection each column is converted whole into this buffer, then only the
    // selected rows are copied out.
    let mut whole = vec![T::default(); if keep.is_some() { n_file } else { 0 }];
    for j0 in (0..d).step_by(block_cols) {
        let width = block_cols.min(d - j0);
        // Each block's columns are owned here and freed once converted.
        for (b, col) in table
            .feature_block(path, &names[j0..j0 + width])?
            .into_iter()
            .enumerate()
        {
            let s = col.as_materialized_series();
            let out = &mut block[b * n..(b + 1) * n];
            match keep {
                None => fill_numeric(path, s, opts, out)?,
                Some(rows) => {
                    fill_numeric(path, s, opts, &mut whole)?;
                    for (o, &r) in out.iter_mut().zip(rows) {
                        *o = whole[r];
                    }
                }
            }
            if let Some(i) = out.iter().position(|v| !v.is_finite()) {
                finite_cols[j0 + b] = false;
                let row = file_row(i);
                let earlier = first_bad.as_ref().is_some_and(|(r, _, _)| *r <= row);
                if opts.nonfinite == NonFinitePolicy::Error && !earlier {
                    first_bad = Some((row, j0 + b, describe_nonfinite(out[i], s, row)));
                }
            }
        }
        scatter_columns(&block[..width * n], n, &mut features, d, j0);
    }
    drop(block);
    drop(whole);
    let meta_cols = table.meta;
    if meta_cols.is_empty() && meta.is_none() {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: format!(
                "no metadata columns (none starts with {}); pass the prefix your table uses with --metadata-prefix",
                opts.metadata_prefixes.join(", ")
            ),
        });
    }
    let meta = match meta {
        Some(m) => m,
        None => DataFrame::new_infer_height(meta_cols).map_err(|e| polars_at(path, e))?,
    };
    let mut meta = take_rows(path, meta, keep)?;
    let mut report = ReadReport::default();

    match opts.nonfinite {
        NonFinitePolicy::Keep => {}
        NonFinitePolicy::Error => {
            if let Some((i, j, value)) = first_bad {
                return Err(Error::NonFinite {
                    path: path.to_path_buf(),
                    column: names[j].clone(),
                    row: i + 1,
                    value,
                });
            }
        }
        NonFinitePolicy::DropColumns => {
            report.dropped_columns = names
                .iter()
                .zip(&finite_cols)
                .filter(|(_, k)| !**k)
                .map(|(n, _)| n.clone())
                .collect();
            let kept: Vec<usize> = (0..d).filter(|&j| finite_cols[j]).collect();
            if kept.is_empty() {
                return Err(Error::NoFeatures {
                    path: path.to_path_buf(),
                    reason: "every feature column holds NaN, missing or infinite values".into(),
                });
            }
            if kept.len() < d {
                // In place: row i's kept values land at or before where row i starts.
                let dk = kept.len();
                for i in 0..n {
                    for (k, &j) in kept.iter().enumerate() {
                        features[i * dk + k] = features[i * d + j];
                    }
                }
                features.truncate(n * dk);
                features.shrink_to_fit();
                let mut k = finite_cols.iter();
                names.retain(|_| *k.next().unwrap_or(&true));
            }
        }
        NonFinitePolicy::DropRows => {
            let finite_rows: Vec<bool> = features
                .chunks_exact(d)
                .map(|row| row.iter().all(|v| v.is_finite()))
                .collect();
            report.dropped_rows = (0..n)
                .filter(|&i| !finite_rows[i])
                .map(|i| file_row(i) + 1)
                .collect();
            if !report.dropped_rows.is_empty() {
                if report.dropped_rows.len() == n {
                    return Err(Error::Empty {
                        path: path.to_path_buf(),
                        what: "every row holds a NaN, missing or infinite feature value".into(),
                    });
                }
                let mask = BooleanChunked::from_slice("keep".into(), &finite_rows);
                meta = meta.filter(&mask).map_err(|e| polars_at(path, e))?;
                let mut to = 0;
                for (i, _) in finite_rows.iter().enumerate().filter(|(_, k)| **k) {
                    features.copy_within(i * d..(i + 1) * d, to * d);
                    to += 1;
                }
                features.truncate(to * d);
                features.shrink_to_fit();
            }
        }
    }

    let level = match opts.level {
        Some(l) => l,
        None => {
            report.level_guessed = true;
            guess_level(&meta)
        }
    };
    Ok((Profiles::new(meta, features, names, level)?, report))
}

/// A profile table's columns split into metadata and features; Parquet features stay on disk
/// until asked for, so only one block of them is ever decoded at a time.
struct SplitTable {
    n_rows: usize,
    meta: Vec<Column>,
    feature_names: Vec<String>,
    features: FeatureColumns,
}

/// Where the feature columns of a [`SplitTable`] come from.
enum FeatureColumns {
    /// Parsed already (delimited text), in file order.
    Loaded(Vec<Column>),
    /// Parquet column indices, in file order, not read yet.
    Parquet(Vec<usize>),
}

impl SplitTable {
    /// Opens a table with the same checks, in the same order, as [`read_table`], then rejects a
    /// table without data rows.
    fn open(path: &Path, is_meta: &dyn Fn(&str) -> bool) -> Result<SplitTable> {
        let no_rows = || Error::Empty {
            path: path.to_path_buf(),
            what: "the table has a header but no data rows".into(),
        };
        let mut table = SplitTable {
            n_rows: 0,
            meta: Vec::new(),
            feature_names: Vec::new(),
            features: FeatureColumns::Loaded(Vec::new()),
        };
        if Format::of(path)? != Format::Parquet {
            let df = read_table(path)?;
            table.n_rows = df.height();
            if table.n_rows == 0 {
                return Err(no_rows());
            }
            let mut loaded = Vec::new();
            for col in df.into_columns() {
                if is_meta(col.name()) {
                    table.meta.push(col);
                } else {
                    table.feature_names.push(col.name().to_string());
                    loaded.push(col);
                }
            }
            table.features = FeatureColumns::Loaded(loaded);
            return Ok(table);
        }
        check_parquet(path)?;
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut reader = ParquetReader::new(file);
        let (schema, n_rows) = guarded(path, || {
            let schema = reader.schema().map_err(|e| polars_at(path, e))?;
            let n_rows = reader.num_rows().map_err(|e| polars_at(path, e))?;
            Ok((schema, n_rows))
        })?;
        if schema.is_empty() {
            return Err(Error::Empty {
                path: path.to_path_buf(),
                what: "the Parquet file has no columns".into(),
            });
        }
        table.n_rows = n_rows;
        if table.n_rows == 0 {
            return Err(no_rows());
        }
        let (mut meta_idx, mut meta_names, mut feature_idx) = (Vec::new(), Vec::new(), Vec::new());
        for (i, name) in schema.iter_names().enumerate() {
            if is_meta(name) {
                meta_idx.push(i);
                meta_names.push(name.to_string());
            } else {
                feature_idx.push(i);
                table.feature_names.push(name.to_string());
            }
        }
        if !meta_idx.is_empty() {
            table.meta = read_parquet_columns(path, meta_idx, &meta_names)?;
        }
        table.features = FeatureColumns::Parquet(feature_idx);
        Ok(table)
    }

    /// The next `names.len()` feature columns, handed over to the caller.
    fn feature_block(&mut self, path: &Path, names: &[String]) -> Result<Vec<Column>> {
        match &mut self.features {
            FeatureColumns::Loaded(cols) => Ok(cols.drain(..names.len()).collect()),
            FeatureColumns::Parquet(idx) => {
                let take: Vec<usize> = idx.drain(..names.len()).collect();
                read_parquet_columns(path, take, names)
            }
        }
    }
}

/// Reads any table (profiles or annotations) after checking its header for duplicate names.
pub fn read_table(path: &Path) -> Result<DataFrame> {
    match Format::of(path)? {
        Format::Delimited { separator, gzip } => read_delimited(path, separator, gzip),
        Format::Parquet => read_parquet(path),
    }
}

/// Guesses the level from metadata names: object numbers → cell, sites → site, wells → well,
/// otherwise treatment. (Not `cell_id`: in LINCS and JUMP it names the cell line.)
pub fn guess_level(meta: &DataFrame) -> Level {
    let names: Vec<String> = meta
        .get_column_names()
        .iter()
        .map(|s| s.to_lowercase())
        .collect();
    let has = |needle: &str| names.iter().any(|n| n.contains(needle));
    if has("objectnumber") {
        Level::Cell
    } else if has("_site") || has("_field") {
        Level::Site
    } else if has("_well") {
        Level::Well
    } else {
        Level::Treatment
    }
}
