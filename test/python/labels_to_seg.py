"""Write DICOM SEG files with highdicom from slice-space labels, for the prepare-from-SEG tests.

usage: labels_to_seg.py JOBS.json

JOBS.json is a list of jobs:
  {
    "labels": "A.u8",            # raw uint8 labels in slice space, shape [S, R, C] (C fastest), slice k = k+1.dcm
    "shape": [S, R, C],
    "slices": "train_images/UID", # the source DICOM folder (1.dcm … S.dcm), read with pydicom
    "out": "segmentations/UID.dcm",
    "type": "BINARY" | "FRACTIONAL" | "LABELMAP",
    "names": {"1": "C1", ...},   # segment label per mask label (labels not listed are left out)
    "other_sources": false       # optional: reference freshly made UIDs instead of the slices (a SEG of another series)
  }

Each listed label becomes one segment (numbered 1… in label order) named as given; highdicom drops empty
frames and writes the Source Image / Plane Position references from the source data sets.
"""
import copy
import json
import sys
from pathlib import Path

import highdicom as hd
import numpy as np
import pydicom
from pydicom.sr.codedict import codes
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

TYPE2 = {"PatientName": "", "PatientID": "", "PatientBirthDate": "", "PatientSex": "", "StudyDate": "", "StudyTime": "",
         "StudyID": "", "AccessionNumber": "", "ReferringPhysicianName": ""}


def sources(folder: Path, count: int, other: bool) -> list[pydicom.Dataset]:
    out = []
    series, frame_of_reference = generate_uid(), generate_uid()
    for k in range(count):
        ds = pydicom.dcmread(folder / f"{k + 1}.dcm")
        for keyword, value in TYPE2.items():  # our writer leaves out empty type 2 attributes; highdicom copies them
            if keyword not in ds:
                setattr(ds, keyword, value)
        if "FrameOfReferenceUID" not in ds:  # required by the SEG IOD; one per study
            ds.FrameOfReferenceUID = frame_of_reference
        if other:  # the same geometry under another series: references that name no slice of the study
            ds = copy.deepcopy(ds)
            ds.SOPInstanceUID = generate_uid()
            ds.SeriesInstanceUID = series
        out.append(ds)
    return out


def run(job: dict) -> None:
    s, r, c = job["shape"]
    labels = np.fromfile(job["labels"], dtype=np.uint8).reshape(s, r, c)
    names = sorted(((int(k), v) for k, v in job["names"].items()), key=lambda kv: kv[0])
    seg_type = hd.seg.SegmentationTypeValues(job["type"])
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=n + 1,
            segment_label=name,
            segmented_property_category=codes.SCT.AnatomicalStructure,
            segmented_property_type=codes.SCT.Bone,
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for n, (_, name) in enumerate(names)
    ]
    if seg_type == hd.seg.SegmentationTypeValues.LABELMAP:
        mask = np.zeros((s, r, c), dtype=np.uint8)
        for n, (label, _) in enumerate(names):
            mask[labels == label] = n + 1
    else:
        mask = np.stack([labels == label for label, _ in names], axis=-1)
        if seg_type == hd.seg.SegmentationTypeValues.FRACTIONAL:
            mask = mask.astype(np.float32) * 0.8  # stored 204 of 255: above one half, so the voxel counts
    seg = hd.seg.Segmentation(
        source_images=sources(Path(job["slices"]), s, bool(job.get("other_sources"))),
        pixel_array=mask,
        segmentation_type=seg_type,
        segment_descriptions=descriptions,
        series_instance_uid=generate_uid(),
        series_number=100,
        sop_instance_uid=generate_uid(),
        instance_number=1,
        manufacturer="fixture",
        manufacturer_model_name="labels_to_seg.py",
        software_versions="1",
        device_serial_number="1",
        transfer_syntax_uid=ExplicitVRLittleEndian,
        max_fractional_value=255,
    )
    Path(job["out"]).parent.mkdir(parents=True, exist_ok=True)
    seg.save_as(job["out"])


def main() -> None:
    for job in json.loads(Path(sys.argv[1]).read_text()):
        run(job)


if __name__ == "__main__":
    main()
