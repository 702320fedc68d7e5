#!/usr/bin/env bash
# Wall time and peak memory of cpbench on the JUMP-shaped synthetic tables of ci/scale/ (issue
# 18; docs/performance.md "JUMP scale"). Builds the release binary (found through cargo, so a
# CARGO_TARGET_DIR is respected), then runs ci/measure-scale.py; extra arguments are passed on
# (e.g. --shapes orf --repeats 3). Needs ~2.5 GB of disk for the compound-shaped table, written
# once under the ignored benchmarks/data/synthetic/.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(cargo build --release --locked -p cpbench --message-format=json-render-diagnostics |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "cpbench":
        print(m["executable"])')
[[ -x "$bin" ]] || { echo "measure-scale: no cpbench binary from cargo build" >&2; exit 1; }
exec python3 ci/measure-scale.py --cpbench "$bin" "$@"
