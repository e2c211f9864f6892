#!/usr/bin/env bash
# FX batch scoring, Vigil against the Python reference doing the same flow, in one run on the same batch and model.
#   eng/bench-fx.sh [WORK_DIR]
# 1. vigil fx generate: 20,000 training deals and 8,000 labelled deals (seed 42).
# 2. eng/peers/fx_python.py seed: a seed-style FISAU model (scikit-learn encoders, pandas tables, a multi-input PyTorch
#    autoencoder; 8 epochs, seed 7), pickled, and exported to ONNX; export-tables reads the pickles (restricted unpickler).
# 3. vigil fx import: the same artifacts as a Vigil bundle (fx-onnx).
# 4. In-process on both sides, like for like (Vigil.Benchmarks fx-inproc): the same 1,000 FISAU deals as one JSON body
#    (the same bytes, written to batch.json) parsed, validated, routed to the client's rules, tables and autoencoder, decided
#    and the answer serialized to JSON, in one process per side and one thread each (Vigil: the server's reader, FxScorer
#    (the flow's network on its native forward pass; other graphs on ONNX Runtime, intra-op 1), the server's writer; Python: fx_python.py bench-worker, json.loads -> pandas -> rules ->
#    scikit-learn transforms -> torch forward under inference_mode, torch.set_num_threads(1), OMP/MKL 1 -> checks ->
#    json.dumps). Rounds alternate (20 Vigil batches, then 1 Python batch; 40 rounds) so both sides run under the same
#    machine load, after untimed rounds of the same shape until the JIT has settled; the ratio is of the medians over rounds. Both sides' decisions of the batch are compared.
#    Python writes the check id, not Vigil's reason text, and validates only dates and client: that favours Python.
# 5. Vigil's server latency for one batch: POST /fx/v1/score on an in-process Kestrel server (loopback HTTP/1.1, one
#    client, sequential requests after 30 warm-up requests, inference log off), 300 timed batches: median and p99.
# Prints both JSON lines and a summary (goals: Vigil >= 50x faster per batch in-process; a batch < 20 ms on the server).
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
bench="$root/benchmarks/Vigil.Benchmarks/bin/Release/net10.0/Vigil.Benchmarks.dll"
inproc_line="$(dotnet "$bench" fx-inproc --bundle fisau-imported.zip --deals eval.csv --client FISAU --batch 1000 --rounds 40 --per-round 20 \
  --body batch.json --python "$PY" --peer "$root/eng/peers/fx_python.py" --scales all_scales.pkl --year-gap year_gap_data.pkl --model model.pt)"
http_line="$(dotnet "$bench" fx-http --bundle fisau-imported.zip --deals eval.csv --client FISAU --batch 1000 --runs 300)"
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
echo "$inproc_line"
echo "$http_line"
"$PY" - "$inproc_line" "$http_line" <<'PY'
import json, sys
i, h = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print(json.dumps({"batch": i["batch"], "inproc_vigil_median_ms": i["vigil_median_ms"], "inproc_python_median_ms": i["python_median_ms"],
                  "inproc_ratio_of_medians": i["ratio_of_medians"], "inproc_ratio_median_of_rounds": i["ratio_median_of_rounds"],
                  "same_decisions": i["same_decisions"]["all_same"], "goal_ratio": ">= 50x per batch in-process", "ratio_met": i["ratio_of_medians"] >= 50,
                  "server_median_ms": h["median_ms"], "server_p99_ms": h["p99_ms"], "goal_server": "< 20 ms per 1,000-deal batch", "server_met": h["median_ms"] < 20}))
PY
