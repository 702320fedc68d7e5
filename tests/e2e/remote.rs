//! Remote data (issue 18), for real on loopback: moto's S3 server and a plain HTTP range server
//! serve JUMP-format fixtures (tests/remote/make_jump_fixtures.py) at the consortium's object
//! keys, and the shipped JUMP manifests are pointed at them with `CPBENCH_S3_ENDPOINT` and
//! `CPBENCH_URL_REWRITE`, with the fixtures' pins (tests/remote/fixture_manifest.py).
//!
//! One set of servers and fixtures serves every test of this process (started on first use;
//! the servers watch this process and stop when it ends). Tests that need faults (throttling,
//! 503s, cut-off bodies) start a range server of their own.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::{bin, read_json, root, text};

/// The shared servers and fixture folder.
struct Fixtures {
    /// Holds the fixtures, manifests and server state.
    dir: PathBuf,
    moto_port: u16,
    http_port: u16,
}

fn python() -> PathBuf {
    root().join(".venv-remote/bin/python")
}

fn fixtures() -> &'static Fixtures {
    static F: OnceLock<Fixtures> = OnceLock::new();
    F.get_or_init(|| {
        // Idempotent: returns at once when the pinned venv is installed.
        let ok = Command::new("bash")
            .arg(root().join("ci/setup-remote.sh"))
            .status()
            .unwrap();
        assert!(ok.success(), "ci/setup-remote.sh failed");
        // Under the build's tmp folder, one per test process; those of processes that are
        // gone are removed here (a static is never dropped, so nothing removes its own).
        let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
        for e in std::fs::read_dir(tmp).into_iter().flatten().flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if let Some(pid) = name.strip_prefix("remote-")
                && !Path::new("/proc").join(pid).exists()
            {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let pid = std::process::id().to_string();
        let dir = tmp.join(format!("remote-{pid}"));
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("bash")
            .arg(root().join("tests/remote/moto.sh"))
            .arg("start")
            .arg(&dir)
            .args(["--watch-pid", &pid])
            .output()
            .unwrap();
        assert!(out.status.success(), "moto.sh start: {}", text(&out.stderr));
        let moto_port: u16 = std::fs::read_to_string(dir.join("moto.port"))
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        let out = Command::new(python())
            .arg(root().join("tests/remote/make_jump_fixtures.py"))
            .arg("--out")
            .arg(dir.join("fx"))
            .arg("--upload-s3")
            .arg(format!("http://127.0.0.1:{moto_port}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "fixtures: {}", text(&out.stderr));
        let http = range_server(&dir, "http", &[]);
        let http_port = http.port;
        // The shared server lives as long as this process (it watches it and stops with it).
        std::mem::forget(http);
        for b in ["jump-orf", "jump-crispr", "jump-compound"] {
            fixture_manifest(&dir.join("fx"), b, &dir.join("bench").join(b));
        }
        Fixtures {
            dir,
            moto_port,
            http_port,
        }
    })
}

/// A range server over the fixtures with extra flags (faults); stopped when dropped.
struct RangeServer {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Drop for RangeServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn range_server(dir: &Path, name: &str, flags: &[&str]) -> RangeServer {
    let port_file = dir.join(format!("{name}.port"));
    let log = dir.join(format!("{name}.log.jsonl"));
    let _ = std::fs::remove_file(&port_file);
    let child = Command::new("python3")
        .arg(root().join("tests/remote/range_server.py"))
        .arg("--root")
        .arg(fixtures_dir_of(dir))
        .arg("--port-file")
        .arg(&port_file)
        .arg("--etags")
        .arg(fixtures_dir_of(dir).join("fixtures.json"))
        .arg("--log")
        .arg(&log)
        .args(["--parent-pid", &std::process::id().to_string()])
        .args(flags)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t0 = Instant::now();
    let port = loop {
        if let Ok(p) = std::fs::read_to_string(&port_file)
            && let Ok(p) = p.trim().parse()
        {
            break p;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "range server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    RangeServer { child, port, log }
}

fn fixtures_dir_of(dir: &Path) -> PathBuf {
    dir.join("fx")
}

/// `benchmarks/<id>/benchmark.toml` with the fixtures' pins, written to `out/benchmark.toml`.
fn fixture_manifest(fx: &Path, id: &str, out: &Path) {
    std::fs::create_dir_all(out).unwrap();
    let status = Command::new("python3")
        .arg(root().join("tests/remote/fixture_manifest.py"))
        .arg(root().join("benchmarks").join(id).join("benchmark.toml"))
        .arg(fx.join("fixtures.json"))
        .arg(out.join("benchmark.toml"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
}

/// A fixture object's record in fixtures.json by subset (`orf`, `well`, …).
fn object(subset: &str) -> serde_json::Value {
    let fx = read_json(&fixtures().dir.join("fx/fixtures.json"));
    fx["objects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["subset"] == subset)
        .unwrap_or_else(|| panic!("no fixture `{subset}`"))
        .clone()
}

/// `cpbench` with the endpoint overrides pointing at the shared servers (or `http_port`).
fn cmd(http_port: u16) -> Command {
    let f = fixtures();
    let mut c = bin();
    c.env(
        "CPBENCH_S3_ENDPOINT",
        format!("http://127.0.0.1:{}", f.moto_port),
    )
    .env(
        "CPBENCH_URL_REWRITE",
        format!(
            "https://raw.githubusercontent.com/=http://127.0.0.1:{http_port}/ \
             https://cellpainting-gallery.s3.amazonaws.com/=http://127.0.0.1:{http_port}/"
        ),
    )
    .env_remove("AWS_ACCESS_KEY_ID")
    .env_remove("CPBENCH_DATA_DIR");
    c
}

fn bench(id: &str) -> PathBuf {
    fixtures().dir.join("bench").join(id)
}

/// `cpbench fetch BENCH --cache-dir CACHE` against the servers (HTTP on `http_port`).
fn fetch_cmd(http_port: u16, bench: &Path, cache: &Path) -> Command {
    let mut c = cmd(http_port);
    c.arg("fetch").arg(bench).arg("--cache-dir").arg(cache);
    c
}

/// The fixture manifest of `id` with its `s3://` URLs as the bucket's `https://` ones (served
/// by a range server through `CPBENCH_URL_REWRITE`).
fn over_https(id: &str, name: &str) -> PathBuf {
    edited(
        id,
        name,
        "s3://cellpainting-gallery/",
        "https://cellpainting-gallery.s3.amazonaws.com/",
    )
}

/// Runs and returns (exit code, stdout, stderr).
fn run(mut c: Command) -> (i32, String, String) {
    let out = c.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

/// Every file under `dir` (recursively), for "nothing was cached" checks.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out
}

/// Cached data files (not locks, records or partial downloads).
fn blobs(cache: &Path) -> Vec<PathBuf> {
    files_under(&cache.join("blobs"))
        .into_iter()
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy();
            !n.starts_with('.') && !n.ends_with(".meta.json")
        })
        .collect()
}

fn sha256_of(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().unwrap();
    text(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn fetch_from_s3_and_https_then_cache_hit_then_offline() {
    let f = fixtures();
    let cache = tempfile::tempdir().unwrap();
    let mut c = cmd(f.http_port);
    c.arg("fetch")
        .arg(bench("jump-orf"))
        .arg("--cache-dir")
        .arg(cache.path());
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{out}\n{err}");
    assert_eq!(out.matches("downloaded").count(), 2, "{out}");
    let orf = object("orf");
    let well = object("well");
    let got = blobs(cache.path());
    assert_eq!(got.len(), 2, "{got:?}");
    let shas: Vec<String> = got.iter().map(|p| sha256_of(p)).collect();
    assert!(shas.contains(&orf["sha256"].as_str().unwrap().to_string()));
    assert!(shas.contains(&well["sha256"].as_str().unwrap().to_string()));
    // Content-addressed: the profile table under its etag, the layout under its git blob id.
    let etag = orf["etag"].as_str().unwrap();
    assert!(
        got.iter()
            .any(|p| p.to_string_lossy().contains(&format!("blobs/etag-{etag}/"))),
        "{got:?}"
    );

    // Second time: served from the cache, verified, nothing downloaded.
    let mut c = cmd(f.http_port);
    c.arg("fetch")
        .arg(bench("jump-orf"))
        .arg("--cache-dir")
        .arg(cache.path());
    let (code, out, _) = run(c);
    assert_eq!(code, 0);
    assert_eq!(out.matches("cached, verified").count(), 2, "{out}");

    // Offline: a hit works without any server; a miss names the file and exits 2.
    let mut c = bin();
    c.env("CPBENCH_S3_ENDPOINT", "http://127.0.0.1:9")
        .arg("fetch")
        .arg(bench("jump-orf"))
        .arg("--cache-dir")
        .arg(cache.path())
        .arg("--offline");
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{out}\n{err}");
    let empty = tempfile::tempdir().unwrap();
    let mut c = bin();
    c.arg("fetch")
        .arg(bench("jump-orf"))
        .arg("--cache-dir")
        .arg(empty.path())
        .arg("--offline");
    let (code, _, err) = run(c);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("data.profiles"), "{err}");
    assert!(err.contains("is not in the data cache"), "{err}");
    assert!(err.contains("--offline"), "{err}");
    assert!(blobs(empty.path()).is_empty());
}

/// The manifest of `id` with one pin edited: `from` → `to` in its text.
fn edited(id: &str, name: &str, from: &str, to: &str) -> PathBuf {
    let text = std::fs::read_to_string(bench(id).join("benchmark.toml")).unwrap();
    assert!(text.contains(from), "{from} not in the manifest");
    let dir = tempfile::Builder::new()
        .prefix(name)
        .tempdir()
        .unwrap()
        .keep();
    std::fs::write(dir.join("benchmark.toml"), text.replacen(from, to, 1)).unwrap();
    dir
}

#[test]
fn a_changed_etag_or_digest_is_refused_with_both_values_and_nothing_cached() {
    let f = fixtures();
    let orf = object("orf");
    let etag = orf["etag"].as_str().unwrap();
    let wrong = format!(
        "{}{}",
        &etag[..31],
        if etag.ends_with('0') { "1" } else { "0" }
    );
    let b = edited("jump-orf", "etag", etag, &wrong);
    let cache = tempfile::tempdir().unwrap();
    let c = fetch_cmd(f.http_port, &b, cache.path());
    let (code, _, err) = run(c);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains(&format!("has etag {etag}")), "{err}");
    assert!(err.contains(&format!("pins {wrong}")), "{err}");
    assert!(blobs(cache.path()).is_empty());

    // A SHA-256 pin that the bytes do not have: downloaded, checked, refused, deleted.
    let text = std::fs::read_to_string(bench("jump-orf").join("benchmark.toml")).unwrap();
    let pinned = text.replacen(
        "level = \"well\"",
        &format!("sha256 = \"{}\"\nlevel = \"well\"", "0".repeat(64)),
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("benchmark.toml"), pinned).unwrap();
    let mut c = cmd(f.http_port);
    c.arg("fetch")
        .arg(dir.path())
        .arg("--cache-dir")
        .arg(cache.path());
    let (code, _, err) = run(c);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(&format!("SHA-256 {}", orf["sha256"].as_str().unwrap())),
        "{err}"
    );
    assert!(err.contains(&"0".repeat(64)), "{err}");
    assert!(blobs(cache.path()).is_empty());
    assert!(
        files_under(&cache.path().join("partial"))
            .iter()
            .all(|p| !p.to_string_lossy().ends_with(".part")),
        "a refused download left its partial file"
    );
}

#[test]
fn a_corrupted_cache_file_is_detected_and_fetched_again() {
    let f = fixtures();
    let cache = tempfile::tempdir().unwrap();
    let fetch = || {
        let mut c = cmd(f.http_port);
        c.arg("fetch")
            .arg(bench("jump-crispr"))
            .arg("--cache-dir")
            .arg(cache.path());
        run(c)
    };
    assert_eq!(fetch().0, 0);
    let crispr = object("crispr");
    let blob = blobs(cache.path())
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".parquet"))
        .unwrap();
    // Same size, one byte flipped: only the hash can tell.
    let mut bytes = std::fs::read(&blob).unwrap();
    bytes[1000] ^= 0xff;
    std::fs::write(&blob, &bytes).unwrap();
    let (code, out, err) = fetch();
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("is corrupt"), "{err}");
    assert!(out.contains("downloaded"), "{out}");
    assert_eq!(sha256_of(&blob), crispr["sha256"].as_str().unwrap());
}

#[test]
fn a_download_killed_with_sigkill_resumes_with_a_range_request() {
    let f = fixtures();
    // 1.2 MB at 150 kB/s: about 8 s, killed after the first ~300 kB.
    let slow = range_server(&f.dir, "slow", &["--rate", "150000"]);
    let b = over_https("jump-orf", "https");
    let cache = tempfile::tempdir().unwrap();
    let mut c = cmd(slow.port);
    c.arg("fetch")
        .arg(&b)
        .arg("--cache-dir")
        .arg(cache.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let partial = cache.path().join("partial");
    let t0 = Instant::now();
    loop {
        let size: u64 = files_under(&partial)
            .iter()
            .filter(|p| p.to_string_lossy().ends_with(".part"))
            .map(|p| p.metadata().map(|m| m.len()).unwrap_or(0))
            .sum();
        if size > 300_000 {
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(
        blobs(cache.path()).is_empty(),
        "a killed fetch left a cache entry"
    );

    let c = fetch_cmd(slow.port, &b, cache.path());
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("resumed at byte"), "{out}");
    assert!(err.contains("resuming"), "{err}");
    let orf = object("orf");
    let blob = blobs(cache.path())
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".parquet"))
        .unwrap();
    assert_eq!(sha256_of(&blob), orf["sha256"].as_str().unwrap());
    // The server saw a request for the rest of the object, from where the first one stopped.
    let log = std::fs::read_to_string(&slow.log).unwrap();
    assert!(
        log.lines().any(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["method"] == "GET"
                && v["range"]
                    .as_str()
                    .is_some_and(|r| r.starts_with("bytes=") && !r.starts_with("bytes=0-"))
        }),
        "{log}"
    );
}

#[test]
fn transient_failures_are_retried_and_cut_bodies_resumed() {
    let f = fixtures();
    let flaky = range_server(
        &f.dir,
        "flaky",
        &["--fail-first", "2", "--truncate-first", "1"],
    );
    let b = over_https("jump-compound", "flaky");
    let cache = tempfile::tempdir().unwrap();
    let c = fetch_cmd(flaky.port, &b, cache.path());
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{out}\n{err}");
    let log = std::fs::read_to_string(&flaky.log).unwrap();
    let faults: Vec<String> = log
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["fault"].to_string())
        .collect();
    assert!(
        faults.iter().filter(|f| f.contains("fail")).count() >= 2,
        "{log}"
    );
    assert!(faults.iter().any(|f| f.contains("truncate")), "{log}");
    assert_eq!(blobs(cache.path()).len(), 2);
    for blob in blobs(cache.path()) {
        let name = blob.file_name().unwrap().to_string_lossy().into_owned();
        let subset = if name.ends_with(".parquet") {
            "compound"
        } else {
            "well"
        };
        assert_eq!(sha256_of(&blob), object(subset)["sha256"].as_str().unwrap());
    }
}

#[test]
fn a_multipart_etag_is_verified_with_its_part_size() {
    let f = fixtures();
    let obj = object("compound_interpretable");
    let key = obj["key"].as_str().unwrap();
    let etag = obj["etag"].as_str().unwrap();
    assert!(etag.ends_with("-3"));
    let manifest = |pin: &str| {
        format!(
            "schema_version = 1\nid = \"multipart\"\nversion = 1\ntitle = \"t\"\n\
             [data]\nprofiles = {{ url = \"s3://cellpainting-gallery/{key}\", {pin} }}\n\
             level = \"well\"\n[columns]\nperturbation = \"Metadata_JCP2022\"\n\
             [[task]]\nid = \"m\"\nmetric = \"map\"\npos_sameby = [\"Metadata_JCP2022\"]\n"
        )
    };
    let cache = tempfile::tempdir().unwrap();
    // Without part_size: 5 MiB is among the defaults tried, and gives 3 parts.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("benchmark.toml"),
        manifest(&format!("etag = \"{etag}\"")),
    )
    .unwrap();
    let mut c = cmd(f.http_port);
    c.arg("fetch")
        .arg(dir.path())
        .arg("--cache-dir")
        .arg(cache.path());
    let (code, out, err) = run(c);
    assert_eq!(code, 0, "{out}\n{err}");
    let record = files_under(&cache.path().join("blobs"))
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(".meta.json"))
        .unwrap();
    assert_eq!(read_json(&record)["part_size"], 5 * 1024 * 1024);
    // A wrong part size (6 MiB also gives 3 parts) cannot reproduce the etag: refused.
    let cache = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("benchmark.toml"),
        manifest(&format!(
            "etag = \"{etag}\", part_size = {}",
            6 * 1024 * 1024
        )),
    )
    .unwrap();
    let mut c = cmd(f.http_port);
    c.arg("fetch")
        .arg(dir.path())
        .arg("--cache-dir")
        .arg(cache.path());
    let (code, _, err) = run(c);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("the downloaded file has etag"), "{err}");
    assert!(err.contains(&format!("pins {etag}")), "{err}");
    assert!(blobs(cache.path()).is_empty());
}

#[test]
fn jump_orf_runs_end_to_end_against_the_fixture_bucket() {
    let f = fixtures();
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut c = cmd(f.http_port);
    c.arg("run")
        .arg("--benchmark")
        .arg(bench("jump-orf"))
        .arg("--plugin")
        .arg(root().join("plugins/cellprofiler"))
        .arg("--cache-dir")
        .arg(cache.path())
        .arg("--out")
        .arg(out.path());
    let (code, stdout, err) = run(c);
    assert_eq!(code, 0, "{stdout}\n{err}");
    let result = read_json(
        &out.path()
            .join("runs/jump-orf@v2")
            .join("cellprofiler@1.0.0.json"),
    );
    assert_eq!(result["status"], "succeeded", "{result}");
    let tasks: Vec<&str> = result["scores"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["task"].as_str().unwrap())
        .collect();
    for t in [
        "activity",
        "consistency-corum",
        "relations",
        "batch-leakage",
    ] {
        assert!(tasks.contains(&t), "{t} missing: {tasks:?}");
    }
    // Provenance names the remote files by URL, with the hash of the bytes that were scored.
    let files = result["provenance"]["dataset_files"].as_array().unwrap();
    let orf = object("orf");
    assert!(files.iter().any(|d| {
        d["path"]
            .as_str()
            .unwrap()
            .starts_with("s3://cellpainting-gallery/")
            && d["sha256"] == orf["sha256"]
    }));
    // The planted signal is found: active ORFs retrieved, complexes consistent.
    let score = |task: &str, metric: &str| {
        result["scores"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["task"] == task && s["metric"] == metric)
            .unwrap()["value"]
            .as_f64()
            .unwrap()
    };
    assert!(score("activity", "map") > 0.2);
    assert!(score("consistency-corum", "map") > 0.5);

    // Offline and recomputed (--force): the data comes from the cache, no server is reachable.
    let mut c = bin();
    c.env("CPBENCH_S3_ENDPOINT", "http://127.0.0.1:9")
        .arg("run")
        .arg("--benchmark")
        .arg(bench("jump-orf"))
        .arg("--plugin")
        .arg(root().join("plugins/cellprofiler"))
        .arg("--cache-dir")
        .arg(cache.path())
        .arg("--out")
        .arg(out.path())
        .args(["--offline", "--force"]);
    let (code, stdout, err) = run(c);
    assert_eq!(code, 0, "{stdout}\n{err}");
    assert!(stdout.contains("succeeded ("), "{stdout}");
    assert!(!stdout.contains("cached"), "{stdout}");
}

#[test]
fn the_leaderboard_leaves_uncached_remote_benchmarks_off_unless_asked_to_fetch() {
    let f = fixtures();
    let cache = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    let board = |extra: &[&str]| {
        let mut c = cmd(f.http_port);
        c.arg("leaderboard")
            .arg("--benchmarks")
            .arg(f.dir.join("bench"))
            .arg("--plugins")
            .arg(root().join("plugins/cellprofiler"))
            .args(["--only-benchmark", "jump-crispr"])
            .arg("--cache-dir")
            .arg(cache.path())
            .arg("--out")
            .arg(out.path())
            .args(extra);
        run(c)
    };
    // Nothing cached: the benchmark is left off with the command that fetches it.
    let (code, stdout, err) = board(&[]);
    assert_eq!(code, 2, "{stdout}\n{err}");
    assert!(err.contains("jump-crispr: left off this board"), "{err}");
    assert!(err.contains("cpbench fetch"), "{err}");
    assert!(blobs(cache.path()).is_empty());
    // --fetch: fetched once by the leaderboard, then scored.
    let (code, stdout, err) = board(&["--fetch"]);
    assert_eq!(code, 0, "{stdout}\n{err}");
    let lb = read_json(&out.path().join("leaderboard.json"));
    assert_eq!(lb["benchmarks"][0]["id"], "jump-crispr", "{lb}");
    assert_eq!(blobs(cache.path()).len(), 2);
    // Cached now: the plain leaderboard includes it.
    let (code, _, err) = board(&[]);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("left off"), "{err}");
}

/// `cpbench run --shard i/n` on the JUMP benchmarks (remote data, fetched once into one cache
/// that every part and the merge read): the merged run is the unsharded run's bytes for
/// n = 1, 2, 3 and 7, with the activity mAP split among the parts (`run_shard.rs`).
#[test]
fn jump_sharded_runs_merge_into_the_unsharded_run() {
    let f = fixtures();
    let cache = tempfile::tempdir().unwrap();
    let extra = [
        std::ffi::OsString::from("--cache-dir"),
        cache.path().as_os_str().to_os_string(),
    ];
    for id in ["jump-orf", "jump-crispr", "jump-compound"] {
        crate::run_shard::sharded_run_matches(
            &|| cmd(f.http_port),
            &extra,
            &bench(id),
            &root().join("plugins/cellprofiler"),
            "activity",
        );
    }
}
