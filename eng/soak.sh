#!/usr/bin/env bash
# Soak test of the scoring server: memory and handle counts under steady load, with the inference log on.
#
#   eng/soak.sh [--minutes 10] [--rate N] [--postgres auto|CONNSTRING] [--max-rss-growth-pct 10]
#               [--fd-tolerance 5] [--out DIR] [--durability async|ack] [--pg-outage SECONDS]
#
# --pg-outage SECONDS (with --postgres auto) stops the PostgreSQL cluster a quarter of the way into the soak for
# SECONDS (eng/postgres.sh pause, then resume): with --durability ack no request may fail and no row may be lost.
#
# 1. Builds the CLI once (copied aside, so editing the sources mid-run changes nothing), generates 20,000
#    transactions, trains an isolation forest and registers it as `soak` (champion) in a throwaway VIGIL_HOME.
# 2. Starts `vigil serve` with the inference log on (store; full payloads; back-pressure): SQLite in the home by
#    default, PostgreSQL with --postgres (auto = a throwaway cluster from eng/postgres.sh, or a connection string).
# 3. Measures the capacity (wrk, 2 threads, 16 connections, 5 s after a 5 s warm-up) unless --rate is given, then
#    drives the server at half of it for --minutes with wrk and eng/peers/wrk_paced.lua (wrk2 is not available:
#    each connection pauses between requests, so the rate is set by the number of connections and the pause).
# 4. Samples the server's RSS (VmRSS), open file descriptors (/proc/PID/fd) and threads every 10 s into
#    samples.csv, stops the server with SIGTERM and checks that the inference log holds one row per request.
# 5. Reports warm-up (the sample at half time) against final values and a linear fit over the second half:
#    fails (exit 1) when the fitted RSS growth over that half exceeds --max-rss-growth-pct of its level, the fitted
#    descriptor growth exceeds --fd-tolerance, or rows are missing from the inference log.
# Not part of eng/test.sh (it takes --minutes plus about two minutes of set-up).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
minutes=10
rate=""
postgres=""
max_rss_pct=10
fd_tolerance=5
out=""
durability=async
pg_outage=0
while [ $# -gt 0 ]; do
  case "$1" in
    --minutes) minutes="$2"; shift 2 ;;
    --rate) rate="$2"; shift 2 ;;
    --postgres) postgres="$2"; shift 2 ;;
    --max-rss-growth-pct) max_rss_pct="$2"; shift 2 ;;
    --fd-tolerance) fd_tolerance="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --durability) durability="$2"; shift 2 ;;
    --pg-outage) pg_outage="$2"; shift 2 ;;
    -h|--help) sed -n '2,25p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "soak.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[[ "$minutes" =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "soak.sh: --minutes must be a number" >&2; exit 2; }
[ -z "$rate" ] || [[ "$rate" =~ ^[0-9]+$ ]] || { echo "soak.sh: --rate must be a whole number of requests/s" >&2; exit 2; }
command -v wrk >/dev/null || { echo "soak.sh: wrk is required (apt-get install wrk)" >&2; exit 2; }
case "$durability" in async|ack) ;; *) echo "soak.sh: --durability must be async or ack" >&2; exit 2 ;; esac
[[ "$pg_outage" =~ ^[0-9]+$ ]] || { echo "soak.sh: --pg-outage must be whole seconds" >&2; exit 2; }
[ "$pg_outage" = 0 ] || [ "$postgres" = auto ] || { echo "soak.sh: --pg-outage needs --postgres auto (a cluster the script may stop)" >&2; exit 2; }
py="$(command -v python3)" || { echo "soak.sh: python3 is required" >&2; exit 2; }

work="$(mktemp -d -t vigil-soak.XXXXXX)"
out="${out:-$work}"
mkdir -p "$out"
pids=()
pg_dir=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  [ -z "$pg_dir" ] || bash "$root/eng/postgres.sh" stop "$pg_dir" >/dev/null 2>&1 || true
  [ "$out" = "$work" ] || rm -rf "$work"
}
trap cleanup EXIT
say() { echo "soak: $*" >&2; }

"$root/vigil" --help >/dev/null
cp -r "$root/.vigil-build" "$work/bin"
vigil() { dotnet "$work/bin/vigil.dll" "$@"; }

export VIGIL_HOME="$work/home"
if [ -n "$postgres" ]; then
  if [ "$postgres" = auto ]; then
    pg_dir="$(mktemp -u /tmp/vigil-soak-pg.XXXXXX)"   # under /tmp: the postgres OS user must reach it
    pg_port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    postgres="$(bash "$root/eng/postgres.sh" start "$pg_dir" "$pg_port")"
  fi
  export VIGIL_STORE="$postgres"
  store_name="postgresql"
else
  store_name="sqlite"
fi

say "training the model (store: $store_name)"
vigil generate transactions --rows 20000 --seed 11 --out "$work/tx.csv" >/dev/null
vigil train --data "$work/tx.csv" --label label --kind iforest --seed 1 --register soak >/dev/null
vigil models alias set soak champion 1 >/dev/null

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
VIGIL_INFERENCE_LOG_DURABILITY="$durability" DOTNET_GCgen0size=0x8000000 dotnet "$work/bin/vigil.dll" serve --port "$port" --models soak --inference-log store --log-level Warning > "$work/server.log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 1 300); do curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break; sleep 0.2; done
curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" || { say "the server never became ready:"; cat "$work/server.log" >&2; exit 1; }

# One instance: the first CSV row's values of the model's features.
body="$(curl -sf "http://127.0.0.1:$port/v1/models/soak" | "$py" -c '
import csv, json, sys
model = json.load(sys.stdin)
row = next(csv.DictReader(open(sys.argv[1])))
instance = {}
for f in model["features"]:
    v = row[f["name"]]
    instance[f["name"]] = v if f["kind"] == "Categorical" else float(v)
print(json.dumps({"model": "soak", "instances": [instance]}))
' "$work/tx.csv")"
url="http://127.0.0.1:$port/v1/predict"
code=$(curl -s -o "$work/first.json" -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$body" "$url")
[ "$code" = 200 ] || { say "the first request got $code: $(cat "$work/first.json")"; exit 1; }
sent=1

summary() { "$py" -c 'import json,sys; s=json.loads(next(l for l in open(sys.argv[1]) if l.startswith("SUMMARY "))[8:]); print(s[sys.argv[2]])' "$1" "$2"; }
if [ -z "$rate" ]; then
  say "measuring capacity (5 s warm-up, 5 s measured, 16 connections)"
  BODY="$body" wrk -t2 -c16 -d5s --timeout 10s -s "$root/eng/peers/wrk_summary.lua" "$url" > "$work/warm.wrk"
  BODY="$body" wrk -t2 -c16 -d5s --timeout 10s -s "$root/eng/peers/wrk_summary.lua" "$url" > "$work/capacity.wrk"
  sent=$(( sent + $(summary "$work/warm.wrk" requests) + $(summary "$work/capacity.wrk" requests) ))
  capacity=$(summary "$work/capacity.wrk" requests_per_s)
  rate=$("$py" -c "print(max(1, int(float('$capacity') / 2)))")
  say "capacity $capacity req/s; soaking at $rate req/s"
else
  capacity="not measured"
fi

# CONNECTIONS connections, each pausing DELAY_MS between requests: about CONNECTIONS * 1000 / DELAY_MS req/s.
delay_ms=5
conns=$("$py" -c "print(max(1, round($rate * $delay_ms / 1000)))")
if [ "$conns" -lt 2 ]; then
  conns=2
  delay_ms=$("$py" -c "print(max(1, round(2000 / $rate)))")
fi
# wrk's pauses are whole milliseconds on a coarse timer: calibrate the number of connections with a 5 s paced run.
BODY="$body" DELAY_MS="$delay_ms" WRK_SUMMARY="$root/eng/peers/wrk_summary.lua" wrk -t2 -c"$conns" -d5s --timeout 10s -s "$root/eng/peers/wrk_paced.lua" "$url" > "$work/calibrate.wrk"
sent=$(( sent + $(summary "$work/calibrate.wrk" requests) ))
inflight=$(( 16 + 16 + conns ))
conns=$("$py" -c "print(max(2, round($conns * $rate / max(1.0, float('$(summary "$work/calibrate.wrk" requests_per_s)')))))")
inflight=$(( inflight + conns ))
seconds=$("$py" -c "print(int(float('$minutes') * 60))")
say "running ${seconds} s: $conns connections, ${delay_ms} ms pause; samples every 10 s in $out/samples.csv"
BODY="$body" DELAY_MS="$delay_ms" WRK_SUMMARY="$root/eng/peers/wrk_summary.lua" wrk -t2 -c"$conns" -d"${seconds}s" --timeout 10s --latency -s "$root/eng/peers/wrk_paced.lua" "$url" > "$work/soak.wrk" &
load=$!
pids+=("$load")

echo "seconds,rss_kb,fds,threads" > "$out/samples.csv"
start=$(date +%s)
sample() {
  local rss fds threads
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server/status")
  threads=$(awk '/^Threads:/ {print $2}' "/proc/$server/status")
  fds=$(ls "/proc/$server/fd" | wc -l)
  echo "$(( $(date +%s) - start )),$rss,$fds,$threads" >> "$out/samples.csv"
}
sample
next=10
outage_at=$(( seconds / 4 ))
outage_state=none
[ "$pg_outage" = 0 ] || say "PostgreSQL outage of ${pg_outage} s at ${outage_at} s (durability $durability)"
while kill -0 "$load" 2>/dev/null; do
  if [ "$outage_state" = none ] && [ "$pg_outage" != 0 ] && [ $(( $(date +%s) - start )) -ge "$outage_at" ]; then
    bash "$root/eng/postgres.sh" pause "$pg_dir" 2>/dev/null && outage_state=down && down_at=$(date +%s) && say "PostgreSQL stopped"
  fi
  if [ "$outage_state" = down ] && [ $(( $(date +%s) - down_at )) -ge "$pg_outage" ]; then
    bash "$root/eng/postgres.sh" resume "$pg_dir" 2>/dev/null && outage_state=back && say "PostgreSQL started again after $(( $(date +%s) - down_at )) s"
  fi
  while kill -0 "$load" 2>/dev/null && [ $(( $(date +%s) - start )) -lt "$next" ]; do
    sleep 0.2
    # an outage starts and ends on time, not on the next 10 s sample
    if { [ "$outage_state" = none ] && [ "$pg_outage" != 0 ] && [ $(( $(date +%s) - start )) -ge "$outage_at" ]; } \
      || { [ "$outage_state" = down ] && [ $(( $(date +%s) - down_at )) -ge "$pg_outage" ]; }; then break; fi
  done
  if [ $(( $(date +%s) - start )) -ge "$next" ]; then
    kill -0 "$load" 2>/dev/null && sample
    next=$(( next + 10 ))
  fi
done
wait "$load"
if [ "$outage_state" = down ]; then bash "$root/eng/postgres.sh" resume "$pg_dir" 2>/dev/null; outage_state=back; say "PostgreSQL started again (the load ended first)"; fi
[ "$pg_outage" = 0 ] || [ "$outage_state" = back ] || { say "the PostgreSQL outage did not happen (soak too short?)"; exit 1; }
sample
sent=$(( sent + $(summary "$work/soak.wrk" requests) ))
cp "$work/soak.wrk" "$out/soak.wrk"

kill -TERM "$server"
wait "$server" 2>/dev/null || true
logged=$(vigil logs count --model soak)

"$py" - "$out/samples.csv" "$work/soak.wrk" "$max_rss_pct" "$fd_tolerance" "$sent" "$logged" "$inflight" "$capacity" "$rate" "$store_name" <<'PY'
import csv, json, sys
path, wrk, max_pct, fd_tol, sent, logged, inflight, capacity, rate, store = sys.argv[1:]
max_pct, fd_tol, sent, logged, inflight = float(max_pct), float(fd_tol), int(sent), int(logged), int(inflight)
rows = [{k: float(v) for k, v in r.items()} for r in csv.DictReader(open(path))]
s = json.loads(next(l for l in open(wrk) if l.startswith("SUMMARY "))[8:])
end = rows[-1]["seconds"]
half = [r for r in rows if r["seconds"] >= end / 2]
warm = half[0]
final = rows[-1]

def fit(key):
    xs = [r["seconds"] for r in half]
    ys = [r[key] for r in half]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx > 0 else 0.0
    return slope, slope * (xs[-1] - xs[0]), my

rss_slope, rss_growth, rss_mean = fit("rss_kb")
fd_slope, fd_growth, _ = fit("fds")
rss_pct = 100.0 * rss_growth / rss_mean
print(f"store {store}; capacity {capacity} req/s; target {rate} req/s; achieved {s['requests_per_s']:.0f} req/s over {s['seconds']:.0f} s "
      f"({s['requests']} requests, p50 {s['p50_ms']:.2f} ms, p99 {s['p99_ms']:.2f} ms, errors {s['errors']}, non-2xx {s['non2xx']})")
print(f"samples: {len(rows)} (every 10 s); warm-up = the sample at {warm['seconds']:.0f} s (half time)")
print(f"RSS  start {rows[0]['rss_kb']/1024:.1f} MB, warm-up {warm['rss_kb']/1024:.1f} MB, final {final['rss_kb']/1024:.1f} MB, "
      f"max {max(r['rss_kb'] for r in rows)/1024:.1f} MB; second-half fit {rss_slope*60/1024:+.3f} MB/min = {rss_pct:+.2f}% over the half (limit {max_pct}%)")
print(f"fds  start {rows[0]['fds']:.0f}, warm-up {warm['fds']:.0f}, final {final['fds']:.0f}, max {max(r['fds'] for r in rows):.0f}; "
      f"second-half fit {fd_growth:+.2f} over the half (limit {fd_tol})")
print(f"threads start {rows[0]['threads']:.0f}, warm-up {warm['threads']:.0f}, final {final['threads']:.0f}")
print(f"inference log: {logged} rows for {sent} completed requests (up to {inflight} more: requests in flight when each wrk run stopped)")
failed = []
if rss_pct > max_pct:
    failed.append(f"RSS grew {rss_pct:.2f}% over the second half")
if fd_growth > fd_tol:
    failed.append(f"file descriptors grew by {fd_growth:.2f}")
if logged < sent or logged > sent + inflight:
    failed.append(f"the inference log holds {logged} rows for {sent} requests")
if s["errors"] or s["non2xx"]:
    failed.append(f"{s['errors']} socket errors and {s['non2xx']} non-2xx answers")
print("SOAK " + ("FAIL: " + "; ".join(failed) if failed else "PASS"))
sys.exit(1 if failed else 0)
PY
