#!/usr/bin/env python3
"""Builds the `grape-embedding` architecture fixture: a gene-embedding lookup with GRAPE's shape.

GRAPE (Bigverdi, Hoeckendorf et al., CVPR Workshops 2024) learns one embedding vector per
perturbed gene; at inference its gene representation is a row of that table. As an ONNX graph
that is a single Gather over an initializer:

    input  "genes"      int64   [N]      indices into vocab.txt (line i = index i)
    output "embedding"  float32 [N, 64]  the rows of the table

The table here is RANDOM (standard normal / sqrt(64), fixed seed): this is an architecture
fixture for cpbench's lookup path, not GRAPE's trained embedding, so role = "example". Scored
on a benchmark it behaves like the "Random" row of GRAPE's Table 1.

Vocabulary (vocab.txt): the genes of benchmarks/data/grape/perturbed_genes.txt in file order
(GRAPE's perturbations), then every other gene symbol of
benchmarks/data/annotations/CORUM_clusters.tsv in sorted order, so the fixture also covers the
genes of the known-relationship benchmarks. Duplicates are kept once (first occurrence).

Pins: plugins/requirements-train.txt (numpy, onnx).

    .venv-train/bin/python plugins/grape-embedding/make_fixture.py

Deterministic: two runs write byte-identical files.
"""

import hashlib
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
PERTURBED = os.path.join(ROOT, "benchmarks", "data", "grape", "perturbed_genes.txt")
CORUM = os.path.join(ROOT, "benchmarks", "data", "annotations", "CORUM_clusters.tsv")
SEED = 2024
DIM = 64
OPSET = 17
IR_VERSION = 8


def vocabulary() -> tuple[list[str], int]:
    with open(PERTURBED, encoding="utf-8") as f:
        perturbed = [line.strip() for line in f if line.strip()]
    corum = set()
    with open(CORUM, encoding="utf-8") as f:
        for line in f:
            _, _, genes = line.rstrip("\n").partition("\t")
            corum.update(g for g in genes.split(" ") if g)
    tokens, seen = [], set()
    for g in perturbed:
        if g not in seen:
            tokens.append(g)
            seen.add(g)
    n_perturbed = len(tokens)
    tokens += sorted(corum - seen)
    return tokens, n_perturbed


def build(n_tokens: int) -> onnx.ModelProto:
    rng = np.random.default_rng(SEED)
    table = (rng.standard_normal((n_tokens, DIM)) / np.sqrt(DIM)).astype(np.float32)
    genes = helper.make_tensor_value_info("genes", TensorProto.INT64, ["N"])
    out = helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", DIM])
    graph = helper.make_graph(
        [helper.make_node("Gather", ["gene_embedding", "genes"], ["embedding"], name="lookup", axis=0)],
        "grape_embedding_fixture",
        [genes],
        [out],
        initializer=[numpy_helper.from_array(table, "gene_embedding")],
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        ir_version=IR_VERSION,
        producer_name="cpbench plugins/grape-embedding/make_fixture.py",
        producer_version="1",
        doc_string="RANDOM gene-embedding table with GRAPE's lookup shape; not GRAPE's trained embedding.",
    )
    helper.set_model_props(
        model,
        {"cpbench.untrained": "true", "cpbench.seed": str(SEED), "cpbench.vocabulary_size": str(n_tokens)},
    )
    onnx.checker.check_model(model, full_check=True)
    return model


PLUGIN_TOML = """\
schema_version = 1
id = "grape-embedding"
version = "0.1.0"
kind = "onnx"
# A random table with GRAPE's lookup shape, for testing the lookup path: never ranked.
role = "example"
description = "Architecture fixture with GRAPE's gene-embedding lookup shape ({n} genes -> {k}-d); RANDOM weights, not GRAPE"
license = "MIT OR Apache-2.0"
citation = "Shape of GRAPE's gene embedding: Bigverdi, Hoeckendorf et al., CVPR Workshops (CVMI) 2024"

[input]
level = "gene"

[output]
level = "gene"
dim = {k}

[onnx]
model = "model.onnx"
sha256 = "{sha}"
shape = "lookup"
input = "genes"
output = "embedding"
vocabulary = "vocab.txt"
batch_size = 1024
execution_providers = ["cpu"]
"""


def main() -> None:
    tokens, n_perturbed = vocabulary()
    data = build(len(tokens)).SerializeToString(deterministic=True)
    with open(os.path.join(HERE, "model.onnx"), "wb") as f:
        f.write(data)
    with open(os.path.join(HERE, "vocab.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("\n".join(tokens) + "\n")
    sha = hashlib.sha256(data).hexdigest()
    with open(os.path.join(HERE, "plugin.toml"), "w", encoding="utf-8", newline="\n") as f:
        f.write(PLUGIN_TOML.format(n=len(tokens), k=DIM, sha=sha))
    print(
        f"wrote plugins/grape-embedding/model.onnx ({len(data)} bytes, sha256 {sha}), "
        f"vocab.txt ({len(tokens)} genes: {n_perturbed} perturbed in GRAPE's screen, "
        f"{len(tokens) - n_perturbed} more from CORUM) and plugin.toml"
    )


if __name__ == "__main__":
    main()
