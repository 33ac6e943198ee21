"""Reference pixels for the parity tests: pydicom 3 decodes, then applies the Modality LUT.

Usage: dump_pixels.py OUT_DIR [--plugin NAME] FILE...

For FILE number i it writes OUT_DIR/i.f32 (Float32 little endian, all frames in order, row-major,
colour interleaved) and finally OUT_DIR/index.json: per file the shape, the transfer syntax, the decoding
plugin that produced the pixels, or the error raised. Reference semantics: ``ds.pixel_array`` with
default options (so YBR JPEG comes back as RGB) then ``pydicom.pixels.apply_modality_lut`` (Rescale
Slope/Intercept, PS3.3 C.11.1), cast to float32.

Plugins: by default pydicom's own order (for JPEG: gdcm, then pylibjpeg, ...); the one that succeeded is
recorded. ``--plugin NAME`` forces one pydicom plugin. Deflated Image Frame Compression, which pydicom 3.0.1 cannot
decode, is inflated frame by frame with zlib first and decoded by pydicom as native data ("zlib-inflate"). ``--plugin gdcm-convert`` decompresses with GDCM
(``gdcmconv --raw``) to Explicit VR Little Endian first and lets pydicom read that: pydicom's gdcm
plugin refuses 12-bit JPEG Extended ("GDCM does not support 'JPEG Extended' for samples with 12-bit
precision"), though GDCM itself decodes it with its IJG 12-bit library.

pydicom leaves JPEG-LS and JPEG 2000 samples at the codestream's precision, which can exceed Bits Stored.
When a decoded sample lies outside the Bits Stored range, two extra references are written:
i.masked.f32 (bits outside Bits Stored dropped, two's complement sign extension: PS3.5 8.1.1) and
i.clamped.f32 (unsigned values saturated at 2^BitsStored - 1), with the count in ``outOfRange``.
"""

import json
import os
import subprocess
import sys
import tempfile
import warnings
import zlib
from pathlib import Path

import numpy as np
import pydicom
from pydicom.encaps import generate_frames
from pydicom.pixels import apply_modality_lut, get_decoder
from pydicom.uid import ExplicitVRLittleEndian

DEFLATED_IMAGE_FRAME = "1.2.840.10008.1.2.8.1"


def inflate_frames(ds: pydicom.Dataset) -> pydicom.Dataset:
    """pydicom 3.0.1 has no Deflated Image Frame Compression decoder (3.1 adds one): inflate each frame's
    fragment with zlib (RFC 1951 raw deflate, PS3.5 A.4.13) and let pydicom decode the native result."""
    count = int(getattr(ds, "NumberOfFrames", 1) or 1)
    data = b"".join(zlib.decompress(f, -15) for f in generate_frames(ds.PixelData, number_of_frames=count))
    ds.PixelData = data + b"\0" * (len(data) % 2)
    ds["PixelData"].VR = "OB" if int(ds.BitsAllocated) <= 8 else "OW"
    ds["PixelData"].is_undefined_length = False
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def decode_with_gdcm(path: str) -> pydicom.Dataset:
    """Decompress with GDCM's own command-line tool (gdcmconv --raw), then read with pydicom."""
    fd, tmp = tempfile.mkstemp(suffix=".dcm")
    os.close(fd)
    try:
        done = subprocess.run(["gdcmconv", "--raw", path, tmp], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"gdcmconv --raw failed: {done.stderr.strip()}")
        return pydicom.dcmread(tmp)
    finally:
        os.unlink(tmp)


def decode(path: str, plugin: str | None) -> tuple[pydicom.Dataset, np.ndarray, str]:
    """Return the dataset, pixel_array and the name of the plugin that produced it."""
    if plugin == "gdcm-convert":
        ds = decode_with_gdcm(path)
        return ds, ds.pixel_array, plugin
    ds = pydicom.dcmread(path, force=True)
    uid = ds.file_meta.get("TransferSyntaxUID")
    if uid == DEFLATED_IMAGE_FRAME:
        ds = inflate_frames(ds)
        arr = ds.pixel_array
        ds.file_meta.TransferSyntaxUID = uid  # report the file's syntax, not the one it was decoded as
        return ds, arr, "zlib-inflate"
    if plugin:
        ds.pixel_array_options(decoding_plugin=plugin)
        return ds, ds.pixel_array, plugin
    decoder = get_decoder(uid) if uid else None
    if decoder is None or not decoder.is_encapsulated:
        return ds, ds.pixel_array, "native"
    errors = []
    for name in list(decoder._available):  # pydicom's own preference order
        try:
            ds.pixel_array_options(decoding_plugin=name)
            return ds, ds.pixel_array, name
        except Exception as exc:
            errors.append(f"{name}: {exc}")
    raise RuntimeError("; ".join(errors) or "no decoding plugin available")


def reduce_to_bits_stored(arr: np.ndarray, ds: pydicom.Dataset) -> tuple[np.ndarray, np.ndarray, int]:
    bits = int(ds.BitsStored)
    signed = int(ds.PixelRepresentation) == 1
    wide = arr.astype(np.int64)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    outside = int(np.count_nonzero((wide < lo) | (wide > hi)))
    masked = wide & ((1 << bits) - 1)
    if signed:
        masked = np.where(masked >= 1 << (bits - 1), masked - (1 << bits), masked)
    clamped = masked if signed else np.clip(wide, lo, hi)
    return masked, clamped, outside


def main() -> None:
    args = sys.argv[1:]
    out = Path(args.pop(0))
    plugin = None
    if args and args[0] == "--plugin":
        args.pop(0)
        plugin = args.pop(0)
    out.mkdir(parents=True, exist_ok=True)
    index = []
    for i, path in enumerate(args):
        entry: dict = {"file": path}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds, arr, used = decode(path, plugin)
                entry["plugin"] = used
                entry["transferSyntaxUID"] = str(ds.file_meta.get("TransferSyntaxUID", ""))
                hu = apply_modality_lut(arr, ds)
                np.ascontiguousarray(hu, dtype="<f4").tofile(out / f"{i}.f32")
                entry["data"] = f"{i}.f32"
                entry["shape"] = list(hu.shape)
                if arr.dtype.kind in "iu" and "BitsStored" in ds and int(ds.SamplesPerPixel) == 1:
                    masked, clamped, outside = reduce_to_bits_stored(arr, ds)
                    entry["outOfRange"] = outside
                    if outside:
                        for name, values in (("masked", masked), ("clamped", clamped)):
                            ref = apply_modality_lut(values, ds)
                            np.ascontiguousarray(ref, dtype="<f4").tofile(out / f"{i}.{name}.f32")
                            entry[name] = f"{i}.{name}.f32"
        except Exception as exc:  # reported per file; the test decides what an error means
            entry["error"] = f"{type(exc).__name__}: {exc}"
        index.append(entry)
    (out / "index.json").write_text(json.dumps(index, indent=1))


if __name__ == "__main__":
    main()
