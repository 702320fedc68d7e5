//! Null-distribution benchmarks: AP nulls of T = 100 000 draws for typical (n_pos, n_total)
//! configurations, exact enumeration, copairs' bit-exact numpy stream, and the whole mAP
//! p-value step of the case (c) (2 000 compounds × 4 replicates against 384 controls).
//!
//! Run: `cargo bench -p cpbench-metrics --bench null`.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};

use cpbench_metrics::retrieval::map::{MapParams, mean_average_precision};
use cpbench_metrics::retrieval::null::{
    NullConfig, NullMode, copairs_null, enumerate_null, sample_null,
};

const T: usize = 100_000;

/// (n_pos, n_total) pairs seen in practice: replicates vs controls (3:387), the LINCS plate's
/// configurations (5:29, 11:35, 5:341), BBBC021 MoA (18:284, 27:293), all-vs-all on 5 000
/// profiles (3:4999), and a dense half-and-half list (200:400).
const CONFIGS: [(u32, u32); 8] = [
    (3, 387),
    (5, 29),
    (11, 35),
    (5, 341),
    (18, 284),
    (27, 293),
    (3, 4999),
    (200, 400),
];

fn bench_sample(c: &mut Criterion) {
    let mut g = c.benchmark_group("sample_null_T100000_1thread");
    g.sample_size(20);
    for (m, l) in CONFIGS {
        let cfg = NullConfig::new(m, l).unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(cfg), &cfg, |b, &cfg| {
            b.iter(|| black_box(sample_null(cfg, T, 0, 1)))
        });
    }
    g.finish();

    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut g = c.benchmark_group(format!("sample_null_T100000_{threads}threads"));
    g.sample_size(20);
    for (m, l) in [(3, 387), (27, 293)] {
        let cfg = NullConfig::new(m, l).unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(cfg), &cfg, |b, &cfg| {
            b.iter(|| black_box(sample_null(cfg, T, 0, threads)))
        });
    }
    g.finish();
}

fn bench_enumerate(c: &mut Criterion) {
    let mut g = c.benchmark_group("enumerate_null");
    g.sample_size(20);
    // C(300, 2) = 44 850 and C(60, 3) = 34 220: enumerable at T = 100 000.
    for (m, l) in [(2, 300), (3, 60)] {
        let cfg = NullConfig::new(m, l).unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(cfg), &cfg, |b, &cfg| {
            b.iter(|| black_box(enumerate_null(cfg, T as u64)))
        });
    }
    g.finish();
}

fn bench_copairs_stream(c: &mut Criterion) {
    let mut g = c.benchmark_group("copairs_null_T100000");
    g.sample_size(10);
    for (m, l) in [(3, 387), (5, 29)] {
        let cfg = NullConfig::new(m, l).unwrap();
        g.bench_with_input(BenchmarkId::from_parameter(cfg), &cfg, |b, &cfg| {
            b.iter(|| black_box(copairs_null(cfg, T, 6886)))
        });
    }
    g.finish();
}

/// The p-value step of case (c): 2 000 groups × 4 members, all in configuration 3:387.
fn bench_map_pipeline(c: &mut Criterion) {
    let n_groups = 2000u32;
    let mut ap = Vec::new();
    let mut group = Vec::new();
    for g in 0..n_groups {
        for r in 0..4u32 {
            // Deterministic spread of APs over (0, 1].
            ap.push(f64::from((g * 37 + r * 101) % 997 + 1) / 997.0);
            group.push(g);
        }
    }
    let n_pos = vec![3u32; ap.len()];
    let n_total = vec![387u32; ap.len()];
    let mut g = c.benchmark_group("map_2000x4_T100000");
    g.sample_size(10);
    for mode in [NullMode::Cpbench, NullMode::Copairs] {
        let params = MapParams {
            null_size: T,
            null_mode: mode,
            ..MapParams::default()
        };
        g.bench_function(format!("{mode:?}"), |b| {
            b.iter(|| {
                black_box(mean_average_precision(&ap, &n_pos, &n_total, &group, &params).unwrap())
            })
        });
    }
    // A mixed-configuration variant: every group has members in two configurations, which
    // takes the member-order accumulation path instead of the sorted binary search.
    let n_total_mixed: Vec<u32> = (0..ap.len())
        .map(|i| if i % 4 < 2 { 387 } else { 388 })
        .collect();
    let params = MapParams {
        null_size: T,
        ..MapParams::default()
    };
    g.bench_function("Cpbench_two_configs_per_group", |b| {
        b.iter(|| {
            black_box(mean_average_precision(&ap, &n_pos, &n_total_mixed, &group, &params).unwrap())
        })
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_sample,
    bench_enumerate,
    bench_copairs_stream,
    bench_map_pipeline
);
criterion_main!(benches);
