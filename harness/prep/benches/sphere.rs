//! Sphering as `ci/compare-pycytominer.py` times it, without file IO: ZCA-cor fitted on 5,000
//! control rows and applied to 100,000 × 1,000 (`cpbench prep sphere --method zca-cor`), and
//! the fit alone; plus a 5-λ CNN-1 sweep fitted on the same controls (one decomposition).
//!
//! Run: `cargo bench -p cpbench-prep --bench sphere`.

use std::hint::black_box;

use cpbench_metrics::rng::SplitMix64;
use cpbench_prep::{Matrix, Sphere, SphereMethod, Transform, regularized_sweep};
use criterion::{Criterion, criterion_group, criterion_main};

/// Correlated features: 50 latent factors with random loadings plus unit noise.
fn synthetic(n: usize, d: usize) -> Vec<f32> {
    let k = 50;
    let mut rng = SplitMix64::new(5);
    let loads: Vec<f64> = (0..k * d).map(|_| rng.standard_normal()).collect();
    let mut x = Vec::with_capacity(n * d);
    for _ in 0..n {
        let z: Vec<f64> = (0..k).map(|_| rng.standard_normal()).collect();
        for j in 0..d {
            let signal: f64 = (0..k).map(|f| z[f] * loads[f * d + j]).sum();
            x.push((signal + rng.standard_normal()) as f32);
        }
    }
    x
}

fn sphere(c: &mut Criterion) {
    let (n, d, controls) = (100_000, 1_000, 5_000);
    let x = synthetic(n, d);
    let rows: Vec<usize> = (0..controls).map(|i| i * (n / controls)).collect();
    let view = Matrix::new(&x, n, d).unwrap();
    let mut g = c.benchmark_group("sphere");
    g.sample_size(10);
    g.bench_function("zca_cor_fit_5000x1000", |b| {
        b.iter(|| {
            let mut t = Sphere::pycytominer(SphereMethod::ZcaCor, 1e-6, true).unwrap();
            t.fit(view, &rows).unwrap();
            black_box(t)
        })
    });
    g.bench_function("zca_cor_fit_5000_apply_100000x1000", |b| {
        b.iter_batched_ref(
            || x.clone(),
            |work| {
                let mut t = Sphere::pycytominer(SphereMethod::ZcaCor, 1e-6, true).unwrap();
                t.fit(view, &rows).unwrap();
                t.apply(work, n, d).unwrap();
            },
            criterion::BatchSize::LargeInput,
        )
    });
    g.bench_function("regularized_sweep_5_lambdas_fit_5000x1000", |b| {
        b.iter(|| {
            black_box(regularized_sweep(view, &rows, &[1e-4, 1e-3, 1e-2, 1e-1, 1.0], true).unwrap())
        })
    });
    g.finish();
}

criterion_group!(benches, sphere);
criterion_main!(benches);
