"""Factor analysis (scikit-learn) as a cpbench command plugin (protocol cpbench-command/1).

Ljosa et al. (2013) found factor analysis fitted on the control wells the best of the profiling
methods they compared on BBBC021. This plugin does the same with scikit-learn's FactorAnalysis:
the features are standardized on the rows the plugin may fit on (the controls), the model is
fitted on those rows, and every row is represented by its `n_components` factor scores.
"""

import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from sklearn.decomposition import FactorAnalysis


def main(job_path):
    with open(job_path) as f:
        job = json.load(f)
    config = job["config"]
    table = pq.read_table(job["input"])
    x = np.column_stack(
        [table.column(name).to_numpy().astype(np.float64) for name in job["features"]]
    )
    fit = np.asarray(job["fit_rows"], dtype=np.int64)
    if len(fit) < 2:
        fit = np.arange(x.shape[0])
    mean = x[fit].mean(axis=0)
    sd = x[fit].std(axis=0)
    keep = sd > 0
    z = (x[:, keep] - mean[keep]) / sd[keep]
    k = int(min(config.get("n_components", 50), len(fit) - 1, z.shape[1]))
    if k < 1:
        sys.exit(f"factor analysis: {len(fit)} fit rows × {z.shape[1]} varying features")
    model = FactorAnalysis(
        n_components=k,
        svd_method="randomized",
        iterated_power=3,
        max_iter=int(config.get("max_iter", 1000)),
        tol=float(config.get("tol", 1e-2)),
        random_state=int(config.get("seed", 0)),
    )
    model.fit(z[fit])
    scores = model.transform(z)
    # Factors are defined up to sign: make each one's largest loading positive.
    lead = np.abs(model.components_).argmax(axis=1)
    signs = np.sign(model.components_[np.arange(k), lead])
    signs[signs == 0] = 1.0
    scores = scores * signs
    names = [f"fa_{j:04d}" for j in range(k)]
    out = pa.table({n: scores[:, j].astype(np.float32) for j, n in enumerate(names)})
    pq.write_table(out, job["output"])


if __name__ == "__main__":
    main(sys.argv[-1])
