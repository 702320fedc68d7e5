//! The command surface: version, doctor, schemas, validate.

use super::{cpbench, root};

#[test]
fn version_names_the_commit() {
    let out = cpbench().arg("--version").assert().success();
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.starts_with(&format!("cpbench {} (commit ", env!("CARGO_PKG_VERSION"))), "{text}");
}

#[test]
fn doctor_finds_onnxruntime() {
    // cargo's [env] points ORT_DYLIB_PATH at the library ci/setup-onnxruntime.sh installed.
    let out = cpbench().args(["doctor", "--json"]).assert().success();
    let v: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(v["onnxruntime"]["version"], "1.31.1");
    let eps: Vec<&str> = v["onnxruntime"]["execution_providers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert!(eps.contains(&"CPUExecutionProvider"), "{eps:?}");
    assert!(v["threads_available"].as_u64().unwrap() >= 1);
}

#[test]
fn doctor_says_what_to_run_when_onnxruntime_is_missing() {
    let out = cpbench()
        .arg("doctor")
        .env("ORT_DYLIB_PATH", "/nonexistent/libonnxruntime.so")
        .assert()
        .code(1);
    let text = String::from_utf8_lossy(&out.get_output().stdout).into_owned();
    assert!(text.contains("ci/setup-onnxruntime.sh"), "{text}");
    assert!(text.contains("/nonexistent/libonnxruntime.so"), "{text}");
}

#[test]
fn committed_schemas_are_current() {
    let dir = tempfile::tempdir().unwrap();
    cpbench().arg("schemas").arg(dir.path()).assert().success();
    for name in ["benchmark", "plugin", "audit", "result"] {
        let file = format!("{name}.schema.json");
        let fresh = std::fs::read_to_string(dir.path().join(&file)).unwrap();
        let committed = std::fs::read_to_string(root().join("ci/schemas").join(&file))
            .unwrap_or_else(|_| panic!("ci/schemas/{file} is missing"));
        assert!(
            fresh == committed,
            "ci/schemas/{file} is stale: run `cargo run -p cpbench -- schemas ci/schemas`"
        );
    }
}
