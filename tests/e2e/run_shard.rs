//! `cpbench run --shard i/n` and `cpbench merge` of the parts (issue 19): on each shipped
//! benchmark, with a plugin that applies to it, the merged run writes the bytes of an
//! unsharded run (the result with its timing left out, the plot data, the report without its
//! timing rows) for n = 1, 2, 3 and 7; the benchmark's heaviest task is split among the parts.
//! The JUMP benchmarks (remote data) are checked the same way in `remote.rs`.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::{bin, root, text};

/// The result without its timing, as sorted JSON text.
fn without_timing(path: &Path) -> String {
    let mut v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    v.as_object_mut().unwrap().remove("timing").expect("timing");
    v.to_string()
}

/// The report without the rows that show the run's own timing.
fn report_without_timing(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| {
            !["wall time", "peak memory", "started at"]
                .iter()
                .any(|k| l.starts_with(&format!("<tr><th>{k}</th>")))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Runs `args` (a `cpbench` command line after `make()`'s settings), expecting `code`; stdout.
fn run_ok(make: &dyn Fn() -> Command, args: &[OsString], code: i32) -> String {
    let out = make().args(args).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "cpbench {args:?}\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    text(&out.stdout)
}

fn os(parts: &[&dyn AsRef<std::ffi::OsStr>]) -> Vec<OsString> {
    parts.iter().map(|p| p.as_ref().to_os_string()).collect()
}

/// A run's result, plot data and report under `site`, from the result's path relative to it.
fn run_files(site: &Path, result: &Path) -> [PathBuf; 3] {
    let json = site.join(result);
    let stem = json.to_string_lossy().trim_end_matches(".json").to_string();
    [
        json,
        PathBuf::from(format!("{stem}.figures.json")),
        PathBuf::from(format!("{stem}.html")),
    ]
}

/// Runs `plugin` on `bench` unsharded and as n = 1, 2, 3, 7 parts merged (parts given in
/// reverse order, at 1 or 2 threads each) and compares the files; `heaviest` must be split
/// among the parts (every part holds a share of it, some part a non-empty one). `extra` goes
/// after every command's own arguments (a data cache, say).
pub fn sharded_run_matches(
    make: &dyn Fn() -> Command,
    extra: &[OsString],
    bench: &Path,
    plugin: &Path,
    heaviest: &str,
) {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bench_id = bench.file_name().unwrap().to_string_lossy().into_owned();
    let pair = |site: &Path| -> Vec<OsString> {
        let mut a = os(&[
            &"--benchmark",
            &bench,
            &"--plugin",
            &plugin,
            &"--out",
            &site,
        ]);
        a.extend(extra.iter().cloned());
        a
    };
    let whole = d.join("whole");
    let mut args = os(&[&"run"]);
    args.extend(pair(&whole));
    let stdout = run_ok(make, &args, 0);
    assert!(stdout.contains(": succeeded ("), "{stdout}");
    let result = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("result: "))
        .unwrap_or_else(|| panic!("no result path: {stdout}"));
    let result = Path::new(result)
        .strip_prefix(&whole)
        .unwrap()
        .to_path_buf();
    let want = run_files(&whole, &result);
    for n in [1usize, 2, 3, 7] {
        let site = d.join(format!("n{n}"));
        let mut files = Vec::new();
        let mut filled = 0;
        for i in 1..=n {
            let f = d.join(format!("part{i}of{n}.json"));
            let mut args = os(&[&"run"]);
            args.extend(pair(&site));
            args.extend(os(&[&"--shard", &format!("{i}/{n}"), &"--out-shard", &f]));
            let threads = (1 + i % 2).to_string();
            let out = make()
                .env("RAYON_NUM_THREADS", &threads)
                .args(&args)
                .output()
                .unwrap();
            assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
            let part: Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
            let share = part["tasks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|t| t["task"] == heaviest)
                .unwrap_or_else(|| panic!("part {i}/{n} holds no share of {heaviest}: {part}"));
            let held = if share["map"].is_object() {
                share["map"]["row"].as_array().unwrap().len()
            } else {
                share["kmeans"]["at_k"]["seed"].as_array().unwrap().len()
            };
            filled += usize::from(held > 0);
            files.push(f);
        }
        assert!(filled >= 1, "n = {n}: no part computed any of {heaviest}");
        // Parts land in no run folder: nothing under the site until the merge.
        assert!(!site.join("runs").exists(), "a part wrote run files");
        files.reverse();
        let mut args = os(&[&"merge"]);
        args.extend(files.iter().map(|f| f.as_os_str().to_os_string()));
        args.extend(pair(&site));
        run_ok(make, &args, 0);
        let got = run_files(&site, &result);
        assert_eq!(
            without_timing(&got[0]),
            without_timing(&want[0]),
            "{bench_id} n = {n}: result"
        );
        assert_eq!(
            std::fs::read(&got[1]).unwrap(),
            std::fs::read(&want[1]).unwrap(),
            "{bench_id} n = {n}: plot data"
        );
        assert_eq!(
            report_without_timing(&got[2]),
            report_without_timing(&want[2]),
            "{bench_id} n = {n}: report"
        );
    }
}

fn shipped_pair(bench: &str, plugin: &str, heaviest: &str) {
    sharded_run_matches(
        &bin,
        &[],
        &root().join("benchmarks").join(bench),
        &root().join("plugins").join(plugin),
        heaviest,
    );
}

#[test]
fn lincs_merged_parts_are_the_unsharded_run() {
    shipped_pair("lincs-sq00015054", "cellprofiler", "replicate-map");
}

#[test]
fn bbbc021_merged_parts_are_the_unsharded_run() {
    shipped_pair("bbbc021-moa", "cellprofiler", "moa-kmeans");
}

#[test]
fn grape_merged_parts_are_the_unsharded_run() {
    // 100 restarts at k and at each k of the 2–30 sweep, split by restart.
    shipped_pair("grape-corum14", "grape-embedding", "complex-kmeans");
}

#[test]
fn synthetic_heterogeneity_merged_parts_are_the_unsharded_run() {
    shipped_pair("synthetic-heterogeneity", "cellprofiler", "class-map");
}

#[test]
fn synthetic_images_merged_parts_are_the_unsharded_run() {
    // An ONNX encoder on image crops: each part encodes them again, to the same bits.
    shipped_pair("synthetic-images", "cnn1", "class-map");
}

/// Parts that do not make one run are refused before anything is written: a part missing or
/// given twice, a part of another plugin, parts merged as tables, a run's parts without the
/// benchmark.
#[test]
fn merge_refuses_parts_that_are_not_one_run() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bench = root().join("benchmarks/lincs-sq00015054");
    let part = |plugin: &str, i: usize, n: usize| -> PathBuf {
        let f = d.join(format!("{plugin}.{i}of{n}.json"));
        let out = bin()
            .arg("run")
            .arg("--benchmark")
            .arg(&bench)
            .arg("--plugin")
            .arg(root().join("plugins").join(plugin))
            .arg("--out")
            .arg(d.join("site"))
            .args(["--shard", &format!("{i}/{n}"), "--out-shard"])
            .arg(&f)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        f
    };
    let (a1, a2, a3) = (
        part("cellprofiler", 1, 3),
        part("cellprofiler", 2, 3),
        part("cellprofiler", 3, 3),
    );
    let b2 = part("pca", 2, 3);
    let merge = |files: &[&PathBuf], more: &[&str]| -> String {
        let out = bin()
            .arg("merge")
            .args(files)
            .arg("--benchmark")
            .arg(&bench)
            .arg("--plugin")
            .arg(root().join("plugins/cellprofiler"))
            .arg("--out")
            .arg(d.join("merged"))
            .args(more)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
        text(&out.stderr)
    };
    let e = merge(&[&a1, &a3], &[]);
    assert!(e.contains("missing part(s) 2/3"), "{e}");
    let e = merge(&[&a1, &a2, &a3, &a2], &[]);
    assert!(e.contains("part 2/3 is given twice"), "{e}");
    let e = merge(&[&a1, &b2, &a3], &[]);
    assert!(e.contains("of another computation"), "{e}");
    // All parts of pca, merged as cellprofiler's run.
    let (b1, b3) = (part("pca", 1, 3), part("pca", 3, 3));
    let e = merge(&[&b1, &b2, &b3], &[]);
    assert!(e.contains("computed from other inputs"), "{e}");
    let e = merge(&[&a1, &a2, &a3], &["--out-ap", "x.csv"]);
    assert!(e.contains("are for parts of `cpbench eval map`"), "{e}");
    let out = bin().arg("merge").args([&a1, &a2, &a3]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("name --benchmark and --plugin"));
    // An edited part no longer matches its key.
    let edited = d.join("edited.json");
    let t = std::fs::read_to_string(&a2)
        .unwrap()
        .replace("\"count\":3", "\"count\":4");
    std::fs::write(&edited, t).unwrap();
    let e = merge(&[&a1, &edited, &a3], &[]);
    assert!(e.contains("edited.json"), "{e}");
    assert!(!d.join("merged").exists(), "a refused merge wrote files");
}

/// A part whose file already holds these inputs is not recomputed; one of other inputs is.
#[test]
fn a_part_of_unchanged_inputs_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("p.json");
    let go = || {
        let out = bin()
            .arg("run")
            .arg("--benchmark")
            .arg(root().join("benchmarks/lincs-sq00015054"))
            .arg("--plugin")
            .arg(root().join("plugins/cellprofiler"))
            .arg("--out")
            .arg(dir.path())
            .args(["--shard", "1/2", "--out-shard"])
            .arg(&f)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert!(!go().contains("cached"));
    assert!(go().contains("part 1/2, cached"));
    // A file that holds another part is recomputed.
    let t = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, t.replace("\"index\":1", "\"index\":2")).unwrap();
    assert!(!go().contains("cached"));
}

/// A part whose plugin fails records why (exit 1). The merge runs the plugin itself: when it
/// fails there too, the result is the failure an unsharded run records; when a part says it
/// failed but the merge's run does not, the merge refuses (exit 2, no result written).
#[test]
fn failed_parts_merge_into_the_unsharded_failure_or_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bench = root().join("benchmarks/lincs-sq00015054");
    let cpb = |sub: &str, plugin: &Path, site: &str, more: &[OsString]| {
        bin()
            .arg(sub)
            .args(more)
            .arg("--benchmark")
            .arg(&bench)
            .arg("--plugin")
            .arg(plugin)
            .arg("--out")
            .arg(d.join(site))
            .output()
            .unwrap()
    };
    let parts_of = |plugin: &Path, tag: &str, code: i32| -> Vec<PathBuf> {
        (1..=2)
            .map(|i| {
                let f = d.join(format!("{tag}{i}.json"));
                let shard = os(&[&"--shard", &format!("{i}/2"), &"--out-shard", &f]);
                let out = cpb("run", plugin, "x", &shard);
                assert_eq!(out.status.code(), Some(code), "{}", text(&out.stderr));
                f
            })
            .collect()
    };
    let as_args = |parts: &[PathBuf]| -> Vec<OsString> {
        parts.iter().map(|p| p.as_os_str().to_os_string()).collect()
    };
    // Its workers panic.
    let panic = root().join("plugins/testing/panic");
    let whole = cpb("run", &panic, "whole", &[]);
    assert_eq!(whole.status.code(), Some(1), "{}", text(&whole.stderr));
    let parts = parts_of(&panic, "panic", 1);
    let part: Value = serde_json::from_slice(&std::fs::read(&parts[0]).unwrap()).unwrap();
    assert!(part["failed"].is_string(), "{part}");
    let merged = cpb("merge", &panic, "merged", &as_args(&parts));
    assert_eq!(merged.status.code(), Some(1), "{}", text(&merged.stderr));
    let result = |site: &str| -> Value {
        let f = d
            .join(site)
            .join("runs/lincs-sq00015054@v2/test-panic@0.1.0.json");
        serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap()
    };
    // The panicking thread's id (digits in parentheses) differs from process to process.
    let reasons = |v: &Value| -> String {
        let t = v["reasons"].to_string();
        let mut out = String::new();
        let mut digits_in_parens = false;
        for c in t.chars() {
            match c {
                '(' => digits_in_parens = true,
                d if d.is_ascii_digit() && digits_in_parens => continue,
                _ => digits_in_parens = false,
            }
            out.push(c);
        }
        out
    };
    let (w, m) = (result("whole"), result("merged"));
    assert_eq!(m["status"], "failed", "{m}");
    assert_eq!(reasons(&m), reasons(&w));

    // A part that says it failed, where the merge's own run does not.
    let good = root().join("plugins/cellprofiler");
    let parts = parts_of(&good, "good", 0);
    let mut v: Value = serde_json::from_slice(&std::fs::read(&parts[1]).unwrap()).unwrap();
    v["failed"] = Value::from("the node was lost");
    v["tasks"] = Value::Array(Vec::new());
    std::fs::write(&parts[1], v.to_string()).unwrap();
    let out = cpb("merge", &good, "refused", &as_args(&parts));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let e = text(&out.stderr);
    assert!(e.contains("part 2/2 failed: the node was lost"), "{e}");
    assert!(e.contains("rerun the parts"), "{e}");
    assert!(
        !d.join("refused/runs/lincs-sq00015054@v2/cellprofiler@1.0.0.json")
            .exists()
    );
}

/// A sharded task that fails in every part (a k-means task with more clusters than rows): the
/// parts record the failure, and the merge, which scores that task whole when parts failed,
/// records the failure an unsharded run records, instead of refusing.
#[test]
fn a_task_that_fails_in_the_parts_fails_the_merged_run_as_unsharded() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let shipped = root().join("benchmarks/lincs-sq00015054/benchmark.toml");
    let data = root().join("benchmarks/data/lincs_sq00015054");
    let text = std::fs::read_to_string(&shipped).unwrap().replace(
        "\"../data/lincs_sq00015054",
        &format!("\"{}", data.display()),
    );
    let bench = d.join("bench");
    std::fs::create_dir_all(&bench).unwrap();
    std::fs::write(
        bench.join("benchmark.toml"),
        format!(
            "{text}\n[[task]]\nid = \"too-many-clusters\"\nmetric = \"kmeans\"\n\
             labels = \"Metadata_moa\"\nk = 100000\nrestarts = 4\n"
        ),
    )
    .unwrap();
    let plugin = root().join("plugins/cellprofiler");
    let cpb = |sub: &str, site: &str, more: &[OsString]| {
        bin()
            .arg(sub)
            .args(more)
            .arg("--benchmark")
            .arg(&bench)
            .arg("--plugin")
            .arg(&plugin)
            .arg("--out")
            .arg(d.join(site))
            .output()
            .unwrap()
    };
    let whole = cpb("run", "whole", &[]);
    assert_eq!(whole.status.code(), Some(1), "{}", text_of(&whole));
    let mut parts = Vec::new();
    for i in 1..=2 {
        let f = d.join(format!("p{i}.json"));
        let out = cpb(
            "run",
            "x",
            &os(&[&"--shard", &format!("{i}/2"), &"--out-shard", &f]),
        );
        assert_eq!(out.status.code(), Some(1), "{}", text_of(&out));
        parts.push(f.into_os_string());
    }
    let merged = cpb("merge", "merged", &parts);
    assert_eq!(merged.status.code(), Some(1), "{}", text_of(&merged));
    let result = |site: &str| -> Value {
        let f = d
            .join(site)
            .join("runs/lincs-sq00015054@v2/cellprofiler@1.0.0.json");
        serde_json::from_slice(&std::fs::read(f).unwrap()).unwrap()
    };
    let (w, m) = (result("whole"), result("merged"));
    assert_eq!(m["status"], "failed");
    assert_eq!(m["reasons"], w["reasons"]);
    assert!(
        w["reasons"].to_string().contains("too-many-clusters"),
        "{}",
        w["reasons"]
    );
}

fn text_of(out: &std::process::Output) -> String {
    format!("{}\n{}", text(&out.stdout), text(&out.stderr))
}
