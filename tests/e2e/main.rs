//! End-to-end tests of the `cpbench` binary on the shipped data and on bad input.

mod bad_input;
mod bench;
mod cli;
mod clustering;
mod command;
mod data;
mod eval_map;
mod eval_ranking;
mod insp;
mod native;
mod native_outside;
mod neighbours;
mod pipes;
mod plugins;
mod precision;
mod prep;
mod reliability;
mod remote;
mod run_shard;
mod simulate;
mod sphere;
mod sweep;
mod threads;

use std::path::{Path, PathBuf};

/// The repository root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// A shipped data file by its path under `benchmarks/data/`.
pub fn shipped(rel: &str) -> PathBuf {
    root().join("benchmarks/data").join(rel)
}

/// The built binary, ready to take arguments.
pub fn cpbench() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(env!("CARGO_BIN_EXE_cpbench"));
    cmd.env("CPBENCH_DATA_DIR", no_data_cache());
    cmd
}

/// A data cache that holds nothing: the shipped leaderboard's benchmarks with remote data
/// (JUMP) are then left off it whatever a developer has fetched into their own cache.
pub fn no_data_cache() -> PathBuf {
    std::env::temp_dir().join(format!("cpbench-e2e-no-data-{}", std::process::id()))
}

/// Runs `cpbench info --json` and returns the parsed summary (the command must succeed).
pub fn info_json(args: &[&str]) -> serde_json::Value {
    let out = cpbench()
        .arg("info")
        .arg("--json")
        .args(args)
        .assert()
        .success();
    serde_json::from_slice(&out.get_output().stdout).unwrap()
}

/// A golden fixture of `tests/golden/make_sklearn_fixtures.py`, by file name.
pub fn sklearn_fixture(name: &str) -> PathBuf {
    root().join("tests/fixtures/sklearn").join(name)
}

/// Reads and parses a JSON file.
pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs `cpbench eval <args> --out DIR/name` (must succeed) and returns the JSON written.
pub fn eval_json(dir: &Path, name: &str, args: &[&str]) -> serde_json::Value {
    let out = dir.join(name);
    cpbench()
        .arg("eval")
        .args(args)
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
    read_json(&out)
}

/// The golden tolerance for f32 outputs: `|got − want| ≤ 1e-5 · max(1, |want|)`, NaN equal to NaN.
pub fn close_f32(got: f64, want: f64) -> bool {
    (got.is_nan() && want.is_nan()) || (got - want).abs() <= 1e-5 * want.abs().max(1.0)
}

/// The arguments of `cpbench leaderboard` over the shipped benchmarks with these plugin
/// folders, writing to `out` (add `--only-benchmark`/`--only-plugin` and the rest after them).
pub fn leaderboard_args(plugins: &[&Path], out: &Path) -> Vec<std::ffi::OsString> {
    let mut args: Vec<std::ffi::OsString> = vec![
        "leaderboard".into(),
        "--benchmarks".into(),
        root().join("benchmarks").into(),
    ];
    for p in plugins {
        args.push("--plugins".into());
        args.push(p.into());
    }
    args.push("--out".into());
    args.push(out.into());
    args
}

/// Runs the binary expecting exit code 2 and returns its stderr.
pub fn fails_with_2(args: &[&str]) -> String {
    let out = cpbench().args(args).assert().code(2);
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}

/// The built binary as a plain process (for tests that need its pid, signals or stdin): run from
/// the repository root, no backtraces, 2 threads, stdin closed.
pub fn bin() -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_cpbench"));
    cmd.current_dir(root())
        .env("CPBENCH_DATA_DIR", no_data_cache())
        .env("RUST_BACKTRACE", "0")
        .env("RAYON_NUM_THREADS", "2")
        .stdin(std::process::Stdio::null());
    cmd
}

/// Output bytes as text, for messages and `contains` checks.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
