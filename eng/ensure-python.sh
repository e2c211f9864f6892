#!/usr/bin/env bash
# Installs the Debian Python reference stack (scikit-learn, pandas) when it is missing.
# Used by the comparison and benchmark scripts; the default test run does not need it.
set -euo pipefail
PY=/usr/bin/python3
if [ -x "$PY" ] && "$PY" -c 'import sklearn, pandas, numpy' 2>/dev/null; then
  exit 0
fi
echo "installing python3-sklearn python3-pandas (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq python3-sklearn python3-numpy python3-pandas >&2
"$PY" -c 'import sklearn, pandas, numpy'
