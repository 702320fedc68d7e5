//! Errors of the data model and its IO; each names the file, column and row it is about.

use std::path::PathBuf;

/// Result with the core error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong reading, validating or writing profiles.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The file could not be opened, read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying IO error.
        source: std::io::Error,
    },
    /// The file extension names no format cpbench reads.
    #[error("{}: unsupported format; use .csv, .csv.gz, .tsv, .tsv.gz or .parquet", path.display())]
    UnsupportedFormat {
        /// The file.
        path: PathBuf,
    },
    /// The file's contents do not follow its format.
    #[error("{}: {what}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// The file has no header or no data rows.
    #[error("{}: {what}", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
        /// What is missing.
        what: String,
    },
    /// Two columns share a name.
    #[error("{}: line 1 (the header): duplicate column '{column}' (columns {first} and {second}, counting from 1)", path.display())]
    DuplicateColumn {
        /// The file.
        path: PathBuf,
        /// The repeated name.
        column: String,
        /// 1-based position of its first occurrence.
        first: usize,
        /// 1-based position of its second occurrence.
        second: usize,
    },
    /// A column the caller needs is absent.
    #[error(
        "{source_name}: no column '{column}'{}",
        did_you_mean(column, available)
    )]
    MissingColumn {
        /// The file or table searched.
        source_name: String,
        /// The column asked for.
        column: String,
        /// The columns that exist.
        available: Vec<String>,
    },
    /// A feature column holds a value that is not a number.
    #[error(
        "{}: feature column '{column}' is not numeric: row {row} holds '{value}'. {hint}",
        path.display()
    )]
    NonNumeric {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// 1-based data row (the header is not counted).
        row: usize,
        /// The offending text.
        value: String,
        /// What to do about it (which metadata prefix would make the column metadata).
        hint: String,
    },
    /// A feature value is NaN, missing or infinite and the policy forbids it.
    #[error(
        "{}: feature column '{column}' row {row} is {value}; \
         drop such rows or columns with --on-nonfinite drop-rows|drop-columns \
         (in a benchmark.toml: `[data] on_nonfinite`)",
        path.display()
    )]
    NonFinite {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// 1-based data row.
        row: usize,
        /// "NaN", "missing", "inf" or "-inf".
        value: String,
    },
    /// No feature columns remain.
    #[error("{}: no feature columns ({reason})", path.display())]
    NoFeatures {
        /// The file.
        path: PathBuf,
        /// Why none remain.
        reason: String,
    },
    /// A row filter expression is malformed or does not apply.
    #[error("row filter '{expr}': {reason}")]
    BadFilter {
        /// The expression as given.
        expr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A feature selector is malformed.
    #[error("feature selector '{pattern}': {reason}")]
    BadSelector {
        /// The pattern as given.
        pattern: String,
        /// What is wrong with it.
        reason: String,
    },
    /// Parts of a profile table disagree in shape.
    #[error("{0}")]
    Shape(String),
    /// An error inside polars while parsing or writing a table.
    #[error("{}: {source}", path.as_deref().map(|p| p.display().to_string()).unwrap_or_else(|| "table".into()))]
    Polars {
        /// The file, when one is involved.
        path: Option<PathBuf>,
        /// The polars error (boxed: it is large, and every `Result` of this crate carries it).
        source: Box<polars::error::PolarsError>,
    },
}

impl From<polars::error::PolarsError> for Error {
    fn from(source: polars::error::PolarsError) -> Self {
        Error::Polars {
            path: None,
            source: Box::new(source),
        }
    }
}

impl Error {
    /// Wraps an IO error with the file it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

fn did_you_mean(column: &str, available: &[String]) -> String {
    if available.is_empty() {
        return String::new();
    }
    let lower = column.to_lowercase();
    let close: Vec<&str> = available
        .iter()
        .filter(|c| {
            let c = c.to_lowercase();
            c.contains(&lower) || lower.contains(&c) || edit_distance(&c, &lower) <= 2
        })
        .map(String::as_str)
        .take(3)
        .collect();
    if close.is_empty() {
        let shown: Vec<&str> = available.iter().map(String::as_str).take(12).collect();
        let more = available.len().saturating_sub(shown.len());
        let tail = if more > 0 {
            format!(", … {more} more")
        } else {
            String::new()
        };
        format!(" (columns: {}{tail})", shown.join(", "))
    } else {
        format!(" (did you mean {}?)", close.join(", "))
    }
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_column_suggests_close_names() {
        let e = Error::MissingColumn {
            source_name: "x.csv".into(),
            column: "Metadata_plate".into(),
            available: vec!["Metadata_Plate".into(), "Metadata_Well".into()],
        };
        assert_eq!(
            e.to_string(),
            "x.csv: no column 'Metadata_plate' (did you mean Metadata_Plate?)"
        );
    }

    #[test]
    fn missing_column_lists_columns_when_nothing_is_close() {
        let e = Error::MissingColumn {
            source_name: "x.csv".into(),
            column: "zzz".into(),
            available: vec!["Metadata_Plate".into()],
        };
        assert!(e.to_string().ends_with("(columns: Metadata_Plate)"), "{e}");
    }
}
