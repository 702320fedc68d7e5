//! `command` plugins end to end (issue 17): the Python scaffold from `plugin new` to a passing
//! `plugin check`, what crosses to the program (features and allowed context, never labels), and
//! each way a program can fail (exit code, crash, hang, memory, reading labels, a bad output
//! table) failing only its own run, with transient failures not cached.
//!
//! The programs are `plugins/testing/command/behave.py` (one behaviour per job config) in the
//! Python environment cpbench builds from its pinned requirements, cached under the user's cache
//! folder (the first test to need it builds it, the others wait on its lock).

use std::path::{Path, PathBuf};
use std::process::Output;

use super::{bin, read_json, root, text};

fn behave() -> PathBuf {
    root().join("plugins/testing/command")
}

/// A plugin folder in `dir` running behave.py with `behaviour`, extra `[command]` lines and extra
/// config lines (absolute paths, so the folder can live anywhere).
fn plugin(dir: &Path, behaviour: &str, command: &str, config: &str) -> PathBuf {
    let folder = dir.join(format!("test-command-{behaviour}"));
    std::fs::create_dir_all(&folder).unwrap();
    let common = behave();
    let manifest = format!(
        r#"schema_version = 1
id = "test-command-{behaviour}"
version = "0.1.0"
kind = "command"
role = "example"
description = "Test only: behave.py with behaviour {behaviour}"
license = "MIT"

[input]
level = "well"

[output]
level = "well"

[command]
run = ["python", "{script}"]
requirements = "{requirements}"
files = [{{ path = "{script}" }}]
{command}

[command.config]
behaviour = "{behaviour}"
{config}
"#,
        script = common.join("behave.py").display(),
        requirements = common.join("requirements.txt").display(),
    );
    std::fs::write(folder.join("plugin.toml"), manifest).unwrap();
    folder
}

/// `cpbench run` of `plugin` on `benchmark` into `out`.
fn run(benchmark: &str, plugin: &Path, out: &Path) -> Output {
    bin()
        .args(["run", "--benchmark"])
        .arg(root().join("benchmarks").join(benchmark))
        .arg("--plugin")
        .arg(plugin)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

/// The result JSON of the run of `id` under `out` (one benchmark folder).
fn result(out: &Path, id: &str) -> serde_json::Value {
    let runs = out.join("runs");
    let bench = std::fs::read_dir(&runs)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    read_json(&bench.join(format!("{id}@0.1.0.json")))
}

#[test]
fn the_scaffold_passes_every_check_but_submission_until_its_placeholders_are_filled() {
    let dir = tempfile::tempdir().unwrap();
    let o = bin()
        .args([
            "plugin",
            "new",
            "my-method",
            "--kind",
            "command",
            "--lang",
            "python",
        ])
        .arg("--dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o.stderr));
    let folder = dir.path().join("my-method");
    for f in ["plugin.toml", "plugin.py", "requirements.txt", "README.md"] {
        assert!(folder.join(f).is_file(), "{f}");
    }
    assert!(
        text(&o.stdout).contains("plugin check"),
        "{}",
        text(&o.stdout)
    );
    let check = || {
        bin()
            .args(["plugin", "check"])
            .arg(&folder)
            .output()
            .unwrap()
    };
    let o = check();
    let report = text(&o.stdout);
    assert_eq!(o.status.code(), Some(1), "{report}{}", text(&o.stderr));
    for step in [
        "dry run",
        "determinism",
        "thread count",
        "label firewall",
        "artifacts",
    ] {
        assert!(
            report
                .lines()
                .any(|l| l.contains("PASS") && l.contains(step)),
            "{step}: {report}"
        );
    }
    let submission = report
        .lines()
        .find(|l| l.contains("submission"))
        .unwrap()
        .to_string();
    assert!(submission.contains("FAIL"), "{submission}");
    assert!(submission.contains("description"), "{submission}");
    assert!(submission.contains("license"), "{submission}");
    assert!(
        submission.contains("command.files[0].sha256"),
        "{submission}"
    );
    // Fill the placeholders the way the message says, pin the digest it printed: ready.
    let sha = cpbench_core::hash::sha256_file(&folder.join("plugin.py")).unwrap();
    assert!(
        submission.contains(&sha),
        "the digest to paste: {submission}"
    );
    let manifest = std::fs::read_to_string(folder.join("plugin.toml"))
        .unwrap()
        .replace(
            "description = \"TODO: one line saying what this representation is\"",
            "description = \"Features centered and scaled on the controls\"",
        )
        .replace(
            "license = \"TODO: SPDX license of the code and of anything it downloads, e.g. MIT\"",
            "license = \"MIT\"",
        )
        .replace(
            "files = [{ path = \"plugin.py\" }]",
            &format!("files = [{{ path = \"plugin.py\", sha256 = \"{sha}\" }}]"),
        );
    assert!(!manifest.contains("TODO"), "{manifest}");
    std::fs::write(folder.join("plugin.toml"), manifest).unwrap();
    let o = check();
    assert!(o.status.success(), "{}", text(&o.stdout));
    assert!(text(&o.stdout).contains("ready to submit"));
}

#[test]
fn only_features_and_allowed_context_reach_the_program() {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let p = plugin(
        dir.path(),
        "echo",
        "",
        &format!("report = \"{}\"", report.display()),
    );
    let out = dir.path().join("out");
    let o = run("bbbc021-moa", &p, &out);
    assert!(o.status.success(), "{}", text(&o.stderr));
    assert_eq!(result(&out, "test-command-echo")["status"], "succeeded");
    let seen = read_json(&report);

    let columns: Vec<String> = seen["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();
    let features: Vec<&str> = seen["job"]["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let context: Vec<&str> = seen["job"]["context"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    assert!(features.len() > 400, "{}", features.len());
    for c in &columns {
        assert!(
            features.contains(&c.as_str()) || context.contains(&c.as_str()),
            "column {c} is neither a feature nor allowed context"
        );
    }
    for c in &context {
        assert!(
            ["plate", "well", "batch", "control", "split"].contains(c),
            "{c}"
        );
    }
    assert!(context.contains(&"batch") && context.contains(&"control"));
    assert_eq!(seen["job"]["protocol"], "cpbench-command/1");
    assert_eq!(seen["job"]["rows"], 632);
    // The benchmark's labels (MoA) and perturbation names are nowhere in what was handed over.
    let handed = format!("{} {}", seen["strings"], seen["job"]);
    for label in [
        "Metadata_moa",
        "Metadata_Compound",
        "Actin disruptors",
        "Microtubule stabilizers",
        "taxol",
        "bbbc021",
    ] {
        assert!(
            !handed.to_lowercase().contains(&label.to_lowercase()),
            "{label} reached the plugin"
        );
    }
    // A minimal environment: none of cpbench's own variables but the job's two, the thread
    // variables at the run's thread count, and the temporary folder inside the work folder.
    let env = seen["env"].as_object().unwrap();
    let mut cpbench_vars: Vec<&str> = env
        .keys()
        .map(String::as_str)
        .filter(|k| k.starts_with("CPBENCH_"))
        .collect();
    cpbench_vars.sort_unstable();
    assert_eq!(cpbench_vars, ["CPBENCH_JOB", "CPBENCH_THREADS"]);
    assert!(
        !env.contains_key("RUST_BACKTRACE"),
        "the host's environment leaked"
    );
    assert_eq!(env["OPENBLAS_NUM_THREADS"], "2");
    assert_eq!(env["PYTHONHASHSEED"], "0");
    let tmp = env["TMPDIR"].as_str().unwrap();
    assert!(
        seen["job"]["input"].as_str().unwrap().starts_with(tmp),
        "{tmp}"
    );
    // The work folder is gone after the run.
    assert!(!Path::new(tmp).exists(), "{tmp} was left behind");
    // The controls are the fit rows: 330 DMSO wells of 632.
    assert_eq!(seen["job"]["fit_rows"].as_array().unwrap().len(), 330);
    // The program runs in its plugin's folder.
    assert_eq!(
        Path::new(seen["cwd"].as_str().unwrap())
            .canonicalize()
            .unwrap(),
        p.canonicalize().unwrap()
    );
}

/// Runs a failing behaviour twice and returns the first run's reasons; checks exit 1, a
/// `failed` result, and whether the second run was served from the cache.
fn fails(dir: &Path, behaviour: &str, command: &str, transient: bool) -> String {
    let p = plugin(dir, behaviour, command, "");
    let out = dir.join(format!("out-{behaviour}"));
    let first = run("lincs-sq00015054", &p, &out);
    assert_eq!(
        first.status.code(),
        Some(1),
        "{behaviour}: {}",
        text(&first.stderr)
    );
    let r = result(&out, &format!("test-command-{behaviour}"));
    assert_eq!(r["status"], "failed", "{behaviour}");
    let reasons = r["reasons"].to_string();
    let second = run("lincs-sq00015054", &p, &out);
    assert_eq!(second.status.code(), Some(1), "{behaviour}");
    let cached = text(&second.stdout).contains(", cached");
    assert_eq!(
        cached,
        !transient,
        "{behaviour}: transient failures are recomputed, the plugin's own are cached: {}",
        text(&second.stdout)
    );
    reasons
}

#[test]
fn a_failing_program_fails_only_its_own_run_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let exit = fails(d, "exit", "", false);
    assert!(exit.contains("exited with code 3"), "{exit}");
    assert!(exit.contains("failing on purpose"), "stderr tail: {exit}");
    let crash = fails(d, "segfault", "", false);
    assert!(crash.contains("SIGSEGV"), "{crash}");
    let labels = fails(d, "labels", "", false);
    assert!(
        labels.contains("Field \\\"Metadata_moa\\\" does not exist"),
        "{labels}"
    );
    let rows = fails(d, "bad-rows", "", false);
    assert!(rows.contains("383 rows for 384 input rows"), "{rows}");
    let silent = fails(d, "silent", "", false);
    assert!(silent.contains("wrote no output table"), "{silent}");
    let nan = fails(d, "nan", "", false);
    assert!(nan.contains("non-finite"), "{nan}");
}

#[test]
fn a_hanging_or_runaway_program_is_stopped_and_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hang = fails(d, "hang", "timeout_s = 2", true);
    assert!(hang.contains("timeout of 2 s"), "{hang}");
    assert!(hang.contains("behave.py: hanging"), "stderr tail: {hang}");
    let alloc = fails(d, "alloc", "memory_limit_mib = 1024", true);
    assert!(alloc.contains("limit of 1024 MiB"), "{alloc}");
    assert!(alloc.contains("Unable to allocate"), "{alloc}");
}

#[test]
fn unpinned_requirements_are_bad_input_naming_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let folder = plugin(dir.path(), "echo", "", "");
    let requirements = dir.path().join("requirements.txt");
    std::fs::write(&requirements, "numpy==2.4.6\npyarrow>=20\n").unwrap();
    let manifest = std::fs::read_to_string(folder.join("plugin.toml")).unwrap();
    let manifest = manifest.replace(
        &behave().join("requirements.txt").display().to_string(),
        &requirements.display().to_string(),
    );
    std::fs::write(folder.join("plugin.toml"), manifest).unwrap();
    let o = run("lincs-sq00015054", &folder, &dir.path().join("out"));
    let stderr = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("line 2"), "{stderr}");
    assert!(stderr.contains("pyarrow>=20"), "{stderr}");
    assert!(stderr.contains("is not pinned"), "{stderr}");
}

#[test]
fn setup_builds_the_environment_and_says_which() {
    let o = bin()
        .args(["plugin", "setup"])
        .arg(root().join("plugins/testing/command-echo"))
        .arg(root().join("plugins/random"))
        .output()
        .unwrap();
    let stdout = text(&o.stdout);
    assert!(o.status.success(), "{stdout}{}", text(&o.stderr));
    assert!(
        stdout.contains("test-command-echo: Python 3.") && stdout.contains("2 pinned packages"),
        "{stdout}"
    );
    assert!(
        stdout.contains("random: nothing to set up (native plugin)"),
        "{stdout}"
    );
}
