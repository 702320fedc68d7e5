#!/usr/bin/env bash
# A real single-node SLURM cluster on this machine (Debian's slurm-wlm 22.05 and munge), for running
# the Snakemake workflows with `--executor slurm` (ci/slurm-smoke.sh shows how). Needs root.
#
#   ci/slurm.sh start    install slurm-wlm and munge with apt-get if slurmctld is missing, write
#                        slurm.conf, start munged, slurmctld and slurmd, wait until the node is idle
#   ci/slurm.sh stop     cancel the jobs, stop the daemons that `start` started (and only those)
#   ci/slurm.sh status   sinfo and squeue; exit status 0 when the cluster is up, 3 when it is not
#
# Everything the cluster writes lives in the state folder ${CPBENCH_SLURM_DIR:-/tmp/cpbench-slurm}:
# slurm.conf, spool and state folders, logs (log/), pid files (run/, munge/munged.pid) and munged's
# socket. munged is a private one on its own socket (slurm.conf's AuthInfo=socket=...), so a munged
# of the system is neither used nor touched; it reads the machine's key /etc/munge/munge.key (written
# if none exists). Daemons are known by the pid files in the state folder, so `stop` never stops a
# daemon that this script did not start, and `start` with the cluster already up only reports it.
# A slurmctld or slurmd that this script did not start makes `start` fail (the ports are taken).
# Clients need the conf: `export SLURM_CONF=$CPBENCH_SLURM_DIR/slurm.conf` (start prints that line).
# Outside the state folder (besides apt and a missing munge key): when /etc/slurm/slurm.conf is
# absent, start makes it a symlink to the state folder's slurm.conf, and stop removes it. Snakemake's
# slurm-jobstep plugin (0.6.x) runs each job through an inner `srun` with every SLURM_* variable but
# a few job ids removed, SLURM_CONF too, so that srun only finds the cluster through that path.
# A /etc/slurm/slurm.conf of another cluster is left alone (start warns: such jobs would fail).
# CPBENCH_SLURM_TIMEOUT (default 90) is how many seconds start waits for the node to be idle.
set -euo pipefail

state="${CPBENCH_SLURM_DIR:-/tmp/cpbench-slurm}"
timeout="${CPBENCH_SLURM_TIMEOUT:-90}"
conf="$state/slurm.conf"
key=/etc/munge/munge.key
partition=cpbench
export PATH="$PATH:/usr/sbin:/sbin"

say() { echo "slurm: $*"; }
die() { echo "slurm: $*" >&2; exit 1; }

usage() { sed -n '2,23p' "${BASH_SOURCE[0]}"; }

# The pid file of each daemon (munged's lives in munge/, which munged wants to own).
pidfile() {
  case "$1" in
    munged) echo "$state/munge/munged.pid" ;;
    *) echo "$state/run/$1.pid" ;;
  esac
}

# Prints the pid of daemon $1 when this script started it and it still runs, else fails.
ours() {
  local f pid
  f="$(pidfile "$1")"
  [ -f "$f" ] || return 1
  pid="$(tr -dc '0-9' < "$f")"
  [ -n "$pid" ] && [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] || return 1
  echo "$pid"
}

# Pids of the processes named $1 that this script did not start.
foreign() {
  local mine
  mine="$(ours "$1" || true)"
  pgrep -x "$1" | grep -vx "${mine:-none}" || true
}

node_state() {
  SLURM_CONF="$conf" sinfo -h -N -n "$(hostname -s)" -o '%t' 2>/dev/null | head -n1
}

is_up() {
  ours munged >/dev/null && ours slurmctld >/dev/null && ours slurmd >/dev/null && [ -f "$conf" ] &&
    case "$(node_state)" in idle|mix|mixed|alloc|allocated|comp|completing) true ;; *) false ;; esac
}

logs_tail() {
  local f
  for f in "$state/munge/munged.log" "$state/log/slurmctld.log" "$state/log/slurmd.log"; do
    [ -f "$f" ] || continue
    echo "---- tail of $f" >&2
    tail -n 25 "$f" >&2
  done
}

install_packages() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sinfo >/dev/null &&
     command -v munged >/dev/null; then
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "slurmctld is missing and installing it needs root"
  local begin=$SECONDS pkgs=(slurm-wlm munge)
  say "installing ${pkgs[*]} with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends "${pkgs[@]}"; then
    say "apt-get install failed; running apt-get update and trying again"
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${pkgs[@]}"
  fi
  say "installed ${pkgs[*]} in $(( SECONDS - begin )) s"
}

ensure_key() {
  [ -s "$key" ] && return 0
  say "writing a new munge key $key"
  mkdir -p "$(dirname "$key")"
  if command -v mungekey >/dev/null; then
    mungekey --create --keyfile="$key" --force
  else
    (umask 077; dd if=/dev/urandom of="$key" bs=1024 count=1 status=none)
  fi
  if getent passwd munge >/dev/null; then chown munge:munge "$key"; fi
  chmod 0400 "$key"
}

write_conf() {
  local host cpus avail_kb mem_mb
  host="$(hostname -s)"
  cpus="$(nproc)"
  avail_kb="$(awk '/^MemAvailable:/ {print $2}' /proc/meminfo)"
  mem_mb=$(( avail_kb * 8 / 10 / 1024 ))
  mkdir -p "$state/run" "$state/log" "$state/ctld" "$state/spool"
  cat > "$conf.part" <<EOF
# Written by ci/slurm.sh start: a single-node cluster on loopback, everything under $state.
ClusterName=cpbench
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$state/munge/munge.socket.2
StateSaveLocation=$state/ctld
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$(pidfile slurmctld)
SlurmdPidFile=$(pidfile slurmd)
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
SlurmdParameters=config_overrides
ReturnToService=2
MinJobAge=600
MailProg=/bin/true
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=$partition Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
  mv "$conf.part" "$conf"
  say "wrote $conf (node $host: CPUs=$cpus RealMemory=$mem_mb MB, partition $partition)"
}

# The default path of the clients (see the header): a symlink to our conf, when it is free.
etc_conf=/etc/slurm/slurm.conf
link_etc_conf() {
  if [ -L "$etc_conf" ] && [ "$(readlink "$etc_conf")" = "$conf" ]; then return 0; fi
  if [ -L "$etc_conf" ] && [ -e "$etc_conf" ] && ! head -n1 "$etc_conf" 2>/dev/null | grep -q '^# Written by ci/slurm.sh start'; then
    : # a symlink to something else that exists: not ours
  elif [ -L "$etc_conf" ] || [ ! -e "$etc_conf" ]; then
    # absent, or a symlink left by an earlier cluster of this script (another state folder)
    mkdir -p "$(dirname "$etc_conf")"
    ln -sfn "$conf" "$etc_conf"
    say "linked $etc_conf -> $conf (for job steps that lose SLURM_CONF)"
    return 0
  fi
  echo "slurm: WARNING: $etc_conf belongs to another cluster; job steps that drop SLURM_CONF (snakemake's inner srun) will use it and fail" >&2
}

unlink_etc_conf() {
  if [ -L "$etc_conf" ] && [ "$(readlink "$etc_conf")" = "$conf" ]; then
    rm -f "$etc_conf"
    say "removed the symlink $etc_conf"
  fi
}

start_munged() {
  local pid user=root
  if pid="$(ours munged)"; then say "munged already running (pid $pid)"; return 0; fi
  getent passwd munge >/dev/null && user=munge
  mkdir -p "$state/munge"
  chown "$user" "$state/munge"
  chmod 0755 "$state/munge"
  rm -f "$state/munge/munge.socket.2" "$state/munge/munge.socket.2.lock" "$(pidfile munged)"
  say "starting munged (as $user, socket $state/munge/munge.socket.2)"
  runuser -u "$user" -- munged --key-file="$key" --socket="$state/munge/munge.socket.2" \
    --pid-file="$(pidfile munged)" --log-file="$state/munge/munged.log" \
    --seed-file="$state/munge/munged.seed" \
    || { logs_tail; die "munged did not start"; }
}

# Starts slurmctld or slurmd (they fork into the background and write their pid file).
start_slurm_daemon() {
  local name=$1 pid
  shift
  if pid="$(ours "$name")"; then say "$name already running (pid $pid)"; return 0; fi
  say "starting $name"
  "$name" -f "$conf" "$@" || { logs_tail; die "$name did not start"; }
  for _ in $(seq 1 50); do
    ours "$name" >/dev/null && return 0
    sleep 0.2
  done
  logs_tail
  die "$name did not write $(pidfile "$name") within 10 s"
}

cmd_start() {
  if is_up; then
    say "cluster already up (state folder $state)"
    link_etc_conf
    echo "export SLURM_CONF=$conf"
    return 0
  fi
  [ "$(id -u)" -eq 0 ] || die "start needs root (slurmctld and slurmd run as root here)"
  local begin=$SECONDS name others
  install_packages
  for name in slurmctld slurmd; do
    others="$(foreign "$name")"
    [ -z "$others" ] || die "a $name that ci/slurm.sh did not start is running (pid $(echo "$others" | tr '\n' ' ')); stop it first, its ports are the ones this cluster needs"
  done
  ensure_key
  mkdir -p "$state"
  # A new conf only when no daemon of ours still runs with the old one.
  if ! ours slurmctld >/dev/null && ! ours slurmd >/dev/null; then write_conf; fi
  link_etc_conf
  start_munged
  # -c: cold start, no jobs or node states left over from an earlier cluster in this folder.
  start_slurm_daemon slurmctld -c
  start_slurm_daemon slurmd
  say "waiting up to $timeout s for node $(hostname -s) to be idle"
  local st=""
  while [ $(( SECONDS - begin )) -lt "$timeout" ]; do
    st="$(node_state || true)"
    [ "$st" = idle ] && break
    sleep 1
  done
  if [ "$st" != idle ]; then
    SLURM_CONF="$conf" sinfo -R >&2 2>/dev/null || true
    logs_tail
    die "node $(hostname -s) not idle after $timeout s (state '${st:-none}'); logs under $state/log"
  fi
  say "cluster up in $(( SECONDS - begin )) s: munged $(ours munged), slurmctld $(ours slurmctld), slurmd $(ours slurmd); partition $partition"
  echo "export SLURM_CONF=$conf"
}

stop_daemon() {
  local name=$1 pid
  if ! pid="$(ours "$name")"; then
    rm -f "$(pidfile "$name")"
    return 0
  fi
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 150); do
    [ -d "/proc/$pid" ] || break
    sleep 0.2
  done
  if [ -d "/proc/$pid" ]; then
    say "$name (pid $pid) still running after 30 s; killing it"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$(pidfile "$name")"
}

cmd_stop() {
  local jobs
  if ours slurmctld >/dev/null; then
    jobs="$(SLURM_CONF="$conf" squeue -h -o '%i' 2>/dev/null || true)"
    if [ -n "$jobs" ]; then
      say "cancelling jobs $(echo "$jobs" | tr '\n' ' ')"
      # shellcheck disable=SC2086
      SLURM_CONF="$conf" scancel $jobs || true
      for _ in $(seq 1 30); do
        [ -z "$(SLURM_CONF="$conf" squeue -h -t running,completing -o '%i' 2>/dev/null)" ] && break
        sleep 1
      done
    fi
  fi
  stop_daemon slurmd
  stop_daemon slurmctld
  stop_daemon munged
  unlink_etc_conf
  say "stopped (state and logs kept in $state)"
}

cmd_status() {
  if ! [ -f "$conf" ]; then say "no cluster in $state"; return 3; fi
  local name pid
  for name in munged slurmctld slurmd; do
    if pid="$(ours "$name")"; then say "$name: running (pid $pid)"; else say "$name: not running"; fi
  done
  if ours slurmctld >/dev/null; then
    echo "export SLURM_CONF=$conf"
    SLURM_CONF="$conf" sinfo || true
    SLURM_CONF="$conf" squeue || true
  fi
  is_up || return 3
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  -h|--help) usage ;;
  *) usage >&2; exit 2 ;;
esac
