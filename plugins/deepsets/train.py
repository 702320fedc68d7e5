#!/usr/bin/env python3
"""Trains the `deepsets` plugin: a Deep Sets aggregator of a well's cells, and exports it.

What it does:
    data      `cpbench simulate heterogeneity --seed 0` with every parameter spelled out below
              (SIM_ARGS): 45,305 cells in 224 wells, 32 features, 6 perturbation classes whose
              perturbations change the proportions of 8 latent subpopulations while the
              population mean stays put (docs/simulate.md). The script runs the simulation and
              checks the SHA-256 of cells.parquet, so the training data is pinned.
    split     the simulator's Metadata_Split: 24 train and 24 test perturbations (4 per class
              each, stratified), control wells marked `both`. Training sees the TRAIN wells
              and the control wells only; every number reported is on the TEST perturbations.
    model     cells [B, S, 32], mask [B, S] (1 = real cell) ->
                  x - masked_mean(x)                    (centre each set: removes any additive
                                                        plate, batch or well effect, and the
                                                        mean, which carries no class signal here)
                  phi: Linear(32, 64) ReLU Linear(64, 64) ReLU, per cell
                  masked mean over the cells            (sum(phi * mask) / sum(mask))
                  rho: Linear(64, 64) ReLU Linear(64, 16)
              -> embedding [B, 16]. Permutation invariant, any set size.
    loss      cross-entropy over 7 labels (the 6 classes + control) from a linear classifier
              on the embedding (the classifier is not exported) plus L2 weight decay. Each
              step draws 32 training wells and, from each, a random subset of 32 to 100 cells
              (variable set sizes, padded and masked as cpbench pads them). Adam; gradients by
              autograd.
    export    model.onnx (opset 17, IR 8) from the numpy weights with onnx.helper, with dynamic
              B and S; features.txt; plugin.toml with the model's SHA-256.
    check     ONNX Runtime must reproduce the numpy forward pass; the exported model's
              embeddings of every well (all its cells) and the mean-aggregated cells are scored
              with `cpbench eval` on the test split (results.json); a small fixture
              (tests/fixtures/onnx/deepsets.expected.json) lets the Rust runner be compared with
              Python ONNX Runtime.

Pins: plugins/requirements-train.txt (autograd, numpy, onnx, onnxruntime, pyarrow).

    cargo build -p cpbench
    python3 -m venv .venv-train
    .venv-train/bin/pip install -r plugins/requirements-train.txt
    .venv-train/bin/python plugins/deepsets/train.py

Deterministic: every random draw comes from one seeded generator and BLAS runs on one thread,
so two runs on the same machine write byte-identical files. Takes about 20 seconds on one core.
"""

import os

# One BLAS thread: multi-threaded reductions may sum in a different order from run to run.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import argparse  # noqa: E402
import csv  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402

import autograd.numpy as anp  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import pyarrow.parquet as pq  # noqa: E402
from autograd import grad  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
FIXTURE = os.path.join(ROOT, "tests", "fixtures", "onnx", "deepsets.expected.json")
DATASET_ID = "synthetic-heterogeneity"

# `cpbench simulate heterogeneity` parameters: the defaults, spelled out so a change of the
# defaults cannot silently change the training data.
SIM_SEED = 0
SIM_ARGS = [
    "--n-classes", "6", "--perturbations-per-class", "8", "--replicates", "4",
    "--n-batches", "2", "--plates-per-batch", "2", "--controls-per-plate", "8",
    "--test-fraction", "0.5", "--n-features", "32", "--n-subpopulations", "8",
    "--separation", "4", "--effect-strength", "0.6", "--strength-spread", "0.25",
    "--perturbation-jitter", "0.2", "--mean-effect", "0", "--cell-sd", "1", "--well-sd", "0.1",
    "--plate-sd", "0.3", "--batch-sd", "0.5", "--cells-min", "100", "--cells-max", "300",
]  # fmt: skip
DATA_SHA256 = "91905b9b9a15eee2124411a47f39309f4708b0234752f71be091ed4baa5c240a"

META = [
    "Metadata_Plate",
    "Metadata_Well",
    "Metadata_Batch",
    "Metadata_Perturbation",
    "Metadata_Class",
    "Metadata_Control",
    "Metadata_Split",
]

SEED = 20250611
HIDDEN = 64
EMBEDDING = 16
STEPS = 1500
BATCH = 32
SET_MIN, SET_MAX = 32, 100
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-4

OPSET = 17
IR_VERSION = 8
INPUT_NAME = "cells"
MASK_NAME = "mask"
OUTPUT_NAME = "embedding"


def find_cpbench(given):
    if given:
        return given
    # The most recently built of the release and debug binaries: an older one may predate
    # `cpbench simulate`.
    builds = [os.path.join(ROOT, "target", b, "cpbench") for b in ("release", "debug")]
    builds = [b for b in builds if os.path.isfile(b)]
    if not builds:
        raise SystemExit("cpbench binary not found: run `cargo build -p cpbench` or pass --cpbench PATH")
    return max(builds, key=os.path.getmtime)


def run(cpbench, *args):
    subprocess.run([cpbench, *args], check=True, stdout=subprocess.DEVNULL)


def simulate(cpbench, out):
    run(cpbench, "simulate", "heterogeneity", "--seed", str(SIM_SEED), *SIM_ARGS, "--out", out)
    path = os.path.join(out, "cells.parquet")
    with open(path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    if sha != DATA_SHA256:
        raise SystemExit(
            f"{path}: sha256 {sha}, expected {DATA_SHA256}: the simulator's output changed, so this "
            "would train on other data. Update DATA_SHA256 deliberately and retrain."
        )
    return path


def load_wells(path):
    """Cells grouped by well (rows of a well are contiguous in the simulator's output)."""
    table = pq.read_table(path)
    names = table.column_names
    features = [n for n in names if not n.startswith("Metadata_")]
    x = np.stack([table.column(n).to_numpy() for n in features], axis=1).astype(np.float32)
    meta = {n: table.column(n).to_pylist() for n in META}
    key = [f"{p}/{w}" for p, w in zip(meta["Metadata_Plate"], meta["Metadata_Well"])]
    starts = [0] + [i for i in range(1, len(key)) if key[i] != key[i - 1]]
    ends = starts[1:] + [len(key)]
    wells = []
    for s, e in zip(starts, ends):
        wells.append({"cells": x[s:e], **{n: meta[n][s] for n in META}})
    return features, wells


def init_params(rng, d):
    def layer(n_in, n_out):
        return rng.normal(0.0, np.sqrt(2.0 / n_in), size=(n_in, n_out)), np.zeros(n_out)

    p = {}
    p["w1"], p["b1"] = layer(d, HIDDEN)
    p["w2"], p["b2"] = layer(HIDDEN, HIDDEN)
    p["w3"], p["b3"] = layer(HIDDEN, HIDDEN)
    p["w4"], p["b4"] = layer(HIDDEN, EMBEDDING)
    return p


def embed(p, x, mask):
    """The exported forward pass: x [B, S, d], mask [B, S] -> [B, EMBEDDING]."""
    b, s, d = x.shape
    m3 = mask[:, :, None]
    count = anp.maximum(anp.sum(m3, axis=1, keepdims=True), 1.0)
    centred = x - anp.sum(x * m3, axis=1, keepdims=True) / count
    h = anp.maximum(anp.dot(anp.reshape(centred, (b * s, d)), p["w1"]) + p["b1"], 0.0)
    h = anp.maximum(anp.dot(h, p["w2"]) + p["b2"], 0.0)
    h = anp.reshape(h, (b, s, HIDDEN))
    pooled = anp.sum(h * m3, axis=1) / count[:, 0, :]
    z = anp.maximum(anp.dot(pooled, p["w3"]) + p["b3"], 0.0)
    return anp.dot(z, p["w4"]) + p["b4"]


def loss(p, x, mask, y):
    e = embed(p, x, mask)
    logits = anp.dot(e, p["wc"]) + p["bc"]
    top = anp.max(logits, axis=1, keepdims=True)
    log_norm = top[:, 0] + anp.log(anp.sum(anp.exp(logits - top), axis=1))
    picked = anp.sum(logits * y, axis=1)
    decay = sum(anp.sum(p[k] ** 2) for k in p if k.startswith("w"))
    return anp.mean(log_norm - picked) + WEIGHT_DECAY * decay


def draw_batch(rng, wells, labels, n_labels, d):
    chosen = rng.choice(len(wells), size=BATCH, replace=False)
    sizes = [min(int(rng.integers(SET_MIN, SET_MAX + 1)), len(wells[i]["cells"])) for i in chosen]
    s = max(sizes)
    x = np.zeros((BATCH, s, d))
    mask = np.zeros((BATCH, s))
    y = np.zeros((BATCH, n_labels))
    for slot, (i, n) in enumerate(zip(chosen, sizes)):
        cells = wells[i]["cells"]
        x[slot, :n] = cells[rng.choice(len(cells), size=n, replace=False)]
        mask[slot, :n] = 1.0
        y[slot, labels[i]] = 1.0
    return x, mask, y


def train(wells, labels, n_labels, d, rng):
    p = init_params(rng, d)
    p["wc"] = rng.normal(0.0, np.sqrt(1.0 / EMBEDDING), size=(EMBEDDING, n_labels))
    p["bc"] = np.zeros(n_labels)
    gradient = grad(loss)
    m = {k: np.zeros_like(v) for k, v in p.items()}
    v = {k: np.zeros_like(val) for k, val in p.items()}
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, STEPS + 1):
        x, mask, y = draw_batch(rng, wells, labels, n_labels, d)
        g = gradient(p, x, mask, y)
        # Cosine decay to a tenth of the rate: late steps refine instead of bouncing.
        lr = LEARNING_RATE * (0.1 + 0.9 * 0.5 * (1.0 + np.cos(np.pi * step / STEPS)))
        for k in p:
            m[k] = beta1 * m[k] + (1 - beta1) * g[k]
            v[k] = beta2 * v[k] + (1 - beta2) * g[k] ** 2
            m_hat = m[k] / (1 - beta1**step)
            v_hat = v[k] / (1 - beta2**step)
            p[k] = p[k] - lr * m_hat / (np.sqrt(v_hat) + eps)
        if step % 250 == 0 or step == 1:
            print(f"step {step:5d}  loss {loss(p, x, mask, y):.4f}")
    return p


def build_onnx(p, d):
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    cells = helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["B", "S", d])
    mask = helper.make_tensor_value_info(MASK_NAME, TensorProto.FLOAT, ["B", "S"])
    out = helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["B", EMBEDDING])
    init = [numpy_helper.from_array(f32(p[k]), k) for k in ("w1", "b1", "w2", "b2", "w3", "b3", "w4", "b4")]
    init += [
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
        numpy_helper.from_array(f32(1.0), "one"),
    ]
    node = helper.make_node
    nodes = [
        node("Unsqueeze", [MASK_NAME, "axis2"], ["m3"], name="mask_per_feature"),
        node("ReduceSum", ["m3", "axis1"], ["count_raw"], name="count", keepdims=1),
        # An all-padding set divides by 1, not 0: its output is finite (and meaningless).
        node("Max", ["count_raw", "one"], ["count"], name="count_at_least_one"),
        node("Mul", [INPUT_NAME, "m3"], ["x_masked"], name="mask_cells"),
        node("ReduceSum", ["x_masked", "axis1"], ["x_sum"], name="sum_cells", keepdims=1),
        node("Div", ["x_sum", "count"], ["x_mean"], name="set_mean"),
        node("Sub", [INPUT_NAME, "x_mean"], ["centred"], name="centre"),
        node("MatMul", ["centred", "w1"], ["phi1_mm"], name="phi1"),
        node("Add", ["phi1_mm", "b1"], ["phi1_pre"], name="phi1_bias"),
        node("Relu", ["phi1_pre"], ["phi1_out"], name="phi1_relu"),
        node("MatMul", ["phi1_out", "w2"], ["phi2_mm"], name="phi2"),
        node("Add", ["phi2_mm", "b2"], ["phi2_pre"], name="phi2_bias"),
        node("Relu", ["phi2_pre"], ["phi2_out"], name="phi2_relu"),
        node("Mul", ["phi2_out", "m3"], ["phi_masked"], name="mask_phi"),
        node("ReduceSum", ["phi_masked", "axis1"], ["phi_sum"], name="pool_sum", keepdims=0),
        node("Squeeze", ["count", "axis2"], ["count2"], name="count_per_set"),
        node("Div", ["phi_sum", "count2"], ["pooled"], name="pool_mean"),
        node("Gemm", ["pooled", "w3", "b3"], ["rho1_pre"], name="rho1"),
        node("Relu", ["rho1_pre"], ["rho1_out"], name="rho1_relu"),
        node("Gemm", ["rho1_out", "w4", "b4"], [OUTPUT_NAME], name="rho2"),
    ]
    graph = helper.make_graph(nodes, "deepsets", [cells, mask], [out], initializer=init)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="cpbench plugins/deepsets/train.py",
        producer_version="1",
    )
    helper.set_model_props(
        model,
        {
            "cpbench.training_dataset": DATASET_ID,
            "cpbench.simulation": "cpbench simulate heterogeneity --seed 0 " + " ".join(SIM_ARGS),
            "cpbench.split_rule": "Metadata_Split = train (and the control wells); scored on test",
            "cpbench.seed": str(SEED),
        },
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def padded(wells):
    s = max(len(w["cells"]) for w in wells)
    d = wells[0]["cells"].shape[1]
    x = np.zeros((len(wells), s, d), dtype=np.float32)
    mask = np.zeros((len(wells), s), dtype=np.float32)
    for i, w in enumerate(wells):
        x[i, : len(w["cells"])] = w["cells"]
        mask[i, : len(w["cells"])] = 1.0
    return x, mask


def embed_onnx(session, wells, batch=64):
    out = []
    for start in range(0, len(wells), batch):
        x, mask = padded(wells[start : start + batch])
        out.append(session.run([OUTPUT_NAME], {INPUT_NAME: x, MASK_NAME: mask})[0])
    return np.concatenate(out)


def write_table(path, wells, values, prefix):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(META + [f"{prefix}{j:03d}" for j in range(values.shape[1])])
        for well, row in zip(wells, values):
            meta = [str(well[n]).lower() if n == "Metadata_Control" else well[n] for n in META]
            w.writerow(meta + [repr(float(v)) for v in row])


def score(cpbench, table, work, name):
    """Test-split scores of a well-level table with cpbench eval."""
    knn_out = os.path.join(work, f"{name}.knn.json")
    run(cpbench, "eval", "knn", "--profiles", table, "--filter", "Metadata_Split=test",
        "--labels", "Metadata_Class", "--exclude-same", "Metadata_Perturbation", "--out", knn_out)  # fmt: skip
    with open(knn_out) as f:
        knn = json.load(f)

    def mean_map(rules, filt):
        ap = os.path.join(work, f"{name}.ap.csv")
        mp = os.path.join(work, f"{name}.map.csv")
        run(cpbench, "eval", "map", "--profiles", table, "--filter", filt, *rules,
            "--out-ap", ap, "--out-map", mp)  # fmt: skip
        with open(mp) as f:
            rows = list(csv.DictReader(f))
        values = [float(r["mean_average_precision"]) for r in rows]
        retrieved = sum(r["below_corrected_p"] == "true" for r in rows) / len(rows)
        return {"mAP": float(np.mean(values)), "fraction_retrieved": retrieved, "groups": len(rows)}

    class_rules = ["--pos-sameby", "Metadata_Class", "--pos-diffby", "Metadata_Perturbation",
                   "--neg-diffby", "Metadata_Class"]  # fmt: skip
    replicate_rules = ["--pos-sameby", "Metadata_Perturbation", "--neg-diffby", "Metadata_Perturbation",
                       "--reference", "Metadata_Control=true"]  # fmt: skip
    return {
        "knn_accuracy_class_nsc": knn["accuracy"],
        "knn_n": knn["n"],
        "class_map": mean_map(class_rules, "Metadata_Split=test"),
        "replicate_map_vs_controls": mean_map(replicate_rules, "Metadata_Split in [test, both]"),
    }


def write_fixture(session, wells, sha):
    """A few test wells, truncated to small sets, and Python ONNX Runtime's output for each set
    run alone (no padding): the Rust runner pads them together and must agree."""
    sizes = [7, 3, 12, 1, 5]
    picks = [w for w in wells if w["Metadata_Split"] == "test"][: len(sizes)]
    sets = [w["cells"][:n] for w, n in zip(picks, sizes)]
    outputs = [
        session.run([OUTPUT_NAME], {INPUT_NAME: s[None, :, :], MASK_NAME: np.ones((1, len(s)), np.float32)})[0][0]
        for s in sets
    ]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    doc = {
        "generator": "plugins/deepsets/train.py",
        "model": "plugins/deepsets/model.onnx",
        "model_sha256": sha,
        "rtol": 1e-4,
        "atol": 1e-5,
        "wells": [f"{w['Metadata_Plate']}/{w['Metadata_Well']}" for w in picks],
        "input": {
            "d": int(sets[0].shape[1]),
            "offsets": offsets,
            "data": [float(v) for s in sets for v in s.ravel()],
        },
        "output": {"shape": [len(sets), EMBEDDING], "data": [float(v) for o in outputs for v in o]},
    }
    with open(FIXTURE, "w", encoding="utf-8", newline="\n") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")


PLUGIN_TOML = """\
schema_version = 1
id = "deepsets"
version = "0.1.0"
kind = "onnx"
role = "method"
description = "Deep Sets aggregator of a well's cells (per-cell MLP, masked mean pool, MLP) trained on the train split of cpbench's synthetic heterogeneity screen"
license = "MIT OR Apache-2.0"
citation = "Zaheer et al., Deep Sets, NeurIPS 2017; cpbench plugins/deepsets/README.md"
# Trained on the TRAIN perturbations of `cpbench simulate heterogeneity --seed 0`; score it on TEST.
# Trained on the train split (train perturbations and the `both` control wells), which is the
# train side benchmarks/synthetic-heterogeneity declares: scored on its test split, and ranked.
training_datasets = ["{dataset}:train"]

[input]
level = "set"
dim = {d}

[output]
level = "well"
dim = {k}

[onnx]
model = "model.onnx"
sha256 = "{sha}"
shape = "set"
input = "{input}"
mask_input = "{mask}"
output = "{output}"
features = "features.txt"
batch_size = 64
execution_providers = ["cuda", "cpu"]
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpbench", help="cpbench binary (default: target/release or target/debug)")
    args = parser.parse_args()
    cpbench = find_cpbench(args.cpbench)
    rng = np.random.default_rng(SEED)

    with tempfile.TemporaryDirectory(prefix="cpbench-deepsets-") as work:
        data = simulate(cpbench, os.path.join(work, "data"))
        features, wells = load_wells(data)
        d = len(features)
        label_names = sorted({w["Metadata_Class"] for w in wells})
        train_wells = [w for w in wells if w["Metadata_Split"] in ("train", "both")]
        labels = [label_names.index(w["Metadata_Class"]) for w in train_wells]
        n_test = sum(w["Metadata_Split"] == "test" for w in wells)
        print(
            f"{d} features; {len(train_wells)} training wells (train split + controls), "
            f"{n_test} test wells; labels {label_names}"
        )
        p = train(train_wells, labels, len(label_names), d, rng)

        model = build_onnx(p, d)
        model_bytes = model.SerializeToString(deterministic=True)
        sha = hashlib.sha256(model_bytes).hexdigest()
        session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
        emb = embed_onnx(session, wells)
        x, mask = padded(wells[:16])
        reference = embed({k: v.astype(np.float32) for k, v in p.items()}, x, mask)
        gap = float(np.max(np.abs(emb[:16] - reference)))
        print(f"ONNX Runtime vs numpy forward pass: max |difference| {gap:.2e}")
        if gap > 1e-3:
            raise SystemExit("the exported graph does not compute the trained model")

        deepsets_table = os.path.join(work, "deepsets.csv")
        write_table(deepsets_table, wells, emb, "e")
        mean_table = os.path.join(work, "mean.parquet")
        run(cpbench, "prep", "aggregate", "--profiles", data, "--by", "Metadata_Plate,Metadata_Well",
            "--keep", ",".join(META[2:]), "--method", "mean", "--level", "well", "--out", mean_table)  # fmt: skip
        results = {
            "dataset": DATASET_ID,
            "simulation": "cpbench simulate heterogeneity --seed 0 " + " ".join(SIM_ARGS),
            "data_sha256": DATA_SHA256,
            "model_sha256": sha,
            "scored_on": "Metadata_Split = test (24 perturbations x 4 replicate wells; controls as reference)",
            "chance_knn_accuracy": 1.0 / 6.0,
            "aggregations": {},
        }
        for name, table in (("mean", mean_table), ("deepsets", deepsets_table)):
            normalized = os.path.join(work, f"{name}.normalized.parquet")
            run(cpbench, "prep", "normalize", "--profiles", table, "--by", "Metadata_Plate",
                "--fit-on", "controls", "--controls", "Metadata_Control=true", "--out", normalized)  # fmt: skip
            results["aggregations"][name] = score(cpbench, table, work, name)
            results["aggregations"][name + "+plate-standardized"] = score(cpbench, normalized, work, name + "n")
        for name, r in results["aggregations"].items():
            print(
                f"{name:28s} kNN class accuracy {r['knn_accuracy_class_nsc']:.3f}  "
                f"class mAP {r['class_map']['mAP']:.3f}  "
                f"replicate mAP vs controls {r['replicate_map_vs_controls']['mAP']:.3f} "
                f"(retrieved {r['replicate_map_vs_controls']['fraction_retrieved']:.2f})"
            )

        with open(os.path.join(HERE, "model.onnx"), "wb") as f:
            f.write(model_bytes)
        with open(os.path.join(HERE, "features.txt"), "w", encoding="utf-8", newline="\n") as f:
            f.write("\n".join(features) + "\n")
        with open(os.path.join(HERE, "plugin.toml"), "w", encoding="utf-8", newline="\n") as f:
            f.write(
                PLUGIN_TOML.format(
                    dataset=DATASET_ID, d=d, k=EMBEDDING, sha=sha,
                    input=INPUT_NAME, mask=MASK_NAME, output=OUTPUT_NAME,
                )  # fmt: skip
            )
        with open(os.path.join(HERE, "results.json"), "w", encoding="utf-8", newline="\n") as f:
            json.dump(results, f, indent=2, sort_keys=True)
            f.write("\n")
        write_fixture(session, wells, sha)
    print(f"wrote plugins/deepsets/model.onnx (sha256 {sha}), features.txt, plugin.toml, results.json")
    print("wrote tests/fixtures/onnx/deepsets.expected.json")


if __name__ == "__main__":
    main()
