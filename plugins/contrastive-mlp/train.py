#!/usr/bin/env python3
"""Trains the `contrastive-mlp` plugin and exports it for cpbench.

This is also cpbench's worked example of exporting a model: train with any library, then write
the graph with the `onnx` package from the trained weights, pin its SHA-256 in plugin.toml and
list the input features in the order the model expects them.

What it does:
    data      LINCS Cell Painting plate SQ00015054, well-level profiles, normalized and
              feature-selected (benchmarks/data/lincs_sq00015054/), 454 CellProfiler features.
    split     by compound (Metadata_broad_sample): a compound is in the TRAIN split when the
              first 8 hex digits of SHA-256(its id, UTF-8) form an even number, otherwise in
              TEST. DMSO (the control) is in neither: it is never trained on and never a
              positive. The assignment is written to split.csv; benchmarks that score this
              model must evaluate on the TEST compounds only.
    model     x -> (x - mean) / sd -> Linear(454, 256) -> ReLU -> Linear(256, 64) -> L2-normalize;
              mean and sd are fitted on the training wells and folded into the graph.
    loss      replicate-contrastive InfoNCE (supervised-contrastive form): for each training
              well, the other wells of the same compound are its positives and every other
              training well in the batch a negative; cosine similarity / temperature.
              Each step sees every training well once, with Gaussian noise and feature dropout
              as augmentation. Adam with weight decay; gradients by autograd.
    export    model.onnx (opset 17, IR 8) from the numpy weights with onnx.helper; features.txt;
              plugin.toml with the model's SHA-256; split.csv.

Pins: plugins/requirements-train.txt (autograd, numpy, onnx, onnxruntime, pandas).

    python3 -m venv .venv-train
    .venv-train/bin/pip install -r plugins/requirements-train.txt
    .venv-train/bin/python plugins/contrastive-mlp/train.py

Deterministic: every random draw comes from one seeded generator and BLAS runs on one thread,
so two runs on the same machine write byte-identical files (check with sha256sum). Other CPUs
may pick other BLAS kernels and round differently; the model is then equivalent, not identical.
Takes well under a minute on two cores.
"""

import os

# One BLAS thread: multi-threaded reductions may sum in a different order from run to run.
for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[var] = "1"

import hashlib  # noqa: E402

import autograd.numpy as anp  # noqa: E402
import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
import pandas as pd  # noqa: E402
from autograd import grad  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "benchmarks", "data", "lincs_sq00015054", "SQ00015054_normalized_feature_select.csv.gz")
DATASET_ID = "lincs-sq00015054"

PERTURBATION = "Metadata_broad_sample"
CONTROL = "DMSO"

SEED = 20240607
HIDDEN = 256
EMBEDDING = 64
TEMPERATURE = 0.2
STEPS = 400
LEARNING_RATE = 1e-3
WEIGHT_DECAY = 1e-4
NOISE_SD = 0.3
FEATURE_DROPOUT = 0.2
# Robust-normalized features have heavy tails; clipping the standardized input keeps a few
# extreme wells from dominating the first layer. Applied in the exported graph as well.
CLIP = 8.0

OPSET = 17
IR_VERSION = 8
INPUT_NAME = "profiles"
OUTPUT_NAME = "embedding"


def split_of(compound: str) -> str:
    """TRAIN or TEST for a compound id: the parity of the first 8 hex digits of its SHA-256."""
    if compound == CONTROL:
        return "control"
    digest = hashlib.sha256(compound.encode("utf-8")).hexdigest()
    return "train" if int(digest[:8], 16) % 2 == 0 else "test"


def load():
    df = pd.read_csv(DATA)
    features = [c for c in df.columns if not c.startswith("Metadata_")]
    x = df[features].to_numpy(dtype=np.float64)
    if not np.isfinite(x).all():
        raise SystemExit(f"{DATA}: non-finite feature values")
    compounds = df[PERTURBATION].astype(str).to_numpy()
    return features, x, compounds


def init_params(rng, d):
    """He-initialized weights, zero biases."""
    return {
        "w1": rng.standard_normal((d, HIDDEN)) * np.sqrt(2.0 / d),
        "b1": np.zeros(HIDDEN),
        "w2": rng.standard_normal((HIDDEN, EMBEDDING)) * np.sqrt(2.0 / HIDDEN),
        "b2": np.zeros(EMBEDDING),
    }


def embed(params, z):
    """The network on standardized, clipped inputs; rows L2-normalized."""
    h = anp.maximum(anp.dot(z, params["w1"]) + params["b1"], 0.0)
    e = anp.dot(h, params["w2"]) + params["b2"]
    return e / anp.sqrt(anp.sum(e * e, axis=1, keepdims=True) + 1e-12)


def info_nce(params, z, positives):
    """Mean over anchors of -log( sum over positives of exp(s) / sum over all others of exp(s) )."""
    e = embed(params, z)
    logits = anp.dot(e, e.T) / TEMPERATURE
    n = z.shape[0]
    not_self = 1.0 - np.eye(n)
    # Subtracting each row's maximum keeps exp() finite; it cancels in the ratio.
    logits = logits - anp.max(logits, axis=1, keepdims=True)
    expd = anp.exp(logits) * not_self
    pos = anp.sum(expd * positives, axis=1)
    allv = anp.sum(expd, axis=1)
    return -anp.mean(anp.log(pos / allv))


def train(z_train, labels, rng):
    positives = (labels[:, None] == labels[None, :]).astype(np.float64) * (1.0 - np.eye(len(labels)))
    if (positives.sum(axis=1) == 0).any():
        raise SystemExit("every training well needs at least one replicate")
    params = init_params(rng, z_train.shape[1])
    loss_grad = grad(info_nce)
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v = {k: np.zeros_like(v) for k, v in params.items()}
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    for step in range(1, STEPS + 1):
        keep = rng.random(z_train.shape) >= FEATURE_DROPOUT
        z = (z_train + NOISE_SD * rng.standard_normal(z_train.shape)) * keep / (1.0 - FEATURE_DROPOUT)
        g = loss_grad(params, z, positives)
        for k in params:
            gk = g[k] + WEIGHT_DECAY * params[k]
            m[k] = beta1 * m[k] + (1 - beta1) * gk
            v[k] = beta2 * v[k] + (1 - beta2) * gk * gk
            mhat = m[k] / (1 - beta1**step)
            vhat = v[k] / (1 - beta2**step)
            params[k] = params[k] - LEARNING_RATE * mhat / (np.sqrt(vhat) + eps)
        if step % 100 == 0 or step == 1:
            print(f"step {step:4d}  loss {info_nce(params, z_train, positives):.4f}")
    return params


def mean_average_precision(e, labels):
    """Replicate retrieval mAP under cosine: each well queries all other wells of the set."""
    e = e / np.linalg.norm(e, axis=1, keepdims=True)
    sim = e @ e.T
    aps = []
    for i in range(len(labels)):
        others = np.arange(len(labels)) != i
        order = np.argsort(-sim[i, others], kind="stable")
        hits = (labels[others] == labels[i])[order]
        if hits.sum() == 0:
            continue
        ranks = np.flatnonzero(hits) + 1
        aps.append(np.mean(np.arange(1, len(ranks) + 1) / ranks))
    return float(np.mean(aps))


def build_onnx(params, mean, sd, d):
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    x = helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["N", d])
    y = helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["N", EMBEDDING])
    init = [
        numpy_helper.from_array(f32(mean), "mean"),
        numpy_helper.from_array(f32(1.0 / sd), "inv_sd"),
        numpy_helper.from_array(f32(-CLIP), "clip_lo"),
        numpy_helper.from_array(f32(CLIP), "clip_hi"),
        numpy_helper.from_array(f32(params["w1"]), "w1"),
        numpy_helper.from_array(f32(params["b1"]), "b1"),
        numpy_helper.from_array(f32(params["w2"]), "w2"),
        numpy_helper.from_array(f32(params["b2"]), "b2"),
        numpy_helper.from_array(f32(1e-12), "eps"),
    ]
    nodes = [
        helper.make_node("Sub", [INPUT_NAME, "mean"], ["centered"], name="center"),
        helper.make_node("Mul", ["centered", "inv_sd"], ["standardized"], name="scale"),
        helper.make_node("Clip", ["standardized", "clip_lo", "clip_hi"], ["clipped"], name="clip"),
        helper.make_node("Gemm", ["clipped", "w1", "b1"], ["h_pre"], name="linear1"),
        helper.make_node("Relu", ["h_pre"], ["h"], name="relu1"),
        helper.make_node("Gemm", ["h", "w2", "b2"], ["e"], name="linear2"),
        helper.make_node("Mul", ["e", "e"], ["e_sq"], name="square"),
        helper.make_node("ReduceSum", ["e_sq", "axis1"], ["e_sumsq"], name="sum_squares", keepdims=1),
        helper.make_node("Add", ["e_sumsq", "eps"], ["e_sumsq_eps"], name="add_eps"),
        helper.make_node("Sqrt", ["e_sumsq_eps"], ["e_norm"], name="norm"),
        helper.make_node("Div", ["e", "e_norm"], [OUTPUT_NAME], name="l2_normalize"),
    ]
    init.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"))
    graph = helper.make_graph(nodes, "contrastive_mlp", [x], [y], initializer=init)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="cpbench plugins/contrastive-mlp/train.py",
        producer_version="1",
    )
    helper.set_model_props(
        model,
        {
            "cpbench.training_dataset": DATASET_ID,
            "cpbench.split_rule": "train iff int(sha256(Metadata_broad_sample)[:8], 16) is even; DMSO excluded",
            "cpbench.seed": str(SEED),
        },
    )
    onnx.checker.check_model(model, full_check=True)
    return model


PLUGIN_TOML = """\
schema_version = 1
id = "contrastive-mlp"
version = "0.1.0"
kind = "onnx"
role = "method"
description = "MLP encoder trained with a replicate-contrastive (InfoNCE) loss on the train split of LINCS plate SQ00015054"
license = "MIT OR Apache-2.0"
citation = "cpbench worked example (plugins/contrastive-mlp/README.md); data: Way et al., Cell Systems 13 (2022)"
# Trained on the TRAIN compounds of this plate only (split.csv), which is the train split that
# benchmarks/lincs-sq00015054 declares: it is scored on the TEST compounds there, and ranked.
training_datasets = ["{dataset}:train"]

[input]
level = "well"
dim = {d}

[output]
level = "well"
dim = {k}

[onnx]
model = "model.onnx"
sha256 = "{sha}"
shape = "profile"
input = "{input}"
output = "{output}"
features = "features.txt"
batch_size = 256
execution_providers = ["cuda", "cpu"]
"""


def main():
    rng = np.random.default_rng(SEED)
    features, x, compounds = load()
    splits = np.array([split_of(c) for c in compounds])
    train_rows = splits == "train"
    test_rows = splits == "test"
    labels_train = compounds[train_rows]
    print(
        f"{len(features)} features; train: {len(set(labels_train))} compounds, {train_rows.sum()} wells; "
        f"test: {len(set(compounds[test_rows]))} compounds, {test_rows.sum()} wells; "
        f"{(splits == 'control').sum()} control wells unused"
    )

    mean = x[train_rows].mean(axis=0)
    sd = x[train_rows].std(axis=0)
    sd[sd < 1e-6] = 1.0
    z = np.clip((x - mean) / sd, -CLIP, CLIP)
    params = train(z[train_rows], labels_train, rng)

    model = build_onnx(params, mean, sd, len(features))
    model_bytes = model.SerializeToString(deterministic=True)

    # Evaluate what was exported, through ONNX Runtime, as cpbench will run it.
    session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    emb = session.run([OUTPUT_NAME], {INPUT_NAME: x.astype(np.float32)})[0].astype(np.float64)
    for name, rows in (("train", train_rows), ("test", test_rows)):
        base = mean_average_precision(z[rows], compounds[rows])
        learned = mean_average_precision(emb[rows], compounds[rows])
        print(f"{name}: replicate mAP among {name} wells: standardized features {base:.3f}, embedding {learned:.3f}")

    with open(os.path.join(HERE, "model.onnx"), "wb") as f:
        f.write(model_bytes)
    with open(os.path.join(HERE, "features.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(features) + "\n")
    split_table = sorted({(c, s) for c, s in zip(compounds, splits)})
    with open(os.path.join(HERE, "split.csv"), "w", encoding="utf-8", newline="\n") as f:
        f.write(f"{PERTURBATION},split\n")
        for c, s in split_table:
            f.write(f"{c},{s}\n")
    sha = hashlib.sha256(model_bytes).hexdigest()
    with open(os.path.join(HERE, "plugin.toml"), "w", encoding="utf-8", newline="\n") as f:
        f.write(
            PLUGIN_TOML.format(
                dataset=DATASET_ID, d=len(features), k=EMBEDDING, sha=sha, input=INPUT_NAME, output=OUTPUT_NAME
            )
        )
    print(f"wrote plugins/contrastive-mlp/model.onnx (sha256 {sha}), features.txt, split.csv, plugin.toml")


if __name__ == "__main__":
    main()
