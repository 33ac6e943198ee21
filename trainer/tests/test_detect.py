"""A tiny CPU detection run through ultralytics: offline, events, export with ultralytics' metadata."""

from __future__ import annotations

import ast
import json
import subprocess
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort

from .conftest import trainer_cmd, trainer_env
from .helpers import check_schema, events, of


def test_detect_one_epoch(detect_yaml: Path, tmp_path: Path) -> None:
    run = tmp_path / "det"
    r = subprocess.run(
        trainer_cmd(
            "detect",
            "--data",
            str(detect_yaml),
            "--out",
            str(run),
            "--epochs",
            "1",
            "--imgsz",
            "64",
            "--batch",
            "4",
            "--workers",
            "0",
        ),
        env=trainer_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-3000:]
    evts = events(run)
    check_schema(evts, "detect")
    assert len(of(evts, "epoch")) == 1
    assert of(evts, "start")[0]["dataset"] == {"train": 12, "val": 6, "names": ["A", "B"]}
    epoch = of(evts, "epoch")[0]
    assert set(epoch["losses"]) == {"box", "cls", "dfl"} and epoch["losses"]["box"] > 0
    assert epoch["lr"] is not None
    # ultralytics' own files stay where it puts them
    assert (run / "results.csv").is_file() and (run / "weights" / "best.pt").is_file()

    model = onnx.load(str(run / "model.onnx"))
    meta = {p.key: p.value for p in model.metadata_props}
    assert ast.literal_eval(meta["names"]) == {0: "A", 1: "B"}
    assert ast.literal_eval(meta["imgsz"]) == [64, 64] and meta["task"] == "detect"
    session = ort.InferenceSession(str(run / "model.onnx"), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"images": np.zeros((1, 3, 64, 64), np.float32)})
    assert out.shape[:2] == (1, 4 + 2)

    card = json.loads((run / "model.card.json").read_text())
    assert card["task"] == "detect" and card["architecture"] == "yolov8n" and card["names"] == ["A", "B"]
    assert card["input"]["shape"] == [1, 3, 64, 64] and card["input"]["resize"] == "letterbox"
    assert card["training"]["optimizer"] == "SGD" and card["training"]["lr"] == 0.01
    assert {"mAP50", "mAP50_95", "precision", "recall"} <= set(card["metrics"])


def test_prepared_imgsz_is_read_from_prepare_json(tmp_path: Path) -> None:
    """The card records prepare's --imgsz (OUT/prepare.json beside OUT/detect/), which inference from DICOM needs."""
    from dicom_ml_trainer.card import detector_card, prepared_imgsz

    (tmp_path / "detect").mkdir()
    yaml = tmp_path / "detect" / "data.yaml"
    assert prepared_imgsz(yaml) is None
    (tmp_path / "prepare.json").write_text('{"options": {"imgsz": 640}}')
    assert prepared_imgsz(yaml) == 640
    card = detector_card(onnx_name="m.onnx", architecture="yolov8n", names=["C1"], imgsz=160, training={}, metrics={},
                         prepared_imgsz=prepared_imgsz(yaml))
    assert card["input"]["prepared"] == {"imgsz": 640}
