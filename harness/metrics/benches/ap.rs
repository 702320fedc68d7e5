//! Average precision on synthetic profiles (issue 3, speed case (a) and an all-vs-all case).
//!
//! - `against_controls`: 2,000 compounds × 4 replicates + 384 controls, 1,000 features, each
//!   compound well ranking its replicates against the controls (copairs' reference trick).
//! - `all_vs_all`: 1,250 compounds × 4 replicates, 1,000 features, negatives = every other
//!   compound.
//!
//! Run: `cargo bench -p cpbench-metrics --bench ap`.

use std::hint::black_box;

use cpbench_metrics::retrieval::{
    ApOptions, PairColumn, PairRules, assign_reference_index, average_precision,
};
use cpbench_metrics::rng::SplitMix64;
use cpbench_metrics::{LabelColumn, Matrix, Similarity};
use criterion::{Criterion, criterion_group, criterion_main};

/// `compounds × reps` treated wells around per-compound centers, then `controls` around 0.
/// Returns features and the compound label of each row ("DMSO" for controls).
fn synthetic(compounds: usize, reps: usize, controls: usize, d: usize) -> (Vec<f32>, Vec<String>) {
    let mut rng = SplitMix64::new(2024);
    let mut x = Vec::with_capacity((compounds * reps + controls) * d);
    let mut cpd = Vec::new();
    for c in 0..compounds {
        let center: Vec<f64> = (0..d).map(|_| 0.5 * rng.standard_normal()).collect();
        for _ in 0..reps {
            x.extend(center.iter().map(|m| (m + rng.standard_normal()) as f32));
            cpd.push(format!("C{c:05}"));
        }
    }
    for _ in 0..controls {
        x.extend((0..d).map(|_| rng.standard_normal() as f32));
        cpd.push("DMSO".to_owned());
    }
    (x, cpd)
}

fn bench_ap(c: &mut Criterion) {
    let d = 1000;
    let mut group = c.benchmark_group("average_precision");
    group.sample_size(10);

    let (x, cpd) = synthetic(2000, 4, 384, d);
    let n = cpd.len();
    let values: Vec<Option<String>> = cpd.iter().cloned().map(Some).collect();
    let mask: Vec<bool> = cpd.iter().map(|c| c == "DMSO").collect();
    let columns = vec![
        PairColumn::Single(LabelColumn::encode("Metadata_cpd", &values)),
        PairColumn::Single(assign_reference_index("Metadata_Reference", &mask)),
    ];
    let rules = PairRules {
        pos_sameby: vec![0, 1],
        neg_diffby: vec![0, 1],
        ..PairRules::default()
    };
    group.bench_function("against_controls_8384x1000", |b| {
        b.iter(|| {
            let m = Matrix::new(&x, n, d).unwrap();
            let t = average_precision(
                m,
                &columns,
                &rules,
                Similarity::Cosine,
                &ApOptions::default(),
            );
            black_box(t.unwrap())
        })
    });

    let (x, cpd) = synthetic(1250, 4, 0, d);
    let n = cpd.len();
    let values: Vec<Option<String>> = cpd.into_iter().map(Some).collect();
    let columns = vec![PairColumn::Single(LabelColumn::encode(
        "Metadata_cpd",
        &values,
    ))];
    let rules = PairRules {
        pos_sameby: vec![0],
        neg_diffby: vec![0],
        ..PairRules::default()
    };
    group.bench_function("all_vs_all_5000x1000", |b| {
        b.iter(|| {
            let m = Matrix::new(&x, n, d).unwrap();
            let t = average_precision(
                m,
                &columns,
                &rules,
                Similarity::Cosine,
                &ApOptions::default(),
            );
            black_box(t.unwrap())
        })
    });
    group.finish();
}

criterion_group!(benches, bench_ap);
criterion_main!(benches);
