//! Native plugins in the isolated worker (`cpbench plugin-worker`), driven through
//! `cpbench_host::native::run_native` with the built binary as the worker. The plugin cdylibs
//! are dev-dependencies of this package, so cargo has built them into `target/<profile>/deps`.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cpbench_host::native::{
    ContextColumn, INTERFACE_VERSION, NativeFailure, NativeFailureKind, NativeJob, NativeLimits,
    NativeOutput, WorkerCommand, resolve_library, run_native,
};

use crate::{cpbench, read_json};

fn worker() -> WorkerCommand {
    WorkerCommand::new(env!("CARGO_BIN_EXE_cpbench"))
}

fn library(name: &str) -> PathBuf {
    resolve_library(name, &[]).unwrap_or_else(|e| panic!("{e}"))
}

fn limits(timeout_s: u64, memory_limit_mib: Option<u64>) -> NativeLimits {
    NativeLimits {
        timeout: Duration::from_secs(timeout_s),
        memory_limit_mib,
    }
}

/// An input matrix, its context and fit flags, owned so tests can borrow them into a job.
struct Input {
    x: Vec<f32>,
    n: usize,
    d: usize,
    context: Vec<ContextColumn>,
    fit_rows: Vec<bool>,
}

impl Input {
    /// `n × d` deterministic values with correlated columns of distinct scales; wells `W000`..
    /// on plates `P0`, `P1`; every third row a control; every row a fit row.
    fn new(n: usize, d: usize) -> Input {
        let mut state = 99u64;
        let mut next = || {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64 - 0.5
        };
        let mut x = Vec::with_capacity(n * d);
        for _ in 0..n {
            let z: Vec<f64> = (0..d).map(|_| next()).collect();
            for j in 0..d {
                let v: f64 = (0..=j).map(|l| z[l] * (1.0 + l as f64)).sum::<f64>() + j as f64;
                x.push(v as f32);
            }
        }
        let context = vec![
            ContextColumn::new("plate", (0..n).map(|i| format!("P{}", i % 2))).unwrap(),
            ContextColumn::new("well", (0..n).map(|i| format!("W{:03}", i / 2))).unwrap(),
            ContextColumn::new(
                "control",
                (0..n).map(|i| if i % 3 == 0 { "true" } else { "false" }),
            )
            .unwrap(),
        ];
        Input {
            x,
            n,
            d,
            context,
            fit_rows: vec![true; n],
        }
    }

    fn job<'a>(&'a self, library: &'a std::path::Path, config: &str) -> NativeJob<'a> {
        NativeJob {
            library,
            config_json: config.to_owned(),
            x: &self.x,
            n: self.n,
            d: self.d,
            context: &self.context,
            fit_rows: &self.fit_rows,
        }
    }
}

fn run_ok(input: &Input, plugin: &str, config: &str) -> NativeOutput {
    let lib = library(plugin);
    run_native(&worker(), &input.job(&lib, config), &limits(120, None))
        .unwrap_or_else(|f| panic!("{plugin} failed: {f}"))
}

fn run_err(input: &Input, plugin: &str, config: &str, limits: NativeLimits) -> NativeFailure {
    let lib = library(plugin);
    match run_native(&worker(), &input.job(&lib, config), &limits) {
        Ok(out) => panic!("{plugin} should fail, produced {} × {}", out.n, out.k),
        Err(f) => f,
    }
}

/// The host can still run plugins after a failure: the random control on a small input.
fn host_still_works() {
    let out = run_ok(&Input::new(4, 2), "cpbench_plugin_random", r#"{"dim": 3}"#);
    assert_eq!((out.n, out.k, out.data.len()), (4, 3, 12));
}

fn bits(values: &[f32]) -> Vec<u32> {
    values.iter().map(|v| v.to_bits()).collect()
}

#[test]
fn random_control_is_deterministic_per_seed_and_per_well() {
    let input = Input::new(40, 5);
    let a = run_ok(&input, "cpbench_plugin_random", r#"{"seed": 7, "dim": 16}"#);
    assert_eq!((a.n, a.k, a.data.len()), (40, 16, 640));
    assert_eq!(
        (a.plugin_name.as_str(), a.plugin_version.as_str()),
        ("random", "0.1.0")
    );
    assert!(
        a.plugin_time > Duration::ZERO && a.plugin_time < a.total_time,
        "{:?} {:?}",
        a.plugin_time,
        a.total_time
    );
    let again = run_ok(&input, "cpbench_plugin_random", r#"{"seed": 7, "dim": 16}"#);
    assert_eq!(bits(&a.data), bits(&again.data));
    let other = run_ok(&input, "cpbench_plugin_random", r#"{"seed": 8, "dim": 16}"#);
    assert_eq!(other.data.len(), a.data.len());
    assert!(
        a.data.iter().zip(&other.data).all(|(p, q)| p != q),
        "another seed must change every value"
    );

    // Reversed rows: each (plate, well) keeps its vector.
    let mut reversed = Input::new(40, 5);
    reversed.x = input.x.chunks(5).rev().flatten().copied().collect();
    reversed.context = input
        .context
        .iter()
        .map(|c| ContextColumn::new(c.name(), c.values().iter().rev().cloned()).unwrap())
        .collect();
    let r = run_ok(
        &reversed,
        "cpbench_plugin_random",
        r#"{"seed": 7, "dim": 16}"#,
    );
    let rows: Vec<&[f32]> = r.data.chunks(16).rev().collect();
    let original: Vec<&[f32]> = a.data.chunks(16).collect();
    assert_eq!(rows, original);
}

/// Sample covariance of the rows `rows` of an `n × k` matrix, in f64.
fn covariance(y: &[f32], k: usize, rows: &[usize]) -> Vec<f64> {
    let m = rows.len() as f64;
    let mut mean = vec![0.0; k];
    for &i in rows {
        (0..k).for_each(|j| mean[j] += f64::from(y[i * k + j]) / m);
    }
    let mut cov = vec![0.0; k * k];
    for &i in rows {
        for a in 0..k {
            for b in 0..k {
                cov[a * k + b] += (f64::from(y[i * k + a]) - mean[a])
                    * (f64::from(y[i * k + b]) - mean[b])
                    / (m - 1.0);
            }
        }
    }
    cov
}

#[test]
fn pca_whitens_the_controls_among_the_fit_rows() {
    let mut input = Input::new(900, 8);
    // Only the first 600 rows may be fitted on; the rest are shifted so that fitting on them
    // would change the mean.
    input.fit_rows = (0..900).map(|i| i < 600).collect();
    for v in &mut input.x[600 * 8..] {
        *v += 50.0;
    }
    let out = run_ok(&input, "cpbench_plugin_pca", r#"{"epsilon": 1e-9}"#);
    assert_eq!((out.n, out.k), (900, 8));
    assert_eq!(out.plugin_name, "pca");
    let fit_controls: Vec<usize> = (0..600).filter(|i| i % 3 == 0).collect();
    let cov = covariance(&out.data, 8, &fit_controls);
    for a in 0..8 {
        for b in 0..8 {
            let want = if a == b { 1.0 } else { 0.0 };
            assert!(
                (cov[a * 8 + b] - want).abs() < 1e-3,
                "whitened control covariance [{a},{b}] = {}",
                cov[a * 8 + b]
            );
        }
    }
    // The fit controls are centred: their mean output is ~0, the shifted rows' is not.
    let mean0: f64 = fit_controls
        .iter()
        .map(|&i| f64::from(out.data[i * 8]))
        .sum::<f64>()
        / fit_controls.len() as f64;
    assert!(
        mean0.abs() < 1e-3,
        "mean of component 0 on fit controls {mean0}"
    );

    let fewer = run_ok(&input, "cpbench_plugin_pca", r#"{"dim": 3}"#);
    assert_eq!((fewer.n, fewer.k), (900, 3));
}

#[test]
fn plugin_errors_come_back_with_the_plugins_message() {
    let mut input = Input::new(10, 3);
    input.context.retain(|c| c.name() != "control");
    let f = run_err(&input, "cpbench_plugin_pca", "{}", limits(60, None));
    assert_eq!(f.kind, NativeFailureKind::PluginError, "{f}");
    assert!(
        f.message
            .starts_with("plugin 'pca' 0.1.0 failed in fit: pca: fits on control rows"),
        "{f}"
    );
    let f = run_err(
        &input,
        "cpbench_plugin_pca",
        r#"{"dims": 3}"#,
        limits(60, None),
    );
    assert_eq!(f.kind, NativeFailureKind::PluginError, "{f}");
    assert!(f.message.contains("unknown field `dims`"), "{f}");
}

#[test]
fn context_report_sees_only_allowed_context_and_only_fit_rows_in_fit() {
    let tmp = tempfile::tempdir().unwrap();
    let report = tmp.path().join("report.json");
    let mut input = Input::new(10, 3);
    input.fit_rows = (0..10).map(|i| i % 2 == 1).collect();
    let config = serde_json::json!({"report": report, "stdout": true}).to_string();
    let out = run_ok(&input, "cpbench_plugin_test_context_report", &config);
    // Identity map, bit for bit through both pipes.
    assert_eq!((out.n, out.k), (10, 3));
    assert_eq!(bits(&out.data), bits(&input.x));

    let doc = read_json(&report);
    let names = |call: &str| -> Vec<String> {
        doc[call]["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names("fit"), ["plate", "well", "control"]);
    assert_eq!(names("transform"), ["plate", "well", "control"]);
    assert_eq!(
        (doc["fit"]["rows"].as_u64(), doc["fit"]["cols"].as_u64()),
        (Some(5), Some(3))
    );
    assert_eq!(doc["transform"]["rows"].as_u64(), Some(10));
    for c in doc["fit"]["columns"].as_array().unwrap() {
        assert_eq!(c["rows"].as_u64(), Some(5), "{c}");
    }
    // fit saw the odd rows' context: wells W000, W001, ... of rows 1, 3, 5, 7, 9.
    let wells: Vec<&str> = doc["fit"]["columns"][1]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(wells, ["W000", "W001", "W002", "W003", "W004"]);
    let plates = &doc["fit"]["columns"][0]["values"];
    assert!(
        plates.as_array().unwrap().iter().all(|p| p == "P1"),
        "{plates}"
    );

    // The stderr channel; the stdout copy of each line landed there too, not in the protocol.
    let lines: Vec<&str> = out
        .stderr_tail
        .lines()
        .filter(|l| l.starts_with("cpbench-test-context-report: "))
        .collect();
    assert_eq!(lines.len(), 4, "{}", out.stderr_tail);
    let fit: serde_json::Value =
        serde_json::from_str(lines[0].trim_start_matches("cpbench-test-context-report: ")).unwrap();
    assert_eq!(fit["call"], "fit");
    assert_eq!(
        fit["columns"][2],
        serde_json::json!({"name": "control", "rows": 5})
    );
}

#[test]
fn panics_fail_only_their_own_run() {
    let input = Input::new(6, 2);
    let plugin = "cpbench_plugin_test_panic";
    let cases = [
        (
            r#"{"stage": "fit"}"#,
            "failed in fit: plugin panicked in fit",
            Some("deliberate panic in fit"),
        ),
        (
            r#"{"stage": "transform"}"#,
            "failed in transform: plugin panicked in transform",
            Some("deliberate panic in transform"),
        ),
        (
            r#"{"stage": "fit", "guard": "none"}"#,
            "panicked in fit (6 rows) where the panic could not be caught: test-panic: \
             deliberate unguarded panic in fit on 6 rows (at plugins/testing/panic/src/lib.rs:",
            Some("Attempted to panic across the ffi boundary"),
        ),
        (
            // Rust prints a full backtrace for a panic that cannot unwind, which fills the
            // stderr tail; the message above was found by scanning all of stderr.
            r#"{"stage": "new", "guard": "none"}"#,
            "panicked in new where the panic could not be caught: test-panic: deliberate \
             unguarded panic in new (at plugins/testing/panic/src/lib.rs:",
            None,
        ),
    ];
    for (config, message, stderr) in cases {
        let f = run_err(&input, plugin, config, limits(60, None));
        assert_eq!(f.kind, NativeFailureKind::Panic, "{config}: {f}");
        assert!(f.message.starts_with("plugin 'test-panic' 0.1.0 "), "{f}");
        assert!(f.message.contains(message), "{config}: {f}");
        assert!(f.to_string().contains("--- worker stderr"), "{f}");
        if let Some(stderr) = stderr {
            assert!(f.stderr_tail.contains(stderr), "{config}: {f}");
        }
    }
    host_still_works();
}

#[test]
fn segfault_is_a_crash_with_its_signal() {
    let f = run_err(
        &Input::new(6, 2),
        "cpbench_plugin_test_segfault",
        "{}",
        limits(60, None),
    );
    assert_eq!(
        f.kind,
        NativeFailureKind::Crashed { signal: Some(11) },
        "{f}"
    );
    assert_eq!(
        f.message,
        "plugin 'test-segfault' 0.1.0 crashed in fit (6 rows): the worker was killed by \
         signal 11 (SIGSEGV)"
    );
    assert!(f.stderr_tail.contains("writing to address 0x10"), "{f}");
    assert!(f.to_string().starts_with("crashed (SIGSEGV): "), "{f}");
    host_still_works();
}

#[test]
fn hang_is_killed_at_the_timeout() {
    let started = Instant::now();
    let f = run_err(
        &Input::new(6, 2),
        "cpbench_plugin_test_hang",
        "{}",
        limits(2, None),
    );
    let elapsed = started.elapsed();
    assert_eq!(f.kind, NativeFailureKind::Timeout, "{f}");
    assert!(
        f.message.starts_with(
            "plugin 'test-hang' 0.1.0 did not finish within 2 s in fit (6 rows); the worker \
             was killed"
        ),
        "{f}"
    );
    assert!(f.stderr_tail.contains("sleeping forever in fit"), "{f}");
    assert!(elapsed >= Duration::from_secs(2), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(30), "{elapsed:?}");
    host_still_works();
}

#[test]
fn runaway_allocation_hits_the_memory_limit() {
    let f = run_err(
        &Input::new(6, 2),
        "cpbench_plugin_test_alloc",
        "{}",
        limits(120, Some(512)),
    );
    assert_eq!(f.kind, NativeFailureKind::MemoryLimit, "{f}");
    assert!(
        f.message
            .starts_with("plugin 'test-alloc' 0.1.0 ran out of memory in fit (6 rows)"),
        "{f}"
    );
    assert!(f.message.contains("512 MiB memory limit"), "{f}");
    assert!(f.stderr_tail.contains("memory allocation of"), "{f}");
    assert!(f.stderr_tail.contains("test-alloc: holding"), "{f}");
    host_still_works();
}

#[test]
fn future_interface_version_is_refused_readably() {
    let f = run_err(
        &Input::new(2, 1),
        "cpbench_plugin_test_future_abi",
        "{}",
        limits(60, None),
    );
    assert_eq!(f.kind, NativeFailureKind::InterfaceMismatch, "{f}");
    let expected = format!(
        "plugin 'test-future-abi' was built for cpbench plugin interface version {}, but this \
         cpbench speaks version {INTERFACE_VERSION}",
        INTERFACE_VERSION + 1
    );
    assert!(f.message.starts_with(&expected), "{f}");
}

#[test]
fn missing_and_non_plugin_libraries_are_load_failures() {
    let err = resolve_library("cpbench_plugin_does_not_exist", &[]).unwrap_err();
    assert!(err.to_string().contains("cargo build --workspace"), "{err}");

    let input = Input::new(2, 1);
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("libnothing.so");
    let f = run_native(&worker(), &input.job(&missing, "{}"), &limits(60, None)).unwrap_err();
    assert_eq!(f.kind, NativeFailureKind::LoadFailed, "{f}");
    assert!(f.message.contains("cannot load plugin library"), "{f}");
    assert!(f.message.contains("libnothing.so"), "{f}");
    let not_a_library = tmp.path().join("libtext.so");
    std::fs::write(&not_a_library, "not an ELF file").unwrap();
    let f = run_native(
        &worker(),
        &input.job(&not_a_library, "{}"),
        &limits(60, None),
    )
    .unwrap_err();
    assert_eq!(f.kind, NativeFailureKind::LoadFailed, "{f}");
}

#[test]
fn worker_subcommand_is_hidden_and_answers_garbage_with_an_error_frame() {
    let help = cpbench().arg("--help").assert().success();
    let help = String::from_utf8_lossy(&help.get_output().stdout).into_owned();
    assert!(!help.contains("plugin-worker"), "{help}");
    let out = cpbench()
        .arg("plugin-worker")
        .write_stdin("this is not a cpbench worker frame at all")
        .assert()
        .code(1);
    let stdout = &out.get_output().stdout;
    assert_eq!(&stdout[..4], b"CPBW", "an error frame on stdout");
    let json_len = u32::from_le_bytes(stdout[8..12].try_into().unwrap()) as usize;
    let error: serde_json::Value = serde_json::from_slice(&stdout[20..20 + json_len]).unwrap();
    assert_eq!(error["kind"], "protocol");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not a cpbench worker frame"),
        "{error}"
    );
}
