"""Model cards: the JSON beside each exported `.onnx` (trainer/README.md "Model card"), which the
extension's inference engine reads to know how to feed the model and what comes out."""

from __future__ import annotations

import contextlib
import importlib.metadata as md
import json
import os
import platform
from pathlib import Path
from typing import Any

from . import __version__
from .events import _clean, now_iso

CARD_FORMAT = "dicom-ml-model-card"
CARD_VERSION = 1
WINDOW = {"center": 500, "width": 2000}  # the paper's bone window; `dicom-ml prepare` default
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
CROP_RULE = {
    "rule": "square, side = scale * max(w, h) + padPx, centred on the vertebra box, in slice pixels; "
    "outside the image is black",
    "scale": 1.25,
    "padPx": 16,
}


def card_path(onnx_path: Path) -> Path:
    """`X.onnx` → `X.card.json`."""
    return onnx_path.with_name(onnx_path.name.removesuffix(".onnx") + ".card.json")


def versions() -> dict[str, str]:
    """Versions of what trained the model."""
    out = {"dicom-ml-trainer": __version__, "python": platform.python_version()}
    for name in ("torch", "torchvision", "ultralytics", "onnx", "onnxruntime"):
        with contextlib.suppress(md.PackageNotFoundError):  # metadata only: importing ultralytics has side effects
            out[name] = md.version(name)
    return out


def _base(task: str, architecture: str, onnx_name: str, names: list[str]) -> dict[str, Any]:
    return {
        "format": CARD_FORMAT,
        "version": CARD_VERSION,
        "task": task,
        "architecture": architecture,
        "onnx": onnx_name,
        "names": names,
    }


def detector_card(
    *,
    onnx_name: str,
    architecture: str,
    names: list[str],
    imgsz: int,
    training: dict[str, Any],
    metrics: dict[str, Any],
    prepared_imgsz: int | None = None,
) -> dict[str, Any]:
    """Card of an ultralytics detection export. `prepared_imgsz`: the longest side of the dataset's PNGs
    (`dicom-ml prepare --imgsz`, from its prepare.json), which inference from DICOM resizes slices to before
    the letterbox, so a model sees slices as it saw the training PNGs."""
    nc = len(names)
    card: dict[str, Any] = {
        **_base("detect", architecture, onnx_name, names),
        "input": {
            "name": "images",
            "shape": [1, 3, imgsz, imgsz],
            "dtype": "float32",
            "layout": "NCHW",
            "kind": "slice",
            "window": WINDOW,
            "resize": "letterbox",
            "letterboxPad": 114,
            "normalization": {"scale": 1 / 255, "mean": [0.0, 0.0, 0.0], "std": [1.0, 1.0, 1.0]},
        },
        "outputs": {
            "output0": f"[1, {4 + nc}, A]: cx, cy, w, h in input pixels, then {nc} sigmoid class scores; "
            "no objectness, no NMS"
        },
        "training": {**training, "versions": versions()},
        "metrics": metrics,
        "created": now_iso(),
    }
    if prepared_imgsz:
        card["input"]["prepared"] = {"imgsz": prepared_imgsz}
    return card


def prepared_imgsz(data_yaml: Path) -> int | None:
    """`imgsz` of the prepare.json one folder above data.yaml (OUT/detect/data.yaml → OUT/prepare.json), if any."""
    path = Path(data_yaml).resolve().parent.parent / "prepare.json"
    try:
        options = json.loads(path.read_text(encoding="utf-8")).get("options", {})
    except (OSError, ValueError):
        return None
    value = options.get("imgsz")
    return value if isinstance(value, int) and value > 0 else None


def classifier_card(
    *,
    onnx_name: str,
    architecture: str,
    input_kind: str,
    imgsz: int,
    cam_layer: str,
    training: dict[str, Any],
    metrics: dict[str, Any],
) -> dict[str, Any]:
    """Card of a fracture classifier export with in-graph Grad-CAM."""
    card = {
        **_base("classify", architecture, onnx_name, ["normal", "fracture"]),
        "positiveClass": 1,
        "input": {
            "name": "input",
            "shape": [None, 3, imgsz, imgsz],
            "dtype": "float32",
            "layout": "NCHW",
            "kind": input_kind,
            "window": WINDOW,
            "resize": "stretch",
            "channels": "grey windowed image repeated in R, G and B",
            "normalization": {"scale": 1 / 255, "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
        },
        "outputs": {
            "logits": "[N, 2]: raw scores of normal, fracture (softmax for probabilities)",
            "cam": f"[N, 1, {imgsz}, {imgsz}]: Grad-CAM of class 1 (fracture) at {cam_layer}, ReLU'd, "
            "not normalised (divide by the max for display)",
        },
        "gradcam": {"output": "cam", "layer": cam_layer, "class": 1, "method": "Selvaraju et al. 2017 (paper eq. 4-5)"},
        "training": {**training, "versions": versions()},
        "metrics": metrics,
        "created": now_iso(),
    }
    if input_kind == "vertebra-crop":
        card["input"]["crop"] = {**CROP_RULE, "size": imgsz}
    return card


def write_card(onnx_path: Path, card: dict[str, Any]) -> Path:
    """Write the card beside the model, atomically; returns its path."""
    path = card_path(onnx_path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(_clean(card), indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)
    return path


def read_card(path: Path) -> dict[str, Any]:
    card = json.loads(Path(path).read_text(encoding="utf-8"))
    if card.get("format") != CARD_FORMAT:
        raise ValueError(f"{path}: not a dicom-ml model card")
    return card
