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
//!   a row-major `f32` (or `f64`, [`read_profiles_as`]) matrix block by block, the non-finite
//!   policy applied; [`stored_feature_types`] peeks at a Parquet table's feature types.
//! - `delimited` / `parquet_read` — the two on-disk readers underneath; `delimited_check` /
//!   `parquet_check` — the structural checks they run first, so that a malformed or truncated
//!   file is an error naming the file, line and column (or column chunk) instead of shifted
//!   rows, NaN padding or a panic inside polars.
//! - `values` — one feature column to `f32` or `f64` (numbers, pandas' missing words, nulls as
//!   NaN); [`FeatureFloat`], the element types profiles are read as and written from.
//! - `transpose` — tiled copies between row-major features and columns.
//! - `write` / `parquet_write` — [`write_profiles`], [`write_table`], [`to_frame`]; profiles go
//!   out in batches, Parquet features plain-encoded on several threads.
//! - `atomic` — [`write_atomic`], [`write_bytes_atomic`]: no partial output file, ever.

use std::cell::Cell;
use std::path::Path;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

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
pub use read::{
    OpenProfiles, guess_level, read_profiles, read_profiles_as, read_profiles_or_keys, read_table,
    stored_feature_types,
};
pub use values::FeatureFloat;
pub use write::{to_frame, write_profiles, write_table, write_tables};

/// Runs `f`, a polars read of the file at `path`; a panic inside it (polars unwraps on some
/// corrupt input the checks cannot see) becomes an error naming the file, and is not printed.
fn guarded<T>(path: &Path, f: impl FnOnce() -> Result<T, Error>) -> Result<T, Error> {
    catch_quiet_panic(f).unwrap_or_else(|reason| {
        Err(Error::Parse {
            path: path.to_path_buf(),
            what: format!("the file is corrupt: the reader failed on it ({reason})"),
        })
    })
}

/// Guarded reads running now, on any thread.
static GUARDED_READS: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Whether this thread is inside a guarded read.
    static IN_GUARDED_READ: Cell<bool> = const { Cell::new(false) };
}

/// [`catch_panic`], and the panic is not printed. A panic caught here becomes an error that
/// names the file, so the panic hook's report (`thread 'polars-1' panicked at …`, with a
/// backtrace under `RUST_BACKTRACE`) would only put polars' internals on stderr before
/// cpbench's own message. The process's hook is wrapped once: it stays silent about panics on
/// a thread inside a guarded read, and on polars' worker threads (named `polars-…`, where
/// polars decodes; their panics reach the guarded caller) while a guarded read runs; every
/// other panic goes to the hook that was installed before.
fn catch_quiet_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let here = IN_GUARDED_READ.with(Cell::get);
            let polars_worker = GUARDED_READS.load(Ordering::SeqCst) > 0
                && std::thread::current()
                    .name()
                    .is_some_and(|n| n.starts_with("polars"));
            if !(here || polars_worker) {
                previous(info);
            }
        }));
    });
    /// Leaves the guarded state however `f` ends.
    struct Leave(bool);
    impl Drop for Leave {
        fn drop(&mut self) {
            GUARDED_READS.fetch_sub(1, Ordering::SeqCst);
            IN_GUARDED_READ.with(|g| g.set(self.0));
        }
    }
    GUARDED_READS.fetch_add(1, Ordering::SeqCst);
    let _leave = Leave(IN_GUARDED_READ.with(|g| g.replace(true)));
    catch_panic(f)
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
