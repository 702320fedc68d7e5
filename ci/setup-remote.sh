#!/usr/bin/env bash
# Installs the Python environment of the remote-data tests (issue 18) into .venv-remote/ inside the
# repository (ignored by git through `/.venv*/`): moto's S3 server (moto[server]) for an S3
# endpoint on loopback, boto3 to create the bucket and upload, and pyarrow/pandas/numpy for
# tests/remote/make_jump_fixtures.py. Everything comes from PyPI, at the exact versions below.
#
#   ci/setup-remote.sh            install (or check) .venv-remote/
#   ci/setup-remote.sh --force    reinstall from scratch
#
# Idempotent: when .venv-remote/.cpbench-remote-ok holds the hash of the pins below it returns at
# once. That marker is written last, so an interrupted install (no marker, or a stale one) is redone
# from an empty folder. Then run tests/remote/moto.sh and tests/remote/make_jump_fixtures.py with
# .venv-remote/bin/python (tests/remote/README.md).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="$root/.venv-remote"
marker="$venv/.cpbench-remote-ok"
python="${PYTHON:-python3}"

force=0
for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,13p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "setup-remote: unknown argument '$arg' (use --force or nothing)" >&2; exit 2 ;;
  esac
done

# What the scripts import directly.
requirements='moto[server]==5.2.5
boto3==1.44.18
pyarrow==26.0.1
pandas==2.3.3
numpy==2.4.6'

# The whole resolved set (pip freeze of a clean install of the lines above on CPython 3.11,
# linux x86_64), used as constraints so that every machine gets the same packages.
constraints='annotated-types==0.8.0
antlr4-python3-runtime==4.13.2
attrs==26.1.0
aws-xray-sdk==2.15.0
blinker==1.9.0
boto3==1.44.18
botocore==1.44.18
certifi==2026.10.19.post1
cffi==2.1.1
cfn-lint==1.58.0
charset-normalizer==3.5.3
click==8.5.1
cryptography==51.0.1
docker==7.2.0
Flask==3.1.3
flask-cors==6.0.5
graphql-core==3.3.2
idna==3.21
itsdangerous==2.2.0
Jinja2==3.1.6
jmespath==1.1.0
joserfc==1.8.0
jsonpatch==1.48
jsonpath-ng==1.17.0
jsonpointer==3.12
jsonschema==4.26.0
jsonschema-path==0.5.0
jsonschema-specifications==2025.9.1
lazy-object-proxy==1.13.0
MarkupSafe==3.0.4
moto==5.2.5
mpmath==1.3.0
networkx==3.6.1
numpy==2.4.6
openapi-schema-validator==0.9.0
openapi-spec-validator==0.9.0
pandas==2.3.3
pathable==0.6.0
py-partiql-parser==0.6.3
pyarrow==26.0.1
pycparser==3.12
pydantic==2.14.4
pydantic-settings==2.16.3
pydantic_core==2.50.5
pyparsing==3.3.3
python-dateutil==2.9.0.post0
python-dotenv==1.2.4
pytz==2026.6
PyYAML==6.0.4
referencing==0.37.0
regex==2026.12.2
requests==2.34.2
responses==0.26.3
rfc3339-validator==0.1.4
rpds-py==2026.9.1
s3transfer==0.19.3
six==1.17.0
sympy==1.14.0
typing-inspection==0.4.5
typing_extensions==4.16.0
tzdata==2026.6
urllib3==2.8.0
Werkzeug==3.1.9
wrapt==2.5.2
xmltodict==1.0.4'

pyver="$("$python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
case "$pyver" in
  3.1[1-9]) ;;
  *) echo "setup-remote: needs Python >= 3.11 (numpy 2.4), found $pyver at $python" >&2; exit 1 ;;
esac

stamp="$(printf '%s\n--\n%s\n--\n%s\n' "$requirements" "$constraints" "$pyver" | sha256sum | cut -d' ' -f1)"

if [ "$force" -eq 0 ] && [ -f "$marker" ] && [ "$(cat "$marker")" = "$stamp" ] && [ -x "$venv/bin/python" ]; then
  echo "setup-remote: .venv-remote already installed (moto 5.2.5, boto3 1.44.18, pyarrow 26.0.1, pandas 2.3.3, numpy 2.4.6): $venv"
  exit 0
fi

start=$(date +%s)
if [ -e "$venv" ]; then
  echo "setup-remote: removing incomplete or outdated $venv"
  rm -rf "$venv"
fi
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
printf '%s\n' "$requirements" > "$tmp/requirements.txt"
printf '%s\n' "$constraints" > "$tmp/constraints.txt"

echo "setup-remote: creating $venv with $python ($pyver)"
"$python" -m venv "$venv"
echo "setup-remote: installing from PyPI: $(printf '%s' "$requirements" | tr '\n' ' ')"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input --prefer-binary \
  -r "$tmp/requirements.txt" -c "$tmp/constraints.txt"

# Check the install before marking it done.
"$venv/bin/python" - <<'PY'
import boto3, moto, numpy, pandas, pyarrow
assert moto.__version__ == "5.2.5", moto.__version__
assert boto3.__version__ == "1.44.18", boto3.__version__
assert pyarrow.__version__ == "26.0.1", pyarrow.__version__
assert pandas.__version__ == "2.3.3", pandas.__version__
assert numpy.__version__ == "2.4.6", numpy.__version__
PY
test -x "$venv/bin/moto_server"

printf '%s\n' "$stamp" > "$marker.part"
mv "$marker.part" "$marker"
echo "setup-remote: installed in $(( $(date +%s) - start )) s: $venv (moto_server: $venv/bin/moto_server)"
