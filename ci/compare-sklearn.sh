#!/usr/bin/env bash
# Runs ci/compare-sklearn.py: cpbench (release build) and scikit-learn on the same data, side by
# side. The scikit-learn environment is a venv made from tests/golden/requirements-sklearn.txt,
# created once and reused (CPBENCH_SKLEARN_VENV, default target/sklearn-venv).
# Arguments are passed to the script, e.g. `ci/compare-sklearn.sh --only kmeans --reps 5`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${CPBENCH_SKLEARN_VENV:-$root/target/sklearn-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$root/tests/golden/requirements-sklearn.txt"
fi
cargo build --release --locked -p cpbench --manifest-path "$root/Cargo.toml"
exec "$venv/bin/python" "$root/ci/compare-sklearn.py" --cpbench "$root/target/release/cpbench" "$@"
