#!/usr/bin/env bash
# Runs the whole test suite: installs ONNX Runtime if needed, then every test of the workspace.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash ci/setup-onnxruntime.sh
cargo test --workspace --locked "$@"
