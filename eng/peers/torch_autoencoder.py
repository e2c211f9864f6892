#!/usr/bin/env python3
"""PyTorch peer of Vigil's autoencoder: the same network, data handling and optimiser, timed per epoch.

    torch_autoencoder.py DATA.csv --hidden 64,32,5,32,64 --epochs 5 --batch-size 256 --threads 2 [--label label]

Features = every column but the label, min-max scaled then standardised (as Vigil's transform + autoencoder).
Network: Linear layers with tanh between them and a linear output, Glorot/He-uniform init, Adam(lr=1e-3),
plain mean squared reconstruction error, shuffled mini-batches, no validation split. Prints one line per epoch
(`epoch N: S s`) and `mean epoch S s` (gradient passes only, like Vigil's figure).
"""
import argparse
import time

import numpy as np
import pandas as pd
import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("data")
    ap.add_argument("--hidden", default="64,32,5,32,64")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--label", default="label")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    frame = pd.read_csv(a.data)
    x = frame.drop(columns=[a.label], errors="ignore").select_dtypes("number").to_numpy(np.float64)
    lo, hi = x.min(axis=0), x.max(axis=0)
    rng = np.where(hi - lo < 1e-12, 1.0, hi - lo)
    x = (x - lo) / rng
    std = x.std(axis=0)
    x = ((x - x.mean(axis=0)) / np.where(std > 1e-6, std, 1.0)).astype(np.float32)
    data = torch.from_numpy(x)
    n, d = data.shape

    sizes = [d] + [int(s) for s in a.hidden.split(",")] + [d]
    layers = []
    for i in range(len(sizes) - 1):
        lin = torch.nn.Linear(sizes[i], sizes[i + 1])
        torch.nn.init.xavier_uniform_(lin.weight)
        torch.nn.init.zeros_(lin.bias)
        layers.append(lin)
        if i < len(sizes) - 2:
            layers.append(torch.nn.Tanh())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.MSELoss()

    times = []
    for epoch in range(1, a.epochs + 1):
        t0 = time.perf_counter()
        perm = torch.randperm(n)
        total = 0.0
        for start in range(0, n, a.batch_size):
            batch = data[perm[start:start + a.batch_size]]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(model(batch), batch)
            loss.backward()
            opt.step()
            total += loss.item() * batch.shape[0]
        times.append(time.perf_counter() - t0)
        print(f"epoch {epoch}: {times[-1]:.3f} s, loss {total / n:.5f}", flush=True)
    print(f"rows {n}, features {d}, layers {'-'.join(map(str, sizes))}, torch {torch.__version__}, threads {torch.get_num_threads()}")
    print(f"mean epoch {np.mean(times):.4f} s")


if __name__ == "__main__":
    main()
