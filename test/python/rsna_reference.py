"""scikit-learn reference for rsnaScore in src/core/metrics/rsna.ts (test/unit/metrics-rsna.test.ts).

Usage: rsna_reference.py IN.json OUT.json
IN: {"sets": [{"name", "y": [[8 labels]], "p": [[8 probabilities]]}]}, columns C1..C7, patient_overall.
OUT: {"sklearn": version, "results": [{"name", "score", "pooled", "perTarget": [8], "mlebench": float}]}

score    = mean over studies of sklearn log_loss(y_study, p_study, sample_weight=w_study)
           (the row-normalised RSNA 2022 metric: each study's loss is sum(w*l)/sum(w) over its 8 targets)
pooled   = sklearn log_loss over all (study, target) rows with sample_weight = w
perTarget= sklearn log_loss of one column with its weights
mlebench = openai/mle-bench's grade.py formula (numpy, clip 1e-15), to show it is the same aggregation
"""

import json
import sys

import numpy as np
import sklearn
from sklearn.metrics import log_loss

NEG = np.array([1, 1, 1, 1, 1, 1, 1, 7], dtype=np.float64)
POS = np.array([2, 2, 2, 2, 2, 2, 2, 14], dtype=np.float64)


def one(case):
    y = np.asarray(case["y"], dtype=np.float64)
    p = np.asarray(case["p"], dtype=np.float64)
    w = y * POS + (1 - y) * NEG
    per_study = [log_loss(y[i], p[i], sample_weight=w[i], labels=[0, 1]) for i in range(len(y))]
    pooled = log_loss(y.ravel(), p.ravel(), sample_weight=w.ravel(), labels=[0, 1])
    per_target = [log_loss(y[:, k], p[:, k], sample_weight=w[:, k], labels=[0, 1]) for k in range(8)]
    q = np.clip(p, 1e-15, 1 - 1e-15)
    loss = -(y * np.log(q) + (1 - y) * np.log(1 - q))
    mlebench = float(np.mean(np.sum(loss * w, axis=1) / w.sum(axis=1)))
    return {"name": case["name"], "score": float(np.mean(per_study)), "pooled": float(pooled), "perTarget": [float(v) for v in per_target], "mlebench": mlebench}


def main():
    with open(sys.argv[1]) as fh:
        sets = json.load(fh)["sets"]
    results = [one(c) for c in sets]
    with open(sys.argv[2], "w") as fh:
        json.dump({"sklearn": sklearn.__version__, "results": results}, fh, allow_nan=False)


if __name__ == "__main__":
    main()
