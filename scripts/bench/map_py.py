"""Python peers of map.ts: detection mAP over one data set by pycocotools and by ultralytics' val path.

Usage: map_py.py SET.json
SET.json: {"names": [...], "images": [{"image", "width", "height", "truth": [{"cls", "box"}],
           "predictions": [{"cls", "box", "conf"}]}]}   boxes xyxy pixels (what evaluateDetection takes).
A small line protocol, so that map.ts can interleave runs of ours and of the peers: after loading the set
(and a warm-up on its first 200 images, for lazy imports) it prints {"ready": true, "versions": {...}}; then for
each line "coco" or "ultralytics" on stdin it evaluates the whole set once and prints
{"ms": wall ms, "mAP50", "mAP50_95", "perClass": [[mAP50, mAP50_95] | null per class], ...}.
Everything is timed from the in-memory dicts, as ours is timed from in-memory objects:
- coco: the COCO dataset dict and the result list built from the images, COCO() + createIndex, loadRes,
  COCOeval(bbox) evaluate + accumulate + summarize (its prints suppressed). mAP50 = stats[1],
  mAP50_95 = stats[0] — exactly as test/python/detection_reference.py.
- ultralytics 8.4.190 val path, as DetectionValidator.update_metrics: per image the prediction and truth
  tensors (float32; predictions in descending float32 confidence, as NMS gives them), _process_batch (box_iou +
  BaseValidator.match_predictions), DetMetrics.update_stats; then DetMetrics.process (ap_per_class).
  "tensors_ms" reports the part spent building the per-image tensors from the dicts (in a real `yolo val`
  they come from the model), so the comparison can also be read without it.
Stdout carries these lines only.
"""
import importlib.metadata
import json
import os
import sys
import tempfile
import time

RESULT = os.fdopen(os.dup(1), "w")
os.dup2(2, 1)  # ultralytics and pycocotools print to stdout: keep fd 1 for our JSON only

# Keep ultralytics off the network and out of the user's settings (it checks and writes both on import).
os.environ["YOLO_OFFLINE"] = "true"
os.environ["YOLO_AUTOINSTALL"] = "false"
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo-cfg-"))

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "test", "python"))
import torch
import ultralytics
from detection_reference import coco_ref
from ultralytics.models.yolo.detect.val import DetectionValidator
from ultralytics.utils.metrics import DetMetrics


def coco(names: list[str], images: list[dict]) -> dict:
    """pycocotools COCOeval over the set: the parity tests' reference function (test/python/detection_reference.py)."""
    out = coco_ref(names, images)
    per_class = [[c["mAP50"], c["mAP50_95"]] if c["mAP50_95"] is not None else None for c in out["perClass"]]
    return {"mAP50": out["stats"][1], "mAP50_95": out["stats"][0], "stats": out["stats"], "perClass": per_class}


def ultralytics_val(names: list[str], images: list[dict]) -> dict:
    v = DetectionValidator.__new__(DetectionValidator)  # only the attributes _process_batch uses
    v.iouv = torch.linspace(0.5, 0.95, 10)
    v.niou = v.iouv.numel()
    metrics = DetMetrics(names=dict(enumerate(names)))
    tensors = 0.0
    for img in images:
        t = time.perf_counter()
        preds = sorted(img["predictions"], key=lambda p: -np.float32(p["conf"]))  # stable, like NMS output
        pred = {
            "bboxes": torch.tensor([p["box"] for p in preds], dtype=torch.float32).reshape(-1, 4),
            "conf": torch.tensor([p["conf"] for p in preds], dtype=torch.float32),
            "cls": torch.tensor([p["cls"] for p in preds], dtype=torch.float32),
        }
        batch = {
            "bboxes": torch.tensor([b["box"] for b in img["truth"]], dtype=torch.float32).reshape(-1, 4),
            "cls": torch.tensor([b["cls"] for b in img["truth"]], dtype=torch.float32),
        }
        tensors += time.perf_counter() - t
        cls = batch["cls"].numpy()
        no_pred = pred["cls"].shape[0] == 0
        metrics.update_stats({  # as DetectionValidator.update_metrics
            **v._process_batch(pred, batch),
            "target_cls": cls,
            "target_img": np.unique(cls),
            "conf": np.zeros(0) if no_pred else pred["conf"].numpy(),
            "pred_cls": np.zeros(0) if no_pred else pred["cls"].numpy(),
            "im_name": img["image"],
        })
    metrics.process()
    box = metrics.box
    _, _, map50, map5095 = box.mean_results()
    per_class = [None] * len(names)
    for i, c in enumerate(box.ap_class_index):
        _, _, ap50, ap = box.class_result(i)
        per_class[int(c)] = [float(ap50), float(ap)]
    return {"mAP50": float(map50), "mAP50_95": float(map5095), "perClass": per_class, "tensors_ms": tensors * 1000}


def send(obj: dict) -> None:
    RESULT.write(json.dumps(obj) + "\n")
    RESULT.flush()


def main() -> None:
    with open(sys.argv[1]) as f:
        data = json.load(f)
    names, images = data["names"], data["images"]
    run = {"coco": coco, "ultralytics": ultralytics_val}
    for f in run.values():
        f(names, images[:200])
    send({"ready": True, "versions": {"pycocotools": importlib.metadata.version("pycocotools"), "ultralytics": ultralytics.__version__,
                                      "torch": torch.__version__, "numpy": np.__version__, "torch_threads": torch.get_num_threads()}})
    for line in sys.stdin:
        who = line.strip()
        if who not in run:
            break
        t = time.perf_counter()
        out = run[who](names, images)
        send({"ms": (time.perf_counter() - t) * 1000, **out})


if __name__ == "__main__":
    main()
