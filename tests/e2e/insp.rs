//! `cpbench prep insp` (and its pipeline step) on a table with a planted batch effect.

use std::path::{Path, PathBuf};

use cpbench_core::io::{ReadOptions, read_profiles};

use super::{cpbench, fails_with_2};

/// 3 batches × 40 wells, 6 features: batches shifted along f0/f1, two treatments apart on f4.
fn planted(dir: &Path) -> PathBuf {
    let mut state = 11u64;
    let mut unif = move || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let offsets = [[3.0, 0.0], [-1.5, 2.5], [-1.5, -2.5]];
    let mut text =
        String::from("Metadata_Batch,Metadata_Plate,Metadata_Treatment,f0,f1,f2,f3,f4,f5\n");
    for i in 0..120 {
        let b = i % 3;
        let t = (i / 3) % 2;
        let vals: Vec<String> = (0..6)
            .map(|j| {
                let mut v = unif() + unif();
                if j < 2 {
                    v += offsets[b][j];
                }
                if j == 4 {
                    v += if t == 1 { 2.0 } else { -2.0 };
                }
                format!("{v:.6}")
            })
            .collect();
        text.push_str(&format!("B{b},P{b}_{},T{t},{}\n", i % 4, vals.join(",")));
    }
    let path = dir.join("planted.csv");
    std::fs::write(&path, text).unwrap();
    path
}

fn batch_mean_spread(path: &Path, feature: usize) -> f64 {
    let p = read_profiles(path, &ReadOptions::default()).unwrap().0;
    let batch = p.meta_strings("Metadata_Batch").unwrap();
    let means: Vec<f64> = ["B0", "B1", "B2"]
        .iter()
        .map(|b| {
            let v: Vec<f64> = (0..p.n_rows())
                .filter(|&i| batch[i].as_deref() == Some(*b))
                .map(|i| f64::from(p.row(i)[feature]))
                .collect();
            v.iter().sum::<f64>() / v.len() as f64
        })
        .collect();
    means.iter().cloned().fold(f64::MIN, f64::max) - means.iter().cloned().fold(f64::MAX, f64::min)
}

#[test]
fn insp_removes_a_planted_batch_effect_and_reports_accuracy() {
    let dir = tempfile::tempdir().unwrap();
    let input = planted(dir.path());
    let out = dir.path().join("out.csv");
    let report = dir.path().join("report.json");
    cpbench()
        .args(["prep", "insp", "--profiles", input.to_str().unwrap()])
        .args([
            "--out",
            out.to_str().unwrap(),
            "--report",
            report.to_str().unwrap(),
        ])
        .args([
            "--batch",
            "Metadata_Batch",
            "--threshold",
            "0.5",
            "--fold-groups",
            "Metadata_Plate",
        ])
        .assert()
        .success();
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let g = &r["groups"][0];
    assert_eq!(g["n_batches"], 3);
    let acc: Vec<f64> = g["accuracy"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    assert!(acc[0] > 0.9, "{acc:?}");
    assert!(*acc.last().unwrap() < 0.5, "{acc:?}");
    assert!(g["rank_removed"].as_u64().unwrap() >= 2);
    assert!(batch_mean_spread(&input, 0) > 3.0);
    assert!(
        batch_mean_spread(&out, 0) < 0.5,
        "{}",
        batch_mean_spread(&out, 0)
    );
    assert!(batch_mean_spread(&out, 1) < 0.5);

    // The same step from a pipeline file gives the same table.
    let steps = dir.path().join("steps.toml");
    std::fs::write(
        &steps,
        "[[preprocess]]\nop = \"insp\"\nbatch = \"Metadata_Batch\"\nthreshold = 0.5\n",
    )
    .unwrap();
    let piped = dir.path().join("piped.csv");
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
    let plain = dir.path().join("plain.csv");
    cpbench()
        .args(["prep", "insp", "--profiles", input.to_str().unwrap()])
        .args(["--out", plain.to_str().unwrap()])
        .args(["--batch", "Metadata_Batch", "--threshold", "0.5"])
        .assert()
        .success();
    let read = |p: &Path| read_profiles(p, &ReadOptions::default()).unwrap().0;
    assert_eq!(read(&piped).features(), read(&plain).features());
}

#[test]
fn insp_bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let input = planted(dir.path());
    let out = dir.path().join("out.csv");
    let (i, o) = (input.to_str().unwrap(), out.to_str().unwrap());
    let base = ["prep", "insp", "--profiles", i, "--out", o];
    let run = |extra: &[&str]| {
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        let err = fails_with_2(&args);
        assert!(!out.exists(), "no output after: {err}");
        err
    };
    let err = run(&["--batch", "Metadata_Nope"]);
    assert!(err.contains("Metadata_Nope"), "{err}");
    let err = run(&["--batch", "Metadata_Batch", "--fit-on", "Metadata_Batch=B1"]);
    assert!(
        err.contains("at least 2") && err.contains("Metadata_Batch"),
        "{err}"
    );
    let err = run(&["--batch", "Metadata_Batch", "--threshold", "0"]);
    assert!(err.contains("threshold"), "{err}");
    let err = run(&["--batch", "Metadata_Batch", "--folds", "1"]);
    assert!(err.contains("folds"), "{err}");
    let err = run(&["--batch", "Metadata_Batch", "--report", "r.txt"]);
    assert!(err.contains(".json"), "{err}");
}

#[test]
fn insp_names_a_non_finite_row_it_was_not_fitted_on() {
    let dir = tempfile::tempdir().unwrap();
    let input = planted(dir.path());
    // Data row 5 (i = 4) is treatment T1, outside the fit rows below; make its f3 NaN.
    let text = std::fs::read_to_string(&input).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut cells: Vec<&str> = lines[5].split(',').collect();
    assert_eq!(cells[2], "T1");
    cells[6] = "NaN";
    lines[5] = cells.join(",");
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let out = dir.path().join("out.csv");
    let err = fails_with_2(&[
        "prep",
        "insp",
        "--profiles",
        input.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--batch",
        "Metadata_Batch",
        "--fit-on",
        "Metadata_Treatment=T0",
    ]);
    assert!(!out.exists());
    assert!(
        err.contains("row 5") && err.contains("`f3`") && !err.contains("fit row"),
        "{err}"
    );
}
