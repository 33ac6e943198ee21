"""scikit-learn reference for src/core/metrics/classification.ts (test/unit/metrics-classification.test.ts).

Usage: classification_reference.py IN.json OUT.json
IN: {"sets": [{"name", "truth": [int], "scores": [[float]], "positive": int}]}
OUT: {"sklearn": version, "results": [{...}]}, one result per set, same order. Non-finite numbers are written
as the strings "Infinity", "-Infinity", "NaN" (JSON has no literal for them).
One process for every set: spawning Python per case would cost more than the metrics.
"""

import json
import math
import sys
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import UndefinedMetricWarning
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    precision_recall_curve,
    precision_recall_fscore_support,
    precision_score,
    recall_score,
    roc_auc_score,
    roc_curve,
)


def enc(x):
    """A float, or its name when JSON cannot hold it."""
    x = float(x)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "Infinity" if x > 0 else "-Infinity"
    return x


def enc_list(a):
    return [enc(v) for v in np.asarray(a, dtype=np.float64).ravel()]


def f1_confidence(yb, s):
    """Straightforward numpy twin of F1ConfidenceCurve: t = i/100, positive when score >= t."""
    out = {"confidence": [], "precision": [], "recall": [], "f1": []}
    for i in range(101):
        t = i / 100
        p = s >= t
        tp = int(np.sum(p & yb))
        fp = int(np.sum(p & ~yb))
        fn = int(np.sum(~p & yb))
        out["confidence"].append(t)
        out["precision"].append(tp / (tp + fp) if tp + fp else 0.0)
        out["recall"].append(tp / (tp + fn) if tp + fn else 0.0)
        out["f1"].append(2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0)
    return out


def one(case):
    truth = np.asarray(case["truth"], dtype=np.int64)
    scores = np.asarray(case["scores"], dtype=np.float64)
    pos = int(case["positive"])
    nc = scores.shape[1]
    pred = np.argmax(scores, axis=1)  # first maximum on ties
    yb = truth == pos
    pb = pred == pos
    yi = yb.astype(np.int64)
    pi = pb.astype(np.int64)
    s = scores[:, pos]
    labels = list(range(nc))
    p, r, f, sup = precision_recall_fscore_support(truth, pred, labels=labels, average=None, zero_division=0.0)
    fpr, tpr, rth = roc_curve(yi, s)
    pr_p, pr_r, pr_th = precision_recall_curve(yi, s)
    f1c = f1_confidence(yb, s)
    # f1Confidence's f1 at t must also be sklearn's f1_score of the thresholded prediction; every 10th t only
    # (a sklearn call costs ~1 ms, 101 per set would dominate the test's run time).
    f1c_sklearn = [float(f1_score(yi, (s >= t).astype(np.int64), pos_label=1, zero_division=0.0)) for t in f1c["confidence"][::10]]
    return {
        "name": case["name"],
        "accuracy": enc(accuracy_score(truth, pred)),
        "precision": enc(precision_score(yi, pi, pos_label=1)),
        "recall": enc(recall_score(yi, pi, pos_label=1)),
        "f1": enc(f1_score(yi, pi, pos_label=1)),
        # specificity = TN/(TN+FP) = recall of the negative class
        "specificity": enc(recall_score(yi, pi, pos_label=0)),
        "kappa": enc(cohen_kappa_score(truth, pred)),
        "auc": enc(roc_auc_score(yi, s)),
        "confusion": confusion_matrix(truth, pred, labels=labels).tolist(),
        "perClass": {"precision": enc_list(p), "recall": enc_list(r), "f1": enc_list(f), "support": [int(v) for v in sup]},
        "roc": {"fpr": enc_list(fpr), "tpr": enc_list(tpr), "thresholds": enc_list(rth)},
        "pr": {"precision": enc_list(pr_p), "recall": enc_list(pr_r), "thresholds": enc_list(pr_th)},
        "f1Confidence": f1c,
        "f1ConfidenceSklearn": f1c_sklearn,
    }


def main():
    with open(sys.argv[1]) as fh:
        sets = json.load(fh)["sets"]
    with warnings.catch_warnings():
        # Zero-division and single-class warnings are expected in the edge-case sets; values are compared instead.
        warnings.simplefilter("ignore", UndefinedMetricWarning)
        warnings.simplefilter("ignore", UserWarning)
        results = [one(c) for c in sets]
    with open(sys.argv[2], "w") as fh:
        json.dump({"sklearn": sklearn.__version__, "results": results}, fh, allow_nan=False)


if __name__ == "__main__":
    main()
