#!/usr/bin/env bash
# Runs ci/compare-sklearn.py: cpbench (release build) and scikit-learn on the same data, side by
# side. The scikit-learn environment is a venv made from ci/requirements-compare-sklearn.txt (the
# golden fixtures' pins plus pyarrow), created once and reused (CPBENCH_SKLEARN_VENV, default
# target/sklearn-venv) and reinstalled when the pins change.
# Arguments are passed to the script, e.g. `ci/compare-sklearn.sh --only kmeans --reps 5`.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${CPBENCH_SKLEARN_VENV:-$root/target/sklearn-venv}"
req="$root/ci/requirements-compare-sklearn.txt"
# (Re)install whenever the pins changed since the venv was made.
if [ ! -x "$venv/bin/python" ] || ! cmp -s "$req" "$venv/.requirements"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
    cp "$req" "$venv/.requirements"
fi
cargo build --release --locked -p cpbench --manifest-path "$root/Cargo.toml"
source "$root/ci/lib.sh"
exec "$venv/bin/python" "$root/ci/compare-sklearn.py" --cpbench "$(cd "$root" && cargo_target_dir)/release/cpbench" "$@"
