#!/usr/bin/python3
"""Prints the sklearn reference counts used by StratifiedSplitTests as C# [InlineData] lines.

    /usr/bin/python3 make_split_fixtures.py

For class sizes and a train fraction, sklearn train_test_split(train_size=f, stratify=y) gives
n_train = floor(f * n) rows to train, allocated per class by _approximate_mode. A case is kept
only when those per-class counts are the same for random_state 0..19 (no random tie breaking),
since Vigil breaks such ties with its own generator.
"""
import numpy as np
from sklearn.model_selection import train_test_split

CASES = [
    ([90, 10], 0.7), ([990, 10], 0.7), ([50, 50], 0.5), ([7, 3], 0.7), ([7, 3], 0.75),
    ([101, 3], 0.7), ([1000, 17], 0.8), ([5, 5, 5], 0.6), ([13, 29, 2], 0.7), ([2, 2], 0.5),
    ([9997, 3], 0.7), ([60, 40], 0.33), ([123, 45, 6], 0.9), ([4, 6], 0.25), ([300, 7], 0.29),
]


def train_counts(counts, f, seed):
    y = np.concatenate([np.full(c, k) for k, c in enumerate(counts)])
    train, _ = train_test_split(np.arange(len(y)), train_size=f, random_state=seed, stratify=y)
    return [int((y[train] == k).sum()) for k in range(len(counts))]


for counts, f in CASES:
    results = {tuple(train_counts(counts, f, s)) for s in range(20)}
    if len(results) != 1:
        print(f"// skipped {counts} at {f}: sklearn breaks a tie at random ({sorted(results)})")
        continue
    (train,) = results
    cs = ", ".join(map(str, counts))
    ts = ", ".join(map(str, train))
    print(f"    [InlineData(new[] {{ {cs} }}, {f}, new[] {{ {ts} }})]")
