//! Native plugins built outside the cpbench workspace, as a method developer builds one:
//! `cpbench plugin new --kind native --dir` in a temporary folder, built there by the printed
//! `cargo build --release` (the crate is a workspace of its own; `CARGO_NET_OFFLINE` because the
//! workspace build already filled the registry cache with abi_stable), then checked, run and put
//! on a leaderboard: found through the relative library path of its manifest, and, named by its
//! crate instead, through `--plugin-lib-dir` and `CPBENCH_PLUGIN_LIB_DIR`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Instant;

use cpbench_host::native::{INTERFACE_VERSION, library_file_name};
use serde_json::Value;

use crate::{cpbench, read_json, root, text};

const ID: &str = "outside-center";
const BY_NAME: &str = "outside-center-by-name";
const CRATE_LIB: &str = "cpbench_plugin_outside_center";

fn lincs() -> PathBuf {
    root().join("benchmarks/lincs-sq00015054")
}

/// Runs one printed command line with `sh` in `dir`, as a user pasting it would.
fn sh(dir: &Path, line: &str) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(line)
        .current_dir(dir)
        // Build into the crate's own target/, where its plugin.toml names the library.
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("CARGO_BUILD_TARGET_DIR")
        .env("CARGO_NET_OFFLINE", "true")
        .output()
        .unwrap()
}

/// The run result of `plugin` in a leaderboard or run output folder.
fn result_of(out: &Path, plugin: &str) -> Value {
    let runs = out.join("runs");
    for bench in std::fs::read_dir(&runs).unwrap() {
        for file in std::fs::read_dir(bench.unwrap().path()).unwrap() {
            let path = file.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let is_result = name.ends_with(".json") && !name.ends_with(".figures.json");
            if name.starts_with(&format!("{plugin}@")) && is_result {
                return read_json(&path);
            }
        }
    }
    panic!("no result of {plugin} under {}", runs.display());
}

fn reasons(result: &Value) -> String {
    result["reasons"].to_string()
}

#[test]
fn a_plugin_built_outside_the_workspace_is_checked_run_and_ranked() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path();
    let new = cpbench()
        .current_dir(work)
        .args(["plugin", "new", ID, "--kind", "native", "--dir", "src"])
        .assert()
        .success();
    let stdout = text(&new.get_output().stdout);
    let folder = work.join("src").join(ID);
    let manifest = std::fs::read_to_string(folder.join("plugin.toml")).unwrap();
    let built = format!("target/release/{}", library_file_name(CRATE_LIB));
    assert!(
        manifest.contains(&format!("library = \"{built}\"")),
        "{manifest}"
    );
    let cargo_toml = std::fs::read_to_string(folder.join("Cargo.toml")).unwrap();
    assert!(cargo_toml.contains("\n[workspace]\n"), "{cargo_toml}");
    let api = root().join("plugins/api");
    assert!(
        cargo_toml.contains(&format!("path = \"{}\"", api.display())),
        "an outside scaffold depends on this checkout's API by absolute path: {cargo_toml}"
    );

    // The printed next steps, run verbatim from where `plugin new` ran.
    let steps: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.starts_with("next:"))
        .skip(1)
        .map_while(|l| l.strip_prefix("  "))
        .collect();
    assert_eq!(steps.len(), 2, "{stdout}");
    assert!(steps[0].starts_with("cargo build --release"), "{stdout}");
    let started = Instant::now();
    let build = sh(work, steps[0]);
    let build_s = started.elapsed().as_secs_f64();
    eprintln!("outside build (cargo build --release of the scaffold): {build_s:.1} s");
    assert!(build.status.success(), "{}", text(&build.stderr));
    let library = folder.join(&built);
    assert!(library.is_file(), "{} was not built", library.display());

    // The scaffold runs, but is not ready to submit while its description says TODO.
    let check = sh(work, steps[1]);
    let out = text(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{out}{}", text(&check.stderr));
    for step in [
        "artifacts",
        "dry run",
        "determinism",
        "thread count",
        "label firewall",
    ] {
        assert!(out.contains(&format!("PASS  {step}")), "{step}: {out}");
    }
    assert!(out.contains("native.library"), "{out}");
    assert!(out.contains("FAIL  submission"), "{out}");

    // Filled in and pinned, it passes; the pin is checked like any artifact's.
    let sha = cpbench_core::hash::sha256_file(&library).unwrap();
    let filled = manifest
        .replace(
            "TODO: one line on what this representation is",
            "Profiles centered on the controls, built outside the workspace",
        )
        .replace("TODO: SPDX license", "MIT")
        .replace("# sha256 = \"...\"", &format!("sha256 = \"{sha}\""));
    assert!(
        filled.contains(&sha),
        "the scaffold has a sha256 line to fill"
    );
    std::fs::write(folder.join("plugin.toml"), &filled).unwrap();
    cpbench()
        .args(["plugin", "check"])
        .arg(&folder)
        .assert()
        .success()
        .stdout(predicates::str::contains("all checks passed"));

    let site = work.join("site");
    let run = |plugin: &Path, out: &Path| {
        cpbench()
            .arg("run")
            .arg("--benchmark")
            .arg(lincs())
            .arg("--plugin")
            .arg(plugin)
            .arg("--out")
            .arg(out)
            .assert()
    };
    run(&folder, &site).success();
    let result = result_of(&site, ID);
    assert_eq!(result["status"], "succeeded", "{}", reasons(&result));
    assert!(result["plugin"]["artifact_sha256"].is_string(), "{result}");

    let wrong = work.join("wrong-pin");
    std::fs::create_dir(&wrong).unwrap();
    let absolute = filled
        .replace(&built, &library.display().to_string())
        .replace(&sha, &"0".repeat(64));
    std::fs::write(wrong.join("plugin.toml"), absolute).unwrap();
    // A pinned digest that differs stops the run before any output, naming both digests.
    let refused = run(&wrong, &work.join("wrong-site")).code(2);
    let err = text(&refused.get_output().stderr);
    assert!(
        err.contains("native.library") && err.contains(&sha) && err.contains(&"0".repeat(64)),
        "{err}"
    );
    assert!(
        !work.join("wrong-site/runs").exists(),
        "no output for a refused run"
    );

    // Named by its crate, the library is found only in the library folders.
    let lib_dir = folder.join("target/release");
    let by_name = work.join(BY_NAME);
    std::fs::create_dir(&by_name).unwrap();
    let named = filled
        .replace(&format!("id = \"{ID}\""), &format!("id = \"{BY_NAME}\""))
        .replace(
            &format!("library = \"{built}\""),
            &format!("library = \"{CRATE_LIB}\""),
        );
    std::fs::write(by_name.join("plugin.toml"), named).unwrap();
    let missing = cpbench()
        .args(["plugin", "check"])
        .arg(&by_name)
        .env_remove("CPBENCH_PLUGIN_LIB_DIR")
        .assert()
        .code(1);
    let out = text(&missing.get_output().stdout);
    assert!(out.contains("FAIL  artifacts"), "{out}");
    assert!(out.contains("--plugin-lib-dir"), "{out}");
    cpbench()
        .args(["plugin", "check"])
        .arg(&by_name)
        .env(
            "CPBENCH_PLUGIN_LIB_DIR",
            format!(
                "{}:{}",
                work.join("nothing-here").display(),
                lib_dir.display()
            ),
        )
        .assert()
        .success();
    let stderr = cpbench()
        .args(["plugin", "check"])
        .arg(&by_name)
        .arg("--plugin-lib-dir")
        .arg(work.join("nothing-here"))
        .assert()
        .code(2);
    let err = text(&stderr.get_output().stderr);
    assert!(err.contains("no such folder"), "{err}");

    // The leaderboard hands --plugin-lib-dir to the `cpbench run` of each pair.
    let board = work.join("board");
    cpbench()
        .arg("leaderboard")
        .arg("--benchmarks")
        .arg(root().join("benchmarks"))
        .args(["--only-benchmark", "lincs-sq00015054"])
        .arg("--plugins")
        .arg(&folder)
        .arg("--plugins")
        .arg(&by_name)
        .arg("--plugins")
        .arg(root().join("plugins/random"))
        .arg("--plugin-lib-dir")
        .arg(&lib_dir)
        .arg("--out")
        .arg(&board)
        .env_remove("CPBENCH_PLUGIN_LIB_DIR")
        .assert()
        .success();
    for plugin in [ID, BY_NAME] {
        let result = result_of(&board, plugin);
        assert_eq!(
            result["status"],
            "succeeded",
            "{plugin}: {}",
            reasons(&result)
        );
    }
    let leaderboard = read_json(&board.join("leaderboard.json"));
    let text = leaderboard.to_string();
    assert!(text.contains(BY_NAME) && text.contains(ID), "{text}");
}

#[test]
fn a_plugin_built_for_another_interface_version_fails_its_run_naming_both() {
    let tmp = tempfile::tempdir().unwrap();
    cpbench()
        .arg("run")
        .arg("--benchmark")
        .arg(lincs())
        .arg("--plugin")
        .arg(root().join("plugins/testing/future-abi"))
        .arg("--out")
        .arg(tmp.path())
        .assert()
        .code(1);
    let result = result_of(tmp.path(), "test-future-abi");
    assert_eq!(result["status"], "failed");
    let why = reasons(&result);
    let expected = format!(
        "interface mismatch: plugin 'test-future-abi' was built for cpbench plugin interface \
         version {}, but this cpbench speaks version {INTERFACE_VERSION}",
        INTERFACE_VERSION + 1
    );
    assert!(why.contains(&expected), "{why}");
}
