#!/usr/bin/env bash
# Remote data end to end, on loopback only (issue 18): installs the pinned moto server
# (ci/setup-remote.sh), starts it and a plain HTTP range server, generates the JUMP-format
# fixtures and uploads them at the consortium's object keys, then, as a user with a mirror
# would, points the shipped JUMP manifests at them (CPBENCH_S3_ENDPOINT, CPBENCH_URL_REWRITE;
# the fixtures' pins written in by tests/remote/fixture_manifest.py) and runs:
#
#   cpbench fetch   benchmarks/jump-orf (fixture pins)      downloads and verifies
#   cpbench fetch   ... --offline                           cache hit
#   cpbench fetch   with a changed etag                     exit 2, both etags named
#   cpbench run     --benchmark jump-orf --plugin plugins/cellprofiler
#
# and the remote e2e tests (cargo test --test e2e remote::: resume after kill -9, retries,
# corrupt cache, multipart etags, offline). Stops only the servers it started.
#
#   ci/remote-e2e.sh [--no-tests]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$(pwd)"
tests=1
[ "${1:-}" = "--no-tests" ] && tests=0

bash ci/setup-remote.sh
state="$(mktemp -d)"
http_pid=""
cleanup() {
  [ -n "$http_pid" ] && kill "$http_pid" 2>/dev/null || true
  bash tests/remote/moto.sh stop "$state" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

bash tests/remote/moto.sh start "$state" --watch-pid $$ >/dev/null
moto="http://127.0.0.1:$(cat "$state/moto.port")"
.venv-remote/bin/python tests/remote/make_jump_fixtures.py --out "$state/fx" --upload-s3 "$moto" >/dev/null
python3 tests/remote/range_server.py --root "$state/fx" --port-file "$state/http.port" \
  --etags "$state/fx/fixtures.json" --parent-pid $$ >/dev/null 2>&1 &
http_pid=$!
for _ in $(seq 100); do [ -s "$state/http.port" ] && break; sleep 0.1; done
http="http://127.0.0.1:$(cat "$state/http.port")"

export CPBENCH_S3_ENDPOINT="$moto"
export CPBENCH_URL_REWRITE="https://raw.githubusercontent.com/=$http/"
for b in jump-orf jump-crispr jump-compound; do
  mkdir -p "$state/bench/$b"
  python3 tests/remote/fixture_manifest.py "benchmarks/$b/benchmark.toml" "$state/fx/fixtures.json" \
    "$state/bench/$b/benchmark.toml" >/dev/null
done

# The binary of the test build (`cargo test --workspace`, as in make test): building it with
# `cargo build -p cpbench` instead would unify other features and rebuild polars.
cargo test --workspace --locked --no-run --quiet
source "$root/ci/lib.sh"
cpbench="$(cd "$root" && cargo_target_dir)/debug/cpbench"
cache="$state/cache"
echo "== cpbench fetch (fixture bucket on $moto, layout on $http)"
"$cpbench" fetch "$state/bench/jump-orf" "$state/bench/jump-crispr" "$state/bench/jump-compound" --cache-dir "$cache"
echo "== cpbench fetch --offline"
"$cpbench" fetch "$state/bench/jump-orf" --cache-dir "$cache" --offline
echo "== cpbench fetch with a changed etag (must exit 2)"
mkdir -p "$state/changed"
python3 - "$state/bench/jump-orf/benchmark.toml" "$state/changed/benchmark.toml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
# The first etag pin, its last hex digit changed: the remote object no longer matches it.
m = re.search(r'etag = "([0-9a-f]{32})"', text)
new = m.group(1)[:-1] + ("0" if m.group(1)[-1] != "0" else "1")
open(sys.argv[2], "w").write(text[:m.start(1)] + new + text[m.end(1):])
PY
set +e
"$cpbench" fetch "$state/changed" --cache-dir "$state/cache2" 2> "$state/err"
code=$?
set -e
cat "$state/err"
if [ "$code" -ne 2 ] || ! grep -q "but the manifest pins" "$state/err"; then
  echo "remote-e2e: a changed etag gave exit $code" >&2; exit 1
fi
echo "== cpbench run --benchmark jump-orf --plugin plugins/cellprofiler"
"$cpbench" run --benchmark "$state/bench/jump-orf" --plugin plugins/cellprofiler \
  --cache-dir "$cache" --out "$state/site"

if [ "$tests" -eq 1 ]; then
  echo "== cargo test --test e2e remote::"
  cargo test --locked -p cpbench --test e2e remote:: -- --test-threads 2
fi
echo "remote-e2e: ok"
