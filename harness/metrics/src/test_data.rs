//! Deterministic pseudo-random matrices shared by the unit tests.

/// `n × d` row-major values in [-0.5, 0.5) from a 64-bit LCG (Knuth's MMIX constants).
pub(crate) fn uniform(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut x = seed;
    (0..n * d)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((x >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        })
        .collect()
}
