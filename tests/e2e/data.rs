//! The shipped datasets have the documented shapes and checksums.

use std::collections::BTreeMap;

use super::{info_json, root, shipped};

#[test]
fn shipped_data_matches_sha256sums() {
    let dir = root().join("benchmarks/data");
    let sums = std::fs::read_to_string(dir.join("SHA256SUMS")).unwrap();
    let mut n = 0;
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let (hash, file) = line.split_once("  ").expect("sha256sum format: HASH  PATH");
        let actual = cpbench_core::hash::sha256_file(&dir.join(file)).unwrap();
        assert_eq!(actual, hash, "{file} does not match SHA256SUMS");
        n += 1;
    }
    assert_eq!(n, 28, "SHA256SUMS should list every shipped file");
}

fn meta_cardinalities(v: &serde_json::Value) -> BTreeMap<String, u64> {
    v["metadata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["name"].as_str().unwrap().to_string(),
                m["distinct"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn lincs_plate_shape() {
    let p = shipped("lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz");
    let v = info_json(&[p.to_str().unwrap()]);
    assert_eq!(v["rows"], 384);
    assert_eq!(v["features"], 454);
    assert_eq!(v["nan_values"], 0);
    assert_eq!(v["level"], "well");
    let meta = meta_cardinalities(&v);
    assert_eq!(meta.len(), 26);
    // 58 compounds + DMSO; one plate; 384 wells.
    assert_eq!(meta["Metadata_broad_sample"], 59);
    assert_eq!(meta["Metadata_Plate"], 1);
    assert_eq!(meta["Metadata_Well"], 384);
}

#[test]
fn lincs_dmso_filter() {
    let p = shipped("lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz");
    let v = info_json(&[
        p.to_str().unwrap(),
        "--filter",
        "Metadata_broad_sample=DMSO",
    ]);
    assert_eq!(v["rows"], 24);
    assert_eq!(v["rows_in_file"], 384);
    let v = info_json(&[
        p.to_str().unwrap(),
        "--filter",
        "Metadata_broad_sample in [BRD-K50691590-001-02-2, BRD-K60230970-001-10-0]",
    ]);
    // The two proteasome inhibitors have 12 wells each.
    assert_eq!(v["rows"], 24);
    let v = info_json(&[
        p.to_str().unwrap(),
        "--filter",
        "Metadata_pert_type!=control",
    ]);
    assert_eq!(v["rows"], 360);
}

#[test]
fn bbbc021_profiles_shape() {
    let p = shipped("bbbc021/BBBC021_feature_selected_mad_robustize.csv.gz");
    let v = info_json(&[p.to_str().unwrap()]);
    assert_eq!(v["rows"], 632);
    assert_eq!(v["features"], 189);
    let meta = meta_cardinalities(&v);
    assert_eq!(meta.len(), 5);
    assert_eq!(meta["Metadata_Plate"], 55);
    // 12 MoAs + DMSO.
    assert_eq!(meta["Metadata_moa"], 13);
}

#[test]
fn bbbc021_raw_means_need_their_prefix() {
    let p = shipped("bbbc021/ljosa_jbiomolscreen_2013_per_well_mean.csv.gz");
    let v = info_json(&[p.to_str().unwrap(), "--metadata-prefix", "Image_Metadata_"]);
    assert_eq!(v["rows"], 632);
    assert_eq!(v["features"], 516);
    assert_eq!(meta_cardinalities(&v)["Image_Metadata_Plate"], 55);
    // With the default prefix the plate column is taken for a feature and named in the error.
    let err = super::fails_with_2(&["info", p.to_str().unwrap()]);
    assert!(
        err.contains("feature column 'Image_Metadata_Plate' is not numeric: row 1"),
        "{err}"
    );
    assert!(err.contains("--metadata-prefix Image_Metadata_"), "{err}");
}

#[test]
fn cellhealth_fixture_shape() {
    let p = shipped("cellhealth_micro/cellhealth_matric_subset.csv");
    let v = info_json(&[p.to_str().unwrap()]);
    assert_eq!(
        (v["rows"].as_u64(), v["features"].as_u64()),
        (Some(198), Some(3))
    );
}

#[test]
fn dna_feature_selection_on_lincs() {
    let p = shipped("lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz");
    // Counted independently with Python's csv module: 11 names start with Nuclei_ and end with _DNA.
    let v = info_json(&[p.to_str().unwrap(), "--features", "^Nuclei_.*_DNA$"]);
    assert_eq!(v["features"], 11);
}
