#!/usr/bin/env python3
"""Build `embedding.csv.gz`: a Laplacian-eigenmap embedding of the shipped StringDB graph.

Input: `benchmarks/data/annotations/StringDB.pairs.csv.gz` (header `entity1,entity2`,
gene-symbol pairs listed in both directions, no weights).

Method:

1. Read the pairs; the graph is undirected and unweighted (a pair listed twice, in either
   direction, is one edge; self-pairs, if any, are dropped). Genes are sorted by symbol.
2. Keep the largest connected component. The other components (a few hundred, of 2 to a
   dozen genes) would each add a zero eigenvalue of the Laplacian, and their indicator
   vectors are not a geometry; their genes get no row, and cpbench reports them as
   missing keys.
3. On that component, with adjacency A and degrees D, take the K + 1 largest eigenvalues
   of N = D^-1/2 A D^-1/2 (the K + 1 smallest of the normalized Laplacian I - N) with
   ARPACK (`scipy.sparse.linalg.eigsh`, which = "LA", tol = 0, a fixed start vector drawn
   from numpy's PCG64 with seed 0), in ascending order of the Laplacian eigenvalue. The
   first is the trivial one (constant on the component) and is dropped.
4. Each remaining eigenvector v of N becomes the generalized eigenvector f = D^-1/2 v of
   L f = lambda D f (Belkin and Niyogi's Laplacian eigenmap), scaled by sqrt(vol) so that
   f' D f = vol = sum of degrees (a global factor that cosine similarity ignores; it only
   keeps the printed values near 1). Sign: the component of largest absolute value is
   made positive (the first such component on a tie).
5. Column `e00` is the smallest non-trivial eigenvalue, `e01` the next, and so on.

Output: `embedding.csv.gz` beside this script: columns `gene,e00,...,e{K-1}`, rows sorted
by gene, values rounded to float32 and printed with 6 significant digits (`%.6g`), `\\n`
line ends, gzip level 9 with mtime 0 and no file name in the header, so the same inputs
and pinned packages (requirements.txt) give the same bytes. BLAS and OpenMP are held to
one thread for the same reason. The script prints the table's SHA-256 for plugin.toml.

Run from the repository root:
    .venv-stringdb/bin/python plugins/stringdb-spectral/make_table.py
"""

from __future__ import annotations

import os

# One thread: the floating-point summation order, hence the bytes, must not depend on it.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import gzip  # noqa: E402
import hashlib  # noqa: E402
import io  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402
from scipy.sparse.csgraph import connected_components  # noqa: E402
from scipy.sparse.linalg import eigsh  # noqa: E402

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
PAIRS = ROOT / "benchmarks" / "data" / "annotations" / "StringDB.pairs.csv.gz"
OUT = HERE / "embedding.csv.gz"

K = 64
SEED = 0


def read_edges(path: Path) -> tuple[list[str], np.ndarray, np.ndarray]:
    with gzip.open(path, "rt", encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines[0].strip() != "entity1,entity2":
        raise SystemExit(f"{path}: unexpected header {lines[0]!r}")
    edges = set()
    for i, line in enumerate(lines[1:], start=2):
        line = line.strip()
        if not line:
            continue
        parts = line.split(",")
        if len(parts) != 2 or not all(parts):
            raise SystemExit(f"{path}:{i}: expected two gene symbols, got {line!r}")
        a, b = parts
        if a != b:
            edges.add((a, b) if a < b else (b, a))
    genes = sorted({g for e in edges for g in e})
    index = {g: i for i, g in enumerate(genes)}
    ordered = sorted(edges)
    rows = np.array([index[a] for a, _ in ordered], dtype=np.int64)
    cols = np.array([index[b] for _, b in ordered], dtype=np.int64)
    return genes, rows, cols


def embed(n: int, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Laplacian eigenmap of a connected graph: (coordinates [n, K], Laplacian eigenvalues, vol)."""
    data = np.ones(2 * len(rows))
    adj = sp.csr_matrix(
        (data, (np.concatenate([rows, cols]), np.concatenate([cols, rows]))), shape=(n, n)
    )
    deg = np.asarray(adj.sum(axis=1)).ravel()
    inv_sqrt = 1.0 / np.sqrt(deg)
    norm = sp.diags(inv_sqrt) @ adj @ sp.diags(inv_sqrt)
    norm = sp.csr_matrix(norm)
    v0 = np.random.Generator(np.random.PCG64(SEED)).standard_normal(n)
    mu, vecs = eigsh(norm, k=K + 1, which="LA", tol=0, v0=v0)
    order = np.argsort(-mu, kind="stable")
    lam = 1.0 - mu[order]
    vecs = vecs[:, order]
    if lam[0] > 1e-8 or lam[1] < 1e-8:
        raise SystemExit(f"graph not connected as expected: smallest eigenvalues {lam[:3]}")
    vol = float(deg.sum())
    coords = (vecs[:, 1:] * inv_sqrt[:, None]) * np.sqrt(vol)
    for j in range(coords.shape[1]):
        top = int(np.argmax(np.abs(coords[:, j])))
        if coords[top, j] < 0:
            coords[:, j] = -coords[:, j]
    return coords, lam[1:], vol


def render(genes: list[str], coords: np.ndarray) -> bytes:
    c32 = coords.astype(np.float32)
    buf = io.StringIO()
    buf.write(",".join(["gene"] + [f"e{j:02d}" for j in range(c32.shape[1])]) + "\n")
    for g, row in zip(genes, c32):
        buf.write(g + "," + ",".join("%.6g" % float(x) for x in row) + "\n")
    raw = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as z:
        z.write(buf.getvalue().encode("utf-8"))
    return raw.getvalue()


def main() -> int:
    genes, rows, cols = read_edges(PAIRS)
    n_all = len(genes)
    graph = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_all, n_all))
    n_comp, labels = connected_components(graph, directed=False)
    sizes = np.bincount(labels)
    big = int(np.argmax(sizes))
    keep = np.flatnonzero(labels == big)
    new = np.full(n_all, -1, dtype=np.int64)
    new[keep] = np.arange(len(keep))
    on = (labels[rows] == big) & (labels[cols] == big)
    sub_genes = [genes[i] for i in keep]
    coords, lam, vol = embed(len(keep), new[rows[on]], new[cols[on]])
    data = render(sub_genes, coords)
    OUT.write_bytes(data)
    print(f"{PAIRS.name}: {n_all} genes, {len(rows)} edges, {n_comp} connected components")
    print(
        f"largest component: {len(keep)} genes, {int(on.sum())} edges; "
        f"{n_all - len(keep)} genes in the other {n_comp - 1} components left out"
    )
    print(f"K = {K}; Laplacian eigenvalues e00..e{K - 1:02d}: {lam[0]:.6f} .. {lam[-1]:.6f}")
    print(f"wrote {OUT} ({len(data)} bytes)")
    print(f"sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
