"""Reference readers for the phantom and encoder tests (pydicom 3, nibabel 5; run from the project .venv).

Usage:
  phantom_check.py pixels OUT_DIR [--plugin NAME] FILE...
      For file i: OUT_DIR/i.i32 = ds.pixel_array (stored values, before the Modality LUT) as int32 little
      endian, row-major; OUT_DIR/index.json lists per file the transfer syntax, the decoding plugin used, the
      shape, or the error. --plugin forces a pydicom decoding plugin (pydicom, pylibjpeg, gdcm).
  phantom_check.py nifti OUT_DIR FILE...
      For file i: OUT_DIR/i.u8 = the voxels in NIfTI order (x fastest, i.e. Fortran order), OUT_DIR/i.json =
      shape, dtype, affine (img.affine), sform/qform and their codes, zooms, axis codes.
"""

import json
import sys
import warnings
from pathlib import Path

import numpy as np


def pixels(out: Path, args: list[str]) -> None:
    import pydicom

    plugin = None
    if args and args[0] == "--plugin":
        plugin = args[1]
        args = args[2:]
    index = []
    for i, path in enumerate(args):
        entry: dict = {"file": path}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds = pydicom.dcmread(path)
                entry["transferSyntaxUID"] = str(ds.file_meta.TransferSyntaxUID)
                if plugin:
                    ds.pixel_array_options(decoding_plugin=plugin)
                arr = ds.pixel_array
            entry["plugin"] = plugin or "default"
            entry["shape"] = list(arr.shape)
            entry["dtype"] = str(arr.dtype)
            np.ascontiguousarray(arr, dtype="<i4").tofile(out / f"{i}.i32")
            entry["data"] = f"{i}.i32"
        except Exception as exc:  # reported per file; the test decides
            entry["error"] = f"{type(exc).__name__}: {exc}"
        index.append(entry)
    (out / "index.json").write_text(json.dumps(index, indent=1))


def nifti(out: Path, paths: list[str]) -> None:
    for i, path in enumerate(paths):
        nifti_one(out, i, path)


def nifti_one(out: Path, i: int, path: str) -> None:
    import nibabel as nib

    img = nib.load(path)
    data = np.asanyarray(img.dataobj)
    data.astype("<u1").ravel(order="F").tofile(out / f"{i}.u8")
    hdr = img.header
    sform, scode = hdr.get_sform(coded=True)
    qform, qcode = hdr.get_qform(coded=True)
    info = {
        "shape": list(data.shape),
        "dtype": str(data.dtype),
        "affine": img.affine.tolist(),
        "sform": None if sform is None else sform.tolist(),
        "sformCode": int(scode),
        "qform": None if qform is None else qform.tolist(),
        "qformCode": int(qcode),
        "zooms": [float(z) for z in hdr.get_zooms()],
        "intent": hdr.get_intent()[0],
        "orientation": "".join(nib.aff2axcodes(img.affine)),
    }
    (out / f"{i}.json").write_text(json.dumps(info, indent=1))


def main() -> None:
    mode, out, *rest = sys.argv[1:]
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    if mode == "pixels":
        pixels(out_dir, rest)
    elif mode == "nifti":
        nifti(out_dir, rest)
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main()
