#!/usr/bin/env bash
# What a CI job runs to regenerate the leaderboard: build cpbench and the native plugins, set up
# the command plugins' Python environments, score every applicable (benchmark, plugin) pair
# (cached under OUT/runs: only pairs whose inputs changed are recomputed), recompute the
# published claims in benchmarks/audits, and check the pages in headless Chromium.
#
#   ci/leaderboard.sh [--out DIR] [--baseline OLD/leaderboard.json] [--tolerance T]
#                     [--tolerance-for METRIC=T]... [--no-browser]
#
# --tolerance is the largest allowed drop of a control-scaled score (0 = worst control, 1 = best;
# default 0.02), --tolerance-for overrides it for one metric (repeatable; docs/benchmarks.md).
# Exit 1 if a score dropped against the baseline by more than the tolerance, an audit claim is
# not reproduced, or a page fails the browser check; 2 on bad input. OUT/leaderboard.md is meant
# for a CI summary or a pull-request comment.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

out=reports/site
baseline=
tolerance=0.02
tolerance_for=()
browser=1
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out=$2; shift 2 ;;
    --baseline) baseline=$2; shift 2 ;;
    --tolerance) tolerance=$2; shift 2 ;;
    --tolerance-for) tolerance_for+=(--tolerance-for "$2"); shift 2 ;;
    --no-browser) browser=0; shift ;;
    *) echo "ci/leaderboard.sh: unknown argument $1 (see the header of this script)" >&2; exit 2 ;;
  esac
done

bash ci/setup-onnxruntime.sh
# Artifacts too large to commit: a plugin's fetch.sh downloads them and checks their SHA-256
# (docs/submitting.md); the manifest's pinned sha256 is checked again before every run.
for fetch in plugins/*/fetch.sh; do
  [ -f "$fetch" ] || continue
  echo "ci/leaderboard.sh: $fetch"
  (cd "$(dirname "$fetch")" && bash ./fetch.sh) || {
    echo "ci/leaderboard.sh: $fetch failed" >&2
    exit 2
  }
done
# Every native plugin it finds (plugins/*/plugin.toml with kind = "native", a crate beside it).
# A crate of this workspace builds with cpbench, into the target folder cpbench searches first. A
# crate with a workspace of its own (what `cpbench plugin new --kind native` writes) builds in its
# folder, into its own target/ whatever CARGO_TARGET_DIR says, where its plugin.toml names the
# library (`library = "target/release/lib<crate>.so"`); its target/release also goes on
# CPBENCH_PLUGIN_LIB_DIR, for a plugin.toml that names the crate instead.
packages=(-p cpbench)
own_workspace=()
for manifest in plugins/*/plugin.toml; do
  dir=$(dirname "$manifest")
  grep -Eq '^[[:space:]]*kind[[:space:]]*=[[:space:]]*"native"' "$manifest" || continue
  if [ ! -f "$dir/Cargo.toml" ]; then
    echo "ci/leaderboard.sh: $dir: a native plugin without a Cargo.toml; not built here" >&2
    continue
  fi
  # Fails, saying why, for a crate that is neither a member nor a workspace of its own.
  root=$(cargo locate-project --workspace --manifest-path "$dir/Cargo.toml" --message-format plain)
  if [ "$root" = "$(pwd -P)/Cargo.toml" ]; then
    packages+=(-p "$(cargo pkgid --manifest-path "$dir/Cargo.toml")")
  else
    own_workspace+=("$dir")
  fi
done
cargo build --locked --release "${packages[@]}"
lib_dirs=()
for dir in "${own_workspace[@]}"; do
  locked=()
  if [ -f "$dir/Cargo.lock" ]; then locked=(--locked); fi
  echo "ci/leaderboard.sh: building $dir (a workspace of its own)"
  cargo build "${locked[@]}" --release --manifest-path "$dir/Cargo.toml" --target-dir "$dir/target"
  lib_dirs+=("$(pwd -P)/$dir/target/release")
done
if [ "${#lib_dirs[@]}" -gt 0 ]; then
  CPBENCH_PLUGIN_LIB_DIR=$(IFS=:; echo "${lib_dirs[*]}")${CPBENCH_PLUGIN_LIB_DIR:+:$CPBENCH_PLUGIN_LIB_DIR}
  export CPBENCH_PLUGIN_LIB_DIR
fi
source ci/lib.sh
bin="$(cargo_target_dir)/release/cpbench"
# Every command plugin's environment, built (or found in $CPBENCH_CACHE_DIR, which a CI job can
# keep between runs) before any run: a failed install is its own error here, exit 2, rather than
# a failed run in the middle of the leaderboard.
command_plugins=()
for manifest in plugins/*/plugin.toml; do
  if grep -Eq '^[[:space:]]*kind[[:space:]]*=[[:space:]]*"command"' "$manifest"; then
    command_plugins+=("$(dirname "$manifest")")
  fi
done
if [ "${#command_plugins[@]}" -gt 0 ]; then
  "$bin" plugin setup "${command_plugins[@]}"
fi

status=0
args=(leaderboard --out "$out")
if [ -n "$baseline" ]; then
  args+=(--baseline "$baseline" --tolerance "$tolerance" "${tolerance_for[@]}")
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
