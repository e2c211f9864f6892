#!/usr/bin/env python3
"""CBPE fixtures for Vigil.Monitoring.Tests (Performance/CbpeFixtureTests).

Writes tests/Vigil.Monitoring.Tests/Fixtures/cbpe_fixtures.json. Two parts:
  * calibration: scikit-learn's IsotonicRegression(out_of_bounds="clip") -- what NannyML's CBPE fits when the scores
    are not calibrated -- fitted on seeded (score, label) rows with many tied scores, and its predictions at scores
    inside, between, on and outside the fitted knots;
  * estimation: NannyML's CBPE for binary classification, written out with numpy: per item the calibrated probability
    p_i is the expected label; at the threshold (predicted positive = score > threshold) the expected confusion matrix
    TP = sum p, FP = sum (1 - p) over predicted positives, FN = sum p, TN = sum (1 - p) over predicted negatives; recall
    TP/(TP+FN), precision TP/(TP+FP); estimated AUC-PR = average precision of the expected PR curve over the distinct
    scores (descending; cumulative expected TP/FP), the step-wise sum of sklearn's average_precision_score. A case whose
    probabilities are the 0/1 labels themselves checks that sum against sklearn's average_precision_score.
Run: /usr/bin/python3 eng/peers/cbpe_fixtures.py  (eng/ensure-python.sh installs numpy/scikit-learn if missing).
"""
import json
import math
import os

import numpy as np
import sklearn
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import average_precision_score


def cbpe(scores, probabilities, threshold):
    scores = np.asarray(scores, dtype=float)
    p = np.asarray(probabilities, dtype=float)
    predicted = scores > threshold
    tp = float(np.sum(p[predicted]))
    fp = float(np.sum(1 - p[predicted]))
    fn = float(np.sum(p[~predicted]))
    tn = float(np.sum(1 - p[~predicted]))
    positives = tp + fn
    recall = tp / positives if positives > 0 else None
    precision = tp / (tp + fp) if predicted.any() else None
    order = np.argsort(-scores, kind="mergesort")
    s, q = scores[order], p[order]
    last_of_group = np.r_[np.where(np.diff(s) != 0)[0], len(s) - 1]
    tps = np.cumsum(q)[last_of_group]
    fps = np.cumsum(1 - q)[last_of_group]
    if positives > 0:
        prec = tps / (tps + fps)
        rec = tps / positives
        ap = float(np.sum((rec - np.r_[0.0, rec[:-1]]) * prec))
    else:
        ap = None
    return {
        "tp": tp, "fp": fp, "fn": fn, "tn": tn,
        "recall": recall, "precision": precision, "auc_pr": ap,
        "alert_rate": float(np.mean(predicted)),
    }


def main():
    rng = np.random.default_rng(20261202)
    out = {"generator": f"eng/peers/cbpe_fixtures.py (numpy {np.__version__}, scikit-learn {sklearn.__version__})",
           "calibration": [], "estimation": []}

    # Calibration: scores with ties (rounded), labels Bernoulli(f(score)) with a non-monotone wiggle so PAV pools.
    for name, n, decimals in [("small_ties", 60, 1), ("medium", 2000, 3), ("continuous", 500, None)]:
        x = rng.beta(0.6, 3.0, n)
        if decimals is not None:
            x = np.round(x, decimals)
        prob = np.clip(x ** 0.7 + 0.08 * np.sin(25 * x), 0, 1)
        y = (rng.random(n) < prob).astype(int)
        iso = IsotonicRegression(out_of_bounds="clip").fit(x, y)
        probe = np.r_[x[:50], np.linspace(x.min() - 0.1, x.max() + 0.1, 57), iso.X_thresholds_[:20]]
        out["calibration"].append({
            "name": name, "scores": x.tolist(), "labels": y.tolist(),
            "probe": probe.tolist(), "expected": iso.predict(probe).tolist(),
            "knots": len(iso.X_thresholds_),
        })

    # Estimation: model scores with ties, their calibrated probabilities, a threshold.
    for name, n, threshold in [("typical", 3000, 0.3), ("ties", 400, 0.5), ("no_alerts", 200, 2.0), ("all_alerts", 150, -1.0)]:
        s = rng.beta(0.5, 4.0, n)
        if name == "ties":
            s = np.round(s, 2)
        labels = (rng.random(n) < s).astype(int)
        iso = IsotonicRegression(out_of_bounds="clip").fit(s[: n // 2], labels[: n // 2])
        p = iso.predict(s)
        out["estimation"].append({"name": name, "scores": s.tolist(), "probabilities": p.tolist(), "threshold": threshold,
                                  "expected": cbpe(s, p, threshold)})

    # Probabilities that are the labels: the expected AP is the realized one, sklearn's average_precision_score.
    s = np.round(rng.random(800), 2)
    labels = (rng.random(800) < s ** 2).astype(int)
    e = cbpe(s, labels, 0.5)
    sk = float(average_precision_score(labels, s))
    assert math.isclose(e["auc_pr"], sk, rel_tol=1e-12), (e["auc_pr"], sk)
    e["sklearn_average_precision"] = sk
    out["estimation"].append({"name": "labels_as_probabilities", "scores": s.tolist(), "probabilities": labels.astype(float).tolist(),
                              "threshold": 0.5, "expected": e})

    path = os.path.join(os.path.dirname(__file__), "..", "..", "tests", "Vigil.Monitoring.Tests", "Fixtures", "cbpe_fixtures.json")
    with open(path, "w") as f:
        json.dump(out, f)
    print(f"wrote {os.path.normpath(path)}")


if __name__ == "__main__":
    main()
