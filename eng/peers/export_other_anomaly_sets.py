#!/usr/bin/python3
"""Writes anomaly-detection datasets beyond ../shared/data/adbench, in the same format (gzip CSV, header
f0..f{d-1},label; label 1 = anomaly), built the way ODDS/ADBench build theirs from classification data: one class (or a
few) normal, a minority class subsampled as the anomalies. Sources: the datasets bundled with scikit-learn (no
download), so any machine with python3-sklearn can rebuild them.

  eng/peers/export_other_anomaly_sets.py OUT_DIR

- breastcancer: Wisconsin diagnostic (569 x 30): benign normal, malignant subsampled to 5% of the rows (seed 0).
- digits:       8x8 handwritten digits (1797 x 64): digits 1-9 normal, digit 0 subsampled to 3% (as ODDS's optdigits).
- wine:         UCI wine (178 x 13): classes 1 and 2 normal, class 0 subsampled to 10 rows (as ODDS's wine).
"""
import gzip
import os
import sys

import numpy as np
from sklearn import datasets


def write(path, X, y):
    with gzip.open(path, "wt", newline="") as f:
        f.write(",".join(f"f{i}" for i in range(X.shape[1])) + ",label\n")
        for row, label in zip(X, y):
            f.write(",".join(repr(float(v)) for v in row) + f",{int(label)}\n")


def minority(X, is_anomaly, count, seed=0):
    rng = np.random.default_rng(seed)
    normal = np.flatnonzero(~is_anomaly)
    anomalies = np.sort(rng.choice(np.flatnonzero(is_anomaly), size=count, replace=False))
    keep = np.sort(np.concatenate([normal, anomalies]))
    return X[keep], is_anomaly[keep].astype(int)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    bc = datasets.load_breast_cancer()
    is_malignant = bc.target == 0
    n_normal = int((~is_malignant).sum())
    X, y = minority(bc.data, is_malignant, max(10, round(0.05 * n_normal / 0.95)))
    write(os.path.join(out, "breastcancer.csv.gz"), X, y)

    dg = datasets.load_digits()
    is_zero = dg.target == 0
    n_normal = int((~is_zero).sum())
    X, y = minority(dg.data, is_zero, max(10, round(0.03 * n_normal / 0.97)))
    write(os.path.join(out, "digits.csv.gz"), X, y)

    wn = datasets.load_wine()
    X, y = minority(wn.data, wn.target == 0, 10)
    write(os.path.join(out, "wine.csv.gz"), X, y)
    for name in ("breastcancer", "digits", "wine"):
        print(name, file=sys.stderr)


if __name__ == "__main__":
    main()
