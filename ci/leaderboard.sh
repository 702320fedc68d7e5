#!/usr/bin/env bash
# What a CI job runs to regenerate the leaderboard: build cpbench and the native plugins, score
# every applicable (benchmark, plugin) pair (cached under OUT/runs: only pairs whose inputs
# changed are recomputed), recompute the published claims in benchmarks/audits, and check the
# pages in headless Chromium.
#
#   ci/leaderboard.sh [--out DIR] [--baseline OLD/leaderboard.json] [--tolerance T] [--no-browser]
#
# Exit 1 if a score dropped against the baseline by more than the tolerance, an audit claim is
# not reproduced, or a page fails the browser check; 2 on bad input. OUT/leaderboard.md is meant
# for a CI summary or a pull-request comment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=reports/site
baseline=
tolerance=0.02
browser=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    --tolerance) tolerance=$2; shift 2 ;;
    --no-browser) browser=0; shift ;;
    *) echo "ci/leaderboard.sh: unknown argument $1 (see the header of this script)" >&2; exit 2 ;;
  esac
done

bash ci/setup-onnxruntime.sh
# The native plugins' libraries must sit beside the cpbench that loads them: one build.
cargo build --locked --release -p cpbench -p cpbench-plugin-random -p cpbench-plugin-pca
bin=target/release/cpbench

status=0
args=(leaderboard --out "$out")
if [ -n "$baseline" ]; then
  args+=(--baseline "$baseline" --tolerance "$tolerance")
fi
"$bin" "${args[@]}" || status=$?
if [ "$status" -gt 1 ]; then
  exit "$status"
fi
"$bin" audit benchmarks/audits/*.toml --out "$out" > "$out/audits.txt" || status=$?
tail -n 1 "$out/audits.txt"
if [ "$status" -gt 1 ]; then
  cat "$out/audits.txt"
  exit "$status"
fi
if [ "$browser" = 1 ]; then
  run_report=$(ls "$out"/runs/lincs-sq00015054@*/cellprofiler@*.html | head -n 1)
  bash ci/check-report.sh --out "$out/screenshots" "$out/index.html" "$run_report" || status=1
fi
echo "leaderboard: $out/index.html (open it in a browser), $out/leaderboard.md, $out/leaderboard.json"
exit "$status"
