#!/usr/bin/env bash
# Same-split comparison of Vigil's isolation forest with scikit-learn's.
#   eng/compare-iforest.sh FOLDER [SEEDS=10]
# For every FOLDER/*.csv.gz and split seed 0..SEEDS-1: ../shared/peers/iforest_bench.py dumps the split
# (train.csv, test.csv, sklearn's test scores); `vigil train` + `vigil score` run as processes on the same
# files; the peer's --score-file evaluates Vigil's scores with the same metric code. Prints per-dataset mean
# AUC-ROC of both, the mean paired difference, its standard error, and PASS when
# |mean diff| <= max(0.005, 3 SE).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
folder="${1:?usage: eng/compare-iforest.sh FOLDER [SEEDS]}"
seeds="${2:-10}"
peer="$root/../shared/peers/iforest_bench.py"
[ -f "$peer" ] || { echo "missing $peer (shared/ must sit beside the repository)" >&2; exit 2; }
bash "$root/eng/ensure-python.sh"
"$root/vigil" --help >/dev/null   # build once
work="$(mktemp -d -t vigil-compare.XXXXXX)"
trap 'rm -rf "$work"' EXIT
results="$work/results.jsonl"
for data in "$folder"/*.csv.gz "$folder"/*.csv; do
  [ -f "$data" ] || continue
  name="$(basename "$data")"; name="${name%.gz}"; name="${name%.csv}"
  for ((s = 0; s < seeds; s++)); do
    d="$work/$name-$s"
    /usr/bin/python3 "$peer" "$data" --dump-split "$d" --split-seed "$s" >/dev/null
    "$root/vigil" train --data "$d/train.csv" --label label --kind iforest --seed "$s" --out "$d/model" >/dev/null
    "$root/vigil" score --model "$d/model" --data "$d/test.csv" --out "$d/vigil.csv" >/dev/null
    # vigil writes "score,is_anomaly"; the peer wants one score per line (a header is allowed)
    cut -d, -f1 "$d/vigil.csv" > "$d/vigil_scores.txt"
    vigil_json="$(/usr/bin/python3 "$peer" "$data" --score-file "$d/vigil_scores.txt" --split-seed "$s" | tail -1)"
    /usr/bin/python3 - "$name" "$s" "$d/split.json" "$vigil_json" >> "$results" <<'PY'
import json, sys
name, seed, split_path, vigil = sys.argv[1], int(sys.argv[2]), sys.argv[3], json.loads(sys.argv[4])
split = json.load(open(split_path))
def find(o, key):
    if isinstance(o, dict):
        if key in o and isinstance(o[key], (int, float)):
            return o[key]
        for v in o.values():
            r = find(v, key)
            if r is not None:
                return r
    return None
print(json.dumps({"dataset": name, "seed": seed, "sklearn": find(split, "auc_roc"), "vigil": vigil["auc_roc"]}))
PY
    echo "  $name seed $s done" >&2
  done
done
/usr/bin/python3 - "$results" <<'PY'
import json, math, sys
from collections import defaultdict
rows = [json.loads(l) for l in open(sys.argv[1])]
by = defaultdict(list)
for r in rows:
    by[r["dataset"]].append(r)
print(f"| dataset | seeds | sklearn AUC-ROC | Vigil AUC-ROC | mean diff | SE of diff | bound | verdict |")
print(f"|---|---|---|---|---|---|---|---|")
ok = True
for name in sorted(by):
    rs = by[name]
    n = len(rs)
    d = [r["vigil"] - r["sklearn"] for r in rs]
    md = sum(d) / n
    sd = math.sqrt(sum((x - md) ** 2 for x in d) / (n - 1)) if n > 1 else 0.0
    se = sd / math.sqrt(n)
    bound = max(0.005, 3 * se)
    passed = abs(md) <= bound
    ok &= passed
    sk = sum(r["sklearn"] for r in rs) / n
    vg = sum(r["vigil"] for r in rs) / n
    print(f"| {name} | {n} | {sk:.4f} | {vg:.4f} | {md:+.4f} | {se:.4f} | {bound:.4f} | {'PASS' if passed else 'FAIL'} |")
print("all datasets statistically equal" if ok else "SOME DATASETS DIFFER")
sys.exit(0 if ok else 1)
PY
