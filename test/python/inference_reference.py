"""References for test/unit/inference.test.ts, one process for every check (spawning Python per case is slow).

usage: inference_reference.py JOB.json OUT.json

JOB keys (each optional):
- predict: {model, images: [png…], imgsz}: ultralytics `YOLO(model).predict` boxes per image (xyxy, cls, conf);
- val: {model, data, imgsz}: ultralytics `YOLO(model).val(...)` metrics (batch 1, conf 0.001, iou 0.7, plots off);
- gradcam: {dir, images: [png…], size}: a paper CNN (seeded, a few optimiser steps so maps are not zero) exported by
  the trainer with in-graph Grad-CAM to DIR/cnn.onnx + card; per image the trainer's eval transform tensor, the
  PyTorch Grad-CAM forward (logits, cam) and pytorch-grad-cam's GradCAM map (min-max normalised);
- resize: {cases: [[w, h, dw, dh, seed]…]}: cv2.resize INTER_LINEAR of seeded random grey images.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("YOLO_OFFLINE", "true")
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo-config-"))

import numpy as np


def predict(job: dict[str, Any]) -> list[dict[str, Any]]:
    from ultralytics import YOLO

    model = YOLO(job["model"], task="detect")
    out = []
    for path in job["images"]:
        r = model.predict(path, imgsz=job["imgsz"], verbose=False)[0]
        out.append({"image": path, "boxes": r.boxes.xyxy.tolist(), "cls": r.boxes.cls.tolist(), "conf": r.boxes.conf.tolist()})
    return out


def val(job: dict[str, Any]) -> dict[str, Any]:
    from ultralytics import YOLO

    model = YOLO(job["model"], task="detect")
    project = tempfile.mkdtemp(prefix="val-")
    with contextlib.redirect_stdout(io.StringIO()):
        m = model.val(data=job["data"], imgsz=job["imgsz"], batch=1, conf=0.001, iou=0.7, plots=False, verbose=False,
                      project=project, name="v", device="cpu", workers=0)
    box = m.box
    return {"precision": float(box.mp), "recall": float(box.mr), "mAP50": float(box.map50), "mAP50_95": float(box.map),
            "perClassAP50": [float(v) for v in box.ap50], "perClassAP": [float(v) for v in box.maps], "classes": [int(c) for c in box.ap_class_index]}


def gradcam(job: dict[str, Any]) -> dict[str, Any]:
    import torch
    from dicom_ml_trainer.card import classifier_card, write_card
    from dicom_ml_trainer.data import transform
    from dicom_ml_trainer.export import export_classifier, gradcam_forward
    from dicom_ml_trainer.models import build
    from PIL import Image
    from pytorch_grad_cam import GradCAM
    from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "trainer"))
    from tests.helpers import (
        warm,  # the trainer tests' warm-up: maps that are not all zero
    )

    size = job["size"]
    torch.manual_seed(0)
    model = build("cnn")
    warm(model, size)
    out_dir = Path(job["dir"])
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx = export_classifier(model, size, out_dir / "cnn.onnx")
    write_card(onnx, classifier_card(onnx_name=onnx.name, architecture="cnn", input_kind="vertebra-crop", imgsz=size,
                                     cam_layer="body", training={}, metrics={}))
    tf = transform(size, train=False)
    xs = torch.stack([tf(Image.open(p).convert("RGB")) for p in job["images"]])
    logits, cam = gradcam_forward(model)(xs)
    with GradCAM(model=model, target_layers=[model.body]) as gc:
        theirs = gc(input_tensor=xs, targets=[ClassifierOutputTarget(1)] * len(xs))
    return {
        "onnx": str(onnx),
        "images": [
            {"tensor": xs[i].numpy().ravel().tolist(), "logits": logits[i].tolist(), "cam": cam[i, 0].numpy().ravel().tolist(),
             "library": theirs[i].ravel().tolist()}
            for i in range(len(xs))
        ],
    }


def resize(job: dict[str, Any]) -> list[dict[str, Any]]:
    import cv2

    out = []
    for w, h, dw, dh, seed in job["cases"]:
        rng = np.random.default_rng(seed)
        img = rng.integers(0, 256, (h, w), dtype=np.uint8)
        out.append({"src": img.ravel().tolist(), "ref": cv2.resize(img, (dw, dh), interpolation=cv2.INTER_LINEAR).ravel().tolist()})
    return out


def main(job_file: str, out_file: str) -> None:
    job = json.loads(Path(job_file).read_text())
    out: dict[str, Any] = {}
    for key, fn in (("resize", resize), ("predict", predict), ("gradcam", gradcam), ("val", val)):
        if key in job:
            out[key] = fn(job[key])
    Path(out_file).write_text(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
