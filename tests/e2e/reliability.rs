//! What a benchmark harness must survive (issue 16): a cache that cannot lie, failures from
//! outside the plugin not cached, nothing left behind by `kill -9`, children that die with a
//! killed leaderboard, and one leaderboard per output folder.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant, SystemTime};

use super::{bin, leaderboard_args, read_json, root, text};

/// `cpbench run` of `plugin` on the LINCS plate (384 wells, about a second) into `out`.
fn run(plugin: &Path, out: &Path) -> Output {
    bin()
        .args(["run", "--benchmark"])
        .arg(root().join("benchmarks/lincs-sq00015054"))
        .arg("--plugin")
        .arg(plugin)
        .arg("--out")
        .arg(out)
        .output()
        .unwrap()
}

fn random() -> PathBuf {
    root().join("plugins/random")
}

/// The run folder of the LINCS benchmark under `out`.
fn runs_dir(out: &Path) -> PathBuf {
    let runs = out.join("runs");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(dirs.len(), 1, "one benchmark folder in {}", runs.display());
    dirs.pop().unwrap()
}

/// The one file of `dir` whose name ends with `suffix`.
fn file_ending(dir: &Path, suffix: &str) -> PathBuf {
    let found: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one *{suffix} in {}: {found:?}",
        dir.display()
    );
    found[0].clone()
}

fn was_cached(o: &Output) -> bool {
    text(&o.stdout).contains(", cached")
}

/// Makes `path` look as old as a file a dead writer left behind.
fn age(path: &Path) {
    std::fs::File::options()
        .write(true)
        .open(path)
        .unwrap()
        .set_modified(SystemTime::now() - Duration::from_secs(3600))
        .unwrap();
}

#[test]
fn a_tampered_cache_entry_is_recomputed_not_served() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    let first = run(&random(), out);
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    assert!(!was_cached(&first));
    let runs = runs_dir(out);
    let result = file_ending(&runs, "@0.1.0.json");
    let report = file_ending(&runs, ".html");
    let digests = file_ending(&runs, ".sha256");
    let scores = read_json(&result)["scores"].clone();
    assert!(scores.as_array().is_some_and(|s| !s.is_empty()));
    // The digests are in sha256sum's format: an auditor can check them without cpbench.
    let check = Command::new("sha256sum")
        .arg("-c")
        .arg(digests.file_name().unwrap())
        .current_dir(&runs)
        .output()
        .unwrap();
    assert!(check.status.success(), "{}", text(&check.stdout));

    // Untouched: served from the cache.
    assert!(was_cached(&run(&random(), out)));

    // A hand-edited score (still valid JSON) is not served: the run is recomputed and the
    // score is back to what the plugin earns.
    let mut edited = read_json(&result);
    edited["scores"][0]["value"] = serde_json::json!(0.999);
    std::fs::write(&result, serde_json::to_vec_pretty(&edited).unwrap()).unwrap();
    let again = run(&random(), out);
    assert!(!was_cached(&again), "an edited result must not be served");
    assert_eq!(read_json(&result)["scores"], scores);

    // A truncated report is not served either.
    std::fs::write(&report, b"").unwrap();
    assert!(!was_cached(&run(&random(), out)));
    assert!(std::fs::metadata(&report).unwrap().len() > 1000);

    // Nor a set without its digests (e.g. written by an older cpbench, or a kill).
    std::fs::remove_file(&digests).unwrap();
    assert!(!was_cached(&run(&random(), out)));
    assert!(digests.is_file());
    assert!(was_cached(&run(&random(), out)));
}

/// A copy of the test plugin that sleeps in `fit`, with a one-second timeout.
fn hanging_plugin(dir: &Path) -> PathBuf {
    let folder = dir.join("test-hang");
    std::fs::create_dir_all(&folder).unwrap();
    let manifest = std::fs::read_to_string(root().join("plugins/testing/hang/plugin.toml"))
        .unwrap()
        .replace("timeout_s = 5", "timeout_s = 1");
    assert!(manifest.contains("timeout_s = 1"));
    std::fs::write(folder.join("plugin.toml"), manifest).unwrap();
    folder
}

#[test]
fn a_failure_from_outside_the_plugin_is_recorded_but_not_cached() {
    let dir = tempfile::tempdir().unwrap();
    let plugin = hanging_plugin(dir.path());
    let out = dir.path().join("out");
    for attempt in 0..2 {
        let o = run(&plugin, &out);
        assert_eq!(o.status.code(), Some(1), "{}", text(&o.stderr));
        assert!(
            !was_cached(&o),
            "attempt {attempt} must run the plugin again"
        );
        let runs = runs_dir(&out);
        let result = read_json(&file_ending(&runs, "@0.1.0.json"));
        assert_eq!(result["status"], "failed");
        let reasons = result["reasons"].to_string();
        assert!(reasons.contains("did not finish within 1 s"), "{reasons}");
        assert!(reasons.contains("not cached"), "{reasons}");
        let has_digests = std::fs::read_dir(&runs)
            .unwrap()
            .any(|e| e.unwrap().path().extension().is_some_and(|x| x == "sha256"));
        assert!(!has_digests, "a transient failure has no cache digests");
    }
}

#[test]
fn what_a_killed_writer_left_is_removed_by_the_next_write_to_the_same_folder() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path();
    assert!(run(&random(), out).status.success());
    let runs = runs_dir(out);
    // What `kill -9` during a write leaves: a temporary file no process holds any more.
    let stale = runs.join(".cpbench-Ab12Cd.part");
    std::fs::write(&stale, b"half of an old result").unwrap();
    age(&stale);
    let o = run(&random(), out);
    assert!(o.status.success());
    assert!(!stale.exists(), "the stale temporary file must be gone");
    let leftovers: Vec<String> = std::fs::read_dir(&runs)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".cpbench-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

/// The process ids whose parent is `parent` (from /proc).
fn children_of(parent: u32) -> Vec<u32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // Fields after the parenthesised command: state, then the parent's pid.
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let mut fields = rest.split(' ');
        let (_state, ppid) = (fields.next(), fields.next());
        if ppid.and_then(|p| p.parse::<u32>().ok()) == Some(parent) {
            out.push(pid);
        }
    }
    out
}

/// Whether `pid` is still a running (not a finished, unreaped) process.
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(") ").map(|(_, rest)| rest.starts_with('Z')))
        .is_some_and(|zombie| !zombie)
}

fn leaderboard(plugins: &Path, out: &Path) -> Command {
    let mut cmd = bin();
    cmd.args(leaderboard_args(&[plugins], out))
        .args(["--only-benchmark", "lincs-sq00015054"]);
    cmd
}

#[test]
fn the_runs_of_a_killed_leaderboard_die_with_it() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    let plugin = hanging_plugin(&plugins);
    // Long enough that the run is still going when the leaderboard is killed.
    let manifest = std::fs::read_to_string(plugin.join("plugin.toml"))
        .unwrap()
        .replace("timeout_s = 1", "timeout_s = 60");
    std::fs::write(plugin.join("plugin.toml"), manifest).unwrap();
    let out = dir.path().join("out");
    let mut board = leaderboard(&plugins, &out)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    let run = loop {
        if let Some(&pid) = children_of(board.id()).first() {
            break pid;
        }
        assert!(Instant::now() < deadline, "the leaderboard started no run");
        std::thread::sleep(Duration::from_millis(50));
    };
    // Let the run start its plugin worker, then kill the leaderboard as `kill -9` would.
    let deadline = Instant::now() + Duration::from_secs(30);
    while children_of(run).is_empty() {
        assert!(Instant::now() < deadline, "the run started no worker");
        std::thread::sleep(Duration::from_millis(50));
    }
    let workers = children_of(run);
    board.kill().unwrap();
    board.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while alive(run) || workers.iter().any(|&w| alive(w)) {
        assert!(
            Instant::now() < deadline,
            "the run {run} (or its worker {workers:?}) outlived the killed leaderboard"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_second_leaderboard_on_the_same_folder_is_refused_while_the_first_runs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    // The first leaderboard holds the folder's lock (as a running `cpbench leaderboard` does).
    let lock = std::fs::File::create(out.join(".cpbench-leaderboard.lock")).unwrap();
    lock.lock().unwrap();
    let o = leaderboard(&root().join("plugins/random"), &out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let err = text(&o.stderr);
    assert!(
        err.contains("another `cpbench leaderboard` is writing to this folder"),
        "{err}"
    );
    assert!(!out.join("index.html").exists());
    assert!(!out.join("runs").exists(), "nothing may be run or written");
    // Once the first is done, the folder is free again.
    drop(lock);
    let o = leaderboard(&root().join("plugins/random"), &out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert!(out.join("index.html").is_file());
}

/// A copy of a shipped plugin whose pinned model no longer matches its sha256.
fn tampered_plugin(dir: &Path) -> PathBuf {
    let folder = dir.join("contrastive-mlp");
    std::fs::create_dir_all(&folder).unwrap();
    for entry in std::fs::read_dir(root().join("plugins/contrastive-mlp")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), folder.join(entry.file_name())).unwrap();
        }
    }
    let mut model = std::fs::read(folder.join("model.onnx")).unwrap();
    model.push(0);
    std::fs::write(folder.join("model.onnx"), model).unwrap();
    folder
}

#[test]
fn a_run_that_cannot_start_for_bad_input_exits_2_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    // A plugin artifact that does not match its pin: the same exit as `plugin apply`.
    let o = run(&tampered_plugin(dir.path()), &dir.path().join("out"));
    assert_eq!(o.status.code(), Some(2), "{}", text(&o.stdout));
    let err = text(&o.stderr);
    assert!(
        err.contains("model.onnx") && err.contains("sha256"),
        "{err}"
    );
    assert!(
        !dir.path().join("out/runs").exists(),
        "no result for a run that never started"
    );

    // A benchmark whose data lacks a column its manifest names: the same exit as `validate`.
    let bench = dir.path().join("bench");
    std::fs::create_dir_all(&bench).unwrap();
    let manifest =
        std::fs::read_to_string(root().join("benchmarks/lincs-sq00015054/benchmark.toml")).unwrap();
    let data =
        root().join("benchmarks/data/lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz");
    let manifest = manifest
        .replace(
            "../data/lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz",
            data.to_str().unwrap(),
        )
        .replace("\"Metadata_moa\"", "\"Metadata_nope\"");
    assert!(manifest.contains("Metadata_nope"));
    std::fs::write(bench.join("benchmark.toml"), manifest).unwrap();
    let o = bin()
        .args(["run", "--benchmark"])
        .arg(&bench)
        .arg("--plugin")
        .arg(random())
        .arg("--out")
        .arg(dir.path().join("out2"))
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("Metadata_nope"), "{err}");
}

#[test]
fn the_flags_the_messages_suggest_exist_and_negative_values_reach_their_check() {
    let dir = tempfile::tempdir().unwrap();
    // A table with one infinite feature value.
    let table = dir.path().join("inf.csv");
    std::fs::write(
        &table,
        "Metadata_g,f1,f2\na,1,2\na,1.5,2.5\nb,inf,3\nb,4,5\nc,0,1\nc,0.5,1.5\n",
    )
    .unwrap();
    let eval = |extra: &[&str]| {
        bin()
            .args(["eval", "kmeans", "--profiles"])
            .arg(&table)
            .args(["--labels", "Metadata_g", "--restarts", "2", "--out"])
            .arg(dir.path().join("k.json"))
            .args(extra)
            .output()
            .unwrap()
    };
    let refused = eval(&[]);
    let err = text(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--on-nonfinite drop-rows|drop-columns"),
        "{err}"
    );
    // The flag the message names is accepted by the eval commands.
    let dropped = eval(&["--on-nonfinite", "drop-rows"]);
    assert_eq!(dropped.status.code(), Some(0), "{}", text(&dropped.stderr));
    assert_eq!(read_json(&dir.path().join("k.json"))["n_profiles"], 5);
    // A negative value is a value, refused by its check with the reason.
    let negative = eval(&["--on-nonfinite", "drop-rows", "--tol", "-1"]);
    let err = text(&negative.stderr);
    assert_eq!(negative.status.code(), Some(2), "{err}");
    assert!(err.contains("--tol -1: must be finite and ≥ 0"), "{err}");
}

#[test]
fn one_label_is_not_a_perfect_clustering() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("one.csv");
    std::fs::write(&table, "Metadata_g,f1,f2\na,1,2\n").unwrap();
    let o = bin()
        .args(["eval", "kmeans", "--profiles"])
        .arg(&table)
        .args(["--labels", "Metadata_g", "--out"])
        .arg(dir.path().join("k.json"))
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("needs at least 2 clusters"), "{err}");
    assert!(!dir.path().join("k.json").exists());
}

#[test]
fn prep_treats_an_infinite_value_as_missing() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("inf.csv");
    std::fs::write(&table, "Metadata_g,f1,f2\na,1,2\nb,inf,4\nc,3,6\n").unwrap();
    let out = dir.path().join("out.csv");
    let o = bin()
        .args(["prep", "normalize", "--profiles"])
        .arg(&table)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(!written.contains("inf"), "{written}");
    // f1 is fitted on 1 and 3 (the infinite value skipped like a missing one): mean 2.
    let rows: Vec<&str> = written.lines().collect();
    assert!(
        rows[1].starts_with("a,-") && rows[3].starts_with("c,"),
        "{written}"
    );
    assert_eq!(rows[2].split(',').nth(1), Some("NaN"), "{written}");
}

#[test]
fn a_plugin_is_not_blamed_for_a_missing_input_value() {
    let dir = tempfile::tempdir().unwrap();
    let table = dir.path().join("nan.csv");
    std::fs::write(&table, "Metadata_Plate,f1,f2\nP1,1,2\nP1,inf,3\nP1,2,1\n").unwrap();
    let out = dir.path().join("out.csv");
    let o = bin()
        .args(["plugin", "apply"])
        .arg(random())
        .arg("--profiles")
        .arg(&table)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = text(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("data row 2, feature 'f1' is missing, NaN or infinite"),
        "{err}"
    );
    assert!(!out.exists());
}
