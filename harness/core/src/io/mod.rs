//! Reading and writing profile tables (CSV, CSV.gz, TSV, Parquet) with validation, and atomic
//! output files.
//!
//! The public API is flat: everything is re-exported here as `cpbench_core::io::X`. The
//! submodules split it by concern:
//!
//! - `format` — which format a path names ([`Format`], by extension).
//! - `options` — how to read ([`ReadOptions`], [`NonFinitePolicy`]) and what reading changed
//!   ([`ReadReport`]).
//! - `read` — [`read_table`] and the profile readers: metadata by prefix, features converted to
//!   a row-major `f32` matrix block by block, the non-finite policy applied.
//! - `delimited` / `parquet_read` — the two on-disk readers underneath; `delimited_check` /
//!   `parquet_check` — the structural checks they run first, so that a malformed or truncated
//!   file is an error naming the file, line and column (or column chunk) instead of shifted
//!   rows, NaN padding or a panic inside polars.
//! - `values` — one feature column to `f32` (numbers, pandas' missing words, nulls as NaN).
//! - `transpose` — tiled copies between row-major features and columns.
//! - `write` / `parquet_write` — [`write_profiles`], [`write_table`], [`to_frame`]; profiles go
//!   out in batches, Parquet features plain-encoded on several threads.
//! - `atomic` — [`write_atomic`], [`write_bytes_atomic`]: no partial output file, ever.

use std::path::Path;

use polars::prelude::PolarsError;

use crate::error::Error;

mod atomic;
mod delimited;
mod delimited_check;
mod format;
mod options;
mod parquet_check;
mod parquet_read;
mod parquet_write;
mod read;
mod transpose;
mod values;
mod write;

#[cfg(test)]
mod tests;

pub use atomic::{Commit, STALE_AFTER, clean_up, write_atomic, write_bytes_atomic};
pub use format::Format;
pub use options::{DEFAULT_METADATA_PREFIX, NonFinitePolicy, ReadOptions, ReadReport};
pub use read::{guess_level, read_profiles, read_profiles_or_keys, read_table};
pub use write::{to_frame, write_profiles, write_table, write_tables};

/// Runs `f`, a polars read of the file at `path`; a panic inside it (polars unwraps on some
/// corrupt input the checks cannot see) becomes an error naming the file.
fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    catch_panic(f).unwrap_or_else(|reason| {
        Err(Error::Parse {
            path: path.to_path_buf(),
            what: format!("the file is corrupt: the reader failed on it ({reason})"),
        })
    })
}

/// Runs `f`, returning the message of a panic inside it as the error.
fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "no message".into())
    })
}

/// A polars error about the file at `path`.
fn polars_at(path: &Path, source: PolarsError) -> Error {
    Error::Polars {
        path: Some(path.to_path_buf()),
        source: Box::new(source),
    }
}
