#!/usr/bin/env python3
"""Builds the tiny ONNX test models used by cpbench-host's ONNX Runtime tests.

Pins (tests/golden/requirements-onnx.txt):
    onnx==1.23.2   builds and checks the graph
    numpy==2.4.6   computes the expected output; the newest numpy that installs on the
                   project machines' CPython 3.11 (numpy 2.5.x requires Python >= 3.12)

Regenerate (deterministic: two runs give byte-identical files):
    python3 -m venv /tmp/v
    /tmp/v/bin/pip install -r tests/golden/requirements-onnx.txt
    /tmp/v/bin/python tests/golden/make_tiny_onnx.py

Writes, relative to the repository root:
    tests/fixtures/onnx/tiny_linear.onnx           y = Relu(x @ W + b), x: float32 [N, 4], y: float32 [N, 3]
    tests/fixtures/onnx/tiny_linear.expected.json  a fixed input batch and the expected y
    tests/fixtures/onnx/tiny_embedding.onnx        y = Gather(E, indices), indices: int64 [N], y: float32 [N, 3]
                                                   (the shape of GRAPE's gene-embedding lookup)
    tests/fixtures/onnx/tiny_embedding.expected.json

The expected outputs are computed with numpy, never with onnxruntime, so the Rust test checks
ONNX Runtime against an independent reference. Every weight, bias and input value is a short
dyadic fraction (k / 2^m), so x @ W + b is exact in float32 as in float64 (and the lookup only
copies values): the reference does not depend on summation order or precision, and the tests
can hold ONNX Runtime to 1e-6.
"""

import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
# IR version 8 is the one that goes with opset 17 (ONNX 1.12) and well inside what ONNX Runtime
# 1.31 reads; pinning it keeps the files independent of the onnx package's newest default.
IR_VERSION = 8

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT_DIR = os.path.join(ROOT, "tests", "fixtures", "onnx")

W = np.array(
    [
        [0.5, -1.25, 0.75],
        [-0.25, 0.5, 1.5],
        [1.0, 0.125, -0.5],
        [-0.75, 0.25, 0.25],
    ],
    dtype=np.float32,
)
B = np.array([0.125, -0.5, 0.25], dtype=np.float32)

# Five rows: positive, negative and mixed, so some outputs are clipped by Relu and some are not.
X = np.array(
    [
        [1.0, 2.0, 3.0, 4.0],
        [-1.0, 0.5, -0.25, 2.0],
        [0.0, 0.0, 0.0, 0.0],
        [2.5, -1.5, 0.75, -0.5],
        [-3.0, -2.0, 1.0, 0.125],
    ],
    dtype=np.float32,
)

# Embedding table: 6 "genes" x 3 dimensions; the lookup repeats an index and uses both ends.
E = np.array(
    [
        [0.5, -0.25, 1.0],
        [-1.5, 0.75, 0.125],
        [2.0, 0.0, -0.625],
        [0.25, 1.25, -1.0],
        [-0.375, -2.0, 0.5],
        [1.75, 0.5, 0.0625],
    ],
    dtype=np.float32,
)
INDICES = np.array([3, 0, 5, 3, 1], dtype=np.int64)


def make_model(graph: onnx.GraphProto) -> onnx.ModelProto:
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="cpbench tests/golden/make_tiny_onnx.py",
        producer_version="1",
    )
    onnx.checker.check_model(model, full_check=True)
    return model


def build_linear() -> onnx.ModelProto:
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", 3])
    nodes = [
        helper.make_node("MatMul", ["x", "W"], ["xw"], name="matmul"),
        helper.make_node("Add", ["xw", "b"], ["xwb"], name="add_bias"),
        helper.make_node("Relu", ["xwb"], ["y"], name="relu"),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny_linear",
        [x],
        [y],
        initializer=[numpy_helper.from_array(W, "W"), numpy_helper.from_array(B, "b")],
    )
    return make_model(graph)


def build_embedding() -> onnx.ModelProto:
    indices = helper.make_tensor_value_info("indices", TensorProto.INT64, ["N"])
    y = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 3])
    graph = helper.make_graph(
        [helper.make_node("Gather", ["E", "indices"], ["embedding"], name="lookup", axis=0)],
        "tiny_embedding",
        [indices],
        [y],
        initializer=[numpy_helper.from_array(E, "E")],
    )
    return make_model(graph)


def expected_linear() -> np.ndarray:
    # float64 reference from the float32 values; exact here (see module docstring).
    y = np.maximum(X.astype(np.float64) @ W.astype(np.float64) + B.astype(np.float64), 0.0)
    assert np.array_equal(y, y.astype(np.float32).astype(np.float64)), "reference is not exact in float32"
    return y


def write(model: onnx.ModelProto, name: str, expected: dict) -> None:
    with open(os.path.join(OUT_DIR, f"{name}.onnx"), "wb") as f:
        f.write(model.SerializeToString(deterministic=True))
    doc = {
        "generator": "tests/golden/make_tiny_onnx.py",
        "model": f"{name}.onnx",
        "opset": OPSET,
        "ir_version": IR_VERSION,
        "tolerance": 1e-6,
        **expected,
    }
    with open(os.path.join(OUT_DIR, f"{name}.expected.json"), "w", encoding="utf-8", newline="\n") as f:
        json.dump(doc, f, indent=2)
        f.write("\n")
    print(f"wrote tests/fixtures/onnx/{name}.onnx and {name}.expected.json")


def main() -> None:
    os.makedirs(OUT_DIR, exist_ok=True)
    y = expected_linear()
    write(
        build_linear(),
        "tiny_linear",
        {
            "weights": {"W": W.astype(np.float64).tolist(), "b": B.astype(np.float64).tolist()},
            "input": {"name": "x", "shape": list(X.shape), "data": X.astype(np.float64).tolist()},
            "output": {"name": "y", "shape": list(y.shape), "data": y.tolist()},
        },
    )
    looked_up = E.astype(np.float64)[INDICES]
    write(
        build_embedding(),
        "tiny_embedding",
        {
            "weights": {"E": E.astype(np.float64).tolist()},
            "input": {"name": "indices", "shape": list(INDICES.shape), "data": INDICES.tolist()},
            "output": {"name": "embedding", "shape": list(looked_up.shape), "data": looked_up.tolist()},
        },
    )


if __name__ == "__main__":
    main()
