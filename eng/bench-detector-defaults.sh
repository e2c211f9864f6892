#!/usr/bin/env bash
# How the unsupervised defaults were chosen and how they hold up on data they were not chosen on.
#   eng/bench-detector-defaults.sh [SEEDS=3]
# 1. `vigil bench autoencoder-defaults` on ../shared/data/adbench: every candidate (trim fraction 0, 0.1, 0.25, 0.45 x
#    the default or a compact network) fitted on 80% of each dataset's ADBench training part and judged on synthetic
#    anomalies added to the other 20% (no labels, no test rows). The best mean is the default.
# 2. `vigil bench adbench --models iforest,autoencoder,ensemble` on the five shared datasets (ADBench protocol, test
#    split) and on datasets the defaults were not chosen on: three built from scikit-learn's bundled data the way
#    ODDS/ADBench build theirs (eng/peers/export_other_anomaly_sets.py: breastcancer, digits, wine) and Vigil's own
#    generated card transactions (10,000 rows, 1% fraud, numeric features).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seeds="${1:-3}"
bash "$root/eng/ensure-python.sh"
work="$(mktemp -d -t vigil-defaults.XXXXXX)"
trap 'rm -rf "$work"' EXIT
"$root/vigil" --help >/dev/null
mkdir -p "$work/other"
/usr/bin/python3 "$root/eng/peers/export_other_anomaly_sets.py" "$work/other" 2>/dev/null
"$root/vigil" generate transactions --rows 10000 --seed 5 --out "$work/tx.csv" --quiet
/usr/bin/python3 - "$work/tx.csv" "$work/other/transactions.csv.gz" <<'PY'
import csv, gzip, sys
numeric = ["amount", "hour_of_day", "avg_monthly_spend", "customer_tenure_days", "num_prev_tx_24h", "tx_count_1d", "tx_count_7d",
           "tx_count_30d", "tx_count_same_merchant_1d", "amount_sum_1d", "amount_sum_7d", "amount_sum_30d"]
with open(sys.argv[1]) as f, gzip.open(sys.argv[2], "wt", newline="") as out:
    rows = csv.DictReader(f)
    out.write(",".join(f"f{i}" for i in range(len(numeric))) + ",label\n")
    for r in rows:
        out.write(",".join(r[c] for c in numeric) + "," + str(int(float(r["label"]))) + "\n")
PY
echo "== autoencoder defaults chosen on training parts only (${seeds} seeds)"
"$root/vigil" bench autoencoder-defaults "$root/../shared/data/adbench" --seeds "$seeds"
echo "== ADBench protocol, the five shared datasets"
"$root/vigil" bench adbench "$root/../shared/data/adbench" --models iforest,autoencoder,ensemble --seeds "$seeds"
echo "== ADBench protocol, datasets the defaults were not chosen on"
"$root/vigil" bench adbench "$work/other" --models iforest,autoencoder,ensemble --seeds "$seeds"
