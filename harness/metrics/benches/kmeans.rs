//! k-means as the GRAPE evaluation runs it, at the size of the speed target: 2,000
//! profiles × 500 features in 14 overlapping Gaussian clusters, k = 14, 100 restarts (all cores,
//! and one thread), then NMI/ARI/purity of every restart; also the silhouette of the labels.
//!
//! Run: `cargo bench -p cpbench-metrics --bench kmeans`. The side-by-side comparison with
//! scikit-learn is `ci/compare-sklearn.sh`.

use std::hint::black_box;

use cpbench_metrics::Matrix;
use cpbench_metrics::kmeans::{KMeansOptions, kmeans, score_restarts};
use cpbench_metrics::rng::SplitMix64;
use cpbench_metrics::silhouette::{SilhouetteMetric, silhouette_score};
use criterion::{Criterion, criterion_group, criterion_main};

/// `n` rows around `k` random centers (spread 1.5 × the noise), labels = the center of each row.
fn blobs(n: usize, d: usize, k: usize) -> (Vec<f32>, Vec<u32>) {
    let mut rng = SplitMix64::new(14);
    let centers: Vec<f64> = (0..k * d).map(|_| 1.5 * rng.standard_normal()).collect();
    let mut x = Vec::with_capacity(n * d);
    let mut labels = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % k;
        x.extend((0..d).map(|j| (centers[c * d + j] + 4.0 * rng.standard_normal()) as f32));
        labels.push(c as u32);
    }
    (x, labels)
}

fn bench_kmeans(c: &mut Criterion) {
    let (n, d, k) = (2000, 500, 14);
    let (x, truth) = blobs(n, d, k);
    let m = Matrix::new(&x, n, d).unwrap();
    let mut group = c.benchmark_group("kmeans_2000x500_k14");
    group.sample_size(10);
    for threads in [0, 1] {
        let name = if threads == 0 {
            "100_restarts_all_threads"
        } else {
            "100_restarts_1_thread"
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                let opts = KMeansOptions {
                    threads,
                    ..KMeansOptions::new(k)
                };
                let res = kmeans(black_box(m), &opts).unwrap();
                black_box(score_restarts(&truth, &res).unwrap())
            })
        });
    }
    group.bench_function("silhouette_euclidean", |b| {
        b.iter(|| black_box(silhouette_score(m, &truth, SilhouetteMetric::Euclidean).unwrap()))
    });
    group.finish();
}

criterion_group!(benches, bench_kmeans);
criterion_main!(benches);
