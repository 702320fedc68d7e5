#!/usr/bin/env bash
# Runs ci/compare-sklearn.py: cpbench (release build) and scikit-learn on the same data, side by
# side. The scikit-learn environment is a venv made from ci/requirements-compare-sklearn.txt (the
# golden fixtures' pins plus pyarrow), created once and reused (CPBENCH_SKLEARN_VENV, default
# target/sklearn-venv); an older venv without pyarrow gets the missing packages.
# Arguments are passed to the script, e.g. `ci/compare-sklearn.sh --only kmeans --reps 5`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${CPBENCH_SKLEARN_VENV:-$root/target/sklearn-venv}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
if ! "$venv/bin/python" -c "import pyarrow, sklearn" 2>/dev/null; then
    "$venv/bin/pip" install --quiet -r "$root/ci/requirements-compare-sklearn.txt"
fi
cargo build --release --locked -p cpbench --manifest-path "$root/Cargo.toml"
exec "$venv/bin/python" "$root/ci/compare-sklearn.py" --cpbench "$root/target/release/cpbench" "$@"
