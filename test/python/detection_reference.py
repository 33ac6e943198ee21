"""Reference numbers for test/unit/metrics-detection.test.ts, from the real ultralytics and pycocotools.

Usage: python detection_reference.py IN.json OUT.json
IN: {"sets": [{"name", "names": [...], "images": [{"image", "width", "height", "truth": [{"cls", "box"}],
     "predictions": [{"cls", "box", "conf"}]}], "curves": bool}]}   boxes xyxy pixels
OUT: {"sets": [{"name", "ultralytics": {...}, "coco": {...}}]}

ultralytics: DetectionValidator._process_batch (box_iou + BaseValidator.match_predictions) per image, the
stats fed to DetMetrics.update_stats / process (ap_per_class) exactly as DetectionValidator.update_metrics
does. Predictions of an image are passed in descending float32 confidence (stable), the order NMS gives.
pycocotools: COCO() from a dataset dict, loadRes, COCOeval(bbox).evaluate/accumulate/summarize.
Run with NPY_DISABLE_CPU_FEATURES set to the AVX2/AVX-512 groups to get numpy's portable argsort.
"""
import contextlib
import io
import json
import os
import sys
import tempfile

# Keep ultralytics off the network and out of the user's settings (it checks and writes both on import).
os.environ["YOLO_OFFLINE"] = "true"
os.environ["YOLO_AUTOINSTALL"] = "false"
os.environ.setdefault("YOLO_CONFIG_DIR", tempfile.mkdtemp(prefix="yolo-cfg-"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from pycocotools.coco import COCO  # noqa: E402
from pycocotools.cocoeval import COCOeval  # noqa: E402
from ultralytics.models.yolo.detect.val import DetectionValidator  # noqa: E402
from ultralytics.utils.metrics import DetMetrics  # noqa: E402


def ultralytics_ref(names, images, curves):
    v = DetectionValidator.__new__(DetectionValidator)  # only the attributes _process_batch uses
    v.iouv = torch.linspace(0.5, 0.95, 10)
    v.niou = v.iouv.numel()
    metrics = DetMetrics(names=dict(enumerate(names)))
    for img in images:
        preds = sorted(img["predictions"], key=lambda p: -np.float32(p["conf"]))  # stable, like NMS output
        pred = {
            "bboxes": torch.tensor([p["box"] for p in preds], dtype=torch.float32).reshape(-1, 4),
            "conf": torch.tensor([p["conf"] for p in preds], dtype=torch.float32),
            "cls": torch.tensor([p["cls"] for p in preds], dtype=torch.float32),
        }
        batch = {
            "bboxes": torch.tensor([t["box"] for t in img["truth"]], dtype=torch.float32).reshape(-1, 4),
            "cls": torch.tensor([t["cls"] for t in img["truth"]], dtype=torch.float32),
        }
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
    if not images:
        return None
    metrics.process()
    box = metrics.box
    mp, mr, map50, map5095 = box.mean_results()
    out = {
        "precision": float(mp), "recall": float(mr), "mAP50": float(map50), "mAP50_95": float(map5095),
        "perClass": [],
    }
    for i, c in enumerate(box.ap_class_index):
        p, r, ap50, ap = box.class_result(i)
        out["perClass"].append({
            "id": int(c), "images": int(metrics.nt_per_image[c]), "instances": int(metrics.nt_per_class[c]),
            "precision": float(p), "recall": float(r), "mAP50": float(ap50), "mAP50_95": float(ap),
        })
    if curves:
        out["curves"] = {
            "classes": [int(c) for c in box.ap_class_index],
            "confidence": box.px.tolist(), "precision": box.p_curve.tolist(), "recall": box.r_curve.tolist(),
            "f1": box.f1_curve.tolist(), "prPrecision": np.asarray(box.prec_values).tolist(),
        }
    return out


def coco_ref(names, images):
    gt = {"images": [], "annotations": [], "categories": [{"id": i + 1, "name": n} for i, n in enumerate(names)]}
    dets = []
    for i, img in enumerate(images):
        gt["images"].append({"id": i + 1, "width": img["width"], "height": img["height"]})
        for t in img["truth"]:
            x1, y1, x2, y2 = t["box"]
            w, h = x2 - x1, y2 - y1
            gt["annotations"].append({"id": len(gt["annotations"]) + 1, "image_id": i + 1, "category_id": t["cls"] + 1,
                                      "bbox": [x1, y1, w, h], "area": w * h, "iscrowd": 0})
        for p in img["predictions"]:
            x1, y1, x2, y2 = p["box"]
            dets.append({"image_id": i + 1, "category_id": p["cls"] + 1, "bbox": [x1, y1, x2 - x1, y2 - y1], "score": p["conf"]})
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO()
        coco_gt.dataset = gt
        coco_gt.createIndex()
        if dets:
            coco_dt = coco_gt.loadRes(dets)
        else:  # loadRes indexes anns[0]; an empty result set is an empty COCO with the same images
            coco_dt = COCO()
            coco_dt.dataset = {"images": gt["images"], "categories": gt["categories"], "annotations": []}
            coco_dt.createIndex()
        ev = COCOeval(coco_gt, coco_dt, "bbox")
        ev.evaluate()
        ev.accumulate()
        ev.summarize()
    prec = ev.eval["precision"]  # T x R x K x A x M
    per_class = []
    for k in range(len(names)):
        s50 = prec[0, :, k, 0, 2]
        s = prec[:, :, k, 0, 2]
        per_class.append({
            "id": k,
            "mAP50": float(np.mean(s50[s50 > -1])) if (s50 > -1).any() else None,
            "mAP50_95": float(np.mean(s[s > -1])) if (s > -1).any() else None,
        })
    return {"stats": [float(x) for x in ev.stats], "perClass": per_class}


def main():
    with open(sys.argv[1]) as f:
        data = json.load(f)
    out = {"sets": []}
    for s in data["sets"]:
        out["sets"].append({
            "name": s["name"],
            "ultralytics": ultralytics_ref(s["names"], s["images"], s.get("curves", False)),
            "coco": coco_ref(s["names"], s["images"]) if s["images"] else None,
        })
    with open(sys.argv[2], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main()
