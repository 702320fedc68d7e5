//! The command surface: version, doctor, schemas, validate, completions, man pages.

use super::{cpbench, fails_with_2, root};

#[test]
fn version_names_the_commit() {
    let out = cpbench().arg("--version").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(
        text.starts_with(&format!("cpbench {} (commit ", env!("CARGO_PKG_VERSION"))),
        "{text}"
    );
}

#[test]
fn doctor_finds_onnxruntime() {
    // cargo's [env] points ORT_DYLIB_PATH at the library ci/setup-onnxruntime.sh installed.
    let out = cpbench().args(["doctor", "--json"]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["onnxruntime"]["version"], "1.31.1");
    let eps: Vec<&str> = v["onnxruntime"]["execution_providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(eps.contains(&"CPUExecutionProvider"), "{eps:?}");
    assert!(v["threads_available"].as_u64().unwrap() >= 1);
}

#[test]
fn doctor_says_what_to_run_when_onnxruntime_is_missing() {
    let out = cpbench()
        .arg("doctor")
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("ci/setup-onnxruntime.sh"), "{text}");
    assert!(text.contains("/nonexistent/libonnxruntime.so"), "{text}");
}

#[test]
fn committed_schemas_are_current() {
    let dir = tempfile::tempdir().unwrap();
    cpbench().arg("schemas").arg(dir.path()).assert().success();
    for name in ["benchmark", "plugin", "audit", "result"] {
        let file = format!("{name}.schema.json");
        let fresh = std::fs::read_to_string(dir.path().join(&file)).unwrap();
        let committed = std::fs::read_to_string(root().join("ci/schemas").join(&file))
            .unwrap_or_else(|_| panic!("ci/schemas/{file} is missing"));
        assert!(
            fresh == committed,
            "ci/schemas/{file} is stale: run `cargo run -p cpbench -- schemas ci/schemas`"
        );
    }
}

/// A benchmark folder over a copy of the shipped Cell Health subset; `extra` is appended.
fn benchmark_dir(sha: &str, extra: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        super::shipped("cellhealth_micro/cellhealth_matric_subset.csv"),
        dir.path().join("profiles.csv"),
    )
    .unwrap();
    let text = format!(
        r#"schema_version = 1
id = "cellhealth-mini"
version = 1
title = "Cell Health subset"

[data]
profiles = "profiles.csv"
sha256 = "{sha}"
level = "well"

[columns]
perturbation = "Metadata_pert_name"
plate = "Metadata_Plate"
labels = ["Metadata_gene_name"]

[[task]]
id = "gene-map"
metric = "map"
pos_sameby = ["Metadata_gene_name"]
neg_diffby = ["Metadata_gene_name"]
{extra}"#
    );
    std::fs::write(dir.path().join("benchmark.toml"), text).unwrap();
    dir
}

const CELLHEALTH_SHA: &str = "8a4246d077da1c8f73a8619be7ce74fdeaf3350fb8b4181dbd6582be67789177";

fn validate(dir: &tempfile::TempDir) -> assert_cmd::assert::Assert {
    cpbench()
        .arg("validate")
        .arg(dir.path().join("benchmark.toml"))
        .assert()
}

fn stderr(a: &assert_cmd::assert::Assert) -> String {
    String::from_utf8_lossy(&a.get_output().stderr).into_owned()
}

#[test]
fn validate_accepts_a_good_benchmark() {
    let dir = benchmark_dir(CELLHEALTH_SHA, "");
    let a = validate(&dir).success();
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(out.contains("data.profiles: sha256 ok"), "{out}");
    assert!(
        out.contains("198 rows, 3 features, every named column present"),
        "{out}"
    );
}

#[test]
fn validate_fails_a_hash_mismatch_with_exit_1() {
    let dir = benchmark_dir(&"0".repeat(64), "");
    let a = validate(&dir).code(1);
    let out = String::from_utf8_lossy(&a.get_output().stdout).into_owned();
    assert!(
        out.contains(&format!(
            "has sha256 {CELLHEALTH_SHA}, the manifest pins 0000"
        )),
        "{out}"
    );
}

#[test]
fn validate_names_the_offending_key() {
    let dir = benchmark_dir(CELLHEALTH_SHA, "k = 3\n");
    let e = stderr(&validate(&dir).code(2));
    assert!(
        e.contains("benchmark.toml") && e.contains("key `task[0].k`"),
        "{e}"
    );
    let dir = benchmark_dir(CELLHEALTH_SHA, "null_sise = 100\n");
    let e = stderr(&validate(&dir).code(2));
    assert!(
        e.contains("key `task[0].null_sise`") && e.contains("null_size"),
        "{e}"
    );
    let dir = benchmark_dir(CELLHEALTH_SHA, "null_size = \"many\"\n");
    let e = stderr(&validate(&dir).code(2));
    assert!(e.contains("key `task[0].null_size`"), "{e}");
}

#[test]
fn validate_checks_columns_against_the_data() {
    let dir = benchmark_dir(CELLHEALTH_SHA, "");
    let path = dir.path().join("benchmark.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("plate = \"Metadata_Plate\"", "plate = \"Metadata_plate\"");
    std::fs::write(&path, text).unwrap();
    let e = stderr(&validate(&dir).code(2));
    assert!(e.contains("key `columns.plate`:"), "{e}");
    assert!(
        e.contains("profiles.csv: no column 'Metadata_plate'"),
        "{e}"
    );
    assert!(e.contains("did you mean Metadata_Plate"), "{e}");
}

#[test]
fn validate_reports_missing_data_files() {
    let dir = benchmark_dir(CELLHEALTH_SHA, "");
    std::fs::remove_file(dir.path().join("profiles.csv")).unwrap();
    let e = stderr(&validate(&dir).code(2));
    assert!(e.contains("profiles.csv"), "{e}");
}

/// Shell completions and man pages come from the same clap definitions as the parser: they
/// name this build's subcommands and flags (the man pages leave the hidden worker out; clap's
/// completion scripts list it).
#[test]
fn completions_and_man_pages_cover_the_command_line() {
    for (shell, marker) in [
        ("bash", "complete -F"),
        ("zsh", "#compdef cpbench"),
        ("fish", "complete -c cpbench"),
    ] {
        let out = cpbench().args(["completions", shell]).assert().success();
        let script = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
        assert!(script.contains(marker), "{shell}: {script:.300}");
        // Flags without their dashes: fish writes `-l out-shard`.
        for word in [
            "leaderboard",
            "merge",
            "out-shard",
            "from-results",
            "cache-dir",
        ] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let e = fails_with_2(&["completions", "tcsh"]);
    assert!(e.contains("tcsh"), "{e}");

    let dir = tempfile::tempdir().unwrap();
    cpbench()
        .args(["man", "--out"])
        .arg(dir.path())
        .assert()
        .success();
    for page in [
        "cpbench.1",
        "cpbench-run.1",
        "cpbench-merge.1",
        "cpbench-eval-map.1",
    ] {
        let text = std::fs::read_to_string(dir.path().join(page))
            .unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(
            text.starts_with(".ie") || text.contains(".TH"),
            "{page}: {text:.200}"
        );
    }
    let run = std::fs::read_to_string(dir.path().join("cpbench-run.1")).unwrap();
    assert!(
        run.contains("shard"),
        "cpbench-run.1 does not document --shard"
    );
    assert!(!dir.path().join("cpbench-plugin-worker.1").exists());
}
