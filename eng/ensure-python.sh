#!/usr/bin/env bash
# Installs the Debian Python reference stack (scikit-learn, pandas) when it is missing.
# Used by the comparison and benchmark scripts. With --torch also python3-torch and python3-onnx (the FX import
# tests and eng/bench-fx.sh: eng/peers/fx_python.py).
set -euo pipefail
PY=/usr/bin/python3
if [ "${1:-}" = "--torch" ]; then
  if ! "$PY" -c 'import torch, onnx' 2>/dev/null; then
    echo "installing python3-torch python3-onnx (apt-get)..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq python3-torch python3-onnx >&2 || { apt-get update -qq >&2 && apt-get install -y -qq python3-torch python3-onnx >&2; }
  fi
fi
if [ -x "$PY" ] && "$PY" -c 'import sklearn, pandas, numpy' 2>/dev/null; then
  exit 0
fi
echo "installing python3-sklearn python3-pandas (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq python3-sklearn python3-numpy python3-pandas >&2
"$PY" -c 'import sklearn, pandas, numpy'
