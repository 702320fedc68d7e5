//! `cpbench run`, `leaderboard` and `audit` on the shipped benchmarks and plugins.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::{cpbench, leaderboard_args, read_json, root};

/// Validates `instance` against a committed schema under `ci/schemas/`; panics with the errors.
fn assert_valid(schema_file: &str, instance: &Value) {
    let schema = read_json(&root().join("ci/schemas").join(schema_file));
    let url = format!("file:///{schema_file}");
    let mut schemas = boon::Schemas::new();
    let mut compiler = boon::Compiler::new();
    compiler.add_resource(&url, schema).unwrap();
    let index = compiler.compile(&url, &mut schemas).unwrap();
    if let Err(e) = schemas.validate(instance, index) {
        panic!("does not validate against {schema_file}: {e:#}");
    }
}

fn benchmark(id: &str) -> PathBuf {
    root().join("benchmarks").join(id)
}

fn plugin(id: &str) -> PathBuf {
    root().join("plugins").join(id)
}

/// `cpbench run` of a shipped pair into `out`; returns (exit code, stdout, result path).
fn run(out: &Path, bench: &Path, plugin: &Path, extra: &[&str]) -> (i32, String, PathBuf) {
    let assert = cpbench()
        .arg("run")
        .arg("--benchmark")
        .arg(bench)
        .arg("--plugin")
        .arg(plugin)
        .arg("--out")
        .arg(out)
        .args(extra)
        .assert();
    let o = assert.get_output();
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    let result = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("result: "))
        .map(PathBuf::from)
        .unwrap_or_default();
    (o.status.code().unwrap_or(-1), stdout, result)
}

fn score<'a>(result: &'a Value, task: &str, metric: &str) -> &'a Value {
    result["scores"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["task"] == task && s["metric"] == metric && s["primary"] == true)
        .unwrap_or_else(|| panic!("no primary {task}/{metric} score"))
}

#[test]
fn run_scores_the_lincs_plate_with_provenance_and_a_valid_result() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, path) = run(
        dir.path(),
        &benchmark("lincs-sq00015054"),
        &plugin("cellprofiler"),
        &[],
    );
    assert_eq!(code, 0, "{stdout}");
    let result = read_json(&path);
    assert_valid("result.schema.json", &result);
    assert_eq!(result["status"], "succeeded");
    assert_eq!(result["benchmark"]["id"], "lincs-sq00015054");
    // cytominer-eval's published percent replicating on this plate (pair variant, q = 0.95).
    let pr = score(&result, "percent-replicating", "percent-replicating");
    assert!(
        (pr["value"].as_f64().unwrap() - 0.4583).abs() < 5e-5,
        "{pr}"
    );
    // The same mAP as `cpbench eval map` with the task's parameters on the same table.
    let m = score(&result, "replicate-map", "map")["value"]
        .as_f64()
        .unwrap();
    let out_map = dir.path().join("map.csv");
    cpbench()
        .args(["eval", "map", "--profiles"])
        .arg(
            root().join(
                "benchmarks/data/lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz",
            ),
        )
        .args([
            "--pos-sameby",
            "Metadata_broad_sample",
            "--neg-diffby",
            "Metadata_broad_sample",
            "--reference",
            "Metadata_broad_sample=DMSO",
            "--out-ap",
        ])
        .arg(dir.path().join("ap.csv"))
        .arg("--out-map")
        .arg(&out_map)
        .assert()
        .success();
    let text = std::fs::read_to_string(&out_map).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = header
        .iter()
        .position(|h| *h == "mean_average_precision")
        .unwrap();
    let values: Vec<f64> = lines
        .filter_map(|l| l.split(',').nth(col)?.parse().ok())
        .filter(|v: &f64| v.is_finite())
        .collect();
    let eval_mean = values.iter().sum::<f64>() / values.len() as f64;
    assert!((m - eval_mean).abs() < 1e-12, "run {m} vs eval {eval_mean}");
    // Provenance: every data file hashed, seeds recorded, memory and time measured.
    let files = result["provenance"]["dataset_files"].as_array().unwrap();
    assert!(files[0]["path"].as_str().unwrap().ends_with(".csv.gz"));
    assert_eq!(result["provenance"]["seeds"]["replicate-map.null"], 0);
    assert!(result["timing"]["peak_rss_mib"].as_f64().unwrap() > 1.0);
    // The report is a self-contained page with plots.
    let html = std::fs::read_to_string(path.with_extension("html")).unwrap();
    assert!(html.contains("<svg"), "no plot in the run report");
    assert!(!html.contains("http://") && !html.contains("https://"));
}

#[test]
fn identical_inputs_give_identical_scores_and_the_cache_tracks_the_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let bench = benchmark("grape-corum14");
    let random = plugin("random");
    let (code, first, path) = run(dir.path(), &bench, &random, &[]);
    assert_eq!(code, 0, "{first}");
    assert!(!first.contains("cached"), "{first}");
    let a = read_json(&path);
    // Unchanged inputs: reused, not recomputed.
    let (_, second, _) = run(dir.path(), &bench, &random, &[]);
    assert!(second.contains(", cached"), "{second}");
    // --force recomputes; the scores are bit-identical, only the timing differs.
    let (_, third, _) = run(dir.path(), &bench, &random, &["--force"]);
    assert!(!third.contains("cached"), "{third}");
    let b = read_json(&path);
    assert_eq!(a["scores"], b["scores"]);
    assert!(!a["scores"].as_array().unwrap().is_empty());
    // A changed plugin (here its seed) changes the artifact hash: recomputed, new scores.
    let copy = dir.path().join("random-seed-1");
    std::fs::create_dir(&copy).unwrap();
    let manifest = std::fs::read_to_string(random.join("plugin.toml")).unwrap();
    std::fs::write(
        copy.join("plugin.toml"),
        manifest.replace("seed = 0", "seed = 1"),
    )
    .unwrap();
    let (code, fourth, path2) = run(dir.path(), &bench, &copy, &[]);
    assert_eq!(code, 0, "{fourth}");
    assert!(!fourth.contains("cached"), "{fourth}");
    assert_eq!(
        path2, path,
        "same plugin id and version: the same result file"
    );
    let c = read_json(&path2);
    assert_ne!(
        a["plugin"]["artifact_sha256"],
        c["plugin"]["artifact_sha256"]
    );
    assert_ne!(a["scores"], c["scores"]);
}

#[test]
fn a_crashing_plugin_is_a_failed_run_with_its_reason_and_not_applicable_is_said() {
    let dir = tempfile::tempdir().unwrap();
    let lincs = benchmark("lincs-sq00015054");
    let (code, stdout, path) = run(
        dir.path(),
        &lincs,
        &root().join("plugins/testing/panic"),
        &[],
    );
    assert_eq!(code, 1, "a failed run exits 1: {stdout}");
    let result = read_json(&path);
    assert_valid("result.schema.json", &result);
    assert_eq!(result["status"], "failed");
    let reason = result["reasons"][0].as_str().unwrap();
    assert!(reason.contains("panic"), "{reason}");
    let html = std::fs::read_to_string(path.with_extension("html")).unwrap();
    assert!(html.contains("failed"), "the report shows the status");

    let (code, stdout, path) = run(dir.path(), &lincs, &plugin("stringdb-spectral"), &[]);
    assert_eq!(code, 0, "{stdout}");
    let result = read_json(&path);
    assert_eq!(result["status"], "not_applicable");
    let reason = result["reasons"][0].as_str().unwrap();
    assert!(reason.contains("gene-level keys"), "{reason}");
}

#[test]
fn a_benchmark_whose_data_changed_is_refused_with_exit_2_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let src = benchmark("lincs-sq00015054");
    let copy = dir.path().join("bench");
    std::fs::create_dir(&copy).unwrap();
    let text = std::fs::read_to_string(src.join("benchmark.toml")).unwrap();
    let data = root().join("benchmarks/data/lincs_sq00015054");
    let sha = text
        .lines()
        .find_map(|l| l.strip_prefix("sha256 = \""))
        .unwrap()
        .trim_end_matches('"')
        .to_string();
    let edited = text
        .replace("../data/lincs_sq00015054", data.to_str().unwrap())
        .replace(&sha, &"0".repeat(64));
    std::fs::write(copy.join("benchmark.toml"), edited).unwrap();
    let out = dir.path().join("site");
    let assert = cpbench()
        .arg("run")
        .arg("--benchmark")
        .arg(&copy)
        .arg("--plugin")
        .arg(plugin("cellprofiler"))
        .arg("--out")
        .arg(&out)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr);
    assert!(
        stderr.contains("SHA-256") && stderr.contains("data.profiles"),
        "{stderr}"
    );
    assert!(!out.join("runs").exists(), "no partial output");
}

/// `cpbench leaderboard` of the shipped benchmarks and plugins plus the panicking test plugin.
fn leaderboard(out: &Path, baseline: Option<&Path>) -> assert_cmd::assert::Assert {
    let plugins = [root().join("plugins"), root().join("plugins/testing/panic")];
    let mut cmd = cpbench();
    cmd.args(leaderboard_args(&[&plugins[0], &plugins[1]], out))
        // Pinned so the raw scores compare exactly on machines with other core counts.
        .env("RAYON_NUM_THREADS", "2");
    if let Some(b) = baseline {
        cmd.arg("--baseline").arg(b).args(["--tolerance", "0.02"]);
    }
    cmd.assert()
}

/// Every run's status and long-form scores (value, sd, n, params) of a leaderboard folder,
/// one section per `benchmark × plugin` in file order. The scores are the result file's own
/// text: serde_json's default float parsing may round the last bit, so only text compares
/// numbers exactly.
fn raw_scores(out: &Path) -> String {
    let mut text = String::new();
    let mut benches: Vec<PathBuf> = std::fs::read_dir(out.join("runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    benches.sort();
    for b in benches {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&b)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy();
                name.ends_with(".json") && !name.ends_with(".figures.json")
            })
            .collect();
        files.sort();
        for f in files {
            let raw = std::fs::read_to_string(&f).unwrap();
            let r: Value = serde_json::from_str(&raw).unwrap();
            // `scores` is the result's last field: its text runs to the end of the file.
            let at = raw.find("\n  \"scores\": ").expect("a result has scores");
            text.push_str(&format!(
                "# {} × {}: {}{}",
                r["benchmark"]["id"].as_str().unwrap(),
                r["plugin"]["id"].as_str().unwrap(),
                r["status"].as_str().unwrap(),
                &raw[at..]
            ));
            if !text.ends_with('\n') {
                text.push('\n');
            }
        }
    }
    text
}

/// The raw scores of the shipped leaderboard equal the committed ones, digit for digit. A change
/// of any number must be deliberate: rerun with `CPBENCH_BLESS_RAW_SCORES=1` and say in the
/// commit why the numbers moved.
fn assert_raw_scores_unchanged(out: &Path) {
    let fixture = root().join("tests/fixtures/leaderboard/raw-scores.txt");
    let got = raw_scores(out);
    if std::env::var_os("CPBENCH_BLESS_RAW_SCORES").is_some() {
        std::fs::create_dir_all(fixture.parent().unwrap()).unwrap();
        std::fs::write(&fixture, &got).unwrap();
    }
    let want = std::fs::read_to_string(&fixture).unwrap();
    if got == want {
        return;
    }
    let mut run = "";
    for (i, (g, w)) in got.lines().zip(want.lines()).enumerate() {
        if w.starts_with("# ") {
            run = w;
        }
        assert_eq!(g, w, "line {} of {}, in {run}", i + 1, fixture.display());
    }
    panic!(
        "{}: {} lines expected, {} lines produced",
        fixture.display(),
        want.lines().count(),
        got.lines().count()
    );
}

#[test]
fn leaderboard_of_the_shipped_data_scales_ranks_shows_failures_and_gates_regressions() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("site");
    // The shipped plugins plus one that panics: its failure must show, not stop the board.
    let assert = leaderboard(&out, None).success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let board = read_json(&out.join("leaderboard.json"));
    assert_valid("leaderboard.schema.json", &board);
    assert_raw_scores_unchanged(&out);
    let ids: Vec<&str> = board["benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "bbbc021-moa",
            "grape-corum14",
            "lincs-sq00015054",
            "synthetic-heterogeneity",
            "synthetic-images"
        ]
    );
    let rows = |bench: &str| -> Vec<Value> {
        board["benchmarks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|b| b["id"] == bench)
            .unwrap()["rows"]
            .as_array()
            .unwrap()
            .clone()
    };
    let row = |bench: &str, plugin: &str| -> Value {
        rows(bench)
            .into_iter()
            .find(|r| r["plugin"]["id"] == plugin)
            .unwrap_or_else(|| panic!("no row for {plugin} on {bench}"))
    };
    // Controls anchor the scale: the positive control at 1, a negative control at 0.
    let lincs = &board["benchmarks"].as_array().unwrap()[2];
    let col = lincs["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c["task"] == "replicate-map" && c["metric"] == "map")
        .unwrap();
    let pc = row("lincs-sq00015054", "positive-control");
    assert_eq!(pc["cells"][col]["scaled"].as_f64().unwrap(), 1.0);
    assert_eq!(pc["rank"], Value::Null, "controls are not ranked");
    let worst = lincs["columns"][col]["worst_control"]["plugin"]
        .as_str()
        .unwrap();
    assert!(["random", "shuffle"].contains(&worst), "{worst}");
    // Deep Sets beats the mean of the features on the heterogeneity screen, but it was trained
    // on that simulation: shown with its score, not ranked; the features are ranked.
    let ds = row("synthetic-heterogeneity", "deepsets");
    let mean = row("synthetic-heterogeneity", "cellprofiler");
    assert_eq!(ds["status"], "succeeded");
    assert_eq!(ds["contaminated"][0], "synthetic-heterogeneity");
    assert_eq!(ds["rank"], Value::Null, "a contaminated row is not ranked");
    assert!(mean["rank"].as_u64().is_some());
    assert!(
        ds["mean_scaled"].as_f64().unwrap() > mean["mean_scaled"].as_f64().unwrap(),
        "{ds} vs {mean}"
    );
    // Contamination is flagged, not hidden, and not ranked.
    let cm = row("lincs-sq00015054", "contrastive-mlp");
    assert_eq!(cm["contaminated"][0], "lincs-sq00015054");
    assert_eq!(cm["rank"], Value::Null);
    // Not-applicable and failed runs stay visible, with their reasons, in JSON and HTML.
    let na = row("lincs-sq00015054", "stringdb-spectral");
    assert_eq!(na["status"], "not_applicable");
    let failed: Vec<Value> = ids
        .iter()
        .flat_map(|b| rows(b))
        .filter(|r| r["status"] == "failed")
        .collect();
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(html.contains("<svg"), "no plot on the leaderboard page");
    assert!(!html.contains("http://") && !html.contains("https://"));
    assert!(html.contains("not applicable") || html.contains("not_applicable"));
    for r in &failed {
        // The reason's opening words (before any path, which HTML escaping rewrites).
        let reason = r["reasons"][0].as_str().unwrap();
        let head = reason.split(['/', ':']).next().unwrap();
        assert!(html.contains(head), "failed run reason {head:?} not shown");
    }
    assert_eq!(
        failed.len(),
        2,
        "the panicking plugin fails on both well-level feature benchmarks"
    );
    assert!(
        failed.iter().all(|r| r["plugin"]["id"] == "test-panic"),
        "{failed:?}"
    );
    // The PCA plugin on BBBC021 (330 DMSO wells × 329 components, nearly singular after
    // per-plate normalization) is sphered without NaN.
    assert_eq!(row("bbbc021-moa", "pca")["status"], "succeeded");
    let md = std::fs::read_to_string(out.join("leaderboard.md")).unwrap();
    assert!(md.contains("| Rank |") && md.contains("deepsets"), "{md}");
    assert!(stdout.contains("leaderboard: "), "{stdout}");

    // Regression gate: against itself nothing regresses; against a better fake baseline, exit 1.
    let gate = |baseline: &Path| leaderboard(&out, Some(baseline));
    let sample = out.join("runs/lincs-sq00015054@v1/random@0.1.0.json");
    let before = std::fs::read(&sample).unwrap();
    let same = dir.path().join("same.json");
    std::fs::copy(out.join("leaderboard.json"), &same).unwrap();
    let ok = gate(&same).success();
    let ok_out = String::from_utf8_lossy(&ok.get_output().stdout).into_owned();
    assert!(ok_out.contains("no regression"), "{ok_out}");
    let mut better = board.clone();
    for b in better["benchmarks"].as_array_mut().unwrap() {
        if b["id"] != "synthetic-heterogeneity" {
            continue;
        }
        for r in b["rows"].as_array_mut().unwrap() {
            if r["plugin"]["id"] == "deepsets" {
                let raw = r["cells"][0]["raw"].as_f64().unwrap();
                r["cells"][0]["raw"] = serde_json::json!(raw + 0.5);
            }
        }
    }
    let fake = dir.path().join("better.json");
    std::fs::write(&fake, serde_json::to_string(&better).unwrap()).unwrap();
    let bad = gate(&fake).code(1);
    let stderr = String::from_utf8_lossy(&bad.get_output().stderr).into_owned();
    assert!(
        stderr.contains("deepsets") && stderr.contains("synthetic-heterogeneity"),
        "{stderr}"
    );
    // The gates reused every cached run: a result file is byte for byte the first one.
    let after = std::fs::read(&sample).unwrap();
    assert_eq!(before, after, "a cached run was recomputed");
}

#[test]
fn the_shipped_audits_reproduce_their_published_claims() {
    let dir = tempfile::tempdir().unwrap();
    let audits: Vec<PathBuf> = std::fs::read_dir(root().join("benchmarks/audits"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    assert_eq!(audits.len(), 3, "{audits:?}");
    let assert = cpbench()
        .arg("audit")
        .args(&audits)
        .arg("--plugins")
        .arg(root().join("plugins"))
        .arg("--out")
        .arg(dir.path())
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.contains("21 of 21 claims reproduced"), "{stdout}");
    assert!(!stdout.contains("NOT REPRODUCED"), "{stdout}");
    assert!(stdout.contains("nsc-accuracy"), "{stdout}");
}

#[test]
fn an_audit_claim_that_does_not_hold_exits_1_with_the_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let src = root().join("benchmarks/audits/grape-table1-random.toml");
    let text = std::fs::read_to_string(&src).unwrap();
    // The same claims, resolved from a copy: point the benchmark at the shipped folder.
    let edited = text
        .replace(
            "benchmark = \"grape-corum14\"",
            &format!(
                "benchmark = \"{}\"",
                root().join("benchmarks/grape-corum14").display()
            ),
        )
        .replacen("value = 0.104", "value = 0.5", 1);
    assert_ne!(
        edited, text,
        "the audit names grape-corum14 and a value 0.104"
    );
    let copy = dir.path().join("wrong.toml");
    std::fs::write(&copy, edited).unwrap();
    let assert = cpbench()
        .arg("audit")
        .arg(&copy)
        .arg("--plugins")
        .arg(root().join("plugins"))
        .arg("--out")
        .arg(dir.path().join("site"))
        .assert()
        .code(1);
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.contains("NOT REPRODUCED"), "{stdout}");
    assert!(stdout.contains("published 0.5"), "{stdout}");
}
