#!/usr/bin/env python3
"""Drift statistic fixtures for Vigil.Monitoring.Tests.

Writes tests/Vigil.Monitoring.Tests/Fixtures/drift_fixtures.json: seeded reference/current samples (small and
large, ties, constant columns, binary, categorical with unseen categories, NaN/inf present) and, per statistic,
the score and drift flag that Evidently's definitions give. Evidently is not installed here, so its definitions
(src/evidently/calculations/stattests/*.py) are written out below on top of scipy/numpy/pandas, following its
source line by line. Two deliberate differences, where Evidently raises instead of answering:
  * g_test: Evidently passes raw reference counts to power_divergence, which scipy >= 1.9 rejects unless both
    samples have the same size; the expected counts are scaled to the current size (identical when sizes match).
  * fisher_exact: Evidently requires equal sizes; the 2x2 table does not need it.
And one where Evidently's float arithmetic decides ties: TVD's permutation p-value counts reshuffles whose
distance is >= the observed one, comparing floats summed in set-iteration order, so mathematically equal distances
(common with equal sample sizes) fall either side by an ulp. The fixture's TVD score compares the distances exactly
(integers sum |r_i*n_c - c_i*n_r|) with the same numpy permutations (np.random.seed(0), choice without replacement);
Evidently's float p-value and the number of exact ties are stored beside it ("evidently_float_score", "ties").
Run: python3 eng/peers/drift_fixtures.py  (eng/ensure-python.sh installs numpy/scipy/pandas if missing).
"""
import json
import math
import os
import sys
from collections import Counter

import numpy as np
import pandas as pd
import scipy
from scipy import stats
from scipy.spatial import distance

# --- Evidently's definitions (evidently/calculations/stattests) ------------------------------------------------


def unique_keys(reference, current):
    return list(set(reference.dropna().unique()) | set(current.dropna().unique()))


def get_binned_data(reference, current, feature_type, feel_zeroes=True):
    n_vals = reference.nunique()
    if feature_type == "num" and n_vals > 20:
        bins = np.histogram_bin_edges(pd.concat([reference, current], axis=0).values, bins="sturges")
        reference_percents = np.histogram(reference, bins)[0] / len(reference)
        current_percents = np.histogram(current, bins)[0] / len(current)
    else:
        keys = unique_keys(reference, current)
        ref_d = {**dict.fromkeys(keys, 0), **dict(reference.value_counts())}
        cur_d = {**dict.fromkeys(keys, 0), **dict(current.value_counts())}
        reference_percents = np.array([ref_d[k] / len(reference) for k in keys])
        current_percents = np.array([cur_d[k] / len(current) for k in keys])
    if feel_zeroes:
        for arr in (reference_percents, current_percents):
            m = min(arr[arr != 0])
            np.place(arr, arr == 0, m / 10**6 if m <= 0.0001 else 0.0001)
    return reference_percents, current_percents


def permutation_test(reference, current, observed, func, iterations=100):
    np.random.seed(0)
    hold = []
    for _ in range(iterations):
        combined = reference.tolist() + current.tolist()
        new_ref = np.random.choice(combined, len(reference), replace=False).tolist()
        new_cur = list((Counter(combined) - Counter(new_ref)).elements())
        hold.append(func(pd.Series(new_ref), pd.Series(new_cur)))
    return sum(observed <= abs(np.array(hold))) / len(hold)


def ks(r, c, t):
    p = stats.ks_2samp(r, c)[1]
    return p, p <= t


def wasserstein(r, c, t):
    norm = max(np.std(r), 0.001)
    v = stats.wasserstein_distance(r, c) / norm
    return v, v >= t


def psi(r, c, t, ftype):
    rp, cp = get_binned_data(r, c, ftype)
    v = 0
    for i in range(len(rp)):
        v += (rp[i] - cp[i]) * np.log(rp[i] / cp[i])
    return v, v >= t


def jensenshannon(r, c, t, ftype):
    rp, cp = get_binned_data(r, c, ftype, False)
    v = distance.jensenshannon(rp, cp, 2)
    return v, v >= t


def anderson(r, c, t):
    p = stats.anderson_ksamp(np.array([r.values, c.values], dtype=object) if len(r) != len(c) else np.array([r.values, c.values]))[2]
    return p, p < t


def _cdf_cvm_inf(x):
    x = np.asarray(x)

    def term(x, k):
        u = np.exp(scipy.special.gammaln(k + 0.5) - scipy.special.gammaln(k + 1)) / (np.pi**1.5 * np.sqrt(x))
        y = 4 * k + 1
        q = y**2 / (16 * x)
        b = scipy.special.kv(0.25, q)
        return u * np.sqrt(y) * np.exp(-q) * b

    tot = np.zeros_like(x, dtype="float")
    cond = np.ones_like(x, dtype="bool")
    k = 0
    while np.any(cond):
        z = term(x[cond], k)
        tot[cond] = tot[cond] + z
        cond[cond] = np.abs(z) >= 1e-7
        k += 1
    return tot


def _pval_cvm_exact(s, nx, ny):
    from itertools import combinations
    rangex, rangey = np.arange(nx), np.arange(ny)
    z = np.arange(nx + ny)
    us = []
    for cmb in combinations(z, nx):
        x = np.array(cmb)
        mask = np.ones(nx + ny, bool)
        mask[x] = False
        y = z[mask]
        us.append(nx * np.sum((x - rangex) ** 2) + ny * np.sum((y - rangey) ** 2))
    u, cnt = np.unique(us, return_counts=True)
    return np.sum(cnt[u >= s]) / np.sum(cnt)


def cramer_von_mises(r, c, t):
    xa, ya = np.sort(np.asarray(r)), np.sort(np.asarray(c))
    nx, ny = len(xa), len(ya)
    method = "asymptotic" if max(nx, ny) > 10 else "exact"
    rk = stats.rankdata(np.concatenate([xa, ya]), method="average")
    rx, ry = rk[:nx], rk[nx:]
    u = nx * np.sum((rx - np.arange(1, nx + 1)) ** 2) + ny * np.sum((ry - np.arange(1, ny + 1)) ** 2)
    k, N = nx * ny, nx + ny
    tt = u / (k * N) - (4 * k - 1) / (6 * N)
    if method == "exact":
        p = _pval_cvm_exact(u, nx, ny)
    else:
        et = (1 + 1 / N) / 6
        vt = (N + 1) * (4 * k * N - 3 * (nx**2 + ny**2) - 2 * k)
        vt = vt / (45 * N**2 * 4 * k)
        tn = 1 / 6 + (tt - et) / np.sqrt(45 * vt)
        p = 1.0 if tn < 0.003 else max(0, 1.0 - _cdf_cvm_inf(tn))
    p = float(p)
    return p, p <= t


def hellinger(r, c, t, ftype):
    r, c = r.dropna(), c.dropna()
    keys = list(set(r.unique()) | set(c.unique()))
    if ftype == "cat":
        from collections import defaultdict
        ref = (r.value_counts() / len(r)).to_dict(defaultdict(int))
        cur = (c.value_counts() / len(c)).to_dict(defaultdict(int))
        h = 0.0
        for key in keys:
            h += math.sqrt(ref[key] * cur[key])
    else:
        bins = np.histogram_bin_edges(keys, bins="sturges")
        h1 = np.histogram(r.values, bins=bins, density=True)[0]
        h2 = np.histogram(c.values, bins=bins, density=True)[0]
        w = (max(keys) - min(keys)) / len(h1)
        h = 0.0
        for i in range(len(h1)):
            h += math.sqrt(h1[i] * h2[i]) * w
    h = math.sqrt(1 - np.clip(h, 0, 1))
    return h, h >= t


def ed(r, c, t):
    d = stats.energy_distance(r, c)
    return d, d > t


def t_test(r, c, t):
    p = stats.ttest_ind(r, c)[1]
    return p, p < t


def mannw(r, c, t):
    p = stats.mannwhitneyu(x=r, y=c)[1]
    return p, p < t


def chisquare(r, c, t):
    keys = unique_keys(r, c)
    rd = {**dict.fromkeys(keys, 0), **dict(r.value_counts())}
    cd = {**dict.fromkeys(keys, 0), **dict(c.value_counts())}
    k_norm = c.shape[0] / r.shape[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        p = stats.chisquare([cd[k] for k in keys], [rd[k] * k_norm for k in keys])[1]
    return p, p < t


def z(r, c, t):
    if r.nunique() == 1 and c.nunique() == 1 and r.unique()[0] == c.unique()[0]:
        p = 1
    else:
        keys = sorted(list(set(list(r.unique()) + list(c.unique())) - {np.nan}))
        a = r.apply(lambda x, key=keys[0]: 0 if x == key else 1)
        b = c.apply(lambda x, key=keys[0]: 0 if x == key else 1)
        n1, n2 = len(a), len(b)
        p1, p2 = float(sum(a)) / n1, float(sum(b)) / n2
        P = float(p1 * n1 + p2 * n2) / (n1 + n2)
        zs = (p1 - p2) / np.sqrt(P * (1 - P) * (1.0 / n1 + 1.0 / n2))
        p = 2 * (1 - stats.norm.cdf(np.abs(zs)))
    return p, p < t


def _tvd(r, c):
    keys = unique_keys(r, c)
    rd = {**dict.fromkeys(keys, 0), **dict(r.value_counts())}
    cd = {**dict.fromkeys(keys, 0), **dict(c.value_counts())}
    ref, cur = list(rd.values()), list(cd.values())
    return 0.5 * np.sum(np.abs(ref / sum(ref) - cur / sum(cur)))


def _tvd_scaled(r_counts, c_counts, nr, nc):
    keys = set(r_counts) | set(c_counts)
    return sum(abs(r_counts[k] * nc - c_counts[k] * nr) for k in keys)


def tvd_exact(r, c, t):
    """Evidently's permutation test with the same permutations, distances compared as exact integers."""
    np.random.seed(0)
    nr, nc = len(r), len(c)
    observed = _tvd_scaled(Counter(r.tolist()), Counter(c.tolist()), nr, nc)
    combined = r.tolist() + c.tolist()
    at_least = ties = 0
    for _ in range(1000):
        new_ref = Counter(np.random.choice(combined, nr, replace=False).tolist())
        v = _tvd_scaled(new_ref, Counter(combined) - new_ref, nr, nc)
        at_least += observed <= v
        ties += observed == v
    p = at_least / 1000
    return p, p < t, ties


def tvd(r, c, t):
    p = permutation_test(r, c, _tvd(r, c), _tvd, iterations=1000)
    return p, p < t


def g_test(r, c, t):
    keys = unique_keys(r, c)
    rd = {**dict.fromkeys(keys, 0), **dict(r.value_counts())}
    cd = {**dict.fromkeys(keys, 0), **dict(c.value_counts())}
    scale = 1.0 if len(r) == len(c) else len(c) / len(r)  # see the module docstring
    f_exp = [rd[k] * scale for k in keys]
    f_obs = [cd[k] for k in keys]
    with np.errstate(divide="ignore", invalid="ignore"):
        p = stats.power_divergence(f_obs, f_exp, lambda_="log-likelihood")[1]
    return p, p < t


def fisher_exact(r, c, t):
    cats = sorted(set(r.unique().tolist() + c.unique().tolist()))
    if len(cats) != 2:
        cats.append("placeholder")
    one = cats[1]
    table = np.array([[int((c == one).sum()), int((c != one).sum())], [int((r == one).sum()), int((r != one).sum())]])
    p = stats.fisher_exact(table)[1]
    return p, p < t


NUM = {"ks": (ks, 0.05), "wasserstein": (wasserstein, 0.1), "anderson": (anderson, 0.1),
       "cramer_von_mises": (cramer_von_mises, 0.1), "ed": (ed, 0.1), "t_test": (t_test, 0.05), "mannw": (mannw, 0.05)}
BOTH = {"psi": (psi, 0.1), "jensenshannon": (jensenshannon, 0.1), "hellinger": (hellinger, 0.1)}
CAT = {"chisquare": (chisquare, 0.05), "z": (z, 0.05), "TVD": (tvd, 0.1), "g_test": (g_test, 0.1), "fisher_exact": (fisher_exact, 0.1)}


def default_stattest(r, c, ftype):
    n_values = pd.concat([r, c]).nunique()
    if r.shape[0] <= 1000:
        if ftype == "num" and n_values > 5:
            return "ks"
        return "chisquare" if n_values > 2 else "z"
    if ftype == "num" and n_values > 5:
        return "wasserstein"
    return "jensenshannon"


def run(name, ftype, ref, cur, tests):
    r_all, c_all = pd.Series(ref), pd.Series(cur)
    clean = lambda s: s.replace([np.inf, -np.inf], np.nan).dropna()  # noqa: E731
    r, c = clean(r_all), clean(c_all)
    out = {}
    for tname in tests:
        fn, thr = {**NUM, **BOTH, **CAT}[tname]
        score, drift = fn(r.copy(), c.copy(), thr, ftype) if tname in BOTH else fn(r.copy(), c.copy(), thr)
        out[tname] = {"score": None if not np.isfinite(score) else float(score), "drift": bool(drift), "threshold": thr}
        if tname == "TVD":
            p, d, ties = tvd_exact(r.copy(), c.copy(), thr)
            out[tname].update({"evidently_float_score": out[tname]["score"], "score": p, "drift": bool(d), "ties": ties})
    enc = (lambda v: None if (isinstance(v, float) and not np.isfinite(v)) else v) if ftype == "cat" else \
        (lambda v: "NaN" if np.isnan(v) else ("Infinity" if v == np.inf else ("-Infinity" if v == -np.inf else float(v))))
    return {"name": name, "type": ftype, "reference": [enc(v) for v in ref], "current": [enc(v) for v in cur],
            "missing_reference": int(len(r_all) - len(r)), "missing_current": int(len(c_all) - len(c)),
            "auto": default_stattest(r, c, ftype), "expected": out}


def main():
    rng = np.random.RandomState(20261201)
    num_all = list(NUM) + list(BOTH)
    cases = []
    cases.append(run("normal_shift_small", "num", rng.normal(0, 1, 200), rng.normal(0.3, 1, 150), num_all))
    cases.append(run("equal_sizes", "num", rng.normal(0, 1, 100), rng.normal(0.2, 1.2, 100), num_all))
    cases.append(run("tiny_no_ties", "num", rng.normal(0, 1, 8), rng.normal(1, 1, 6), num_all))
    cases.append(run("tiny_ties", "num", np.round(rng.normal(0, 1, 10), 1), np.round(rng.normal(0.5, 1, 9), 1), num_all))
    cases.append(run("integers_few_values", "num", rng.poisson(6, 500).astype(float), rng.poisson(7, 400).astype(float), num_all))
    ref = np.full(300, 5.0)
    ref[:10] = np.nan
    cur = np.where(rng.uniform(size=250) < 0.8, 5.0, 6.0)
    cases.append(run("constant_reference", "num", ref, cur, ["ks", "wasserstein", "psi", "jensenshannon", "ed", "mannw", "anderson", "cramer_von_mises"]))
    cases.append(run("large_lognormal", "num", rng.lognormal(0, 0.5, 3000), rng.lognormal(0.05, 0.55, 2500), num_all))
    cases.append(run("large_no_drift", "num", rng.normal(10, 2, 4000), rng.normal(10, 2, 3500), num_all))
    r = rng.normal(0, 1, 400)
    r[rng.uniform(size=400) < 0.05] = np.nan
    r[3], r[7] = np.inf, -np.inf
    c = rng.normal(0.1, 1, 300)
    c[rng.uniform(size=300) < 0.1] = np.nan
    cases.append(run("nan_and_inf", "num", r, c, num_all))
    cases.append(run("binary_numeric", "num", (rng.uniform(size=600) < 0.3).astype(float), (rng.uniform(size=500) < 0.4).astype(float),
                     ["psi", "jensenshannon", "ks", "wasserstein", "mannw"]))
    cases.append(run("few_values_numeric", "num", rng.randint(0, 4, 700).astype(float), rng.randint(0, 5, 650).astype(float),
                     ["psi", "jensenshannon", "ks", "wasserstein"]))
    cat_all = list(CAT) + list(BOTH)
    cat_all.remove("fisher_exact")
    letters = np.array(list("abcde"))
    ref = list(rng.choice(letters, 300, p=[0.4, 0.3, 0.15, 0.1, 0.05]))
    cur = list(rng.choice(np.array(list("abcdef")), 280, p=[0.3, 0.3, 0.15, 0.1, 0.1, 0.05]))
    ref[5] = None
    cur[9] = None
    cur[10] = None
    cases.append(run("categorical_unseen", "cat", ref, cur, cat_all))
    cases.append(run("categorical_same", "cat", list(rng.choice(letters, 400)), list(rng.choice(letters, 400)), cat_all))
    yes_no = np.array(["no", "yes"])
    ref = list(rng.choice(yes_no, 250, p=[0.7, 0.3]))
    cur = list(rng.choice(yes_no, 200, p=[0.55, 0.45]))
    ref[0] = None
    cases.append(run("categorical_binary", "cat", ref, cur, list(CAT) + list(BOTH)))
    cases.append(run("categorical_binary_same_size", "cat", list(rng.choice(yes_no, 120, p=[0.5, 0.5])), list(rng.choice(yes_no, 120, p=[0.45, 0.55])),
                     list(CAT) + list(BOTH)))
    many = np.array([f"m{i:02d}" for i in range(30)])
    w = rng.dirichlet(np.ones(30))
    cases.append(run("categorical_large", "cat", list(rng.choice(many, 1500, p=w)), list(rng.choice(many, 1200, p=0.8 * w + 0.2 / 30)), cat_all))
    cases.append(run("categorical_single_value", "cat", ["x"] * 50, ["x"] * 40, ["z", "psi", "jensenshannon", "hellinger", "TVD", "fisher_exact"]))

    out = {"generator": "eng/peers/drift_fixtures.py", "numpy": np.__version__, "scipy": scipy.__version__, "pandas": pd.__version__,
           "cases": cases}
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "Vigil.Monitoring.Tests", "Fixtures", "drift_fixtures.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1, allow_nan=False)
        f.write("\n")
    print(f"wrote {len(cases)} cases to {os.path.normpath(path)}", file=sys.stderr)


if __name__ == "__main__":
    main()
