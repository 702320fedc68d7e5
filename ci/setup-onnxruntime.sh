#!/usr/bin/env bash
# Installs ONNX Runtime's shared library from the package registry (PyPI wheel) into .ort/ inside
# the repository. Nothing else is downloaded. `.cargo/config.toml` points ORT_DYLIB_PATH at the
# CPU library, so `cargo test` and `cargo run` find it without any shell setup.
#
#   ci/setup-onnxruntime.sh          CPU build: onnxruntime==1.31.1 -> .ort/lib/
#   ci/setup-onnxruntime.sh --gpu    CUDA build: onnxruntime-gpu[cuda,cudnn]==1.31.1 into .ort/gpu-venv,
#                                    and .ort/gpu.env with ORT_DYLIB_PATH and LD_LIBRARY_PATH to source.
#
# Idempotent: when the library is present with the pinned version it returns at once.
set -euo pipefail

ORT_VERSION=1.31.1
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/.ort"
python="${PYTHON:-python3}"

gpu=0
for arg in "$@"; do
  case "$arg" in
    --gpu) gpu=1 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) echo "setup-onnxruntime: unknown argument '$arg' (use --gpu or nothing)" >&2; exit 2 ;;
  esac
done

if [ "$gpu" -eq 0 ]; then
  lib="$dest/lib/libonnxruntime.so.$ORT_VERSION"
  if [ -f "$lib" ]; then
    echo "ONNX Runtime $ORT_VERSION (CPU) already installed: $lib"
    exit 0
  fi
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  echo "Downloading onnxruntime==$ORT_VERSION wheel from the package registry..."
  "$python" -m pip download --quiet --no-deps --only-binary=:all: --dest "$tmp" "onnxruntime==$ORT_VERSION"
  wheel="$(ls "$tmp"/onnxruntime-"$ORT_VERSION"-*.whl)"
  mkdir -p "$dest/lib"
  # Only the C API library is needed; extract to a temporary name and rename, so an interrupted
  # run never leaves a truncated library that a later run would take as installed.
  "$python" - "$wheel" "$dest/lib" "$ORT_VERSION" <<'PY'
import os, sys, zipfile
wheel, out, version = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    for name in (f"onnxruntime/capi/libonnxruntime.so.{version}", "onnxruntime/capi/libonnxruntime_providers_shared.so"):
        target = os.path.join(out, os.path.basename(name))
        with z.open(name) as src, open(target + ".part", "wb") as dst:
            dst.write(src.read())
        os.replace(target + ".part", target)
PY
  ln -sf "libonnxruntime.so.$ORT_VERSION" "$dest/lib/libonnxruntime.so"
  echo "Installed ONNX Runtime $ORT_VERSION (CPU): $lib"
  exit 0
fi

venv="$dest/gpu-venv"
site_lib() { "$venv/bin/python" -c 'import onnxruntime, os; print(os.path.join(os.path.dirname(onnxruntime.__file__), "capi"))'; }
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import onnxruntime as o, sys; sys.exit(o.__version__ != '$ORT_VERSION')" 2>/dev/null; then
  echo "ONNX Runtime $ORT_VERSION (GPU) already installed in $venv"
else
  echo "Installing onnxruntime-gpu[cuda,cudnn]==$ORT_VERSION into $venv ..."
  "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet "onnxruntime-gpu[cuda,cudnn]==$ORT_VERSION"
fi
capi="$(site_lib)"
# The CUDA provider finds libcudart/libcublas/libcudnn through the loader path: collect the lib
# folders of the nvidia-* wheels the extras installed.
nvlibs="$("$venv/bin/python" - <<'PY'
import glob, os, site
dirs = []
for sp in site.getsitepackages():
    dirs += sorted(glob.glob(os.path.join(sp, "nvidia", "*", "lib")))
print(":".join(dirs))
PY
)"
cat > "$dest/gpu.env" <<ENV
export ORT_DYLIB_PATH="$capi/libonnxruntime.so.$ORT_VERSION"
export LD_LIBRARY_PATH="$capi:$nvlibs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
ENV
echo "GPU build ready. Run: source .ort/gpu.env"
