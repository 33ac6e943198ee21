"""Classification data: the prepared ImageFolder sets, with fracture as class 1 whatever order the
folders sort in, and the paper's augmentations (horizontal flip, rotation, Gaussian blur)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torchvision import datasets, transforms

from .card import IMAGENET_MEAN, IMAGENET_STD
from .errors import DatasetError

CLASSES = ("normal", "fracture")  # index = label: fracture is the positive class 1
INPUT_FOLDERS = {"vertebra-crop": "classify-vertebrae", "slice": "classify"}


class FractureFolder(datasets.ImageFolder):
    """torchvision ImageFolder with a fixed class order: normal = 0, fracture = 1 (ImageFolder itself sorts
    the folder names, which would make fracture 0)."""

    def find_classes(self, directory: str) -> tuple[list[str], dict[str, int]]:
        return list(CLASSES), {c: i for i, c in enumerate(CLASSES)}


@dataclass(frozen=True)
class ClassifyData:
    """Where the images are: `root` holds train/ and val/ (each normal/ and fracture/); `kind` is the
    model input (`slice` or `vertebra-crop`)."""

    root: Path
    kind: str


def resolve(data: Path, want: str = "auto") -> ClassifyData:
    """A prepared folder (`classify-vertebrae/` preferred when `want` is auto) or an ImageFolder root."""
    data = data.resolve()
    if not data.is_dir():
        raise DatasetError(f"{data}: dataset folder not found (run `dicom-ml prepare` first)")
    kinds = [want] if want != "auto" else ["vertebra-crop", "slice"]
    for kind in kinds:
        sub = data / INPUT_FOLDERS[kind]
        if (sub / "train").is_dir():
            return ClassifyData(sub, kind)
    if (data / "train").is_dir() and (data / "val").is_dir():
        return ClassifyData(data, "slice" if want == "auto" else want)
    wanted = " or ".join(f"{INPUT_FOLDERS[k]}/" for k in kinds)
    raise DatasetError(f"{data}: no {wanted} with train/ and val/ (a `dicom-ml prepare` output or an ImageFolder root)")


def transform(imgsz: int, train: bool) -> transforms.Compose:
    """Grey PNG → 3 × imgsz × imgsz tensor normalised as the model card says."""
    steps: list[object] = [
        transforms.Grayscale(num_output_channels=3),
        transforms.Resize((imgsz, imgsz), antialias=True),
    ]
    if train:
        steps += [
            transforms.RandomHorizontalFlip(),
            transforms.RandomRotation(10),
            transforms.RandomApply([transforms.GaussianBlur(3, sigma=(0.1, 1.0))], p=0.3),
        ]
    steps += [transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    return transforms.Compose(steps)


def load_split(root: Path, split: str, imgsz: int, train: bool) -> FractureFolder:
    """One split, checked: it must exist and hold images of both classes (val may lack one)."""
    folder = root / split
    if not folder.is_dir():
        raise DatasetError(f"{folder}: split folder not found")
    try:
        ds = FractureFolder(str(folder), transform=transform(imgsz, train), allow_empty=True)
    except (FileNotFoundError, RuntimeError) as err:
        raise DatasetError(f"{folder}: {err}") from err
    counts = [sum(1 for _, t in ds.samples if t == i) for i in range(len(CLASSES))]
    if sum(counts) == 0:
        raise DatasetError(f"{folder}: no images in normal/ or fracture/")
    if train and min(counts) == 0:
        missing = CLASSES[counts.index(0)]
        raise DatasetError(f"{folder}: no {missing} images — a classifier needs both classes to train")
    return ds


def class_counts(ds: FractureFolder) -> dict[str, int]:
    return {c: sum(1 for _, t in ds.samples if t == i) for i, c in enumerate(CLASSES)}
