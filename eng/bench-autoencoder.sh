#!/usr/bin/env bash
# Epoch time of Vigil's autoencoder against PyTorch (Debian's python3-torch, CPU) in one run.
#   eng/bench-autoencoder.sh [DATA.csv] [EPOCHS=5] [THREADS=2]
# Without DATA, a 200,000-row x 20-feature CSV is made with ../shared/peers/make_synth_csv.py.
# Both train [d, 64, 32, 8, 32, 64, d] (tanh hidden, linear output) on standardised min-max features with
# Adam (lr 1e-3), batch 256, no validation split and plain (untrimmed) MSE, on THREADS threads.
# Prints each side's per-epoch times, the medians and means, and the ratio PyTorch / Vigil (> 1 = Vigil faster;
# Vigil's first epoch includes JIT compilation).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:-}"
epochs="${2:-5}"
threads="${3:-2}"
PY=/usr/bin/python3
if ! "$PY" -c 'import torch, pandas, numpy' 2>/dev/null; then
  echo "installing python3-torch python3-pandas (apt-get)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq python3-torch python3-pandas python3-numpy >&2
fi
work="$(mktemp -d -t vigil-bench-ae.XXXXXX)"
trap 'rm -rf "$work"' EXIT
if [ -z "$data" ]; then
  data="$work/synth-200k.csv"
  echo "generating $data (200,000 x 20, make_synth_csv.py seed 0)" >&2
  "$PY" "$root/../shared/peers/make_synth_csv.py" "$data" --rows 200000 --features 20
fi
[ -f "$data" ] || { echo "no such file: $data" >&2; exit 2; }
"$root/vigil" --help >/dev/null   # build before timing

hidden="64,32,8,32,64"
echo "== vigil" >&2
vigil_out="$("$root/vigil" train --data "$data" --label label --kind autoencoder --hidden "$hidden" --activation tanh \
  --epochs "$epochs" --batch-size 256 --validation-fraction 0 --trim-fraction 0 --threads "$threads" --seed 0 --out "$work/model")"
echo "$vigil_out"
echo "== pytorch" >&2
torch_out="$("$PY" "$root/eng/peers/torch_autoencoder.py" "$data" --hidden "$hidden" --epochs "$epochs" --batch-size 256 --threads "$threads")"
echo "$torch_out"
v=$(echo "$vigil_out" | tr '\n' ' ' | sed -n 's/.*mean epoch \([0-9.]*\) s.*/\1/p')
t=$(echo "$torch_out" | sed -n 's/^mean epoch \([0-9.]*\) s.*/\1/p')
[ -n "$v" ] && [ -n "$t" ] || { echo "could not read the epoch times" >&2; exit 1; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# shellcheck disable=SC2046
vm=$(median $(echo "$vigil_out" | tr '\n' ' ' | sed -n 's/.*epoch seconds: \([0-9. ]*\).*/\1/p'))
# shellcheck disable=SC2046
tm=$(median $(echo "$torch_out" | sed -n 's/^epoch [0-9]*: \([0-9.]*\) s.*/\1/p'))
printf 'median epoch (after warm-up effects): vigil %.3f s, pytorch %.3f s, ratio %.2fx\n' "$vm" "$tm" "$(awk -v a="$tm" -v b="$vm" 'BEGIN{print a/b}')"
printf 'mean epoch: vigil %.3f s, pytorch %.3f s (%d epochs, batch 256, %d threads)\n' "$v" "$t" "$epochs" "$threads"
printf 'ratio (pytorch / vigil): %.2fx\n' "$(awk -v a="$t" -v b="$v" 'BEGIN{print a/b}')"
