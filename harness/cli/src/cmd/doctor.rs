//! `cpbench doctor`: is this machine ready to run benchmarks?

use anyhow::Result;
use serde::Serialize;

use crate::{Outcome, VERSION};

/// Arguments of `cpbench doctor`.
#[derive(clap::Args)]
pub struct Args {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report {
    cpbench_version: &'static str,
    git_commit: &'static str,
    onnxruntime: Option<Runtime>,
    onnxruntime_error: Option<String>,
    cuda_usable: bool,
    threads_available: usize,
    rayon_num_threads: Option<String>,
    polars_max_threads: Option<String>,
}

#[derive(Serialize)]
struct Runtime {
    path: String,
    found_via: String,
    version: String,
    execution_providers: Vec<String>,
}

/// Runs `cpbench doctor`. Exits 1 when ONNX Runtime cannot be loaded.
pub fn run(args: Args) -> Result<Outcome> {
    let (onnxruntime, onnxruntime_error, cuda_usable) = match cpbench_host::onnx::init_runtime() {
        Ok(info) => (
            Some(Runtime {
                path: info.path.display().to_string(),
                found_via: info.source.to_string(),
                version: info.version.clone(),
                execution_providers: info.available_providers.clone(),
            }),
            None,
            info.cuda_available,
        ),
        Err(e) => (None, Some(e.to_string()), false),
    };
    let report = Report {
        cpbench_version: env!("CARGO_PKG_VERSION"),
        git_commit: env!("CPBENCH_GIT_COMMIT"),
        onnxruntime,
        onnxruntime_error,
        cuda_usable,
        threads_available: std::thread::available_parallelism().map_or(1, |n| n.get()),
        rayon_num_threads: std::env::var("RAYON_NUM_THREADS").ok(),
        polars_max_threads: std::env::var("POLARS_MAX_THREADS").ok(),
    };
    if args.json {
        outln!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_text(&report);
    }
    Ok(if report.onnxruntime.is_some() {
        Outcome::Ok
    } else {
        Outcome::CheckFailed
    })
}

fn print_text(r: &Report) {
    outln!("cpbench {VERSION}");
    match (&r.onnxruntime, &r.onnxruntime_error) {
        (Some(rt), _) => {
            outln!(
                "ONNX Runtime: {} at {} (found via {})",
                rt.version,
                rt.path,
                rt.found_via
            );
            outln!("execution providers: {}", rt.execution_providers.join(", "));
        }
        (None, Some(e)) => outln!("ONNX Runtime: not usable: {e}"),
        (None, None) => outln!("ONNX Runtime: not usable"),
    }
    if r.cuda_usable {
        outln!("CUDA: usable (CUDAExecutionProvider available)");
    } else if r.onnxruntime.is_some() {
        outln!(
            "CUDA: not usable (this ONNX Runtime has no CUDAExecutionProvider; for a GPU run \
             `ci/setup-onnxruntime.sh --gpu` and `source .ort/gpu.env`); ONNX plugins run on CPU"
        );
    } else {
        outln!("CUDA: unknown (ONNX Runtime not loaded)");
    }
    let env = |v: &Option<String>| v.clone().unwrap_or_else(|| "unset".into());
    outln!(
        "threads: {} available (RAYON_NUM_THREADS {}, POLARS_MAX_THREADS {})",
        r.threads_available,
        env(&r.rayon_num_threads),
        env(&r.polars_max_threads)
    );
}
