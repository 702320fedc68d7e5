//! Reading and writing profile tables (CSV, CSV.gz, TSV, Parquet) with validation, and atomic
//! output files.

use std::fs::File;
use std::io::{BufWriter, Cursor, Read, Write};
use std::path::{Path, PathBuf};

use polars::prelude::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::profiles::{Level, Profiles};

/// The metadata column prefix of the Cell Painting ecosystem (pycytominer, copairs).
pub const DEFAULT_METADATA_PREFIX: &str = "Metadata_";

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

/// What to do with NaN, missing or infinite feature values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum NonFinitePolicy {
    /// Fail, naming the first offending row and column.
    #[default]
    Error,
    /// Drop every row that holds one.
    DropRows,
    /// Drop every feature column that holds one.
    DropColumns,
    /// Keep them (for steps such as feature selection that handle NaN themselves).
    Keep,
}

impl std::str::FromStr for NonFinitePolicy {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "error" => Ok(Self::Error),
            "drop-rows" => Ok(Self::DropRows),
            "drop-columns" => Ok(Self::DropColumns),
            "keep" => Ok(Self::Keep),
            _ => Err(format!(
                "unknown policy '{s}' (expected error, drop-rows, drop-columns or keep)"
            )),
        }
    }
}

/// How to read a profile table.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// A column is metadata iff its name starts with one of these.
    pub metadata_prefixes: Vec<String>,
    /// Policy for NaN, missing and infinite feature values.
    pub nonfinite: NonFinitePolicy,
    /// The level rows describe; guessed from the metadata columns when `None`.
    pub level: Option<Level>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            metadata_prefixes: vec![DEFAULT_METADATA_PREFIX.to_string()],
            nonfinite: NonFinitePolicy::Error,
            level: None,
        }
    }
}

/// What reading changed or guessed, for the user to see.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReadReport {
    /// 1-based data rows dropped for non-finite values.
    pub dropped_rows: Vec<usize>,
    /// Feature columns dropped for non-finite values.
    pub dropped_columns: Vec<String>,
    /// Whether the level was guessed rather than given.
    pub level_guessed: bool,
}

/// Feature columns transposed together: each matrix row is touched once per block rather than
/// once per column.
const BLOCK_COLS: usize = 32;

/// Feature columns are read and converted in blocks of about this many bytes (at least
/// [`BLOCK_COLS`] columns), so only one block is ever decoded at a time.
const READ_BLOCK_BYTES: usize = 16 << 20;

/// Rows per written batch are chosen so one batch of features takes about this many bytes: the
/// full matrix is never copied into a table at once.
const WRITE_BATCH_BYTES: usize = 32 << 20;

/// Reads a profile table: metadata columns by prefix, every other column a numeric feature.
pub fn read_profiles(path: &Path, opts: &ReadOptions) -> Result<(Profiles, ReadReport)> {
    let table = open_split(path, opts)?;
    profiles_from(path, table, opts)
}

/// Like [`read_profiles`], but a table with metadata columns only (a gene list, a crop index:
/// the plugin brings the representation) gives profiles without features instead of an error.
pub fn read_profiles_or_keys(path: &Path, opts: &ReadOptions) -> Result<Profiles> {
    let table = open_split(path, opts)?;
    if table.feature_names.is_empty() && !table.meta.is_empty() {
        let meta = DataFrame::new_infer_height(table.meta).map_err(|e| polars_at(path, e))?;
        let level = opts.level.unwrap_or_else(|| guess_level(&meta));
        return Profiles::new(meta, Vec::new(), Vec::new(), level);
    }
    Ok(profiles_from(path, table, opts)?.0)
}

fn open_split(path: &Path, opts: &ReadOptions) -> Result<SplitTable> {
    let is_meta = |name: &str| {
        opts.metadata_prefixes
            .iter()
            .any(|p| name.starts_with(p.as_str()))
    };
    SplitTable::open(path, &is_meta)
}

fn profiles_from(
    path: &Path,
    mut table: SplitTable,
    opts: &ReadOptions,
) -> Result<(Profiles, ReadReport)> {
    let n = table.n_rows;
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
    let mut features = vec![0f32; n * d];
    let mut finite_cols = vec![true; d];
    // (row, column, description) of the first non-finite value, row-major order.
    let mut first_bad: Option<(usize, usize, String)> = None;
    // Each block is one projected Parquet read, which parses the footer again: blocks of
    // READ_BLOCK_BYTES keep those few on tall-and-narrow and short-and-wide tables alike.
    let block_cols = (READ_BLOCK_BYTES / (4 * n)).clamp(BLOCK_COLS.min(d), d);
    let mut block = vec![0f32; n * block_cols];
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
            fill_numeric(path, s, opts, out)?;
            if let Some(i) = out.iter().position(|v| !v.is_finite()) {
                finite_cols[j0 + b] = false;
                let earlier = first_bad.as_ref().is_some_and(|(r, _, _)| *r <= i);
                if opts.nonfinite == NonFinitePolicy::Error && !earlier {
                    first_bad = Some((i, j0 + b, describe_nonfinite(out[i], s, i)));
                }
            }
        }
        scatter_columns(&block[..width * n], n, &mut features, d, j0);
    }
    drop(block);
    let meta_cols = table.meta;
    if meta_cols.is_empty() {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: format!(
                "no metadata columns (none starts with {}); pass the prefix your table uses with --metadata-prefix",
                opts.metadata_prefixes.join(", ")
            ),
        });
    }
    let mut meta = DataFrame::new_infer_height(meta_cols).map_err(|e| polars_at(path, e))?;
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
            let keep: Vec<bool> = features
                .chunks_exact(d)
                .map(|row| row.iter().all(|v| v.is_finite()))
                .collect();
            report.dropped_rows = (0..n).filter(|&i| !keep[i]).map(|i| i + 1).collect();
            if !report.dropped_rows.is_empty() {
                if report.dropped_rows.len() == n {
                    return Err(Error::Empty {
                        path: path.to_path_buf(),
                        what: "every row holds a NaN, missing or infinite feature value".into(),
                    });
                }
                let mask = BooleanChunked::from_slice("keep".into(), &keep);
                meta = meta.filter(&mask).map_err(|e| polars_at(path, e))?;
                let mut to = 0;
                for (i, _) in keep.iter().enumerate().filter(|(_, k)| **k) {
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
        let file = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut reader = ParquetReader::new(file);
        let schema = reader.schema().map_err(|e| polars_at(path, e))?;
        if schema.is_empty() {
            return Err(Error::Empty {
                path: path.to_path_buf(),
                what: "the Parquet file has no columns".into(),
            });
        }
        table.n_rows = reader.num_rows().map_err(|e| polars_at(path, e))?;
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

/// Reads the Parquet columns at `projection`, returned in the order of `names`.
fn read_parquet_columns(
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

/// Rows per tile of the transposes between row-major features and columns: a tile of
/// [`BLOCK_COLS`] columns (32 KiB) stays in L1 while each of its columns is copied.
const TILE_ROWS: usize = 256;

/// Copies column-major `block` (columns of `n` values) into columns `j0..` of the row-major
/// `n × d` matrix `x`, tile by tile, the row ranges split over the available threads.
fn scatter_columns(block: &[f32], n: usize, x: &mut [f32], d: usize, j0: usize) {
    let width = block.len() / n.max(1);
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let share = n.div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        for (part, x) in x.chunks_mut(share * d).enumerate() {
            scope.spawn(move || {
                let first = part * share;
                let rows = x.len() / d;
                for t0 in (0..rows).step_by(TILE_ROWS) {
                    let t1 = (t0 + TILE_ROWS).min(rows);
                    for b0 in (0..width).step_by(BLOCK_COLS) {
                        for b in b0..(b0 + BLOCK_COLS).min(width) {
                            let col = &block[b * n + first + t0..b * n + first + t1];
                            for (k, &v) in col.iter().enumerate() {
                                x[(t0 + k) * d + j0 + b] = v;
                            }
                        }
                    }
                }
            });
        }
    });
}

/// Columns `j0..j0 + width` of the row-major matrix `rows` (rows of `d` values), tile by tile.
fn gather_columns(rows: &[f32], d: usize, j0: usize, width: usize) -> Vec<Vec<f32>> {
    let n = rows.len() / d.max(1);
    // Tiles go in row order, so each column is appended to (no zero-filling first).
    let mut cols: Vec<Vec<f32>> = (0..width).map(|_| Vec::with_capacity(n)).collect();
    for t0 in (0..n).step_by(TILE_ROWS) {
        let t1 = (t0 + TILE_ROWS).min(n);
        for (b, col) in cols.iter_mut().enumerate() {
            col.extend((t0..t1).map(|i| rows[i * d + j0 + b]));
        }
    }
    cols
}

/// Reads any table (profiles or annotations) after checking its header for duplicate names.
pub fn read_table(path: &Path) -> Result<DataFrame> {
    match Format::of(path)? {
        Format::Delimited { separator, gzip } => {
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
        Format::Parquet => {
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
    }
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

/// Words pandas reads as missing; accepted in feature columns as NaN.
const MISSING_WORDS: &[&str] = &[
    "", "NA", "N/A", "NaN", "nan", "NAN", "null", "NULL", "None", "<NA>",
];

/// Writes a feature column's values into `out` as `f32`, missing as NaN; text columns must hold
/// numbers or pandas' missing words.
fn fill_numeric(path: &Path, s: &Series, opts: &ReadOptions, out: &mut [f32]) -> Result<()> {
    let dtype = s.dtype();
    match dtype {
        DataType::Float32 => {
            fill_primitive(s.f32().map_err(|e| polars_at(path, e))?, out, |v| v);
            return Ok(());
        }
        DataType::Float64 => {
            fill_primitive(s.f64().map_err(|e| polars_at(path, e))?, out, |v| v as f32);
            return Ok(());
        }
        _ => {}
    }
    if dtype.is_primitive_numeric() || dtype.is_bool() || dtype.is_null() {
        let f = s.cast(&DataType::Float64).map_err(|e| polars_at(path, e))?;
        fill_primitive(f.f64().map_err(|e| polars_at(path, e))?, out, |v| v as f32);
        return Ok(());
    }
    let strings = s.cast(&DataType::String).map_err(|e| polars_at(path, e))?;
    let ca = strings.str().map_err(|e| polars_at(path, e))?;
    for (i, (v, o)) in ca.iter().zip(out.iter_mut()).enumerate() {
        let Some(text) = v else {
            *o = f32::NAN;
            continue;
        };
        let t = text.trim();
        if MISSING_WORDS.contains(&t) {
            *o = f32::NAN;
        } else if let Ok(x) = t.parse::<f64>() {
            *o = x as f32;
        } else {
            let name = s.name().to_string();
            let suggested = name
                .find("Metadata_")
                .map(|k| name[..k + "Metadata_".len()].to_string())
                .unwrap_or_else(|| name.split('_').next().unwrap_or(&name).to_string() + "_");
            return Err(Error::NonNumeric {
                path: path.to_path_buf(),
                row: i + 1,
                value: text.to_string(),
                hint: format!(
                    "Every column not starting with a metadata prefix ({}) must be numeric; \
                     if '{name}' is metadata, pass its prefix (e.g. --metadata-prefix {suggested})",
                    opts.metadata_prefixes.join(", ")
                ),
                column: name,
            });
        }
    }
    Ok(())
}

/// Copies a numeric column chunk by chunk straight from its buffers, nulls as NaN.
fn fill_primitive<T: PolarsNumericType>(
    ca: &ChunkedArray<T>,
    out: &mut [f32],
    to_f32: impl Fn(T::Native) -> f32,
) {
    let mut start = 0;
    for arr in ca.downcast_iter() {
        let values = arr.values().as_slice();
        let dst = &mut out[start..start + values.len()];
        match arr.validity().filter(|v| v.unset_bits() > 0) {
            None => {
                for (o, &v) in dst.iter_mut().zip(values) {
                    *o = to_f32(v);
                }
            }
            Some(valid) => {
                for ((o, &v), ok) in dst.iter_mut().zip(values).zip(valid.iter()) {
                    *o = if ok { to_f32(v) } else { f32::NAN };
                }
            }
        }
        start += values.len();
    }
}

fn describe_nonfinite(v: f32, s: &Series, row: usize) -> String {
    if s.get(row).map(|a| a.is_null()).unwrap_or(false) {
        "missing".into()
    } else if v.is_nan() {
        "NaN".into()
    } else if v > 0.0 {
        "inf".into()
    } else {
        "-inf".into()
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

fn polars_at(path: &Path, source: PolarsError) -> Error {
    Error::Polars {
        path: Some(path.to_path_buf()),
        source: Box::new(source),
    }
}

/// Writes profiles (metadata then features) in the format the extension names, atomically.
///
/// Rows go out in batches (Parquet: one row group each), so the features are never copied into
/// a whole table at once.
pub fn write_profiles(profiles: &Profiles, path: &Path) -> Result<()> {
    let batch_rows = (WRITE_BATCH_BYTES / (4 * profiles.n_features().max(1))).max(1);
    write_profiles_batched(profiles, path, batch_rows)
}

fn write_profiles_batched(profiles: &Profiles, path: &Path, batch_rows: usize) -> Result<()> {
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

/// Writes profiles as Parquet, one row group per batch of rows. polars' `ParquetWriter` tries a
/// dictionary for every float column (a cardinality estimate over all values) and takes the
/// columns from a row-major copy built on one thread; here feature columns are plain-encoded
/// (measured values are nearly all distinct) and each thread transposes, encodes and compresses
/// its own share of them. Metadata columns keep polars' encodings. Snappy, as polars and pandas
/// write by default: float features barely compress, and zstd would cost seconds.
fn write_parquet_profiles(
    profiles: &Profiles,
    file: &mut File,
    batch_rows: usize,
) -> PolarsResult<()> {
    use polars_arrow::array::PrimitiveArray;
    use polars_arrow::datatypes::ArrowDataType;
    use polars_parquet::write::{
        CompressedPage, CompressionOptions, DynIter, DynStreamingIterator, Encoding, FileWriter,
        StatisticsOptions, Version, WriteOptions, array_to_columns, compress,
        fallible_streaming_iterator, get_dtype_encoding,
    };

    let (n, d) = (profiles.n_rows(), profiles.n_features());
    let meta = profiles.meta();
    let mut schema = meta.schema().to_arrow(CompatLevel::newest());
    for name in profiles.feature_names() {
        let name = PlSmallStr::from_str(name);
        schema.insert(
            name.clone(),
            ArrowField::new(name, ArrowDataType::Float32, true),
        );
    }
    // `Profiles::new` refuses repeated names, so no column was overwritten in the schema.
    debug_assert_eq!(schema.len(), meta.width() + d);
    let options = WriteOptions {
        statistics: StatisticsOptions::default(),
        compression: CompressionOptions::Snappy,
        version: Version::V1,
        data_page_size: None,
    };
    // A large buffer turns the many small page writes into few large ones (0.24 s -> 0.15 s of
    // write calls for a 400 MB table).
    let buffered = BufWriter::with_capacity(1 << 20, file);
    let mut writer = FileWriter::try_new(buffered, schema, options)?;
    let types = writer.parquet_schema().fields().to_vec();
    let meta_encodings: Vec<Vec<Encoding>> = writer
        .schema()
        .iter_values()
        .take(meta.width())
        .map(|f| get_dtype_encoding(&f.dtype))
        .collect();
    // Min/max statistics serve predicate pushdown on keys; on float features nobody filters by
    // them, and they cost a pass over every value.
    let feature_options = WriteOptions {
        statistics: StatisticsOptions {
            min_value: false,
            max_value: false,
            ..StatisticsOptions::default()
        },
        ..options
    };
    let encode = |array: Box<dyn polars_arrow::array::Array>,
                  type_: &polars_parquet::write::ParquetType,
                  encoding: &[Encoding],
                  options: WriteOptions|
     -> PolarsResult<Vec<Vec<CompressedPage>>> {
        array_to_columns(array, type_.clone(), options, encoding)?
            .into_iter()
            .map(|pages| {
                pages
                    .map(|page| Ok(compress(page?, Vec::new(), options.compression)?))
                    .collect()
            })
            .collect()
    };
    let threads = std::thread::available_parallelism().map_or(1, |t| t.get());
    let features = profiles.features();
    for start in (0..n.max(1)).step_by(batch_rows.max(1)) {
        let len = batch_rows.min(n - start);
        let rows = &features[start * d..(start + len) * d];
        let mut columns: Vec<Vec<CompressedPage>> = Vec::with_capacity(types.len());
        for ((col, type_), encoding) in meta
            .slice(start as i64, len)
            .columns()
            .iter()
            .zip(&types)
            .zip(&meta_encodings)
        {
            let array = col
                .as_materialized_series()
                .rechunk()
                .to_arrow(0, CompatLevel::newest());
            columns.extend(encode(array, type_, encoding, options)?);
        }
        // Contiguous shares of the feature columns, one per thread, in column order.
        let share = d.div_ceil(threads).max(1);
        let encoded: Vec<PolarsResult<Vec<Vec<CompressedPage>>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..d)
                .step_by(share)
                .map(|j0| {
                    let types = &types[meta.width()..];
                    let encode = &encode;
                    scope.spawn(move || -> PolarsResult<Vec<Vec<CompressedPage>>> {
                        let mut out = Vec::new();
                        let j_end = (j0 + share).min(d);
                        // A block of columns per pass over the rows reads each row once per block.
                        for b0 in (j0..j_end).step_by(BLOCK_COLS) {
                            let width = BLOCK_COLS.min(j_end - b0);
                            for (k, values) in
                                gather_columns(rows, d, b0, width).into_iter().enumerate()
                            {
                                let array = PrimitiveArray::<f32>::from_vec(values).boxed();
                                out.extend(encode(
                                    array,
                                    &types[b0 + k],
                                    &[Encoding::Plain],
                                    feature_options,
                                )?);
                            }
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("a Parquet encoding thread panicked"))
                .collect()
        });
        for part in encoded {
            columns.extend(part?);
        }
        let group = DynIter::new(columns.iter().map(|pages| {
            Ok(DynStreamingIterator::new(
                fallible_streaming_iterator::convert(pages.iter().map(Ok)),
            ))
        }));
        writer.write(len as u64, group)?;
    }
    writer.end(None)?;
    // Flushed here: dropping the buffer would swallow a write error (a full disk).
    writer.into_inner().flush()?;
    Ok(())
}

/// Joins metadata and features into one table, feature columns as `Float32`.
pub fn to_frame(profiles: &Profiles) -> Result<DataFrame> {
    frame_rows(profiles, 0, profiles.n_rows())
}

/// Rows `start..start + len` of the profiles as a table, feature columns as `Float32`.
fn frame_rows(profiles: &Profiles, start: usize, len: usize) -> Result<DataFrame> {
    let d = profiles.n_features();
    let rows = &profiles.features()[start * d..(start + len) * d];
    let mut cols: Vec<Column> = profiles.meta().slice(start as i64, len).into_columns();
    cols.reserve(d);
    let names = profiles.feature_names();
    for j0 in (0..d).step_by(BLOCK_COLS) {
        let width = BLOCK_COLS.min(d - j0);
        let block = gather_columns(rows, d, j0, width);
        for (values, name) in block.into_iter().zip(&names[j0..j0 + width]) {
            cols.push(Column::new(name.as_str().into(), values));
        }
    }
    Ok(DataFrame::new_infer_height(cols)?)
}

/// Writes a table in the format the extension names, atomically (no partial file on failure).
pub fn write_table(df: &mut DataFrame, path: &Path) -> Result<()> {
    let format = Format::of(path)?;
    write_atomic(path, |file| {
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

/// Writes `path` through a temporary file in the same folder, moved into place only after
/// `write` succeeded, so readers never see a partial file.
///
/// The file is not fsynced (pandas and polars do not either): on ext4 an fsync waits for every
/// other file's dirty data in the same journal commit, which took a 400 MB Parquet write from
/// 0.6 s to 1.3 s right after another program wrote its own output. A power loss just after a
/// run can therefore lose an output; an interrupted or failed run never leaves a partial one.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let dir: PathBuf = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".cpbench-").suffix(".part");
    // tempfile creates 0600 files; outputs are ordinary files (0644 before the umask).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder.tempfile_in(&dir).map_err(|e| Error::io(&dir, e))?;
    write(tmp.as_file_mut())?;
    tmp.as_file_mut().flush().map_err(|e| Error::io(path, e))?;
    if replace_by_exchange(tmp.path(), path) {
        // The temporary name now holds the previous output; dropping `tmp` deletes it.
        return Ok(());
    }
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
}

/// Swaps the finished temporary file with an existing regular file at `path`
/// (`renameat2(RENAME_EXCHANGE)`): readers see the old or the new file, never neither, as with a
/// rename over it. The rename is what ext4 treats as "replace without fsync" (`auto_da_alloc`):
/// it starts writeback of the whole new file inside the call, 0.2–0.3 s for a 400 MB output.
/// After the exchange the new file is written back like any newly created one. False when `path`
/// is not an existing regular file or the filesystem cannot exchange; the caller then renames.
#[cfg(target_os = "linux")]
fn replace_by_exchange(tmp: &Path, path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    // A directory or symlink at `path` is left to the rename, which fails or replaces the link
    // as it always did; exchanging would move the directory to the temporary name.
    if !std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file()) {
        return false;
    }
    let (Ok(from), Ok(to)) = (
        std::ffi::CString::new(tmp.as_os_str().as_bytes()),
        std::ffi::CString::new(path.as_os_str().as_bytes()),
    ) else {
        return false;
    };
    // SAFETY: both arguments are NUL-terminated paths that outlive the call.
    let rc = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    rc == 0
}

#[cfg(not(target_os = "linux"))]
fn replace_by_exchange(_tmp: &Path, _path: &Path) -> bool {
    false
}

/// Writes bytes to `path` atomically.
pub fn write_bytes_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, |f| f.write_all(bytes).map_err(|e| Error::io(path, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    fn read(p: &Path) -> Result<(Profiles, ReadReport)> {
        read_profiles(p, &ReadOptions::default())
    }

    const GOOD: &str = "Metadata_Plate,Metadata_Well,f1,f2\nP1,A01,1.5,2\nP1,A02,-3,4e-1\n";

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

    #[test]
    fn reads_metadata_and_features() {
        let dir = tempfile::tempdir().unwrap();
        let (p, rep) = read(&write(dir.path(), "x.csv", GOOD)).unwrap();
        assert_eq!((p.n_rows(), p.n_features()), (2, 2));
        assert_eq!(p.meta_names(), ["Metadata_Plate", "Metadata_Well"]);
        assert_eq!(p.features(), [1.5, 2.0, -3.0, 0.4]);
        assert_eq!(p.level(), Level::Well);
        assert!(rep.level_guessed);
    }

    #[test]
    fn round_trips_through_every_format() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = read(&write(dir.path(), "x.csv", GOOD)).unwrap();
        for name in ["y.csv", "y.csv.gz", "y.tsv", "y.parquet"] {
            let out = dir.path().join(name);
            write_profiles(&p, &out).unwrap();
            let (q, _) = read(&out).unwrap();
            assert_eq!(q.features(), p.features(), "{name}");
            assert_eq!(q.feature_names(), p.feature_names(), "{name}");
            assert_eq!(
                q.meta_strings("Metadata_Well").unwrap(),
                p.meta_strings("Metadata_Well").unwrap()
            );
        }
    }

    #[test]
    fn bad_inputs_name_file_column_and_row() {
        let dir = tempfile::tempdir().unwrap();
        let e = read(&write(dir.path(), "empty.csv", ""))
            .unwrap_err()
            .to_string();
        assert!(e.contains("empty.csv") && e.contains("empty"), "{e}");
        let e = read(&write(dir.path(), "hdr.csv", "Metadata_A,f\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no data rows"), "{e}");
        let e = read(&write(dir.path(), "dup.csv", "Metadata_A,f,g,f\nx,1,2,3\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("duplicate column 'f' (columns 2 and 4"), "{e}");
        // The bad value sits after many good rows, so type inference alone would not catch it.
        let mut text = String::from("Metadata_A,f,g\n");
        for i in 0..500 {
            text.push_str(&format!("r{i},{i},1\n"));
        }
        text.push_str("bad,oops,1\n");
        let e = read(&write(dir.path(), "nonnum.csv", &text))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("nonnum.csv: feature column 'f' is not numeric: row 501 holds 'oops'"),
            "{e}"
        );
        let e = read(&write(
            dir.path(),
            "meta.csv",
            "Image_Metadata_Plate,f\nW1,1\n",
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("--metadata-prefix Image_Metadata_"), "{e}");
        let e = read(&write(dir.path(), "nofeat.csv", "Metadata_A\nx\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no feature columns"), "{e}");
    }

    #[test]
    fn nonfinite_policies() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "nan.csv",
            "Metadata_A,f,g,h\na,1,2,3\nb,4,,6\nc,7,8,inf\nd,NA,1,1\n",
        );
        let e = read(&p).unwrap_err().to_string();
        assert!(
            e.contains("nan.csv: feature column 'g' row 2 is missing"),
            "{e}"
        );
        let opts = |nonfinite| ReadOptions {
            nonfinite,
            ..ReadOptions::default()
        };
        let (rows, rep) = read_profiles(&p, &opts(NonFinitePolicy::DropRows)).unwrap();
        assert_eq!(rows.n_rows(), 1);
        assert_eq!(rep.dropped_rows, [2, 3, 4]);
        assert_eq!(
            rows.meta_strings("Metadata_A").unwrap(),
            [Some("a".to_string())]
        );
        // Every column holds a bad value here, so dropping columns leaves none.
        let e = read_profiles(&p, &opts(NonFinitePolicy::DropColumns)).unwrap_err();
        assert!(e.to_string().contains("no feature columns"), "{e}");
        let p2 = write(dir.path(), "nan2.csv", "Metadata_A,f,g\na,1,NaN\nb,2,3\n");
        let (cols, rep) = read_profiles(&p2, &opts(NonFinitePolicy::DropColumns)).unwrap();
        assert_eq!(cols.feature_names(), ["f"]);
        assert_eq!(rep.dropped_columns, ["g"]);
        let (kept, _) = read_profiles(&p2, &opts(NonFinitePolicy::Keep)).unwrap();
        assert!(kept.features()[1].is_nan());
        assert_eq!(kept.nonfinite_count(), 1);
    }

    #[test]
    fn custom_metadata_prefix() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "raw.csv",
            "Image_Metadata_Plate,Image_Metadata_Well,Cells_A\nW1,A01,1\n",
        );
        let opts = ReadOptions {
            metadata_prefixes: vec!["Image_Metadata_".into()],
            ..ReadOptions::default()
        };
        let (prof, _) = read_profiles(&p, &opts).unwrap();
        assert_eq!(
            prof.meta_names(),
            ["Image_Metadata_Plate", "Image_Metadata_Well"]
        );
    }

    /// A table wider than one conversion block, with non-finite values in several blocks.
    fn wide_table(dir: &Path) -> (PathBuf, Vec<Vec<f64>>) {
        let (n, d) = (7, 2 * BLOCK_COLS + 5);
        let mut vals = vec![vec![0f64; d]; n];
        let mut text = String::from("Metadata_Well");
        for j in 0..d {
            text.push_str(&format!(",f{j}"));
        }
        text.push('\n');
        for (i, row) in vals.iter_mut().enumerate() {
            text.push_str(&format!("w{i}"));
            for (j, v) in row.iter_mut().enumerate() {
                *v = match (i, j) {
                    (3, 40) | (5, 1) => f64::NAN,
                    (3, 60) => f64::INFINITY,
                    _ => (i * d + j) as f64 / 8.0 - 20.0,
                };
                text.push_str(&format!(",{v}"));
            }
            text.push('\n');
        }
        (write(dir, "wide.csv", &text), vals)
    }

    #[test]
    fn wide_tables_keep_row_major_order_and_policies() {
        let dir = tempfile::tempdir().unwrap();
        let (csv, vals) = wide_table(dir.path());
        // Parquet features are read a block of columns at a time; text ones are parsed at once.
        let pq = dir.path().join("wide.parquet");
        write_table(&mut read_table(&csv).unwrap(), &pq).unwrap();
        for p in [csv, pq] {
            check_wide(&p, &vals);
        }
    }

    fn check_wide(p: &Path, vals: &[Vec<f64>]) {
        let p = p.to_path_buf();
        let opts = |nonfinite| ReadOptions {
            nonfinite,
            ..ReadOptions::default()
        };
        let (kept, _) = read_profiles(&p, &opts(NonFinitePolicy::Keep)).unwrap();
        let d = vals[0].len();
        for (i, row) in vals.iter().enumerate() {
            for (j, &v) in row.iter().enumerate() {
                let got = kept.features()[i * d + j];
                assert!(
                    got == v as f32 || (got.is_nan() && v.is_nan()),
                    "({i}, {j})"
                );
            }
        }
        // Row 4 holds the first bad value; its earliest bad column is f40, not f60.
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("feature column 'f40' row 4 is NaN"), "{e}");
        let (rows, rep) = read_profiles(&p, &opts(NonFinitePolicy::DropRows)).unwrap();
        assert_eq!(rep.dropped_rows, [4, 6]);
        let want: Vec<f32> = [0, 1, 2, 4, 6]
            .iter()
            .flat_map(|&i| vals[i].iter().map(|&v| v as f32))
            .collect();
        assert_eq!(rows.features(), want);
        assert_eq!(
            rows.meta_strings("Metadata_Well").unwrap()[3].as_deref(),
            Some("w4")
        );
        let (cols, rep) = read_profiles(&p, &opts(NonFinitePolicy::DropColumns)).unwrap();
        assert_eq!(rep.dropped_columns, ["f1", "f40", "f60"]);
        let keep = |j: &usize| ![1, 40, 60].contains(j);
        let want: Vec<f32> = vals
            .iter()
            .flat_map(|r| (0..d).filter(keep).map(|j| r[j] as f32))
            .collect();
        assert_eq!(cols.features(), want);
        assert_eq!(cols.n_features(), d - 3);
        assert_eq!(cols.feature_names()[1], "f2");
    }

    #[test]
    fn batched_writes_round_trip_in_every_format() {
        let dir = tempfile::tempdir().unwrap();
        let (p, _) = wide_table(dir.path());
        let opts = ReadOptions {
            nonfinite: NonFinitePolicy::Keep,
            ..ReadOptions::default()
        };
        let (prof, _) = read_profiles(&p, &opts).unwrap();
        for name in ["b.csv", "b.csv.gz", "b.tsv", "b.parquet"] {
            let out = dir.path().join(name);
            // Batches of 3 rows leave a short last batch.
            write_profiles_batched(&prof, &out, 3).unwrap();
            let (back, _) = read_profiles(&out, &opts).unwrap();
            assert_eq!(back.feature_names(), prof.feature_names(), "{name}");
            assert_eq!(
                back.meta_strings("Metadata_Well").unwrap(),
                prof.meta_strings("Metadata_Well").unwrap(),
                "{name}"
            );
            let same = |a: &f32, b: &f32| a == b || (a.is_nan() && b.is_nan());
            assert!(
                back.features()
                    .iter()
                    .zip(prof.features())
                    .all(|(a, b)| same(a, b)),
                "{name}"
            );
            assert_eq!(back.features().len(), prof.features().len(), "{name}");
        }
        let file = File::open(dir.path().join("b.parquet")).unwrap();
        let mut reader = ParquetReader::new(file);
        let groups: Vec<usize> = (reader.get_metadata().unwrap().row_groups.iter())
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, [3, 3, 1]);
    }

    #[test]
    fn parquet_profiles_read_back_as_polars_writes_them() {
        // Metadata of several types (nulls included), non-finite features, row groups of 3
        // rows, and a batch smaller than the thread count's share of columns.
        let dir = tempfile::tempdir().unwrap();
        let (n, d) = (8, 2 * BLOCK_COLS + 3);
        let meta = df!(
            "Metadata_Well" => ["a", "b", "c", "d", "e", "f", "g", "h"],
            "Metadata_Dose" => [Some(0.1f64), None, Some(1.0), Some(3.0), None, Some(0.5), Some(2.0), Some(9.0)],
            "Metadata_Site" => [1i64, 2, 3, 4, 5, 6, 7, 8],
            "Metadata_Note" => [Some("x"), None, Some("y"), None, None, Some("z"), Some(""), Some("w")],
            "Metadata_Ok" => [true, false, true, true, false, false, true, true],
        )
        .unwrap();
        let mut x: Vec<f32> = (0..n * d).map(|k| k as f32 * 0.37 - 50.0).collect();
        (x[5], x[d + 7], x[3 * d + 40]) = (f32::NAN, f32::INFINITY, f32::NEG_INFINITY);
        let names: Vec<String> = (0..d).map(|j| format!("Cells_F{j}")).collect();
        let prof = Profiles::new(meta, x, names, Level::Well).unwrap();
        let ours = dir.path().join("ours.parquet");
        write_profiles_batched(&prof, &ours, 3).unwrap();
        let polars_own = dir.path().join("polars.parquet");
        write_table(&mut to_frame(&prof).unwrap(), &polars_own).unwrap();
        let (a, b) = (read_table(&ours).unwrap(), read_table(&polars_own).unwrap());
        assert_eq!(a.schema(), b.schema());
        assert!(a.equals_missing(&b), "{a}\n{b}");
        let file = File::open(&ours).unwrap();
        let md = ParquetReader::new(file).get_metadata().unwrap().clone();
        let groups: Vec<usize> = md.row_groups.iter().map(|g| g.num_rows()).collect();
        assert_eq!(groups, [3, 3, 2]);
    }

    #[test]
    fn parquet_nulls_read_as_missing_and_nan_as_nan() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("n.parquet");
        let mut df = df!(
            "Metadata_A" => ["a", "b", "c"],
            "f" => [Some(1f32), Some(f32::NAN), Some(3.0)],
            "g" => [Some(1f64), None, Some(2.5)],
        )
        .unwrap();
        write_table(&mut df, &out).unwrap();
        let e = read(&out).unwrap_err().to_string();
        assert!(e.contains("feature column 'f' row 2 is NaN"), "{e}");
        let opts = ReadOptions {
            nonfinite: NonFinitePolicy::Keep,
            ..ReadOptions::default()
        };
        let (p, _) = read_profiles(&out, &opts).unwrap();
        let x = p.features();
        assert_eq!((x[0], x[1], x[4], x[5]), (1.0, 1.0, 3.0, 2.5));
        assert!(x[2].is_nan() && x[3].is_nan());
        let mut df = df!("Metadata_A" => ["a", "b"], "g" => [Some(1f64), None]).unwrap();
        write_table(&mut df, &out).unwrap();
        let e = read(&out).unwrap_err().to_string();
        assert!(e.contains("feature column 'g' row 2 is missing"), "{e}");
    }

    #[test]
    fn atomic_write_leaves_nothing_on_failure() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        let e = write_atomic(&out, |_| Err(Error::Shape("boom".into())));
        assert!(e.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_bytes_atomic(&out, b"ok").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"ok");
    }

    #[test]
    fn atomic_write_replaces_files_and_links_but_not_folders() {
        let dir = tempfile::tempdir().unwrap();
        let names = |d: &Path| {
            let mut v: Vec<String> = std::fs::read_dir(d)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            v.sort();
            v
        };
        // An existing output is replaced and no temporary file (holding the old one) is left.
        let out = dir.path().join("out.csv");
        write_bytes_atomic(&out, b"old").unwrap();
        let keep = File::open(&out).unwrap();
        write_bytes_atomic(&out, b"new").unwrap();
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["out.csv"]);
        // A reader that had the old file open still reads the old contents.
        let mut old = String::new();
        std::io::Read::read_to_string(&mut &keep, &mut old).unwrap();
        assert_eq!(old, "old");
        // A failed write leaves the existing output as it was.
        assert!(write_atomic(&out, |_| Err(Error::Shape("boom".into()))).is_err());
        assert_eq!(std::fs::read(&out).unwrap(), b"new");
        assert_eq!(names(dir.path()), ["out.csv"]);
        // A folder in the way is an error, and stays where it is.
        let folder = dir.path().join("taken.csv");
        std::fs::create_dir(&folder).unwrap();
        assert!(write_bytes_atomic(&folder, b"x").is_err());
        assert!(folder.is_dir());
        assert_eq!(names(dir.path()), ["out.csv", "taken.csv"]);
        // A symlink is replaced by the file, its target left alone (as a rename does).
        #[cfg(unix)]
        {
            let link = dir.path().join("link.csv");
            std::os::unix::fs::symlink(&out, &link).unwrap();
            write_bytes_atomic(&link, b"via link").unwrap();
            assert!(!std::fs::symlink_metadata(&link).unwrap().is_symlink());
            assert_eq!(std::fs::read(&link).unwrap(), b"via link");
            assert_eq!(std::fs::read(&out).unwrap(), b"new");
        }
    }
}
