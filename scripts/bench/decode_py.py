"""Decode timing of pydicom (with its pylibjpeg / gdcm plugins) for each file given: dcmread from bytes in
memory + pixel_array + apply_modality_lut, the same work decode-ts.ts does. Prints {file: median ms}.
HTJ2K goes through pylibjpeg-openjpeg (OpenJPEG 2.5). Deflated Image Frame Compression, which pydicom 3.0.1
cannot decode, is timed as zlib inflating the frame and pydicom decoding the native result."""
import io
import json
import statistics
import sys
import time
import zlib

import pydicom
from pydicom.encaps import generate_frames
from pydicom.pixels import apply_modality_lut
from pydicom.uid import ExplicitVRLittleEndian

DEFLATED_IMAGE_FRAME = "1.2.840.10008.1.2.8.1"


def inflated(ds: pydicom.Dataset) -> pydicom.Dataset:
    count = int(getattr(ds, "NumberOfFrames", 1) or 1)
    ds.PixelData = b"".join(zlib.decompress(f, -15) for f in generate_frames(ds.PixelData, number_of_frames=count))
    ds["PixelData"].VR = "OB" if int(ds.BitsAllocated) <= 8 else "OW"
    ds["PixelData"].is_undefined_length = False
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def main() -> None:
    repeats = int(sys.argv[1])
    result = {}
    plugins = {}
    for path in sys.argv[2:]:
        data = open(path, "rb").read()

        def once():
            ds = pydicom.dcmread(io.BytesIO(data))
            if ds.file_meta.TransferSyntaxUID == DEFLATED_IMAGE_FRAME:
                ds = inflated(ds)
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
        uid = ds.file_meta.TransferSyntaxUID
        plugins[path] = "Deflated Image Frame (zlib + pydicom)" if uid == DEFLATED_IMAGE_FRAME else str(uid.name)
    json.dump({"median_ms": result, "syntax": plugins, "pydicom": pydicom.__version__}, sys.stdout)


if __name__ == "__main__":
    main()
