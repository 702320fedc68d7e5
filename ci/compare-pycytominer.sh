#!/usr/bin/env bash
# Side-by-side speed, memory and agreement of `cpbench prep` and pycytominer 1.7.1 on the same
# generated data (issue 5: ZCA-cor sphering, per-plate MAD robustize, correlation_threshold).
# Builds the release binary and a pinned Python environment, then runs
# ci/compare-pycytominer.py; extra arguments are passed on (e.g. --cases sphere --repeats 5).
# Environment: CPBENCH_PYCYTOMINER_VENV (default .venv-compare-pycytominer).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${CPBENCH_PYCYTOMINER_VENV:-.venv-compare-pycytominer}"
req=tests/golden/requirements-pycytominer.txt
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$req" "$venv/.requirements"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$venv/.requirements"
fi

cargo build --release --locked -p cpbench
source ci/lib.sh
exec "$venv/bin/python" ci/compare-pycytominer.py --cpbench "$(cargo_target_dir)/release/cpbench" "$@"
