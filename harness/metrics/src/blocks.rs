//! All-pairs similarities streamed one block of query rows at a time.
//!
//! Contract: [`for_each_block`] hands its callback every query row of a [`PreparedRows`]
//! exactly once, in row order, as consecutive blocks of `block × n` similarities (row-major,
//! one row per query, every row of the matrix as target, the query itself included). Memory is
//! one block buffer, never `n × n`; the values are those of [`similarity_block`] for the same
//! block. Any error of [`blocks`] or [`similarity_block`] stops the stream and is returned.

use std::ops::Range;

use crate::error::MetricError;
use crate::similarity::{PreparedRows, blocks, similarity_block};

/// Similarity values per query block: 2^23 `f64` (64 MiB) unless `n` alone is larger.
const BLOCK_VALUES: usize = 1 << 23;

/// Runs `f(range, sims)` for consecutive query blocks; `sims` is `range.len() × n`, row-major.
///
/// `block_rows` is the number of query rows per block; 0 picks [`BLOCK_VALUES`]`/ n` rows
/// (at least one). A larger value than `n` is cut to `n`.
pub(crate) fn for_each_block(
    prepared: &PreparedRows,
    block_rows: usize,
    mut f: impl FnMut(Range<usize>, &[f64]),
) -> Result<(), MetricError> {
    let n = prepared.n();
    let block = if block_rows == 0 {
        (BLOCK_VALUES / n).clamp(1, n)
    } else {
        block_rows.min(n)
    };
    let mut buf = vec![0.0; block * n];
    for range in blocks(n, block)? {
        let len = range.len() * n;
        similarity_block(prepared, range.clone(), &mut buf[..len])?;
        f(range, &buf[..len]);
    }
    Ok(())
}
