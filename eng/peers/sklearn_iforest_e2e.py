#!/usr/bin/python3
"""The scikit-learn side of eng/bench-iforest.sh: read the CSV with pandas, fit IsolationForest
(100 trees, max_samples='auto', random_state=0, n_jobs=-1: all cores, its best setting) on every column but 'label', score every row
(-score_samples, higher = more anomalous) and write the scores, one per line.

Usage: sklearn_iforest_e2e.py DATA.csv[.gz] OUT.txt
"""
import sys

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest


def main():
    data, out = sys.argv[1], sys.argv[2]
    df = pd.read_csv(data)
    x = df.drop(columns=[c for c in ("label",) if c in df.columns]).to_numpy(dtype=np.float64)
    model = IsolationForest(n_estimators=100, max_samples="auto", random_state=0, n_jobs=-1).fit(x)
    scores = -model.score_samples(x)
    np.savetxt(out, scores, fmt="%.9g")


if __name__ == "__main__":
    main()
