#!/usr/bin/env python3
"""The Python side of Vigil's FX story: seed-style artifacts, their export to Vigil, and the reference decision flow.

Subcommands (Debian python3-sklearn, python3-pandas, python3-torch, python3-onnx; no pip):
  seed           fit a seed-style model for one client from a deals CSV (`vigil fx generate --out deals.csv`):
                 all_scales.pkl ({client: {"OneHotEncoder", "MinMaxScaler", "grouped_scalers", "tdays_scalers",
                 "cpty_group", "ae_thresholds"}}), year_gap_data.pkl (DataFrame Client, BUnit, Cpty, BuyCurr, SellCurr,
                 DealDate), model.pt (a multi-input PyTorch autoencoder: one input and one sigmoid reconstruction per
                 group) and model.onnx (torch.onnx.export, opset 13, dynamic batch axis).
  export-tables  read all_scales.pkl and year_gap_data.pkl with a restricted unpickler (scikit-learn's OneHotEncoder
                 and MinMaxScaler, pandas DataFrames, numpy arrays and builtins only: anything else is refused) and
                 write tables.json for `vigil fx import --tables tables.json --onnx model.onnx --client C`.
  decide         the reference decision flow (pandas + scikit-learn + torch) over a deals CSV: writes UniqueId,
                 status_code, Anomaly, Check per deal.
  bench          time the reference flow on batches of the same deals (JSON records in, one object per deal out).
  bench-worker   the Python side of `Vigil.Benchmarks fx-inproc`: loads the reference once, reads the batch body (the
                 exact bytes Vigil parses), answers "decisions" with one JSON line of the batch's decisions and "run"
                 with the wall and process CPU milliseconds of one in-process batch (json.loads -> decide -> json.dumps), until "quit".

The decision flow is Vigil's: validate -> rules (missing currency group, unseen pair, no deal of the pair in the
12 months before DealDate; the first that fires decides) -> one-hot + min-max -> autoencoder -> checks (FaceValue
range by (BUnit, Cpty, PrimaryCurr), TDays range by instrument type, reconstruction error per group over its
threshold); the first check that fires names the decision (amount, tenor, pattern).
"""
import argparse
import io
import json
import pickle
import sys
import time

import numpy as np
import pandas as pd

CATS = ["FX_Instrument_Type", "BUnit", "Cpty", "PrimaryCurr", "BuyCurr", "SellCurr"]
NUMS = ["FaceValue", "TDays"]
GROUPS = CATS + ["numeric"]
YEAR_GAP_MONTHS = 12


# ---------------------------------------------------------------------------------------------------------------
# restricted unpickling: the pickles are data; only these globals may be named in them


class RestrictedUnpickler(pickle.Unpickler):
    ALLOWED = {
        ("sklearn.preprocessing._encoders", "OneHotEncoder"),
        ("sklearn.preprocessing._data", "MinMaxScaler"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("numpy", "float64"),
        ("numpy", "int64"),
        ("numpy.core.numeric", "_frombuffer"),
        ("pandas.core.frame", "DataFrame"),
        ("pandas.core.series", "Series"),
        ("pandas.core.internals.managers", "BlockManager"),
        ("pandas.core.internals.managers", "SingleBlockManager"),
        ("pandas._libs.internals", "_unpickle_block"),
        ("pandas.core.internals.blocks", "new_block"),
        ("pandas.core.indexes.base", "_new_Index"),
        ("pandas.core.indexes.base", "Index"),
        ("pandas.core.indexes.range", "RangeIndex"),
        ("pandas.core.indexes.numeric", "Int64Index"),
        ("pandas._libs.tslibs.timestamps", "_unpickle_timestamp"),
        ("pandas.core.arrays.datetimes", "DatetimeArray"),
        ("builtins", "slice"),
        ("builtins", "object"),
        ("builtins", "float"),
        ("builtins", "int"),
        ("builtins", "str"),
        ("collections", "OrderedDict"),
        ("copyreg", "_reconstructor"),
        ("datetime", "datetime"),
        ("datetime", "date"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refused global {module}.{name}: not a standard scikit-learn/pandas/numpy type")


def load_pickle(path):
    with open(path, "rb") as f:
        return RestrictedUnpickler(f).load()


# ---------------------------------------------------------------------------------------------------------------
# the multi-input autoencoder


def build_autoencoder(widths, hidden=(48, 16, 48)):
    import torch
    from torch import nn

    class MultiInputAutoencoder(nn.Module):
        def __init__(self):
            super().__init__()
            layers, d = [], sum(widths)
            for h in hidden:
                layers += [nn.Linear(d, h), nn.ReLU()]
                d = h
            self.body = nn.Sequential(*layers)
            self.heads = nn.ModuleList([nn.Sequential(nn.Linear(d, w), nn.Sigmoid()) for w in widths])

        def forward(self, *inputs):
            z = self.body(torch.cat(inputs, dim=1))
            return tuple(head(z) for head in self.heads)

    return MultiInputAutoencoder()


def group_errors(model, blocks):
    import torch
    with torch.inference_mode():
        xs = [torch.from_numpy(b) for b in blocks]
        recs = model(*xs)
        return np.stack([((r - x) ** 2).mean(dim=1).numpy() for r, x in zip(recs, xs)], axis=1)


def encode(scales, frame):
    """The model inputs per group (float32), as the client's fitted encoders give them."""
    ohe, mms = scales["OneHotEncoder"], scales["MinMaxScaler"]
    onehot = ohe.transform(frame[CATS]).astype(np.float32)
    blocks, at = [], 0
    for cats in ohe.categories_:
        blocks.append(np.ascontiguousarray(onehot[:, at:at + len(cats)]))
        at += len(cats)
    blocks.append(mms.transform(frame[NUMS]).astype(np.float32))
    return blocks


# ---------------------------------------------------------------------------------------------------------------
# seed: fit seed-style artifacts


def derive(df):
    df = df.copy()
    df["FaceValue"] = np.where(df["PrimaryCurr"] == df["BuyCurr"], df["BuyAmount"], -df["SellAmount"]).astype(float)
    deal = pd.to_datetime(df["DealDate"], format="%Y-%m-%d", errors="coerce")
    maturity = pd.to_datetime(df["MaturityDate"], format="%Y-%m-%d", errors="coerce")
    df["_deal"] = deal
    df["TDays"] = (maturity - deal).dt.days.astype(float)
    return df


def seed(args):
    import torch
    from sklearn.preprocessing import MinMaxScaler, OneHotEncoder

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    deals = pd.read_csv(args.deals, dtype={"UniqueId": str}, keep_default_na=False, na_values=[""])
    df = derive(deals[deals["Client"] == args.client])
    ohe = OneHotEncoder(handle_unknown="ignore", sparse_output=False).fit(df[CATS])
    mms = MinMaxScaler().fit(df[NUMS])
    q = args.quantile

    def face_range(g):
        lo, hi = np.log(g.quantile(1 - q)), np.log(g.quantile(q))
        margin = 0.05 * (hi - lo)
        return pd.Series({"lower": float(np.exp(lo - margin)), "upper": float(np.exp(hi + margin)), "count": len(g)})

    grouped = df.groupby(["BUnit", "Cpty", "PrimaryCurr"])["FaceValue"].apply(face_range).unstack().reset_index()
    tdays = df.groupby("FX_Instrument_Type")["TDays"].agg(
        lower=lambda s: float(np.floor(s.quantile(1 - q))), upper=lambda s: float(np.ceil(s.quantile(q))), count="count").reset_index()
    cpty_group = df[["Cpty", "BuyCurr", "SellCurr"]].drop_duplicates().sort_values(["Cpty", "BuyCurr", "SellCurr"]).reset_index(drop=True)
    year_gap = df[["Client", "BUnit", "Cpty", "BuyCurr", "SellCurr", "DealDate"]].drop_duplicates().reset_index(drop=True)

    scales = {"OneHotEncoder": ohe, "MinMaxScaler": mms}
    blocks = encode(scales, df)
    widths = [b.shape[1] for b in blocks]
    model = build_autoencoder(widths)
    opt = torch.optim.Adam(model.parameters(), lr=0.003)
    xs = [torch.from_numpy(b) for b in blocks]
    n = len(df)
    for epoch in range(args.epochs):
        perm = torch.randperm(n)
        for start in range(0, n, 64):
            idx = perm[start:start + 64]
            batch = [x[idx] for x in xs]
            recs = model(*batch)
            loss = sum(((r - x) ** 2).mean() for r, x in zip(recs, batch)) / len(batch)
            opt.zero_grad()
            loss.backward()
            opt.step()
    model.eval()
    errors = group_errors(model, blocks)
    thresholds = {g: float(np.quantile(errors[:, i], q)) for i, g in enumerate(GROUPS)}
    scales.update({"grouped_scalers": grouped, "tdays_scalers": tdays, "cpty_group": cpty_group, "ae_thresholds": thresholds})
    with open(f"{args.out}/all_scales.pkl", "wb") as f:
        pickle.dump({args.client: scales}, f)
    with open(f"{args.out}/year_gap_data.pkl", "wb") as f:
        pickle.dump(year_gap, f)
    torch.save({"widths": widths, "state": model.state_dict()}, f"{args.out}/model.pt")
    names_in = [f"in_{g}" for g in GROUPS]
    names_out = [f"rec_{g}" for g in GROUPS]
    torch.onnx.export(model, tuple(torch.from_numpy(b[:2]) for b in blocks), f"{args.out}/model.onnx", input_names=names_in,
                      output_names=names_out, dynamic_axes={k: {0: "n"} for k in names_in + names_out}, opset_version=13)
    print(json.dumps({"client": args.client, "deals": n, "widths": widths, "thresholds": thresholds}))


# ---------------------------------------------------------------------------------------------------------------
# export-tables: pickles -> tables.json


def export_tables(args):
    all_scales = load_pickle(args.scales)
    year_gap = load_pickle(args.year_gap)
    if not isinstance(all_scales, dict):
        sys.exit(f"{args.scales}: expected a dict of clients, got {type(all_scales).__name__}")
    if not isinstance(year_gap, pd.DataFrame):
        sys.exit(f"{args.year_gap}: expected a DataFrame, got {type(year_gap).__name__}")
    clients = {}
    for client, s in all_scales.items():
        ohe, mms = s["OneHotEncoder"], s["MinMaxScaler"]
        if list(ohe.feature_names_in_) != CATS:
            sys.exit(f"{args.scales}: {client}.OneHotEncoder: columns {list(ohe.feature_names_in_)}, expected {CATS}")
        if list(mms.feature_names_in_) != NUMS or mms.feature_range != (0, 1):
            sys.exit(f"{args.scales}: {client}.MinMaxScaler: expected columns {NUMS} and feature_range (0, 1)")
        pairs = s["cpty_group"]
        groups = []
        pair_rows = []
        for cpty, g in pairs.groupby("Cpty", sort=True):
            groups.append({"cpty": cpty, "currencies": sorted(set(g["BuyCurr"]) | set(g["SellCurr"]))})
            pair_rows.append({"cpty": cpty, "pairs": sorted(f"{b}/{c}" for b, c in zip(g["BuyCurr"], g["SellCurr"]))})
        yg = year_gap[year_gap["Client"] == client] if "Client" in year_gap.columns else year_gap
        gaps = [{"bUnit": k[0], "cpty": k[1], "buyCurr": k[2], "sellCurr": k[3], "dates": sorted(set(str(d)[:10] for d in g["DealDate"]))}
                for k, g in yg.groupby(["BUnit", "Cpty", "BuyCurr", "SellCurr"], sort=True)]
        tables = {
            "version": 1,
            "clients": [client],
            "yearGapMonths": YEAR_GAP_MONTHS,
            "currencyGroups": groups,
            "pairs": pair_rows,
            "yearGap": gaps,
            "faceValue": [{"bUnit": r.BUnit, "cpty": r.Cpty, "primaryCurr": r.PrimaryCurr, "lower": float(r.lower), "upper": float(r.upper), "count": int(r.count)}
                          for r in s["grouped_scalers"].itertuples()],
            "tenor": [{"instrument": r.FX_Instrument_Type, "lower": float(r.lower), "upper": float(r.upper), "count": int(r.count)}
                      for r in s["tdays_scalers"].itertuples()],
            "reconstruction": [{"group": g, "threshold": float(t)} for g, t in s["ae_thresholds"].items()],
        }
        clients[client] = {
            "tables": tables,
            "onehot": {name: [str(c) for c in cats] for name, cats in zip(CATS, ohe.categories_)},
            "minmax": {name: [float(lo), float(hi)] for name, lo, hi in zip(NUMS, mms.data_min_, mms.data_max_)},
            "onnx": [{"group": g, "input": f"in_{g}", "output": f"rec_{g}"} for g in GROUPS],
        }
    with open(args.out, "w") as f:
        json.dump({"format": "vigil-fx-tables", "version": 1, "clients": clients}, f, indent=1)
    print(json.dumps({"clients": sorted(clients), "out": args.out}))


# ---------------------------------------------------------------------------------------------------------------
# the reference decision flow


class Reference:
    def __init__(self, scales_path, year_gap_path, model_path, client):
        import torch
        self.client = client
        self.s = load_pickle(scales_path)[client]
        yg = load_pickle(year_gap_path)
        yg = yg[yg["Client"] == client] if "Client" in yg.columns else yg
        yg = yg.assign(_last=pd.to_datetime(yg["DealDate"], format="%Y-%m-%d")).drop(columns=["DealDate"] + (["Client"] if "Client" in yg.columns else []))
        self.year_gap = yg.sort_values("_last").reset_index(drop=True)
        cg = self.s["cpty_group"]
        self.cptys = set(cg["Cpty"])
        self.pairs = cg[["Cpty", "BuyCurr", "SellCurr"]].drop_duplicates().assign(_pair=True)
        self.grouped = self.s["grouped_scalers"].rename(columns={"lower": "_flo", "upper": "_fhi"})[["BUnit", "Cpty", "PrimaryCurr", "_flo", "_fhi"]]
        self.tdays = self.s["tdays_scalers"].rename(columns={"lower": "_tlo", "upper": "_thi"})[["FX_Instrument_Type", "_tlo", "_thi"]]
        self.thresholds = np.array([self.s["ae_thresholds"][g] for g in GROUPS])
        saved = torch.load(model_path)
        self.model = build_autoencoder(saved["widths"])
        self.model.load_state_dict(saved["state"])
        self.model.eval()

    def decide(self, records):
        """One dict per deal, in order: Client, UniqueId, ContLeg, Anomaly, Reason-check, status_code (or error)."""
        df = derive(pd.DataFrame.from_records(records))
        n = len(df)
        status = np.full(n, 200)
        error = np.full(n, None, dtype=object)
        bad_date = df["_deal"].isna() | df["TDays"].isna()
        status[bad_date.to_numpy()] = 400
        error[bad_date.to_numpy()] = "date"
        wrong_client = (df["Client"] != self.client).to_numpy() & (status == 200)
        status[wrong_client] = 400
        error[wrong_client] = "Client"
        check = np.full(n, None, dtype=object)
        ok = status == 200
        missing = ~df["Cpty"].isin(self.cptys).to_numpy() & ok
        check[missing] = "missing_group"
        has_pair = df[["Cpty", "BuyCurr", "SellCurr"]].merge(self.pairs, how="left", on=["Cpty", "BuyCurr", "SellCurr"])["_pair"].notna().to_numpy()
        unseen = ok & (check == None) & ~has_pair  # noqa: E711
        check[unseen] = "unseen_pair"
        # the last deal of (BUnit, Cpty, BuyCurr, SellCurr) strictly before the deal date
        keyed = df[["BUnit", "Cpty", "BuyCurr", "SellCurr", "_deal"]].assign(_row=np.arange(n))
        valid_dates = keyed[keyed["_deal"].notna()].sort_values("_deal")
        last = pd.merge_asof(valid_dates, self.year_gap, left_on="_deal", right_on="_last", by=["BUnit", "Cpty", "BuyCurr", "SellCurr"],
                             direction="backward", allow_exact_matches=False).set_index("_row")["_last"].reindex(np.arange(n))
        cutoff = df["_deal"] - pd.DateOffset(months=YEAR_GAP_MONTHS)
        gap = (last.isna() | (last < cutoff)).to_numpy()
        year_gap = ok & (check == None) & gap  # noqa: E711
        check[year_gap] = "year_gap"
        pending = np.flatnonzero(ok & (check == None))  # noqa: E711
        anomaly = check != None  # noqa: E711
        if len(pending) > 0:
            part = df.iloc[pending]
            errors = group_errors(self.model, encode(self.s, part))
            ratio = (errors / self.thresholds).max(axis=1)
            ranges = part[["BUnit", "Cpty", "PrimaryCurr", "FX_Instrument_Type"]].merge(self.grouped, how="left", on=["BUnit", "Cpty", "PrimaryCurr"]) \
                .merge(self.tdays, how="left", on="FX_Instrument_Type")
            face = part["FaceValue"].to_numpy()
            tdays = part["TDays"].to_numpy()
            face_fires = ranges["_flo"].isna().to_numpy() | (face < ranges["_flo"].to_numpy()) | (face > ranges["_fhi"].to_numpy())
            tenor_fires = ranges["_tlo"].isna().to_numpy() | (tdays < ranges["_tlo"].to_numpy()) | (tdays > ranges["_thi"].to_numpy())
            pattern_fires = ratio > 1
            check[pending] = np.where(face_fires, "amount", np.where(tenor_fires, "tenor", np.where(pattern_fires, "pattern", None)))
            anomaly[pending] = face_fires | tenor_fires | pattern_fires
        out = []
        for i, r in enumerate(records):
            o = {"Client": r.get("Client"), "UniqueId": r.get("UniqueId"), "ContLeg": r.get("ContLeg")}
            if status[i] == 200:
                o.update({"Anomaly": "Yes" if anomaly[i] else "No", "Check": check[i] or "", "status_code": 200})
            else:
                o.update({"status_code": int(status[i]), "error": error[i]})
            out.append(o)
        return out


def read_records(path):
    df = pd.read_csv(path, dtype={"UniqueId": str}, keep_default_na=False, na_values=[""])
    keep = ["Client", "FX_Instrument_Type", "BUnit", "Cpty", "PrimaryCurr", "BuyCurr", "SellCurr", "BuyAmount", "SellAmount", "SpotRate",
            "ForwardPoints", "DealDate", "MaturityDate", "UniqueId", "ContLeg"]
    return json.loads(df[[c for c in keep if c in df.columns]].to_json(orient="records"))


def decide(args):
    import torch
    torch.set_num_threads(args.threads)
    ref = Reference(args.scales, args.year_gap, args.model, args.client)
    records = [r for r in read_records(args.deals) if r.get("Client") == args.client]
    out = ref.decide(records)
    pd.DataFrame([{"UniqueId": o["UniqueId"], "status_code": o["status_code"], "Anomaly": o.get("Anomaly", ""), "Check": o.get("Check", "")} for o in out]) \
        .to_csv(args.out, index=False)
    print(json.dumps({"deals": len(out), "anomalies": sum(o.get("Anomaly") == "Yes" for o in out), "out": args.out}))


def bench(args):
    import torch
    torch.set_num_threads(args.threads)
    ref = Reference(args.scales, args.year_gap, args.model, args.client)
    records = [r for r in read_records(args.deals) if r.get("Client") == args.client][:args.batch]
    body = json.dumps(records)
    times = []
    for i in range(args.warmup + args.runs):
        t0 = time.perf_counter()
        out = ref.decide(json.loads(body))
        json.dumps(out)
        t = time.perf_counter() - t0
        if i >= args.warmup:
            times.append(t)
    times.sort()
    print(json.dumps({"peer": "pandas+scikit-learn+torch", "batch": len(records), "runs": len(times), "torch_threads": torch.get_num_threads(),
                      "min_ms": times[0] * 1e3, "median_ms": times[len(times) // 2] * 1e3}))


def bench_worker(args):
    """Line protocol on stdin/stdout, so a .NET harness can alternate rounds with Vigil in one run (same load on both)."""
    import torch
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    ref = Reference(args.scales, args.year_gap, args.model, args.client)
    with open(args.body, "rb") as f:
        body = f.read()
    for _ in range(args.warmup):
        json.dumps(ref.decide(json.loads(body)))
    print(json.dumps({"ready": True, "torch_threads": torch.get_num_threads(), "torch": torch.__version__, "pandas": pd.__version__,
                      "numpy": np.__version__}), flush=True)
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == "run":
            t0, c0 = time.perf_counter(), time.process_time()
            out = json.dumps(ref.decide(json.loads(body)))
            t, c = time.perf_counter() - t0, time.process_time() - c0
            print(f"{t * 1e3:.4f} {c * 1e3:.4f} {len(out)}", flush=True)
        elif cmd == "decisions":
            out = ref.decide(json.loads(body))
            print(json.dumps([[o.get("UniqueId"), o["status_code"], o.get("Anomaly", ""), o.get("Check", "")] for o in out]), flush=True)
        elif cmd == "quit":
            break
        else:
            print(json.dumps({"error": f"unknown command {cmd!r}"}), flush=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("seed")
    s.add_argument("--deals", required=True)
    s.add_argument("--client", default="FISAU")
    s.add_argument("--out", required=True)
    s.add_argument("--epochs", type=int, default=8)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--quantile", type=float, default=0.9995)
    s.add_argument("--threads", type=int, default=1)
    e = sub.add_parser("export-tables")
    e.add_argument("--scales", required=True)
    e.add_argument("--year-gap", required=True)
    e.add_argument("--out", required=True)

    def reference(name):
        """A subcommand running the reference flow: the seed-style artifacts of one client."""
        d = sub.add_parser(name)
        d.add_argument("--scales", required=True)
        d.add_argument("--year-gap", required=True)
        d.add_argument("--model", required=True)
        d.add_argument("--client", default="FISAU")
        d.add_argument("--threads", type=int, default=1)
        return d

    d = reference("decide")
    d.add_argument("--deals", required=True)
    d.add_argument("--out", required=True)
    b = reference("bench")
    b.add_argument("--deals", required=True)
    b.add_argument("--batch", type=int, default=1000)
    b.add_argument("--runs", type=int, default=30)
    b.add_argument("--warmup", type=int, default=3)
    w = reference("bench-worker")
    w.add_argument("--body", required=True)
    w.add_argument("--warmup", type=int, default=5)
    args = p.parse_args()
    {"seed": seed, "export-tables": export_tables, "decide": decide, "bench": bench, "bench-worker": bench_worker}[args.cmd](args)


if __name__ == "__main__":
    main()
