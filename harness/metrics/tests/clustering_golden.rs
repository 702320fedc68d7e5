//! Partition scores, k-means and silhouettes against scikit-learn 1.9.1 on the golden fixtures of
//! `tests/golden/make_sklearn_fixtures.py` (`tests/fixtures/sklearn/`: `partition.json`,
//! `kmeans.json`, `silhouette.json`, `blobs.csv`). The BBBC021 treatment-level cases, stored
//! gzipped, run through the CLI in `tests/e2e/clustering.rs`.

use std::path::PathBuf;

use cpbench_metrics::Matrix;
use cpbench_metrics::kmeans::{KMeansOptions, kmeans};
use cpbench_metrics::partition::PartitionScores;
use cpbench_metrics::silhouette::{SilhouetteMetric, silhouette_samples, silhouette_score};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/sklearn")
        .join(name)
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

fn codes(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

/// `blobs.csv`: features as a row-major `f32` matrix and the blob of each row as codes.
fn blobs() -> (Vec<f32>, usize, usize, Vec<u32>) {
    let mut r = csv::Reader::from_path(fixture("blobs.csv")).unwrap();
    let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header[0], "Metadata_blob");
    let d = header.len() - 1;
    let (mut data, mut labels) = (Vec::new(), Vec::new());
    for rec in r.records() {
        let rec = rec.unwrap();
        labels.push(rec[0].trim_start_matches("blob_").parse::<u32>().unwrap());
        data.extend(rec.iter().skip(1).map(|v| v.parse::<f32>().unwrap()));
    }
    let n = labels.len();
    (data, n, d, labels)
}

#[test]
fn partition_scores_match_scikit_learn_within_1e_12() {
    let fx = json("partition.json");
    let cases = fx["cases"].as_array().unwrap();
    assert!(cases.len() >= 15);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let s = PartitionScores::new(&codes(&case["true"]), &codes(&case["pred"])).unwrap();
        let mut fields = vec![
            ("nmi", s.nmi),
            ("ari", s.ari),
            ("homogeneity", s.homogeneity),
            ("completeness", s.completeness),
            ("v_measure", s.v_measure),
        ];
        if case.get("purity").is_some() {
            fields.push(("purity", s.purity));
            fields.push(("inverse_purity", s.inverse_purity));
        } else {
            // Empty input: scikit-learn has no purity; cpbench's convention is 1.
            assert_eq!((s.n, s.purity, s.inverse_purity), (0, 1.0, 1.0), "{name}");
        }
        for (field, got) in fields {
            let want = case[field].as_f64().unwrap();
            assert!(
                (got - want).abs() <= 1e-12,
                "{name} {field}: cpbench {got} vs scikit-learn {want}"
            );
        }
    }
}

/// Median of a few values.
fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    }
}

#[test]
fn kmeans_inertia_on_blobs_is_within_1_percent_of_scikit_learn() {
    let (data, n, d, _) = blobs();
    let x = Matrix::new(&data, n, d).unwrap();
    let fx = json("kmeans.json");
    let mut checked = 0;
    for case in fx["cases"].as_array().unwrap() {
        if case["data"] != "blobs" {
            continue;
        }
        let k = case["k"].as_u64().unwrap() as usize;
        let restarts = case["n_init"].as_u64().unwrap() as usize;
        let seeds = case["best_inertia_by_seed"].as_array().unwrap().len() as u64;
        // The median over as many seeds as scikit-learn's, since one seed's best is luck.
        let best: Vec<f64> = (0..seeds)
            .map(|seed| {
                let opts = KMeansOptions {
                    restarts,
                    seed,
                    ..KMeansOptions::new(k)
                };
                kmeans(x, &opts).unwrap().best_inertia()
            })
            .collect();
        let (got, want) = (median(best), case["median_best_inertia"].as_f64().unwrap());
        assert!(
            got <= want * 1.01,
            "k = {k}, R = {restarts}: cpbench {got} vs scikit-learn {want}"
        );
        // A much lower inertia than scikit-learn's best would mean a different objective.
        assert!(
            got >= want * 0.99,
            "k = {k}, R = {restarts}: {got} vs {want}"
        );
        // Single restarts are as good on average: the initialization matches scikit-learn's.
        let all = kmeans(
            x,
            &KMeansOptions {
                restarts: 200,
                ..KMeansOptions::new(k)
            },
        )
        .unwrap();
        let mean = all.restarts.iter().map(|r| r.inertia).sum::<f64>() / 200.0;
        let want = case["single_restart_mean_inertia"].as_f64().unwrap();
        assert!(
            (mean / want - 1.0).abs() < 0.01,
            "mean restart: {mean} vs {want}"
        );
        checked += 1;
    }
    assert_eq!(checked, 2);
}

#[test]
fn silhouettes_match_scikit_learn() {
    let (data, n, d, labels) = blobs();
    let x = Matrix::new(&data, n, d).unwrap();
    let fx = json("silhouette.json");
    for (metric, name) in [
        (SilhouetteMetric::Euclidean, "euclidean"),
        (SilhouetteMetric::Cosine, "cosine"),
    ] {
        let want: Vec<f64> = fx[format!("blobs_{name}_samples")]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let got = silhouette_samples(x, &labels, metric).unwrap();
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert!((g - w).abs() < 1e-10, "{name} row {i}: {g} vs {w}");
        }
        let score = silhouette_score(x, &labels, metric).unwrap();
        let want = fx[format!("blobs_{name}_score")].as_f64().unwrap();
        assert!((score - want).abs() < 1e-10, "{name}: {score} vs {want}");
    }
}
