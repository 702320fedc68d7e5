//! `cpbench prep sphere` against pycytominer 1.7.1 `Spherize` (fixtures from
//! tests/golden/make_pycytominer_sphere_fixtures.py), the λ sweep, and bad input.

use std::path::Path;

use cpbench_core::Profiles;
use cpbench_core::io::{ReadOptions, read_profiles};

use super::{close_f32, cpbench, fails_with_2, root, shipped};

const LINCS: &str = "lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz";

fn read(path: &Path) -> Profiles {
    read_profiles(path, &ReadOptions::default()).unwrap().0
}

/// Runs `cpbench prep sphere` with `args` and returns the output table.
fn sphere(input: &Path, args: &[&str]) -> Profiles {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.csv");
    cpbench()
        .args(["prep", "sphere", "--profiles", input.to_str().unwrap()])
        .args(["--out", out.to_str().unwrap()])
        .args(args)
        .assert()
        .success();
    read(&out)
}

#[test]
fn sphering_matches_pycytominer() {
    let text = std::fs::read_to_string(root().join("tests/fixtures/pycytominer/sphere_cases.json"))
        .unwrap();
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 15);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let method = case["method"].as_str().unwrap();
        let input = root().join(case["input"].as_str().unwrap());
        let epsilon = case["epsilon"].as_f64().unwrap().to_string();
        let center = case["center"].as_bool().unwrap().to_string();
        let got = sphere(
            &input,
            &[
                "--method",
                method,
                "--epsilon",
                &epsilon,
                "--center",
                &center,
                "--fit-on",
                case["fit_on"].as_str().unwrap(),
            ],
        );
        let d = case["features"].as_u64().unwrap() as usize;
        let n_fit = case["fit_rows"].as_u64().unwrap() as usize;
        assert_eq!(got.n_features(), d, "{name}");
        let rows: Vec<usize> = case["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_u64().unwrap() as usize)
            .collect();
        let want: Vec<Vec<f64>> = case["expected"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                r.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap())
                    .collect()
            })
            .collect();
        if method.starts_with("zca") {
            assert!(!got.feature_names()[0].starts_with("PC"), "{name}");
            for (&i, w) in rows.iter().zip(&want) {
                for (j, (&g, &w)) in got.row(i).iter().zip(w).enumerate() {
                    assert!(
                        close_f32(f64::from(g), w),
                        "{name}: row {i} col {j}: {g} vs {w}"
                    );
                }
            }
            continue;
        }
        // PCA: components agree up to sign; past the rank (n ≤ d) the basis of the
        // controls' null space is arbitrary, so only the rows' norm there is compared.
        assert_eq!(got.feature_names()[0], "PC1", "{name}");
        let r = if n_fit <= d {
            case["rank"].as_u64().unwrap() as usize
        } else {
            d
        };
        for k in 0..r {
            let dot: f64 = rows
                .iter()
                .zip(&want)
                .map(|(&i, w)| f64::from(got.row(i)[k]) * w[k])
                .sum();
            let sign = dot.signum();
            for (&i, w) in rows.iter().zip(&want) {
                let g = sign * f64::from(got.row(i)[k]);
                assert!(
                    close_f32(g, w[k]),
                    "{name}: row {i} PC{}: {g} vs {}",
                    k + 1,
                    w[k]
                );
            }
        }
        for (&i, w) in rows.iter().zip(&want) {
            let g: f64 = got.row(i)[r..]
                .iter()
                .map(|&v| f64::from(v).powi(2))
                .sum::<f64>()
                .sqrt();
            let w: f64 = w[r..].iter().map(|v| v * v).sum::<f64>().sqrt();
            assert!(
                close_f32(g, w),
                "{name}: row {i} norm past rank {r}: {g} vs {w}"
            );
        }
    }
}

#[test]
fn metadata_passes_through_unchanged() {
    let input = shipped(LINCS);
    let before = read(&input);
    let after = sphere(&input, &["--fit-on", "Metadata_broad_sample=DMSO"]);
    assert_eq!(after.meta_names(), before.meta_names());
    assert_eq!(after.feature_names(), before.feature_names());
    for c in [
        "Metadata_Well",
        "Metadata_broad_sample",
        "Metadata_mg_per_ml",
    ] {
        assert_eq!(
            after.meta_strings(c).unwrap(),
            before.meta_strings(c).unwrap()
        );
    }
}

#[test]
fn lambda_sweep_writes_one_table_per_lambda() {
    let input = root().join("tests/fixtures/pycytominer/sphere_full_rank.csv");
    let dir = tempfile::tempdir().unwrap();
    let pattern = dir.path().join("sph_{lambda}.csv");
    cpbench()
        .args(["prep", "sphere", "--profiles", input.to_str().unwrap()])
        .args(["--out", pattern.to_str().unwrap()])
        .args([
            "--fit-on",
            "Metadata_pert_type=control",
            "--lambdas",
            "1e-3,10",
        ])
        .args(["--rotate", "false"])
        .assert()
        .success();
    for l in ["1e-3", "10"] {
        let swept = read(&dir.path().join(format!("sph_{l}.csv")));
        let single = sphere(
            &input,
            &[
                "--fit-on",
                "Metadata_pert_type=control",
                "--lambda",
                l,
                "--rotate",
                "false",
            ],
        );
        assert_eq!(swept.feature_names()[0], "PC1");
        assert_eq!(swept.features(), single.features(), "lambda {l}");
    }
    // A stronger regularization shrinks the output.
    let norm = |l: &str| -> f64 {
        read(&dir.path().join(format!("sph_{l}.csv")))
            .features()
            .iter()
            .map(|&v| f64::from(v).powi(2))
            .sum()
    };
    assert!(norm("10") < norm("1e-3"));
}

/// Writes a small table: 3 plates of 4 wells, plate C without controls, feature `f_const` constant.
fn bad_table(dir: &Path) -> std::path::PathBuf {
    let mut text = String::from("Metadata_Plate,Metadata_pert_type,f_a,f_const,f_b\n");
    let rows = [
        ("A", "control", 1.0, 2.0, 0.5),
        ("A", "control", 2.0, 2.0, 1.5),
        ("A", "control", 4.0, 2.0, 0.0),
        ("A", "trt", 3.0, 2.0, 1.0),
        ("B", "control", 1.5, 2.0, 3.0),
        ("B", "control", 0.5, 2.0, 2.0),
        ("B", "control", 2.5, 2.0, 0.5),
        ("B", "trt", 1.0, 2.0, 1.0),
        ("C", "trt", 1.0, 2.0, 1.0),
        ("C", "trt", 2.0, 2.0, 4.0),
        ("C", "trt", 3.0, 2.0, 1.0),
        ("C", "trt", 5.0, 2.0, 2.0),
    ];
    for (p, t, a, c, b) in rows {
        text.push_str(&format!("{p},{t},{a},{c},{b}\n"));
    }
    let path = dir.join("bad.csv");
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn bad_input_is_named_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = bad_table(dir.path());
    let out = dir.path().join("out.csv");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let base = ["prep", "sphere", "--profiles", i, "--out", o];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let err = fails_with_2(&args);
        assert!(!out.exists(), "no output after: {err}");
        err
    };

    let err = run(&[
        "--method",
        "zca-cor",
        "--fit-on",
        "Metadata_pert_type=control",
    ]);
    assert!(
        err.contains("`f_const`") && err.contains("zero variance"),
        "{err}"
    );

    let err = run(&[
        "--method",
        "zca",
        "--fit-on",
        "Metadata_pert_type=control",
        "--by",
        "Metadata_Plate",
    ]);
    assert!(
        err.contains("Metadata_Plate=C") && err.contains("no fit rows"),
        "{err}"
    );

    let err = run(&[
        "--fit-on",
        "Metadata_pert_type=trt",
        "--by",
        "Metadata_Plate",
    ]);
    assert!(err.contains("at least 2"), "{err}");

    let err = run(&["--method", "pca-cor", "--center", "false"]);
    assert!(err.contains("center"), "{err}");

    let err = run(&["--method", "whiten"]);
    assert!(err.contains("pca, zca, pca-cor, zca-cor"), "{err}");

    let err = run(&["--lambdas", "1e-3,0.1"]);
    assert!(err.contains("{lambda}"), "{err}");

    let err = run(&["--lambda", "0"]);
    assert!(err.contains("lambda") && err.contains("> 0"), "{err}");

    let err = run(&["--lambda", "0.1", "--method", "pca"]);
    assert!(err.contains("--rotate"), "{err}");

    // A NaN on a fit row is named by feature.
    let nan = dir.path().join("nan.csv");
    let text = std::fs::read_to_string(&input).unwrap().replacen(
        "A,control,2,2,1.5",
        "A,control,2,2,NaN",
        1,
    );
    std::fs::write(&nan, text).unwrap();
    let err = fails_with_2(&[
        "prep",
        "sphere",
        "--profiles",
        nan.to_str().unwrap(),
        "--out",
        o,
        "--fit-on",
        "Metadata_pert_type=control",
    ]);
    assert!(err.contains("`f_b`") && err.contains("non-finite"), "{err}");
    assert!(!out.exists());
}

#[test]
fn pipeline_sphere_steps_match_the_command() {
    let input = root().join("tests/fixtures/pycytominer/sphere_full_rank.csv");
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &[&str]); 2] = [
        (
            "method = \"pca\"\nlambda = 0.1\n",
            &["--lambda", "0.1", "--rotate", "false"],
        ),
        (
            "method = \"zca-cor\"\nepsilon = 1e-4\n",
            &["--method", "zca-cor", "--epsilon", "1e-4"],
        ),
    ];
    for (k, (keys, flags)) in cases.iter().enumerate() {
        let steps = dir.path().join(format!("steps{k}.toml"));
        std::fs::write(
            &steps,
            format!(
                "[[preprocess]]\nop = \"sphere\"\nfit_on = \"Metadata_pert_type=control\"\n{keys}"
            ),
        )
        .unwrap();
        let piped = dir.path().join(format!("piped{k}.csv"));
        cpbench()
            .args(["prep", "pipeline", "--profiles", input.to_str().unwrap()])
            .args([
                "--out",
                piped.to_str().unwrap(),
                "--steps",
                steps.to_str().unwrap(),
            ])
            .assert()
            .success();
        let mut args = vec!["--fit-on", "Metadata_pert_type=control"];
        args.extend_from_slice(flags);
        let direct = sphere(&input, &args);
        let piped = read(&piped);
        assert_eq!(piped.feature_names(), direct.feature_names(), "{keys}");
        assert_eq!(piped.features(), direct.features(), "{keys}");
    }
    // A rotation that contradicts the method is refused.
    let steps = dir.path().join("bad.toml");
    std::fs::write(
        &steps,
        "[[preprocess]]\nop = \"sphere\"\nmethod = \"zca\"\nlambda = 0.1\nrotate = false\n",
    )
    .unwrap();
    let err = fails_with_2(&[
        "prep",
        "pipeline",
        "--profiles",
        input.to_str().unwrap(),
        "--out",
        dir.path().join("bad.csv").to_str().unwrap(),
        "--steps",
        steps.to_str().unwrap(),
    ]);
    assert!(err.contains("contradicts"), "{err}");
}
