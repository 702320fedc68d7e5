#!/usr/bin/env bash
# Smoke test of the workflow engine on a real SLURM cluster: installs .venv-workflow/
# (ci/setup-workflow.sh), starts the single-node cluster of ci/slurm.sh unless it is already up, runs
# tests/workflow/smoke/Snakefile in a temporary folder with snakemake's SLURM executor, checks that
# every job wrote a SLURM job id (so it really went through sbatch), and stops the cluster again
# when this script started it (a cluster that was already up is left running). Needs root.
#
#   ci/slurm-smoke.sh            run it; exit status 0 only when every check passed
#
# The temporary folder is removed on success and kept on failure (its .snakemake/slurm_logs/ holds
# the jobs' logs). CPBENCH_SLURM_DIR is the cluster's state folder, as for ci/slurm.sh.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
state="${CPBENCH_SLURM_DIR:-/tmp/cpbench-slurm}"
snakefile="$root/tests/workflow/smoke/Snakefile"

case "${1:-}" in
  "") ;;
  -h|--help) sed -n '2,11p' "${BASH_SOURCE[0]}"; exit 0 ;;
  *) echo "slurm-smoke: unknown argument '$1'" >&2; exit 2 ;;
esac

begin=$SECONDS
bash "$root/ci/setup-workflow.sh"

started=0
work=""
cleanup() {
  local rc=$?
  if [ "$started" -eq 1 ]; then
    bash "$root/ci/slurm.sh" stop || rc=1
  fi
  if [ -n "$work" ]; then
    if [ "$rc" -eq 0 ]; then rm -rf "$work"; else echo "slurm-smoke: kept $work for inspection" >&2; fi
  fi
  if [ "$rc" -eq 0 ]; then
    echo "slurm-smoke: passed in $(( SECONDS - begin )) s"
  else
    echo "slurm-smoke: FAILED (exit $rc)" >&2
  fi
  exit "$rc"
}
trap cleanup EXIT

if bash "$root/ci/slurm.sh" status >/dev/null 2>&1; then
  echo "slurm-smoke: the cluster in $state is already up; it stays up afterwards"
else
  started=1
  bash "$root/ci/slurm.sh" start
fi
export SLURM_CONF="$state/slurm.conf"
# The jobs' inner srun loses SLURM_CONF and reads /etc/slurm/slurm.conf (see ci/slurm.sh).
if [ "$(readlink -f /etc/slurm/slurm.conf)" != "$(readlink -f "$SLURM_CONF")" ]; then
  echo "slurm-smoke: /etc/slurm/slurm.conf is not the conf of this cluster ($SLURM_CONF); the jobs' srun would not find it" >&2
  exit 1
fi

work="$(mktemp -d /tmp/cpbench-slurm-smoke.XXXXXX)"
echo "slurm-smoke: running $snakefile with --executor slurm in $work"
run_begin=$SECONDS
# --slurm-status-command squeue: there is no accounting database, so sacct cannot answer (squeue
# keeps finished jobs for MinJobAge=600 s, ci/slurm.sh's slurm.conf).
# --slurm-init-seconds-before-status-checks 2: first status query after 2 s instead of 40 s.
# --slurm-keep-successful-logs: keep .snakemake/slurm_logs/ for the checks below.
"$root/.venv-workflow/bin/snakemake" \
  --snakefile "$snakefile" --directory "$work" \
  --executor slurm --slurm-no-account --slurm-status-command squeue \
  --slurm-init-seconds-before-status-checks 2 --slurm-keep-successful-logs \
  --jobs 2 --latency-wait 5 --printshellcmds
echo "slurm-smoke: snakemake finished in $(( SECONDS - run_begin )) s"

summary="$work/results/summary.txt"
echo "slurm-smoke: $summary:"
sed 's/^/  /' "$summary"
fail=0
check() {
  if grep -Eq "$1" "$summary"; then
    echo "slurm-smoke: ok: $2"
  else
    echo "slurm-smoke: FAILED: $2 (no line matching '$1')" >&2
    fail=1
  fi
}
check '^rule=hello sample=a .* slurm_job_id=[0-9]+ cpus=1$' "hello a ran as a SLURM job with 1 CPU"
check '^rule=hello sample=b .* slurm_job_id=[0-9]+ cpus=1$' "hello b ran as a SLURM job with 1 CPU"
check '^rule=aggregate .* slurm_job_id=[0-9]+ cpus=2$' "aggregate ran as a SLURM job with 2 CPUs"
# What SLURM granted each job (squeue and scontrol keep finished jobs for MinJobAge=600 s).
job_check() {
  local rule=$1 id=$2 want=$3 got
  got="$(scontrol show job -o "$id" | tr ' ' '\n' | grep -E '^(JobState|NumCPUs|MinMemoryNode|TimeLimit|Partition)=' | sort | tr '\n' ' ')"
  if [ "$got" = "$want " ]; then
    echo "slurm-smoke: ok: SLURM job $id ($rule): $got"
  else
    echo "slurm-smoke: FAILED: SLURM job $id ($rule): got '$got', want '$want'" >&2
    fail=1
  fi
}
while read -r rule id; do
  case "$rule" in
    hello) want="JobState=COMPLETED MinMemoryNode=200M NumCPUs=1 Partition=cpbench TimeLimit=00:05:00" ;;
    *) want="JobState=COMPLETED MinMemoryNode=300M NumCPUs=2 Partition=cpbench TimeLimit=00:05:00" ;;
  esac
  job_check "$rule" "$id" "$want"
done < <(sed -E -n 's/^rule=([a-z]+) .*slurm_job_id=([0-9]+).*/\1 \2/p' "$summary")
ids="$(grep -Eo 'slurm_job_id=[0-9]+' "$summary" | sort -u | wc -l)"
if [ "$ids" -eq 3 ]; then
  echo "slurm-smoke: ok: 3 distinct SLURM job ids"
else
  echo "slurm-smoke: FAILED: expected 3 distinct SLURM job ids, found $ids" >&2
  fail=1
fi
logs="$(find "$work/.snakemake/slurm_logs" -name '*.log' | wc -l)"
if [ "$logs" -ge 3 ]; then
  echo "slurm-smoke: ok: $logs job logs under .snakemake/slurm_logs/"
else
  echo "slurm-smoke: FAILED: expected 3 job logs under $work/.snakemake/slurm_logs, found $logs" >&2
  fail=1
fi
[ "$fail" -eq 0 ]
