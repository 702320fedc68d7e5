//! plugins/deepsets through the Rust set-encoder runner (`OnnxPlugin::encode_sets`), against
//! Python ONNX Runtime's outputs written by plugins/deepsets/train.py
//! (tests/fixtures/onnx/deepsets.expected.json), plus the invariances the architecture
//! promises. Needs `ci/setup-onnxruntime.sh` to have run.

use std::path::{Path, PathBuf};

use cpbench_core::manifest::{OnnxShape, OnnxSpec, load_plugin};
use cpbench_host::onnx::OnnxPlugin;
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("harness/host has two ancestors")
        .to_path_buf()
}

fn shipped() -> (OnnxSpec, PathBuf) {
    let dir = repo_root().join("plugins/deepsets");
    let loaded = load_plugin(&dir.join("plugin.toml")).expect("plugins/deepsets/plugin.toml");
    (loaded.manifest.onnx.expect("an onnx plugin"), dir)
}

fn fixture() -> Value {
    let path = repo_root().join("tests/fixtures/onnx/deepsets.expected.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("fixture")).expect("JSON")
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

/// The fixture's sets: all members row-major, their width and the set offsets.
fn sets(doc: &Value) -> (Vec<f32>, usize, Vec<usize>) {
    let d = doc["input"]["d"].as_u64().unwrap() as usize;
    let offsets = doc["input"]["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap() as usize)
        .collect();
    (floats(&doc["input"]["data"]), d, offsets)
}

fn load(spec: &OnnxSpec, dir: &Path) -> OnnxPlugin {
    OnnxPlugin::load_with_threads(spec, dir, Some(1)).expect("plugin loads")
}

fn assert_close(got: &[f32], want: &[f32], rtol: f32, atol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}: element {i}: got {g}, expected {w}"
        );
    }
}

#[test]
fn deepsets_matches_python_onnxruntime_at_any_batch_size() {
    let doc = fixture();
    let (mut spec, dir) = shipped();
    let (x, d, offsets) = sets(&doc);
    let want = floats(&doc["output"]["data"]);
    let (rtol, atol) = (
        doc["rtol"].as_f64().unwrap() as f32,
        doc["atol"].as_f64().unwrap() as f32,
    );
    // Python ran each set alone; here sets of 1 to 12 cells share padded batches.
    for batch_size in [1, 2, 64] {
        spec.batch_size = batch_size;
        let plugin = load(&spec, &dir);
        assert_eq!(
            plugin.sha256(),
            doc["model_sha256"].as_str().unwrap(),
            "plugins/deepsets/model.onnx changed since the fixture: rerun plugins/deepsets/train.py"
        );
        assert_eq!(plugin.shape(), OnnxShape::Set);
        assert_eq!(plugin.output_dim(), 16);
        assert_eq!(plugin.features().map(<[String]>::len), Some(d));
        let got = plugin.encode_sets(&x, d, &offsets).unwrap();
        assert_eq!(got.chunked_sets, 0);
        assert_close(
            &got.values,
            &want,
            rtol,
            atol,
            &format!("batch size {batch_size}"),
        );
    }
}

#[test]
fn deepsets_ignores_cell_order_and_additive_well_effects() {
    let doc = fixture();
    let (spec, dir) = shipped();
    let plugin = load(&spec, &dir);
    let (x, d, offsets) = sets(&doc);
    let base = plugin.encode_sets(&x, d, &offsets).unwrap().values;

    // Reverse the cells within every set: a set function must not notice.
    let mut reversed = Vec::with_capacity(x.len());
    for pair in offsets.windows(2) {
        for row in (pair[0]..pair[1]).rev() {
            reversed.extend_from_slice(&x[row * d..(row + 1) * d]);
        }
    }
    let got = plugin.encode_sets(&reversed, d, &offsets).unwrap().values;
    assert_close(&got, &base, 1e-4, 1e-5, "cells reversed");

    // Add a different constant vector to each set's cells (a plate or well offset): the model
    // centres every set first, so the embedding stays.
    let mut shifted = x.clone();
    for (s, pair) in offsets.windows(2).enumerate() {
        for row in pair[0]..pair[1] {
            for (j, v) in shifted[row * d..(row + 1) * d].iter_mut().enumerate() {
                *v += 0.5 * (s as f32 + 1.0) * if j % 2 == 0 { 1.0 } else { -1.0 };
            }
        }
    }
    let got = plugin.encode_sets(&shifted, d, &offsets).unwrap().values;
    assert_close(&got, &base, 1e-3, 1e-4, "additive shift per set");
}
