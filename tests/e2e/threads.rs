//! Determinism across thread counts: the same leaderboard at 1 and at 2 threads gives the same
//! result files (timing fields aside) byte for byte, and `cpbench plugin check` fails a plugin
//! whose output follows the thread count.

use std::path::{Path, PathBuf};

use predicates::str::contains;

use super::{cpbench, leaderboard_args, read_json, root};

/// The pairs the thread comparison scores: the heaviest numerics of the shipped leaderboard. On
/// BBBC021, the pca plugin (faer covariance and eigendecomposition, in a worker) and the shuffle
/// control, each followed by normalization, correlation feature selection, ZCA sphering (an SVD)
/// and the kNN, k-means, mAP and batch-leakage classifier tasks; on LINCS, mAP with nulls,
/// enrichment, percent replicating and precision@k. (The whole leaderboard takes 30 s per run
/// in a debug build on 2 cores; these 4 pairs about 6 s.)
const BENCHMARKS: [&str; 2] = ["bbbc021-moa", "lincs-sq00015054"];
// pca (faer) and the Python command plugins (BLAS, harmonypy's threads) are where threads could
// change the arithmetic.
const PLUGINS: [&str; 5] = [
    "pca",
    "shuffle",
    "harmony",
    "combat",
    "sklearn-factor-analysis",
];

/// The fields that hold timing (wall time, memory, start time): masked before comparing.
const TIMING_KEYS: [&str; 3] = ["\"wall_s\": ", "\"peak_rss_mib\": ", "\"started_at\": "];
const MASK: &str = "\"(timing)\"";

fn leaderboard(out: &Path, threads: usize) {
    let mut cmd = cpbench();
    cmd.args(leaderboard_args(&[&root().join("plugins")], out))
        .env("RAYON_NUM_THREADS", threads.to_string());
    for b in BENCHMARKS {
        cmd.args(["--only-benchmark", b]);
    }
    for p in PLUGINS {
        cmd.args(["--only-plugin", p]);
    }
    cmd.assert().success();
}

/// Every file under `dir` except the HTML pages (rendered from the JSON files, with wall times
/// in them), relative to `dir`, sorted.
fn result_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, dir: &Path, files: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(base, &path, files);
            } else if path.extension().is_some_and(|e| e != "html") {
                files.push(path.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut files = Vec::new();
    walk(dir, dir, &mut files);
    files.sort();
    files
}

/// What of `file`'s `text` is compared: JSON and Markdown without timing; of a digest file
/// (`<run>.sha256`), the lines of the files that hold no timing (the plot data): the HTML
/// report and the result hold wall times, and the result is compared itself.
fn comparable(file: &Path, text: &str) -> String {
    if file.extension().is_some_and(|e| e == "sha256") {
        return text
            .lines()
            .filter(|l| l.ends_with(".figures.json"))
            .map(|l| format!("{l}\n"))
            .collect();
    }
    without_timing(text)
}

/// `text` with the value of every timing field replaced by [`MASK`]. The files are
/// pretty-printed, one field per line; a timing field left unmasked still differs, so a change
/// of layout makes this test fail rather than pass.
fn without_timing(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let body = line.trim_start();
        match TIMING_KEYS.iter().find(|k| body.starts_with(**k)) {
            Some(key) => {
                let indent = &line[..line.len() - body.len()];
                let comma = if body.ends_with(',') { "," } else { "" };
                out.push_str(&format!("{indent}{key}{MASK}{comma}"));
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[test]
fn the_leaderboard_is_byte_identical_at_1_and_2_threads() {
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("t1"), dir.path().join("t2"));
    leaderboard(&one, 1);
    leaderboard(&two, 2);
    let files = result_files(&one);
    assert_eq!(files, result_files(&two), "different sets of files");
    // Not vacuous: every pair ran and succeeded, with its result and plot data.
    for b in BENCHMARKS {
        let runs = std::fs::read_dir(one.join("runs"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_string_lossy().starts_with(b))
            .unwrap_or_else(|| panic!("no runs of {b}"));
        for p in PLUGINS {
            let result = std::fs::read_dir(&runs)
                .unwrap()
                .map(|e| e.unwrap().path())
                .find(|f| {
                    let name = f.file_name().unwrap().to_string_lossy().into_owned();
                    name.starts_with(&format!("{p}@"))
                        && !name.ends_with(".figures.json")
                        && name.ends_with(".json")
                })
                .unwrap_or_else(|| panic!("no result of {b} × {p}"));
            let r = read_json(&result);
            assert_eq!(r["status"], "succeeded", "{b} × {p}: {}", r["reasons"]);
            assert!(!r["scores"].as_array().unwrap().is_empty());
            assert!(result.with_extension("figures.json").exists());
        }
    }
    let mut differing = Vec::new();
    for f in &files {
        let a = comparable(f, &std::fs::read_to_string(one.join(f)).unwrap());
        let b = comparable(f, &std::fs::read_to_string(two.join(f)).unwrap());
        if a == b {
            continue;
        }
        let (line, (x, y)) = a
            .lines()
            .zip(b.lines())
            .enumerate()
            .find(|(_, (x, y))| x != y)
            .unwrap_or((a.lines().count().min(b.lines().count()), ("(end)", "(end)")));
        differing.push(format!(
            "{}, line {}: {} (1 thread) vs {} (2 threads)",
            f.display(),
            line + 1,
            x.trim(),
            y.trim()
        ));
    }
    assert!(
        differing.is_empty(),
        "{} of {} files differ between 1 and 2 threads:\n{}",
        differing.len(),
        files.len(),
        differing.join("\n")
    );
    // The masking did not hide a whole file: results do carry timing, and only it was masked.
    let sample = std::fs::read_to_string(one.join("leaderboard.json")).unwrap();
    assert!(without_timing(&sample).contains(MASK));
}

#[test]
fn timing_fields_are_masked_and_nothing_else() {
    let text = "{\n  \"timing\": {\n    \"wall_s\": 1.5,\n    \"peak_rss_mib\": 60.1,\n    \
                \"started_at\": \"2026-01-01T00:00:00Z\"\n  },\n  \"value\": 0.25\n}\n";
    let masked = without_timing(text);
    assert_eq!(masked.matches(MASK).count(), 3, "{masked}");
    assert!(masked.contains("\"value\": 0.25"), "{masked}");
    assert_eq!(
        without_timing(&text.replace("1.5", "2.5")),
        masked,
        "timing values do not count"
    );
    assert_ne!(without_timing(&text.replace("0.25", "0.26")), masked);
}

#[test]
fn plugin_check_fails_a_plugin_whose_output_follows_the_thread_count() {
    let dir = tempfile::tempdir().unwrap();
    // test-context-report in its `thread_sums` mode: each row minus its mean, summed in as many
    // parts as RAYON_NUM_THREADS says.
    let folder = dir.path().join("thread-sums");
    std::fs::create_dir(&folder).unwrap();
    std::fs::write(
        folder.join("plugin.toml"),
        r#"schema_version = 1
id = "test-thread-sums"
version = "0.1.0"
kind = "native"
role = "example"
description = "Test only: output depends on the thread count"
license = "MIT OR Apache-2.0"

[input]
level = "well"

[output]
level = "well"

[native]
library = "cpbench_plugin_test_context_report"

[native.config]
stderr = false
thread_sums = true
"#,
    )
    .unwrap();
    let assert = cpbench()
        .args(["plugin", "check"])
        .arg(&folder)
        .assert()
        .code(1)
        .stdout(contains("PASS  determinism"))
        .stdout(contains("FAIL  thread count"));
    let stdout = String::from_utf8_lossy(&assert.get_output().stdout).into_owned();
    let line = stdout
        .lines()
        .find(|l| l.contains("FAIL  thread count"))
        .unwrap();
    // The first differing row and column, and both values.
    for part in [
        "between 1 and 2 threads",
        "first at row ",
        ", column test-thread-sums_",
        " at 1 thread(s), ",
        " at 2",
    ] {
        assert!(line.contains(part), "{part:?} not in {line}");
    }

    // The shipped native plugins pass it: the pca plugin's faer calls use a fixed split.
    for id in ["pca", "random"] {
        cpbench()
            .args(["plugin", "check"])
            .arg(root().join("plugins").join(id))
            .assert()
            .success()
            .stdout(contains("PASS  thread count"))
            .stdout(contains("identical output at 1 and 2 threads"));
    }
}
