//! `cpbench simulate heterogeneity|images|large`: byte-identical outputs for a seed, other bytes
//! for another seed, parameter errors naming the flag, and the heterogeneity data through
//! `cpbench prep aggregate` and `cpbench eval knn` (mean aggregation is blind to the classes
//! unless the mean is told to move).

use std::path::Path;

use cpbench_core::io::read_table;
use serde_json::Value;

use super::{cpbench, eval_json, fails_with_2, read_json};

/// A heterogeneity screen small enough for a debug build: 6 classes (the most 3 pairs allow).
const SMALL_HETEROGENEITY: &[&str] = &[
    "--n-classes",
    "6",
    "--perturbations-per-class",
    "4",
    "--replicates",
    "3",
    "--plates-per-batch",
    "2",
    "--controls-per-plate",
    "3",
    "--n-features",
    "8",
    "--n-subpopulations",
    "6",
    "--cells-min",
    "60",
    "--cells-max",
    "90",
];

const SMALL_IMAGES: &[&str] = &["--size", "24", "--crops-per-well", "2"];

const SMALL_LARGE: &[&str] = &[
    "--n-wells",
    "1000",
    "--wells-per-plate",
    "96",
    "--n-features",
    "6",
    "--n-perturbations",
    "40",
    "--n-classes",
    "4",
];

/// Runs `cpbench simulate <generator> <args> --seed SEED --out DIR` (must succeed).
fn simulate(generator: &str, args: &[&str], seed: u64, out: &Path) {
    cpbench()
        .args(["simulate", generator])
        .args(args)
        .args(["--seed", &seed.to_string(), "--out"])
        .arg(out)
        .assert()
        .success();
}

/// The names of the files in a folder, sorted.
fn files(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Simulates twice with one seed and once with another; the first two folders must match byte
/// for byte, and `data` (a file name) must differ in the third.
fn check_reproducible(generator: &str, args: &[&str], expected: &[&str], data: &str) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a"),
        dir.path().join("b"),
        dir.path().join("c"),
    );
    simulate(generator, args, 7, &a);
    simulate(generator, args, 7, &b);
    simulate(generator, args, 8, &c);
    assert_eq!(files(&a), expected);
    assert_eq!(files(&b), expected);
    for name in expected {
        let (x, y) = (
            std::fs::read(a.join(name)).unwrap(),
            std::fs::read(b.join(name)).unwrap(),
        );
        assert!(
            x == y,
            "{generator}: {name} differs between two runs with seed 7"
        );
    }
    assert_ne!(
        std::fs::read(a.join(data)).unwrap(),
        std::fs::read(c.join(data)).unwrap(),
        "{generator}: seeds 7 and 8 gave the same {data}"
    );
    // The sidecar records the seed, the parameters and each file's hash.
    let sidecar = read_json(&a.join("simulation.json"));
    assert_eq!(sidecar["generator"], generator);
    assert_eq!(sidecar["parameters"]["seed"], 7);
    let sha = cpbench_core::hash::sha256_file(&a.join(data)).unwrap();
    assert_eq!(sidecar["files"][data]["sha256"], sha.as_str());
}

#[test]
fn heterogeneity_is_byte_identical_for_a_seed_in_every_format() {
    check_reproducible(
        "heterogeneity",
        SMALL_HETEROGENEITY,
        &["cells.parquet", "simulation.json"],
        "cells.parquet",
    );
    let gz = [SMALL_HETEROGENEITY, &["--format", "csv.gz"]].concat();
    check_reproducible(
        "heterogeneity",
        &gz,
        &["cells.csv.gz", "simulation.json"],
        "cells.csv.gz",
    );
}

#[test]
fn images_are_byte_identical_for_a_seed() {
    check_reproducible(
        "images",
        SMALL_IMAGES,
        &["cells.csv", "crops.npy", "simulation.json"],
        "crops.npy",
    );
}

#[test]
fn large_is_byte_identical_for_a_seed() {
    check_reproducible(
        "large",
        SMALL_LARGE,
        &["simulation.json", "wells.parquet"],
        "wells.parquet",
    );
}

#[test]
fn heterogeneity_table_has_the_documented_columns_and_split() {
    let dir = tempfile::tempdir().unwrap();
    simulate("heterogeneity", SMALL_HETEROGENEITY, 1, dir.path());
    let df = read_table(&dir.path().join("cells.parquet")).unwrap();
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    let meta = [
        "Metadata_Plate",
        "Metadata_Well",
        "Metadata_Batch",
        "Metadata_Perturbation",
        "Metadata_Class",
        "Metadata_Control",
        "Metadata_Split",
        "Metadata_ObjectNumber",
    ];
    assert_eq!(names[..8], meta);
    assert_eq!(
        names[8..],
        (0..8).map(|j| format!("f{j:03}")).collect::<Vec<_>>()
    );
    let sidecar = read_json(&dir.path().join("simulation.json"));
    assert_eq!(
        df.height() as u64,
        sidecar["summary"]["rows"].as_u64().unwrap()
    );
    let text = |c: &str| -> Vec<String> {
        df.column(c)
            .unwrap()
            .str()
            .unwrap()
            .iter()
            .map(|v| v.unwrap().to_owned())
            .collect()
    };
    let (pert, split, class) = (
        text("Metadata_Perturbation"),
        text("Metadata_Split"),
        text("Metadata_Class"),
    );
    let mut side = std::collections::HashMap::new();
    for ((p, s), c) in pert.iter().zip(&split).zip(&class) {
        if p == "control" {
            assert_eq!((s.as_str(), c.as_str()), ("both", "control"));
            continue;
        }
        // A perturbation is on one side of the split only.
        assert_eq!(side.entry(p.clone()).or_insert_with(|| s.clone()), s, "{p}");
    }
    let test = side.values().filter(|s| *s == "test").count();
    assert_eq!((side.len(), test), (24, 12));
}

#[test]
fn images_npy_header_matches_cells_csv() {
    let dir = tempfile::tempdir().unwrap();
    let args = [SMALL_IMAGES, &["--dtype", "uint16"]].concat();
    simulate("images", &args, 3, dir.path());
    let npy = std::fs::read(dir.path().join("crops.npy")).unwrap();
    assert_eq!(&npy[..8], b"\x93NUMPY\x01\x00");
    let header_len = u16::from_le_bytes([npy[8], npy[9]]) as usize;
    assert_eq!((10 + header_len) % 64, 0);
    let header = std::str::from_utf8(&npy[10..10 + header_len]).unwrap();
    let cells = read_table(&dir.path().join("cells.csv")).unwrap();
    // Defaults: 4 classes × 2 perturbations × 2 replicates + 2 plates × 2 controls = 20 wells.
    assert_eq!(cells.height(), 40);
    assert!(
        header.contains("'descr': '<u2', 'fortran_order': False, 'shape': (40, 5, 24, 24)"),
        "{header}"
    );
    assert_eq!(npy.len(), 10 + header_len + 40 * 5 * 24 * 24 * 2);
    let crop: Vec<i64> = cells
        .column("Metadata_Crop")
        .unwrap()
        .i64()
        .unwrap()
        .iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(crop, (0..40).collect::<Vec<_>>());
}

#[test]
fn large_has_the_requested_rows_with_a_partial_last_plate() {
    let dir = tempfile::tempdir().unwrap();
    simulate("large", SMALL_LARGE, 2, dir.path());
    let df = read_table(&dir.path().join("wells.parquet")).unwrap();
    assert_eq!(df.height(), 1000);
    assert_eq!(df.width(), 7 + 6);
    let plates = df.column("Metadata_Plate").unwrap().n_unique().unwrap();
    assert_eq!(plates, 11);
    let sidecar = read_json(&dir.path().join("simulation.json"));
    assert_eq!(sidecar["summary"]["plates"], 11);
}

#[test]
fn bad_parameters_exit_2_naming_the_flag_and_write_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("never");
    let o = out.to_str().unwrap();
    let cases: [(&[&str], &str); 7] = [
        (
            &["heterogeneity", "--cells-min", "50", "--cells-max", "10"],
            "--cells-max",
        ),
        (
            &["heterogeneity", "--n-subpopulations", "7"],
            "--n-subpopulations",
        ),
        (&["heterogeneity", "--n-classes", "13"], "--n-classes"),
        (
            &["heterogeneity", "--test-fraction", "1"],
            "--test-fraction",
        ),
        (&["heterogeneity", "--replicates", "5"], "--replicates"),
        (&["images", "--size", "8"], "--size"),
        (
            &["large", "--controls-per-plate", "384"],
            "--controls-per-plate",
        ),
    ];
    for (args, flag) in cases {
        let full = [&["simulate"][..], args, &["--out", o]].concat();
        let err = fails_with_2(&full);
        assert!(err.contains(flag), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} created {o}");
    }
    // Values clap cannot parse are usage errors too.
    let err = fails_with_2(&["simulate", "large", "--n-wells", "many", "--out", o]);
    assert!(err.contains("--n-wells"), "{err}");
}

/// kNN accuracy of the class among test-split wells, after mean aggregation of the cells.
fn mean_aggregated_knn(dir: &Path, extra: &[&str]) -> (f64, Value) {
    let args = [SMALL_HETEROGENEITY, extra].concat();
    simulate("heterogeneity", &args, 11, dir);
    let wells = dir.join("wells.parquet");
    cpbench()
        .args(["prep", "aggregate", "--profiles"])
        .arg(dir.join("cells.parquet"))
        .args([
            "--by",
            "Metadata_Plate,Metadata_Well",
            "--keep",
            "Metadata_Batch,Metadata_Perturbation,Metadata_Class,Metadata_Control,Metadata_Split",
            "--method",
            "mean",
            "--level",
            "well",
            "--out",
        ])
        .arg(&wells)
        .assert()
        .success();
    let sidecar = read_json(&dir.join("simulation.json"));
    let df = read_table(&wells).unwrap();
    assert_eq!(
        df.height() as u64,
        sidecar["summary"]["wells"].as_u64().unwrap()
    );
    let knn = eval_json(
        dir,
        "knn.json",
        &[
            "knn",
            "--profiles",
            wells.to_str().unwrap(),
            "--filter",
            "Metadata_Split=test",
            "--labels",
            "Metadata_Class",
            "--exclude-same",
            "Metadata_Perturbation",
        ],
    );
    (knn["accuracy"].as_f64().unwrap(), knn)
}

#[test]
fn mean_aggregation_is_blind_to_proportion_shifts_but_sees_a_mean_shift() {
    let dir = tempfile::tempdir().unwrap();
    let (blind, knn) = mean_aggregated_knn(&dir.path().join("proportions"), &[]);
    // 12 test perturbations × 3 replicates; 6 classes, chance 1/6.
    assert_eq!(knn["n"], 36);
    assert!(blind < 0.4, "mean aggregation recovered the classes: {knn}");
    let (sees, knn) = mean_aggregated_knn(&dir.path().join("mean"), &["--mean-effect", "3"]);
    assert!(sees > 0.8, "a class mean shift of 3 went unseen: {knn}");
}

#[test]
fn deepsets_plugin_recovers_the_classes_that_mean_aggregation_misses() {
    // plugins/deepsets was trained on the train split of exactly this screen (seed 0, defaults).
    let dir = tempfile::tempdir().unwrap();
    simulate("heterogeneity", &[], 0, dir.path());
    let wells = dir.path().join("deepsets.parquet");
    cpbench()
        .args(["plugin", "apply"])
        .arg(super::root().join("plugins/deepsets"))
        .arg("--profiles")
        .arg(dir.path().join("cells.parquet"))
        .args(["--set-by", "Metadata_Plate,Metadata_Well", "--out"])
        .arg(&wells)
        .assert()
        .success();
    let knn = eval_json(
        dir.path(),
        "knn.json",
        &[
            "knn",
            "--profiles",
            wells.to_str().unwrap(),
            "--filter",
            "Metadata_Split=test",
            "--labels",
            "Metadata_Class",
            "--exclude-same",
            "Metadata_Perturbation",
        ],
    );
    // 24 unseen perturbations × 4 wells, 6 classes (chance 1/6); mean aggregation of the same
    // wells scores 0.115 (docs/simulate.md).
    assert_eq!(knn["n"], 96);
    let accuracy = knn["accuracy"].as_f64().unwrap();
    assert!(
        accuracy > 0.75,
        "Deep Sets kNN class accuracy {accuracy}: {knn}"
    );
}
