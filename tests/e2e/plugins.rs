//! `cpbench plugin apply|check|new` on the shipped plugins and on test fixtures: feature tables,
//! embedding tables, builtin controls, the label firewall, and the scaffold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cpbench_core::Profiles;
use cpbench_core::io::{ReadOptions, read_profiles};
use predicates::str::contains;

use super::{cpbench, root, shipped};

const LINCS: &str = "lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz";

fn plugin(id: &str) -> PathBuf {
    root().join("plugins").join(id)
}

fn fixture(rel: &str) -> PathBuf {
    root().join("tests/fixtures/plugins").join(rel)
}

fn read(path: &Path) -> Profiles {
    read_profiles(path, &ReadOptions::default()).unwrap().0
}

/// Copies plugin folder `src` to `dir/name` (the manifest and `files`), editing the manifest.
fn copy_plugin(
    dir: &Path,
    name: &str,
    src: &Path,
    files: &[&str],
    edit: impl FnOnce(String) -> String,
) -> PathBuf {
    let copy = dir.join(name);
    std::fs::create_dir(&copy).unwrap();
    for f in files {
        std::fs::copy(src.join(f), copy.join(f)).unwrap();
    }
    let text = std::fs::read_to_string(src.join("plugin.toml")).unwrap();
    std::fs::write(copy.join("plugin.toml"), edit(text)).unwrap();
    copy
}

/// `cpbench plugin apply <plugin> --profiles <input> <args> --out <dir>/out.parquet`.
fn apply(dir: &Path, plugin: &Path, input: &Path, args: &[&str]) -> (Profiles, String) {
    let out = dir.join("out.parquet");
    let assert = cpbench()
        .args(["plugin", "apply"])
        .arg(plugin)
        .arg("--profiles")
        .arg(input)
        .args(args)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    (read(&out), stderr)
}

#[test]
fn cellprofiler_dna_keeps_nuclear_dna_features_without_positions() {
    let dir = tempfile::tempdir().unwrap();
    let input = read(&shipped(LINCS));
    let (out, _) = apply(
        dir.path(),
        &plugin("cellprofiler-dna"),
        &shipped(LINCS),
        &[],
    );
    assert_eq!(out.n_rows(), input.n_rows());
    assert!(out.n_features() > 20 && out.n_features() < input.n_features());
    for name in out.feature_names() {
        assert!(name.starts_with("Nuclei_"), "{name}");
        assert!(!name.contains("Location"), "{name}");
        for other in ["_RNA", "_ER", "_AGP", "_Mito"] {
            assert!(!name.contains(other), "{name} names another channel");
        }
    }
    // Metadata passes through unchanged and in order; values are the input's own columns.
    assert_eq!(out.meta_names(), input.meta_names());
    let j = input
        .feature_names()
        .iter()
        .position(|n| n == &out.feature_names()[0])
        .unwrap();
    assert_eq!(out.row(7)[0], input.row(7)[j]);

    let (all, _) = apply(dir.path(), &plugin("cellprofiler"), &shipped(LINCS), &[]);
    assert_eq!(all.feature_names(), input.feature_names());
    assert_eq!(all.features(), input.features());
}

#[test]
fn embedding_table_joins_on_the_key_and_lists_missing_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stderr) = apply(
        dir.path(),
        &fixture("embedding"),
        &fixture("genes.csv"),
        &["--key", "Metadata_gene"],
    );
    // KRAS has no vector: its row is left out and named, never silently dropped.
    assert!(
        stderr.contains("coverage: 3 of 4 distinct keys (4 of 5 rows)"),
        "{stderr}"
    );
    assert!(stderr.contains("KRAS"), "{stderr}");
    let genes: Vec<String> = out
        .meta_strings("Metadata_gene")
        .unwrap()
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(genes, ["MYC", "BRD4", "TP53", "MYC"]);
    assert_eq!(out.feature_names(), ["e0", "e1", "e2"]);
    assert_eq!(out.row(0), [0.25, -0.5, 2.0]);
    assert_eq!(out.row(2), [1.5, 0.0, 0.75]);
    assert_eq!(out.row(3), out.row(0));

    // Without a key column the plugin cannot run, and says which role it needs.
    cpbench()
        .args(["plugin", "apply"])
        .arg(fixture("embedding"))
        .arg("--profiles")
        .arg(fixture("genes.csv"))
        .arg("--out")
        .arg(dir.path().join("nokey.parquet"))
        .assert()
        .code(2)
        .stderr(contains("keyed by `gene`"));
    assert!(!dir.path().join("nokey.parquet").exists());
}

#[test]
fn a_changed_artifact_is_refused_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let copy = copy_plugin(dir.path(), "embedding", &fixture("embedding"), &[], |t| t);
    let table = std::fs::read_to_string(fixture("embedding/vectors.csv")).unwrap();
    std::fs::write(
        copy.join("vectors.csv"),
        table.replace("0.5,1.0", "0.5,1.5"),
    )
    .unwrap();
    let out = dir.path().join("out.parquet");
    cpbench()
        .args(["plugin", "apply"])
        .arg(&copy)
        .arg("--profiles")
        .arg(fixture("genes.csv"))
        .args(["--key", "Metadata_gene", "--out"])
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("embedding.table"))
        .stderr(contains("embedding.sha256"));
    assert!(!out.exists());
    cpbench()
        .args(["plugin", "check"])
        .arg(&copy)
        .assert()
        .code(1)
        .stdout(contains("FAIL  artifacts"))
        .stdout(contains("SKIP  dry run"));
}

#[test]
fn shuffle_control_permutes_wells_within_plates_reproducibly() {
    let dir = tempfile::tempdir().unwrap();
    let input = read(&shipped(LINCS));
    let args = ["--plate", "Metadata_Plate"];
    let (a, stderr) = apply(dir.path(), &plugin("shuffle"), &shipped(LINCS), &args);
    assert!(stderr.contains("within each of 1 plates"), "{stderr}");
    let (b, _) = apply(dir.path(), &plugin("shuffle"), &shipped(LINCS), &args);
    assert_eq!(a.features(), b.features());
    assert_ne!(a.features(), input.features());
    // Same rows, other order: the multiset of profiles is unchanged.
    let key = |p: &Profiles| {
        let mut rows: Vec<Vec<u32>> = (0..p.n_rows())
            .map(|i| p.row(i).iter().map(|v| v.to_bits()).collect())
            .collect();
        rows.sort();
        rows
    };
    assert_eq!(key(&a), key(&input));
}

#[test]
fn positive_control_sees_labels_and_methods_cannot() {
    let dir = tempfile::tempdir().unwrap();
    let input = read(&shipped(LINCS));
    let (out, _) = apply(
        dir.path(),
        &plugin("positive-control"),
        &shipped(LINCS),
        &["--labels", "Metadata_moa"],
    );
    let moa = input.meta_strings("Metadata_moa").unwrap();
    let distinct: std::collections::BTreeSet<&str> =
        moa.iter().flatten().map(String::as_str).collect();
    assert_eq!(out.n_features(), distinct.len());
    // Rows with the same MoA are close, rows with different MoAs are not.
    let mut by_moa: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, m) in moa.iter().enumerate() {
        if let Some(m) = m {
            by_moa.entry(m.as_str()).or_default().push(i);
        }
    }
    let dist = |i: usize, j: usize| -> f32 {
        out.row(i)
            .iter()
            .zip(out.row(j))
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f32>()
            .sqrt()
    };
    let pair = by_moa.values().find(|r| r.len() >= 2).unwrap();
    let other = by_moa.values().find(|r| r[0] != pair[0]).unwrap();
    assert!(dist(pair[0], pair[1]) < 1.0);
    assert!(dist(pair[0], other[0]) > 1.0);

    // Labels are refused to a plugin whose manifest does not allow them.
    cpbench()
        .args(["plugin", "apply"])
        .arg(plugin("positive-control"))
        .arg("--profiles")
        .arg(shipped(LINCS))
        .arg("--out")
        .arg(dir.path().join("nolabels.parquet"))
        .assert()
        .code(2)
        .stderr(contains("needs at least one label column"));
    let method = copy_plugin(
        dir.path(),
        "method",
        &plugin("positive-control"),
        &[],
        |t| t.replace("role = \"control\"", "role = \"method\""),
    );
    cpbench()
        .args(["plugin", "check"])
        .arg(&method)
        .assert()
        .code(1)
        .stdout(contains("FAIL  manifest"))
        .stdout(contains("positive controls"));
}

#[test]
fn plugin_check_passes_the_shipped_table_and_control_plugins() {
    for id in [
        "cellprofiler",
        "cellprofiler-dna",
        "shuffle",
        "positive-control",
    ] {
        cpbench()
            .args(["plugin", "check"])
            .arg(plugin(id))
            .assert()
            .success()
            .stdout(contains("PASS  determinism"))
            .stdout(contains("PASS  label firewall"))
            .stdout(contains("all checks passed"));
    }
    cpbench()
        .args(["plugin", "check"])
        .arg(fixture("embedding"))
        .assert()
        .success()
        .stdout(contains("PASS  dry run"));
}

#[test]
fn plugin_new_onnx_scaffold_passes_check_once_the_model_is_in_place() {
    let dir = tempfile::tempdir().unwrap();
    cpbench()
        .args(["plugin", "new", "my-encoder", "--kind", "onnx", "--dir"])
        .arg(dir.path())
        .args(["--input-name", "x", "--output-name", "y"])
        .assert()
        .success()
        .stdout(contains("plugin.toml"));
    let folder = dir.path().join("my-encoder");
    // Before the model exists, check says what is missing.
    cpbench()
        .args(["plugin", "check"])
        .arg(&folder)
        .assert()
        .code(1)
        .stdout(contains("FAIL  manifest"))
        .stdout(contains("model.onnx"));
    std::fs::copy(
        root().join("tests/fixtures/onnx/tiny_linear.onnx"),
        folder.join("model.onnx"),
    )
    .unwrap();
    let manifest = std::fs::read_to_string(folder.join("plugin.toml"))
        .unwrap()
        .replace(
            "# dim = 0     # number of input",
            "dim = 4 # number of input",
        );
    std::fs::write(folder.join("plugin.toml"), &manifest).unwrap();
    // The model runs, but the scaffold is not ready to submit: its description says TODO, the
    // model is not pinned and the model would get features by position.
    let out = cpbench()
        .args(["plugin", "check"])
        .arg(&folder)
        .assert()
        .code(1)
        .stdout(contains("PASS  dry run"))
        .stdout(contains("FAIL  submission"))
        .stdout(contains("`description` still says TODO"))
        .stdout(contains("`license` still says TODO"))
        .stdout(contains("`onnx.features` is missing"))
        .get_output()
        .stdout
        .clone();
    let out = String::from_utf8(out).unwrap();
    // The message gives the digest to paste.
    let sha = out
        .split("onnx.sha256 = \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the digest to pin")
        .to_string();
    assert_eq!(sha.len(), 64, "{out}");
    std::fs::write(folder.join("features.txt"), "f0\nf1\nf2\nf3\n").unwrap();
    let manifest = manifest
        .replace(
            "description = \"TODO: one line on what this representation is\"",
            "description = \"A 4-to-2 linear map, for the test\"",
        )
        .replace(
            "license = \"TODO: SPDX license of the model and its weights\"",
            "license = \"MIT\"",
        )
        .replace(
            "# features = \"features.txt\"",
            "features = \"features.txt\"",
        )
        .replace("# sha256 = \"...\"", &format!("sha256 = \"{sha}\""));
    std::fs::write(folder.join("plugin.toml"), manifest).unwrap();
    cpbench()
        .args(["plugin", "check"])
        .arg(&folder)
        .assert()
        .success()
        .stdout(contains("on CPUExecutionProvider"))
        .stdout(contains("PASS  submission"))
        .stdout(contains("all checks passed"));
    // An existing folder is never overwritten.
    cpbench()
        .args(["plugin", "new", "my-encoder", "--kind", "native", "--dir"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(contains("already exists"));
}

/// Runs `cpbench simulate <kind> --out DIR/<kind> <args>` and returns the folder.
fn simulate(dir: &Path, kind: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(kind);
    cpbench()
        .args(["simulate", kind, "--out"])
        .arg(&out)
        .args(args)
        .assert()
        .success();
    out
}

#[test]
fn onnx_profile_encoder_runs_on_lincs_and_records_the_provider() {
    let dir = tempfile::tempdir().unwrap();
    let (out, stderr) = apply(dir.path(), &plugin("contrastive-mlp"), &shipped(LINCS), &[]);
    assert_eq!((out.n_rows(), out.n_features()), (384, 64));
    // No GPU here: CUDA is tried first, and the CPU provider that ran is what gets recorded.
    assert!(stderr.contains("on CPUExecutionProvider"), "{stderr}");
    assert!(stderr.contains("cuda not used"), "{stderr}");
    let (again, _) = apply(dir.path(), &plugin("contrastive-mlp"), &shipped(LINCS), &[]);
    assert_eq!(out.features(), again.features());
}

#[test]
fn require_gpu_fails_instead_of_falling_back() {
    let dir = tempfile::tempdir().unwrap();
    let copy = copy_plugin(
        dir.path(),
        "gpu-only",
        &plugin("contrastive-mlp"),
        &["model.onnx", "features.txt"],
        |t| format!("{t}require_gpu = true\n"),
    );
    let out = dir.path().join("out.parquet");
    cpbench()
        .args(["plugin", "apply"])
        .arg(&copy)
        .arg("--profiles")
        .arg(shipped(LINCS))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2)
        .stderr(contains("CUDA was required"));
    assert!(!out.exists());
}

#[test]
fn deep_sets_encodes_each_well_once_whatever_the_cell_order() {
    let dir = tempfile::tempdir().unwrap();
    let het = simulate(dir.path(), "heterogeneity", &[]);
    let cells = het.join("cells.parquet");
    let set_by = ["--set-by", "Metadata_Plate,Metadata_Well"];
    let (wells, stderr) = apply(dir.path(), &plugin("deepsets"), &cells, &set_by);
    assert!(stderr.contains("sets encoded"), "{stderr}");
    let input = read(&cells);
    let plates = input.meta_strings("Metadata_Plate").unwrap();
    let well_col = input.meta_strings("Metadata_Well").unwrap();
    let distinct: std::collections::BTreeSet<(&Option<String>, &Option<String>)> =
        plates.iter().zip(&well_col).collect();
    assert_eq!(wells.n_rows(), distinct.len());
    assert_eq!(wells.n_features(), 16);
    // Per-cell columns are gone, per-well ones kept.
    assert!(!wells.meta_names().iter().any(|c| c == "Metadata_Cell"));
    assert!(
        wells
            .meta_names()
            .iter()
            .any(|c| c == "Metadata_Perturbation")
    );

    // Reverse the cells: every well must get the same vector (sets are unordered).
    let rev: Vec<usize> = (0..input.n_rows()).rev().collect();
    let mask_all = vec![true; input.n_rows()];
    let reversed = input.filter_rows(&mask_all).unwrap();
    let idx = polars::prelude::IdxCa::from_vec(
        "i".into(),
        rev.iter().map(|&i| i as polars::prelude::IdxSize).collect(),
    );
    let meta = reversed.meta().take(&idx).unwrap();
    let x: Vec<f32> = rev.iter().flat_map(|&i| input.row(i).to_vec()).collect();
    let reversed = Profiles::new(meta, x, input.feature_names().to_vec(), input.level()).unwrap();
    let rev_path = dir.path().join("reversed.parquet");
    cpbench_core::io::write_profiles(&reversed, &rev_path).unwrap();
    let (rev_wells, _) = apply(dir.path(), &plugin("deepsets"), &rev_path, &set_by);
    let vectors = |p: &Profiles| {
        let plate = p.meta_strings("Metadata_Plate").unwrap();
        let well = p.meta_strings("Metadata_Well").unwrap();
        (0..p.n_rows())
            .map(|i| ((plate[i].clone(), well[i].clone()), p.row(i).to_vec()))
            .collect::<BTreeMap<_, _>>()
    };
    let (a, b) = (vectors(&wells), vectors(&rev_wells));
    assert_eq!(a.len(), b.len());
    for (key, v) in &a {
        let w = &b[key];
        let diff = v
            .iter()
            .zip(w)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0f32, f32::max);
        assert!(diff < 1e-4, "{key:?} differs by {diff}");
    }
}

#[test]
fn image_encoder_fixture_embeds_simulated_crops() {
    let dir = tempfile::tempdir().unwrap();
    let img = simulate(dir.path(), "images", &[]);
    let cells = img.join("cells.csv");
    let crops = img.join("crops.npy");
    let crops_arg = crops.to_str().unwrap();
    let (out, stderr) = apply(
        dir.path(),
        &plugin("cnn1"),
        &cells,
        &["--images", crops_arg],
    );
    assert!(stderr.contains("on CPUExecutionProvider"), "{stderr}");
    let n_cells = std::fs::read_to_string(&cells).unwrap().lines().count() - 1;
    assert_eq!((out.n_rows(), out.n_features()), (n_cells, 672));
    assert!(out.meta_names().iter().any(|c| c == "Metadata_Crop"));

    // A crop table that does not match the stack is refused, naming both counts.
    let short = dir.path().join("short.csv");
    let text = std::fs::read_to_string(&cells).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    std::fs::write(&short, lines[..lines.len() - 1].join("\n")).unwrap();
    cpbench()
        .args(["plugin", "apply"])
        .arg(plugin("cnn1"))
        .arg("--profiles")
        .arg(&short)
        .args(["--images", crops_arg, "--out"])
        .arg(dir.path().join("x.parquet"))
        .assert()
        .code(2)
        .stderr(contains("one crop per row"));
}

#[test]
fn gene_lookup_fixture_reports_genes_outside_its_vocabulary() {
    let dir = tempfile::tempdir().unwrap();
    let genes = dir.path().join("genes.csv");
    std::fs::write(
        &genes,
        "Metadata_gene,f1\nADNP,1\nNOT_A_GENE,2\nAHCTF1,3\nADNP,4\n",
    )
    .unwrap();
    let (out, stderr) = apply(
        dir.path(),
        &plugin("grape-embedding"),
        &genes,
        &["--key", "Metadata_gene"],
    );
    assert!(
        stderr.contains("coverage: 2 of 3 distinct keys (3 of 4 rows)"),
        "{stderr}"
    );
    assert_eq!(out.n_rows(), 3);
    // A lookup: the same gene gets the same vector.
    assert_eq!(out.row(0), out.row(2));
    assert_ne!(out.row(0), out.row(1));
}

#[test]
fn plugin_check_passes_the_shipped_onnx_plugins() {
    for id in ["contrastive-mlp", "deepsets", "cnn1", "grape-embedding"] {
        cpbench()
            .args(["plugin", "check"])
            .arg(plugin(id))
            .assert()
            .success()
            .stdout(contains("PASS  dry run"))
            .stdout(contains("all checks passed"));
    }
}

#[test]
fn label_firewall_only_allowed_context_reaches_a_native_plugin() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let copy = copy_plugin(
        dir.path(),
        "context-report",
        &plugin("testing/context-report"),
        &[],
        |t| {
            let t = t.replace("[native.config]\n", "");
            format!("{t}\n[native.config]\nreport = \"{}\"\n", report.display())
        },
    );
    let input = read(&shipped(LINCS));
    // Every role the CLI can hand over, plus label columns a method must never get.
    let (out, _) = apply(
        dir.path(),
        &copy,
        &shipped(LINCS),
        &[
            "--plate",
            "Metadata_Plate",
            "--well",
            "Metadata_Well",
            "--batch",
            "Metadata_Batch_Number",
            "--controls",
            "Metadata_broad_sample=DMSO",
            "--fit-on",
            "controls",
            "--labels",
            "Metadata_moa,Metadata_broad_sample",
        ],
    );
    assert_eq!(out.features(), input.features());
    let seen = super::read_json(&report);
    let allowed = cpbench_plugin_api::context::ALLOWED_CONTEXT;
    let labels: std::collections::BTreeSet<String> = ["Metadata_moa", "Metadata_broad_sample"]
        .iter()
        .flat_map(|c| input.meta_strings(c).unwrap())
        .flatten()
        .filter(|v| v.len() > 3)
        .collect();
    let dmso = input
        .meta_strings("Metadata_broad_sample")
        .unwrap()
        .iter()
        .filter(|v| v.as_deref() == Some("DMSO"))
        .count();
    assert_eq!(seen["fit"]["rows"], dmso);
    assert_eq!(seen["transform"]["rows"], input.n_rows());
    for call in ["fit", "transform"] {
        let columns = seen[call]["columns"].as_array().unwrap();
        let names: Vec<&str> = columns
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["plate", "well", "batch", "control"], "{call}");
        for c in columns {
            assert!(allowed.contains(&c["name"].as_str().unwrap()));
            for v in c["values"].as_array().unwrap() {
                let v = v.as_str().unwrap();
                assert!(!labels.contains(v), "label value {v} reached the plugin");
            }
        }
    }
}

#[test]
fn embedding_table_runs_on_a_gene_list_without_feature_columns() {
    let dir = tempfile::tempdir().unwrap();
    let genes = root().join("benchmarks/grape-corum14/genes.csv");
    let (out, stderr) = apply(
        dir.path(),
        &plugin("stringdb-spectral"),
        &genes,
        &["--key", "Metadata_gene"],
    );
    assert!(stderr.contains("105 of 106 distinct keys"), "{stderr}");
    assert!(stderr.contains("SPEF2"), "{stderr}");
    assert_eq!((out.n_rows(), out.n_features()), (105, 64));
    assert!(out.meta_names().iter().any(|c| c == "Metadata_complex"));
}
