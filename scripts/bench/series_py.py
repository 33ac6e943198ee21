"""pydicom's peer of series.ts: decode a whole series the straightforward way, one slice after another
(dcmread from disk, pixel_array with pydicom's default plugin, apply_modality_lut to HU).

Usage: series_py.py REPEATS FILE...   Prints {"pass_ms": [...], "pydicom": version}: the wall time of each
of REPEATS passes over all files, after one warm-up pass (imports and plugin initialisation).
"""
import json
import sys
import time

import pydicom
from pydicom.pixels import apply_modality_lut


def one_pass(paths: list[str]) -> float:
    start = time.perf_counter()
    for path in paths:
        ds = pydicom.dcmread(path)
        apply_modality_lut(ds.pixel_array, ds)
    return (time.perf_counter() - start) * 1000


def main() -> None:
    repeats = int(sys.argv[1])
    paths = sys.argv[2:]
    one_pass(paths)
    json.dump({"pass_ms": [one_pass(paths) for _ in range(repeats)], "pydicom": pydicom.__version__}, sys.stdout)


if __name__ == "__main__":
    main()
