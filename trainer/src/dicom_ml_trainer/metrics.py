"""Classification metrics of the paper (precision, recall, F1, Cohen's kappa, specificity, accuracy) plus
ROC AUC. Class 1 (fracture) is the positive class. Pure numpy; pytest checks them against scikit-learn."""

from __future__ import annotations

import numpy as np


def _div(a: float, b: float) -> float:
    return float(a / b) if b else 0.0


def roc_auc(y_true: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the ROC curve = Mann–Whitney U / (n_pos · n_neg), ties counted half; None if one class."""
    y = np.asarray(y_true).astype(bool)
    s = np.asarray(score, dtype=np.float64)
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return None
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s), dtype=np.float64)
    sorted_s = s[order]
    i = 0
    while i < len(s):  # average ranks over ties
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i : j + 1]] = (i + j) / 2 + 1
        i = j + 1
    u = ranks[y].sum() - n_pos * (n_pos + 1) / 2
    return float(u / (n_pos * n_neg))


def classification_metrics(y_true: np.ndarray, prob_positive: np.ndarray) -> dict[str, float | list | None]:
    """Metrics at the argmax decision (probability of class 1 ≥ 0.5).

    y_true: int array [N] of 0/1; prob_positive: float array [N], softmax probability of class 1.
    Returns accuracy, precision, recall, f1, kappa, specificity, auc and confusion [[TN, FP], [FN, TP]]
    (rows = truth).
    """
    y = np.asarray(y_true).astype(int)
    pred = (np.asarray(prob_positive) >= 0.5).astype(int)
    tp = int(((pred == 1) & (y == 1)).sum())
    tn = int(((pred == 0) & (y == 0)).sum())
    fp = int(((pred == 1) & (y == 0)).sum())
    fn = int(((pred == 0) & (y == 1)).sum())
    n = tp + tn + fp + fn
    precision = _div(tp, tp + fp)
    recall = _div(tp, tp + fn)
    p0 = _div(tp + tn, n)
    pe = _div((tp + fp) * (tp + fn) + (tn + fn) * (tn + fp), n * n)
    return {
        "accuracy": p0,
        "precision": precision,
        "recall": recall,
        "f1": _div(2 * precision * recall, precision + recall),
        "kappa": _div(p0 - pe, 1 - pe) if pe != 1 else 0.0,
        "specificity": _div(tn, tn + fp),
        "auc": roc_auc(y, prob_positive),
        "confusion": [[tn, fp], [fn, tp]],
    }
