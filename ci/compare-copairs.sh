#!/usr/bin/env bash
# Side-by-side speed and agreement of cpbench and copairs 0.5.5 on the same generated data
# (issue 3 cases a-d), or on an existing well table (case orf-shape: --data PATH, optionally
# --plates N). Builds the release binary and a pinned Python environment, then runs
# ci/compare-copairs.py; extra arguments are passed on (e.g. --cases a,b --repeats 5, or
# --cases orf-shape --data wells.parquet --copairs-repeats 1).
# Environment: CPBENCH_COPAIRS_VENV (default .venv-compare-copairs).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${CPBENCH_COPAIRS_VENV:-.venv-compare-copairs}"
req=ci/requirements-compare-copairs.txt
if [[ ! -x "$venv/bin/python" ]] || ! cmp -s "$req" "$venv/.requirements"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$venv/.requirements"
fi

cargo build --release --locked -p cpbench
exec "$venv/bin/python" ci/compare-copairs.py --cpbench target/release/cpbench "$@"
