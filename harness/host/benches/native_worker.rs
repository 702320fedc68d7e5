//! Cost of running a native plugin in a worker process instead of in-process.
//!
//! - `round_trip/{worker,in_process}/<MiB>`: an identity plugin (`test-context-report`) on
//!   `n × 256` matrices of 1, 16 and 64 MiB; the difference is the worker's overhead (start,
//!   library load, both transfers).
//! - `pca_20000x1000/{worker,in_process}`: the `pca` plugin, fitted on 5,000 control rows and
//!   applied to all 20,000 rows, all 1,000 components.
//!
//! `worker_overhead` times the same worker runs as `worker` but counts only what is not spent
//! inside the plugin's calls (`NativeOutput::total_time − plugin_time`, both from one run), so
//! it does not drift with the machine's load between the `worker` and `in_process` samples.
//!
//! In-process runs load the same cdylib into the bench process (abi_stable, without its
//! one-module-per-process cache) and make the same calls the worker makes. The worker is this
//! bench binary itself: `main` runs [`worker_main`] when called as `<bench> plugin-worker`.
//! The cdylibs are built by cargo because they are dev-dependencies of cpbench-host.
//!
//! `cargo bench -p cpbench-host --bench native_worker`

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use cpbench_host::native::{
    NativeJob, NativeLimits, WORKER_SUBCOMMAND, WorkerCommand, resolve_library, run_native,
    worker_main,
};
use cpbench_plugin_api::abi_stable::library::lib_header_from_path;
use cpbench_plugin_api::abi_stable::std_types::{RSlice, RStr};
use cpbench_plugin_api::context::CONTROL;
use cpbench_plugin_api::{ContextColumn, PluginRootMod_Ref};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group};

/// Columns of the round-trip matrices.
const ROUND_TRIP_COLS: usize = 256;

fn library(name: &str) -> PathBuf {
    resolve_library(name, &[]).unwrap_or_else(|e| panic!("{e}"))
}

/// Loads a plugin into this process, bypassing abi_stable's per-type module cache so that
/// two plugins can be loaded side by side.
fn load_in_process(path: &Path) -> PluginRootMod_Ref {
    let module = lib_header_from_path(path)
        .and_then(|h| h.init_root_module::<PluginRootMod_Ref>())
        .unwrap_or_else(|e| panic!("loading {}: {e}", path.display()));
    module.check_interface_version().unwrap();
    module
}

/// The calls the worker makes, for a job whose rows are all fit rows.
fn run_in_process(
    module: PluginRootMod_Ref,
    config: &str,
    x: &[f32],
    n: usize,
    d: usize,
    context: &[ContextColumn],
) -> Vec<f32> {
    let mut rep = module.new()(RStr::from_str(config)).unwrap();
    rep.fit(
        RSlice::from_slice(x),
        n as u64,
        d as u64,
        context.to_vec().into(),
    )
    .unwrap();
    rep.transform(
        RSlice::from_slice(x),
        n as u64,
        d as u64,
        context.to_vec().into(),
    )
    .unwrap()
    .into_vec()
}

/// Deterministic pseudo-random values in [-1, 1), feature `j` scaled by `1 + j / d`.
fn matrix(n: usize, d: usize) -> Vec<f32> {
    let mut state = 0x5eed_u64;
    (0..n * d)
        .map(|i| {
            state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            let u = ((z ^ (z >> 31)) >> 40) as f32 / (1u32 << 24) as f32;
            (2.0 * u - 1.0) * (1.0 + (i % d) as f32 / d as f32)
        })
        .collect()
}

fn worker() -> WorkerCommand {
    WorkerCommand::current_exe().expect("bench executable path")
}

fn limits() -> NativeLimits {
    NativeLimits {
        timeout: Duration::from_secs(600),
        memory_limit_mib: None,
    }
}

/// Total time of `iters` worker runs minus the time their plugin calls took.
fn overhead(job: &NativeJob<'_>, iters: u64) -> Duration {
    (0..iters)
        .map(|_| {
            let out = run_native(&worker(), job, &limits()).unwrap();
            out.total_time.saturating_sub(out.plugin_time)
        })
        .sum()
}

fn round_trip(c: &mut Criterion) {
    let path = library("cpbench_plugin_test_context_report");
    let module = load_in_process(&path);
    let config = r#"{"stderr": false}"#;
    let mut group = c.benchmark_group("round_trip");
    group.sample_size(20);
    for mib in [1usize, 16, 64] {
        let n = (mib << 20) / (4 * ROUND_TRIP_COLS);
        let x = matrix(n, ROUND_TRIP_COLS);
        let fit_rows = vec![true; n];
        group.throughput(Throughput::Bytes((mib << 20) as u64));
        group.bench_with_input(BenchmarkId::new("worker", mib), &x, |b, x| {
            let job = NativeJob {
                library: &path,
                config_json: config.into(),
                x,
                n,
                d: ROUND_TRIP_COLS,
                context: &[],
                fit_rows: &fit_rows,
            };
            b.iter(|| black_box(run_native(&worker(), &job, &limits()).unwrap()));
        });
        group.bench_with_input(BenchmarkId::new("worker_overhead", mib), &x, |b, x| {
            let job = NativeJob {
                library: &path,
                config_json: config.into(),
                x,
                n,
                d: ROUND_TRIP_COLS,
                context: &[],
                fit_rows: &fit_rows,
            };
            b.iter_custom(|iters| overhead(&job, iters));
        });
        group.bench_with_input(BenchmarkId::new("in_process", mib), &x, |b, x| {
            b.iter(|| black_box(run_in_process(module, config, x, n, ROUND_TRIP_COLS, &[])));
        });
    }
    group.finish();
}

fn pca(c: &mut Criterion) {
    let (n, d) = (20_000, 1_000);
    let path = library("cpbench_plugin_pca");
    let module = load_in_process(&path);
    let x = matrix(n, d);
    let control = ContextColumn::new(
        CONTROL,
        (0..n).map(|i| if i % 4 == 0 { "true" } else { "false" }),
    )
    .unwrap();
    let context = [control];
    let fit_rows = vec![true; n];
    let mut group = c.benchmark_group("pca_20000x1000");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(40));
    let job = NativeJob {
        library: &path,
        config_json: "{}".into(),
        x: &x,
        n,
        d,
        context: &context,
        fit_rows: &fit_rows,
    };
    group.bench_function("worker", |b| {
        b.iter(|| black_box(run_native(&worker(), &job, &limits()).unwrap()));
    });
    group.bench_function("worker_overhead", |b| {
        b.iter_custom(|iters| overhead(&job, iters));
    });
    group.bench_function("in_process", |b| {
        b.iter(|| black_box(run_in_process(module, "{}", &x, n, d, &context)));
    });
    group.finish();
}

criterion_group!(benches, round_trip, pca);

fn main() -> ExitCode {
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == WORKER_SUBCOMMAND)
    {
        return worker_main();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
    ExitCode::SUCCESS
}
