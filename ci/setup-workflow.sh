#!/usr/bin/env bash
# Installs the Snakemake engine of the workflows into .venv-workflow/ inside the repository (ignored
# by git through `/.venv*/`): snakemake 9.27.1 and its SLURM executor plugin 2.8.0, from PyPI, at
# the exact versions of ci/requirements-workflow.txt (the two top-level pins plus the frozen
# transitive set, so that every machine gets the same packages).
#
#   ci/setup-workflow.sh             install (or check) .venv-workflow/
#   ci/setup-workflow.sh --force     reinstall from scratch
#   ci/setup-workflow.sh --refreeze  reinstall from the two top-level pins only, then rewrite the
#                                    frozen part of ci/requirements-workflow.txt with what pip got
#
# Idempotent: when .venv-workflow/.cpbench-workflow-ok holds the hash of the pins of the requirements
# file (comments aside) and of the Python version, it returns at once. That marker is written last,
# so an interrupted install (no marker, or a stale one) is redone from an empty folder. Then run
# `.venv-workflow/bin/snakemake` (ci/slurm.sh starts a local SLURM cluster for `--executor slurm`;
# ci/slurm-smoke.sh shows both).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-workflow"
marker="$venv/.cpbench-workflow-ok"
req="$root/ci/requirements-workflow.txt"
python="${PYTHON:-python3}"
snakemake_version=9.27.1
plugin_version=2.8.0

force=0
refreeze=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    --refreeze) force=1; refreeze=1 ;;
    -h|--help) sed -n '2,16p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "setup-workflow: unknown argument '$arg' (use --force, --refreeze or nothing)" >&2; exit 2 ;;
  esac
done

pyver="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
case "$pyver" in
  3.1[1-9]) ;;
  *) echo "setup-workflow: needs Python >= 3.11 (snakemake 9), found $pyver at $python" >&2; exit 1 ;;
esac

if ! grep -qx "snakemake==$snakemake_version" "$req" || ! grep -qx "snakemake-executor-plugin-slurm==$plugin_version" "$req"; then
  echo "setup-workflow: $req does not pin snakemake==$snakemake_version and snakemake-executor-plugin-slurm==$plugin_version" >&2
  exit 1
fi

# The hash of the pins (comment lines aside) and of the Python version.
stamp_of() { { grep -v -e '^#' -e '^[[:space:]]*$' "$req"; printf -- '--\n%s\n' "$pyver"; } | sha256sum | cut -d' ' -f1; }
stamp="$(stamp_of)"

if [ "$force" -eq 0 ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$stamp" ] && [ -x "$venv/bin/snakemake" ]; then
  echo "setup-workflow: .venv-workflow already installed (snakemake $snakemake_version, snakemake-executor-plugin-slurm $plugin_version): $venv"
  exit 0
fi

start=$(date +%s)
if [ -e "$venv" ]; then
  echo "setup-workflow: removing incomplete or outdated $venv"
  rm -rf "$venv"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
if [ "$refreeze" -eq 1 ]; then
  printf 'snakemake==%s\nsnakemake-executor-plugin-slurm==%s\n' "$snakemake_version" "$plugin_version" > "$tmp/requirements.txt"
else
  cp "$req" "$tmp/requirements.txt"
fi

echo "setup-workflow: creating $venv with $python ($pyver)"
"$python" -m venv "$venv"
what="the frozen set of ${req#"$root"/}"
[ "$refreeze" -eq 0 ] || what="the two top-level pins only"
echo "setup-workflow: installing snakemake==$snakemake_version snakemake-executor-plugin-slurm==$plugin_version from PyPI ($what)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --prefer-binary \
  -r "$tmp/requirements.txt"

# Check the install before marking it done.
"$venv/bin/python" - "$snakemake_version" "$plugin_version" <<'PY'
import sys
from importlib.metadata import version
assert version("snakemake") == sys.argv[1], version("snakemake")
assert version("snakemake-executor-plugin-slurm") == sys.argv[2], version("snakemake-executor-plugin-slurm")
import snakemake_executor_plugin_slurm  # noqa: F401  (the plugin must import)
PY
test "$("$venv/bin/snakemake" --version)" = "$snakemake_version"
"$venv/bin/python" -m pip check --disable-pip-version-check >/dev/null

if [ "$refreeze" -eq 1 ]; then
  {
    sed -n '1,/^# Top level/p' "$req"
    printf 'snakemake==%s\nsnakemake-executor-plugin-slurm==%s\n' "$snakemake_version" "$plugin_version"
    echo "# Frozen: pip freeze of a clean install of the two lines above (ci/setup-workflow.sh --refreeze)"
    echo "# on CPython $pyver, $(uname -s | tr '[:upper:]' '[:lower:]') $(uname -m), so that reinstalls get the same packages."
    "$venv/bin/python" -m pip freeze --disable-pip-version-check \
      | grep -v -i -E '^(pip|setuptools|wheel)==|^(snakemake|snakemake-executor-plugin-slurm)==' | LC_ALL=C sort -f -t= -k1,1
  } > "$tmp/requirements-workflow.txt"
  cp "$tmp/requirements-workflow.txt" "$req"
  echo "setup-workflow: rewrote $req ($(grep -c '==' "$req") pins)"
  stamp="$(stamp_of)"
fi

printf '%s\n' "$stamp" > "$marker.part"
mv "$marker.part" "$marker"
echo "setup-workflow: installed in $(( $(date +%s) - start )) s: $venv (snakemake: $venv/bin/snakemake)"
