//! Reading and writing a wide profile table (the IO half of `cpbench prep` and `cpbench eval`).
//!
//! - Parquet: 20,000 rows × 1,000 `f32` features + 3 metadata columns, written then read.
//! - CSV: 2,000 rows × 1,000 features, written then read (text parsing dominates).
//!
//! Run: `cargo bench -p cpbench-core --bench io`.

use std::hint::black_box;

use cpbench_core::io::{ReadOptions, read_profiles, write_profiles};
use cpbench_core::profiles::{Level, Profiles};
use criterion::{Criterion, criterion_group, criterion_main};
use polars::prelude::*;

/// Deterministic profiles with well-spread values (splitmix64 mapped to [-4, 4)).
fn synthetic(n: usize, d: usize) -> Profiles {
    let mut state = 7u64;
    let features: Vec<f32> = (0..n * d)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32 * 8.0 - 4.0
        })
        .collect();
    let meta = df!(
        "Metadata_Plate" => (0..n).map(|i| format!("P{}", i % 20)).collect::<Vec<_>>(),
        "Metadata_Well" => (0..n).map(|i| format!("W{}", i % 384)).collect::<Vec<_>>(),
        "Metadata_Compound" => (0..n).map(|i| format!("C{}", i % 3000)).collect::<Vec<_>>(),
    )
    .expect("metadata frame");
    let names = (0..d).map(|j| format!("Cells_F{j}")).collect();
    Profiles::new(meta, features, names, Level::Well).expect("profiles")
}

fn bench_format(c: &mut Criterion, name: &str, n: usize, d: usize) {
    let profiles = synthetic(n, d);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join(name);
    let mut group = c.benchmark_group(format!("io_{n}x{d}"));
    group.sample_size(10);
    group.bench_function(format!("write_{name}"), |b| {
        b.iter(|| write_profiles(black_box(&profiles), &path).expect("write"))
    });
    write_profiles(&profiles, &path).expect("write");
    let opts = ReadOptions::default();
    group.bench_function(format!("read_{name}"), |b| {
        b.iter(|| read_profiles(black_box(&path), &opts).expect("read"))
    });
    group.finish();
}

fn io(c: &mut Criterion) {
    bench_format(c, "wide.parquet", 20_000, 1_000);
    bench_format(c, "wide.csv", 2_000, 1_000);
}

criterion_group!(benches, io);
criterion_main!(benches);
