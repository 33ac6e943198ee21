"""Fracture classifier training: paper CNN / ResNet50 / DenseNet121 on the prepared ImageFolder sets.

One process, or several under torchrun (DDP: nccl on CUDA, gloo on CPU; the pattern of torchvision's
references/classification/train.py: RANK / WORLD_SIZE / LOCAL_RANK from the environment). Rank 0 alone
validates, writes events, checkpoints and the export. `weights/last.pt` is written atomically after every
epoch; `--resume` continues from it (model, optimizer, scaler, schedule, RNG, best score, elapsed time).
The learning rate follows a cosine from `lr` to 0 over the planned epochs — or over the wall budget
(`--budget MINUTES`) when that ends first, so a short CPU run still anneals.
"""

from __future__ import annotations

import csv
import math
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from .card import classifier_card, write_card
from .data import ClassifyData, class_counts, load_split, resolve
from .errors import TrainerError, cuda_oom
from .events import EventWriter
from .export import export_classifier
from .metrics import classification_metrics
from .models import FAMILIES, SplitClassifier, build, load_weights
from .runtime import device_info, dist_env, parse_device, use_all_cores

DEFAULT_IMGSZ = {"slice": 224, "vertebra-crop": 160}


@dataclass
class ClassifyConfig:
    """Resolved `classify` options (README "Options")."""

    data: str
    out: str
    model: str = "cnn"
    weights: str | None = None
    input: str = "auto"
    epochs: int = 30
    imgsz: int | None = None
    batch: int = 32
    optimizer: str = "adamw"
    lr: float = 1e-3
    weight_decay: float = 1e-4
    budget: float | None = None
    device: str = "auto"
    workers: int = 2
    seed: int = 0
    amp: str = "auto"
    resume: bool = False


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _atomic_save(obj: Any, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def evaluate(model: nn.Module, loader: DataLoader, device: torch.device) -> tuple[dict[str, Any], float]:
    """Validation metrics and mean cross-entropy over `loader`."""
    model.eval()
    probs, labels, loss_sum, n = [], [], 0.0, 0
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    with torch.no_grad():
        for x, y in loader:
            x, y = x.to(device), y.to(device)
            logits = model(x).float()
            loss_sum += float(loss_fn(logits, y))
            n += len(y)
            probs.append(torch.softmax(logits, 1)[:, 1].cpu().numpy())
            labels.append(y.cpu().numpy())
    return classification_metrics(np.concatenate(labels), np.concatenate(probs)), loss_sum / max(n, 1)


class Schedule:
    """Cosine learning rate over max(step progress, time progress); done when either reaches 1."""

    def __init__(self, lr: float, total_steps: int, budget_s: float | None) -> None:
        self.lr, self.total_steps, self.budget_s = lr, max(1, total_steps), budget_s

    def progress(self, step: int, elapsed: float) -> float:
        p = step / self.total_steps
        if self.budget_s:
            p = max(p, elapsed / self.budget_s)
        return min(1.0, p)

    def rate(self, step: int, elapsed: float) -> float:
        return self.lr * 0.5 * (1 + math.cos(math.pi * self.progress(step, elapsed)))


def _optimizer(cfg: ClassifyConfig, model: nn.Module) -> torch.optim.Optimizer:
    if cfg.optimizer.lower() == "sgd":
        return torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=0.9, weight_decay=cfg.weight_decay)
    if cfg.optimizer.lower() == "adamw":
        return torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    raise TrainerError("failed", f"--optimizer {cfg.optimizer}: expected adamw or sgd")


def _append_results(path: Path, row: dict[str, Any]) -> None:
    new = not path.is_file()
    with open(path, "a", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(row))
        if new:
            w.writeheader()
        w.writerow(row)


def _metrics_only(m: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in m.items() if k != "confusion"}


def train_classify(cfg: ClassifyConfig) -> dict[str, Any] | None:
    """Train (this process's share of a DDP run); rank 0 returns the `end` event."""
    if cfg.model not in FAMILIES:
        raise TrainerError("failed", f"--model {cfg.model}: expected one of {', '.join(FAMILIES)}")
    rank, world, local_rank = dist_env()
    choice = parse_device(cfg.device)
    if world > 1:
        backend = "nccl" if choice.kind == "cuda" else "gloo"
        dist.init_process_group(backend=backend)
    if choice.kind == "cuda":
        # torchrun gives each process one GPU: LOCAL_RANK indexes the chosen devices.
        index = choice.indices[local_rank % len(choice.indices)] if world > 1 else choice.indices[0]
        torch.cuda.set_device(index)
        device = torch.device("cuda", index)
    else:
        device = torch.device("cpu")
        use_all_cores()
    try:
        return _train(cfg, rank, world, device, choice)
    finally:
        if world > 1 and dist.is_initialized():
            dist.destroy_process_group()


def _train(cfg: ClassifyConfig, rank: int, world: int, device: torch.device, choice: Any) -> dict[str, Any] | None:
    run = Path(cfg.out).resolve()
    events = EventWriter(run, enabled=rank == 0)
    last_path, best_path = run / "weights" / "last.pt", run / "weights" / "best.pt"
    checkpoint = None
    if cfg.resume:
        if not last_path.is_file():
            raise TrainerError("dataset", f"{run}: nothing to resume (no weights/last.pt)")
        checkpoint = torch.load(last_path, map_location="cpu", weights_only=False)
    data: ClassifyData = resolve(Path(cfg.data), cfg.input)
    imgsz = cfg.imgsz or DEFAULT_IMGSZ[data.kind]
    seed_everything(cfg.seed + rank)
    train_ds = load_split(data.root, "train", imgsz, train=True)
    val_ds = load_split(data.root, "val", imgsz, train=False)

    model: SplitClassifier = build(cfg.model)
    if cfg.weights and checkpoint is None:
        load_weights(model, Path(cfg.weights))
    model.to(device)
    optimizer = _optimizer(cfg, model)
    amp = device.type == "cuda" and cfg.amp != "off"
    scaler = torch.amp.GradScaler("cuda", enabled=amp)
    start_epoch, best_f1, best_epoch, best_metrics, elapsed0 = 0, -1.0, None, None, 0.0
    if checkpoint is not None:
        model.load_state_dict(checkpoint["model"])
        optimizer.load_state_dict(checkpoint["optimizer"])
        scaler.load_state_dict(checkpoint["scaler"])
        start_epoch = checkpoint["epoch"] + 1
        best_f1, best_epoch, best_metrics = checkpoint["best_f1"], checkpoint["best_epoch"], checkpoint["best_metrics"]
        elapsed0 = checkpoint["elapsed"]
        torch.set_rng_state(checkpoint["rng"]["torch"])
        np.random.set_state(checkpoint["rng"]["numpy"])
        random.setstate(checkpoint["rng"]["python"])
    ddp_model: nn.Module = model
    if world > 1:
        ddp_model = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None
        )

    sampler = DistributedSampler(train_ds, num_replicas=world, rank=rank, seed=cfg.seed) if world > 1 else None
    generator = torch.Generator().manual_seed(cfg.seed)
    train_loader = DataLoader(
        train_ds,
        batch_size=cfg.batch,
        shuffle=sampler is None,
        sampler=sampler,
        num_workers=cfg.workers,
        pin_memory=device.type == "cuda",
        drop_last=len(train_ds) > cfg.batch * world,
        generator=generator,
        persistent_workers=cfg.workers > 0,
    )
    val_loader = DataLoader(val_ds, batch_size=cfg.batch * 2, shuffle=False, num_workers=cfg.workers)
    steps_per_epoch = len(train_loader)
    schedule = Schedule(cfg.lr, steps_per_epoch * cfg.epochs, cfg.budget * 60 if cfg.budget else None)
    config = {**asdict(cfg), "data": str(Path(cfg.data).resolve()), "out": str(run), "imgsz": imgsz, "input": data.kind}
    if rank == 0:
        run.mkdir(parents=True, exist_ok=True)
        if checkpoint is None:
            (run / "config.json").write_text(__import__("json").dumps(config, indent=2) + "\n", encoding="utf-8")
        events.start(
            task="classify",
            run=str(run),
            config=config,
            device=device_info(choice, world),
            dataset={
                "train": len(train_ds),
                "val": len(val_ds),
                "names": ["normal", "fracture"],
                "trainClasses": class_counts(train_ds),
                "valClasses": class_counts(val_ds),
                "input": data.kind,
            },
            resumedFrom=start_epoch + 1 if checkpoint is not None else None,
        )
    loss_fn = nn.CrossEntropyLoss()
    started = time.time() - elapsed0
    epoch = start_epoch
    epochs = cfg.epochs
    while epoch < epochs:
        t0 = time.time()
        if sampler is not None:
            sampler.set_epoch(epoch)
        ddp_model.train()
        loss_sum, seen = 0.0, 0
        for i, (x, y) in enumerate(train_loader):
            step = epoch * steps_per_epoch + i
            for group in optimizer.param_groups:
                group["lr"] = schedule.rate(step, time.time() - started)
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            try:
                with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=amp):
                    loss = loss_fn(ddp_model(x), y)
                optimizer.zero_grad(set_to_none=True)
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            except torch.cuda.OutOfMemoryError as err:
                raise cuda_oom(cfg.batch, str(device)) from err
            loss_sum += loss.item() * len(y)
            seen += len(y)
        elapsed = time.time() - started
        progress = schedule.progress((epoch + 1) * steps_per_epoch, elapsed)
        if progress >= 1.0 and epoch + 1 < epochs:
            epochs = epoch + 1  # the wall budget is spent: this was the last epoch
        if world > 1:  # every rank must agree on when to stop (clocks differ slightly)
            agreed = torch.tensor([epochs], device=device if device.type == "cuda" else "cpu")
            dist.broadcast(agreed, 0)
            epochs = int(agreed.item())
        if rank == 0:
            metrics, val_loss = evaluate(model, val_loader, device)
            is_best = metrics["f1"] > best_f1
            if is_best:
                best_f1, best_epoch, best_metrics = metrics["f1"], epoch + 1, _metrics_only(metrics)
                _atomic_save(
                    {
                        "model": model.state_dict(),
                        "family": cfg.model,
                        "imgsz": imgsz,
                        "input": data.kind,
                        "epoch": epoch + 1,
                        "metrics": best_metrics,
                    },
                    best_path,
                )
            _atomic_save(
                {
                    "model": model.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scaler": scaler.state_dict(),
                    "epoch": epoch,
                    "best_f1": best_f1,
                    "best_epoch": best_epoch,
                    "best_metrics": best_metrics,
                    "elapsed": time.time() - started,
                    "config": config,
                    "rng": {
                        "torch": torch.get_rng_state(),
                        "numpy": np.random.get_state(),
                        "python": random.getstate(),
                    },
                },
                last_path,
            )
            seconds = time.time() - t0
            train_loss = loss_sum / max(seen, 1)
            _append_results(
                run / "results.csv",
                {
                    "epoch": epoch + 1,
                    "time": round(time.time() - started, 3),
                    "train/loss": train_loss,
                    "val/loss": val_loss,
                    **{f"metrics/{k}": v for k, v in _metrics_only(metrics).items()},
                    "lr": optimizer.param_groups[0]["lr"],
                },
            )
            remaining = epochs - epoch - 1
            eta = remaining * seconds
            if schedule.budget_s:
                eta = min(eta, max(0.0, schedule.budget_s - (time.time() - started)))
            events.epoch(
                epoch=epoch + 1,
                epochs=epochs,
                losses={"train": train_loss, "val": val_loss},
                metrics=_metrics_only(metrics),
                confusion=metrics["confusion"],
                lr=optimizer.param_groups[0]["lr"],
                seconds=seconds,
                eta=eta,
                best=is_best,
            )
        if world > 1:
            dist.barrier()
        epoch += 1
    if rank != 0:
        return None
    onnx_path, card_path = export_best(run, time.time() - started)
    return events.end(
        best={"epoch": best_epoch, "metrics": best_metrics},
        onnx=str(onnx_path),
        card=str(card_path),
        seconds=time.time() - started,
    )


def export_best(run: Path, seconds: float | None = None) -> tuple[Path, Path]:
    """Export weights/best.pt of a classify run to RUNDIR/model.onnx and its card."""
    import json

    best = torch.load(run / "weights" / "best.pt", map_location="cpu", weights_only=False)
    config = json.loads((run / "config.json").read_text(encoding="utf-8"))
    model = build(best["family"])
    model.load_state_dict(best["model"])
    target = export_classifier(model, best["imgsz"], run / "model.onnx")
    data = resolve(Path(config["data"]), best["input"])
    counts = {s: sum(1 for p in (data.root / s).rglob("*.png")) for s in ("train", "val")}
    card = classifier_card(
        onnx_name=target.name,
        architecture=best["family"],
        input_kind=best["input"],
        imgsz=best["imgsz"],
        cam_layer=model.cam_layer,
        training={
            "data": config["data"],
            "samples": counts,
            "epochs": config["epochs"],
            "imgsz": best["imgsz"],
            "batch": config["batch"],
            "optimizer": config["optimizer"],
            "lr": config["lr"],
            "budgetMinutes": config.get("budget"),
            "seed": config["seed"],
            "device": config["device"],
            "seconds": seconds,
        },
        metrics={"split": "val", "epoch": best["epoch"], **best["metrics"]},
    )
    return target, write_card(target, card)
