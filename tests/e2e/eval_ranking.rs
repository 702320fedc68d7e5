//! `cpbench eval enrichment | precision-at-k | replicating` through the binary: the published
//! cytominer-eval numbers of the shipped LINCS plate, the enrichment golden fixtures
//! (tests/golden/make_enrichment_fixtures.py), determinism, and bad input.

use std::path::{Path, PathBuf};

use cpbench_core::io::read_table;
use polars::prelude::*;
use serde_json::Value;

use super::{cpbench, eval_json, fails_with_2, root, shipped};

const LINCS: &str = "lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz";

fn lincs() -> String {
    shipped(LINCS).display().to_string()
}

fn round(v: f64, digits: i32) -> f64 {
    let s = 10f64.powi(digits);
    (v * s).round() / s
}

#[test]
fn published_percent_replicating_of_the_lincs_plate() {
    let dir = tempfile::tempdir().unwrap();
    let dose = "Metadata_broad_sample,Metadata_mg_per_ml";
    // (replicate columns, quantile, published value, its digits, exact fraction)
    let cases = [
        (dose, "0.95", 0.4583, 4, (187, 408)),
        (dose, "0.5", 0.681, 3, (278, 408)),
        ("Metadata_moa", "0.95", 0.3074, 4, (605, 1968)),
    ];
    for (i, (replicate, q, published, digits, (above, pairs))) in cases.into_iter().enumerate() {
        let v = eval_json(
            dir.path(),
            &format!("r{i}.json"),
            &[
                "replicating",
                "--profiles",
                &lincs(),
                "--replicate",
                replicate,
                "--quantile",
                q,
            ],
        );
        let got = v["percent_replicating"].as_f64().unwrap();
        println!(
            "percent replicating, replicate = {replicate}, q = {q}: {got} (published {published})"
        );
        assert_eq!(round(got, digits), published, "{replicate} q {q}: {got}");
        assert_eq!(v["variant"], "pair");
        assert_eq!(v["n_above"], above);
        assert_eq!(v["n_replicate_pairs"], pairs);
        assert_eq!(
            v["n_replicate_pairs"].as_u64().unwrap() + v["n_non_replicate_pairs"].as_u64().unwrap(),
            384 * 383 / 2
        );
    }
}

#[test]
fn published_precision_and_recall_counts_of_the_lincs_plate() {
    let dir = tempfile::tempdir().unwrap();
    for ext in ["csv", "parquet"] {
        let out = dir.path().join(format!("pk.{ext}"));
        cpbench()
            .args([
                "eval",
                "precision-at-k",
                "--profiles",
                &lincs(),
                "--group",
                "Metadata_broad_sample",
            ])
            .args(["--k", "1,5,10,50,5000", "--out"])
            .arg(&out)
            .assert()
            .success();
        let df = read_table(&out).unwrap();
        // 58 compounds + DMSO, five k each.
        assert_eq!(df.height(), 59 * 5);
        let k = df.column("k").unwrap().cast(&DataType::Int64).unwrap();
        let k = k.i64().unwrap();
        let precision = df.column("precision").unwrap().f64().unwrap().clone();
        let recall = df.column("recall").unwrap().f64().unwrap().clone();
        let published = [(1, 18, 0), (5, 9, 0), (10, 5, 0), (50, 2, 1), (5000, 0, 58)];
        for (kk, p1, r1) in published {
            let rows: Vec<usize> = (0..df.height()).filter(|&i| k.get(i) == Some(kk)).collect();
            assert_eq!(rows.len(), 59);
            let np = rows
                .iter()
                .filter(|&&i| precision.get(i) == Some(1.0))
                .count();
            let nr = rows.iter().filter(|&&i| recall.get(i) == Some(1.0)).count();
            assert_eq!((np, nr), (p1, r1), "k = {kk} ({ext})");
        }
        // DMSO is a group like any other: 24 wells, 24·383 candidate pairs.
        let group = df
            .column("Metadata_broad_sample")
            .unwrap()
            .str()
            .unwrap()
            .clone();
        let sizes = df
            .column("n_profiles")
            .unwrap()
            .cast(&DataType::Int64)
            .unwrap();
        let dmso = (0..df.height())
            .find(|&i| group.get(i) == Some("DMSO"))
            .unwrap();
        assert_eq!(sizes.i64().unwrap().get(dmso), Some(24));
    }
}

/// A float from a fixture cell: `inf`, `nan` and empty (None) included.
fn cell(s: &str) -> Option<f64> {
    if s.is_empty() {
        None
    } else {
        Some(s.parse().unwrap())
    }
}

fn close(a: Option<f64>, b: Option<f64>, tol: f64) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b || (a.is_nan() && b.is_nan()) || (a - b).abs() <= tol,
        _ => false,
    }
}

fn json_f64(v: &Value) -> Option<f64> {
    // The fixtures write NaN as null (JSON has no NaN); so does cpbench.
    Some(v.as_f64().unwrap_or(f64::NAN))
}

#[test]
fn enrichment_matches_the_golden_fixtures() {
    let fixtures = root().join("tests/fixtures/enrichment");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures.join("cases.json")).unwrap())
            .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cases = manifest["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 7);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let input: PathBuf = root().join(case["input"].as_str().unwrap());
        let queries_out = dir.path().join(format!("{name}.parquet"));
        let mut args: Vec<String> = vec![
            "enrichment".into(),
            "--profiles".into(),
            input.display().to_string(),
            "--labels".into(),
            case["labels"].as_str().unwrap().into(),
            "--similarity".into(),
            case["similarity"].as_str().unwrap().into(),
            "--percentile".into(),
            case["percentile"].as_f64().unwrap().to_string(),
            "--out-queries".into(),
            queries_out.display().to_string(),
        ];
        if let Some(sep) = case["sep"].as_str() {
            args.extend(["--sep".into(), sep.into()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        if name == "synth_all_match" {
            // Every row matches every other: the reference gives an undefined ratio for every
            // query and an interpolated MAP of 1, a perfect score of nothing. cpbench refuses
            // it (issue 16: degenerate inputs get a clear error, never a perfect score).
            assert_eq!(
                case["interpolated_map"], 1.0,
                "{name}: the reference changed"
            );
            let out = dir.path().join(format!("{name}.json"));
            let mut refused = vec!["eval"];
            refused.extend(&args);
            refused.extend(["--out", out.to_str().unwrap()]);
            let err = fails_with_2(&refused);
            assert!(
                err.contains("every row shares a label with every other row"),
                "{name}: {err}"
            );
            assert!(
                !out.exists() && !queries_out.exists(),
                "{name}: output written"
            );
            continue;
        }
        let summary = eval_json(dir.path(), &format!("{name}.json"), &args);

        for key in [
            "n_profiles",
            "n_queries",
            "n_infinite_odds_ratios",
            "n_undefined_odds_ratios",
            "n_interpolated_map_queries",
        ] {
            assert_eq!(summary[key], case[key], "{name}: {key}");
        }
        for key in [
            "folds_of_enrichment",
            "haldane_folds_of_enrichment",
            "mean_p_value",
            "interpolated_map",
        ] {
            let (got, want) = (json_f64(&summary[key]), json_f64(&case[key]));
            assert!(close(got, want, 1e-9), "{name}: {key} {got:?} vs {want:?}");
        }

        let want = std::fs::read_to_string(root().join(case["queries"].as_str().unwrap())).unwrap();
        let mut lines = want.lines();
        let header: Vec<&str> = lines.next().unwrap().split(',').collect();
        let got = read_table(&queries_out).unwrap();
        assert_eq!(got.height(), lines.clone().count(), "{name}");
        for (r, line) in lines.enumerate() {
            for (c, text) in header.iter().zip(line.split(',')) {
                let col = got.column(c).unwrap().cast(&DataType::Float64).unwrap();
                let g = col.f64().unwrap().get(r);
                let w = cell(text);
                // Counts and row indices are exact; thresholds differ by at most the last
                // bits of a dot product; statrs' p-values agree with scipy to ~1e-12.
                let tol = match *c {
                    "row" | "n_matches" | "v11" | "v12" | "v21" | "v22" => 0.0,
                    _ => 1e-9,
                };
                assert!(close(g, w, tol), "{name} query {r} {c}: {g:?} vs {w:?}");
            }
        }
    }
}

#[test]
fn group_median_replicating_is_seeded_and_thread_independent() {
    let dir = tempfile::tempdir().unwrap();
    let path = lincs();
    let run = |name: &str, extra: &[&str]| {
        let mut args = vec!["replicating", "--profiles", &path, "--replicate"];
        args.extend([
            "Metadata_broad_sample",
            "--variant",
            "group-median",
            "--null-size",
            "300",
        ]);
        args.extend_from_slice(extra);
        eval_json(dir.path(), name, &args)
    };
    let a = run("a.json", &["--threads", "1"]);
    let b = run("b.json", &["--threads", "3"]);
    let c = run("c.json", &["--seed", "1"]);
    assert_eq!(a, b);
    assert_ne!(a["nulls"], c["nulls"]);
    assert_eq!(a["n_groups"], 59);
    let p = a["percent_replicating"].as_f64().unwrap();
    assert!(p > 0.5 && p <= 1.0, "{p}");
    // Sizes 6 (compounds), 12 (the two proteasome inhibitors) and 24 (DMSO) each get a null.
    let sizes: Vec<u64> = a["nulls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["size"].as_u64().unwrap())
        .collect();
    assert_eq!(sizes, [6, 12, 24]);
}

#[test]
fn bad_input_stops_with_exit_2_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let json_out = dir.path().join("r.json").display().to_string();
    let csv_out = dir.path().join("r.csv").display().to_string();
    // (subcommand and flags, output, what the message must say)
    let cases = [
        (
            "enrichment --labels Metadata_nope",
            &json_out,
            "feature_select.csv.gz: no column 'Metadata_nope'",
        ),
        (
            "enrichment --labels Metadata_moa --percentile 150",
            &json_out,
            "--percentile 150",
        ),
        (
            "enrichment --labels Metadata_Well",
            &json_out,
            "--labels Metadata_Well: no row shares a label",
        ),
        ("enrichment --labels Metadata_moa --sep", &json_out, "--sep"),
        (
            "enrichment --labels Metadata_moa --similarity manhattan",
            &json_out,
            "similarity = manhattan",
        ),
        (
            "precision-at-k --group Metadata_broad_sample --k 0,5",
            &csv_out,
            "--k 0: every k must be at least 1",
        ),
        (
            "precision-at-k --group Metadata_broad_sample --k x",
            &csv_out,
            "invalid value 'x' for '--k",
        ),
        (
            "precision-at-k --group Metadata_broad_sample --k 5",
            &json_out,
            "unsupported format",
        ),
        (
            "precision-at-k --group Metadata_nope --k 5",
            &csv_out,
            "no column 'Metadata_nope'",
        ),
        (
            "replicating --replicate Metadata_Well",
            &json_out,
            "no replicate pair",
        ),
        (
            "replicating --replicate Metadata_Plate",
            &json_out,
            "no non-replicate pair",
        ),
        (
            "replicating --replicate Metadata_moa --quantile 1.5",
            &json_out,
            "--quantile 1.5",
        ),
        (
            "replicating --replicate Metadata_moa --seed 3",
            &json_out,
            "group-median only",
        ),
        (
            "replicating --replicate Metadata_Well --variant group-median",
            &json_out,
            "no replicate group",
        ),
        (
            "replicating --replicate Metadata_pert_type --variant group-median",
            &json_out,
            "group 'control' has 24 rows but there are only 2 distinct replicate values",
        ),
    ];
    let path = lincs();
    for (flags, out, needle) in cases {
        let mut args = vec!["eval"];
        args.extend(flags.split(' '));
        args.extend(["--profiles", &path, "--out", out]);
        let err = fails_with_2(&args);
        assert!(err.contains(needle), "{flags}: {err}");
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            0,
            "{flags} left a file"
        );
    }
    // A constant row under Pearson is named by its row.
    let csv = dir.path().join("c.csv");
    std::fs::write(&csv, "Metadata_g,f1,f2\na,1,2\na,2,3\nb,4,4\nb,1,3\n").unwrap();
    let csv = csv.display().to_string();
    let args = [
        "eval",
        "replicating",
        "--profiles",
        &csv,
        "--replicate",
        "Metadata_g",
    ];
    let mut args = args.to_vec();
    args.extend(["--out", &json_out]);
    let err = fails_with_2(&args);
    assert!(
        err.contains("row 2 (0-based data row) is constant"),
        "{err}"
    );
    assert!(!Path::new(&json_out).exists());
}
