//! `cpbench eval kmeans` and `cpbench eval partition` through the binary: scikit-learn's best
//! inertia and silhouettes on the BBBC021 treatment-level fixture
//! (tests/golden/make_sklearn_fixtures.py), the JSON contract, the assignments table, missing
//! labels and bad input.

use std::path::Path;

use serde_json::Value;

use super::{cpbench, eval_json, fails_with_2, read_json, sklearn_fixture};

fn treatments() -> String {
    sklearn_fixture("bbbc021_treatments.csv.gz")
        .display()
        .to_string()
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

/// Runs `eval kmeans` on the BBBC021 treatments (labels = MoA, batch silhouette on).
fn bbbc021_kmeans(dir: &Path, restarts: usize, seed: u64) -> Value {
    eval_json(
        dir,
        &format!("k{restarts}_{seed}.json"),
        &[
            "kmeans",
            "--profiles",
            &treatments(),
            "--labels",
            "Metadata_moa",
            "--restarts",
            &restarts.to_string(),
            "--seed",
            &seed.to_string(),
            "--batch",
            "Metadata_Batch",
        ],
    )
}

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
fn kmeans_on_bbbc021_treatments_matches_scikit_learn_inertia() {
    let dir = tempfile::tempdir().unwrap();
    let fx = read_json(&sklearn_fixture("kmeans.json"));
    let mut checked = 0;
    for case in fx["cases"].as_array().unwrap() {
        if case["data"] != "bbbc021_treatments" {
            continue;
        }
        let restarts = case["n_init"].as_u64().unwrap() as usize;
        let seeds = case["best_inertia_by_seed"].as_array().unwrap().len() as u64;
        // One seed's best of R restarts is luck (scikit-learn's own bests at R = 10 vary by
        // several percent): compare medians over as many seeds as the fixture has.
        let best: Vec<f64> = (0..seeds)
            .map(|seed| f(&bbbc021_kmeans(dir.path(), restarts, seed)["best_inertia"]))
            .collect();
        let (got, want) = (median(best), f(&case["median_best_inertia"]));
        assert!(
            got <= want * 1.01,
            "R = {restarts}: cpbench {got} vs scikit-learn {want}"
        );
        checked += 1;
    }
    assert_eq!(checked, 2);
    // The mean single-restart inertia matches scikit-learn's (same initialization quality).
    let v = bbbc021_kmeans(dir.path(), 200, 0);
    let want = f(&fx["cases"][0]["single_restart_mean_inertia"]);
    let mean = f(&v["summary"]["inertia"]["mean"]);
    assert!((mean / want - 1.0).abs() < 0.01, "{mean} vs {want}");
}

#[test]
fn kmeans_json_follows_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let sil = read_json(&sklearn_fixture("silhouette.json"));
    let v = bbbc021_kmeans(dir.path(), 20, 3);
    // k = auto = the 12 MoAs.
    assert_eq!(v["k"], 12);
    assert_eq!(v["k_auto"], true);
    assert_eq!(v["n_profiles"], 103);
    assert_eq!(v["seed"], 3);
    let best = f(&v["best_inertia"]);
    let runs = v["restarts"].as_array().unwrap();
    assert_eq!(runs.len(), 20);
    let inertia: Vec<f64> = runs.iter().map(|r| f(&r["inertia"])).collect();
    assert_eq!(inertia.iter().copied().fold(f64::INFINITY, f64::min), best);
    assert_eq!(
        f(&runs[v["best_restart"].as_u64().unwrap() as usize]["inertia"]),
        best
    );
    // The summary is the mean and population sd of the per-restart scores.
    for metric in ["nmi", "ari", "purity"] {
        let xs: Vec<f64> = runs.iter().map(|r| f(&r[metric])).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let sd = (xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64).sqrt();
        assert!((f(&v["summary"][metric]["mean"]) - mean).abs() < 1e-12);
        assert!((f(&v["summary"][metric]["sd"]) - sd).abs() < 1e-12);
        assert!(xs.iter().all(|x| (-1.0..=1.0).contains(x)));
    }
    let seeds: Vec<u64> = runs.iter().map(|r| r["seed"].as_u64().unwrap()).collect();
    let mut distinct = seeds.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), seeds.len());
    // Silhouettes against scikit-learn's and the scib formula computed from scikit-learn's.
    let s = &v["silhouette"];
    let want = f(&sil["bbbc021_moa_euclidean_score"]);
    assert!((f(&s["labels"]) - want).abs() < 1e-10, "{s}");
    assert!((f(&s["labels_scib"]) - (want + 1.0) / 2.0).abs() < 1e-10);
    let want = f(&sil["bbbc021_batch_scib_euclidean"]);
    assert!((f(&s["batch_scib"]) - want).abs() < 1e-10, "{s}");
    let want = f(&sil["bbbc021_batch_euclidean_score"]);
    assert!((f(&s["batch"]) - want).abs() < 1e-10, "{s}");
}

#[test]
fn kmeans_is_reproducible_across_thread_counts_and_seeds_matter() {
    let dir = tempfile::tempdir().unwrap();
    let file = treatments();
    let run = |name: &str, threads: &str, seed: &str| {
        let mut v = eval_json(
            dir.path(),
            name,
            &[
                "kmeans",
                "--profiles",
                &file,
                "--labels",
                "Metadata_moa",
                "--restarts",
                "8",
                "--seed",
                seed,
                "--threads",
                threads,
                "--silhouette",
                "none",
            ],
        );
        v.as_object_mut().unwrap().remove("profiles");
        v
    };
    let one = run("a.json", "1", "5");
    assert_eq!(one, run("b.json", "3", "5"));
    assert_ne!(one["restarts"], run("c.json", "1", "6")["restarts"]);
    assert_eq!(one["silhouette"], Value::Null);
}

#[test]
fn kmeans_assignments_and_sweep_agree_with_eval_partition() {
    let dir = tempfile::tempdir().unwrap();
    let assignments = dir.path().join("a.csv");
    let out = dir.path().join("k.json");
    cpbench()
        .args(["eval", "kmeans", "--profiles", &treatments()])
        .args(["--labels", "Metadata_moa", "--k", "5", "--restarts", "3"])
        .args(["--k-sweep", "11:13", "--silhouette", "cosine", "--out"])
        .arg(&out)
        .arg("--out-assignments")
        .arg(&assignments)
        .assert()
        .success();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(
        (v["k"].as_u64(), v["k_auto"].as_bool()),
        (Some(5), Some(false))
    );
    let sweep = v["k_sweep"].as_array().unwrap();
    assert_eq!(
        sweep
            .iter()
            .map(|p| p["k"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        [11, 12, 13]
    );
    assert_eq!(
        sweep
            .iter()
            .map(|p| p["ground_truth"].as_bool().unwrap())
            .collect::<Vec<_>>(),
        [false, true, false]
    );
    let want = f(&read_json(&sklearn_fixture("silhouette.json"))["bbbc021_moa_cosine_score"]);
    assert!((f(&v["silhouette"]["labels"]) - want).abs() < 1e-10);

    let text = std::fs::read_to_string(&assignments).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header,
        [
            "Metadata_Compound",
            "Metadata_Concentration",
            "Metadata_moa",
            "Metadata_Batch",
            "restart_0",
            "restart_1",
            "restart_2"
        ]
    );
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), 103);
    assert!(rows.iter().all(|r| {
        r.rsplit(',')
            .take(3)
            .all(|c| c.parse::<u32>().is_ok_and(|k| k < 5))
    }));
    // Scoring a restart's column with eval partition reproduces that restart's scores.
    for r in 0..3 {
        let p = eval_json(
            dir.path(),
            &format!("p{r}.json"),
            &[
                "partition",
                "--profiles",
                assignments.to_str().unwrap(),
                "--true",
                "Metadata_moa",
                "--pred",
                &format!("restart_{r}"),
            ],
        );
        assert_eq!(p["n"], 103);
        for m in ["nmi", "ari", "purity"] {
            assert_eq!(p[m], v["restarts"][r][m], "restart {r} {m}");
        }
    }
}

#[test]
fn partition_matches_scikit_learn_on_a_small_table() {
    let dir = tempfile::tempdir().unwrap();
    let fx = read_json(&sklearn_fixture("partition.json"));
    let case = fx["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "noisy_copy_600")
        .unwrap()
        .clone();
    let table = dir.path().join("t.csv");
    let mut text = String::from("Metadata_true,Metadata_pred,f1\n");
    for (t, p) in case["true"]
        .as_array()
        .unwrap()
        .iter()
        .zip(case["pred"].as_array().unwrap())
    {
        text.push_str(&format!("class_{t},cluster_{p},0.5\n"));
    }
    std::fs::write(&table, text).unwrap();
    let v = eval_json(
        dir.path(),
        "p.json",
        &[
            "partition",
            "--profiles",
            table.to_str().unwrap(),
            "--true",
            "Metadata_true",
            "--pred",
            "Metadata_pred",
        ],
    );
    assert_eq!(v["n"], 600);
    for m in [
        "nmi",
        "ari",
        "purity",
        "inverse_purity",
        "homogeneity",
        "completeness",
        "v_measure",
    ] {
        assert!(
            (f(&v[m]) - f(&case[m])).abs() <= 1e-12,
            "{m}: {} vs {}",
            v[m],
            case[m]
        );
    }
}

#[test]
fn missing_labels_are_refused_or_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("t.csv");
    std::fs::write(
        &table,
        "Metadata_label,f1,f2\na,0,0\na,0.1,0\n,5,5\nb,10,10\nb,10.1,10\n",
    )
    .unwrap();
    let out = dir.path().join("k.json");
    let args = [
        "eval",
        "kmeans",
        "--profiles",
        table.to_str().unwrap(),
        "--labels",
        "Metadata_label",
        "--restarts",
        "4",
        "--out",
        out.to_str().unwrap(),
    ];
    let err = fails_with_2(&args);
    assert!(
        err.contains("Metadata_label") && err.contains("row 2"),
        "{err}"
    );
    assert!(err.contains("--drop-missing"), "{err}");
    assert!(!out.exists());
    let mut with_drop = args.to_vec();
    with_drop.push("--drop-missing");
    cpbench().args(&with_drop).assert().success();
    let v: Value = serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(v["n_dropped_missing"], 1);
    assert_eq!(v["n_profiles"], 4);
    assert_eq!(v["k"], 2);
    assert_eq!(f(&v["summary"]["ari"]["mean"]), 1.0);
}

#[test]
fn bad_input_exits_2_naming_the_problem_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("r.json");
    let out_s = out.to_str().unwrap();
    let file = treatments();
    // A label column that does not exist.
    let err = fails_with_2(&[
        "eval",
        "kmeans",
        "--profiles",
        &file,
        "--labels",
        "Metadata_nope",
        "--out",
        out_s,
    ]);
    assert!(err.contains("Metadata_nope"), "{err}");
    let err = fails_with_2(&[
        "eval",
        "partition",
        "--profiles",
        &file,
        "--true",
        "Metadata_moa",
        "--pred",
        "Metadata_nope",
        "--out",
        out_s,
    ]);
    assert!(err.contains("Metadata_nope"), "{err}");
    // More clusters than rows, a malformed sweep and k.
    let err = fails_with_2(&[
        "eval",
        "kmeans",
        "--profiles",
        &file,
        "--labels",
        "Metadata_moa",
        "--k",
        "500",
        "--out",
        out_s,
    ]);
    assert!(err.contains("--k 500") && err.contains("103"), "{err}");
    let err = fails_with_2(&[
        "eval",
        "kmeans",
        "--profiles",
        &file,
        "--labels",
        "Metadata_moa",
        "--k-sweep",
        "5",
        "--out",
        out_s,
    ]);
    assert!(err.contains("--k-sweep 5"), "{err}");
    let err = fails_with_2(&[
        "eval",
        "kmeans",
        "--profiles",
        &file,
        "--labels",
        "Metadata_moa",
        "--k",
        "zero",
        "--out",
        out_s,
    ]);
    assert!(err.contains("--k zero"), "{err}");
    assert!(!out.exists());
}
