//! ONNX plugins (`OnnxPlugin`) on the shipped models and the tiny set and image models, against
//! Python onnxruntime's outputs on the same inputs (`tests/golden/make_onnx_plugin_fixtures.py`).
//! Needs `ci/setup-onnxruntime.sh` to have run.

use std::path::{Path, PathBuf};

use cpbench_core::manifest::{
    ExecutionProvider, Layout, OnnxShape, OnnxSpec, Vocabulary, load_plugin,
};
use cpbench_host::HostError;
use cpbench_host::onnx::{OnnxPlugin, Provider, init_runtime};
use serde_json::Value;

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("harness/host has two ancestors")
        .to_path_buf()
}

fn fixtures() -> PathBuf {
    repo_root().join("tests/fixtures/onnx")
}

/// The `[onnx]` table and folder of a shipped plugin, through the manifest loader.
fn shipped(id: &str) -> (OnnxSpec, PathBuf) {
    let dir = repo_root().join("plugins").join(id);
    let loaded = load_plugin(&dir.join("plugin.toml")).expect("shipped plugin.toml is valid");
    (loaded.manifest.onnx.expect("an onnx plugin"), dir)
}

/// A spec for one of the tiny test models in tests/fixtures/onnx.
fn tiny(model: &str, shape: OnnxShape, input: &str, output: &str) -> OnnxSpec {
    OnnxSpec {
        model: PathBuf::from(model),
        sha256: None,
        shape,
        input: input.into(),
        output: output.into(),
        mask_input: None,
        layout: None,
        batch_size: 256,
        execution_providers: vec![ExecutionProvider::Cpu],
        require_gpu: false,
        scale: None,
        vocabulary: None,
        features: None,
        max_set_size: None,
    }
}

fn set_spec() -> OnnxSpec {
    OnnxSpec {
        mask_input: Some("mask".into()),
        ..tiny("tiny_set.onnx", OnnxShape::Set, "cells", "profile")
    }
}

fn load(spec: &OnnxSpec, dir: &Path) -> OnnxPlugin {
    OnnxPlugin::load_with_threads(spec, dir, Some(1)).expect("plugin loads")
}

fn expected(case: &str) -> Value {
    let path = fixtures().join(format!("{case}.expected.json"));
    let text = std::fs::read_to_string(&path).expect("fixture JSON");
    serde_json::from_str(&text).expect("valid JSON")
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array of numbers")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

fn usizes(v: &Value) -> Vec<usize> {
    v.as_array()
        .expect("array of integers")
        .iter()
        .map(|x| x.as_u64().expect("integer") as usize)
        .collect()
}

/// Element-wise `|got - want| <= atol + rtol * |want|`.
fn assert_close(got: &[f32], want: &[f32], rtol: f32, atol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= atol + rtol * w.abs(),
            "{what}: element {i}: got {g}, expected {w}"
        );
    }
}

/// Compares with the fixture's own tolerance.
fn assert_matches_fixture(got: &[f32], doc: &Value, key: &str, what: &str) {
    let rtol = doc["rtol"].as_f64().unwrap() as f32;
    let atol = doc["atol"].as_f64().unwrap() as f32;
    assert_close(got, &floats(&doc[key]["data"]), rtol, atol, what);
}

/// Fails with the command to run when a model changed after its fixture was written.
fn assert_fixture_is_current(plugin: &OnnxPlugin, sha: &Value) {
    assert_eq!(
        plugin.sha256(),
        sha.as_str().unwrap(),
        "{} changed since its fixture was written: rerun the script named in the fixture's `generator` field",
        plugin.model_path().display()
    );
}

// ---- per-profile encoder: plugins/contrastive-mlp ------------------------------------------

#[test]
fn contrastive_mlp_matches_python_onnxruntime() {
    let doc = expected("contrastive_mlp");
    let (spec, dir) = shipped("contrastive-mlp");
    let plugin = load(&spec, &dir);
    assert_fixture_is_current(&plugin, &doc["model_sha256"]);
    assert_eq!(plugin.shape(), OnnxShape::Profile);
    assert_eq!(plugin.output_dim(), 64);
    assert_eq!(plugin.input_dim(), Some(454));
    assert_eq!(plugin.features().map(<[String]>::len), Some(454));

    let shape = usizes(&doc["input"]["shape"]);
    let x = floats(&doc["input"]["data"]);
    let y = plugin.encode_profiles(&x, shape[0], shape[1]).unwrap();
    assert_matches_fixture(&y, &doc, "output", "contrastive-mlp embedding");
    // The exported graph L2-normalizes its output.
    for row in y.chunks(64) {
        let norm: f32 = row.iter().map(|v| v * v).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "row norm {norm}");
    }
}

#[test]
fn profile_output_does_not_depend_on_batch_size() {
    let doc = expected("contrastive_mlp");
    let (mut spec, dir) = shipped("contrastive-mlp");
    let shape = usizes(&doc["input"]["shape"]);
    let x = floats(&doc["input"]["data"]);
    let mut outputs = Vec::new();
    for batch_size in [1, 2, 256] {
        spec.batch_size = batch_size;
        let plugin = load(&spec, &dir);
        assert_eq!(plugin.batch_size(), batch_size as usize);
        outputs.push(plugin.encode_profiles(&x, shape[0], shape[1]).unwrap());
    }
    assert_close(&outputs[0], &outputs[2], 1e-6, 1e-7, "batch 1 vs 256");
    assert_close(&outputs[1], &outputs[2], 1e-6, 1e-7, "batch 2 vs 256");
}

#[test]
fn feature_columns_are_picked_by_name_in_the_models_order() {
    let (spec, dir) = shipped("contrastive-mlp");
    let plugin = load(&spec, &dir);
    let features = plugin.features().unwrap().to_vec();
    let mut available: Vec<String> = features.iter().rev().cloned().collect();
    available.insert(7, "Cells_Extra_Feature".into());
    let columns = plugin.feature_columns(&available).unwrap();
    assert_eq!(columns.len(), features.len());
    for (f, &c) in features.iter().zip(&columns) {
        assert_eq!(&available[c], f);
    }

    let mut short = features.clone();
    let dropped = short.remove(3);
    short.pop();
    let err = plugin.feature_columns(&short).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HostError::OnnxInput { .. }), "{msg}");
    assert!(msg.contains("2 of the model's 454 input features"), "{msg}");
    assert!(msg.contains(&dropped), "{msg}");
    assert!(msg.contains(features.last().unwrap()), "{msg}");

    let err = plugin
        .encode_profiles(&[0.0; 8], 2, 4)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("'profiles'") && err.contains("[2, 4]"),
        "{err}"
    );
    let err = plugin
        .encode_profiles(&[0.0; 10], 3, 454)
        .unwrap_err()
        .to_string();
    assert!(err.contains("10 values given for 3 profiles"), "{err}");
}

// ---- image encoder: plugins/cnn1 and the tiny NCHW / NHWC pair -----------------------------

/// The crops of cnn1.expected.json, from the formula recorded there.
fn cnn1_pixels(n: usize, c: usize, h: usize, w: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(n * c * h * w);
    for ni in 0..n {
        for ci in 0..c {
            for y in 0..h {
                for x in 0..w {
                    let k = (ni * 131 + ci * 71 + y * 37 + x * 13 + y * x * 7) % 251;
                    out.push(k as f32 / 256.0 - 0.5);
                }
            }
        }
    }
    out
}

#[test]
fn cnn1_fixture_matches_python_onnxruntime_at_any_batch_size() {
    let doc = expected("cnn1");
    let (mut spec, dir) = shipped("cnn1");
    assert_eq!(spec.layout, Some(Layout::Nchw));
    assert_eq!(spec.batch_size, 256);
    let shape = usizes(&doc["input"]["shape"]);
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
    assert_eq!((c, h, w), (5, 128, 128), "CNN-1's crop contract");
    let pixels = cnn1_pixels(n, c, h, w);
    let sum: f64 = pixels.iter().map(|&p| f64::from(p)).sum();
    assert_eq!(
        sum,
        doc["input"]["sum"].as_f64().unwrap(),
        "pixel formula differs"
    );

    let plugin = load(&spec, &dir);
    assert_fixture_is_current(&plugin, &doc["model_sha256"]);
    assert_eq!(plugin.output_dim(), 672);
    let y = plugin.encode_images(&pixels, n, c, h, w).unwrap();
    assert_matches_fixture(&y, &doc, "output", "cnn1 features");

    spec.batch_size = 2;
    let y2 = load(&spec, &dir)
        .encode_images(&pixels, n, c, h, w)
        .unwrap();
    assert_close(&y2, &y, 1e-5, 1e-6, "batch 2 vs 256");
}

fn image_spec(layout: Layout, scale: Option<Vec<f32>>, batch_size: u32) -> OnnxSpec {
    let model = match layout {
        Layout::Nchw => "tiny_image_nchw.onnx",
        Layout::Nhwc => "tiny_image_nhwc.onnx",
    };
    OnnxSpec {
        layout: Some(layout),
        scale,
        batch_size,
        ..tiny(model, OnnxShape::Image, "images", "features")
    }
}

#[test]
fn nhwc_layout_and_channel_scale_match_python_onnxruntime() {
    let doc = expected("tiny_image");
    let shape = usizes(&doc["input"]["shape"]);
    let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3]);
    let pixels = floats(&doc["input"]["data"]);
    let scale = floats(&doc["scale"]);

    let plain = load(&image_spec(Layout::Nchw, None, 256), &fixtures());
    assert_fixture_is_current(&plain, &doc["models"]["NCHW"]["model_sha256"]);
    let y = plain.encode_images(&pixels, n, c, h, w).unwrap();
    assert_matches_fixture(&y, &doc, "output_nchw_unscaled", "NCHW, unscaled");

    for batch_size in [1, 3, 256] {
        let nhwc = load(
            &image_spec(Layout::Nhwc, Some(scale.clone()), batch_size),
            &fixtures(),
        );
        assert_fixture_is_current(&nhwc, &doc["models"]["NHWC"]["model_sha256"]);
        let y = nhwc.encode_images(&pixels, n, c, h, w).unwrap();
        assert_matches_fixture(
            &y,
            &doc,
            "output_nhwc_scaled",
            &format!("NHWC, scaled, batch {batch_size}"),
        );
        // The same network fed NCHW with the same scale gives the same features.
        let nchw = load(
            &image_spec(Layout::Nchw, Some(scale.clone()), batch_size),
            &fixtures(),
        );
        let y_nchw = nchw.encode_images(&pixels, n, c, h, w).unwrap();
        assert_close(&y_nchw, &y, 1e-5, 1e-6, "NCHW vs NHWC with scale");
    }
}

#[test]
fn image_inputs_that_do_not_fit_are_refused() {
    let err = OnnxPlugin::load(
        &image_spec(Layout::Nchw, Some(vec![1.0, 2.0]), 8),
        &fixtures(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HostError::OnnxContract { .. }), "{msg}");
    assert!(msg.contains("`scale` lists 2 multipliers"), "{msg}");
    assert!(msg.contains("3 channels"), "{msg}");

    // An NHWC model declared as NCHW: the channel check fails on the first run, naming shapes.
    let wrong = OnnxSpec {
        model: "tiny_image_nhwc.onnx".into(),
        ..image_spec(Layout::Nchw, None, 8)
    };
    let plugin = load(&wrong, &fixtures());
    let err = plugin
        .encode_images(&vec![0.0; 2 * 3 * 8 * 8], 2, 3, 8, 8)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("[-1, 8, 8, 3]") && err.contains("[2, 3, 8, 8]"),
        "{err}"
    );

    let plugin = load(&image_spec(Layout::Nchw, None, 8), &fixtures());
    let err = plugin
        .encode_images(&[0.0; 5], 1, 3, 8, 8)
        .unwrap_err()
        .to_string();
    assert!(err.contains("5 pixel values given for 1 crops"), "{err}");
    let err = plugin
        .encode_profiles(&[0.0; 4], 1, 4)
        .unwrap_err()
        .to_string();
    assert!(err.contains("`shape = \"image\"`"), "{err}");
}

// ---- set encoder: the tiny masked-mean-then-linear model -----------------------------------

struct Sets {
    members: Vec<f32>,
    d: usize,
    offsets: Vec<usize>,
}

fn tiny_sets(doc: &Value) -> Sets {
    Sets {
        members: floats(&doc["members"]),
        d: doc["d"].as_u64().unwrap() as usize,
        offsets: usizes(&doc["offsets"]),
    }
}

#[test]
fn set_encoder_matches_python_onnxruntime() {
    let doc = expected("tiny_set");
    let sets = tiny_sets(&doc);
    let plugin = load(&set_spec(), &fixtures());
    assert_fixture_is_current(&plugin, &doc["model_sha256"]);
    assert_eq!(plugin.output_dim(), 3);
    assert_eq!(plugin.max_set_size(), None);
    let out = plugin
        .encode_sets(&sets.members, sets.d, &sets.offsets)
        .unwrap();
    assert_eq!(out.chunked_sets, 0);
    assert_eq!(out.items, sets.offsets.len() - 1);
    assert_matches_fixture(&out.values, &doc, "output", "set encoder");

    // The same network with an int64 mask input gets an int64 mask.
    let int_mask = OnnxSpec {
        model: "tiny_set_int_mask.onnx".into(),
        ..set_spec()
    };
    let plugin = load(&int_mask, &fixtures());
    assert_fixture_is_current(&plugin, &doc["int_mask_model_sha256"]);
    let out = plugin
        .encode_sets(&sets.members, sets.d, &sets.offsets)
        .unwrap();
    assert_matches_fixture(&out.values, &doc, "output", "set encoder, int64 mask");
}

#[test]
fn a_sets_output_does_not_depend_on_what_shares_its_batch() {
    let doc = expected("tiny_set");
    let sets = tiny_sets(&doc);
    let k = 3;
    // Each set alone: no padding at all.
    let alone_plugin = load(&set_spec(), &fixtures());
    let mut alone = Vec::new();
    for pair in sets.offsets.windows(2) {
        let rows = &sets.members[pair[0] * sets.d..pair[1] * sets.d];
        let out = alone_plugin
            .encode_sets(rows, sets.d, &[0, pair[1] - pair[0]])
            .unwrap();
        alone.extend(out.values);
    }
    // Together, in batches of 1, 2 and all: padded to each batch's largest set.
    for batch_size in [1, 2, 256] {
        let plugin = load(
            &OnnxSpec {
                batch_size,
                ..set_spec()
            },
            &fixtures(),
        );
        let out = plugin
            .encode_sets(&sets.members, sets.d, &sets.offsets)
            .unwrap();
        assert_eq!(out.values.len(), alone.len());
        assert_close(
            &out.values,
            &alone,
            1e-6,
            1e-7,
            &format!("batch {batch_size} vs alone"),
        );
    }
    // Reversing the order of the sets reverses the rows of the output, nothing else.
    let n_sets = sets.offsets.len() - 1;
    let mut members = Vec::new();
    let mut offsets = vec![0];
    for s in (0..n_sets).rev() {
        members.extend_from_slice(
            &sets.members[sets.offsets[s] * sets.d..sets.offsets[s + 1] * sets.d],
        );
        offsets.push(offsets.last().unwrap() + sets.offsets[s + 1] - sets.offsets[s]);
    }
    let reversed = alone_plugin
        .encode_sets(&members, sets.d, &offsets)
        .unwrap();
    for s in 0..n_sets {
        assert_close(
            &reversed.values[(n_sets - 1 - s) * k..(n_sets - s) * k],
            &alone[s * k..(s + 1) * k],
            1e-6,
            1e-7,
            "reversed order",
        );
    }
}

#[test]
fn sets_larger_than_the_maximum_are_chunked_and_combined_by_size() {
    let doc = expected("tiny_set");
    let sets = tiny_sets(&doc);
    let sizes: Vec<usize> = sets.offsets.windows(2).map(|p| p[1] - p[0]).collect();
    for max in [1usize, 2, 3] {
        let spec = OnnxSpec {
            max_set_size: Some(max as u32),
            batch_size: 2,
            ..set_spec()
        };
        let plugin = load(&spec, &fixtures());
        assert_eq!(plugin.max_set_size(), Some(max));
        let out = plugin
            .encode_sets(&sets.members, sets.d, &sets.offsets)
            .unwrap();
        assert_eq!(
            out.chunked_sets,
            sizes.iter().filter(|&&s| s > max).count(),
            "max {max}"
        );
        assert_eq!(
            out.items,
            sizes.iter().map(|s| s.div_ceil(max)).sum::<usize>(),
            "max {max}"
        );
        // Exact up to rounding for a masked mean followed by a linear map.
        assert_matches_fixture(&out.values, &doc, "output", &format!("chunked at {max}"));
    }
}

#[test]
fn bad_set_offsets_are_refused() {
    let plugin = load(&set_spec(), &fixtures());
    let d = 6;
    let x = vec![0.5f32; 4 * d];
    let check = |offsets: &[usize], needle: &str| {
        let err = plugin.encode_sets(&x, d, offsets).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, HostError::OnnxInput { .. }), "{msg}");
        assert!(msg.contains(needle), "missing {needle:?} in: {msg}");
    };
    check(&[0, 2, 2, 4], "set 1 (rows 2..2) is empty");
    check(&[0, 3, 2, 4], "must not decrease");
    check(&[1, 4], "must start with 0");
    check(&[0, 3], "offsets end at row 3");
    check(&[], "must start with 0");
    let out = plugin.encode_sets(&[], d, &[0]).unwrap();
    assert!(out.values.is_empty());
}

// ---- embedding lookup: plugins/grape-embedding ---------------------------------------------

#[test]
fn grape_lookup_matches_python_onnxruntime_and_reports_missing_keys() {
    let doc = expected("grape_embedding");
    let (spec, dir) = shipped("grape-embedding");
    let plugin = load(&spec, &dir);
    assert_fixture_is_current(&plugin, &doc["model_sha256"]);
    assert_eq!(
        plugin.vocabulary().map(<[String]>::len),
        Some(doc["vocabulary_size"].as_u64().unwrap() as usize)
    );
    assert_eq!(plugin.output_dim(), 64);
    let keys: Vec<String> = doc["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    let out = plugin.lookup(&keys).unwrap();
    assert_eq!(out.found, usizes(&doc["found"]));
    let missing: Vec<String> = doc["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(out.missing, missing);
    assert!(!out.missing.is_empty());
    assert_matches_fixture(&out.values, &doc, "output", "gene embedding");

    // Batch size 1 gives the same rows.
    let one = load(
        &OnnxSpec {
            batch_size: 1,
            ..spec
        },
        &dir,
    );
    assert_eq!(one.lookup(&keys).unwrap(), out);
}

#[test]
fn a_vocabulary_longer_than_the_table_is_refused_at_load() {
    // tiny_embedding.onnx has 6 rows.
    let base = OnnxSpec {
        vocabulary: Some(Vocabulary::Inline(
            ["A", "B", "C", "D", "E", "F"].map(String::from).to_vec(),
        )),
        ..tiny(
            "tiny_embedding.onnx",
            OnnxShape::Lookup,
            "indices",
            "embedding",
        )
    };
    let plugin = load(&base, &fixtures());
    let out = plugin.lookup(&["F".into(), "G".into()]).unwrap();
    assert_eq!(out.found, [0]);
    assert_eq!(out.missing, ["G"]);

    let long = OnnxSpec {
        vocabulary: Some(Vocabulary::Inline(
            ["A", "B", "C", "D", "E", "F", "G"]
                .map(String::from)
                .to_vec(),
        )),
        ..base.clone()
    };
    let err = OnnxPlugin::load(&long, &fixtures()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HostError::OnnxContract { .. }), "{msg}");
    assert!(msg.contains("'G', index 6"), "{msg}");
    assert!(
        msg.contains("fewer rows than the vocabulary's 7 tokens"),
        "{msg}"
    );
}

#[test]
fn vocabulary_and_feature_files_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let model = fixtures().join("tiny_embedding.onnx");
    let lookup = |text: &str| {
        std::fs::write(dir.path().join("vocab.txt"), text).unwrap();
        OnnxPlugin::load(
            &OnnxSpec {
                model: model.clone(),
                vocabulary: Some(Vocabulary::File("vocab.txt".into())),
                ..tiny("", OnnxShape::Lookup, "indices", "embedding")
            },
            dir.path(),
        )
    };
    let plugin = lookup("A\r\nB\r\nC\r\n\r\n").unwrap();
    assert_eq!(plugin.vocabulary().unwrap(), ["A", "B", "C"]);
    let err = lookup("A\nB\nA\n").unwrap_err().to_string();
    assert!(
        err.contains("token 'A' is listed twice (entries 1 and 3)"),
        "{err}"
    );
    assert!(err.contains("vocab.txt"), "{err}");
    let err = lookup("A\n\nB\n").unwrap_err().to_string();
    assert!(err.contains("line 2 is empty"), "{err}");
    let err = lookup("\n").unwrap_err().to_string();
    assert!(err.contains("lists nothing"), "{err}");

    std::fs::write(dir.path().join("features.txt"), "f1\nf2\nf3\n").unwrap();
    let err = OnnxPlugin::load(
        &OnnxSpec {
            model: fixtures().join("tiny_linear.onnx"),
            features: Some("features.txt".into()),
            ..tiny("", OnnxShape::Profile, "x", "y")
        },
        dir.path(),
    )
    .unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HostError::OnnxContract { .. }), "{msg}");
    assert!(msg.contains("names 3 features"), "{msg}");
    assert!(msg.contains("'x' f32 [N, 4]"), "{msg}");
}

// ---- the manifest's contract with the model ------------------------------------------------

#[test]
fn a_model_that_does_not_fit_its_manifest_is_refused_at_load() {
    let check = |spec: OnnxSpec, needles: &[&str]| {
        let err = OnnxPlugin::load(&spec, &fixtures()).unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, HostError::OnnxContract { .. }), "{msg}");
        assert!(msg.contains("does not fit its plugin.toml"), "{msg}");
        for needle in needles {
            assert!(msg.contains(needle), "missing {needle:?} in: {msg}");
        }
    };
    let linear = || tiny("tiny_linear.onnx", OnnxShape::Profile, "x", "y");
    check(
        OnnxSpec {
            input: "profiles".into(),
            ..linear()
        },
        &["names input 'profiles'", "'x' f32 [N, 4]"],
    );
    check(
        OnnxSpec {
            output: "embedding".into(),
            ..linear()
        },
        &["names output 'embedding'", "'y' f32 [N, 3]"],
    );
    check(
        OnnxSpec {
            shape: OnnxShape::Image,
            ..linear()
        },
        &["[N, C, H, W] images", "'x' f32 [N, 4]"],
    );
    check(
        OnnxSpec {
            shape: OnnxShape::Lookup,
            ..linear()
        },
        &["[N] int64 indices"],
    );
    check(
        OnnxSpec {
            mask_input: None,
            ..set_spec()
        },
        &["needs `mask_input`"],
    );
    check(
        OnnxSpec {
            mask_input: Some("cells".into()),
            ..set_spec()
        },
        &["input 'mask' f32 [B, S] that plugin.toml does not name"],
    );
}

#[test]
fn a_model_whose_sha256_differs_is_refused_naming_file_and_both_hashes() {
    let (mut spec, dir) = shipped("contrastive-mlp");
    let pinned = spec.sha256.clone().unwrap();
    let wrong = "0".repeat(64);
    spec.sha256 = Some(wrong.clone());
    let err = OnnxPlugin::load(&spec, &dir).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HostError::ArtifactHash { .. }), "{msg}");
    assert!(
        msg.contains(&dir.join("model.onnx").display().to_string()),
        "{msg}"
    );
    assert!(msg.contains(&wrong), "{msg}");
    assert!(msg.contains(&pinned), "{msg}");
}

#[test]
fn cuda_then_cpu_records_the_provider_that_ran_and_why_cuda_was_skipped() {
    let info = init_runtime().unwrap();
    let (spec, dir) = shipped("cnn1");
    assert_eq!(
        spec.execution_providers,
        [ExecutionProvider::Cuda, ExecutionProvider::Cpu]
    );
    let plugin = OnnxPlugin::load(&spec, &dir).unwrap();
    if info.cuda_available && plugin.provider() == Provider::Cuda {
        assert_eq!(plugin.execution_provider(), "CUDAExecutionProvider");
        assert!(plugin.fallbacks().is_empty());
        return;
    }
    assert_eq!(plugin.execution_provider(), "CPUExecutionProvider");
    assert_eq!(plugin.fallbacks().len(), 1);
    assert_eq!(plugin.fallbacks()[0].provider, Provider::Cuda);
    if !info.cuda_available {
        assert!(
            plugin.fallbacks()[0]
                .reason
                .contains("without the CUDA execution provider"),
            "{:?}",
            plugin.fallbacks()
        );
    }
}

#[test]
fn require_gpu_without_cuda_fails_with_a_clear_message() {
    let info = init_runtime().unwrap();
    let (mut spec, dir) = shipped("cnn1");
    spec.require_gpu = true;
    let result = OnnxPlugin::load(&spec, &dir);
    if info.cuda_available {
        // A GPU build: CUDA runs, or fails saying why; never a silent CPU run.
        match result {
            Ok(plugin) => assert_eq!(plugin.execution_provider(), "CUDAExecutionProvider"),
            Err(e) => assert!(matches!(e, HostError::CudaRequired { .. }), "{e}"),
        }
        return;
    }
    let err = result.unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, HostError::CudaRequired { .. }), "{msg}");
    assert!(msg.contains("CUDA was required"), "{msg}");
    assert!(
        msg.contains(&dir.join("model.onnx").display().to_string()),
        "{msg}"
    );
    assert!(msg.contains("ci/setup-onnxruntime.sh --gpu"), "{msg}");
}

#[test]
fn onnx_plugin_can_be_shared_between_threads() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<OnnxPlugin>();
}

// ---- set encoder: plugins/deepsets against the outputs plugins/deepsets/train.py wrote ------

/// The fixture's sets (deepsets.expected.json): all members row-major, their width, the offsets.
fn deepsets_input(doc: &Value) -> (Vec<f32>, usize, Vec<usize>) {
    let input = &doc["input"];
    (
        floats(&input["data"]),
        input["d"].as_u64().unwrap() as usize,
        usizes(&input["offsets"]),
    )
}

#[test]
fn deepsets_matches_python_onnxruntime_at_any_batch_size() {
    let doc = expected("deepsets");
    let (mut spec, dir) = shipped("deepsets");
    let (x, d, offsets) = deepsets_input(&doc);
    // Python ran each set alone; here sets of 1 to 12 cells share padded batches.
    for batch_size in [1, 2, 64] {
        spec.batch_size = batch_size;
        let plugin = load(&spec, &dir);
        assert_fixture_is_current(&plugin, &doc["model_sha256"]);
        assert_eq!(plugin.shape(), OnnxShape::Set);
        assert_eq!(plugin.output_dim(), 16);
        assert_eq!(plugin.features().map(<[String]>::len), Some(d));
        let got = plugin.encode_sets(&x, d, &offsets).unwrap();
        assert_eq!(got.chunked_sets, 0);
        assert_matches_fixture(
            &got.values,
            &doc,
            "output",
            &format!("batch size {batch_size}"),
        );
    }
}

#[test]
fn deepsets_ignores_cell_order_and_additive_well_effects() {
    let doc = expected("deepsets");
    let (spec, dir) = shipped("deepsets");
    let plugin = load(&spec, &dir);
    let (x, d, offsets) = deepsets_input(&doc);
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
