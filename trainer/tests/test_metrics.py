"""Classification metrics against scikit-learn (exact to 1e-12)."""

import numpy as np
import pytest
from sklearn import metrics as sk

from dicom_ml_trainer.metrics import classification_metrics, roc_auc


@pytest.mark.parametrize("seed", range(6))
def test_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 200))
    y = rng.integers(0, 2, n)
    p = np.round(rng.random(n), 2)  # rounding makes ties, which AUC must average
    pred = (p >= 0.5).astype(int)
    m = classification_metrics(y, p)
    assert m["accuracy"] == pytest.approx(sk.accuracy_score(y, pred), abs=1e-12)
    assert m["precision"] == pytest.approx(sk.precision_score(y, pred, zero_division=0), abs=1e-12)
    assert m["recall"] == pytest.approx(sk.recall_score(y, pred, zero_division=0), abs=1e-12)
    assert m["f1"] == pytest.approx(sk.f1_score(y, pred, zero_division=0), abs=1e-12)
    assert m["kappa"] == pytest.approx(sk.cohen_kappa_score(y, pred), abs=1e-12)
    assert m["specificity"] == pytest.approx(sk.recall_score(1 - y, 1 - pred, zero_division=0), abs=1e-12)
    assert m["auc"] == pytest.approx(sk.roc_auc_score(y, p), abs=1e-12)
    assert m["confusion"] == sk.confusion_matrix(y, pred, labels=[0, 1]).tolist()


def test_auc_undefined_with_one_class() -> None:
    assert roc_auc(np.ones(4), np.linspace(0, 1, 4)) is None


def test_all_negative_predictions() -> None:
    m = classification_metrics(np.array([0, 1, 1]), np.array([0.1, 0.2, 0.3]))
    assert m["precision"] == 0.0 and m["recall"] == 0.0 and m["f1"] == 0.0 and m["specificity"] == 1.0
