"""Process-level concerns: devices, distributed rank, signals and the parent watch."""

from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DeviceChoice:
    """What `--device` resolved to: `kind` cpu/cuda and the CUDA indices (empty on CPU)."""

    kind: str
    indices: tuple[int, ...]

    @property
    def multi_gpu(self) -> bool:
        return self.kind == "cuda" and len(self.indices) > 1


def parse_device(spec: str) -> DeviceChoice:
    """`auto` → every visible GPU's first one, else CPU; `cpu`; `0`; `0,1` (several GPUs)."""
    import torch

    spec = spec.strip().lower()
    if spec in ("cpu", ""):
        return DeviceChoice("cpu", ())
    available = torch.cuda.device_count()
    if spec == "auto":
        return DeviceChoice("cuda", (0,)) if available else DeviceChoice("cpu", ())
    try:
        indices = tuple(int(p) for p in spec.replace("cuda:", "").split(",") if p != "")
    except ValueError as err:
        raise ValueError(f"--device {spec!r}: expected auto, cpu, a GPU index (0) or a list (0,1)") from err
    if not indices:
        raise ValueError(f"--device {spec!r}: no GPU index given")
    missing = [i for i in indices if i >= available]
    if missing:
        raise ValueError(
            f"--device {spec}: CUDA device {missing[0]} not found ({available} visible"
            f"{'' if available else '; torch.cuda.is_available() is False'})"
        )
    return DeviceChoice("cuda", indices)


def device_info(choice: DeviceChoice, world_size: int = 1) -> dict[str, Any]:
    """The `device` field of the start event."""
    import torch

    names = [torch.cuda.get_device_name(i) for i in choice.indices] if choice.kind == "cuda" else ["cpu"]
    return {"type": choice.kind, "names": names, "worldSize": world_size, "threads": torch.get_num_threads()}


def dist_env() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment; (0, 1, 0) when not distributed."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)), int(os.environ.get("LOCAL_RANK", 0))


def use_all_cores() -> None:
    """One torch thread per core (ultralytics and torch default to fewer; ARCHITECTURE measured 22 → 15 s
    per epoch on 2 cores). A distributed run splits the cores between its local processes."""
    import torch

    local = int(os.environ.get("LOCAL_WORLD_SIZE", 1))
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // local))


def install_signal_handlers() -> None:
    """SIGTERM/SIGHUP (task cancelled, terminal closed) raise KeyboardInterrupt like Ctrl-C, so the run
    stops at a safe point, its last checkpoint kept and an `interrupted` event written."""

    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(signal.Signals(signum).name)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, handler)


def watch_parent() -> None:
    """If DICOM_ML_PARENT_PID names our launcher (the CLI) and it dies — even by SIGKILL, which it cannot
    forward — terminate ourselves rather than train on as an orphan."""
    raw = os.environ.get("DICOM_ML_PARENT_PID")
    if not raw or not raw.isdigit():
        return
    parent = int(raw)

    def alive() -> bool:
        try:
            os.kill(parent, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def loop() -> None:
        while alive():
            time.sleep(1.0)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=loop, name="parent-watch", daemon=True).start()
