//! The two pycytominer operations `ci/compare-pycytominer.py` times, on synthetic profiles:
//!
//! - `mad_robustize_per_plate`: 100,000 × 1,000, 20 plates of 5,000 wells, each plate
//!   MAD-robustized against its own wells (`cpbench prep normalize --method mad_robustize
//!   --by Metadata_Plate`).
//! - `correlation_threshold`: 20,000 × 1,500 at threshold 0.9 (`cpbench prep feature-select
//!   --ops correlation_threshold`), features built from 300 latent factors so that many pairs
//!   exceed the threshold.
//!
//! Run: `cargo bench -p cpbench-prep --bench prep`.

use std::hint::black_box;

use cpbench_metrics::rng::SplitMix64;
use cpbench_prep::feature_select::{correlation_matrix, correlation_threshold};
use cpbench_prep::{CorrMethod, Matrix, Method, Normalize, fit_apply_by_group};
use criterion::{Criterion, criterion_group, criterion_main};

fn mad_per_plate(c: &mut Criterion) {
    let (n, d, plates) = (100_000, 1_000, 20);
    let mut rng = SplitMix64::new(7);
    let x: Vec<f32> = (0..n * d).map(|_| rng.standard_normal() as f32).collect();
    let groups: Vec<u32> = (0..n).map(|i| (i * plates / n) as u32).collect();
    let fit = vec![true; n];
    let mut g = c.benchmark_group("prep");
    g.sample_size(10);
    g.bench_function("mad_robustize_per_plate_100000x1000", |b| {
        b.iter_batched_ref(
            || x.clone(),
            |work| {
                black_box(
                    fit_apply_by_group(
                        || Normalize::new(Method::MadRobustize),
                        work,
                        n,
                        d,
                        &fit,
                        &groups,
                    )
                    .unwrap(),
                )
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn corr_threshold(c: &mut Criterion) {
    let (n, d, k) = (20_000, 1_500, 300);
    let mut rng = SplitMix64::new(11);
    let latent: Vec<f64> = (0..n * k).map(|_| rng.standard_normal()).collect();
    let x: Vec<f32> = (0..n)
        .flat_map(|i| {
            let row = &latent[i * k..(i + 1) * k];
            (0..d)
                .map(|j| (row[j % k] + 0.2 * ((i * 31 + j * 17) % 97) as f64 / 97.0) as f32)
                .collect::<Vec<_>>()
        })
        .collect();
    let rows: Vec<usize> = (0..n).collect();
    let cols: Vec<usize> = (0..d).collect();
    let m = Matrix::new(&x, n, d).unwrap();
    let mut g = c.benchmark_group("prep");
    g.sample_size(10);
    g.bench_function("correlation_threshold_20000x1500", |b| {
        b.iter(|| {
            black_box(correlation_threshold(m, &rows, &cols, 0.9, CorrMethod::Pearson).unwrap())
        })
    });
    g.finish();
}

/// The `d × d` correlation alone (the part `correlation_threshold` spends its time in).
fn corr_matrix(c: &mut Criterion) {
    let (n, d) = (20_000, 1_500);
    let mut rng = SplitMix64::new(13);
    let x: Vec<f32> = (0..n * d).map(|_| rng.standard_normal() as f32).collect();
    let rows: Vec<usize> = (0..n).collect();
    let cols: Vec<usize> = (0..d).collect();
    let m = Matrix::new(&x, n, d).unwrap();
    let mut g = c.benchmark_group("prep");
    g.sample_size(10);
    g.bench_function("correlation_matrix_20000x1500", |b| {
        b.iter(|| black_box(correlation_matrix(m, &rows, &cols, CorrMethod::Pearson).unwrap()))
    });
    g.finish();
}

criterion_group!(benches, mad_per_plate, corr_threshold, corr_matrix);
criterion_main!(benches);
