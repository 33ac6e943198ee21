"""Errors a user can act on: each becomes one `error` event and one stderr line, never a stack trace."""

from __future__ import annotations


class TrainerError(Exception):
    """A failure with a kind from the events contract (`dataset`, `cuda-oom`, `missing-package`, …)."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class DatasetError(TrainerError):
    def __init__(self, message: str) -> None:
        super().__init__("dataset", message)


def missing_package(err: ImportError) -> TrainerError:
    """An ImportError as the line that says what to install."""
    name = (err.name or str(err)).split(".")[0]
    return TrainerError(
        "missing-package",
        f"Python package '{name}' is missing in this interpreter: install the trainer with "
        "`pip install ./trainer` (or run 'DICOM ML: Set Up Training Environment')",
    )


def cuda_oom(batch: int, device: str) -> TrainerError:
    half = max(1, batch // 2)
    return TrainerError(
        "cuda-oom",
        f"CUDA out of memory on {device} at batch size {batch}: rerun with --batch {half} (or a smaller --imgsz)",
    )
