"""Harmony batch correction (harmonypy) as a cpbench command plugin (protocol cpbench-command/1).

The profiles are standardized over all rows, projected on their first `n_components` principal
components (numpy SVD, signs fixed so that each component's largest loading is positive), and
Harmony removes the effect of the `batch_key` context column (`batch` or `plate`) from those
components. The corrected components are the representation. Harmony is transductive: it is
fitted on all rows it is given, using the batch context only (never labels), as in the
batch-correction benchmark of Arevalo et al. (2024).
"""

import json
import sys

import harmonypy
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def principal_components(x, k):
    """Scores of the first k principal components of x (rows are samples), deterministic signs."""
    x = x - x.mean(axis=0)
    u, s, vt = np.linalg.svd(x, full_matrices=False)
    lead = np.abs(vt[:k]).argmax(axis=1)
    signs = np.sign(vt[np.arange(k), lead])
    signs[signs == 0] = 1.0
    return u[:, :k] * (s[:k] * signs)


def main(job_path):
    with open(job_path) as f:
        job = json.load(f)
    config = job["config"]
    key = config.get("batch_key", "batch")
    if key not in job["context"]:
        sys.exit(
            f"harmony: the benchmark gives no '{key}' context column "
            f"(it gives: {', '.join(job['context']) or 'none'}); set batch_key in [command.config]"
        )
    table = pq.read_table(job["input"])
    x = np.column_stack(
        [table.column(name).to_numpy().astype(np.float64) for name in job["features"]]
    )
    batches = table.column(key).to_pylist()
    sd = x.std(axis=0)
    keep = sd > 0
    z = (x[:, keep] - x[:, keep].mean(axis=0)) / sd[keep]
    k = int(min(config.get("n_components", 50), z.shape[0] - 1, z.shape[1]))
    if k < 1:
        sys.exit(f"harmony: {z.shape[0]} rows × {z.shape[1]} varying features leave no component")
    pcs = principal_components(z, k)
    if len(set(batches)) < 2:
        # Nothing to correct: Harmony needs two batches.
        corrected = pcs
    else:
        result = harmonypy.run_harmony(
            pcs,
            {key: batches},
            key,
            theta=float(config.get("theta", 2.0)),
            max_iter_harmony=int(config.get("max_iter", 10)),
            random_state=int(config.get("seed", 0)),
            verbose=False,
            ncores=int(job["threads"]),
        )
        corrected = np.asarray(result.Z_corr)
        if corrected.shape == (k, len(batches)):
            corrected = corrected.T
    names = [f"harmony_{j:04d}" for j in range(corrected.shape[1])]
    out = pa.table({n: corrected[:, j].astype(np.float32) for j, n in enumerate(names)})
    pq.write_table(out, job["output"])


if __name__ == "__main__":
    main(sys.argv[-1])
