"""Turn an RSNA-style NIfTI vertebra mask into a DICOM SEG over its CT slices (highdicom), for the viewer's E2E.

usage: nifti_to_seg.py SLICES_DIR MASK.nii[.gz] OUT.dcm

Each slice's pixel centres (Image Position / Orientation / Pixel Spacing, LPS mm) are taken to RAS and through the
inverse NIfTI affine (nibabel) to the nearest voxel; labels 1…7 become segments C1…C7 (BINARY, one segment each).
"""
import sys
from pathlib import Path

import highdicom as hd
import nibabel as nib
import numpy as np
import pydicom
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

TYPE2 = {"PatientBirthDate": "", "PatientSex": "", "StudyDate": "", "StudyTime": "", "StudyID": "",
         "AccessionNumber": "", "ReferringPhysicianName": "", "PatientName": "", "PatientID": ""}


def slice_labels(ds: pydicom.Dataset, labels: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    rows, cols = int(ds.Rows), int(ds.Columns)
    ipp = np.array(ds.ImagePositionPatient, dtype=float)
    iop = np.array(ds.ImageOrientationPatient, dtype=float)
    dr, dc = (float(v) for v in ds.PixelSpacing)
    r, c = np.mgrid[0:rows, 0:cols]
    lps = ipp[None, None, :] + c[..., None] * dc * iop[None, None, :3] + r[..., None] * dr * iop[None, None, 3:]
    ras = lps * np.array([-1.0, -1.0, 1.0])
    ijk = np.rint(ras @ inverse[:3, :3].T + inverse[:3, 3]).astype(int)
    inside = np.all((ijk >= 0) & (ijk < np.array(labels.shape)), axis=-1)
    out = np.zeros((rows, cols), dtype=np.uint8)
    i, j, k = ijk[inside].T
    out[inside] = labels[i, j, k]
    return out


def main() -> None:
    folder, mask_path, out = Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3])
    nifti = nib.load(str(mask_path))
    labels = np.asarray(nifti.dataobj).astype(np.uint8)
    inverse = np.linalg.inv(nifti.affine)
    sources = []
    for ds in sorted((pydicom.dcmread(p) for p in folder.glob("*.dcm")), key=lambda d: int(d.InstanceNumber)):
        for keyword, value in TYPE2.items():
            if keyword not in ds:
                setattr(ds, keyword, value)
        sources.append(ds)
    frame_of_reference = generate_uid()
    for ds in sources:
        if "FrameOfReferenceUID" not in ds:
            ds.FrameOfReferenceUID = frame_of_reference
    stack = np.stack([slice_labels(ds, labels, inverse) for ds in sources])
    present = [n for n in range(1, 8) if (stack == n).any()]
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=np.stack([stack == n for n in present], axis=-1),
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=[
            hd.seg.SegmentDescription(
                segment_number=i + 1,
                segment_label=f"C{n}",
                segmented_property_category=codes.SCT.AnatomicalStructure,
                segmented_property_type=codes.SCT.Bone,
                algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
            )
            for i, n in enumerate(present)
        ],
        series_instance_uid=generate_uid(),
        series_number=200,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="fixture",
        manufacturer_model_name="nifti_to_seg.py",
        software_versions="1",
        device_serial_number="1",
        transfer_syntax_uid=ExplicitVRLittleEndian,
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(out)
    print(f"{out}: {len(present)} segments, {seg.NumberOfFrames} frames")


if __name__ == "__main__":
    main()
