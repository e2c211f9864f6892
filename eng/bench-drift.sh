#!/usr/bin/env bash
# Drift of 1M x 20 against 1M x 20 (16 numeric + 4 text columns, 1% missing), auto statistics, JSON out:
# `vigil drift` against pandas + scipy running Evidently's definitions (eng/peers/drift_bench.py), on the same CSV
# files in one run. Prints wall and CPU seconds of each side (median of RUNS), the ratios, and checks that both
# reports agree (same statistics and flags, scores within 1e-9 relative).
# Like for like, two pairings in the same run (numpy/scipy pinned to one thread each: OMP/OPENBLAS/MKL_NUM_THREADS=1):
#   1 thread:  `vigil drift --threads 1` (files read one after the other, columns compared one at a time) against
#              one Python process;
#   2 threads: `vigil drift --threads 2` (both files read at once, one thread each, then the columns over 2 threads)
#              against Python with --workers 2 (columns split over 2 processes, each reading only its columns of both
#              files).
# CPU seconds (user + sys) show what each side burns; they move less with the machine's load than wall seconds.
# Vigil's stderr line (--timings) gives its read and statistics seconds, GC collections and peak working set.
# Usage: [RUNS=3] eng/bench-drift.sh [ROWS] (default 1000000); data kept in ${DRIFT_BENCH_DIR:-/tmp/vigil-drift-bench}.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
ROWS="${1:-1000000}"
RUNS="${RUNS:-3}"
DIR="${DRIFT_BENCH_DIR:-/tmp/vigil-drift-bench}/$ROWS"
PY=/usr/bin/python3
"$ROOT/eng/ensure-python.sh"
"$PY" -c 'import scipy' 2>/dev/null || { apt-get install -y -qq python3-scipy >&2; }
mkdir -p "$DIR"
if [ ! -f "$DIR/current.csv" ]; then
  echo "generating $ROWS x 20 reference and current in $DIR ..." >&2
  "$PY" "$ROOT/eng/peers/drift_bench.py" generate "$DIR" "$ROWS"
fi
dotnet build "$ROOT/src/Vigil.Cli" -c Release -v q -nologo >&2
VIGIL="$ROOT/src/Vigil.Cli/bin/Release/net10.0/vigil.dll"

measure() { # label outfile command... -> prints "wall cpu"
  local out="$1"; shift
  /usr/bin/time -f "%e %U %S" -o "$DIR/time.txt" "$@" > "$out" 2> "$DIR/stderr.txt" || { cat "$DIR/stderr.txt" >&2; exit 1; }
  awk '{ printf "%.2f %.2f\n", $1, $2 + $3 }' "$DIR/time.txt"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

for t in 1 2; do : > "$DIR/vigil-$t.times"; : > "$DIR/python-$t.times"; done
for i in $(seq "$RUNS"); do
  for t in 1 2; do
    measure "$DIR/vigil-$t.json" dotnet "$VIGIL" drift --reference "$DIR/reference.csv" --current "$DIR/current.csv" --json --timings --threads "$t" >> "$DIR/vigil-$t.times"
    echo "vigil --threads $t run $i: $(tail -1 "$DIR/vigil-$t.times") (wall cpu s); $(cat "$DIR/stderr.txt")" >&2
    OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1 \
      measure "$DIR/python-$t.json" "$PY" "$ROOT/eng/peers/drift_bench.py" run "$DIR/reference.csv" "$DIR/current.csv" --workers "$t" >> "$DIR/python-$t.times"
    echo "python --workers $t run $i: $(tail -1 "$DIR/python-$t.times") (wall cpu s); $(cat "$DIR/stderr.txt")" >&2
  done
done

for t in 1 2; do
"$PY" - "$DIR/vigil-$t.json" "$DIR/python-$t.json" <<'PYEOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
worst = 0.0
for x, y in zip(a["features"], b["features"], strict=True):
    assert (x["name"], x["stattest"], x["drift"]) == (y["name"], y["stattest"], y["drift"]), (x, y)
    worst = max(worst, abs(x["score"] - y["score"]) / max(abs(y["score"]), 1e-300))
assert a["dataset_drift"] == b["dataset_drift"]
assert worst <= 1e-9, worst
print(f"reports agree: {len(a['features'])} columns, same statistics and flags, scores within {worst:.1e} relative", file=sys.stderr)
PYEOF
done

echo "rows=$ROWS x 20 columns, median of $RUNS, load average $(cut -d' ' -f1-3 /proc/loadavg)"
for t in 1 2; do
  vw=$(awk '{print $1}' "$DIR/vigil-$t.times" | median); vc=$(awk '{print $2}' "$DIR/vigil-$t.times" | median)
  pw=$(awk '{print $1}' "$DIR/python-$t.times" | median); pc=$(awk '{print $2}' "$DIR/python-$t.times" | median)
  echo "vigil drift --threads $t:            wall ${vw} s, cpu ${vc} s"
  echo "pandas+scipy, $t process(es):        wall ${pw} s, cpu ${pc} s"
  awk -v t="$t" -v vw="$vw" -v vc="$vc" -v pw="$pw" -v pc="$pc" 'BEGIN { printf "ratio at %d thread(s)/process(es): wall %.1fx, cpu %.1fx\n", t, pw / vw, pc / vc }'
done
