"""Check a `dicom-ml prepare` output the way its consumers will read it, without installing them.

usage: prepare_check_layout.py OUT_DIR      prints one JSON document; exit 1 with the problems when any

- ultralytics (read from ultralytics/data/utils.py and data/dataset.py): data.yaml is loaded with
  yaml.safe_load; `path` must be absolute (we always write it so); `train`/`val` are relative to it; `names`
  a mapping {0: 'C1', ...}; images are found under those folders and each image's label file is
  img2label_paths: the last `/images/` replaced by `/labels/`, the extension by `.txt`. A label line is
  `class cx cy w h`: class an int < nc, coordinates normalised in [0, 1] (verify_image_label rejects > 1
  and negative values), and the image must open (cv2, 8-bit).
- torchvision ImageFolder: classes are the sorted sub-folder names of each split folder; every class
  folder holds images with an allowed extension. Sorted order gives fracture = 0, normal = 1 (reported).

PyYAML is used when installed; otherwise a strict reader for the small subset data.yaml uses.
"""
import json
import os
import sys

import cv2


def load_yaml(path):
    try:
        import yaml  # noqa: PLC0415

        with open(path) as f:
            return yaml.safe_load(f), "pyyaml"
    except ImportError:
        pass
    out, current = {}, None
    with open(path) as f:
        for raw in f:
            line = raw.split(" #")[0].rstrip() if not raw.lstrip().startswith("#") else ""
            if not line.strip():
                continue
            if line.startswith("  ") and current is not None:
                k, v = line.strip().split(":", 1)
                out[current][int(k)] = v.strip()
                continue
            k, v = line.split(":", 1)
            v = v.strip()
            if v == "":
                out[k] = {}
                current = k
            else:
                out[k] = json.loads(v) if v.startswith('"') else (int(v) if v.isdigit() else v)
                current = None
    return out, "subset-reader"


def img2label(path):
    sa, sb = f"{os.sep}images{os.sep}", f"{os.sep}labels{os.sep}"
    return sb.join(path.rsplit(sa, 1)).rsplit(".", 1)[0] + ".txt"


def main():
    out = sys.argv[1]
    problems = []
    data, reader = load_yaml(os.path.join(out, "detect", "data.yaml"))
    names = data.get("names")
    if names != {i: f"C{i + 1}" for i in range(7)}:
        problems.append(f"names {names!r}")
    if data.get("nc") not in (None, 7):
        problems.append(f"nc {data.get('nc')}")
    root = data.get("path", "")
    if not os.path.isabs(root) or not os.path.isdir(root):
        problems.append(f"path {root!r} is not an absolute folder")
    detect = {}
    for split in ("train", "val"):
        folder = os.path.join(root, data.get(split, ""))
        if not os.path.isdir(folder):
            problems.append(f"{split}: {folder} missing")
            continue
        images = sorted(f for f in os.listdir(folder) if f.endswith(".png"))
        boxes = 0
        for name in images:
            img_path = os.path.join(folder, name)
            img = cv2.imread(img_path, cv2.IMREAD_UNCHANGED)
            if img is None or img.ndim != 2 or img.dtype.name != "uint8":
                problems.append(f"{img_path}: not an 8-bit grey image")
            label = img2label(img_path)
            if not os.path.isfile(label):
                problems.append(f"{img_path}: no label file {label}")
                continue
            with open(label) as f:
                for n, line in enumerate(f, 1):
                    parts = line.split()
                    if len(parts) != 5:
                        problems.append(f"{label}:{n}: {len(parts)} fields")
                        continue
                    cls, *xywh = parts
                    if not cls.isdigit() or int(cls) >= 7:
                        problems.append(f"{label}:{n}: class {cls}")
                    v = [float(x) for x in xywh]
                    if min(v) < 0 or max(v) > 1 or v[2] <= 0 or v[3] <= 0:
                        problems.append(f"{label}:{n}: coordinates {v}")
                    boxes += 1
        detect[split] = {"images": len(images), "boxes": boxes}

    classify = {}
    allowed = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")
    for split in ("train", "val"):
        folder = os.path.join(out, "classify", split)
        classes = sorted(e.name for e in os.scandir(folder) if e.is_dir())
        if classes != ["fracture", "normal"]:
            problems.append(f"classify/{split}: classes {classes}")
        counts = {}
        for c in classes:
            files = [f for f in os.listdir(os.path.join(folder, c)) if f.lower().endswith(allowed)]
            for f in files:
                img = cv2.imread(os.path.join(folder, c, f), cv2.IMREAD_UNCHANGED)
                if img is None or img.ndim != 2:
                    problems.append(f"classify/{split}/{c}/{f}: not a grey image")
            counts[c] = len(files)
        classify[split] = {"classes": classes, "class_to_idx": {c: i for i, c in enumerate(classes)}, "counts": counts}

    print(json.dumps({"yaml_reader": reader, "detect": detect, "classify": classify, "problems": problems[:50]}))
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
