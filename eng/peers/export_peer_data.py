"""Writes the FastAPI peer's training transactions (train.generate(rows, seed)) to CSV, so that Vigil trains on
exactly the data the peer's models were trained on.  usage: export_peer_data.py PEER_DIR OUT.csv [ROWS] [SEED]"""
import sys

sys.path.insert(0, sys.argv[1])
import train  # noqa: E402  (the peer's train.py)

rows = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
seed = int(sys.argv[4]) if len(sys.argv) > 4 else 42
train.generate(rows, seed).to_csv(sys.argv[2], index=False)
