//! End-to-end tests of the `cpbench` binary on the shipped data and on bad input.

mod bad_input;
mod cli;
mod clustering;
mod data;
mod eval_map;
mod eval_ranking;
mod insp;
mod neighbours;
mod prep;
mod sphere;

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
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_cpbench"))
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

/// Runs the binary expecting exit code 2 and returns its stderr.
pub fn fails_with_2(args: &[&str]) -> String {
    let out = cpbench().args(args).assert().code(2);
    String::from_utf8_lossy(&out.get_output().stderr).into_owned()
}
