"""Independent check of `dicom-ml prepare`'s vertebra boxes, the way public RSNA 2022 notebooks read masks.

For every detection image in manifest.jsonl: read the study's slices with pydicom, sort by slice_number,
reorient the NIfTI mask with the notebook rule (`mask[:, ::-1, ::-1].transpose(2, 1, 0)` when
ImagePositionPatient z falls as slice_number rises, `mask[:, ::-1].transpose(2, 1, 0)` when it rises),
take the mask extent of each label 1–7 on that slice, and compare with the YOLO label file
(`class cx cy w h`, normalised), scaled back to source pixels. Prints the worst deviation in pixels and
exits 1 if any box differs by more than --tol pixels or a label is missing/extra.

usage: verify_boxes.py RSNA_DIR PREPARED_DIR [--tol 1.0]
"""
import json
import os
import sys

import nibabel as nib
import numpy as np
import pydicom


def main() -> int:
    rsna, prepared = sys.argv[1], sys.argv[2]
    tol = float(sys.argv[sys.argv.index("--tol") + 1]) if "--tol" in sys.argv else 1.0
    lines = [json.loads(l) for l in open(os.path.join(prepared, "manifest.jsonl")) if l.strip()]
    detect = [l for l in lines if l["set"] == "detect"]
    masks, worst, checked, problems = {}, 0.0, 0, []
    for line in detect:
        study = line["study"]
        if study not in masks:
            folder = os.path.join(rsna, "train_images", study)
            numbers = sorted(int(f[:-4]) for f in os.listdir(folder) if f.endswith(".dcm"))
            z = [float(pydicom.dcmread(os.path.join(folder, f"{n}.dcm"), stop_before_pixels=True).ImagePositionPatient[2]) for n in numbers]
            seg = os.path.join(rsna, "segmentations", f"{study}.nii.gz")
            if not os.path.exists(seg):
                seg = seg[:-3]
            mask = np.asanyarray(nib.load(seg).dataobj)
            mask = mask[:, ::-1, ::-1].transpose(2, 1, 0) if z[-1] < z[0] else mask[:, ::-1].transpose(2, 1, 0)
            rows, cols = mask.shape[1], mask.shape[2]
            masks[study] = (mask, {n: i for i, n in enumerate(numbers)}, rows, cols)
        mask, index, rows, cols = masks[study]
        plane = mask[index[line["slice"]]]
        label_file = os.path.join(prepared, line["image"].replace("images", "labels", 1).rsplit(".", 1)[0] + ".txt")
        ours = {}
        for row in open(label_file).read().split("\n"):
            if row.strip():
                c, cx, cy, w, h = row.split()
                ours[int(c)] = (float(cx), float(cy), float(w), float(h))
        expected = {}
        for label in range(1, 8):
            ys, xs = np.nonzero(plane == label)
            if len(xs):
                expected[label - 1] = (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1)  # pixel edges
        if set(ours) != set(expected):
            problems.append(f"{line['image']}: classes {sorted(ours)} vs mask {sorted(expected)}")
            continue
        for c, (x0, y0, x1, y1) in expected.items():
            cx, cy, w, h = ours[c]
            got = ((cx - w / 2) * cols, (cy - h / 2) * rows, (cx + w / 2) * cols, (cy + h / 2) * rows)
            dev = max(abs(a - b) for a, b in zip(got, (x0, y0, x1, y1)))
            worst = max(worst, dev)
            checked += 1
            if dev > tol:
                problems.append(f"{line['image']} class {c}: {tuple(round(g, 1) for g in got)} vs mask {(x0, y0, x1, y1)}")
    print(f"{len(detect)} detection images, {checked} boxes compared with the notebook-oriented masks; worst deviation {worst:.2f} px (tolerance {tol})")
    for p in problems[:10]:
        print("  " + p)
    return 1 if problems or checked == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
