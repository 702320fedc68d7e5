#!/usr/bin/env bash
# Opens cpbench HTML reports in headless Chromium as a reader would, and checks them:
#   - a PNG screenshot of each page goes to --out DIR (default reports/screenshots);
#   - the rendered DOM has at least one <svg (the plots are there);
#   - the page logs nothing to the console (no errors, no uncaught exceptions);
#   - the page makes no network request: Chromium's net log holds no http(s)/ws(s) request
#     started by the page (Chromium's own background requests are told apart and ignored).
# Installs Debian's chromium when it is not on PATH.
#
# Usage: ci/check-report.sh [--out DIR] INDEX_HTML [RUN_HTML ...]
# Exit 0 prints what was checked; exit 1 names each page and its problem; exit 2 on bad usage.
set -euo pipefail

out=reports/screenshots
pages=()
while [[ $# -gt 0 ]]; do
    case "$1" in
        --out) out="${2:?--out needs a folder}"; shift 2 ;;
        --out=*) out="${1#--out=}"; shift ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        -*) echo "check-report: unknown option $1" >&2; exit 2 ;;
        *) pages+=("$1"); shift ;;
    esac
done
if [[ ${#pages[@]} -eq 0 ]]; then
    echo "usage: ci/check-report.sh [--out DIR] INDEX_HTML [RUN_HTML ...]" >&2
    exit 2
fi

browser=""
for name in chromium chromium-browser; do
    if command -v "$name" >/dev/null 2>&1; then browser="$(command -v "$name")"; break; fi
done
if [[ -z "$browser" ]]; then
    echo "check-report: installing Debian's chromium"
    sudo=""
    if [[ "$(id -u)" -ne 0 ]]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
    browser="$(command -v chromium)"
fi

mkdir -p "$out"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

flags=(
    --headless --no-sandbox --disable-gpu --no-first-run
    --disable-background-networking --disable-component-update --disable-sync
    --disable-default-apps --disable-extensions --no-default-browser-check
    --hide-scrollbars --mute-audio
)

failures=()
checked=()
for page in "${pages[@]}"; do
    if [[ ! -f "$page" ]]; then
        failures+=("$page: no such file")
        continue
    fi
    abs="$(cd "$(dirname "$page")" && pwd)/$(basename "$page")"
    url="file://$abs"
    # runs/bench/plugin.html -> runs_bench_plugin.png, so run reports of one plugin do not clash.
    shot_name="$(realpath --relative-to="$(pwd)" "$abs" 2>/dev/null || echo "$abs")"
    shot_name="${shot_name#./}"
    # Outside the working folder the relative path starts with ../: drop those parts.
    while [ "${shot_name#../}" != "$shot_name" ]; do shot_name="${shot_name#../}"; done
    shot_name="${shot_name#/}"
    shot_name="${shot_name//\//_}"
    shot_name="${shot_name%.html}.png"
    shot="$out/$shot_name"
    profile="$work/profile-$RANDOM"
    netlog="$work/netlog-$RANDOM.json"

    # (b)-(d): DOM, console and network, in one load.
    if ! timeout 120 "$browser" "${flags[@]}" --user-data-dir="$profile" \
        --enable-logging=stderr --v=0 --log-net-log="$netlog" --net-log-capture-mode=Default \
        --virtual-time-budget=3000 --dump-dom "$url" >"$work/dom.html" 2>"$work/stderr.txt"; then
        failures+=("$page: chromium failed to load it (see stderr below)")
        sed 's/^/    /' "$work/stderr.txt" | tail -20 >&2
        continue
    fi
    svgs="$(grep -o '<svg' "$work/dom.html" | wc -l || true)"
    if [[ "$svgs" -eq 0 ]]; then
        failures+=("$page: the rendered page has no <svg> plot")
    fi
    console="$(grep -E 'CONSOLE|Uncaught' "$work/stderr.txt" || true)"
    if [[ -n "$console" ]]; then
        failures+=("$page: console messages: $(echo "$console" | head -5 | tr '\n' ' ')")
    fi
    if [[ ! -s "$netlog" ]]; then
        failures+=("$page: chromium wrote no net log, so network requests could not be checked")
    else
        external="$(python3 - "$netlog" <<'PY'
import json, sys
# Chromium's own background traffic (component updates, network time, account checks) starts
# with initiator "not an origin" outside the page's network partition; anything the page asks
# for has the page (file://, initiator "null") as initiator or partition.
log = json.load(open(sys.argv[1]))
consts = log["constants"]
url_request = consts["logSourceType"]["URL_REQUEST"]
start_job = consts["logEventTypes"]["URL_REQUEST_START_JOB"]
urls, browser = {}, set()
for event in log.get("events", []):
    if event["source"]["type"] != url_request:
        continue
    params = event.get("params") or {}
    sid = event["source"]["id"]
    url = params.get("url", "")
    if url.split(":", 1)[0] in ("http", "https", "ws", "wss"):
        urls.setdefault(sid, url)
    if event["type"] == start_job and params.get("initiator") == "not an origin" \
            and "file://" not in params.get("network_isolation_key", ""):
        browser.add(sid)
for sid, url in sorted(urls.items()):
    if sid not in browser:
        print(url)
PY
)"
        if [[ -n "$external" ]]; then
            failures+=("$page: external requests: $(echo "$external" | head -5 | tr '\n' ' ')")
        fi
    fi

    # (a): screenshot.
    rm -f "$shot"
    if ! timeout 120 "$browser" "${flags[@]}" --user-data-dir="$profile-shot" \
        --window-size=1400,4000 --virtual-time-budget=3000 --screenshot="$shot" "$url" \
        >/dev/null 2>"$work/shot-stderr.txt" || [[ ! -s "$shot" ]]; then
        failures+=("$page: no screenshot was written")
        sed 's/^/    /' "$work/shot-stderr.txt" | tail -20 >&2
        continue
    fi
    checked+=("$page: $svgs plots, no console messages, no network requests; screenshot $shot")
done

if [[ ${#failures[@]} -gt 0 ]]; then
    echo "check-report: FAILED" >&2
    for f in "${failures[@]}"; do echo "  $f" >&2; done
    exit 1
fi
echo "check-report: ${#checked[@]} page(s) OK"
for c in "${checked[@]}"; do echo "  $c"; done
