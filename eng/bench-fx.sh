#!/usr/bin/env bash
# FX batch scoring, Vigil against the Python reference doing the same flow, in one run on the same batch and model.
#   eng/bench-fx.sh [WORK_DIR]
# 1. vigil fx generate: 20,000 training deals and 8,000 labelled deals (seed 42).
# 2. eng/peers/fx_python.py seed: a seed-style FISAU model (scikit-learn encoders, pandas tables, a multi-input PyTorch
#    autoencoder; 8 epochs, seed 7), pickled, and exported to ONNX; export-tables reads the pickles (restricted unpickler).
# 3. vigil fx import: the same artifacts as a Vigil bundle (fx-onnx).
# 4. The same 1,000 FISAU deals as one batch on both sides:
#      Vigil   POST /fx/v1/score on an in-process Kestrel server (HTTP on loopback, inference log off), 300 timed batches;
#      Python  json.loads -> pandas -> rules -> scikit-learn transforms -> torch forward -> checks -> json.dumps, no
#              HTTP at all (which favours Python), 30 timed batches.
#    Threads: Vigil decides a batch on one request thread (the autoencoder/ONNX run single-threaded); torch is pinned to
#    1 thread (torch.set_num_threads(1)) and pandas/numpy run single-threaded.
# Prints both JSON lines and the ratio of the medians (goal: Vigil >= 50x faster per batch).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
work="${1:-$(mktemp -d -t vigil-bench-fx.XXXXXX)}"
mkdir -p "$work"
PY=/usr/bin/python3
bash "$root/eng/ensure-python.sh" --torch
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
echo "== build (Release)" >&2
dotnet build "$root/src/Vigil.Cli" -c Release -v q -nologo -clp:ErrorsOnly >&2
dotnet build "$root/benchmarks/Vigil.Benchmarks" -c Release -v q -nologo -clp:ErrorsOnly >&2
vigil="$root/src/Vigil.Cli/bin/Release/net10.0/vigil"
cd "$work"
echo "== data and the Python model (in $work)" >&2
"$vigil" fx generate --rows 20000 --seed 42 --out deals.csv --eval-out eval.csv --eval-rows 8000 >&2
"$PY" "$root/eng/peers/fx_python.py" seed --deals deals.csv --client FISAU --out . --epochs 8 --seed 7 >&2
"$PY" "$root/eng/peers/fx_python.py" export-tables --scales all_scales.pkl --year-gap year_gap_data.pkl --out tables.json >&2
"$vigil" fx import --tables tables.json --onnx model.onnx --client FISAU --out fisau-imported.zip >&2
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores" >&2
vigil_line="$(dotnet "$root/benchmarks/Vigil.Benchmarks/bin/Release/net10.0/Vigil.Benchmarks.dll" fx-http --bundle fisau-imported.zip --deals eval.csv --client FISAU --batch 1000 --runs 300)"
py_line="$("$PY" "$root/eng/peers/fx_python.py" bench --scales all_scales.pkl --year-gap year_gap_data.pkl --model model.pt --client FISAU --deals eval.csv --batch 1000 --runs 30 --threads 1)"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "$vigil_line"
echo "$py_line"
"$PY" - "$vigil_line" "$py_line" <<'PY'
import json, sys
v, p = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"batch": v["batch"], "vigil_median_ms": round(v["median_ms"], 3), "python_median_ms": round(p["median_ms"], 3),
                  "ratio_median": round(p["median_ms"] / v["median_ms"], 1), "ratio_min": round(p["min_ms"] / v["min_ms"], 1),
                  "goal": ">= 50x per batch", "met": p["median_ms"] / v["median_ms"] >= 50}))
PY
