#!/usr/bin/env bash
# Runs the whole test suite: installs ONNX Runtime if needed, then every test of the workspace,
# then the leaderboard workflow with Snakemake's local executor (ci/workflow-e2e.sh: installs the
# pinned Snakemake into .venv-workflow/ once, then checks the workflow's board and results against
# the sequential `cpbench leaderboard`, sharded runs included). With arguments (a test filter,
# cargo test flags), only `cargo test` runs, with them.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash ci/setup-onnxruntime.sh
cargo test --workspace --locked "$@"
if [ $# -eq 0 ]; then
  bash ci/workflow-e2e.sh
fi
