"""Write NIfTI-1 test volumes with nibabel for test/unit/nifti.test.ts.

Usage: python nifti_make.py OUTDIR
Writes OUTDIR/<case>.nii[.gz], OUTDIR/<case>.f64 (expected voxel values after scl_slope/inter, float64
little-endian, NIfTI order: x fastest, i.e. Fortran order) and OUTDIR/cases.json (dims, datatype code and
the affine nibabel reports: header.get_sform() for sform cases, header.get_qform() for qform-only cases).
"""
import json
import struct
import sys
from pathlib import Path

import nibabel as nib
import numpy as np


def rot(axis, deg):
    t = np.deg2rad(deg)
    c, s = np.cos(t), np.sin(t)
    m = np.eye(4)
    i, j = [(1, 2), (0, 2), (0, 1)][axis]
    m[i, i], m[i, j], m[j, i], m[j, j] = c, -s, s, c
    return m


def affine(zooms, angles=(0, 0, 0), offset=(0, 0, 0), flip=None):
    m = np.diag(list(zooms) + [1.0])
    if flip is not None:
        m = np.diag([1.0 if a != flip else -1.0 for a in range(3)] + [1.0]) @ m
    r = rot(0, angles[0]) @ rot(1, angles[1]) @ rot(2, angles[2])
    out = r @ m
    out[:3, 3] = offset
    return out


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    cases = []

    def save(name, data, aff, form, ext='.nii', slope=None, inter=None, endian='<'):
        hdr = nib.Nifti1Header(endianness=endian)
        img = nib.Nifti1Image(data, None, header=hdr)
        img.set_data_dtype(data.dtype)
        if form == 'sform':
            img.set_sform(aff, code=2)
            img.set_qform(aff, code=1)
        elif form == 'qform':
            img.set_sform(None, code=0)
            img.set_qform(aff, code=1)
        else:
            img.set_sform(None, code=0)
            img.set_qform(None, code=0)
            img.header.set_zooms(np.abs(np.diag(aff)[: data.ndim]) if data.ndim <= 3 else list(np.abs(np.diag(aff)[:3])) + [1] * (data.ndim - 3))
        path = out / f'{name}{ext}'
        nib.save(img, path)
        if slope is not None or form == 'none':
            # nibabel's writer resets scl_slope/scl_inter for data it stores unscaled, and writes an sform
            # (its centred base affine) when an image has neither code; patch those header fields in place
            # (nifti1.h: float32 scl_slope/scl_inter at 112/116, int16 qform_code/sform_code at 252/254).
            assert ext == '.nii'
            raw = bytearray(path.read_bytes())
            if slope is not None:
                raw[112:120] = struct.pack(endian + 'ff', slope, inter)
            if form == 'none':
                raw[252:256] = struct.pack(endian + 'hh', 0, 0)
            path.write_bytes(bytes(raw))
        back = nib.load(path)
        expected = np.asarray(back.get_fdata(dtype=np.float64))
        if slope == 0:
            expected = np.asarray(back.dataobj.get_unscaled(), dtype=np.float64)
        expected.ravel(order='F').astype('<f8').tofile(out / f'{name}.f64')
        h = back.header
        if form == 'sform':
            reported = h.get_sform()
        elif form == 'qform':
            reported = h.get_qform()
        else:
            z = list(h.get_zooms()[:3]) + [1.0] * (3 - min(3, data.ndim))
            reported = np.diag(z + [1.0])
        cases.append({
            'name': name, 'file': path.name, 'dims': list(data.shape), 'datatype': int(h['datatype']),
            'form': form, 'affine': np.asarray(reported, dtype=float).tolist(), 'bigEndian': endian == '>',
            'slope': None if slope is None else float(slope), 'inter': None if inter is None else float(inter),
        })

    # RSNA-like label map: int16, oblique sform, gzipped.
    labels = rng.integers(0, 8, size=(7, 6, 5)).astype(np.int16)
    save('labels_sform', labels, affine((0.7, 0.8, 1.25), (10, -5, 30), (-90.5, 20.25, -300)), 'sform', '.nii.gz')
    # qform only, rotation and a left-handed (qfac = -1) frame.
    save('qform_qfac', rng.integers(0, 255, size=(5, 4, 3)).astype(np.uint8),
         affine((1.5, 0.5, 2.0), (0, 0, 90), (10, -20, 30), flip=2), 'qform')
    save('qform_oblique', rng.integers(-1000, 2000, size=(4, 5, 6)).astype(np.int16),
         affine((0.9, 0.9, 3.0), (25, 15, -40), (1, 2, 3)), 'qform', '.nii.gz')
    # Neither code: pixdim scaling only (nifti1.h method 1).
    save('pixdim_only', rng.integers(0, 60000, size=(3, 4, 2)).astype(np.uint16), affine((0.5, 0.25, 4.0)), 'none')
    # Scaling applied (float32 out) and not applied (slope 0).
    save('scaled', rng.integers(-100, 100, size=(4, 4, 3)).astype(np.int16), affine((1, 1, 1)), 'sform', slope=2.5, inter=-7.0)
    save('slope_zero', rng.integers(-100, 100, size=(4, 3, 2)).astype(np.int16), affine((1, 1, 1)), 'sform', slope=0.0, inter=0.0)
    # Other datatypes, 4D, big-endian.
    save('int32', rng.integers(-2**31, 2**31 - 1, size=(3, 3, 3)).astype(np.int32), affine((2, 2, 2)), 'sform')
    save('float32', rng.normal(size=(3, 4, 5)).astype(np.float32), affine((1, 2, 3), (5, 0, 0)), 'sform', '.nii.gz')
    save('float64_4d', rng.normal(size=(3, 2, 2, 3)).astype(np.float64), affine((1, 1, 1)), 'sform')
    save('bigendian', rng.integers(-500, 500, size=(4, 3, 2)).astype(np.int16), affine((0.5, 0.5, 1), (0, 0, 45)), 'qform', endian='>')
    # Unsupported datatype (complex64) for the error test.
    nib.save(nib.Nifti1Image(np.zeros((2, 2, 2), np.complex64), np.eye(4)), out / 'complex.nii')

    (out / 'cases.json').write_text(json.dumps(cases, indent=1))


if __name__ == '__main__':
    main(sys.argv[1])
