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

/// `cpbench run` of `bench` × cellprofiler into `out`, which must exit 2; its stderr.
fn refused_run(bench: &Path, out: &Path) -> String {
    let assert = cpbench()
        .arg("run")
        .arg("--benchmark")
        .arg(bench)
        .arg("--plugin")
        .arg(plugin("cellprofiler"))
        .arg("--out")
        .arg(out)
        .assert()
        .code(2);
    String::from_utf8_lossy(&assert.get_output().stderr).into_owned()
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
    // The benchmark's split is recorded: tasks scored the 33 test compounds and the DMSO wells.
    let split = &result["provenance"]["split"];
    assert_eq!(split["column"], "Metadata_broad_sample");
    assert_eq!(
        split["rows"],
        serde_json::json!({"train": 156, "test": 204, "shared": 24, "none": 0})
    );
    assert_eq!(split["shared"], serde_json::json!(["DMSO"]));
    assert_eq!(split["test"].as_array().unwrap().len(), 33);
    assert_eq!(
        score(&result, "replicate-map", "map")["n"],
        33,
        "one mAP per test compound"
    );
    // The same mAP as `cpbench eval map` with the task's parameters on the same rows.
    let m = score(&result, "replicate-map", "map")["value"]
        .as_f64()
        .unwrap();
    let scored: Vec<&str> = split["test"]
        .as_array()
        .unwrap()
        .iter()
        .chain(split["shared"].as_array().unwrap())
        .map(|v| v.as_str().unwrap())
        .collect();
    let out_map = dir.path().join("map.csv");
    cpbench()
        .args(["eval", "map", "--profiles"])
        .arg(
            root().join(
                "benchmarks/data/lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz",
            ),
        )
        .arg("--filter")
        .arg(format!("Metadata_broad_sample in [{}]", scored.join(", ")))
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
    assert_eq!(values.len(), 33);
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
    let stderr = refused_run(&copy, &out);
    assert!(
        stderr.contains("SHA-256") && stderr.contains("data.profiles"),
        "{stderr}"
    );
    assert!(!out.join("runs").exists(), "no partial output");
}

/// `[data] rows` reads only the rows that pass: the scores equal those of the same benchmark on
/// a file that holds only those rows, and a filter that names no column or keeps no row is
/// refused with exit 2, naming the key.
#[test]
fn data_rows_score_exactly_the_rows_of_a_pre_filtered_file() {
    let dir = tempfile::tempdir().unwrap();
    let src =
        root().join("benchmarks/data/lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz");
    let text =
        std::fs::read_to_string(benchmark("lincs-sq00015054").join("benchmark.toml")).unwrap();
    // Two train compounds and one test compound are left out.
    let dropped = [
        "BRD-A92630576-050-24-1",
        "BRD-K07857022-002-01-1",
        "BRD-A38592941-001-02-7",
    ];
    // The same rows written out: Metadata_broad_sample is the second field, and the fields before
    // it hold no quoted commas.
    let csv = std::process::Command::new("gzip")
        .arg("-dc")
        .arg(&src)
        .output()
        .unwrap()
        .stdout;
    let csv = String::from_utf8(csv).unwrap();
    let kept: String = csv
        .lines()
        .filter(|l| !dropped.contains(&l.split(',').nth(1).unwrap()))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(
        csv.lines().count() - kept.lines().count(),
        3 * 6,
        "one well per dose, 6 doses each"
    );
    let part = dir.path().join("part.csv");
    std::fs::write(&part, kept).unwrap();
    let sha = text
        .lines()
        .find(|l| l.starts_with("sha256 = \""))
        .unwrap()
        .to_string();
    let manifest = |profiles: &Path, rows: &str| {
        let body = text.replace(&format!("{sha}\n"), "").replace(
            "profiles = \"../data/lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz\"",
            &format!("profiles = {:?}\n{rows}", profiles.to_str().unwrap()),
        );
        assert_ne!(body, text);
        body
    };
    let write_bench = |name: &str, body: String| {
        let b = dir.path().join(name);
        std::fs::create_dir(&b).unwrap();
        std::fs::write(b.join("benchmark.toml"), body).unwrap();
        b
    };
    let filtered = write_bench(
        "filtered",
        manifest(
            &src,
            &format!(
                "rows = [\"Metadata_broad_sample not in [{}]\"]",
                dropped.join(", ")
            ),
        ),
    );
    let prefiltered = write_bench("prefiltered", manifest(&part, ""));
    let scores = |bench: &Path, out: &str| {
        let (code, stdout, path) = run(&dir.path().join(out), bench, &plugin("cellprofiler"), &[]);
        assert_eq!(code, 0, "{stdout}");
        let result = read_json(&path);
        assert_eq!(result["status"], "succeeded");
        result["scores"].clone()
    };
    let a = scores(&filtered, "a");
    let b = scores(&prefiltered, "b");
    assert_eq!(a, b);
    assert!(a.as_array().unwrap().len() > 3, "{a}");

    for (rows, says) in [
        ("rows = [\"Metadata_Nope = 1\"]", "data.rows[0]"),
        (
            "rows = [\"Metadata_broad_sample = none-such\"]",
            "no row of",
        ),
    ] {
        let bad = write_bench(&format!("bad{}", says.len()), manifest(&src, rows));
        let out = dir.path().join("bad-out");
        let stderr = refused_run(&bad, &out);
        assert!(stderr.contains(says), "{stderr}");
        assert!(!out.join("runs").exists(), "no partial output");
    }
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
    // Deep Sets beats the mean of the features on the heterogeneity screen; it was trained on
    // that simulation's train split, which the benchmark declares, so it is scored on the test
    // split and ranked, above the features.
    let ds = row("synthetic-heterogeneity", "deepsets");
    let mean = row("synthetic-heterogeneity", "cellprofiler");
    assert_eq!(ds["status"], "succeeded");
    assert_eq!(ds["contaminated"], serde_json::json!([]));
    assert_eq!(
        ds["trained_on_train_split"][0],
        "synthetic-heterogeneity:train"
    );
    assert!(mean["rank"].as_u64().is_some());
    assert!(
        ds["rank"].as_u64().unwrap() < mean["rank"].as_u64().unwrap(),
        "{ds} vs {mean}"
    );
    assert!(
        ds["mean_scaled"].as_f64().unwrap() > mean["mean_scaled"].as_f64().unwrap(),
        "{ds} vs {mean}"
    );
    // The StringDB embedding saw the CORUM complexes it would be scored on: shown with its
    // scores, not ranked.
    let sd = row("grape-corum14", "stringdb-spectral");
    assert_eq!(sd["status"], "succeeded");
    assert!(!sd["contaminated"].as_array().unwrap().is_empty(), "{sd}");
    assert_eq!(sd["rank"], Value::Null, "a contaminated row is not ranked");
    // Trained on the LINCS plate's train split only, scored on its test split: not contaminated,
    // ranked; the board says which split its runs were scored on.
    let cm = row("lincs-sq00015054", "contrastive-mlp");
    assert_eq!(cm["contaminated"], serde_json::json!([]));
    assert_eq!(cm["trained_on_train_split"][0], "lincs-sq00015054:train");
    assert!(cm["rank"].as_u64().is_some(), "{cm}");
    assert_eq!(lincs["split"]["rows"]["test"], 204);
    // Overall: ranked only over the benchmarks every ranked plugin was scored on, with coverage.
    let common: Vec<&str> = board["common_benchmarks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(!common.is_empty());
    for o in board["overall"].as_array().unwrap() {
        let covered = common
            .iter()
            .all(|b| o["per_benchmark"][*b].as_f64().is_some());
        assert_eq!(o["covers_common"].as_bool(), Some(covered), "{o}");
        if o["rank"].as_u64().is_some() {
            assert!(
                covered,
                "a ranked plugin was scored on every common benchmark: {o}"
            );
        }
    }
    let overall = |id: &str| {
        board["overall"]
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["plugin"]["id"] == id)
            .unwrap()
            .clone()
    };
    // Deep Sets, scored on one (synthetic) benchmark, is not ranked overall against plugins
    // compared over several: it never outranks the features by averaging over fewer.
    assert_eq!(overall("deepsets")["rank"], Value::Null);
    assert!(overall("cellprofiler")["rank"].as_u64().is_some());
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
    assert!(md.contains("| Coverage |") && md.contains("/5 |"), "{md}");
    assert!(md.contains("contrastive-mlp 0.1.0 ‡"), "{md}");
    assert!(
        !md.contains("Regressions"),
        "no baseline, no regression section: {md}"
    );
    assert!(stdout.contains("leaderboard: "), "{stdout}");

    // Regression gate: against itself nothing regresses; against a better fake baseline, exit 1.
    let gate = |baseline: &Path| leaderboard(&out, Some(baseline));
    let sample = out.join("runs/lincs-sq00015054@v2/random@0.1.0.json");
    let before = std::fs::read(&sample).unwrap();
    let same = dir.path().join("same.json");
    std::fs::copy(out.join("leaderboard.json"), &same).unwrap();
    let ok = gate(&same).success();
    let ok_out = String::from_utf8_lossy(&ok.get_output().stdout).into_owned();
    assert!(ok_out.contains("no regression"), "{ok_out}");
    let json = read_json(&out.join("leaderboard.json"));
    assert_eq!(
        json["regression_check"]["regressions"],
        serde_json::json!([])
    );
    assert!(
        std::fs::read_to_string(out.join("leaderboard.md"))
            .unwrap()
            .contains("No regression.")
    );
    // Deep Sets 0.5 better in the baseline, on the control-scaled scale (the gate's default).
    let mut better = board.clone();
    let mut metric = String::new();
    for b in better["benchmarks"].as_array_mut().unwrap() {
        if b["id"] != "synthetic-heterogeneity" {
            continue;
        }
        metric = b["columns"][0]["metric"].as_str().unwrap().to_string();
        for r in b["rows"].as_array_mut().unwrap() {
            if r["plugin"]["id"] == "deepsets" {
                let scaled = r["cells"][0]["scaled"].as_f64().unwrap();
                r["cells"][0]["scaled"] = serde_json::json!(scaled + 0.5);
            }
        }
    }
    let fake = dir.path().join("better.json");
    std::fs::write(&fake, serde_json::to_string(&better).unwrap()).unwrap();
    let bad = gate(&fake).code(1);
    let stderr = String::from_utf8_lossy(&bad.get_output().stderr).into_owned();
    let line = stderr
        .lines()
        .find(|l| l.contains("deepsets"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        line.contains("synthetic-heterogeneity") && line.contains(" scaled "),
        "{line}"
    );
    // Numbers in messages have at most 4 significant digits, not full float precision.
    let longest_number = line
        .split(|c: char| !c.is_ascii_digit())
        .map(str::len)
        .max()
        .unwrap_or(0);
    assert!(longest_number <= 5, "{line}");
    // Listed in both files meant for people and machines.
    let md = std::fs::read_to_string(out.join("leaderboard.md")).unwrap();
    assert!(md.contains("## Regressions against the baseline"), "{md}");
    assert!(md.contains(line.trim()), "{md}\n---\n{line}");
    let json = read_json(&out.join("leaderboard.json"));
    assert_valid("leaderboard.schema.json", &json);
    let found = &json["regression_check"]["regressions"][0];
    assert_eq!(
        (&found["plugin"], &found["compared"]),
        (&serde_json::json!("deepsets"), &serde_json::json!("scaled"))
    );
    // A looser tolerance for that metric alone lets it pass; a metric no column has is refused.
    cpbench()
        .args(leaderboard_args(
            &[
                &root().join("plugins"),
                &root().join("plugins/testing/panic"),
            ],
            &out,
        ))
        .env("RAYON_NUM_THREADS", "2")
        .arg("--baseline")
        .arg(&fake)
        .arg("--tolerance-for")
        .arg(format!("{metric}=0.6"))
        .assert()
        .success();
    let typo = cpbench()
        .args(leaderboard_args(&[&root().join("plugins/random")], &out))
        .args(["--only-benchmark", "grape-corum14"])
        .arg("--baseline")
        .arg(&same)
        .args(["--tolerance-for", "mAP=0.01"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&typo.get_output().stderr).into_owned();
    assert!(
        stderr.contains("--tolerance-for mAP: no headline column has metric `mAP`"),
        "{stderr}"
    );
    // A benchmark whose version changed since the baseline is not compared, and says so.
    let mut older = board.clone();
    for b in older["benchmarks"].as_array_mut().unwrap() {
        if b["id"] == "lincs-sq00015054" {
            b["version"] = serde_json::json!(1);
            for r in b["rows"].as_array_mut().unwrap() {
                for c in r["cells"].as_array_mut().unwrap() {
                    if let Some(v) = c["scaled"].as_f64() {
                        c["scaled"] = serde_json::json!(v + 1.0);
                    }
                }
            }
        }
    }
    let old = dir.path().join("older.json");
    std::fs::write(&old, serde_json::to_string(&older).unwrap()).unwrap();
    let noted = gate(&old).success();
    let stderr = String::from_utf8_lossy(&noted.get_output().stderr).into_owned();
    assert!(
        stderr.contains("note: lincs-sq00015054: not compared, the baseline has v1"),
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

/// A copy of `plugins/contrastive-mlp` in `dir/<id>` that declares `training` instead.
fn contrastive_copy(dir: &Path, id: &str, training: &str) -> PathBuf {
    let src = plugin("contrastive-mlp");
    let copy = dir.join(id);
    std::fs::create_dir_all(&copy).unwrap();
    for file in ["model.onnx", "features.txt"] {
        std::fs::copy(src.join(file), copy.join(file)).unwrap();
    }
    let manifest = std::fs::read_to_string(src.join("plugin.toml")).unwrap();
    let line = manifest
        .lines()
        .find(|l| l.starts_with("training_datasets = "))
        .unwrap();
    let edited = manifest
        .replace("id = \"contrastive-mlp\"", &format!("id = \"{id}\""))
        .replace(line, &format!("training_datasets = [{training:?}]"));
    std::fs::write(copy.join("plugin.toml"), edited).unwrap();
    copy
}

/// A benchmark `split-file` on the LINCS plate whose split comes from a file (contrastive-mlp's
/// own split.csv: train, test and control labels per compound); one replicate-mAP task.
fn split_file_benchmark(dir: &Path, split_csv: &str) -> PathBuf {
    let bench = dir.join("benchmarks/split-file");
    std::fs::create_dir_all(&bench).unwrap();
    std::fs::write(bench.join("split.csv"), split_csv).unwrap();
    let data =
        root().join("benchmarks/data/lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz");
    std::fs::write(
        bench.join("benchmark.toml"),
        format!(
            r#"schema_version = 1
id = "split-file"
version = 1
title = "LINCS plate, split by a file"

[data]
profiles = {data:?}
level = "well"

[columns]
perturbation = "Metadata_broad_sample"
plate = "Metadata_Plate"
well = "Metadata_Well"
control = {{ column = "Metadata_broad_sample", values = ["DMSO"] }}
split = {{ column = "Metadata_broad_sample", file = "split.csv", train = ["train"], test = ["test"], shared = ["control"] }}

[[task]]
id = "replicate-map"
metric = "map"
pos_sameby = ["Metadata_broad_sample"]
neg_diffby = ["Metadata_broad_sample"]
reference = "controls"
null_size = 10000
seed = 0
"#,
            data = data.display().to_string()
        ),
    )
    .unwrap();
    bench
}

#[test]
fn a_split_file_scores_the_test_split_and_ranks_a_plugin_trained_on_its_train_split() {
    let dir = tempfile::tempdir().unwrap();
    let split_csv = std::fs::read_to_string(plugin("contrastive-mlp").join("split.csv")).unwrap();
    split_file_benchmark(dir.path(), &split_csv);
    let plugins = dir.path().join("plugins");
    contrastive_copy(&plugins, "trained-on-train", "split-file:train");
    contrastive_copy(&plugins, "trained-on-all", "split-file");
    let out = dir.path().join("site");
    let mut args = leaderboard_args(
        &[
            &plugins,
            &plugin("cellprofiler"),
            &plugin("random"),
            &plugin("positive-control"),
        ],
        &out,
    );
    args[2] = dir.path().join("benchmarks").into();
    cpbench().args(&args).assert().success();
    let board = read_json(&out.join("leaderboard.json"));
    assert_valid("leaderboard.schema.json", &board);
    let b = &board["benchmarks"][0];
    let row = |id: &str| -> Value {
        b["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["plugin"]["id"] == id)
            .unwrap()
            .clone()
    };
    // Trained on the train split, scored on the test split: ranked.
    let clean = row("trained-on-train");
    assert_eq!(clean["contaminated"], serde_json::json!([]), "{clean}");
    assert_eq!(clean["trained_on_train_split"][0], "split-file:train");
    assert!(clean["rank"].as_u64().is_some(), "{clean}");
    // The same model declaring the whole benchmark: shown with the same scores, not ranked.
    let dirty = row("trained-on-all");
    assert_eq!(dirty["contaminated"][0], "split-file");
    assert_eq!(dirty["rank"], Value::Null);
    assert_eq!(dirty["cells"], clean["cells"]);
    // The result records the split it was scored on, file included, and hashes the file.
    let result = read_json(&out.join(clean["result_file"].as_str().unwrap()));
    assert_valid("result.schema.json", &result);
    let split = &result["provenance"]["split"];
    assert_eq!(split["file"], "split.csv");
    assert_eq!(
        split["rows"],
        serde_json::json!({"train": 156, "test": 204, "shared": 24, "none": 0})
    );
    let files: Vec<&str> = result["provenance"]["dataset_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert!(files.contains(&"split.csv"), "{files:?}");
    // A split by file and the same split written as value lists (the shipped LINCS benchmark)
    // score the same rows: the same mAP.
    let features = read_json(&out.join(row("cellprofiler")["result_file"].as_str().unwrap()));
    let (code, stdout, path) = run(
        dir.path(),
        &benchmark("lincs-sq00015054"),
        &plugin("cellprofiler"),
        &[],
    );
    assert_eq!(code, 0, "{stdout}");
    let shipped = read_json(&path);
    assert_eq!(
        score(&features, "replicate-map", "map")["value"],
        score(&shipped, "replicate-map", "map")["value"]
    );

    // A label no list names, or a compound listed twice: bad input, exit 2, with the row.
    for (csv, message) in [
        (
            split_csv.replacen(",control", ",ctrl", 1),
            "label `ctrl` is in none of columns.split.train, test and shared",
        ),
        (
            format!("{split_csv}DMSO,test\n"),
            "Metadata_broad_sample `DMSO` is listed again (first as `control`)",
        ),
    ] {
        let bench = split_file_benchmark(&dir.path().join("bad"), &csv);
        let assert = cpbench()
            .arg("run")
            .arg("--benchmark")
            .arg(&bench)
            .arg("--plugin")
            .arg(plugin("cellprofiler"))
            .arg("--out")
            .arg(dir.path().join("bad-out"))
            .assert()
            .code(2);
        let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
        assert!(
            stderr.contains("columns.split.file") && stderr.contains(message),
            "{stderr}"
        );
    }
}

#[test]
fn plugins_see_the_side_of_the_split_and_fit_on_its_train_side_only() {
    let dir = tempfile::tempdir().unwrap();
    // test-context-report writes every context value it receives in fit and transform.
    let report = dir.path().join("report.json");
    let folder = dir.path().join("context-report");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(
        folder.join("plugin.toml"),
        format!(
            r#"schema_version = 1
id = "test-context-report"
version = "0.1.0"
kind = "native"
role = "example"
description = "Test only: identity map that reports every context column it receives"
license = "MIT OR Apache-2.0"

[input]
level = "well"

[output]
level = "well"

[native]
library = "cpbench_plugin_test_context_report"

[native.config]
stderr = false
report = {:?}
"#,
            report.display().to_string()
        ),
    )
    .unwrap();
    let (code, stdout, _) = run(dir.path(), &benchmark("lincs-sq00015054"), &folder, &[]);
    assert_eq!(code, 0, "{stdout}");
    let doc = read_json(&report);
    let split_values = |call: &str| -> Vec<String> {
        doc[call]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "split")
            .unwrap_or_else(|| panic!("no split context in {call}: {doc}"))["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect()
    };
    // Every well is on one side, named by the side: never the compound of the split column.
    let all = split_values("transform");
    let count = |side: &str| all.iter().filter(|v| *v == side).count();
    assert_eq!(
        (all.len(), count("train"), count("test"), count("shared")),
        (384, 156, 204, 24)
    );
    // Plugins fit on the control wells of the train side: the 24 shared DMSO wells.
    assert_eq!(split_values("fit"), vec!["shared".to_string(); 24]);
}

/// `leaderboard --from-results DIR` runs nothing: it puts on the board the results that `cpbench
/// run` (or the workflow) left in DIR, with the same scores a leaderboard that runs them gives,
/// and lists the pairs without a result as missing.
#[test]
fn a_leaderboard_from_existing_results_recomputes_nothing_and_lists_missing_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let plugins = [plugin("cellprofiler"), plugin("random"), plugin("pca")];
    let refs: Vec<&Path> = plugins.iter().map(PathBuf::as_path).collect();
    let only = ["--only-benchmark", "lincs-sq00015054"];
    cpbench()
        .args(leaderboard_args(&refs, &site))
        .args(only)
        .assert()
        .success();
    let full = read_json(&site.join("leaderboard.json"));

    // The same results, each written by its own `cpbench run` into another folder.
    let runs = dir.path().join("runs-only");
    for p in &plugins {
        let (code, stdout, _) = run(&runs, &benchmark("lincs-sq00015054"), p, &[]);
        assert_eq!(code, 0, "{stdout}");
    }
    let mut args = leaderboard_args(&refs, &runs);
    args.retain(|a| a != "--out" && a != runs.as_os_str());
    let assert = cpbench()
        .args(&args)
        .args(only)
        .arg("--from-results")
        .arg(&runs)
        .assert()
        .success();
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    assert!(stdout.contains("leaderboard: 3 runs"), "{stdout}");
    // The same board but for the runs' wall times (the runs were separate).
    fn untimed(mut v: Value) -> Value {
        match &mut v {
            Value::Object(m) => {
                m.remove("wall_s");
                for x in m.values_mut() {
                    *x = untimed(x.take());
                }
            }
            Value::Array(a) => {
                for x in a.iter_mut() {
                    *x = untimed(x.take());
                }
            }
            _ => {}
        }
        v
    }
    let board = read_json(&runs.join("leaderboard.json"));
    assert_eq!(
        untimed(board["benchmarks"].clone()),
        untimed(full["benchmarks"].clone())
    );
    assert_eq!(board["overall"], full["overall"]);
    assert!(runs.join("index.html").is_file());

    // A pair without its result is left off and named; none at all is an error.
    let random_result = board["benchmarks"][0]["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["plugin"]["id"] == "random")
        .map(|r| runs.join(r["result_file"].as_str().unwrap()))
        .expect("the random plugin's result file");
    std::fs::remove_file(&random_result).unwrap();
    // A result of another benchmark.toml is stale: left off too, saying why.
    let pca_result = runs.join(
        board["benchmarks"][0]["rows"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["plugin"]["id"] == "pca")
            .unwrap()["result_file"]
            .as_str()
            .unwrap(),
    );
    let mut pca = read_json(&pca_result);
    pca["benchmark"]["manifest_sha256"] = Value::String("0".repeat(64));
    std::fs::write(&pca_result, serde_json::to_string(&pca).unwrap()).unwrap();
    let assert = cpbench()
        .args(&args)
        .args(only)
        .arg("--from-results")
        .arg(&runs)
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&assert.get_output().stderr).into_owned();
    assert!(
        stderr.contains("2 of 3 pairs have no usable result")
            && stderr.contains("lincs-sq00015054 × random")
            && stderr.contains("no result")
            && stderr.contains("stale: benchmark.toml changed"),
        "{stderr}"
    );
    let rows = read_json(&runs.join("leaderboard.json"))["benchmarks"][0]["rows"].clone();
    assert_eq!(
        rows.as_array().unwrap().len(),
        1,
        "only cellprofiler is on the board"
    );
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = cpbench()
        .args(&args)
        .args(only)
        .arg("--from-results")
        .arg(&empty)
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&e.get_output().stderr).into_owned();
    assert!(stderr.contains("no pair has a result"), "{stderr}");
}
