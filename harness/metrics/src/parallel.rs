//! Data parallelism over scoped threads for the per-query and per-group loops.
//!
//! Contract: [`par_chunks`] splits a slice of result slots into contiguous chunks, one per
//! thread, and passes each chunk with the offset of its first slot. Which thread fills which
//! slot never changes what is written there, so results do not depend on the thread count;
//! the callback must only write its own chunk. No thread pool: threads are scoped to the call.

/// Splits `items` into one contiguous chunk per thread and runs `f(offset, chunk)` on each.
///
/// `threads = 0` uses the available parallelism; with one thread (or at most one item) `f`
/// runs once on the whole slice, on the calling thread.
pub(crate) fn par_chunks<T: Send>(
    items: &mut [T],
    threads: usize,
    f: impl Fn(usize, &mut [T]) + Sync,
) {
    let threads = if threads == 0 {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        threads
    };
    let chunk = items.len().div_ceil(threads.max(1)).max(1);
    if threads <= 1 || items.len() <= 1 {
        f(0, items);
        return;
    }
    std::thread::scope(|scope| {
        for (c, part) in items.chunks_mut(chunk).enumerate() {
            let f = &f;
            scope.spawn(move || f(c * chunk, part));
        }
    });
}
