//! Tiled copies between the row-major `n × d` feature matrix of [`Profiles`](crate::Profiles)
//! and per-column buffers, in blocks of [`BLOCK_COLS`] columns and tiles of [`TILE_ROWS`] rows
//! so each row is touched once per block. Values are copied bit for bit; the readers and
//! writers decide how many columns a block holds.

/// Feature columns transposed together: each matrix row is touched once per block rather than
/// once per column.
pub(super) const BLOCK_COLS: usize = 32;

/// Rows per tile of the transposes between row-major features and columns: a tile of
/// [`BLOCK_COLS`] columns (32 KiB) stays in L1 while each of its columns is copied.
const TILE_ROWS: usize = 256;

/// Copies column-major `block` (columns of `n` values) into columns `j0..` of the row-major
/// `n × d` matrix `x`, tile by tile, the row ranges split over the available threads.
pub(super) fn scatter_columns<T: Copy + Send + Sync>(
    block: &[T],
    n: usize,
    x: &mut [T],
    d: usize,
    j0: usize,
) {
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
pub(super) fn gather_columns<T: Copy>(
    rows: &[T],
    d: usize,
    j0: usize,
    width: usize,
) -> Vec<Vec<T>> {
    let n = rows.len() / d.max(1);
    // Tiles go in row order, so each column is appended to (no zero-filling first).
    let mut cols: Vec<Vec<T>> = (0..width).map(|_| Vec::with_capacity(n)).collect();
    for t0 in (0..n).step_by(TILE_ROWS) {
        let t1 = (t0 + TILE_ROWS).min(n);
        for (b, col) in cols.iter_mut().enumerate() {
            col.extend((t0..t1).map(|i| rows[i * d + j0 + b]));
        }
    }
    cols
}
