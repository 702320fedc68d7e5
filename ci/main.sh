#!/usr/bin/env bash
# The main job: the leaderboard of every shipped benchmark × plugin, into reports/site/
# (index.html, leaderboard.json, leaderboard.md, one report per run under runs/), plus the audits
# of published numbers. Pass --no-browser to skip the headless-Chromium check of the pages.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash ci/setup-onnxruntime.sh
(cd benchmarks/data && sha256sum -c --quiet SHA256SUMS) && echo "shipped data: all SHA256SUMS match"
exec bash ci/leaderboard.sh --out reports/site "$@"
