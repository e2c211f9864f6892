#!/usr/bin/env python3
"""The Python side of eng/bench-drift.sh.

  drift_bench.py generate DIR ROWS   writes DIR/reference.csv and DIR/current.csv (seeded): 16 numeric and 4 text
                                     columns; the current file drifts in 4 numeric and 1 text column.
  drift_bench.py run REF CUR [--workers N]
                                     Evidently's auto drift (default stattest per column, dataset drift at 0.5
                                     share) with pandas + scipy, the definitions of drift_fixtures.py; prints the
                                     JSON report and, on stderr, the seconds spent reading and computing. With
                                     --workers N (N > 1) the columns are split round-robin over N processes, each
                                     reading only its columns of both files (pd.read_csv usecols) and comparing them.
"""
import json
import os
import sys
import time

import numpy as np
import pandas as pd

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drift_fixtures as ev  # noqa: E402  (Evidently's definitions)


def generate(directory, rows):
    os.makedirs(directory, exist_ok=True)
    for name, seed, shift in (("reference", 1, 0.0), ("current", 2, 1.0)):
        rng = np.random.RandomState(seed)
        cols = {}
        for i in range(16):
            kind = i % 4
            drift = shift if i in (0, 5, 10, 15) else 0.0
            if kind == 0:
                v = rng.normal(100 + 3 * drift, 15, rows)
            elif kind == 1:
                v = rng.lognormal(3 + 0.1 * drift, 0.8, rows)
            elif kind == 2:
                v = rng.exponential(2 + drift, rows)
            else:
                v = np.round(rng.gamma(2, 50 * (1 + 0.1 * drift), rows), 2)
            v[rng.uniform(size=rows) < 0.01] = np.nan
            cols[f"num_{i:02d}"] = v
        for i in range(4):
            k = 8 + 4 * i
            p = np.linspace(1, 2, k)
            if i == 0 and shift:
                p = p[::-1]
            cols[f"cat_{i}"] = rng.choice(np.array([f"c{j}" for j in range(k)]), rows, p=p / p.sum())
        pd.DataFrame(cols).to_csv(os.path.join(directory, f"{name}.csv"), index=False, float_format="%.6g")


def compare(ref, cur):
    features = []
    for col in ref.columns:
        ftype = "num" if pd.api.types.is_numeric_dtype(ref[col]) else "cat"
        r = ref[col].replace([np.inf, -np.inf], np.nan)
        c = cur[col].replace([np.inf, -np.inf], np.nan)
        miss_r, miss_c = float(r.isna().mean()), float(c.isna().mean())
        r, c = r.dropna(), c.dropna()
        name = ev.default_stattest(r, c, ftype)
        fn, thr = {**ev.NUM, **ev.BOTH, **ev.CAT}[name]
        score, drift = fn(r, c, thr, ftype) if name in ev.BOTH else fn(r, c, thr)
        features.append({"name": col, "type": ftype, "stattest": name, "score": float(score), "threshold": thr,
                         "drift": bool(drift), "missing_share_reference": miss_r, "missing_share_current": miss_c})
    return features


def compare_columns(args):
    ref_path, cur_path, columns = args
    t0 = time.perf_counter()
    ref, cur = pd.read_csv(ref_path, usecols=columns)[columns], pd.read_csv(cur_path, usecols=columns)[columns]
    t1 = time.perf_counter()
    return compare(ref, cur), t1 - t0, time.perf_counter() - t1


def run(ref_path, cur_path, workers=1):
    t0 = time.perf_counter()
    if workers <= 1:
        ref, cur = pd.read_csv(ref_path), pd.read_csv(cur_path)
        t1 = time.perf_counter()
        features = compare(ref, cur)
        read, stats = t1 - t0, time.perf_counter() - t1
    else:
        import multiprocessing
        columns = list(pd.read_csv(ref_path, nrows=0).columns)
        groups = [columns[i::workers] for i in range(workers)]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(compare_columns, [(ref_path, cur_path, g) for g in groups])
        by_name = {f["name"]: f for part, _, _ in parts for f in part}
        features = [by_name[c] for c in columns]
        read, stats = max(p[1] for p in parts), max(p[2] for p in parts)
    share = sum(f["drift"] for f in features) / len(features)
    print(json.dumps({"dataset_drift": share >= 0.5, "drift_share": share, "threshold_share": 0.5, "features": features}))
    print(f"read {read:.2f} s, statistics {stats:.2f} s ({workers} process{'es' if workers > 1 else ''}), "
          f"wall {time.perf_counter() - t0:.2f} s", file=sys.stderr)


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(sys.argv[2], int(sys.argv[3]))
    else:
        workers = int(sys.argv[5]) if len(sys.argv) > 5 and sys.argv[4] == "--workers" else 1
        run(sys.argv[2], sys.argv[3], workers)
