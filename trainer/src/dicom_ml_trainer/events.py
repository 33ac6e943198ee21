"""The `events.jsonl` writer: progress leaves the process as one JSON object per line, flushed.

The extension and the `dicom-ml` CLI tail this file (trainer/README.md, "events.jsonl"); nothing parses
printed text. Only rank 0 of a distributed run writes.
"""

from __future__ import annotations

import json
import math
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

EVENTS_FILE = "events.jsonl"


def _clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf become null (JSON has neither), numpy/torch scalars become floats."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, Path):
        return str(value)
    try:
        f = float(value)
    except (TypeError, ValueError):
        return str(value)
    return f if math.isfinite(f) else None


def now_iso() -> str:
    """Current UTC time, ISO 8601 with milliseconds."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventWriter:
    """Appends events to `<run>/events.jsonl`; a resumed run appends to the same file.

    Disabled (writes nothing) on ranks other than 0, so callers need not check the rank.
    """

    def __init__(self, run_dir: Path, enabled: bool = True) -> None:
        self.path = Path(run_dir) / EVENTS_FILE
        self.enabled = enabled
        if enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        """Write one event line and flush it to disk; returns the record written."""
        record = {"event": event, "time": now_iso(), **_clean(fields)}
        if self.enabled:
            line = json.dumps(record, separators=(",", ":"), allow_nan=False)
            # One write per line with O_APPEND: a reader never sees half of two lines interleaved.
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line + "\n")
                f.flush()
                os.fsync(f.fileno())
        return record

    def start(self, **fields: Any) -> dict[str, Any]:
        return self.emit("start", **fields)

    def epoch(self, **fields: Any) -> dict[str, Any]:
        return self.emit("epoch", **fields)

    def end(self, **fields: Any) -> dict[str, Any]:
        return self.emit("end", status="completed", **fields)

    def error(self, kind: str, message: str) -> dict[str, Any]:
        return self.emit("error", kind=kind, message=" ".join(message.split()))
