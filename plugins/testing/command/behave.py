"""Test-only command plugin: one program whose `behaviour` (job config) injects a failure.

Used by tests/e2e/command.rs and the host's tests to prove that a misbehaving command plugin fails
only its own run, and that nothing but features and the allowed context reaches it.

behaviour:
  echo      returns its input features unchanged; with `report` (an absolute path) it also writes
            everything it was handed there: the job file, the input table's columns and every
            string value in them, and its environment
  exit      prints a message to stderr and exits with `code` (default 3)
  segfault  crashes with SIGSEGV
  hang      sleeps forever (run it with a short timeout)
  alloc     allocates memory in 64 MiB steps until `max_mib` (default 8192), then gives up
  labels    tries to use the benchmark's label column `column` (default Metadata_moa)
  bad-rows  writes one output row fewer than it was given
  nan       writes a NaN in the output
  silent    exits 0 without writing an output table
  threads   echo, minus each row's mean summed in as many parts as the job's `threads`, so that its
            output follows the thread count (what plugin check's thread-count step must fail)
"""

import json
import os
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def write(job, y, names=None):
    names = names or [f"out_{j:04d}" for j in range(y.shape[1])]
    pq.write_table(
        pa.table({n: y[:, j].astype(np.float32) for j, n in enumerate(names)}), job["output"]
    )


def main(job_path):
    with open(job_path) as f:
        job = json.load(f)
    config = job["config"]
    behaviour = config.get("behaviour", "echo")
    table = pq.read_table(job["input"])
    x = np.column_stack([table.column(n).to_numpy() for n in job["features"]])
    if behaviour == "echo":
        if "report" in config:
            strings = {
                name: table.column(name).to_pylist()
                for name in table.column_names
                if pa.types.is_string(table.column(name).type)
                or pa.types.is_large_string(table.column(name).type)
            }
            with open(config["report"], "w") as f:
                json.dump(
                    {
                        "job": job,
                        "columns": table.column_names,
                        "strings": strings,
                        "env": dict(os.environ),
                        "cwd": os.getcwd(),
                    },
                    f,
                )
        write(job, x, job["features"])
    elif behaviour == "exit":
        print("behave.py: failing on purpose", file=sys.stderr)
        sys.exit(int(config.get("code", 3)))
    elif behaviour == "segfault":
        import ctypes

        ctypes.string_at(0)
    elif behaviour == "hang":
        print("behave.py: hanging", file=sys.stderr, flush=True)
        while True:
            time.sleep(60)
    elif behaviour == "alloc":
        chunks = []
        for _ in range(int(config.get("max_mib", 8192)) // 64):
            chunks.append(np.ones(64 << 20, dtype=np.uint8))
        print("behave.py: allocated everything without hitting a limit", file=sys.stderr)
        sys.exit(4)
    elif behaviour == "labels":
        column = config.get("column", "Metadata_moa")
        labels = table.column(column)  # raises KeyError: the column is never there
        write(job, np.asarray(labels.to_pylist(), dtype=np.float32)[:, None])
    elif behaviour == "bad-rows":
        write(job, x[:-1])
    elif behaviour == "nan":
        y = x.copy()
        y[0, 0] = np.nan
        write(job, y)
    elif behaviour == "silent":
        pass
    elif behaviour == "threads":
        parts = np.array_split(np.arange(x.shape[1]), max(1, int(job["threads"])))
        total = np.zeros(x.shape[0], dtype=np.float32)
        for p in parts:
            total += x[:, p].astype(np.float32).sum(axis=1)
        write(job, x - (total / np.float32(x.shape[1]))[:, None])
    else:
        sys.exit(f"behave.py: unknown behaviour {behaviour!r}")


if __name__ == "__main__":
    main(sys.argv[-1])
