//! Golden tests of kNN accuracy, the logistic classifier and batch leakage against
//! scikit-learn 1.9.1 (`tests/fixtures/sklearn`, written by `tests/golden/make_sklearn_fixtures.py`).

use std::path::PathBuf;

use cpbench_metrics::Matrix;
use cpbench_metrics::classify::{LogisticParams, fit_logistic};
use cpbench_metrics::knn::{KnnParams, VoteTie, knn_accuracy};
use cpbench_metrics::leakage::{LeakageParams, batch_leakage};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/sklearn")
        .join(name)
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixture(name)).unwrap()).unwrap()
}

/// Feature columns (every column not starting with `Metadata_`) of a fixture CSV, as `f32`.
fn features(name: &str) -> (Vec<f32>, usize, usize) {
    let mut reader = csv::Reader::from_path(fixture(name)).unwrap();
    let headers = reader.headers().unwrap().clone();
    let cols: Vec<usize> = (0..headers.len())
        .filter(|&i| !headers[i].starts_with("Metadata_"))
        .collect();
    let mut data = Vec::new();
    let mut n = 0;
    for record in reader.records() {
        let record = record.unwrap();
        data.extend(cols.iter().map(|&i| record[i].parse::<f32>().unwrap()));
        n += 1;
    }
    (data, n, cols.len())
}

fn u32s(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as u32)
        .collect()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .flat_map(|x| match x.as_array() {
            Some(row) => row.iter().map(|y| y.as_f64().unwrap()).collect(),
            None => vec![x.as_f64().unwrap()],
        })
        .collect()
}

#[test]
fn knn_predictions_match_sklearn_brute_cosine() {
    let expected = json("knn_synth.json");
    let labels = u32s(&expected["labels"]);
    let (x, n, d) = features("knn_synth.csv");
    let m = Matrix::new(&x, n, d).unwrap();
    for (k, case) in expected["k"].as_object().unwrap() {
        let k: usize = k.parse().unwrap();
        let r = knn_accuracy(
            m,
            &labels,
            4,
            &[],
            &KnnParams {
                k,
                ..KnnParams::default()
            },
        )
        .unwrap();
        let mut compared = 0;
        for (q, want) in case["predictions"].as_array().unwrap().iter().enumerate() {
            // null: the neighbours' vote is tied, where scikit-learn's rule (lowest label) and
            // cpbench's (summed similarity first) differ by design.
            if let Some(want) = want.as_u64() {
                assert_eq!(r.predictions[q], Some(want as u32), "k = {k}, query {q}");
                compared += 1;
            }
        }
        assert_eq!(compared + case["vote_ties"].as_u64().unwrap() as usize, n);
        if case["vote_ties"].as_u64().unwrap() == 0 {
            assert_eq!(r.accuracy, case["accuracy"].as_f64().unwrap(), "k = {k}");
        }
    }
}

#[test]
fn logistic_matches_sklearn_lbfgs() {
    let expected = json("logistic.json");
    let (n, d) = (
        expected["n"].as_u64().unwrap() as usize,
        expected["d"].as_u64().unwrap() as usize,
    );
    let x: Vec<f32> = f64s(&expected["x"]).iter().map(|&v| v as f32).collect();
    let m = Matrix::new(&x, n, d).unwrap();
    for case in expected["cases"].as_array().unwrap() {
        let name = case["name"].as_str().unwrap();
        let y = u32s(&case["y"]);
        let n_classes = *y.iter().max().unwrap() as usize + 1;
        let params = LogisticParams {
            c: case["c"].as_f64().unwrap(),
            max_iter: 10_000,
            tol: 1e-10,
            balanced: case["balanced"].as_bool().unwrap(),
            fit_intercept: case["fit_intercept"].as_bool().unwrap(),
        };
        let model = fit_logistic(m, &y, n_classes, &params).unwrap();
        assert!(model.converged, "{name}");
        assert_eq!(model.predict(m), u32s(&case["predictions"]), "{name}");
        let want_coef = f64s(&case["coef"]);
        let want_intercept = f64s(&case["intercept"]);
        // A binary model is stored as class 1 against a zero class 0 (scikit-learn's one row).
        let (coef, intercept) = if n_classes == 2 {
            (&model.coef[d..], &model.intercept[1..])
        } else {
            (&model.coef[..], &model.intercept[..])
        };
        assert_eq!(coef.len(), want_coef.len(), "{name}: coefficient count");
        assert_eq!(
            intercept.len(),
            want_intercept.len(),
            "{name}: intercept count"
        );
        let scale = want_coef.iter().fold(0.0f64, |a, v| a.max(v.abs()));
        for (i, (g, w)) in coef.iter().zip(&want_coef).enumerate() {
            assert!((g - w).abs() <= 1e-6 * scale, "{name} coef {i}: {g} vs {w}");
        }
        for (i, (g, w)) in intercept.iter().zip(&want_intercept).enumerate() {
            assert!(
                (g - w).abs() <= 1e-6 * scale.max(1.0),
                "{name} intercept {i}: {g} vs {w}"
            );
        }
        let decision = model.decision_function(m);
        let want = f64s(&case["decision"]);
        let per_row = if n_classes == 2 { 1 } else { n_classes };
        assert_eq!(
            decision.len() / n_classes,
            want.len() / per_row,
            "{name}: decision rows"
        );
        if n_classes == 2 {
            for (q, w) in want.iter().enumerate() {
                assert!(
                    (decision[q * 2 + 1] - w).abs() < 1e-5,
                    "{name} decision {q}"
                );
            }
        } else {
            for (q, (g, w)) in decision.iter().zip(&want).enumerate() {
                assert!((g - w).abs() < 1e-5, "{name} decision {q}: {g} vs {w}");
            }
        }
    }
}

#[test]
fn leakage_fold_scores_match_sklearn_pipeline() {
    let expected = json("leakage.json");
    let batch = u32s(&expected["batch"]);
    let folds: Vec<Vec<usize>> = expected["folds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| u32s(f).into_iter().map(|r| r as usize).collect())
        .collect();
    let (x, n, d) = features("leakage_synth.csv");
    let m = Matrix::new(&x, n, d).unwrap();
    let mut params = LeakageParams {
        knn_k: 1,
        ..LeakageParams::default()
    };
    params.logistic.tol = 1e-10;
    params.logistic.max_iter = 10_000;
    let r = batch_leakage(m, &batch, 4, &folds, &params).unwrap();
    let want = &expected["balanced_accuracy"];
    assert_eq!(r.logistic.per_fold, f64s(&want["logistic"]));
    assert_eq!(r.knn.per_fold, f64s(&want["knn"]));
    // Four voters over four batches tie often: scikit-learn's rule reproduces its scores.
    params.knn_k = 4;
    params.knn_vote_tie = VoteTie::LowestLabel;
    let r = batch_leakage(m, &batch, 4, &folds, &params).unwrap();
    assert_eq!(r.knn.per_fold, f64s(&want["knn_k4"]));
}

#[test]
fn knn_with_the_sklearn_tie_rule_matches_kneighborsclassifier_on_tied_votes() {
    let expected = json("knn_ties.json");
    let labels = u32s(&expected["labels"]);
    let (x, n, d) = features("knn_ties.csv");
    let m = Matrix::new(&x, n, d).unwrap();
    let mut rules_differ = false;
    for (k, case) in expected["k"].as_object().unwrap() {
        let k: usize = k.parse().unwrap();
        assert!(
            case["vote_ties"].as_u64().unwrap() > 0,
            "k = {k}: no tied vote to test"
        );
        let run = |vote_tie| {
            knn_accuracy(
                m,
                &labels,
                3,
                &[],
                &KnnParams {
                    k,
                    vote_tie,
                    ..KnnParams::default()
                },
            )
            .unwrap()
        };
        let sklearn = run(VoteTie::LowestLabel);
        let want: Vec<Option<u32>> = u32s(&case["predictions"]).into_iter().map(Some).collect();
        assert_eq!(sklearn.predictions, want, "k = {k}");
        assert_eq!(
            sklearn.accuracy,
            case["accuracy"].as_f64().unwrap(),
            "k = {k}"
        );
        rules_differ |= run(VoteTie::SummedSimilarity).predictions != want;
    }
    assert!(
        rules_differ,
        "the fixture must tell the two tie rules apart"
    );
}
