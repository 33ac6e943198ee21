"""Tiny synthetic datasets, made on the fly with fixed seeds (no network, no downloads).

- classification: 64×64 grey PNGs; a `fracture` image has a dark gap cut through a bright block, a
  `normal` one an intact block — learnable in a few steps, so tests can assert that training works.
- detection: 96×96 grey PNGs with 1–3 bright rectangles of two classes, YOLO labels, data.yaml.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

TRAINER_SRC = Path(__file__).resolve().parents[1] / "src"


def _block(rng: np.random.Generator, size: int, fracture: bool) -> np.ndarray:
    img = rng.normal(40, 12, (size, size)).clip(0, 255)
    x0, y0 = rng.integers(8, size // 3, 2)
    w, h = rng.integers(size // 3, size // 2, 2)
    img[y0 : y0 + h, x0 : x0 + w] = rng.normal(200, 10, (h, w)).clip(0, 255)
    if fracture:
        cut = y0 + h // 2 + int(rng.integers(-2, 3))
        img[cut - 1 : cut + 2, x0 : x0 + w] = 30
    return img.astype(np.uint8)


def make_classify(root: Path, per_class: int = 12, size: int = 64, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for split, n in (("train", per_class), ("val", max(4, per_class // 2))):
        for label in ("normal", "fracture"):
            d = root / split / label
            d.mkdir(parents=True, exist_ok=True)
            for i in range(n):
                Image.fromarray(_block(rng, size, label == "fracture")).save(d / f"{label}_{i}.png")
    return root


def make_detect(root: Path, n_train: int = 12, n_val: int = 6, size: int = 96, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    for split, n in (("train", n_train), ("val", n_val)):
        (root / "images" / split).mkdir(parents=True, exist_ok=True)
        (root / "labels" / split).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            img = rng.normal(30, 8, (size, size)).clip(0, 255)
            lines = []
            for _ in range(int(rng.integers(1, 4))):
                cls = int(rng.integers(0, 2))
                w, h = (int(v) for v in rng.integers(14, 36, 2))
                x0, y0 = (int(v) for v in rng.integers(2, size - 38, 2))
                img[y0 : y0 + h, x0 : x0 + w] = 150 + 80 * cls
                lines.append(f"{cls} {(x0 + w / 2) / size:.6f} {(y0 + h / 2) / size:.6f} {w / size:.6f} {h / size:.6f}")
            Image.fromarray(img.astype(np.uint8)).save(root / "images" / split / f"{i}.png")
            (root / "labels" / split / f"{i}.txt").write_text("\n".join(lines) + "\n")
    (root / "data.yaml").write_text(
        f"path: {root}\ntrain: images/train\nval: images/val\nnames:\n  0: A\n  1: B\n", encoding="utf-8"
    )
    return root / "data.yaml"


@pytest.fixture(scope="session")
def classify_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_classify(tmp_path_factory.mktemp("classify"))


@pytest.fixture(scope="session")
def detect_yaml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_detect(tmp_path_factory.mktemp("detect"))


@pytest.fixture(scope="session", autouse=True)
def _isolated_ultralytics(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Ultralytics settings/font in a temp folder, never the user's."""
    os.environ["DICOM_ML_YOLO_CONFIG"] = str(tmp_path_factory.mktemp("yolo-config"))


def trainer_env(**extra: str) -> dict[str, str]:
    """Environment for a trainer subprocess: this checkout's package first on the path."""
    env = {**os.environ, "PYTHONPATH": f"{TRAINER_SRC}{os.pathsep}{os.environ.get('PYTHONPATH', '')}", **extra}
    env.pop("DICOM_ML_PARENT_PID", None)
    return env


def trainer_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "dicom_ml_trainer", *args]
