//! Leave-one-out kNN accuracy and the batch-leakage classifiers on synthetic profiles.
//!
//! - `knn_5000x1000`: 5,000 profiles × 1,000 features, 250 classes of 20, cosine, k = 1 and
//!   k = 5, without exclusions and with a not-same-compound rule (compounds of 5 profiles).
//!   The 20,000 × 1,000 comparison with scikit-learn runs through the CLI
//!   (`ci/compare-sklearn.py`), where one iteration takes seconds.
//! - `leakage_2000x500`: multinomial logistic fit (10 classes, C = 1, up to 1000 L-BFGS
//!   iterations) and the full 5-fold batch-leakage evaluation (logistic + 5-NN).
//!
//! Run: `cargo bench -p cpbench-metrics --bench knn`.

use std::hint::black_box;

use cpbench_metrics::Matrix;
use cpbench_metrics::classify::{LogisticParams, fit_logistic, stratified_group_kfold};
use cpbench_metrics::knn::{KnnParams, knn_accuracy};
use cpbench_metrics::leakage::{LeakageParams, batch_leakage};
use cpbench_metrics::rng::SplitMix64;
use criterion::{Criterion, criterion_group, criterion_main};

/// `classes × per_class` profiles around per-class centres (spread `spread`); features, labels.
fn synthetic(classes: usize, per_class: usize, d: usize, spread: f64) -> (Vec<f32>, Vec<u32>) {
    let mut rng = SplitMix64::new(11);
    let mut x = Vec::with_capacity(classes * per_class * d);
    let mut labels = Vec::with_capacity(classes * per_class);
    for c in 0..classes {
        let center: Vec<f64> = (0..d).map(|_| spread * rng.standard_normal()).collect();
        for _ in 0..per_class {
            x.extend(center.iter().map(|m| (m + rng.standard_normal()) as f32));
            labels.push(c as u32);
        }
    }
    (x, labels)
}

fn bench_knn(c: &mut Criterion) {
    let (classes, per_class, d) = (250, 20, 1000);
    let n = classes * per_class;
    let (x, labels) = synthetic(classes, per_class, d, 0.3);
    let m = Matrix::new(&x, n, d).unwrap();
    let compound: Vec<u32> = (0..n as u32).map(|i| i / 5).collect();

    let mut group = c.benchmark_group("knn_5000x1000");
    group.sample_size(10);
    for k in [1, 5] {
        let params = KnnParams {
            k,
            ..KnnParams::default()
        };
        group.bench_function(format!("k{k}"), |b| {
            b.iter(|| {
                black_box(
                    knn_accuracy(m, &labels, classes, &[], &params)
                        .unwrap()
                        .accuracy,
                )
            })
        });
    }
    let params = KnnParams::default();
    group.bench_function("k1_nsc", |b| {
        b.iter(|| {
            black_box(
                knn_accuracy(m, &labels, classes, &[&compound], &params)
                    .unwrap()
                    .accuracy,
            )
        })
    });
    group.finish();
}

fn bench_leakage(c: &mut Criterion) {
    let (classes, per_class, d) = (10, 200, 500);
    let n = classes * per_class;
    let (x, batch) = synthetic(classes, per_class, d, 0.1);
    let m = Matrix::new(&x, n, d).unwrap();
    // 4 plates per batch.
    let plate: Vec<u32> = (0..n as u32).map(|i| i / 50).collect();
    let folds = stratified_group_kfold(&batch, &plate, 5, 0).unwrap();

    let mut group = c.benchmark_group("leakage_2000x500");
    group.sample_size(10);
    let params = LogisticParams {
        max_iter: 1000,
        ..LogisticParams::default()
    };
    group.bench_function("fit_logistic", |b| {
        b.iter(|| black_box(fit_logistic(m, &batch, classes, &params).unwrap().n_iter))
    });
    group.bench_function("batch_leakage_5fold", |b| {
        b.iter(|| {
            black_box(
                batch_leakage(m, &batch, classes, &folds, &LeakageParams::default())
                    .unwrap()
                    .logistic
                    .mean,
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench_knn, bench_leakage);
criterion_main!(benches);
