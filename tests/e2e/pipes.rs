//! A closed or full stdout/stderr never panics (`harness/cli/src/output.rs`): a reader that went
//! away ends the output quietly and the command keeps its exit status and finishes its files; a
//! full device (`/dev/full`, ENOSPC) is an error naming the stream, exit 2, files still written.
//!
//! The pipes here have their read end closed before the binary starts, so every write to them
//! fails with EPIPE, whatever the timing.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::{leaderboard_args, read_json, root, shipped};

/// The LINCS plate: 384 wells, the cheapest shipped table with every kind of metadata.
fn lincs() -> PathBuf {
    shipped("lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz")
}

fn bin(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_cpbench"));
    cmd.args(args)
        .current_dir(root())
        .env("RUST_BACKTRACE", "0")
        .stdin(Stdio::null());
    cmd
}

/// The write end of a pipe nobody reads from any more.
fn closed_pipe() -> Stdio {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    writer.into()
}

/// `/dev/full`: every write fails with ENOSPC.
fn full() -> Stdio {
    File::options()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full")
        .into()
}

/// Runs `cmd` to the end (its stdin, stdout and stderr already set) and returns the output.
fn finish(mut cmd: Command) -> Output {
    cmd.spawn().unwrap().wait_with_output().unwrap()
}

/// stdout to a closed pipe, stderr captured.
fn stdout_closed(args: &[&str]) -> Output {
    let mut cmd = bin(args);
    cmd.stdout(closed_pipe()).stderr(Stdio::piped());
    finish(cmd)
}

/// stdout to `/dev/full`, stderr captured.
fn stdout_full(args: &[&str]) -> Output {
    let mut cmd = bin(args);
    cmd.stdout(full()).stderr(Stdio::piped());
    finish(cmd)
}

/// stdout and stderr captured.
fn normal(args: &[&str]) -> Output {
    let mut cmd = bin(args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    finish(cmd)
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// No panic: not the panic exit status, no panic message.
fn assert_no_panic(o: &Output) {
    let err = stderr(o);
    assert_ne!(o.status.code(), Some(101), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// Ended quietly with `code`: no panic, nothing on stderr.
fn assert_quiet(o: &Output, code: i32) {
    assert_no_panic(o);
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    assert_eq!(stderr(o), "", "a closed pipe is not worth a message");
}

/// Exit 2 and `error: writing to stdout: ...` (ENOSPC) on stderr, no panic.
fn assert_stdout_full_error(o: &Output) {
    assert_no_panic(o);
    let err = stderr(o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: writing to stdout: No space left on device"),
        "{err}"
    );
}

fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn info_to_a_closed_pipe_ends_quietly_with_its_own_status() {
    let l = lincs();
    let l = l.to_str().unwrap();
    assert_quiet(&stdout_closed(&["info", l]), 0);
    assert_quiet(&stdout_closed(&["info", "--json", l]), 0);
    // An error still says so, and keeps its status.
    let o = stdout_closed(&["info", "no-such-table.csv"]);
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no-such-table.csv"), "{}", stderr(&o));
}

#[test]
fn info_to_a_full_device_is_an_error_naming_stdout() {
    let l = lincs();
    let l = l.to_str().unwrap();
    assert_stdout_full_error(&stdout_full(&["info", l]));
    assert_stdout_full_error(&stdout_full(&["info", "--json", l]));
}

#[test]
fn doctor_help_and_version_survive_a_closed_or_full_stdout() {
    // doctor exits 1 where no ONNX Runtime loads: the closed pipe must not change that.
    let code = normal(&["doctor"]).status.code().unwrap();
    assert!(code == 0 || code == 1, "doctor exited {code}");
    assert_quiet(&stdout_closed(&["doctor"]), code);
    assert_stdout_full_error(&stdout_full(&["doctor"]));
    assert_quiet(&stdout_closed(&["--help"]), 0);
    assert_quiet(&stdout_closed(&["--version"]), 0);
    assert_stdout_full_error(&stdout_full(&["--help"]));
    assert_stdout_full_error(&stdout_full(&["--version"]));
}

#[test]
fn usage_errors_with_a_closed_or_full_stderr_exit_2_without_panic() {
    let mut cmd = bin(&["no-such-command"]);
    cmd.stdout(Stdio::piped()).stderr(closed_pipe());
    let o = finish(cmd);
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(2));
    let mut cmd = bin(&["no-such-command"]);
    cmd.stdout(Stdio::piped()).stderr(full());
    let o = finish(cmd);
    assert_no_panic(&o);
    assert_eq!(o.status.code(), Some(2));
}

/// `cpbench eval map` on the LINCS plate, writing `ap.csv` and `map.csv` into `dir`.
fn eval_map_args(dir: &Path) -> Vec<String> {
    let mut args: Vec<String> = [
        "eval",
        "map",
        "--pos-sameby",
        "Metadata_broad_sample",
        "--neg-diffby",
        "Metadata_broad_sample",
        "--null-size",
        "1000",
        "--profiles",
    ]
    .map(String::from)
    .into();
    args.push(lincs().to_str().unwrap().to_owned());
    for (flag, name) in [("--out-ap", "ap.csv"), ("--out-map", "map.csv")] {
        args.push(flag.to_owned());
        args.push(dir.join(name).to_str().unwrap().to_owned());
    }
    args
}

#[test]
fn eval_map_writes_the_same_tables_whatever_becomes_of_stdout() {
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let run = |k: usize, how: fn(&[&str]) -> Output| {
        let args = eval_map_args(dirs[k].path());
        how(&args.iter().map(String::as_str).collect::<Vec<_>>())
    };
    let o = run(0, normal);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("mAP"));
    assert_quiet(&run(1, stdout_closed), 0);
    assert_stdout_full_error(&run(2, stdout_full));
    for name in ["ap.csv", "map.csv"] {
        let want = bytes(&dirs[0].path().join(name));
        assert!(want.len() > 1000, "{name} is too short to compare");
        for dir in &dirs[1..] {
            assert!(bytes(&dir.path().join(name)) == want, "{name} differs");
        }
    }
}

#[test]
fn prep_aggregate_finishes_its_table_when_stderr_is_closed_or_full() {
    // `prep aggregate` says "N rows → M groups" on stderr before it writes the table.
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let l = lincs();
    let run = |k: usize, stderr: Stdio| {
        let out = dirs[k].path().join("agg.csv");
        let mut cmd = bin(&[
            "prep",
            "aggregate",
            "--profiles",
            l.to_str().unwrap(),
            "--by",
            "Metadata_broad_sample",
            "--out",
            out.to_str().unwrap(),
        ]);
        cmd.stdout(Stdio::piped()).stderr(stderr);
        (finish(cmd), out)
    };
    let (o, want) = run(0, Stdio::piped());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("groups"), "{}", stderr(&o));
    let want = bytes(&want);
    let (o, closed) = run(1, closed_pipe());
    assert_eq!(o.status.code(), Some(0));
    assert!(bytes(&closed) == want, "the table differs");
    // The error line cannot reach a full stderr; the status still says it failed.
    let (o, full_) = run(2, full());
    assert_eq!(o.status.code(), Some(2));
    assert!(bytes(&full_) == want, "the table differs");
}

/// `cpbench leaderboard` of the two controls on the LINCS plate (two pairs, a few seconds).
fn leaderboard(out: &Path) -> Command {
    let mut cmd = bin(&[]);
    cmd.args(leaderboard_args(&[&root().join("plugins")], out))
        .args(["--only-benchmark", "lincs-sq00015054"])
        .args([
            "--only-plugin",
            "random",
            "--only-plugin",
            "positive-control",
        ])
        .env("RAYON_NUM_THREADS", "2");
    cmd
}

/// The leaderboard site in `out` is whole: both runs, the JSON, the Markdown and the page.
fn assert_whole_site(out: &Path) {
    let board = read_json(&out.join("leaderboard.json"));
    let rows = board["benchmarks"][0]["rows"].as_array().unwrap();
    let mut plugins: Vec<&str> = rows
        .iter()
        .map(|r| r["plugin"]["id"].as_str().unwrap())
        .collect();
    plugins.sort_unstable();
    assert_eq!(plugins, ["positive-control", "random"]);
    for r in rows {
        assert_eq!(r["status"], "succeeded", "{r}");
    }
    let html = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        html.trim_end().ends_with("</html>"),
        "index.html is cut short"
    );
    let md = std::fs::read_to_string(out.join("leaderboard.md")).unwrap();
    assert!(md.contains("random") && md.contains("positive-control"));
}

#[test]
fn leaderboard_writes_its_whole_site_after_stdout_closes() {
    // As `cpbench leaderboard | head -1`: the first line is read, then the reader goes away.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("site");
    let mut cmd = leaderboard(&out);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("lincs-sq00015054"), "{first}");
    let o = child.wait_with_output().unwrap();
    assert_quiet(&o, 0);
    assert_whole_site(&out);

    // And with nobody reading at all, from the start.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("site");
    let mut cmd = leaderboard(&out);
    cmd.stdout(closed_pipe()).stderr(Stdio::piped());
    assert_quiet(&finish(cmd), 0);
    assert_whole_site(&out);
}

#[test]
fn leaderboard_to_a_full_device_still_writes_its_site_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("site");
    let mut cmd = leaderboard(&out);
    cmd.stdout(full()).stderr(Stdio::piped());
    assert_stdout_full_error(&finish(cmd));
    assert_whole_site(&out);
}
