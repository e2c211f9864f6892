#!/usr/bin/env bash
# Scoring-server throughput and latency: Vigil against the FastAPI + scikit-learn peer, in one run.
#   eng/bench-serve.sh [SECONDS=10] [CONNECTIONS=32] [ROUNDS=3]
# Servers (all on 127.0.0.1, one measured at a time, each warmed up by a 10 s run first: tiered JIT and PGO settle;
# vigil, vigil-ack and ceiling are up side by side and measured in ROUNDS rounds, the order rotating each round, and
# their figures are medians over the rounds; the ceiling share is the median of the rounds' ratios):
#   vigil      `vigil serve` (Release, ReadyToRun) with an isolation forest (100 trees) trained by `vigil train` on the
#              peer's own generated transactions (train.py generate(100000, 42), 5 features); inference log ON
#              (SQLite store, full payloads, back-pressure), reasons on.
#   vigil-ack  the same server (on a copy of the home) with VIGIL_INFERENCE_LOG_DURABILITY=ack: every response waits until its log row is
#              fsynced to the write-ahead file under $VIGIL_HOME/inference-wal (group commit).
#   peer-if    ../shared/peers/fastapi_peer with only its IsolationForest (eng/peers/fastapi_iforest_only.py):
#              the same kind of model on the same data (uvicorn, 1 worker, access log off).
#   peer       the peer as shipped (app.py /predict: RandomForest + IsolationForest per request).
#   ceiling    benchmarks/Vigil.ServeCeiling: the same ASP.NET Core host answering a fixed small JSON body.
# Load: wrk, 2 threads, CONNECTIONS connections, SECONDS seconds, the same single-instance transaction.
# Prints req/s, p50 and p99 for each, the ratios, and checks that Vigil's inference log holds every request.
#
#   eng/bench-serve.sh drift-ab [SECONDS=10] [CONNECTIONS=32] [ROUNDS=4]
# Online drift cost instead: two `vigil serve` processes with the same model and inference log (store), one with
# online drift on (window 10,000, gauges every 15 s; the default) and one with VIGIL_ONLINE_DRIFT=false, both warmed
# up, then ROUNDS rounds of SECONDS each alternating which one is measured first (ABBA...), so a change in the
# machine's load hits both alike. Prints each round and the ratio of the summed req/s (goal: drift on >= 95%).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
mode=all
if [ "${1:-}" = drift-ab ]; then mode=drift-ab; shift; fi
seconds="${1:-10}"
conns="${2:-32}"
if [ "$mode" = drift-ab ]; then rounds="${3:-4}"; else rounds="${3:-3}"; fi
warm=10
need=()
command -v wrk >/dev/null || need+=(wrk)
/usr/bin/python3 -c 'import fastapi, uvicorn' 2>/dev/null || need+=(python3-fastapi python3-uvicorn)
/usr/bin/python3 -c 'import sklearn, pandas, joblib' 2>/dev/null || need+=(python3-sklearn python3-pandas python3-joblib)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi

work="$(mktemp -d -t vigil-bench-serve.XXXXXX)"
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

"$root/vigil" --help >/dev/null   # publish the Release CLI before anything is timed
[ "$mode" = drift-ab ] || dotnet build "$root/benchmarks/Vigil.ServeCeiling" -c Release -v q -nologo >/dev/null
ceiling_dll="$root/benchmarks/Vigil.ServeCeiling/bin/Release/net10.0/Vigil.ServeCeiling.dll"

cp -r "$root/../shared/peers/fastapi_peer" "$work/peer"
chmod -R u+w "$work/peer"
cp "$root/eng/peers/fastapi_iforest_only.py" "$work/peer/"
[ "$mode" = drift-ab ] || (cd "$work/peer" && /usr/bin/python3 train.py --out-dir model >/dev/null)
/usr/bin/python3 "$root/eng/peers/export_peer_data.py" "$work/peer" "$work/peer-data.csv" 100000 42

export VIGIL_HOME="$work/home"
"$root/vigil" train --data "$work/peer-data.csv" --label is_fraud --kind iforest --seed 42 --register bench-fraud >/dev/null
"$root/vigil" models alias set bench-fraud champion 1 >/dev/null

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_http() { for _ in $(seq 1 200); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done; echo "no answer from $1" >&2; return 1; }
tx='{"amount": 249.99, "hour_of_day": 2, "avg_monthly_spend": 1200.0, "customer_tenure_days": 45, "num_prev_tx_24h": 5}'
vigil_body="{\"model\": \"bench-fraud\", \"instances\": [$tx]}"

# run NAME URL BODY: warm up, then measure; prints "NAME rps p50 p99 errors non2xx requests"
run() {
  local name="$1" url="$2" body="$3"
  code=$(curl -s -o "$work/$name.first" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$body" "$url")
  [ "$code" = 200 ] || { echo "$name: $url answered $code: $(cat "$work/$name.first")" >&2; exit 1; }
  BODY="$body" wrk -t2 -c"$conns" -d"${warm}s" --timeout 10s -s "$root/eng/peers/wrk_summary.lua" "$url" > "$work/$name.warm"
  BODY="$body" wrk -t2 -c"$conns" -d"${seconds}s" --timeout 10s --latency -s "$root/eng/peers/wrk_summary.lua" "$url" > "$work/$name.wrk"
  /usr/bin/python3 - "$name" "$work/$name.wrk" <<'PY'
import json, sys
line = next(l for l in open(sys.argv[2]) if l.startswith("SUMMARY "))
s = json.loads(line[len("SUMMARY "):])
print(sys.argv[1], s["requests_per_s"], s["p50_ms"], s["p99_ms"], s["errors"], s["non2xx"], s["requests"])
PY
}

if [ "$mode" = drift-ab ]; then
  port_on=$(free_port)
  "$root/vigil" serve --port "$port_on" --models bench-fraud --inference-log store --log-level Warning > "$work/vigil-drift-on.log" 2>&1 &
  pids+=($!)
  port_off=$(free_port)
  VIGIL_ONLINE_DRIFT=false "$root/vigil" serve --port "$port_off" --models bench-fraud --inference-log store --log-level Warning > "$work/vigil-drift-off.log" 2>&1 &
  pids+=($!)
  wait_http "http://127.0.0.1:$port_on/readyz"
  wait_http "http://127.0.0.1:$port_off/readyz"
  ab="$work/ab.txt"
  : > "$ab"
  for r in $(seq 1 "$rounds"); do
    if [ $((r % 2)) = 1 ]; then order="on off"; else order="off on"; fi
    for which in $order; do
      if [ "$which" = on ]; then p=$port_on; else p=$port_off; fi
      run "drift-$which-$r" "http://127.0.0.1:$p/v1/predict" "$vigil_body" | tee -a "$ab"
    done
  done
  curl -sf "http://127.0.0.1:$port_on/metrics" | grep -E '^vigil_(dataset_drift_share|alert_rate|online_drift_window_items)' || true
  /usr/bin/python3 - "$ab" "$seconds" "$conns" "$rounds" <<'PY'
import sys
on = off = 0.0
for line in open(sys.argv[1]):
    name, rps = line.split()[0], float(line.split()[1])
    if name.startswith("drift-on-"): on += rps
    elif name.startswith("drift-off-"): off += rps
print()
print(f"wrk -t2 -c{sys.argv[3]} -d{sys.argv[2]}s x {sys.argv[4]} rounds per server, alternating (ABBA), inference log on")
print(f"online drift on / off: {100 * on / off:.1f}% of req/s (goal >= 95%); mean {on / int(sys.argv[4]):.0f} vs {off / int(sys.argv[4]):.0f} req/s")
PY
  exit 0
fi

results="$work/results.txt"
: > "$results"

# measure NAME URL BODY: one measured wrk run (no warm-up); prints "NAME rps p50 p99 errors non2xx requests"
measure() {
  local name="$1" url="$2" body="$3"
  BODY="$body" wrk -t2 -c"$conns" -d"${seconds}s" --timeout 10s --latency -s "$root/eng/peers/wrk_summary.lua" "$url" > "$work/$name.wrk"
  /usr/bin/python3 - "$name" "$work/$name.wrk" <<'PY'
import json, sys
line = next(l for l in open(sys.argv[2]) if l.startswith("SUMMARY "))
s = json.loads(line[len("SUMMARY "):])
print(sys.argv[1], s["requests_per_s"], s["p50_ms"], s["p99_ms"], s["errors"], s["non2xx"], s["requests"])
PY
}
warm_up() { # NAME URL BODY: the first answer must be 200, then a warm-up run
  local name="$1" url="$2" body="$3"
  code=$(curl -s -o "$work/$name.first" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$body" "$url")
  [ "$code" = 200 ] || { echo "$name: $url answered $code: $(cat "$work/$name.first")" >&2; exit 1; }
  BODY="$body" wrk -t2 -c"$conns" -d"${warm}s" --timeout 10s -s "$root/eng/peers/wrk_summary.lua" "$url" > "$work/$name.warm"
}
counted() { awk '/^SUMMARY/ {print}' "$1" | /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.stdin.read()[8:])["requests"])'; }

# Vigil (async and ack logging, each on its own copy of the home) and the ceiling stay up side by side, idle while
# another is measured; after one warm-up each, ROUNDS rounds measure each once, the order rotating every round, so a
# change in the machine's speed (this virtual machine's moves by up to a third between minutes) hits all three alike.
cp -r "$VIGIL_HOME" "$work/home-ack"
port_v=$(free_port)
"$root/vigil" serve --port "$port_v" --models bench-fraud --inference-log store --log-level Warning > "$work/vigil.log" 2>&1 &
pids+=($!); vpid=$!
wait_http "http://127.0.0.1:$port_v/readyz"
port_a=$(free_port)
VIGIL_HOME="$work/home-ack" VIGIL_INFERENCE_LOG_DURABILITY=ack "$root/vigil" serve --port "$port_a" --models bench-fraud --inference-log store --log-level Warning > "$work/vigil-ack.log" 2>&1 &
pids+=($!); apid=$!
wait_http "http://127.0.0.1:$port_a/readyz"
port_c=$(free_port)
dotnet "$ceiling_dll" "$port_c" > "$work/ceiling.log" 2>&1 &
pids+=($!); cpid=$!
wait_http "http://127.0.0.1:$port_c/livez"
declare -A url=([vigil]="http://127.0.0.1:$port_v/v1/predict" [vigil-ack]="http://127.0.0.1:$port_a/v1/predict" [ceiling]="http://127.0.0.1:$port_c/v1/predict")
servers=(vigil vigil-ack ceiling)
for name in "${servers[@]}"; do warm_up "$name" "${url[$name]}" "$vigil_body"; done
sent=$(( 1 + $(counted "$work/vigil.warm") ))
sent_ack=$(( 1 + $(counted "$work/vigil-ack.warm") ))
for ((r = 1; r <= rounds; r++)); do
  for ((k = 0; k < 3; k++)); do
    name="${servers[$(( (k + r - 1) % 3 ))]}"
    measure "$name" "${url[$name]}" "$vigil_body" | sed "s/^/round$r /" | tee -a "$results" >&2
    case "$name" in
      vigil) sent=$(( sent + $(counted "$work/vigil.wrk") )) ;;
      vigil-ack) sent_ack=$(( sent_ack + $(counted "$work/vigil-ack.wrk") )) ;;
    esac
  done
done
rss_v=$(awk '/VmRSS/ {print $2}' "/proc/$vpid/status")
kill -TERM "$vpid" "$apid" "$cpid"; wait "$vpid" "$apid" "$cpid" 2>/dev/null || true
logged=$("$root/vigil" logs count --model bench-fraud)
logged_ack=$(VIGIL_HOME="$work/home-ack" "$root/vigil" logs count --model bench-fraud)

run_peer() { # NAME URL: warm up and measure once (the peers are two orders of magnitude slower)
  warm_up "$1" "$2" "$tx"
  measure "$1" "$2" "$tx" | sed "s/^/round1 /" | tee -a "$results" >&2
}
port=$(free_port)
(cd "$work/peer" && exec /usr/bin/python3 -m uvicorn fastapi_iforest_only:api --host 127.0.0.1 --port "$port" --workers 1 --no-access-log --log-level warning) > "$work/peer-if.log" 2>&1 &
pids+=($!); ppid_if=$!
wait_http "http://127.0.0.1:$port/health"
run_peer peer-if "http://127.0.0.1:$port/predict"
kill "$ppid_if"; wait "$ppid_if" 2>/dev/null || true

port=$(free_port)
(cd "$work/peer" && exec ./run.sh "$port") > "$work/peer.log" 2>&1 &
pids+=($!); ppid=$!
wait_http "http://127.0.0.1:$port/health"
run_peer peer "http://127.0.0.1:$port/predict"
kill "$ppid"; wait "$ppid" 2>/dev/null || true

/usr/bin/python3 - "$results" "$seconds" "$conns" "$logged" "$sent" "$logged_ack" "$sent_ack" "$rounds" "$rss_v" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1]):
    if line.strip():
        f = line.split()
        runs.setdefault(f[1], {})[f[0]] = [float(x) for x in f[2:]]
med = lambda name, i: statistics.median(r[i] for r in runs[name].values())
rounds = int(sys.argv[8])
print()
print(f"wrk -t2 -c{sys.argv[3]} -d{sys.argv[2]}s, single-instance request, loopback, one server measured at a time; "
      f"vigil, vigil-ack and ceiling: median of {rounds} rounds (order rotating each round), the peers: one run")
print(f"{'server':<10} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} {'non-2xx':>8}")
for name in ("vigil", "vigil-ack", "peer-if", "peer", "ceiling"):
    errors = sum(r[3] for r in runs[name].values())
    non2xx = sum(r[4] for r in runs[name].values())
    print(f"{name:<10} {med(name, 0):>10.0f} {med(name, 1):>8.2f} {med(name, 2):>8.2f} {int(errors):>7d} {int(non2xx):>8d}")
v = med("vigil", 0)
share = [runs["vigil"][k][0] / runs["ceiling"][k][0] for k in runs["vigil"]]
ack = [runs["vigil-ack"][k][0] / runs["vigil"][k][0] for k in runs["vigil"]]
print()
print(f"vigil / peer-if (same model kind):  {v / med('peer-if', 0):.1f}x req/s   (goal >= 100x)")
print(f"vigil / peer (RF + IF as shipped):  {v / med('peer', 0):.1f}x req/s")
print(f"vigil / ceiling (host, fixed JSON): {100 * statistics.median(share):.0f}% of req/s, median of the rounds' ratios "
      f"({', '.join(f'{100 * s:.0f}%' for s in share)}; goal >= 60%)")
print(f"vigil p99 at {sys.argv[3]} connections: {med('vigil', 2):.2f} ms (goal <= 5 ms); RSS after the runs {int(sys.argv[9]) // 1024} MB")
print(f"vigil-ack / vigil (durability ack vs async): {100 * statistics.median(ack):.0f}% of req/s (goal >= 50%), "
      f"p99 {med('vigil-ack', 2):.2f} ms (goal <= 10 ms)")
logged, sent = int(sys.argv[4]), int(sys.argv[5])
slack = 2 * int(sys.argv[3]) * (rounds + 1)
extra = logged - sent
print(f"inference log: {logged} rows; wrk counted {sent} answered requests (+{extra} answered while wrk was stopping, "
      f"at most 2 x {sys.argv[3]} in flight per run): {'OK' if 0 <= extra <= slack else 'MISMATCH'}")
logged_ack, sent_ack = int(sys.argv[6]), int(sys.argv[7])
extra = logged_ack - sent_ack
print(f"inference log (ack): {logged_ack} rows; wrk counted {sent_ack} answered requests (+{extra}): "
      f"{'OK' if 0 <= extra <= slack else 'MISMATCH'}")
PY
