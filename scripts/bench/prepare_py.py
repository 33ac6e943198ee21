"""The straightforward Python peer of `dicom-ml prepare`'s pixel work, for scripts/bench/prepare.ts.

usage: prepare_py.py MANIFEST.jsonl OUT_DIR [CENTER WIDTH]

For every image line of our manifest.jsonl (so both sides write exactly the same images): read the source
DICOM with pydicom (pylibjpeg / gdcm decode JPEG lossless), apply the modality LUT (slope, intercept), window
(linear, PS3.3 C.11.2.1.2.1, default 500/2000), resize with OpenCV (INTER_AREA when shrinking, else
INTER_LINEAR) to the line's width x height, write an 8-bit grey PNG with cv2.imwrite (its default zlib level
1). A slice needed at two sizes is decoded once, as ours does. Prints one JSON document with the timing of the
conversion loop (imports and listing excluded).
"""
import json
import os
import sys
import time

import cv2
import numpy as np
import pydicom


def main():
    manifest, out = sys.argv[1], sys.argv[2]
    center = float(sys.argv[3]) if len(sys.argv) > 3 else 500.0
    width = float(sys.argv[4]) if len(sys.argv) > 4 else 2000.0
    by_dicom = {}
    with open(manifest) as f:
        for line in f:
            if line.strip():
                item = json.loads(line)
                by_dicom.setdefault(item["dicom"], []).append(item)
    folders = {os.path.dirname(os.path.join(out, i["image"])) for items in by_dicom.values() for i in items}
    for d in folders:
        os.makedirs(d, exist_ok=True)

    t0 = time.perf_counter()
    images = 0
    for path, items in by_dicom.items():
        ds = pydicom.dcmread(path)
        hu = ds.pixel_array.astype(np.float32) * float(getattr(ds, "RescaleSlope", 1)) + float(getattr(ds, "RescaleIntercept", 0))
        gray = np.clip(((hu - (center - 0.5)) / (width - 1) + 0.5) * 255.0, 0, 255)
        gray = np.rint(gray).astype(np.uint8)
        for item in items:
            w, h = item["width"], item["height"]
            img = gray
            if (w, h) != (gray.shape[1], gray.shape[0]):
                shrink = w < gray.shape[1]
                img = cv2.resize(gray, (w, h), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)
            cv2.imwrite(os.path.join(out, item["image"]), img)
            images += 1
    seconds = time.perf_counter() - t0
    print(json.dumps({"images": images, "slices": len(by_dicom), "seconds": seconds, "pydicom": pydicom.__version__, "opencv": cv2.__version__}))


if __name__ == "__main__":
    main()
