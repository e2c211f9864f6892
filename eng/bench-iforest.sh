#!/usr/bin/env bash
# End-to-end speed of Vigil's isolation forest against scikit-learn, in one run, alternating.
#   eng/bench-iforest.sh [DATA.csv[.gz]] [ROUNDS=3]
# Without DATA, a 500,000-row x 10-feature CSV is made with ../shared/peers/make_synth_csv.py.
# Vigil:   `vigil train --exclude label` then `vigil score` as processes (Release build, reading the CSV); like the
#          Python side it ignores the label (no training metrics), so both do the same work.
# sklearn: eng/peers/sklearn_iforest_e2e.py (pandas read_csv, IsolationForest(n_jobs=-1) fit + score_samples, write scores).
# Prints each round's wall times, the medians and the ratio sklearn / Vigil.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
data="${1:-}"
rounds="${2:-3}"
bash "$root/eng/ensure-python.sh"
work="$(mktemp -d -t vigil-bench-iforest.XXXXXX)"
trap 'rm -rf "$work"' EXIT
if [ -z "$data" ]; then
  data="$work/synth-500k.csv"
  echo "generating $data (500,000 x 10, make_synth_csv.py seed 0)" >&2
  /usr/bin/python3 "$root/../shared/peers/make_synth_csv.py" "$data" --rows 500000 --features 10
fi
[ -f "$data" ] || { echo "no such file: $data" >&2; exit 2; }
"$root/vigil" --help >/dev/null   # build before timing

now() { date +%s.%N; }
vigil_times=(); sk_times=()
for ((r = 1; r <= rounds; r++)); do
  t0=$(now)
  "$root/vigil" train --data "$data" --exclude label --kind iforest --seed 0 --out "$work/model" --force >/dev/null
  "$root/vigil" score --model "$work/model" --data "$data" --out "$work/vigil.csv" >/dev/null
  t1=$(now)
  /usr/bin/python3 "$root/eng/peers/sklearn_iforest_e2e.py" "$data" "$work/sklearn.txt"
  t2=$(now)
  v=$(awk -v a="$t0" -v b="$t1" 'BEGIN{print b-a}'); s=$(awk -v a="$t1" -v b="$t2" 'BEGIN{print b-a}')
  vigil_times+=("$v"); sk_times+=("$s")
  printf 'round %d: vigil %.2f s, scikit-learn %.2f s\n' "$r" "$v" "$s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
mv=$(median "${vigil_times[@]}"); ms=$(median "${sk_times[@]}")
rows=$(( $(zcat -f "$data" | wc -l) - 1 ))
printf 'data: %s (%d rows)\n' "$data" "$rows"
printf 'median end to end: vigil %.2f s, scikit-learn %.2f s\n' "$mv" "$ms"
printf 'ratio (scikit-learn / vigil): %.1fx\n' "$(awk -v a="$ms" -v b="$mv" 'BEGIN{print a/b}')"
