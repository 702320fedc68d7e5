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

/// Reads a profile table: metadata columns by prefix, every other column a numeric feature.
pub fn read_profiles(path: &Path, opts: &ReadOptions) -> Result<(Profiles, ReadReport)> {
    let df = read_table(path)?;
    if df.height() == 0 {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: "the table has a header but no data rows".into(),
        });
    }
    let is_meta = |name: &str| {
        opts.metadata_prefixes
            .iter()
            .any(|p| name.starts_with(p.as_str()))
    };
    let mut meta_cols = Vec::new();
    let mut feature_cols = Vec::new();
    for col in df.columns() {
        if is_meta(col.name()) {
            meta_cols.push(col.clone());
        } else {
            feature_cols.push(col.as_materialized_series().clone());
        }
    }
    if feature_cols.is_empty() {
        return Err(Error::NoFeatures {
            path: path.to_path_buf(),
            reason: format!(
                "every column starts with a metadata prefix ({})",
                opts.metadata_prefixes.join(", ")
            ),
        });
    }
    let n = df.height();
    let mut columns: Vec<Vec<f32>> = Vec::with_capacity(feature_cols.len());
    for s in &feature_cols {
        columns.push(numeric_column(path, s, opts)?);
    }
    if meta_cols.is_empty() {
        return Err(Error::Empty {
            path: path.to_path_buf(),
            what: format!(
                "no metadata columns (none starts with {}); pass the prefix your table uses with --metadata-prefix",
                opts.metadata_prefixes.join(", ")
            ),
        });
    }
    let mut names: Vec<String> = feature_cols.iter().map(|s| s.name().to_string()).collect();
    let mut meta = DataFrame::new_infer_height(meta_cols).map_err(|e| polars_at(path, e))?;
    let mut report = ReadReport::default();

    match opts.nonfinite {
        NonFinitePolicy::Keep => {}
        NonFinitePolicy::Error => {
            let first = columns
                .iter()
                .enumerate()
                .filter_map(|(j, c)| c.iter().position(|v| !v.is_finite()).map(|i| (i, j)))
                .min();
            if let Some((i, j)) = first {
                return Err(Error::NonFinite {
                    path: path.to_path_buf(),
                    column: names[j].clone(),
                    row: i + 1,
                    value: describe_nonfinite(columns[j][i], &feature_cols[j], i),
                });
            }
        }
        NonFinitePolicy::DropColumns => {
            let keep: Vec<bool> = columns
                .iter()
                .map(|c| c.iter().all(|v| v.is_finite()))
                .collect();
            report.dropped_columns = names
                .iter()
                .zip(&keep)
                .filter(|(_, k)| !**k)
                .map(|(n, _)| n.clone())
                .collect();
            let mut k = keep.iter();
            columns.retain(|_| *k.next().unwrap_or(&true));
            let mut k = keep.iter();
            names.retain(|_| *k.next().unwrap_or(&true));
            if columns.is_empty() {
                return Err(Error::NoFeatures {
                    path: path.to_path_buf(),
                    reason: "every feature column holds NaN, missing or infinite values".into(),
                });
            }
        }
        NonFinitePolicy::DropRows => {
            let keep: Vec<bool> = (0..n)
                .map(|i| columns.iter().all(|c| c[i].is_finite()))
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
                for c in &mut columns {
                    let mut k = keep.iter();
                    c.retain(|_| *k.next().unwrap_or(&true));
                }
            }
        }
    }

    let rows = meta.height();
    let d = columns.len();
    let mut features = vec![0f32; rows * d];
    for (j, c) in columns.iter().enumerate() {
        for (i, &v) in c.iter().enumerate() {
            features[i * d + j] = v;
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

fn numeric_column(path: &Path, s: &Series, opts: &ReadOptions) -> Result<Vec<f32>> {
    let dtype = s.dtype();
    if dtype.is_primitive_numeric() || dtype.is_bool() || dtype.is_null() {
        let f = s.cast(&DataType::Float64).map_err(|e| polars_at(path, e))?;
        return Ok(f
            .f64()
            .map_err(|e| polars_at(path, e))?
            .iter()
            .map(|v| v.map_or(f32::NAN, |v| v as f32))
            .collect());
    }
    let strings = s.cast(&DataType::String).map_err(|e| polars_at(path, e))?;
    let ca = strings.str().map_err(|e| polars_at(path, e))?;
    let mut out = Vec::with_capacity(ca.len());
    for (i, v) in ca.iter().enumerate() {
        let Some(text) = v else {
            out.push(f32::NAN);
            continue;
        };
        let t = text.trim();
        if MISSING_WORDS.contains(&t) {
            out.push(f32::NAN);
        } else if let Ok(x) = t.parse::<f64>() {
            out.push(x as f32);
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
    Ok(out)
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
pub fn write_profiles(profiles: &Profiles, path: &Path) -> Result<()> {
    let mut df = to_frame(profiles)?;
    write_table(&mut df, path)
}

/// Joins metadata and features into one table, feature columns as `Float32`.
pub fn to_frame(profiles: &Profiles) -> Result<DataFrame> {
    let n = profiles.n_rows();
    let d = profiles.n_features();
    let x = profiles.features();
    let mut cols: Vec<Column> = profiles.meta().columns().to_vec();
    for (j, name) in profiles.feature_names().iter().enumerate() {
        let values: Vec<f32> = (0..n).map(|i| x[i * d + j]).collect();
        cols.push(Column::new(name.as_str().into(), values));
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
                enc.finish().map(|_| ()).map_err(PolarsError::from)
            }
            Format::Parquet => ParquetWriter::new(file).finish(df).map(|_| ()),
        };
        res.map_err(|e| polars_at(path, e))
    })
}

/// Writes `path` through a temporary file in the same folder, renamed into place only after
/// `write` succeeded, so readers never see a partial file.
pub fn write_atomic(path: &Path, write: impl FnOnce(&mut File) -> Result<()>) -> Result<()> {
    let dir: PathBuf = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".cpbench-")
        .suffix(".part")
        .tempfile_in(&dir)
        .map_err(|e| Error::io(&dir, e))?;
    write(tmp.as_file_mut())?;
    tmp.as_file_mut().flush().map_err(|e| Error::io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| Error::io(path, e))?;
    tmp.persist(path).map_err(|e| Error::io(path, e.error))?;
    Ok(())
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
}
