"""ComBat batch correction (pyComBat, the `combat` package) as a cpbench command plugin.

Each feature's location and scale are adjusted per batch with empirical Bayes priors (Johnson et
al. 2007), as implemented by pyComBat (Behdenna et al. 2023), with the `batch_key` context column
(`batch` or `plate`) as the batch. Features with no variance inside some batch cannot be
rescaled there and are passed through unchanged (their number goes to stderr). ComBat is
transductive: it is fitted on all rows it is given, using the batch context only (never labels).
Protocol: cpbench-command/1 (cpbench's docs/plugins.md).
"""

import json
import sys

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from combat.pycombat import pycombat


def main(job_path):
    with open(job_path) as f:
        job = json.load(f)
    config = job["config"]
    key = config.get("batch_key", "batch")
    if key not in job["context"]:
        sys.exit(
            f"combat: the benchmark gives no '{key}' context column "
            f"(it gives: {', '.join(job['context']) or 'none'}); set batch_key in [command.config]"
        )
    table = pq.read_table(job["input"])
    names = job["features"]
    x = np.column_stack([table.column(n).to_numpy().astype(np.float64) for n in names])
    batches = np.asarray(table.column(key).to_pylist(), dtype=object)
    levels = sorted(set(batches))
    corrected = x.copy()
    if len(levels) >= 2:
        # A feature constant inside any batch (or a batch of one row) has no within-batch
        # variance to standardize by: ComBat would divide by zero there.
        sizes = {b: int((batches == b).sum()) for b in levels}
        if min(sizes.values()) < 2:
            small = [b for b in levels if sizes[b] < 2]
            sys.exit(f"combat: batches with a single row cannot be corrected: {small[:5]}")
        varies = np.ones(x.shape[1], dtype=bool)
        for b in levels:
            varies &= x[batches == b].std(axis=0) > 0
        skipped = int((~varies).sum())
        if skipped:
            print(
                f"combat: {skipped} of {x.shape[1]} features are constant inside some batch; "
                "passed through unchanged",
                file=sys.stderr,
            )
        if varies.any():
            data = pd.DataFrame(x[:, varies].T)
            adjusted = pycombat(
                data,
                list(batches),
                par_prior=bool(config.get("parametric", True)),
                mean_only=bool(config.get("mean_only", False)),
            )
            corrected[:, varies] = np.asarray(adjusted, dtype=np.float64).T
    out = pa.table({n: corrected[:, j].astype(np.float32) for j, n in enumerate(names)})
    pq.write_table(out, job["output"])


if __name__ == "__main__":
    main(sys.argv[-1])
