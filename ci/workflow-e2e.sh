#!/usr/bin/env bash
# End to end test of the leaderboard workflow (workflow/Snakefile, docs/cluster.md), on a quick
# subset: benchmarks lincs-sq00015054 and bbbc021-moa × plugins cellprofiler, pca, random, shuffle
# and test-panic (plugins/testing/panic, a plugin that always fails), with the bbbc021-moa pairs
# run as 3 parts and a merge each (config shard_runs), plus one evaluation sharded in 3 parts. Installs .venv-workflow/ (ci/setup-workflow.sh), then checks, each phase timed:
#
#   1 workflow     snakemake --profile workflow/profiles/local into a temporary site; the merged
#                  evaluation is byte for byte the unsharded one; each bbbc021-moa pair ran as 3
#                  parts (the failing plugin's parts failed) and a merge
#   2 sequential   `cpbench leaderboard` of the same subset (unsharded) into another folder: the
#                  two leaderboard.json agree on everything but wall times (scores raw and scaled,
#                  ranks, statuses, reasons), and the merged results are the unsharded ones
#                  byte for byte, timing aside
#   3 rerun        the workflow again: every `cpbench run` and merge says "cached", every part
#                  of a successful plugin too, and no result file or evaluation output changed (a
#                  rerun redoes only what changed)
#   4 changed      the same site with a copy of plugins/pca whose description is edited: exactly
#                  the two pca pairs recompute, every other pair is cached and unchanged
#   5 bad input    a copy of plugins/random with a wrong library digest: `cpbench run` exits 2 and
#                  the workflow fails (a failed plugin, test-panic, does not: its result is on the
#                  board)
#   6 slurm        (--slurm only) the cluster of ci/slurm.sh (started unless it is up, and then
#                  stopped again), the workflow with --profile workflow/profiles/slurm into a fresh
#                  site: every job went through sbatch (a SLURM log per job), the leaderboard
#                  scores equal the sequential ones and the merged evaluation the local one; then
#                  a rerun on SLURM in which every run is cached
#
#   ci/workflow-e2e.sh [--slurm] [--cpbench PATH]
#
# --cpbench: the binary to test (default: the debug binary of cargo's target folder, which must be
# built: `cargo build` or `cargo test --no-run`; this script builds nothing). It is tested as a
# copy, with the native plugin libraries of its build folder, in the temporary folder. Exit 0 only
# when every check passed; the temporary folder is removed on success and kept on failure. --slurm
# needs root (ci/slurm.sh). CPBENCH_SLURM_DIR is the cluster's state folder, as for ci/slurm.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
state="${CPBENCH_SLURM_DIR:-/tmp/cpbench-slurm}"
slurm=0
cpbench=""
while [ $# -gt 0 ]; do
  case "$1" in
    --slurm) slurm=1; shift ;;
    --cpbench) [ $# -ge 2 ] || { echo "workflow-e2e: --cpbench needs a path" >&2; exit 2; }
      cpbench=$2; shift 2 ;;
    -h|--help) sed -n '2,31p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "workflow-e2e: unknown argument '$1' (use --slurm, --cpbench PATH)" >&2; exit 2 ;;
  esac
done

say() { echo "workflow-e2e: $*"; }
die() { echo "workflow-e2e: FAILED: $*" >&2; exit 1; }

begin=$SECONDS
timings=()
phase_name=""
phase_begin=0
phase() {
  phase_end
  phase_name=$1
  phase_begin=$SECONDS
  echo
  say "== phase $phase_name"
}
phase_end() {
  if [ -n "$phase_name" ]; then
    timings+=("$(printf '%-12s %4d s' "$phase_name" $(( SECONDS - phase_begin )))")
    say "phase $phase_name took $(( SECONDS - phase_begin )) s"
  fi
  phase_name=""
}

started=0
work=""
cleanup() {
  local rc=$?
  if [ "$started" -eq 1 ]; then
    bash "$root/ci/slurm.sh" stop || rc=1
  fi
  if [ -n "$work" ]; then
    if [ "$rc" -eq 0 ]; then rm -rf "$work"; else echo "workflow-e2e: kept $work for inspection" >&2; fi
  fi
  if [ "${#timings[@]}" -gt 0 ]; then
    say "time per phase:"
    printf '  %s\n' "${timings[@]}"
  fi
  if [ "$rc" -eq 0 ]; then
    say "passed in $(( SECONDS - begin )) s"
  else
    echo "workflow-e2e: FAILED (exit $rc) after $(( SECONDS - begin )) s" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT

phase setup
bash ci/setup-workflow.sh
snakemake_bin="$root/.venv-workflow/bin/snakemake"
if [ -z "$cpbench" ]; then
  # shellcheck disable=SC1091  # ci/lib.sh: cargo_target_dir, through `cargo metadata` (no build)
  source "$root/ci/lib.sh"
  cpbench="$(cargo_target_dir)/debug/cpbench"
fi
case "$cpbench" in /*) ;; *) cpbench="$root/$cpbench" ;; esac
[ -x "$cpbench" ] || die "no cpbench binary at $cpbench (build it, or pass --cpbench PATH)"
# The ONNX Runtime that .cargo/config.toml names, for a binary that does not find it by itself.
ort="$root/.ort/lib/libonnxruntime.so.1.31.1"
if [ -z "${ORT_DYLIB_PATH:-}" ] && [ -f "$ort" ]; then export ORT_DYLIB_PATH="$ort"; fi
work="$(mktemp -d /tmp/cpbench-workflow-e2e.XXXXXX)"
say "working in $work"
# A snapshot of the binary and of the plugin libraries of its build folder (cpbench looks for
# native plugins beside its executable and in deps/ there, the newest first): a rebuild while this
# runs (another build in the same checkout) cannot mix two harness builds in one site.
mkdir -p "$work/bin/deps"
cp -p "$cpbench" "$work/bin/cpbench"
for dir in "$(dirname "$cpbench")" "$(dirname "$cpbench")/deps"; do
  for lib in "$dir"/libcpbench_plugin_*.so; do
    [ -f "$lib" ] || continue
    if [ "$(basename "$dir")" = deps ]; then cp -p "$lib" "$work/bin/deps/"; else cp -p "$lib" "$work/bin/"; fi
  done
done
say "cpbench: $cpbench ($("$work/bin/cpbench" --version)), tested as a copy in $work/bin"
cpbench="$work/bin/cpbench"

benchmarks=(lincs-sq00015054 bbbc021-moa)
plugins=(cellprofiler pca random shuffle test-panic)
for b in "${benchmarks[@]}"; do [ -f "benchmarks/$b/benchmark.toml" ] || die "no benchmarks/$b"; done
profiles="$root/benchmarks/data/lincs_sq00015054/SQ00015054_normalized_feature_select.csv.gz"

# write_config FILE SITE AUDITS PLUGIN_DIR...: the subset, one sharded evaluation (3 parts, and
# the unsharded run to compare), the audits when AUDITS is 1.
write_config() {
  local file=$1 site=$2 audits=$3 d
  shift 3
  {
    echo "cpbench: $cpbench"
    echo "out: $site"
    echo "benchmarks_dir: $root/benchmarks"
    echo "benchmarks: [$(IFS=,; echo "${benchmarks[*]}")]"
    echo "plugin_dirs:"
    for d in "$@"; do echo "  - $d"; done
    echo "plugins: [$(IFS=,; echo "${plugins[*]}")]"
    if [ "$audits" -eq 1 ]; then
      echo "audits: [$root/benchmarks/audits/*.toml]"
    else
      echo "audits: []"
    fi
    echo "audit_plugins: $root/plugins"
    cat <<EOF
shard_runs: {bbbc021-moa: 3}
evaluations:
  - id: lincs-replicate
    profiles: $profiles
    args: [--pos-sameby, Metadata_broad_sample, --neg-diffby, Metadata_broad_sample,
           --reference, Metadata_broad_sample=DMSO]
    shards: 3
    compare_unsharded: true
# Small jobs: two at a time on the 2-CPU node of ci/slurm.sh (the defaults ask for 2 CPUs).
resources:
  run: {threads: 1, mem_mb: 1000, runtime: 10}
  run_part: {threads: 1, mem_mb: 1000, runtime: 10}
  run_merge: {threads: 1, mem_mb: 1000, runtime: 10}
  audit: {threads: 1, mem_mb: 1000, runtime: 10}
  eval_shard: {threads: 1, mem_mb: 1000, runtime: 10}
  eval_whole: {threads: 1, mem_mb: 1000, runtime: 10}
EOF
  } > "$file"
}

# workflow WORKDIR PROFILE CONFIG LOG: the workflow, its output in LOG; fails when it fails.
workflow() {
  local dir=$1 profile=$2 cfg=$3 log=$4 rc=0
  mkdir -p "$dir"
  say "snakemake --profile workflow/profiles/$profile --configfile $cfg (output: $log)"
  "$snakemake_bin" --snakefile "$root/workflow/Snakefile" --directory "$dir" \
    --profile "$root/workflow/profiles/$profile" --configfile "$cfg" > "$log" 2>&1 || rc=$?
  grep -E '^(cpbench workflow|[a-z0-9-]+@v[0-9]+ ×|[0-9]+ of [0-9]+ claims|leaderboard:)' "$log" | sed 's/^/  /' || true
  if [ "$rc" -ne 0 ]; then
    tail -n 40 "$log" >&2
    die "snakemake exited with $rc (output in $log)"
  fi
}

# The SHA-256 of every result file and evaluation output of a site, one "sha  path" a line.
digests() {
  (cd "$1" && find runs evaluations -type f \( -name '*.json' -o -name '*.parquet' \) \
    ! -name '*.figures.json' -print0 | sort -z | xargs -0 sha256sum)
}

# Compares two leaderboard.json files on everything but run times (and a panicking thread's
# id inside a failure reason): exit 1, listing the differences, when they differ.
compare_boards() {
  python3 - "$1" "$2" <<'PY'
import json, re, sys

VOLATILE = {"wall_s", "peak_rss_mib", "started_at"}

def norm(x):
    if isinstance(x, dict):
        return {k: norm(v) for k, v in x.items() if k not in VOLATILE}
    if isinstance(x, list):
        return [norm(v) for v in x]
    if isinstance(x, str):
        return re.sub(r"thread '([^']*)' \(\d+\)", r"thread '\1' (N)", x)
    return x

diffs = []
def walk(a, b, where):
    if type(a) is not type(b):
        diffs.append(f"{where}: {a!r} != {b!r}")
    elif isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                diffs.append(f"{where}/{k}: only in {'second' if k in b else 'first'}")
            else:
                walk(a[k], b[k], f"{where}/{k}")
    elif isinstance(a, list):
        if len(a) != len(b):
            diffs.append(f"{where}: {len(a)} items != {len(b)}")
        for i, (u, v) in enumerate(zip(a, b)):
            walk(u, v, f"{where}[{i}]")
    elif a != b:
        diffs.append(f"{where}: {a!r} != {b!r}")

a, b = (norm(json.load(open(p))) for p in sys.argv[1:3])
walk(a, b, "")
rows = sum(len(bm["rows"]) for bm in a["benchmarks"])
cells = sum(len(r["cells"]) for bm in a["benchmarks"] for r in bm["rows"])
if diffs:
    print(f"{len(diffs)} differences:", *diffs[:40], sep="\n  ")
    sys.exit(1)
print(f"identical: {len(a['benchmarks'])} benchmarks, {rows} rows, {cells} cells (raw, sd, scaled), "
      f"ranks and the overall table; wall times aside")
PY
}

# check_runs SITE EXPECT_FRESH...: every run log of SITE says "cached" but those of the pairs
# named (BENCHMARK/PLUGIN), which must not.
check_runs() {
  local site=$1 log pair first n=0
  shift
  for log in "$site"/.workflow/logs/run/*/*.log; do
    pair="$(basename "$(dirname "$log")")/$(basename "$log" .log)"
    first="$(head -n 1 "$log")"
    n=$((n + 1))
    if printf '%s\n' "$@" | grep -qxF "$pair"; then
      case "$first" in
        *", cached"*) die "$pair was not recomputed: $first" ;;
        *) say "ok: recomputed: $first" ;;
      esac
    else
      case "$first" in
        *", cached"*) ;;
        *) die "$pair was recomputed although nothing of it changed: $first" ;;
      esac
    fi
  done
  [ "$n" -eq $(( ${#benchmarks[@]} * ${#plugins[@]} )) ] || die "expected $(( ${#benchmarks[@]} * ${#plugins[@]} )) run logs in $site, found $n"
  say "ok: $n runs, $(( n - $# )) of them cached"
}

# check_parts SITE CACHED: each bbbc021-moa pair has its 3 parts, and their logs say the part
# failed for test-panic only; with CACHED 1, every other part log says "cached".
check_parts() {
  local site=$1 cached=$2 p i log first n=0
  for p in "${plugins[@]}"; do
    for i in 1 2 3; do
      [ -s "$site/.workflow/parts/bbbc021-moa/$p/$i-of-3.json" ] || die "no part $i/3 of bbbc021-moa × $p"
      log="$site/.workflow/logs/run_part/bbbc021-moa/$p/$i-of-3.log"
      first="$(head -n 1 "$log")"
      case "$p:$first" in
        test-panic:*", failed ("*) ;;
        test-panic:*) die "the part $i/3 of test-panic did not fail: $first" ;;
        *", failed ("*) die "part $i/3 of $p failed: $first" ;;
        *", cached"*) [ "$cached" -eq 1 ] || die "part $i/3 of $p was cached on a first run: $first" ;;
        *) [ "$cached" -eq 0 ] || die "part $i/3 of $p was recomputed although nothing changed: $first" ;;
      esac
      n=$((n + 1))
    done
  done
  say "ok: $n parts of the bbbc021-moa pairs ($([ "$cached" -eq 1 ] && echo "cached" || echo "computed"); test-panic's failed)"
}

# The results of SITE and of the sequential site agree byte for byte, timing aside.
same_results() {
  python3 - "$1" "$2" <<'PY'
import json, pathlib, re, sys

a, b = (pathlib.Path(p) / "runs" for p in sys.argv[1:3])
def load(p):
    d = json.loads(p.read_text())
    d.pop("timing")
    # A panicking thread's id differs from process to process.
    return re.sub(r"thread '([^']*)' \(\d+\)", r"thread '\1' (N)", json.dumps(d, sort_keys=True))
# The sequential site holds the subset's runs only (the workflow's also the audits' runs).
names = sorted(p.relative_to(b) for p in b.rglob("*.json") if not p.name.endswith(".figures.json"))
bad = [str(n) for n in names if load(a / n) != load(b / n)]
bad += [str(n) for n in sorted(p.relative_to(b) for p in b.rglob("*.figures.json"))
        if (a / n).read_bytes() != (b / n).read_bytes()]
if bad:
    print("differ:", *bad, sep="\n  ")
    sys.exit(1)
print(f"identical: {len(names)} results (timing aside) and their plot data")
PY
}

check_eval() {
  local d=$1/evaluations/lincs-replicate
  if ! cmp "$d/ap.parquet" "$d/unsharded/ap.parquet" || ! cmp "$d/map.parquet" "$d/unsharded/map.parquet"; then
    die "the merged evaluation differs from the unsharded one in $d"
  fi
  [ "$(find "$d/parts" -name '*-of-3.json' | wc -l)" -eq 3 ] || die "expected 3 parts in $d/parts"
  say "ok: merged evaluation (3 parts) == unsharded, byte for byte (ap.parquet, map.parquet)"
}

local_dir="$work/local"
site="$local_dir/site"
write_config "$work/local.yaml" "$site" 1 "$root/plugins" "$root/plugins/testing/panic"

phase workflow
workflow "$local_dir" local "$work/local.yaml" "$work/workflow-1.log"
for f in index.html leaderboard.json leaderboard.md audits.txt; do
  [ -s "$site/$f" ] || die "no $site/$f"
done
grep -q ' claims reproduced$' "$site/audits.txt" || die "audits.txt has no summary line"
check_eval "$site"
check_parts "$site" 0
grep -q 'test-panic@0.1.0: failed' "$work/workflow-1.log" || die "the failing plugin's runs are not in the output"
say "ok: the failing plugin test-panic failed (exit 1), its results are on the board, the workflow went on"

phase sequential
only=()
for b in "${benchmarks[@]}"; do only+=(--only-benchmark "$b"); done
for p in "${plugins[@]}"; do only+=(--only-plugin "$p"); done
"$cpbench" leaderboard --benchmarks benchmarks --plugins plugins --plugins plugins/testing/panic \
  "${only[@]}" --out "$work/sequential" > "$work/sequential.log" 2>&1 ||
  { cat "$work/sequential.log" >&2; die "cpbench leaderboard failed"; }
sed 's/^/  /' "$work/sequential.log"
compare_boards "$site/leaderboard.json" "$work/sequential/leaderboard.json" ||
  die "the workflow's leaderboard.json differs from the sequential one"
same_results "$site" "$work/sequential" ||
  die "the workflow's results (bbbc021-moa merged from parts) differ from the sequential ones"

phase rerun
digests "$site" > "$work/digests-1.txt"
workflow "$local_dir" local "$work/local.yaml" "$work/workflow-2.log"
digests "$site" > "$work/digests-2.txt"
check_runs "$site"
check_parts "$site" 1
diff "$work/digests-1.txt" "$work/digests-2.txt" || die "result files or evaluation outputs changed on a rerun"
say "ok: no result file or evaluation output changed ($(wc -l < "$work/digests-1.txt") files)"
if grep -qE '^(local)?rule eval_(shard|merge|whole):' "$work/workflow-2.log"; then
  die "the rerun ran an evaluation job again"
fi

phase changed
changed="$work/plugins-changed"
mkdir -p "$changed"
for p in cellprofiler random shuffle; do ln -s "$root/plugins/$p" "$changed/$p"; done
ln -s "$root/plugins/testing/panic" "$changed/panic"
cp -r "$root/plugins/pca" "$changed/pca"
sed -i 's/^description = "/description = "Edited by ci\/workflow-e2e.sh: /' "$changed/pca/plugin.toml"
grep -q '^description = "Edited by' "$changed/pca/plugin.toml" || die "could not edit $changed/pca/plugin.toml"
write_config "$work/changed.yaml" "$site" 1 "$changed"
workflow "$local_dir" local "$work/changed.yaml" "$work/workflow-3.log"
digests "$site" > "$work/digests-3.txt"
check_runs "$site" bbbc021-moa/pca lincs-sq00015054/pca
moved="$({ diff "$work/digests-2.txt" "$work/digests-3.txt" || true; } | sed -n 's/^> [0-9a-f]*  //p' | sort | tr '\n' ' ')"
[ "$moved" = "runs/bbbc021-moa@v1/pca@0.1.0.json runs/lincs-sq00015054@v2/pca@0.1.0.json " ] ||
  die "expected exactly the two pca results to change, got: ${moved:-none}"
say "ok: only the two pca results changed: $moved"

phase bad-input
bad="$work/plugins-bad"
mkdir -p "$bad"
cp -r "$root/plugins/random" "$bad/random"
# A pinned digest that no library has: cpbench run refuses the plugin (bad input, exit 2).
sed -i 's/^\[native\]$/[native]\nsha256 = "0000000000000000000000000000000000000000000000000000000000000000"/' "$bad/random/plugin.toml"
grep -q '^sha256 = "0000' "$bad/random/plugin.toml" || die "could not edit $bad/random/plugin.toml"
cat > "$work/bad.yaml" <<EOF
cpbench: $cpbench
out: $work/bad/site
benchmarks_dir: $root/benchmarks
benchmarks: [lincs-sq00015054]
plugin_dirs: [$bad]
plugins: [random]
audits: []
EOF
rc=0
"$snakemake_bin" --snakefile "$root/workflow/Snakefile" --directory "$work/bad" \
  --profile "$root/workflow/profiles/local" --configfile "$work/bad.yaml" > "$work/workflow-bad.log" 2>&1 || rc=$?
[ "$rc" -ne 0 ] || die "the workflow succeeded although cpbench run had bad input"
grep -q 'cpbench workflow: cpbench exited with 2' "$work/workflow-bad.log" ||
  { tail -n 30 "$work/workflow-bad.log" >&2; die "the failed job does not report cpbench's exit 2"; }
grep -m1 '^error:' "$work/workflow-bad.log" | sed 's/^/  /' || true
[ ! -e "$work/bad/site/leaderboard.json" ] || die "a leaderboard was written after a failed run"
say "ok: bad input (exit 2) failed the job and the workflow (snakemake exit $rc), no leaderboard written"

if [ "$slurm" -eq 1 ]; then
  phase slurm
  if bash "$root/ci/slurm.sh" status >/dev/null 2>&1; then
    say "the cluster in $state is already up; it stays up afterwards"
  else
    started=1
    bash "$root/ci/slurm.sh" start
  fi
  export SLURM_CONF="$state/slurm.conf"
  # The jobs' inner srun loses SLURM_CONF and reads /etc/slurm/slurm.conf (see ci/slurm.sh).
  if [ "$(readlink -f /etc/slurm/slurm.conf)" != "$(readlink -f "$SLURM_CONF")" ]; then
    die "/etc/slurm/slurm.conf is not the conf of this cluster ($SLURM_CONF); the jobs' srun would not find it"
  fi
  slurm_dir="$work/slurm"
  slurm_site="$slurm_dir/site"
  write_config "$work/slurm.yaml" "$slurm_site" 1 "$root/plugins" "$root/plugins/testing/panic"
  workflow "$slurm_dir" slurm "$work/slurm.yaml" "$work/workflow-slurm-1.log"
  logs="$slurm_dir/.snakemake/slurm_logs"
  # One log per SLURM job: .snakemake/slurm_logs/rule_<rule>/<wildcards>/<job id>.log.
  for want in run:${#plugins[@]} run_part:$(( 3 * ${#plugins[@]} )) run_merge:${#plugins[@]} eval_shard:3 eval_merge:1 eval_whole:1 leaderboard:1 audit:1; do
    rule=${want%%:*}
    n="$(find "$logs/rule_$rule" -name '*.log' 2>/dev/null | wc -l)"
    [ "$n" -eq "${want#*:}" ] || die "expected ${want#*:} SLURM job logs of rule $rule under $logs, found $n"
  done
  ids="$(find "$logs" -name '*.log' -printf '%f\n' | sed 's/\.log$//' | sort -un | tr '\n' ' ')"
  say "ok: $(find "$logs" -name '*.log' | wc -l) SLURM job logs under .snakemake/slurm_logs (job ids $ids)"
  # What SLURM recorded of a run job (scontrol keeps finished jobs for MinJobAge = 600 s).
  one="$(find "$logs/rule_run" -name '*.log' | head -n 1)"
  one_id="$(basename "$one" .log)"
  got="$(scontrol show job -o "$one_id" | tr ' ' '\n' |
    grep -E '^(JobState|NumCPUs|MinMemoryNode|TimeLimit|Partition)=' | sort | tr '\n' ' ')"
  want="JobState=COMPLETED MinMemoryNode=1000M NumCPUs=1 Partition=cpbench TimeLimit=00:10:00 "
  [ "$got" = "$want" ] || die "SLURM job $one_id (rule run): got '$got', want '$want'"
  say "ok: SLURM job $one_id (rule run): $got"
  check_eval "$slurm_site"
  for f in ap.parquet map.parquet; do
    cmp "$slurm_site/evaluations/lincs-replicate/$f" "$site/evaluations/lincs-replicate/$f" ||
      die "the merged evaluation on SLURM differs from the local one ($f)"
  done
  say "ok: merged evaluation on SLURM == the local one, byte for byte"
  compare_boards "$slurm_site/leaderboard.json" "$work/sequential/leaderboard.json" ||
    die "the SLURM workflow's leaderboard.json differs from the sequential one"
  same_results "$slurm_site" "$work/sequential" ||
    die "the SLURM workflow's results (bbbc021-moa merged from parts) differ from the sequential ones"
  slurm_digests="$(digests "$slurm_site")"
  workflow "$slurm_dir" slurm "$work/slurm.yaml" "$work/workflow-slurm-2.log"
  check_runs "$slurm_site"
  [ "$slurm_digests" = "$(digests "$slurm_site")" ] || die "result files changed on a rerun on SLURM"
  say "ok: rerun on SLURM: every run cached, no result file changed"
fi
phase_end
