//! The scaffold of a `command` plugin in Python: a manifest, a working program, pinned
//! requirements and a README.
//!
//! The program already works: it centers and scales each feature on the rows it may fit on
//! (controls, or the train split), reading and writing the `cpbench-command/1` files, so an
//! author replaces one function rather than learning the protocol first.

/// Pinned packages of the scaffold's environment (every line `name==version`).
pub const PYTHON_REQUIREMENTS: &str = "\
# Every package pinned, dependencies included: cpbench builds one environment per hash of this
# file, and an unpinned line would make scores depend on the day it was built.
numpy==2.4.6
pyarrow==26.0.1
";

/// Files of a Python command plugin named `id`.
pub fn python_files(id: &str) -> Vec<(&'static str, String)> {
    let manifest = format!(
        r#"schema_version = 1
id = "{id}"
version = "0.1.0"
kind = "command"
role = "method"
description = "TODO: one line saying what this representation is"
license = "TODO: SPDX license of the code and of anything it downloads, e.g. MIT"
# citation = "Author et al., Journal (year)"
# Datasets or benchmark ids the method saw in training (flags contaminated scores).
training_datasets = []

[input]
level = "well"

[output]
level = "well"

[command]
# The program and its arguments; cpbench appends the path of the job file. `python` is the
# environment cpbench builds from `requirements` (cached by the file's hash).
run = ["python", "plugin.py"]
requirements = "requirements.txt"
# Files the program runs from; `cpbench plugin check` prints the sha256 to pin each one.
files = [{{ path = "plugin.py" }}]
timeout_s = 600
memory_limit_mib = 4096

# Written to the job file's `config` unchanged.
[command.config]
epsilon = 1e-6
"#
    );
    let program = r#""""A cpbench command plugin (protocol cpbench-command/1, see docs/plugins.md).

cpbench runs `python plugin.py JOB.json` in this folder. The job file names the input table (one
row per profile: the allowed context columns `plate`, `well`, `batch`, `control`, `split` and the
feature columns), the rows the plugin may fit on, and where to write the output table (one row per
input row, in order; one float column per output dimension). Exit 0 on success; anything printed to
stderr is shown when the run fails.
"""

import json
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def represent(x, fit_rows, config):
    """TODO: replace with your method. Centers and scales each feature on the fit rows."""
    fit = x[fit_rows] if len(fit_rows) > 0 else x
    mean = fit.mean(axis=0)
    scale = fit.std(axis=0) + config.get("epsilon", 1e-6)
    return (x - mean) / scale


def main(job_path):
    with open(job_path) as f:
        job = json.load(f)
    table = pq.read_table(job["input"])
    x = np.column_stack(
        [table.column(name).to_numpy().astype(np.float64) for name in job["features"]]
    )
    fit_rows = np.asarray(job["fit_rows"], dtype=np.int64)
    y = represent(x, fit_rows, job["config"])
    names = [f"{job['plugin']['id']}_{j:04d}" for j in range(y.shape[1])]
    out = pa.table({name: y[:, j].astype(np.float32) for j, name in enumerate(names)})
    pq.write_table(out, job["output"])


if __name__ == "__main__":
    main(sys.argv[-1])
"#
    .to_string();
    let readme = format!(
        "# {id}\n\n\
         A cpbench `command` plugin in Python. cpbench writes the input (features and the allowed \
         context, never labels) to a Parquet file, runs `python plugin.py JOB.json` in this \
         folder with the environment built from `requirements.txt`, and reads the Parquet table \
         the program writes. The protocol is in cpbench's docs/plugins.md.\n\n\
         Next steps:\n\n\
         1. Replace `represent` in `plugin.py` with your method. Keep every random choice seeded: \
         results must be identical on every run and at any thread count.\n\
         2. Pin every package you import in `requirements.txt` (`name==version`, dependencies \
         included: `pip freeze` in a clean environment gives the list).\n\
         3. Fill `description`, `license` and `citation` in `plugin.toml`.\n\
         4. Run `cpbench plugin check {id}` (the folder): it builds the environment, runs the \
         plugin on a small fixture, checks determinism, thread counts and the label firewall, and \
         prints the sha256 to pin `plugin.py` with.\n\
         5. Try it on a benchmark: `cpbench run benchmarks/bbbc021-moa {id}`.\n"
    );
    vec![
        ("plugin.toml", manifest),
        ("plugin.py", program),
        ("requirements.txt", PYTHON_REQUIREMENTS.to_string()),
        ("README.md", readme),
    ]
}
