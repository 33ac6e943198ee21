"""Ultralytics, fully offline. Everything the trainer forces on ultralytics happens here, once, before
`import ultralytics` (its settings and online probe run at import time).

Each setting stops one ultralytics behaviour (read from ultralytics 8.4.190's source):
- YOLO_OFFLINE=true: the connectivity probe at import (`utils.ONLINE`).
- YOLO_AUTOINSTALL=false: `check_requirements` pip-installing missing packages.
- YOLO_CONFIG_DIR=<ours>: settings.json and the font cache live in a folder we own, not in ~/.config.
- settings `sync: False`: anonymous usage events; every integration (clearml, comet, dvc, mlflow,
  raytune, tensorboard, wandb) off so an installed package never starts logging somewhere.
- `<config>/Ultralytics/Arial.ttf`: `check_font` downloads Arial.ttf (no timeout) for plot labels
  unless the file exists; any TTF works, so a local one is copied there.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

FONT_NAMES = ("Arial.ttf", "Arial.Unicode.ttf")
SYSTEM_FONTS = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
)
INTEGRATIONS = ("clearml", "comet", "dvc", "mlflow", "raytune", "tensorboard", "wandb")


def config_dir() -> Path:
    """Where ultralytics keeps its settings for us: $DICOM_ML_YOLO_CONFIG or ~/.cache/dicom-ml/ultralytics."""
    base = os.environ.get("DICOM_ML_YOLO_CONFIG") or str(Path.home() / ".cache" / "dicom-ml" / "ultralytics")
    return Path(base)


def _local_font() -> Path | None:
    for p in SYSTEM_FONTS:
        if Path(p).is_file():
            return Path(p)
    try:  # matplotlib (an ultralytics dependency) ships DejaVu fonts
        import matplotlib

        p = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
        return p if p.is_file() else None
    except ImportError:
        return None


def prepare_ultralytics() -> Path:
    """Set the environment and settings; must run before the first `import ultralytics`. Idempotent."""
    cfg = config_dir()
    font_dir = cfg / "Ultralytics"
    font_dir.mkdir(parents=True, exist_ok=True)
    os.environ["YOLO_CONFIG_DIR"] = str(cfg)
    os.environ["YOLO_OFFLINE"] = "true"
    os.environ["YOLO_AUTOINSTALL"] = "false"
    os.environ.setdefault("YOLO_VERBOSE", "true")
    font = _local_font()
    for name in FONT_NAMES:
        target = font_dir / name
        if font is not None and not target.exists():
            shutil.copyfile(font, target)
    from ultralytics.utils import SETTINGS

    wanted = {"sync": False, **{k: False for k in INTEGRATIONS if k in SETTINGS}}
    if any(SETTINGS.get(k) != v for k, v in wanted.items()):
        SETTINGS.update(wanted)
    return cfg
