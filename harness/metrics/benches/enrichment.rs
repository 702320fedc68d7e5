//! Folds of enrichment (with the interpolated-precision MAP computed in the same pass) on
//! synthetic profiles: 5,000 profiles × 1,000 features, 250 MoA classes of 20 profiles each
//! (every profile is a query of both), cosine, 99th percentile.
//!
//! Also `precision_at_k` (cytominer-eval, group = the class, k = 1, 10, 100) and
//! `replicating_pair` (pair-level percent replicating) on the same data.
//!
//! Run: `cargo bench -p cpbench-metrics --bench enrichment`.

use std::hint::black_box;

use cpbench_metrics::enrichment::{EnrichmentOptions, Labels, folds_of_enrichment};
use cpbench_metrics::ranking::precision_recall_at_k;
use cpbench_metrics::replicating::percent_replicating_pairs;
use cpbench_metrics::rng::SplitMix64;
use cpbench_metrics::{GroupKeys, LabelColumn, Matrix, Similarity};
use criterion::{Criterion, criterion_group, criterion_main};

/// `classes × per_class` profiles scattered around per-class centers; returns features and labels.
fn synthetic(classes: usize, per_class: usize, d: usize) -> (Vec<f32>, LabelColumn) {
    let mut rng = SplitMix64::new(7);
    let mut x = Vec::with_capacity(classes * per_class * d);
    let mut labels = Vec::with_capacity(classes * per_class);
    for c in 0..classes {
        let center: Vec<f64> = (0..d).map(|_| 0.3 * rng.standard_normal()).collect();
        for _ in 0..per_class {
            x.extend(center.iter().map(|m| (m + rng.standard_normal()) as f32));
            labels.push(Some(format!("MoA{c:04}")));
        }
    }
    (x, LabelColumn::encode("Metadata_moa", &labels))
}

fn bench_enrichment(c: &mut Criterion) {
    let (classes, per_class, d) = (250, 20, 1000);
    let n = classes * per_class;
    let (x, labels) = synthetic(classes, per_class, d);
    let m = Matrix::new(&x, n, d).unwrap();
    let groups = GroupKeys::new(&[&labels]).unwrap();

    let mut group = c.benchmark_group("ranking_5000x1000");
    group.sample_size(10);
    group.bench_function("folds_of_enrichment", |b| {
        b.iter(|| {
            let r = folds_of_enrichment(m, Labels::Single(&labels), &EnrichmentOptions::default())
                .unwrap();
            black_box((r.folds_of_enrichment, r.interpolated_map))
        })
    });
    group.bench_function("precision_at_k", |b| {
        b.iter(|| {
            black_box(
                precision_recall_at_k(m, &groups, &[1, 10, 100], Similarity::Pearson, 0).unwrap(),
            )
        })
    });
    group.bench_function("replicating_pair", |b| {
        b.iter(|| {
            black_box(percent_replicating_pairs(m, &groups, 0.95, Similarity::Pearson).unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_enrichment);
criterion_main!(benches);
