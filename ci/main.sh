#!/usr/bin/env bash
# The main job. Until benchmarks and the leaderboard land, it checks the environment, validates the
# shipped data against its checksums and summarizes the shipped datasets.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash ci/setup-onnxruntime.sh
cargo build --locked --release -p cpbench
bin=target/release/cpbench
"$bin" doctor
(cd benchmarks/data && sha256sum -c --quiet SHA256SUMS) && echo "shipped data: all SHA256SUMS match"
"$bin" info benchmarks/data/lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz
"$bin" info benchmarks/data/bbbc021/BBBC021_feature_selected_mad_robustize.csv.gz
