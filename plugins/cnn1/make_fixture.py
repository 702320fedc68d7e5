#!/usr/bin/env python3
"""Builds the `cnn1` architecture fixture: an UNTRAINED conv net with Cell Painting CNN-1's contract.

Contract (what the published CNN-1 takes and gives, Moshkov et al., Nat Commun 15, 2024):
    input  "images"   float32 [N, 5, 128, 128]  5 Cell Painting channels, 128 x 128 crop per cell
    output "features" float32 [N, 672]          one feature vector per crop

The network here is NOT CNN-1 and has learned nothing: four 3x3 stride-2 convolutions with ReLU
(5 -> 16 -> 32 -> 64 -> 128 channels, 128 -> 8 pixels), global average pooling and a linear map
to 672, with He-initialized weights from a fixed seed. It exists to test and time cpbench's image
path (batching, layout, scaling, providers) at CNN-1's shapes; its scores mean nothing, so the
plugin has role = "example" and is never ranked. README.md says how to convert the real CNN-1.

Pins: plugins/requirements-train.txt (numpy, onnx).

    .venv-train/bin/python plugins/cnn1/make_fixture.py

Deterministic: two runs write byte-identical model.onnx and plugin.toml.
"""

import hashlib
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
SEED = 672
CHANNELS = [5, 16, 32, 64, 128]
CROP = 128
FEATURES = 672
OPSET = 17
IR_VERSION = 8


def build(seed: int = SEED) -> onnx.ModelProto:
    rng = np.random.default_rng(seed)
    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, ["N", CHANNELS[0], CROP, CROP])
    y = helper.make_tensor_value_info("features", TensorProto.FLOAT, ["N", FEATURES])
    nodes, init = [], []
    prev = "images"
    for i, (cin, cout) in enumerate(zip(CHANNELS[:-1], CHANNELS[1:]), start=1):
        w = rng.standard_normal((cout, cin, 3, 3)) * np.sqrt(2.0 / (cin * 9))
        b = rng.standard_normal(cout) * 0.01
        init += [
            numpy_helper.from_array(w.astype(np.float32), f"conv{i}.weight"),
            numpy_helper.from_array(b.astype(np.float32), f"conv{i}.bias"),
        ]
        nodes += [
            helper.make_node(
                "Conv",
                [prev, f"conv{i}.weight", f"conv{i}.bias"],
                [f"conv{i}"],
                name=f"conv{i}",
                kernel_shape=[3, 3],
                strides=[2, 2],
                pads=[1, 1, 1, 1],
            ),
            helper.make_node("Relu", [f"conv{i}"], [f"relu{i}"], name=f"relu{i}"),
        ]
        prev = f"relu{i}"
    w = rng.standard_normal((CHANNELS[-1], FEATURES)) * np.sqrt(1.0 / CHANNELS[-1])
    init += [
        numpy_helper.from_array(w.astype(np.float32), "head.weight"),
        numpy_helper.from_array(np.zeros(FEATURES, dtype=np.float32), "head.bias"),
    ]
    nodes += [
        helper.make_node("GlobalAveragePool", [prev], ["pooled"], name="global_average_pool"),
        helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten", axis=1),
        helper.make_node("Gemm", ["flat", "head.weight", "head.bias"], ["features"], name="head"),
    ]
    graph = helper.make_graph(nodes, "cnn1_architecture_fixture", [x], [y], initializer=init)
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="cpbench plugins/cnn1/make_fixture.py",
        producer_version="1",
        doc_string="UNTRAINED architecture fixture with Cell Painting CNN-1's input/output contract; not CNN-1.",
    )
    helper.set_model_props(model, {"cpbench.untrained": "true", "cpbench.seed": str(seed)})
    onnx.checker.check_model(model, full_check=True)
    return model


PLUGIN_TOML = """\
schema_version = 1
id = "cnn1"
version = "0.1.0"
kind = "onnx"
# An untrained network with CNN-1's shapes, for testing and timing the image path: never ranked.
role = "example"
description = "Architecture fixture with Cell Painting CNN-1's contract (5 x 128 x 128 crops -> 672-d); UNTRAINED, not CNN-1"
license = "MIT OR Apache-2.0"
citation = "Contract of Cell Painting CNN-1: Moshkov et al., Nat Commun 15 (2024)"

[input]
level = "image"
dim = 5

[output]
level = "cell"
dim = 672

[onnx]
model = "model.onnx"
sha256 = "{sha}"
shape = "image"
input = "images"
output = "features"
layout = "NCHW"
batch_size = 256
execution_providers = ["cuda", "cpu"]
"""


def main() -> None:
    data = build().SerializeToString(deterministic=True)
    with open(os.path.join(HERE, "model.onnx"), "wb") as f:
        f.write(data)
    sha = hashlib.sha256(data).hexdigest()
    with open(os.path.join(HERE, "plugin.toml"), "w", encoding="utf-8", newline="\n") as f:
        f.write(PLUGIN_TOML.format(sha=sha))
    print(f"wrote plugins/cnn1/model.onnx ({len(data)} bytes, sha256 {sha}) and plugin.toml")


if __name__ == "__main__":
    main()
