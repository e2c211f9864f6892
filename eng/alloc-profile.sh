#!/usr/bin/env bash
# What one scoring request allocates: `vigil serve` as eng/bench-serve.sh runs it (isolation forest on the FastAPI peer's
# data, inference log on: SQLite, full payloads, reasons on), a 10 s wrk warm-up, then 8 s of the GC's allocation
# sampling (dotnet-trace, AllocationTick events) under the same load, summed by type per request.
#   eng/alloc-profile.sh [CONNECTIONS=32]
# Needs dotnet-trace (installed as a global tool when missing) and wrk.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
conns="${1:-32}"
command -v wrk >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk >/dev/null
trace_tool="$HOME/.dotnet/tools/dotnet-trace"
[ -x "$trace_tool" ] || dotnet tool install -g dotnet-trace --version 10.0.750501 >/dev/null
dotnet build "$root/eng/alloc-ticks" -c Release -v q -nologo -o "$root/eng/alloc-ticks/bin/out" >/dev/null
work="$(mktemp -d -t vigil-alloc.XXXXXX)"
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
cp -r "$root/../shared/peers/fastapi_peer" "$work/peer"; chmod -R u+w "$work/peer"
/usr/bin/python3 "$root/eng/peers/export_peer_data.py" "$work/peer" "$work/data.csv" 100000 42
export VIGIL_HOME="$work/home"
"$root/vigil" train --data "$work/data.csv" --label is_fraud --kind iforest --seed 42 --register bench-fraud >/dev/null
"$root/vigil" models alias set bench-fraud champion 1 >/dev/null
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$root/vigil" serve --port "$port" --models bench-fraud --inference-log store --log-level Warning > "$work/serve.log" 2>&1 &
for _ in $(seq 1 200); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.1; done
pid=$(pgrep -f "vigil.dll serve --port $port")
export BODY='{"model": "bench-fraud", "instances": [{"amount": 249.99, "hour_of_day": 2, "avg_monthly_spend": 1200.0, "customer_tenure_days": 45, "num_prev_tx_24h": 5}]}'
url="http://127.0.0.1:$port/v1/predict"
wrk -t2 -c"$conns" -d10s -s "$root/eng/peers/wrk_summary.lua" "$url" >/dev/null
wrk -t2 -c"$conns" -d10s -s "$root/eng/peers/wrk_summary.lua" "$url" > "$work/wrk.out" &
load=$!
sleep 1
timeout -s INT 8 "$trace_tool" collect -p "$pid" --providers "Microsoft-Windows-DotNETRuntime:0x1:5" -o "$work/gc.nettrace" >/dev/null 2>&1 || true
wait "$load"
rps=$(/usr/bin/python3 -c "import json,sys; print(json.loads(open('$work/wrk.out').read().split('SUMMARY ')[1])['requests_per_s'])")
echo "load: $rps req/s (wrk 2 threads, $conns connections); trace: 8 s"
dotnet "$root/eng/alloc-ticks/bin/out/alloc-ticks.dll" "$work/gc.nettrace" "$(/usr/bin/python3 -c "print($rps * 8)")" 15
