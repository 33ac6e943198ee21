"""Test helpers: reading a run folder, warming a classifier up."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch


def events(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "events.jsonl").read_text(encoding="utf-8").splitlines()]


def of(evts: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [e for e in evts if e["event"] == kind]


# The events.jsonl contract (trainer/README.md): required keys per event and their types.
SCHEMA: dict[str, dict[str, type | tuple[type, ...]]] = {
    "start": {"time": str, "task": str, "run": str, "config": dict, "device": dict, "dataset": dict},
    "epoch": {
        "time": str,
        "epoch": int,
        "epochs": int,
        "losses": dict,
        "metrics": dict,
        "seconds": float,
        "eta": (int, float),
        "best": bool,
    },
    "end": {"time": str, "status": str, "best": dict, "onnx": str, "card": str, "seconds": float},
    "error": {"time": str, "kind": str, "message": str},
}
METRICS = {
    "detect": {"precision", "recall", "mAP50", "mAP50_95"},
    "classify": {"accuracy", "precision", "recall", "f1", "kappa", "specificity", "auc"},
}


def check_schema(evts: list[dict[str, Any]], task: str) -> None:
    """Assert every line follows the contract; epochs count up from 1 within one start."""
    assert evts and evts[0]["event"] == "start"
    for e in evts:
        assert e["event"] in SCHEMA, e
        for key, typ in SCHEMA[e["event"]].items():
            assert key in e, f"{e['event']} lacks {key}"
            assert isinstance(e[key], typ), f"{e['event']}.{key} is {type(e[key]).__name__}"
        if e["event"] == "start":
            assert e["task"] == task
            assert {"type", "names", "worldSize"} <= set(e["device"])
            assert e["dataset"]["train"] > 0 and e["dataset"]["val"] > 0
        if e["event"] == "epoch":
            assert set(e["metrics"]) == METRICS[task]
            assert 1 <= e["epoch"] <= e["epochs"]


def warm(model: torch.nn.Module, size: int) -> None:
    """A few optimiser steps on a toy task so activations and gradients are not those of a fresh init
    (whose Grad-CAM is often all zero after the ReLU)."""
    torch.manual_seed(0)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    model.train()
    for _ in range(4):
        x = torch.randn(4, 3, size, size)
        y = torch.tensor([0, 1, 0, 1])
        x[y == 1, :, size // 3 : size // 2, :] += 2.0
        loss = torch.nn.functional.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    model.eval()
