//! ONNX Runtime foundation against the real library in `.ort/` and the tiny fixture models
//! (`tests/golden/make_tiny_onnx.py`). Needs `ci/setup-onnxruntime.sh` to have run.

use std::path::{Path, PathBuf};
use std::process::Command;

use cpbench_host::HostError;
use cpbench_host::onnx::{
    ElementType, OnnxModel, Provider, RuntimeSource, TensorInfo, TensorInput, init_runtime,
    locate_runtime,
};
use ndarray::{Array2, ArrayD, IxDyn};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("harness/host has two ancestors")
        .to_path_buf()
}

fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures/onnx").join(name)
}

/// The fixed input and numpy's expected output written next to a fixture model.
struct Expected {
    input_shape: Vec<usize>,
    input: Vec<f64>,
    output_shape: Vec<usize>,
    output: Vec<f64>,
    tolerance: f64,
}

fn expected(name: &str) -> Expected {
    let text = std::fs::read_to_string(fixture(name)).expect("fixture JSON");
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    let shape = |v: &Value| -> Vec<usize> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|d| d.as_u64().unwrap() as usize)
            .collect()
    };
    fn flatten(v: &Value, out: &mut Vec<f64>) {
        match v {
            Value::Array(items) => items.iter().for_each(|i| flatten(i, out)),
            other => out.push(other.as_f64().unwrap()),
        }
    }
    let mut input = Vec::new();
    flatten(&doc["input"]["data"], &mut input);
    let mut output = Vec::new();
    flatten(&doc["output"]["data"], &mut output);
    Expected {
        input_shape: shape(&doc["input"]["shape"]),
        input,
        output_shape: shape(&doc["output"]["shape"]),
        output,
        tolerance: doc["tolerance"].as_f64().unwrap(),
    }
}

fn assert_close(got: &ArrayD<f32>, exp: &Expected) {
    assert_eq!(got.shape(), exp.output_shape.as_slice());
    for (i, (g, e)) in got.iter().zip(&exp.output).enumerate() {
        assert!(
            (f64::from(*g) - e).abs() <= exp.tolerance,
            "element {i}: got {g}, expected {e}"
        );
    }
}

fn load_cpu(name: &str) -> OnnxModel {
    OnnxModel::load(fixture(name), &[Provider::Cpu], false, Some(1)).expect("load fixture model")
}

#[test]
fn runtime_is_found_and_reports_version_1_31_1() {
    let loc = locate_runtime().unwrap();
    assert!(loc.path.is_file());
    let info = init_runtime().unwrap();
    assert_eq!(info.version, "1.31.1");
    assert_eq!(info.path, loc.path);
    assert_eq!(info.source, loc.source);
    assert!(
        info.available_providers
            .iter()
            .any(|p| p == "CPUExecutionProvider"),
        "{:?}",
        info.available_providers
    );
    assert_eq!(
        info.cuda_available,
        info.available_providers
            .iter()
            .any(|p| p == "CUDAExecutionProvider")
    );
    // Same object on every call: loaded once.
    assert!(std::ptr::eq(info, init_runtime().unwrap()));
    eprintln!("ONNX Runtime: {info:?}");
}

#[test]
fn tiny_linear_has_the_expected_inputs_and_outputs() {
    let model = load_cpu("tiny_linear.onnx");
    assert_eq!(
        model.inputs(),
        &[TensorInfo {
            name: "x".into(),
            element_type: ElementType::Float32,
            dims: vec![-1, 4],
            dim_names: vec![Some("N".into()), None],
        }]
    );
    assert_eq!(
        model.outputs(),
        &[TensorInfo {
            name: "y".into(),
            element_type: ElementType::Float32,
            dims: vec![-1, 3],
            dim_names: vec![Some("N".into()), None],
        }]
    );
    assert_eq!(model.execution_provider(), "CPUExecutionProvider");
    assert!(model.fallbacks().is_empty());
    assert_eq!(model.path(), fixture("tiny_linear.onnx"));
}

#[test]
fn tiny_linear_output_matches_numpy() {
    let exp = expected("tiny_linear.expected.json");
    let x: Vec<f32> = exp.input.iter().map(|&v| v as f32).collect();
    let x = ArrayD::from_shape_vec(IxDyn(&exp.input_shape), x).unwrap();
    let mut model = load_cpu("tiny_linear.onnx");
    let y = model.run_f32(&[("x", x.view())], "y").unwrap();
    assert_close(&y, &exp);
    // A second run on the same session gives the same answer.
    assert_eq!(model.run_f32(&[("x", x.view())], "y").unwrap(), y);
}

#[test]
fn non_contiguous_input_is_laid_out_for_the_runtime() {
    let exp = expected("tiny_linear.expected.json");
    let x: Vec<f32> = exp.input.iter().map(|&v| v as f32).collect();
    let (n, d) = (exp.input_shape[0], exp.input_shape[1]);
    // Store x transposed in memory and pass the transposed view: same logical [n, d] array,
    // column-major strides.
    let xt = Array2::from_shape_vec((n, d), x)
        .unwrap()
        .reversed_axes()
        .as_standard_layout()
        .into_owned();
    let view = xt.t().into_dyn();
    assert!(!view.is_standard_layout());
    let mut model = load_cpu("tiny_linear.onnx");
    let y = model.run_f32(&[("x", view)], "y").unwrap();
    assert_close(&y, &exp);
}

#[test]
fn int64_indices_run_an_embedding_lookup() {
    let exp = expected("tiny_embedding.expected.json");
    let idx: Vec<i64> = exp.input.iter().map(|&v| v as i64).collect();
    let idx = ArrayD::from_shape_vec(IxDyn(&exp.input_shape), idx).unwrap();
    let mut model = load_cpu("tiny_embedding.onnx");
    assert_eq!(model.inputs()[0].element_type, ElementType::Int64);
    assert_eq!(model.inputs()[0].dims, vec![-1]);
    let y = model
        .run(&[("indices", TensorInput::from(idx.view()))], "embedding")
        .unwrap();
    assert_close(&y, &exp);
}

#[test]
fn cuda_then_cpu_records_the_provider_that_ran() {
    let info = init_runtime().unwrap();
    let model = OnnxModel::load(
        fixture("tiny_linear.onnx"),
        &[Provider::Cuda, Provider::Cpu],
        false,
        None,
    )
    .unwrap();
    if info.cuda_available {
        // GPU build: CUDA runs if a GPU is usable, otherwise the CPU with a recorded reason.
        match model.provider() {
            Provider::Cuda => assert_eq!(model.execution_provider(), "CUDAExecutionProvider"),
            Provider::Cpu => assert_eq!(model.fallbacks()[0].provider, Provider::Cuda),
        }
    } else {
        assert_eq!(model.execution_provider(), "CPUExecutionProvider");
        assert_eq!(model.fallbacks().len(), 1);
        assert_eq!(model.fallbacks()[0].provider, Provider::Cuda);
        assert!(
            model.fallbacks()[0]
                .reason
                .contains("without the CUDA execution provider"),
            "{:?}",
            model.fallbacks()
        );
    }
}

#[test]
fn cuda_alone_still_falls_back_to_the_cpu() {
    let info = init_runtime().unwrap();
    let model =
        OnnxModel::load(fixture("tiny_linear.onnx"), &[Provider::Cuda], false, None).unwrap();
    if !info.cuda_available {
        assert_eq!(model.execution_provider(), "CPUExecutionProvider");
    }
}

#[test]
fn require_gpu_without_cuda_is_an_error_that_says_why() {
    let info = init_runtime().unwrap();
    let path = fixture("tiny_linear.onnx");
    let result = OnnxModel::load(&path, &[Provider::Cuda, Provider::Cpu], true, None);
    if info.cuda_available {
        // Only meaningful on a CPU build; on a GPU build success or a CUDA error are both fine.
        if let Err(e) = result {
            assert!(e.to_string().contains("CUDA"), "{e}");
        }
        return;
    }
    let err = result.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HostError::CudaRequired { .. }), "{msg}");
    assert!(msg.contains("CUDA was required"), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
    assert!(msg.contains("CUDA execution provider"), "{msg}");
    assert!(msg.contains("ci/setup-onnxruntime.sh --gpu"), "{msg}");
}

#[test]
fn require_gpu_without_cuda_in_the_list_is_an_error() {
    let err =
        OnnxModel::load(fixture("tiny_linear.onnx"), &[Provider::Cpu], true, None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HostError::CudaRequired { .. }), "{msg}");
    assert!(msg.contains("do not include cuda"), "{msg}");
}

#[test]
fn missing_model_file_is_an_error_naming_it() {
    let path = fixture("no_such_model.onnx");
    let err = OnnxModel::load(&path, &[Provider::Cpu], false, None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HostError::ModelNotFound { .. }), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[test]
fn corrupt_model_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.onnx");
    std::fs::write(&path, b"this is not a protobuf").unwrap();
    let err = OnnxModel::load(&path, &[Provider::Cpu], false, None).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HostError::ModelLoad { .. }), "{msg}");
    assert!(msg.contains(&path.display().to_string()), "{msg}");
}

#[test]
fn bad_inputs_and_outputs_are_errors_naming_model_and_tensor() {
    let mut model = load_cpu("tiny_linear.onnx");
    let model_path = fixture("tiny_linear.onnx").display().to_string();
    let x = ArrayD::<f32>::zeros(IxDyn(&[2, 4]));
    let check = |result: Result<ArrayD<f32>, HostError>, needles: &[&str]| {
        let msg = result.unwrap_err().to_string();
        assert!(msg.contains(&model_path), "{msg}");
        for needle in needles {
            assert!(msg.contains(needle), "missing {needle:?} in: {msg}");
        }
    };

    check(model.run_f32(&[("z", x.view())], "y"), &["'z'", "'x'"]);
    check(model.run_f32(&[], "y"), &["needs input 'x'"]);
    check(
        model.run_f32(&[("x", x.view()), ("x", x.view())], "y"),
        &["'x'", "more than once"],
    );
    check(
        model.run_f32(&[("x", x.view())], "nope"),
        &["'nope'", "'y'"],
    );
    let wide = ArrayD::<f32>::zeros(IxDyn(&[2, 5]));
    check(
        model.run_f32(&[("x", wide.view())], "y"),
        &["'x'", "[-1, 4]", "[2, 5]"],
    );
    let idx = ArrayD::<i64>::zeros(IxDyn(&[2, 4]));
    check(
        model.run(&[("x", TensorInput::from(idx.view()))], "y"),
        &["'x'", "must be f32, got i64"],
    );
}

#[test]
fn provider_names_parse_and_print() {
    assert_eq!("cuda".parse::<Provider>().unwrap(), Provider::Cuda);
    assert_eq!("CPU".parse::<Provider>().unwrap(), Provider::Cpu);
    assert_eq!(
        "CUDAExecutionProvider".parse::<Provider>().unwrap(),
        Provider::Cuda
    );
    let err = "tensorrt".parse::<Provider>().unwrap_err().to_string();
    assert!(
        err.contains("'tensorrt'") && err.contains("'cuda' or 'cpu'"),
        "{err}"
    );
    assert_eq!(Provider::Cpu.to_string(), "cpu");
    assert_eq!(Provider::Cpu.ort_name(), "CPUExecutionProvider");
    assert_eq!(Provider::Cuda.ort_name(), "CUDAExecutionProvider");
}

#[test]
fn onnx_model_can_move_to_a_worker_thread() {
    fn assert_send<T: Send>() {}
    assert_send::<OnnxModel>();
}

// ---- Process-wide loading, checked in child processes --------------------------------------
//
// The runtime is loaded once per process, so each scenario runs in a fresh copy of this test
// binary that executes only `child_scenario`, selected by CHILD_ENV.

const CHILD_ENV: &str = "CPBENCH_HOST_TEST_CHILD";
const CHILD_OK: &str = "child scenario passed";

/// Runs `child_scenario` in a new process with `scenario`, the given ORT_DYLIB_PATH (None:
/// removed) and working directory; returns its combined output after checking it passed.
fn run_child(scenario: &str, ort_dylib_path: Option<&Path>, cwd: &Path) -> String {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args([
        "--exact",
        "child_scenario",
        "--nocapture",
        "--test-threads=1",
    ])
    .env(CHILD_ENV, scenario)
    .current_dir(cwd);
    match ort_dylib_path {
        Some(p) => cmd.env("ORT_DYLIB_PATH", p),
        None => cmd.env_remove("ORT_DYLIB_PATH"),
    };
    let out = cmd.output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "child {scenario} failed:\n{text}");
    assert!(
        text.contains(CHILD_OK),
        "child {scenario} did not run:\n{text}"
    );
    text
}

#[test]
fn child_scenario() {
    let Ok(scenario) = std::env::var(CHILD_ENV) else {
        return; // Only does something when started by run_child.
    };
    let path = std::env::var_os("ORT_DYLIB_PATH").map(PathBuf::from);
    match scenario.as_str() {
        "not-a-library" | "not-onnxruntime" => {
            let path = path.unwrap();
            for _ in 0..2 {
                // Twice: a failure is not cached as success and never panics.
                let err = init_runtime().unwrap_err();
                let msg = err.to_string();
                assert!(matches!(err, HostError::RuntimeLoad { .. }), "{msg}");
                assert!(msg.contains(&path.display().to_string()), "{msg}");
                assert!(msg.contains("ci/setup-onnxruntime.sh"), "{msg}");
                eprintln!("{msg}");
            }
            let err = OnnxModel::load(fixture("tiny_linear.onnx"), &[Provider::Cpu], false, None)
                .unwrap_err();
            assert!(matches!(err, HostError::RuntimeLoad { .. }), "{err}");
        }
        "env-path-missing" => {
            let err = init_runtime().unwrap_err();
            let msg = err.to_string();
            assert!(
                matches!(err, HostError::RuntimeEnvPathMissing { .. }),
                "{msg}"
            );
            assert!(msg.contains("ORT_DYLIB_PATH"), "{msg}");
            assert!(msg.contains(&path.unwrap().display().to_string()), "{msg}");
            eprintln!("{msg}");
        }
        "repository" => {
            let info = init_runtime().unwrap();
            assert_eq!(info.source, RuntimeSource::RepositoryOrt);
            assert_eq!(info.version, "1.31.1");
            let mut model = load_cpu("tiny_linear.onnx");
            let x = ArrayD::<f32>::zeros(IxDyn(&[1, 4]));
            let y = model.run_f32(&[("x", x.view())], "y").unwrap();
            assert_eq!(y.shape(), &[1, 3]);
        }
        other => panic!("unknown scenario {other}"),
    }
    println!("{CHILD_OK}");
}

#[test]
fn a_file_that_is_not_a_library_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("libonnxruntime.so.1.31.1");
    std::fs::write(&fake, b"not an ELF file").unwrap();
    run_child("not-a-library", Some(&fake), &repo_root());
}

#[test]
fn a_library_that_is_not_onnx_runtime_is_an_error_not_a_panic() {
    // A real shared library without OrtGetApiBase, shipped next to the runtime.
    let other = repo_root().join(".ort/lib/libonnxruntime_providers_shared.so");
    assert!(other.is_file(), "run ci/setup-onnxruntime.sh");
    run_child("not-onnxruntime", Some(&other), &repo_root());
}

#[test]
fn ort_dylib_path_naming_no_file_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    run_child(
        "env-path-missing",
        Some(&dir.path().join("missing.so")),
        &repo_root(),
    );
}

#[test]
fn without_ort_dylib_path_the_repository_copy_is_loaded_from_anywhere() {
    // Runs outside the repository, so only the test executable's location (target/ inside the
    // repository) can lead to .ort/lib.
    let exe = std::env::current_exe().unwrap();
    if !exe.starts_with(repo_root()) {
        eprintln!(
            "skipped: target directory {} is outside the repository",
            exe.display()
        );
        return;
    }
    let elsewhere = tempfile::tempdir().unwrap();
    run_child("repository", None, elsewhere.path());
}
