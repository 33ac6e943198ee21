"""Exports for the onnxruntime-node test (test/unit/models-onnx.test.ts): a paper CNN with in-graph
Grad-CAM (random init, 64 px) and a YOLOv8n detection model built from yolov8n.yaml (random init, 64 px,
exported as `dicom_ml_trainer` exports detectors), plus onnxruntime-python's outputs for a fixed input,
so the Node side can be compared number for number.

usage: export_tiny.py OUT_DIR
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch

from dicom_ml_trainer.export import export_classifier
from dicom_ml_trainer.models import build
from dicom_ml_trainer.offline import prepare_ultralytics


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    cls = export_classifier(build("cnn"), 64, out / "cnn.onnx")
    prepare_ultralytics()
    from ultralytics import YOLO

    det = Path(YOLO("yolov8n.yaml").export(format="onnx", opset=17, simplify=True, imgsz=64))
    det = det.replace(out / "yolov8n.onnx")
    x = np.linspace(-1, 1, 2 * 3 * 64 * 64, dtype=np.float32).reshape(2, 3, 64, 64)
    ref: dict[str, dict[str, list[float] | list[int]]] = {}
    for name, path, feed in (("cnn", cls, {"input": x}), ("yolov8n", det, {"images": x[:1]})):
        s = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        for o, v in zip(s.get_outputs(), s.run(None, feed), strict=True):
            ref[f"{name}.{o.name}"] = {"shape": list(v.shape), "values": v.ravel().astype(float).tolist()}
    (out / "reference.json").write_text(json.dumps(ref))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
