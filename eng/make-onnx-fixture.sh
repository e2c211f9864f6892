#!/usr/bin/env bash
# Builds the ONNX test fixtures with PyTorch (Debian's python3-torch; no pip, no network at test time).
#   eng/make-onnx-fixture.sh [OUT_DIR]   (default tests/Vigil.Detectors.Tests/Onnx/Fixtures)
# Writes, for each of two small models trained here with a fixed seed:
#   <name>.onnx             torch.onnx.export, opset 13, dynamic batch axis
#   <name>.schema.json      the `vigil import onnx --schema` file (features in input-column order, input, output, ...)
#   <name>.expected.csv     id + the score Vigil must reproduce, computed by torch in float32 (the reference)
# and one input file for both, onnx-input.csv: id, the six features in another order than the schema, and a label.
#   scorer      autoencoder-style: standardises inside the model, returns log(1 + mean squared reconstruction error)
#               per row, shape [N] (the log keeps scores small, so float32 resolves them to better than 1e-6)
#   classifier  MLP with softmax, shape [N, 2]; the schema picks column 1 (probability of fraud)
# The outputs are checked in; the tests only read them.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
out="${1:-$root/tests/Vigil.Detectors.Tests/Onnx/Fixtures}"
PY=/usr/bin/python3
if ! "$PY" -c 'import torch' 2>/dev/null; then
  echo "installing python3-torch (apt-get)..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq python3-torch >&2
fi
mkdir -p "$out"
"$PY" - "$out" <<'PY'
import csv, json, math, os, sys
import torch

out = sys.argv[1]
torch.manual_seed(20240607)
torch.set_num_threads(1)
FEATURES = ["amount", "hour", "merchant_risk", "velocity_1h", "distance_km", "account_age_days"]
FILE_ORDER = ["id", "distance_km", "amount", "label", "hour", "account_age_days", "velocity_1h", "merchant_risk"]

def normal_rows(n, g):
    amount = torch.exp(torch.randn(n, generator=g) * 0.8 + 3.5)
    hour = torch.remainder(torch.randn(n, generator=g) * 4 + 14, 24).floor()
    risk = torch.rand(n, generator=g) * 0.3
    velocity = torch.poisson(torch.full((n,), 1.5), generator=g)
    distance = torch.abs(torch.randn(n, generator=g) * 8)
    age = torch.rand(n, generator=g) * 3000 + 30
    return torch.stack([amount, hour, risk, velocity, distance, age], dim=1)

def fraud_rows(n, g):
    x = normal_rows(n, g)
    x[:, 0] = x[:, 0] * 12 + 400
    x[:, 1] = torch.remainder(torch.randint(0, 5, (n,), generator=g).float(), 24)
    x[:, 2] = 0.6 + torch.rand(n, generator=g) * 0.4
    x[:, 3] = x[:, 3] + 8
    x[:, 4] = x[:, 4] * 20 + 300
    x[:, 5] = torch.rand(n, generator=g) * 20
    return x

g = torch.Generator().manual_seed(7)
train_x = normal_rows(4000, g)
train_f = fraud_rows(200, g)
mean = train_x.mean(0)
std = train_x.std(0)

class Scorer(torch.nn.Module):
    """Standardise, encode 6 -> 3, decode, return log1p(mean squared reconstruction error) per row: [N]."""
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())
        self.encoder = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3), torch.nn.Tanh())
        self.decoder = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 6))

    def forward(self, x):
        z = (x - self.mean) / self.std
        r = self.decoder(self.encoder(z))
        return torch.log1p(((r - z) ** 2).mean(dim=1))

class Classifier(torch.nn.Module):
    """Standardise, MLP 6 -> 16 -> 2, softmax: [N, 2] (column 1 = fraud)."""
    def __init__(self):
        super().__init__()
        self.register_buffer("mean", mean.clone())
        self.register_buffer("std", std.clone())
        self.net = torch.nn.Sequential(torch.nn.Linear(6, 16), torch.nn.ReLU(), torch.nn.Linear(16, 2))

    def forward(self, x):
        return torch.softmax(self.net((x - self.mean) / self.std), dim=1)

scorer = Scorer()
opt = torch.optim.Adam(scorer.parameters(), lr=0.01)
for epoch in range(150):
    opt.zero_grad()
    loss = torch.expm1(scorer(train_x)).mean()
    loss.backward()
    opt.step()

classifier = Classifier()
xs = torch.cat([train_x, train_f])
ys = torch.cat([torch.zeros(len(train_x), dtype=torch.long), torch.ones(len(train_f), dtype=torch.long)])
opt = torch.optim.Adam(classifier.parameters(), lr=0.01)
for epoch in range(150):
    opt.zero_grad()
    logits = classifier.net((xs - mean) / std)
    loss = torch.nn.functional.cross_entropy(logits, ys)
    loss.backward()
    opt.step()

# Scoring input: 240 normal + 16 fraud rows, shuffled, columns in another order than the schema.
g = torch.Generator().manual_seed(11)
x = torch.cat([normal_rows(240, g), fraud_rows(16, g)])
labels = [0] * 240 + [1] * 16
perm = torch.randperm(len(x), generator=g)
x = x[perm].float()
labels = [labels[i] for i in perm.tolist()]
# Round the inputs to what the CSV holds, so torch scores exactly the values Vigil reads.
rows = [[float(f"{v:.6g}") for v in row] for row in x.tolist()]
x = torch.tensor(rows, dtype=torch.float32)

with open(os.path.join(out, "onnx-input.csv"), "w", newline="") as f:
    w = csv.writer(f, lineterminator="\n")
    w.writerow(FILE_ORDER)
    for i, row in enumerate(rows):
        values = dict(zip(FEATURES, row))
        values["id"] = f"t{i:04d}"
        values["label"] = labels[i]
        w.writerow([values[c] if isinstance(values[c], str) or c == "label" else repr(values[c]) for c in FILE_ORDER])

def export(model, name, output, schema_extra, pick):
    model.eval()
    path = os.path.join(out, name + ".onnx")
    torch.onnx.export(model, torch.zeros(1, 6), path, input_names=["features"], output_names=[output],
                      dynamic_axes={"features": {0: "batch"}, output: {0: "batch"}}, opset_version=13)
    with torch.no_grad():
        y = model(x)
    scores = pick(y)
    schema = {"features": FEATURES, "input": "features", "output": output}
    schema.update(schema_extra)
    schema["exported_by"] = f"torch {torch.__version__} (eng/make-onnx-fixture.sh)"
    with open(os.path.join(out, name + ".schema.json"), "w") as f:
        json.dump(schema, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, name + ".expected.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "expected"])
        for i, s in enumerate(scores.tolist()):
            w.writerow([f"t{i:04d}", repr(float(s))])
    print(f"{name}: {os.path.getsize(path)} bytes, score range [{float(scores.min()):.4g}, {float(scores.max()):.4g}]")

export(scorer, "scorer", "score", {"threshold": 1.0}, lambda y: y)
export(classifier, "classifier", "probabilities", {"output_column": 1, "higher_is_anomalous": True, "threshold": 0.5}, lambda y: y[:, 1])
PY
