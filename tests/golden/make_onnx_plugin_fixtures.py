#!/usr/bin/env python3
"""Expected outputs of cpbench's ONNX plugins, computed by Python onnxruntime on fixed inputs.

cpbench-host's tests (harness/host/tests/onnx_plugins.rs) run the same models on the same inputs
through `OnnxPlugin` (Rust, `ort`) and compare with these outputs: the shipped models of
plugins/contrastive-mlp, plugins/cnn1 and plugins/grape-embedding, plus two tiny test models
this script builds:

    tests/fixtures/onnx/tiny_set.onnx          set encoder: masked mean over S, then a linear map
                                               cells float32 [B, S, 6], mask float32 [B, S] -> profile [B, 3]
    tests/fixtures/onnx/tiny_set_int_mask.onnx the same with an int64 mask [B, S]
    tests/fixtures/onnx/tiny_image_nchw.onnx   image encoder: 3x3 stride-2 conv, ReLU, global average
                                               pool, linear; images float32 [N, 3, 8, 8] -> features [N, 5]
    tests/fixtures/onnx/tiny_image_nhwc.onnx   the same network behind a Transpose: images [N, 8, 8, 3]

Writes tests/fixtures/onnx/<case>.expected.json for the cases contrastive_mlp, cnn1,
grape_embedding, tiny_set and tiny_image: the inputs (or, for the 5 x 128 x 128 crops, the
formula that generates them exactly in float32), the expected outputs, the tolerance, and the
SHA-256 of each model, so a retrained model with stale fixtures fails loudly.

Pins: plugins/requirements-train.txt (onnxruntime 1.31.1, the version cpbench loads; onnx, numpy).

    python3 -m venv .venv-train
    .venv-train/bin/pip install -r plugins/requirements-train.txt
    .venv-train/bin/python tests/golden/make_onnx_plugin_fixtures.py

Deterministic: inputs come from fixed seeds, so two runs write byte-identical files on the same
machine.
"""

import hashlib
import json
import os

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.path.join(ROOT, "tests", "fixtures", "onnx")
OPSET = 17
IR_VERSION = 8
# Relative tolerance, with an absolute floor for values near zero: the Rust side runs the same
# ONNX Runtime build, but in other batch sizes, where kernels may sum in another order.
RTOL = 1e-5
ATOL = 1e-6


def rel(path: str) -> str:
    return os.path.relpath(path, ROOT).replace(os.sep, "/")


def sha256(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def session(path: str) -> ort.InferenceSession:
    return ort.InferenceSession(path, providers=["CPUExecutionProvider"])


def floats(a: np.ndarray) -> list:
    """float32 values as JSON numbers that parse back to the same float32."""
    return [float(v) for v in np.asarray(a, dtype=np.float32).ravel()]


def write(case: str, doc: dict) -> None:
    doc = {
        "generator": "tests/golden/make_onnx_plugin_fixtures.py",
        "onnxruntime": ort.__version__,
        "rtol": RTOL,
        "atol": ATOL,
        **doc,
    }
    path = os.path.join(OUT, f"{case}.expected.json")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        json.dump(doc, f, indent=1)
        f.write("\n")
    print(f"wrote {rel(path)}")


def save_model(model: onnx.ModelProto, name: str) -> str:
    onnx.checker.check_model(model, full_check=True)
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))
    print(f"wrote {rel(path)}")
    return path


def make_model(graph: onnx.GraphProto) -> onnx.ModelProto:
    return helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="cpbench tests/golden/make_onnx_plugin_fixtures.py",
        producer_version="1",
    )


def contrastive_mlp() -> None:
    model = os.path.join(ROOT, "plugins", "contrastive-mlp", "model.onnx")
    with open(os.path.join(ROOT, "plugins", "contrastive-mlp", "features.txt"), encoding="utf-8") as f:
        d = sum(1 for line in f if line.strip())
    rng = np.random.default_rng(101)
    x = (rng.standard_normal((5, d)) * 2.0).astype(np.float32)
    y = session(model).run(["embedding"], {"profiles": x})[0]
    write(
        "contrastive_mlp",
        {
            "model": rel(model),
            "model_sha256": sha256(model),
            "input": {"shape": list(x.shape), "data": floats(x)},
            "output": {"shape": list(y.shape), "data": floats(y)},
        },
    )


def cnn1_pixels(n: int, c: int, h: int, w: int) -> np.ndarray:
    """Crops defined by an integer formula, exact in float32 and easy to regenerate in Rust."""
    ni, ci, yi, xi = np.meshgrid(np.arange(n), np.arange(c), np.arange(h), np.arange(w), indexing="ij")
    k = (ni * 131 + ci * 71 + yi * 37 + xi * 13 + yi * xi * 7) % 251
    return (k.astype(np.float32) / np.float32(256.0) - np.float32(0.5)).astype(np.float32)


def cnn1() -> None:
    model = os.path.join(ROOT, "plugins", "cnn1", "model.onnx")
    x = cnn1_pixels(3, 5, 128, 128)
    y = session(model).run(["features"], {"images": x})[0]
    write(
        "cnn1",
        {
            "model": rel(model),
            "model_sha256": sha256(model),
            "input": {
                "shape": list(x.shape),
                "formula": "((n*131 + c*71 + y*37 + x*13 + y*x*7) % 251) / 256 - 0.5",
                "sum": float(x.astype(np.float64).sum()),
            },
            "output": {"shape": list(y.shape), "data": floats(y)},
        },
    )


def grape_embedding() -> None:
    folder = os.path.join(ROOT, "plugins", "grape-embedding")
    model = os.path.join(folder, "model.onnx")
    with open(os.path.join(folder, "vocab.txt"), encoding="utf-8") as f:
        vocab = [line.rstrip("\n") for line in f if line.rstrip("\n")]
    index = {g: i for i, g in enumerate(vocab)}
    keys = [vocab[0], "NOT_A_GENE", vocab[-1], vocab[271], vocab[272], "not-a-gene-either", vocab[0], "NOT_A_GENE"]
    found = [i for i, k in enumerate(keys) if k in index]
    missing = list(dict.fromkeys(k for k in keys if k not in index))
    indices = np.array([index[keys[i]] for i in found], dtype=np.int64)
    y = session(model).run(["embedding"], {"genes": indices})[0]
    write(
        "grape_embedding",
        {
            "model": rel(model),
            "model_sha256": sha256(model),
            "vocabulary_size": len(vocab),
            "keys": keys,
            "found": found,
            "missing": missing,
            "output": {"shape": list(y.shape), "data": floats(y)},
        },
    )


SET_D, SET_K = 6, 3


def tiny_set() -> None:
    rng = np.random.default_rng(7)
    w = (rng.standard_normal((SET_D, SET_K)) * 0.5).astype(np.float32)
    b = (rng.standard_normal(SET_K) * 0.1).astype(np.float32)
    cells = helper.make_tensor_value_info("cells", TensorProto.FLOAT, ["B", "S", SET_D])
    mask = helper.make_tensor_value_info("mask", TensorProto.FLOAT, ["B", "S"])
    out = helper.make_tensor_value_info("profile", TensorProto.FLOAT, ["B", SET_K])
    nodes = [
        helper.make_node("Unsqueeze", ["mask", "last_axis"], ["mask3"], name="mask_to_3d"),
        helper.make_node("Mul", ["cells", "mask3"], ["masked"], name="apply_mask"),
        helper.make_node("ReduceSum", ["masked", "set_axis"], ["sum"], name="sum_members", keepdims=0),
        helper.make_node("ReduceSum", ["mask", "set_axis"], ["count"], name="count_members", keepdims=1),
        helper.make_node("Max", ["count", "one"], ["count_safe"], name="at_least_one"),
        helper.make_node("Div", ["sum", "count_safe"], ["mean"], name="masked_mean"),
        helper.make_node("Gemm", ["mean", "w", "b"], ["profile"], name="linear"),
    ]
    init = [
        numpy_helper.from_array(np.array([2], dtype=np.int64), "last_axis"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "set_axis"),
        numpy_helper.from_array(np.array(1.0, dtype=np.float32), "one"),
        numpy_helper.from_array(w, "w"),
        numpy_helper.from_array(b, "b"),
    ]
    graph = helper.make_graph(nodes, "tiny_set", [cells, mask], [out], initializer=init)
    path = save_model(make_model(graph), "tiny_set.onnx")
    # The same network taking an int64 mask (as exporters of boolean masks often produce).
    int_mask = helper.make_tensor_value_info("mask", TensorProto.INT64, ["B", "S"])
    graph = helper.make_graph(
        [helper.make_node("Cast", ["mask"], ["mask_f"], name="mask_to_float", to=TensorProto.FLOAT)]
        + [helper.make_node(n.op_type, ["mask_f" if i == "mask" else i for i in n.input], n.output, name=n.name,
                            **{a.name: helper.get_attribute_value(a) for a in n.attribute}) for n in nodes],
        "tiny_set_int_mask",
        [cells, int_mask],
        [out],
        initializer=init,
    )
    int_path = save_model(make_model(graph), "tiny_set_int_mask.onnx")

    sizes = [3, 1, 5, 2, 4]
    offsets = np.concatenate([[0], np.cumsum(sizes)]).tolist()
    members = rng.standard_normal((offsets[-1], SET_D)).astype(np.float32)
    s_max = max(sizes)
    padded = np.zeros((len(sizes), s_max, SET_D), dtype=np.float32)
    m = np.zeros((len(sizes), s_max), dtype=np.float32)
    for i, n in enumerate(sizes):
        padded[i, :n] = members[offsets[i] : offsets[i + 1]]
        m[i, :n] = 1.0
    y = session(path).run(["profile"], {"cells": padded, "mask": m})[0]
    write(
        "tiny_set",
        {
            "model": rel(path),
            "model_sha256": sha256(path),
            "int_mask_model": rel(int_path),
            "int_mask_model_sha256": sha256(int_path),
            "d": SET_D,
            "offsets": offsets,
            "members": floats(members),
            "output": {"shape": list(y.shape), "data": floats(y)},
        },
    )


def tiny_image() -> None:
    rng = np.random.default_rng(11)
    c, hw, f, k = 3, 8, 4, 5
    w = (rng.standard_normal((f, c, 3, 3)) * 0.5).astype(np.float32)
    cb = (rng.standard_normal(f) * 0.1).astype(np.float32)
    hw_ = (rng.standard_normal((f, k)) * 0.5).astype(np.float32)
    hb = (rng.standard_normal(k) * 0.1).astype(np.float32)

    def net(layout: str) -> onnx.ModelProto:
        dims = ["N", c, hw, hw] if layout == "NCHW" else ["N", hw, hw, c]
        x = helper.make_tensor_value_info("images", TensorProto.FLOAT, dims)
        y = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", k])
        nodes = []
        first = "images"
        if layout == "NHWC":
            nodes.append(helper.make_node("Transpose", ["images"], ["nchw"], name="to_nchw", perm=[0, 3, 1, 2]))
            first = "nchw"
        nodes += [
            helper.make_node(
                "Conv", [first, "conv.w", "conv.b"], ["conv"], name="conv", kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]
            ),
            helper.make_node("Relu", ["conv"], ["relu"], name="relu"),
            helper.make_node("GlobalAveragePool", ["relu"], ["pool"], name="pool"),
            helper.make_node("Flatten", ["pool"], ["flat"], name="flatten", axis=1),
            helper.make_node("Gemm", ["flat", "head.w", "head.b"], ["features"], name="head"),
        ]
        init = [
            numpy_helper.from_array(w, "conv.w"),
            numpy_helper.from_array(cb, "conv.b"),
            numpy_helper.from_array(hw_, "head.w"),
            numpy_helper.from_array(hb, "head.b"),
        ]
        return make_model(helper.make_graph(nodes, f"tiny_image_{layout.lower()}", [x], [y], initializer=init))

    nchw = save_model(net("NCHW"), "tiny_image_nchw.onnx")
    nhwc = save_model(net("NHWC"), "tiny_image_nhwc.onnx")
    pixels = rng.random((4, c, hw, hw)).astype(np.float32)
    scale = np.array([0.5, 2.0, 1.5], dtype=np.float32)
    plain = session(nchw).run(["features"], {"images": pixels})[0]
    scaled = pixels * scale[None, :, None, None]
    scaled_nhwc = session(nhwc).run(["features"], {"images": np.ascontiguousarray(scaled.transpose(0, 2, 3, 1))})[0]
    write(
        "tiny_image",
        {
            "models": {
                "NCHW": {"model": rel(nchw), "model_sha256": sha256(nchw)},
                "NHWC": {"model": rel(nhwc), "model_sha256": sha256(nhwc)},
            },
            "input": {"shape": list(pixels.shape), "layout": "NCHW", "data": floats(pixels)},
            "scale": floats(scale),
            "output_nchw_unscaled": {"shape": list(plain.shape), "data": floats(plain)},
            "output_nhwc_scaled": {"shape": list(scaled_nhwc.shape), "data": floats(scaled_nhwc)},
        },
    )


def main() -> None:
    os.makedirs(OUT, exist_ok=True)
    contrastive_mlp()
    cnn1()
    grape_embedding()
    tiny_set()
    tiny_image()


if __name__ == "__main__":
    main()
