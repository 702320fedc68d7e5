#!/usr/bin/env bash
# Starts and stops moto's S3 server (from .venv-remote, see ci/setup-remote.sh) on loopback, for
# the remote-data tests (issue 18).
#
#   tests/remote/moto.sh start STATE_DIR [--watch-pid PID]
#       Starts `moto_server -H 127.0.0.1 -p PORT` on a free port, waits until it answers HTTP, and
#       writes STATE_DIR/moto.port, STATE_DIR/moto.pid and STATE_DIR/moto.log. Prints one line,
#       `127.0.0.1:PORT`, on stdout (messages go to stderr). With --watch-pid, a watcher stops
#       the server when process PID exits (e.g. the test process killed before it could stop it).
#   tests/remote/moto.sh stop STATE_DIR
#       Stops the server whose pid is in STATE_DIR/moto.pid (SIGTERM, then SIGKILL after 5 s) and
#       removes moto.pid and moto.port. Succeeds when nothing is running.
#
# Endpoint: http://127.0.0.1:PORT, path-style (http://127.0.0.1:PORT/BUCKET/KEY); any access key
# and region (us-east-1) are accepted, and unsigned requests too.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${CPBENCH_REMOTE_VENV:-$root/.venv-remote}"

usage() { sed -n '2,16p' "${BASH_SOURCE[0]}" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd="$1"; state="$2"; shift 2
watch_pid=""
while [ $# -gt 0 ]; do
  case "$1" in
    --watch-pid) [ $# -ge 2 ] || usage; watch_pid="$2"; shift 2 ;;
    *) usage ;;
  esac
done

is_moto() { # pid -> true when it is alive and is a moto_server process
  local pid="$1"
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && tr '\0' ' ' < "/proc/$pid/cmdline" 2>/dev/null | grep -q moto_server
}

stop_pid() {
  local pid="$1" i
  is_moto "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for i in $(seq 1 50); do
    is_moto "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  for i in $(seq 1 20); do
    is_moto "$pid" || return 0
    sleep 0.1
  done
  echo "moto.sh: could not stop moto_server pid $pid" >&2
  return 1
}

case "$cmd" in
  start)
    if [ ! -x "$venv/bin/moto_server" ]; then
      echo "moto.sh: $venv/bin/moto_server not found; run ci/setup-remote.sh first" >&2
      exit 1
    fi
    mkdir -p "$state"
    state="$(cd "$state" && pwd)"
    if [ -f "$state/moto.pid" ] && is_moto "$(cat "$state/moto.pid")"; then
      echo "moto.sh: a moto_server is already running from $state (pid $(cat "$state/moto.pid")); stop it first" >&2
      exit 1
    fi
    rm -f "$state/moto.pid" "$state/moto.port" "$state/moto.watch.pid"
    # A free port from the kernel; the tiny window between closing it and moto binding it is
    # covered by retrying with another port.
    for attempt in 1 2 3 4 5; do
      port="$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
      # Its own session and process group, stdin closed: it outlives this script and a test
      # harness' pipes, and `stop` (or the watcher) ends it by pid.
      setsid "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" < /dev/null >> "$state/moto.log" 2>&1 &
      pid=$!
      up=0
      for i in $(seq 1 300); do   # up to 30 s (a cold start imports a lot)
        if ! kill -0 "$pid" 2>/dev/null; then break; fi
        if "$venv/bin/python" - "$port" <<'PY' 2>/dev/null
import sys, urllib.request
urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=1).read()
PY
        then up=1; break; fi
        sleep 0.1
      done
      if [ "$up" -eq 1 ]; then
        echo "$pid" > "$state/moto.pid.part" && mv "$state/moto.pid.part" "$state/moto.pid"
        echo "$port" > "$state/moto.port.part" && mv "$state/moto.port.part" "$state/moto.port"
        if [ -n "$watch_pid" ]; then
          # Watcher: stops moto when the watched process goes away; ends itself when moto does.
          setsid bash -c '
            alive() { kill -0 "$1" 2>/dev/null && tr "\0" " " < "/proc/$1/cmdline" 2>/dev/null | grep -q moto_server; }
            while kill -0 "$1" 2>/dev/null && alive "$2"; do sleep 1; done
            alive "$2" || exit 0
            kill -TERM "$2" 2>/dev/null
            for i in $(seq 50); do alive "$2" || exit 0; sleep 0.1; done
            kill -KILL "$2" 2>/dev/null' moto-watch "$watch_pid" "$pid" < /dev/null > /dev/null 2>&1 &
          echo "$!" > "$state/moto.watch.pid"
        fi
        echo "moto.sh: moto_server pid $pid listening on http://127.0.0.1:$port (log $state/moto.log)" >&2
        echo "127.0.0.1:$port"
        exit 0
      fi
      stop_pid "$pid" || true
      echo "moto.sh: attempt $attempt on port $port failed (see $state/moto.log)" >&2
    done
    echo "moto.sh: moto_server did not start" >&2
    exit 1
    ;;
  stop)
    if [ ! -f "$state/moto.pid" ]; then
      echo "moto.sh: no moto.pid in $state; nothing to stop" >&2
      exit 0
    fi
    pid="$(cat "$state/moto.pid")"
    stop_pid "$pid"
    if [ -f "$state/moto.watch.pid" ]; then
      wpid="$(cat "$state/moto.watch.pid")"
      if kill -0 "$wpid" 2>/dev/null && tr '\0' ' ' < "/proc/$wpid/cmdline" 2>/dev/null | grep -q moto-watch; then
        kill -TERM "$wpid" 2>/dev/null || true
      fi
    fi
    rm -f "$state/moto.pid" "$state/moto.port" "$state/moto.watch.pid"
    echo "moto.sh: stopped moto_server pid $pid" >&2
    ;;
  *) usage ;;
esac
