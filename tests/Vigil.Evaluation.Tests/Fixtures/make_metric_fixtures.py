#!/usr/bin/python3
"""Generates metric_fixtures.json: reference values from scikit-learn for Vigil.Evaluation.Metrics.

Run from this folder with Debian's python (scikit-learn + numpy from apt):
    /usr/bin/python3 make_metric_fixtures.py
Every case uses a fixed numpy seed, so the output is reproducible for a given sklearn version.

Per case the JSON holds the scores and labels and:
  auc_roc            sklearn roc_auc_score
  auc_pr             sklearn average_precision_score
  roc                sklearn roc_curve(drop_intermediate=False): fpr, tpr and thresholds[1:]
                     (thresholds[0] is max+1 in sklearn < 1.3 and +inf from 1.3 on; Vigil uses +inf)
  pr                 sklearn precision_recall_curve: precision, recall, thresholds
  recall_at_fpr      per FPR level: np.max(tpr[fpr <= level]) (as /work/shared/peers/iforest_bench.py)
                     and the threshold: the highest ROC threshold attaining that recall
                     (null when the recall is 0: Vigil returns +inf, flag nothing)
  precision_at_k     per k: expected precision of the top k under uniformly random tie breaking,
                     computed per row as P(row in top k) = clip((k - #higher) / #equal, 0, 1);
                     without ties at the boundary this is the plain top-k precision (checked here)
  confusion          per threshold t (flag score >= t): sklearn confusion_matrix, precision_score,
                     recall_score, f1_score (zero_division=0) and fpr = fp / (fp + tn)
"""
import json
import os

import numpy as np
import sklearn
from sklearn.metrics import (average_precision_score, confusion_matrix, f1_score,
                             precision_recall_curve, precision_score, recall_score,
                             roc_auc_score, roc_curve)

FPR_LEVELS = [0.0, 0.01, 0.05, 0.1, 0.3]


def precision_at_k(scores, labels, k):
    higher = np.array([(scores > s).sum() for s in scores], dtype=np.float64)
    equal = np.array([(scores == s).sum() for s in scores], dtype=np.float64)
    p_in = np.clip((k - higher) / equal, 0.0, 1.0)
    expected = float((p_in * labels).sum() / k)
    order = np.argsort(-scores, kind="mergesort")
    boundary_tied = k < len(scores) and scores[order[k - 1]] == scores[order[k]]
    if not boundary_tied:
        plain = float(labels[order[:k]].sum() / k)
        assert abs(plain - expected) < 1e-12, (plain, expected)
    return expected


def recall_at_fpr(fpr, tpr, thresholds, level):
    mask = fpr <= level
    best = float(np.max(tpr[mask]))
    first = int(np.flatnonzero(mask & (tpr == best))[0])
    threshold = None if first == 0 else float(thresholds[first])
    return best, threshold


def confusion(scores, labels, t):
    pred = (scores >= t).astype(int)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(labels, pred, labels=[0, 1]).ravel())
    return {
        "threshold": float(t), "tp": tp, "fp": fp, "tn": tn, "fn": fn,
        "precision": float(precision_score(labels, pred, zero_division=0)),
        "recall": float(recall_score(labels, pred, zero_division=0)),
        "f1": float(f1_score(labels, pred, zero_division=0)),
        "fpr": float(fp / (fp + tn)) if fp + tn > 0 else 0.0,
    }


def case(name, scores, labels):
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64)
    n = len(scores)
    fpr, tpr, thr = roc_curve(labels, scores, drop_intermediate=False)
    prec, rec, pthr = precision_recall_curve(labels, scores)
    out = {
        "name": name, "scores": scores.tolist(), "labels": labels.tolist(),
        "auc_roc": float(roc_auc_score(labels, scores)),
        "auc_pr": float(average_precision_score(labels, scores)),
        "roc": {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds_after_first": thr[1:].tolist()},
        "pr": {"precision": prec.tolist(), "recall": rec.tolist(), "thresholds": pthr.tolist()},
        "recall_at_fpr": [],
        "precision_at_k": [],
        "confusion": [],
    }
    for level in FPR_LEVELS:
        best, t = recall_at_fpr(fpr, tpr, thr, level)
        out["recall_at_fpr"].append({"max_fpr": level, "recall": best, "threshold": t})
    positives = int(labels.sum())
    for k in sorted({1, 2, 5, 10, 100, positives, n}):
        if 1 <= k <= n:
            out["precision_at_k"].append({"k": k, "precision": precision_at_k(scores, labels, k)})
    distinct = np.unique(scores)
    thresholds = {float(distinct[0]), float(distinct[-1]), float(distinct[-1]) + 1.0,
                  float(np.median(scores)), float(distinct[len(distinct) // 3]),
                  float(distinct[0]) - 1.0}
    for t in sorted(thresholds):
        out["confusion"].append(confusion(scores, labels, t))
    return out


def main():
    cases = []

    rng = np.random.RandomState(1)
    labels = (rng.rand(200) < 0.3).astype(int)
    cases.append(case("random_200", rng.randn(200) + labels * 0.8, labels))

    rng = np.random.RandomState(2)
    labels = (rng.rand(500) < 0.4).astype(int)
    cases.append(case("heavy_ties_rounded_1_decimal", np.round(rng.rand(500) * 0.7 + labels * 0.3, 1), labels))

    rng = np.random.RandomState(3)
    labels = (rng.rand(300) < 0.2).astype(int)
    cases.append(case("integer_scores_many_ties", rng.randint(0, 6, 300) + labels * rng.randint(0, 3, 300), labels))

    cases.append(case("all_tied", [0.5] * 12, [0, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 0]))

    cases.append(case("tiny_n2", [0.1, 0.9], [0, 1]))
    cases.append(case("tiny_n2_inverted", [0.1, 0.9], [1, 0]))
    cases.append(case("tiny_n3_tie", [0.3, 0.3, 0.7], [1, 0, 0]))
    cases.append(case("tiny_n4", [0.2, -1.5, 3.0, 0.2], [0, 0, 1, 1]))
    cases.append(case("tiny_n5_ties", [1.0, 2.0, 2.0, 2.0, 3.0], [0, 1, 0, 1, 0]))

    rng = np.random.RandomState(4)
    labels = np.zeros(5000, dtype=int)
    labels[rng.choice(5000, 50, replace=False)] = 1
    cases.append(case("imbalanced_1pct_5000", rng.randn(5000) + labels * 2.0, labels))

    rng = np.random.RandomState(5)
    labels = np.zeros(2000, dtype=int)
    labels[rng.choice(2000, 20, replace=False)] = 1
    cases.append(case("imbalanced_1pct_ties", np.round(rng.rand(2000) + labels * 0.4, 2), labels))

    rng = np.random.RandomState(6)
    labels = (rng.rand(100) < 0.25).astype(int)
    cases.append(case("perfect", rng.rand(100) + labels * 2.0, labels))
    cases.append(case("inverted", -(rng.rand(100) + labels * 2.0), labels))

    rng = np.random.RandomState(7)
    labels = (rng.rand(400) < 0.1).astype(int)
    cases.append(case("negative_and_large_scores", (rng.randn(400) + labels) * 1e6 - 3e6, labels))

    doc = {"generator": "make_metric_fixtures.py", "sklearn": sklearn.__version__,
           "numpy": np.__version__, "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "metric_fixtures.json")
    with open(path, "w") as f:
        json.dump(doc, f, allow_nan=False)
        f.write("\n")
    print(f"wrote {path}: {len(cases)} cases")


if __name__ == "__main__":
    main()
