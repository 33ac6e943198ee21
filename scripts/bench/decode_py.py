"""Decode timing of pydicom (with its pylibjpeg / gdcm plugins) for each file given: dcmread from bytes in
memory + pixel_array + apply_modality_lut, the same work decode-ts.ts does. Prints {file: median ms}."""
import io
import json
import statistics
import sys
import time

import pydicom
from pydicom.pixels import apply_modality_lut


def main() -> None:
    repeats = int(sys.argv[1])
    result = {}
    plugins = {}
    for path in sys.argv[2:]:
        data = open(path, "rb").read()

        def once():
            ds = pydicom.dcmread(io.BytesIO(data))
            return apply_modality_lut(ds.pixel_array, ds)

        try:
            once()
            once()
        except Exception as exc:  # a syntax pydicom cannot decode here is a row, not a crash
            result[path] = f"error: {exc}"
            continue
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            once()
            times.append((time.perf_counter() - t) * 1000)
        result[path] = statistics.median(times)
        ds = pydicom.dcmread(path, stop_before_pixels=True)
        plugins[path] = str(ds.file_meta.TransferSyntaxUID.name)
    json.dump({"median_ms": result, "syntax": plugins, "pydicom": pydicom.__version__}, sys.stdout)


if __name__ == "__main__":
    main()
