#!/usr/bin/env bash
# The CBPE batch scenario with the CLI, as a user runs it: generated transactions -> time split (reference 60% /
# validation 20% / untouched 20%) -> LightGBM trained with labels on the reference rows and calibrated (isotonic) on
# the validation rows -> `vigil monitor batches` (10 batches of the untouched period): realized vs estimated AUC-PR
# and recall at the threshold per batch, and their means.
# Usage: eng/cbpe-scenario.sh [ROWS] [DAYS] [SEED] [WORKDIR]
#   no drift: eng/cbpe-scenario.sh 300000 60 5      drift (the generator's, over a year): eng/cbpe-scenario.sh 300000 360 5
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rows="${1:-300000}" days="${2:-60}" seed="${3:-5}"
work="${4:-$(mktemp -d)}"
mkdir -p "$work"
cd "$work"
export VIGIL_HOME="$work/home"
vigil() { "$root/vigil" "$@"; }
rm -rf split model tx.parquet
vigil generate transactions --rows "$rows" --days "$days" --seed "$seed" --out tx.parquet -q
vigil monitor split --data tx.parquet --out split >/dev/null
vigil train --data split/reference.parquet --validation split/validation.parquet --label label --kind lightgbm --seed 1 --out model | grep '^calibration'
vigil monitor batches --data tx.parquet --model model --json --html batches.html > batches.json
python3 - batches.json "$rows" "$days" "$seed" <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
rows, days, seed = sys.argv[2:5]
print(f"rows {rows}, days {days}, seed {seed}: {doc['estimation']}")
diffs, r_all, e_all = [], [], []
for b in doc["batches"]:
    r, e = b["realized"], b["estimated"]
    d = e["auc_pr"] - r["auc_pr"]
    diffs.append(d); r_all.append(r["auc_pr"]); e_all.append(e["auc_pr"])
    print(f"{b['window']:<32} drift {'yes' if b['drift']['dataset_drift'] else 'no ':<3} ({sum(f['drift'] for f in b['drift']['features'])}/{len(b['drift']['features'])}) positives {int(r['labelled_positives']):>4} expected {e['expected_positives']:7.1f}  "
          f"AUC-PR {r['auc_pr']:.4f} est {e['auc_pr']:.4f} ({d:+.4f})  recall@thr {r['recall_at_threshold']:.4f} est {e['recall_at_threshold']:.4f}")
n = len(diffs)
print(f"mean AUC-PR realized {sum(r_all)/n:.4f} estimated {sum(e_all)/n:.4f} difference {sum(e_all)/n - sum(r_all)/n:+.4f}; "
      f"per batch |difference| max {max(abs(d) for d in diffs):.4f}, mean {sum(abs(d) for d in diffs)/n:.4f}")
PY
echo "report: $work/batches.html"
