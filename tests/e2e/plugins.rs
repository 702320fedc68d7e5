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
    let copy = dir.path().join("embedding");
    std::fs::create_dir(&copy).unwrap();
    std::fs::copy(fixture("embedding/plugin.toml"), copy.join("plugin.toml")).unwrap();
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
    let method = dir.path().join("method");
    std::fs::create_dir(&method).unwrap();
    let text = std::fs::read_to_string(plugin("positive-control").join("plugin.toml")).unwrap();
    std::fs::write(
        method.join("plugin.toml"),
        text.replace("role = \"control\"", "role = \"method\""),
    )
    .unwrap();
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
    let manifest = std::fs::read_to_string(folder.join("plugin.toml")).unwrap();
    std::fs::write(
        folder.join("plugin.toml"),
        manifest.replace(
            "# dim = 0     # number of input",
            "dim = 4 # number of input",
        ),
    )
    .unwrap();
    cpbench()
        .args(["plugin", "check"])
        .arg(&folder)
        .assert()
        .success()
        .stdout(contains("on CPUExecutionProvider"))
        .stdout(contains("all checks passed"));
    // An existing folder is never overwritten.
    cpbench()
        .args(["plugin", "new", "my-encoder", "--kind", "native", "--dir"])
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(contains("already exists"));
}
