"""The FastAPI peer (../shared/peers/fastapi_peer/app.py) with the same kind of model as the Vigil side of
eng/bench-serve.sh: only its IsolationForest, no RandomForest. Same pydantic validation, same async endpoint
style, same uvicorn settings (run from a copy of the peer folder, so `import app` loads the peer's models).

  POST /predict  <transaction>  ->  {"anomaly_score": s, "is_anomaly": s > 0.5}
"""
from fastapi import FastAPI
import numpy as np

import app as peer  # the peer's module: Transaction model, FEATURES, loaded iforest

api = FastAPI(title="fraud-scoring peer, isolation forest only")


async def predict(tx: peer.Transaction):
    x = np.array([[getattr(tx, f) for f in peer.FEATURES]], dtype=np.float64)
    s = float(-peer.iforest.score_samples(x)[0])
    return {"anomaly_score": s, "is_anomaly": s > 0.5}


api.add_api_route("/predict", predict, methods=["POST"])


@api.get("/health")
async def health():
    return {"status": "ok"}
