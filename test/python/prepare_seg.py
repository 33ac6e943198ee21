"""Write RSNA-style segmentation NIfTI files with nibabel, for the prepare tests and benchmark.

usage: prepare_seg.py JOBS.json

JOBS.json is a list of jobs:
  {
    "labels": "A.u8",                 # raw uint8 labels in slice space, shape [S, R, C] (C fastest),
                                      # slice k = slice_number k+1, as the DICOM stack is stored
    "shape": [S, R, C],
    "positions": [[x, y, z], ...],    # ImagePositionPatient (LPS mm) of each slice k
    "orientation": [1,0,0, 0,1,0],    # ImageOrientationPatient: row cosines, column cosines
    "spacing": [dr, dc],              # PixelSpacing: between rows, between columns
    "out": "UID.nii.gz",
    "layout": "rsna" | {"flips": [axes of A], "transpose": [perm]},
    "form": "sform" | "qform" | "both" | "none",     # which header codes are set (default both)
    "dtype": "uint8" | "int16" | "float32",          # default uint8
    "shift_mm": [dx, dy, dz],         # optional: a wrong affine (translated in RAS mm)
    "invert_z_data": false            # optional: flip the stored labels along the slice axis, affine unchanged
  }

The array written is M = layout(A). "rsna" is the inverse of the public notebooks' correction
`mask[:, ::-1, ::-1].transpose(2, 1, 0)` (z falling with slice_number) or `mask[:, ::-1].transpose(2, 1, 0)`
(z rising): M[c, R-1-r, k'] with k' rising with z. The affine is derived here, independently of the code under
test: the index of every voxel of M in A is tracked through the same numpy operations (np.indices), giving the
integer map P: M index -> A index; D: A index (k, r, c) -> LPS from the DICOM geometry; affine = diag(-1,-1,1,1) D P.
"""
import json
import sys

import nibabel as nib
import numpy as np


def transform(a, layout, z_falls):
    if layout == "rsna":
        flips = [0, 1] if z_falls else [1]
        perm = [2, 1, 0]
    else:
        flips = layout.get("flips", [])
        perm = layout.get("transpose", [0, 1, 2])
    for axis in flips:
        a = np.flip(a, axis=axis)
    return np.ascontiguousarray(a.transpose(perm))


def job(spec):
    S, R, C = spec["shape"]
    a = np.fromfile(spec["labels"], dtype=np.uint8).reshape(S, R, C)
    pos = np.array(spec["positions"], dtype=np.float64)
    iop = np.array(spec["orientation"], dtype=np.float64)
    dr, dc = spec["spacing"]
    z_falls = S > 1 and pos[-1, 2] < pos[0, 2]
    layout = spec.get("layout", "rsna")

    m = transform(a, layout, z_falls)
    idx = np.indices(a.shape)  # idx[d][k, r, c] = index along axis d of A
    idx_m = [transform(idx[d], layout, z_falls) for d in range(3)]
    origin = np.array([idx_m[d][0, 0, 0] for d in range(3)], dtype=np.float64)
    P = np.eye(4)
    for ax in range(3):
        unit = [0, 0, 0]
        unit[ax] = 1
        P[:3, ax] = np.array([idx_m[d][tuple(unit)] for d in range(3)]) - origin
    P[:3, 3] = origin

    D = np.eye(4)  # A index (k, r, c) -> LPS
    D[:3, 0] = (pos[-1] - pos[0]) / (S - 1) if S > 1 else np.cross(iop[:3], iop[3:]) * 1.0
    D[:3, 1] = iop[3:] * dr
    D[:3, 2] = iop[:3] * dc
    D[:3, 3] = pos[0]
    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ D @ P
    if "shift_mm" in spec:
        affine[:3, 3] += np.array(spec["shift_mm"], dtype=np.float64)

    if spec.get("invert_z_data"):
        # Flip the data along M's axis that runs along the slices (where A's axis 0 went), affine unchanged.
        slice_axis = int(np.argmax(np.abs(P[0, :3])))
        m = np.ascontiguousarray(np.flip(m, axis=slice_axis))

    dtype = spec.get("dtype", "uint8")
    form = spec.get("form", "both")
    if form == "none":
        # No affine at all: nibabel would otherwise store one with sform_code 2 on save. Only pixdim is left.
        img = nib.Nifti1Image(m.astype(dtype), None)
        img.header.set_zooms(tuple(float(np.linalg.norm(affine[:3, i])) for i in range(3)))
        img.header.set_sform(None, code=0)
        img.header.set_qform(None, code=0)
    else:
        img = nib.Nifti1Image(m.astype(dtype), affine)
        img.set_sform(affine, code=1 if form in ("sform", "both") else 0)
        img.set_qform(affine, code=1 if form in ("qform", "both") else 0)
    img.header.set_data_dtype(dtype)
    nib.save(img, spec["out"])
    return {"out": spec["out"], "shape": list(m.shape), "affine": affine.tolist()}


def main():
    with open(sys.argv[1]) as f:
        jobs = json.load(f)
    print(json.dumps([job(j) for j in jobs]))


if __name__ == "__main__":
    main()
