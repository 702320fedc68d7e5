//! Throughput of ONNX plugins on the CPU execution provider (ONNX Runtime's default threads,
//! one per physical core).
//!
//! - `onnx_profile/contrastive-mlp`: 4,096 profiles of 454 features, batch 256 (profiles/s).
//! - `onnx_image/cnn1-fixture`: 256 crops of 5 × 128 × 128, one batch of 256 (crops/s).
//! - `onnx_set`: 512 sets of 50–349 members each (sets/s): the tiny set fixture (6-d members,
//!   batch 256) whole and chunked at 128 members, and the shipped Deep Sets aggregator
//!   (`plugins/deepsets`, 32-d members, its manifest's batch size).
//!
//! The models are the shipped plugins and the set fixture of tests/fixtures/onnx. Needs
//! `ci/setup-onnxruntime.sh`. Run: `cargo bench -p cpbench-host --bench onnx`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use cpbench_core::manifest::{ExecutionProvider, OnnxShape, OnnxSpec, load_plugin};
use cpbench_host::onnx::OnnxPlugin;
use cpbench_metrics::rng::SplitMix64;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .nth(2)
        .expect("harness/host has two ancestors")
        .to_path_buf()
}

fn shipped(id: &str) -> OnnxPlugin {
    let dir = repo_root().join("plugins").join(id);
    let loaded = load_plugin(&dir.join("plugin.toml")).expect("shipped plugin.toml");
    let mut spec = loaded.manifest.onnx.expect("an onnx plugin");
    // CPU figures even on a machine with a GPU build.
    spec.execution_providers = vec![ExecutionProvider::Cpu];
    OnnxPlugin::load(&spec, &dir).expect("plugin loads")
}

fn normal(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = SplitMix64::new(seed);
    (0..n).map(|_| rng.standard_normal() as f32).collect()
}

fn profiles(c: &mut Criterion) {
    let plugin = shipped("contrastive-mlp");
    let (n, d) = (4096, plugin.input_dim().expect("fixed width"));
    let x = normal(n * d, 1);
    let mut group = c.benchmark_group("onnx_profile");
    group.sample_size(20);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("contrastive-mlp", |b| {
        b.iter(|| plugin.encode_profiles(black_box(&x), n, d).expect("encode"))
    });
    group.finish();
}

fn images(c: &mut Criterion) {
    let plugin = shipped("cnn1");
    assert_eq!(plugin.batch_size(), 256);
    let (n, ch, h, w) = (256, 5, 128, 128);
    let pixels: Vec<f32> = normal(n * ch * h * w, 2)
        .into_iter()
        .map(|v| v.abs())
        .collect();
    let mut group = c.benchmark_group("onnx_image");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("cnn1-fixture", |b| {
        b.iter(|| {
            plugin
                .encode_images(black_box(&pixels), n, ch, h, w)
                .expect("encode")
        })
    });
    group.finish();
}

fn sets(c: &mut Criterion) {
    let spec = OnnxSpec {
        model: PathBuf::from("tiny_set.onnx"),
        sha256: None,
        shape: OnnxShape::Set,
        input: "cells".into(),
        output: "profile".into(),
        mask_input: Some("mask".into()),
        layout: None,
        batch_size: 256,
        execution_providers: vec![ExecutionProvider::Cpu],
        require_gpu: false,
        scale: None,
        vocabulary: None,
        features: None,
        max_set_size: None,
    };
    let dir = repo_root().join("tests/fixtures/onnx");
    let whole = OnnxPlugin::load(&spec, &dir).expect("set fixture loads");
    let chunked = OnnxPlugin::load(
        &OnnxSpec {
            max_set_size: Some(128),
            ..spec
        },
        &dir,
    )
    .expect("set fixture loads");
    let deepsets = shipped("deepsets");
    let n_sets = 512;
    let mut rng = SplitMix64::new(3);
    let mut offsets = vec![0usize];
    for _ in 0..n_sets {
        let size = 50 + (rng.next_u64() % 300) as usize;
        offsets.push(offsets.last().unwrap() + size);
    }
    let mut group = c.benchmark_group("onnx_set");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n_sets as u64));
    for (name, plugin) in [
        ("tiny-set", &whole),
        ("tiny-set-chunked-128", &chunked),
        ("deepsets", &deepsets),
    ] {
        let d = plugin.input_dim().expect("fixed width");
        let x = normal(offsets[n_sets] * d, 4);
        group.bench_function(name, |b| {
            b.iter(|| {
                plugin
                    .encode_sets(black_box(&x), d, &offsets)
                    .expect("encode")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, profiles, images, sets);
criterion_main!(benches);
