//! `cpbench prep --precision` (issue 16, item 8b): float64 kept through preprocessing.
//!
//! 1. A float64 table — `tests/fixtures/pycytominer/f64_synthetic.parquet` (Float64 columns, so
//!    `auto` keeps it at f64) and the LINCS plate's CSV with `--precision f64` — sphered (PCA,
//!    ZCA and their -cor variants), normalized (standardize, mad_robustize) and feature-selected
//!    matches pycytominer 1.7.1's all-float64 output to 1e-9 relative (fixtures from
//!    tests/golden/make_pycytominer_prep_fixtures.py; measured: at most 4e-13, against up to
//!    5e-5 at f32), and is written as Float64 Parquet and as CSV that reads back bit for bit.
//!    `prep pipeline` keeps f64 between its steps.
//! 2. `--precision f32` on that float64 table is today's output, byte for byte.
//! 3. `--precision f64` on a float32 table widens: Float64 columns whose values, rounded to f32,
//!    are exactly the f32 run's. `auto` reads a text table, which stores no type, as f32.

use std::path::{Path, PathBuf};

use cpbench_core::Profiles;
use cpbench_core::hash::sha256_file;
use cpbench_core::io::{
    NonFinitePolicy, ReadOptions, read_profiles, read_profiles_as, read_table, write_profiles,
};
use polars::prelude::*;
use serde_json::Value;

use super::{cpbench, root, shipped};

const LINCS: &str = "lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz";

/// The tolerance of the float64 goldens: `|got − want| ≤ 1e-9 · max(1, |want|)`.
const F64_TOLERANCE: f64 = 1e-9;

fn fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/pycytominer").join(name)
}

/// The float64 input: 96 wells × 12 Float64 features on 2 plates, 20 controls each.
fn f64_table() -> PathBuf {
    fixture("f64_synthetic.parquet")
}

/// Runs `cpbench prep <op> --profiles <input> <args> --out <out>`; it must succeed.
fn prep(op: &str, input: &Path, args: &[&str], out: &Path) {
    cpbench()
        .args(["prep", op, "--profiles"])
        .arg(input)
        .args(args)
        .arg("--out")
        .arg(out)
        .assert()
        .success();
}

fn read_f64(path: &Path) -> Profiles<f64> {
    let opts = ReadOptions {
        nonfinite: NonFinitePolicy::Keep,
        ..ReadOptions::default()
    };
    read_profiles_as::<f64>(path, &opts).unwrap().0
}

/// The stored types of a table's feature (non-`Metadata_`) columns.
fn feature_types(path: &Path) -> Vec<DataType> {
    read_table(path)
        .unwrap()
        .columns()
        .iter()
        .filter(|c| !c.name().starts_with("Metadata_"))
        .map(|c| c.dtype().clone())
        .collect()
}

fn column_f64(df: &DataFrame, name: &str) -> Vec<f64> {
    df.column(name)
        .unwrap()
        .f64()
        .unwrap()
        .iter()
        .map(|v| v.unwrap_or(f64::NAN))
        .collect()
}

/// Largest `|got − want| / max(1, |want|)` over the fixture's feature columns, on rows `rows`
/// of `got` (fixture row k ↔ `got` row `rows[k]`); PCA components are compared up to sign.
fn max_relative_difference(
    name: &str,
    got: &Profiles<f64>,
    want: &DataFrame,
    rows: &[usize],
    up_to_sign: bool,
) -> f64 {
    let mut worst = 0.0f64;
    for col in want.get_column_names() {
        if col.starts_with("Metadata_") {
            continue;
        }
        let j = got
            .feature_names()
            .iter()
            .position(|f| f == col.as_str())
            .unwrap_or_else(|| panic!("{name}: output lacks feature {col}"));
        let w = column_f64(want, col);
        let g: Vec<f64> = rows.iter().map(|&i| got.row(i)[j]).collect();
        let sign = if up_to_sign {
            g.iter().zip(&w).map(|(a, b)| a * b).sum::<f64>().signum()
        } else {
            1.0
        };
        for (k, (g, w)) in g.iter().zip(&w).enumerate() {
            let rel = (sign * g - w).abs() / w.abs().max(1.0);
            assert!(
                rel.is_finite(),
                "{name}: {col}, row {}: cpbench {g}, pycytominer {w}",
                rows[k]
            );
            worst = worst.max(rel);
        }
    }
    worst
}

#[test]
fn float64_prep_matches_pycytominer_in_float64() {
    let text = std::fs::read_to_string(fixture("f64_cases.json")).unwrap();
    let cases: Value = serde_json::from_str(&text).unwrap();
    let cases = cases["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 9);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let op = case["kind"].as_str().unwrap();
        let input = root().join(case["input"].as_str().unwrap());
        let args: Vec<&str> = case["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        let rows: Vec<usize> = case["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_u64().unwrap() as usize)
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let (parquet, csv) = (dir.path().join("out.parquet"), dir.path().join("out.csv"));
        prep(op, &input, &args, &parquet);
        prep(op, &input, &args, &csv);
        assert!(
            feature_types(&parquet)
                .iter()
                .all(|t| *t == DataType::Float64),
            "{name}: {:?}",
            feature_types(&parquet)
        );
        let got = read_f64(&parquet);
        // The CSV holds every f64 digit: it reads back to the same bits.
        let from_csv = read_f64(&csv);
        assert_eq!(from_csv.feature_names(), got.feature_names(), "{name}");
        assert!(
            from_csv
                .features()
                .iter()
                .zip(got.features())
                .all(|(a, b)| a.to_bits() == b.to_bits()),
            "{name}: the CSV output does not read back to the Parquet output's values"
        );

        let want = read_table(&fixture(case["output"].as_str().unwrap())).unwrap();
        if op == "feature-select" {
            // The same features kept, their float64 values passed through untouched.
            let kept: Vec<&str> = want
                .get_column_names()
                .iter()
                .map(|c| c.as_str())
                .filter(|c| !c.starts_with("Metadata_"))
                .collect();
            assert_eq!(got.feature_names(), kept, "{name}");
            let input = read_f64(&input);
            for (j, f) in got.feature_names().iter().enumerate() {
                let k = input.feature_names().iter().position(|g| g == f).unwrap();
                for i in 0..got.n_rows() {
                    assert_eq!(got.row(i)[j].to_bits(), input.row(i)[k].to_bits(), "{f}");
                }
            }
        }
        let up_to_sign = op == "sphere"
            && args
                .windows(2)
                .any(|w| w[0] == "--method" && w[1].starts_with("pca"));
        let worst = max_relative_difference(name, &got, &want, &rows, up_to_sign);
        eprintln!("{name}: max relative difference to pycytominer {worst:.2e}");
        assert!(
            worst <= F64_TOLERANCE,
            "{name}: cpbench differs from pycytominer by {worst:e} (relative)"
        );
    }
}

/// The chain of `[[preprocess]]` steps the pipeline tests run: per-plate MAD-robustizing and
/// ZCA-cor sphering against the controls, with feature selection between them.
const STEPS: &str = r#"
[columns]
control = { column = "Metadata_pert_type", values = ["control"] }

[[preprocess]]
op = "normalize"
method = "mad_robustize"
by = ["Metadata_Plate"]
fit_on = "controls"

[[preprocess]]
op = "feature-select"
ops = ["variance_threshold", "correlation_threshold"]

[[preprocess]]
op = "sphere"
method = "zca-cor"
fit_on = "controls"
"#;

#[test]
fn pipeline_keeps_float64_between_its_steps() {
    let dir = tempfile::tempdir().unwrap();
    let steps = dir.path().join("steps.toml");
    std::fs::write(&steps, STEPS).unwrap();
    let piped = dir.path().join("piped.parquet");
    prep(
        "pipeline",
        &f64_table(),
        &["--steps", steps.to_str().unwrap()],
        &piped,
    );
    // The same steps as commands, through Float64 Parquet files (`auto` keeps f64 each time).
    let control = ["--fit-on", "Metadata_pert_type=control"];
    let commands: [(&str, Vec<&str>); 3] = [
        (
            "normalize",
            [
                &["--method", "mad_robustize", "--by", "Metadata_Plate"][..],
                &control,
            ]
            .concat(),
        ),
        (
            "feature-select",
            vec!["--ops", "variance_threshold,correlation_threshold"],
        ),
        ("sphere", [&["--method", "zca-cor"][..], &control].concat()),
    ];
    let mut current = f64_table();
    for (k, (op, args)) in commands.iter().enumerate() {
        let out = dir.path().join(format!("step{k}.parquet"));
        prep(op, &current, args, &out);
        assert!(feature_types(&out).iter().all(|t| *t == DataType::Float64));
        current = out;
    }
    let (piped, chained) = (read_f64(&piped), read_f64(&current));
    assert!(
        piped.n_features() < 12,
        "feature selection dropped features"
    );
    assert_eq!(piped.feature_names(), chained.feature_names());
    assert!(
        piped
            .features()
            .iter()
            .zip(chained.features())
            .all(|(a, b)| a.to_bits() == b.to_bits())
    );
    // Not rounded to f32 anywhere on the way.
    assert!(piped.features().iter().any(|&v| f64::from(v as f32) != v));
}

/// Writes `input` read as f32 (each Float64 value rounded once, as cpbench read every table
/// before `--precision`) to a Float32 Parquet table at `out`.
fn float32_copy(input: &Path, out: &Path) {
    let p = read_profiles(input, &ReadOptions::default()).unwrap().0;
    write_profiles(&p, out).unwrap();
    assert!(feature_types(out).iter().all(|t| *t == DataType::Float32));
}

#[test]
fn f32_on_a_float64_table_is_todays_output() {
    let dir = tempfile::tempdir().unwrap();
    let steps = dir.path().join("steps.toml");
    std::fs::write(&steps, STEPS).unwrap();
    let control = ["--fit-on", "Metadata_pert_type=control"];
    // SHA-256 of the CSV each command wrote from f64_synthetic.parquet before `--precision`
    // existed (the binary of the commit before it, which read every table as f32).
    let runs: [(&str, Vec<&str>, &str); 4] = [
        (
            "sphere",
            [&["--method", "zca"][..], &control].concat(),
            "5aeacb602e49f6fa601c3eaa37e7f58af11c5f3332aca87f7f136912e99306e4",
        ),
        (
            "normalize",
            [
                &["--method", "mad_robustize", "--by", "Metadata_Plate"][..],
                &control,
            ]
            .concat(),
            "a4bec62fd16979f4b91016858509c0b9493f601e96f18e1e5c22efcb1f010e2f",
        ),
        (
            "feature-select",
            vec![
                "--ops",
                "variance_threshold,correlation_threshold,drop_outliers",
            ],
            "35f60e75bac816a9825c702c4525a1c33b9d44908a5acc0ed9d14306e51ab410",
        ),
        (
            "pipeline",
            vec!["--steps", steps.to_str().unwrap()],
            "dca4f35c49ce3cf5a660a25d09b804b92545a1775916a8fe9861ce7d78f481f5",
        ),
    ];
    let f32_table = dir.path().join("f32.parquet");
    float32_copy(&f64_table(), &f32_table);
    for (op, args, today) in runs {
        let forced = dir.path().join(format!("{op}_f32.csv"));
        prep(
            op,
            &f64_table(),
            &[&args[..], &["--precision", "f32"]].concat(),
            &forced,
        );
        assert_eq!(sha256_file(&forced).unwrap(), today, "{op} --precision f32");
        // The same bytes as `auto` on the table rounded to float32 first.
        let rounded = dir.path().join(format!("{op}_rounded.csv"));
        prep(op, &f32_table, &args, &rounded);
        assert_eq!(
            std::fs::read(&rounded).unwrap(),
            std::fs::read(&forced).unwrap(),
            "{op}"
        );
        // And not what `auto` makes of the float64 table.
        let auto = dir.path().join(format!("{op}_auto.csv"));
        prep(op, &f64_table(), &args, &auto);
        assert_ne!(sha256_file(&auto).unwrap(), today, "{op}: auto kept f32");
    }
}

#[test]
fn f64_on_a_float32_table_widens() {
    let dir = tempfile::tempdir().unwrap();
    let f32_table = dir.path().join("f32.parquet");
    float32_copy(&f64_table(), &f32_table);
    let control = ["--fit-on", "Metadata_pert_type=control"];
    let runs: [(&str, Vec<&str>); 2] = [
        (
            "normalize",
            [
                &["--method", "standardize", "--by", "Metadata_Plate"][..],
                &control,
            ]
            .concat(),
        ),
        ("sphere", [&["--method", "zca"][..], &control].concat()),
    ];
    for (op, args) in runs {
        let (wide, narrow) = (
            dir.path().join(format!("{op}_f64.parquet")),
            dir.path().join(format!("{op}_auto.parquet")),
        );
        prep(
            op,
            &f32_table,
            &[&args[..], &["--precision", "f64"]].concat(),
            &wide,
        );
        prep(op, &f32_table, &args, &narrow);
        assert!(feature_types(&wide).iter().all(|t| *t == DataType::Float64));
        assert!(
            feature_types(&narrow)
                .iter()
                .all(|t| *t == DataType::Float32)
        );
        let wide = read_f64(&wide);
        let narrow = read_profiles(&narrow, &ReadOptions::default()).unwrap().0;
        // Both fit and apply in f64 on the same (float32) values; f32 rounds each result once.
        assert!(
            wide.features()
                .iter()
                .zip(narrow.features())
                .all(|(&w, &n)| (w as f32).to_bits() == n.to_bits()),
            "{op}: f64 output rounded to f32 differs from the f32 output"
        );
        assert!(
            wide.features().iter().any(|&v| f64::from(v as f32) != v),
            "{op}: f64 output holds only float32 values"
        );
    }
    // A text table stores no type: `auto` reads it as f32, as before `--precision`.
    let out = dir.path().join("lincs.parquet");
    prep(
        "normalize",
        &shipped(LINCS),
        &["--method", "standardize"],
        &out,
    );
    assert!(feature_types(&out).iter().all(|t| *t == DataType::Float32));
    // A bad value is refused by name.
    let err = cpbench()
        .args(["prep", "normalize", "--precision", "f16", "--profiles"])
        .arg(&f32_table)
        .args(["--out", out.to_str().unwrap()])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&err.get_output().stderr).into_owned();
    assert!(
        stderr.contains("--precision") && stderr.contains("auto, f32 or f64"),
        "{stderr}"
    );
}
