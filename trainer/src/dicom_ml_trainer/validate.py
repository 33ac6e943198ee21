"""Validate an exported ONNX model on a dataset split it did not train on (e.g. a prepared folder from
another sample seed), and optionally record the result in the model card's `evaluations`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .card import card_path, read_card
from .data import load_split, resolve
from .errors import DatasetError
from .events import _clean, now_iso
from .metrics import classification_metrics


def validate_classifier(model: Path, card: dict[str, Any], data: Path, split: str) -> dict[str, Any]:
    import onnxruntime as ort

    kind = card["input"]["kind"]
    imgsz = card["input"]["shape"][-1]
    ds = load_split(resolve(data, kind).root, split, imgsz, train=False)
    session = ort.InferenceSession(str(model), providers=["CPUExecutionProvider"])
    probs, labels = [], []
    batch: list[np.ndarray] = []

    def flush() -> None:
        logits = session.run(["logits"], {"input": np.stack(batch)})[0]
        e = np.exp(logits - logits.max(1, keepdims=True))
        probs.extend((e[:, 1] / e.sum(1)).tolist())
        batch.clear()

    for x, y in ds:
        batch.append(x.numpy())
        labels.append(y)
        if len(batch) == 32:
            flush()
    if batch:
        flush()
    metrics = classification_metrics(np.array(labels), np.array(probs))
    return {"images": len(labels), **metrics}


def validate_detector(model: Path, card: dict[str, Any], data: Path, split: str) -> dict[str, Any]:
    from .offline import prepare_ultralytics

    prepare_ultralytics()
    from ultralytics import YOLO

    imgsz = card["input"]["shape"][-1]
    m = YOLO(str(model), task="detect").val(
        data=str(data.resolve()),
        split=split,
        imgsz=imgsz,
        batch=1,
        device="cpu",
        plots=False,
        verbose=False,
        project=str(Path(os.environ.get("TMPDIR", "/tmp")) / "dicom-ml-validate"),
        name="val",
        exist_ok=True,
    )
    box = m.box
    per_class = [
        {
            "id": int(c),
            "name": card["names"][int(c)],
            "precision": float(box.p[i]),
            "recall": float(box.r[i]),
            "mAP50": float(box.ap50[i]),
            "mAP50_95": float(box.ap[i]),
        }
        for i, c in enumerate(m.ap_class_index)
    ]
    return {
        "protocol": "ultralytics",
        "precision": float(box.mp),
        "recall": float(box.mr),
        "mAP50": float(box.map50),
        "mAP50_95": float(box.map),
        "perClass": per_class,
    }


def validate(model: Path, data: Path, split: str, out: Path | None, record: bool) -> dict[str, Any]:
    model = model.resolve()
    if not model.is_file():
        raise DatasetError(f"{model}: model not found")
    cp = card_path(model)
    if not cp.is_file():
        raise DatasetError(f"{cp}: model card not found beside the model")
    card = read_card(cp)
    fn = validate_detector if card["task"] == "detect" else validate_classifier
    result = {
        "model": str(model),
        "data": str(data.resolve()),
        "split": split,
        "time": now_iso(),
        "metrics": fn(model, card, data, split),
    }
    result = _clean(result)
    if out:
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, out)
    if record:
        # One entry per (data, split): a rerun replaces its earlier result instead of piling up copies.
        kept = [e for e in card.get("evaluations", []) if (e.get("data"), e.get("split")) != (result["data"], split)]
        card["evaluations"] = [*kept, {k: result[k] for k in ("data", "split", "time", "metrics")}]
        tmp = cp.with_name(cp.name + ".tmp")
        tmp.write_text(json.dumps(_clean(card), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, cp)
    return result
