"""Vertebra detection: ultralytics YOLO (v8 n/s/m/l/x, v5l, or a local .pt) driven through its public API.

Progress: on one process an `on_fit_epoch_end` callback turns each epoch into an `epoch` event. With
several GPUs ultralytics re-runs training in DDP subprocesses that do not carry our callbacks, so there
the events come from its `results.csv` (rank 0 writes it once per epoch) instead. Both paths read the
same keys (ultralytics' `save_metrics` row) through `epoch_fields`.
"""

from __future__ import annotations

import csv
import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .card import detector_card, prepared_imgsz, write_card
from .errors import DatasetError, TrainerError
from .events import EventWriter
from .runtime import DeviceChoice, device_info, parse_device, use_all_cores

MODEL_YAMLS = ("yolov8n.yaml", "yolov8s.yaml", "yolov8m.yaml", "yolov8l.yaml", "yolov8x.yaml", "yolov5l.yaml")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp"}


@dataclass
class DetectConfig:
    """Resolved `detect` options (README "Options"); the paper's values are the defaults."""

    data: str
    out: str
    model: str = "yolov8n.yaml"
    epochs: int = 100
    imgsz: int = 512
    batch: int = 16
    optimizer: str = "SGD"
    lr0: float = 0.01
    device: str = "auto"
    workers: int = 8
    seed: int = 0
    patience: int = 100
    time: float | None = None
    cache: str = "none"
    amp: str = "auto"
    mosaic: float = 1.0
    close_mosaic: int = 10
    warmup_epochs: float = 3.0
    resume: bool = False


def read_data_yaml(path: Path) -> dict[str, Any]:
    """Load data.yaml and check that its train/val image folders exist and hold images."""
    if not path.is_file():
        raise DatasetError(f"{path}: data.yaml not found (run `dicom-ml prepare` first)")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise DatasetError(f"{path}: not valid YAML ({str(err).splitlines()[0]})") from err
    if not isinstance(data, dict) or "train" not in data or "val" not in data or "names" not in data:
        raise DatasetError(f"{path}: needs keys train, val and names (ultralytics dataset YAML)")
    root = Path(data.get("path") or path.parent)
    if not root.is_absolute():
        root = (path.parent / root).resolve()
    counts = {}
    for split in ("train", "val"):
        folder = root / str(data[split])
        n = sum(1 for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else 0
        if n == 0:
            raise DatasetError(f"{path}: the {split} split ({folder}) has no images")
        counts[split] = n
    names = data["names"]
    data["_names"] = [names[k] for k in sorted(names)] if isinstance(names, dict) else list(names)
    data["_counts"] = counts
    return data


def epoch_fields(row: dict[str, float], epoch: int, epochs: int) -> dict[str, Any]:
    """One ultralytics results row (keys as in results.csv) → the `epoch` event's fields."""

    def get(key: str) -> float | None:
        v = row.get(key)
        return None if v is None else float(v)

    return {
        "epoch": epoch,
        "epochs": epochs,
        "losses": {k: get(f"train/{k}_loss") for k in ("box", "cls", "dfl")},
        "valLosses": {k: get(f"val/{k}_loss") for k in ("box", "cls", "dfl")},
        "metrics": {
            "precision": get("metrics/precision(B)"),
            "recall": get("metrics/recall(B)"),
            "mAP50": get("metrics/mAP50(B)"),
            "mAP50_95": get("metrics/mAP50-95(B)"),
        },
        "lr": get("lr/pg0"),
    }


class EpochReporter:
    """Turns epochs into events; remembers the best epoch (ultralytics' fitness: mAP50-95)."""

    def __init__(self, events: EventWriter, started: float) -> None:
        self.events = events
        self.started = started
        self.last_time = started
        self.best: dict[str, Any] | None = None
        self.final: dict[str, Any] | None = None

    def report(self, row: dict[str, float], epoch: int, epochs: int) -> None:
        now = time.time()
        fields = epoch_fields(row, epoch, epochs)
        fitness = fields["metrics"]["mAP50_95"] or 0.0
        is_best = self.best is None or fitness > (self.best["metrics"]["mAP50_95"] or 0.0)
        if is_best:
            self.best = {"epoch": epoch, "metrics": fields["metrics"]}
        seconds = now - self.last_time
        self.last_time = now
        self.events.epoch(**fields, seconds=seconds, eta=max(0, epochs - epoch) * seconds, best=is_best)


def _callbacks(model: Any, reporter: EpochReporter) -> None:
    state = {"in_epoch": False}

    def on_train_epoch_end(_trainer: Any) -> None:
        state["in_epoch"] = True

    def on_fit_epoch_end(trainer: Any) -> None:
        row = {**trainer.label_loss_items(trainer.tloss), **(trainer.metrics or {}), **trainer.lr}
        if state["in_epoch"]:
            state["in_epoch"] = False
            reporter.report(row, trainer.epoch + 1, trainer.epochs)
        else:  # final_eval: best.pt validated once more after the last epoch
            reporter.final = epoch_fields(row, trainer.epoch, trainer.epochs)["metrics"]

    model.add_callback("on_train_epoch_end", on_train_epoch_end)
    model.add_callback("on_fit_epoch_end", on_fit_epoch_end)


def _watch_results_csv(csv_path: Path, reporter: EpochReporter, epochs: int, stop: threading.Event) -> None:
    """DDP path: report each new results.csv row."""
    seen = 0
    while not stop.wait(2.0):
        if not csv_path.is_file():
            continue
        with open(csv_path, encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        for row in rows[seen:]:
            values = {k.strip(): float(v) for k, v in row.items() if k and v not in (None, "")}
            reporter.report(values, int(values.get("epoch", seen + 1)), epochs)
        seen = len(rows)


def _ultralytics_device(choice: DeviceChoice) -> str:
    return "cpu" if choice.kind == "cpu" else ",".join(str(i) for i in choice.indices)


def train_detect(cfg: DetectConfig) -> dict[str, Any]:
    """Train, export the best weights to ONNX with a card; returns the `end` event."""
    from .offline import prepare_ultralytics

    run = Path(cfg.out).resolve()
    data_yaml = Path(cfg.data).resolve()
    last = run / "weights" / "last.pt"
    if cfg.resume and not last.is_file():
        raise DatasetError(f"{run}: nothing to resume (no weights/last.pt)")
    data = read_data_yaml(data_yaml)
    choice = parse_device(cfg.device)
    prepare_ultralytics()
    use_all_cores()
    # ultralytics sizes its CPU thread pool to cores − 1 (NUM_THREADS); use every core instead.
    import torch
    from ultralytics import YOLO
    from ultralytics.utils import torch_utils

    torch_utils.NUM_THREADS = torch.get_num_threads()

    events = EventWriter(run)
    config = {**cfg.__dict__, "data": str(data_yaml), "out": str(run)}
    run.mkdir(parents=True, exist_ok=True)
    resumed_from = None
    if cfg.resume:
        ckpt = torch.load(last, map_location="cpu", weights_only=False)
        resumed_from = int(ckpt.get("epoch", -1)) + 2  # ultralytics stores the 0-based last finished epoch
        model = YOLO(str(last))
        kwargs: dict[str, Any] = {"resume": True}
    else:
        if not (cfg.model in MODEL_YAMLS or Path(cfg.model).is_file()):
            raise TrainerError(
                "failed", f"--model {cfg.model}: expected one of {', '.join(MODEL_YAMLS)} or a local .pt file"
            )
        (run / "config.json").write_text(_json(config), encoding="utf-8")
        model = YOLO(cfg.model if cfg.model in MODEL_YAMLS else str(Path(cfg.model).resolve()))
        kwargs = {
            "data": str(data_yaml),
            "epochs": cfg.epochs,
            "imgsz": cfg.imgsz,
            "batch": cfg.batch,
            "optimizer": cfg.optimizer,  # 'auto' would ignore lr0
            "lr0": cfg.lr0,
            "device": _ultralytics_device(choice),
            "workers": cfg.workers,
            "seed": cfg.seed,
            "patience": cfg.patience,
            "project": str(run.parent),
            "name": run.name,
            "exist_ok": True,
            "amp": cfg.amp != "off" and choice.kind == "cuda",
            "cache": False if cfg.cache == "none" else cfg.cache,
            "mosaic": cfg.mosaic,
            "close_mosaic": cfg.close_mosaic,
            "warmup_epochs": cfg.warmup_epochs,
            "plots": False,
            "verbose": True,
        }
        if cfg.time:
            kwargs["time"] = cfg.time
    started = time.time()
    events.start(
        task="detect",
        run=str(run),
        config=config,
        device=device_info(choice, len(choice.indices) if choice.multi_gpu else 1),
        dataset={"train": data["_counts"]["train"], "val": data["_counts"]["val"], "names": data["_names"]},
        resumedFrom=resumed_from,
    )
    reporter = EpochReporter(events, started)
    stop = threading.Event()
    watcher = None
    if choice.multi_gpu:
        watcher = threading.Thread(
            target=_watch_results_csv, args=(run / "results.csv", reporter, cfg.epochs, stop), daemon=True
        )
        watcher.start()
    else:
        _callbacks(model, reporter)
    try:
        model.train(**kwargs)
    except torch.cuda.OutOfMemoryError as err:
        from .errors import cuda_oom

        raise cuda_oom(cfg.batch, _ultralytics_device(choice)) from err
    finally:
        stop.set()
        if watcher:
            watcher.join(timeout=5)
    onnx_path, card_path = export_detector(run, data, cfg, reporter, time.time() - started)
    best = reporter.best or {"epoch": None, "metrics": {}}
    if reporter.final:
        best = {**best, "metrics": reporter.final}
    return events.end(best=best, onnx=str(onnx_path), card=str(card_path), seconds=time.time() - started)


def export_detector(
    run: Path, data: dict[str, Any], cfg: DetectConfig, reporter: EpochReporter | None, seconds: float
) -> tuple[Path, Path]:
    """Export weights/best.pt as ultralytics does (its metadata kept) to RUNDIR/model.onnx + card."""
    from ultralytics import YOLO

    best_pt = run / "weights" / "best.pt"
    if not best_pt.is_file():
        raise TrainerError("failed", f"{run}: training ended without weights/best.pt")
    exported = Path(YOLO(str(best_pt)).export(format="onnx", opset=17, simplify=True, imgsz=cfg.imgsz))
    target = run / "model.onnx"
    tmp = target.with_suffix(".onnx.tmp")
    shutil.move(str(exported), tmp)
    tmp.replace(target)
    best = reporter.best if reporter else None
    metrics = dict(reporter.final or (best or {}).get("metrics", {})) if reporter else {}
    card = detector_card(
        onnx_name=target.name,
        architecture=_architecture(cfg.model),
        names=data["_names"],
        imgsz=cfg.imgsz,
        prepared_imgsz=prepared_imgsz(Path(cfg.data)),
        training={
            "data": str(Path(cfg.data).resolve()),
            "samples": data["_counts"],
            "epochs": cfg.epochs,
            "imgsz": cfg.imgsz,
            "batch": cfg.batch,
            "optimizer": cfg.optimizer,
            "lr": cfg.lr0,
            "seed": cfg.seed,
            "device": cfg.device,
            "seconds": seconds,
        },
        metrics={"split": "val", "epoch": (best or {}).get("epoch"), **metrics},
    )
    return target, write_card(target, card)


def _architecture(model: str) -> str:
    return Path(model).stem


def _json(obj: Any) -> str:
    import json

    return json.dumps(obj, indent=2, default=str) + "\n"
