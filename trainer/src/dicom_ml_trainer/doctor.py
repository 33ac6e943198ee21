"""`doctor`: what this interpreter can train with — Python, each package and its version, CUDA devices."""

from __future__ import annotations

import importlib.metadata as md
import platform
import sys
from typing import Any

REQUIRED = (
    "torch",
    "torchvision",
    "ultralytics",
    "onnx",
    "onnxscript",
    "onnxslim",
    "onnxruntime",
    "numpy",
    "pillow",
    "PyYAML",
)


def report() -> dict[str, Any]:
    from . import __version__

    packages: dict[str, str | None] = {}
    for name in REQUIRED:
        try:
            packages[name] = md.version(name)
        except md.PackageNotFoundError:
            packages[name] = None
    cuda: dict[str, Any] = {"available": False, "devices": []}
    if packages["torch"]:
        try:
            import torch

            cuda["available"] = torch.cuda.is_available()
            cuda["version"] = torch.version.cuda
            cuda["devices"] = [
                {
                    "index": i,
                    "name": torch.cuda.get_device_name(i),
                    "memoryGiB": round(torch.cuda.get_device_properties(i).total_memory / 2**30, 1),
                }
                for i in range(torch.cuda.device_count())
            ]
        except Exception as err:  # a broken CUDA install is a finding, not a crash
            cuda["error"] = " ".join(str(err).split())
    missing = [n for n, v in packages.items() if v is None]
    return {
        "python": sys.executable,
        "pythonVersion": platform.python_version(),
        "trainer": __version__,
        "packages": packages,
        "missing": missing,
        "cuda": cuda,
        "ok": not missing,
        "install": None
        if not missing
        else f"{sys.executable} -m pip install <extension>/trainer  (missing: {', '.join(missing)})",
    }
