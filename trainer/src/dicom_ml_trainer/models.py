"""The classifier families: the paper's CNN, ResNet50 and DenseNet121 (torchvision, `weights=None`).

Each model is a `SplitClassifier`: `body` (input → the Grad-CAM target layer's activations A) and `head`
(A → logits), so that Grad-CAM can differentiate the fracture logit with respect to A (export.py).
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

FAMILIES = ("cnn", "resnet50", "densenet121")


class AdaptiveAvgPool(nn.Module):
    """`nn.AdaptiveAvgPool2d(size)` (same bins, same numbers) built from slices and means.

    Why not the torch module: Grad-CAM is exported as a traced backward pass, and the ONNX exporter has no
    translation for `aten._adaptive_avg_pool2d_backward` (torch 2.15); the backward of slice + mean is
    plain ops. Bins as PyTorch: start = floor(i·H/s), end = ceil((i+1)·H/s).
    """

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    def _pool(self, x: torch.Tensor, dim: int) -> torch.Tensor:
        n, s = x.shape[dim], self.size
        bins = [
            x.narrow(dim, (i * n) // s, -((-(i + 1) * n) // s) - (i * n) // s).mean(dim, keepdim=True) for i in range(s)
        ]
        return bins[0] if s == 1 else torch.cat(bins, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.size == 1:
            return x.mean((2, 3), keepdim=True)
        return self._pool(self._pool(x, 2), 3)


class SplitClassifier(nn.Module):
    """logits = head(body(x)); `cam_layer` names the layer whose output `body` returns."""

    def __init__(self, body: nn.Module, head: nn.Module, cam_layer: str) -> None:
        super().__init__()
        self.body = body
        self.head = head
        self.cam_layer = cam_layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.body(x))


def paper_cnn(num_classes: int = 2, channels: tuple[int, ...] = (16, 32, 64, 128, 128)) -> SplitClassifier:
    """The paper's proposed CNN: blocks of Conv2d + ReLU with MaxPool2d(2, 2), then Flatten, Linear → 512,
    ReLU, Linear → 128, ReLU, Linear → 2.

    Channel choice (the paper gives no widths): five 3×3 blocks 16-32-64-128-128 keep the net at ~0.5 M
    parameters, so it trains from scratch in minutes on a CPU; each block adds BatchNorm after the conv —
    without it a from-scratch net of this depth trained poorly here. An adaptive 2×2 average pool before
    Flatten fixes the flattened size at 128 × 2 × 2 = 512 whatever the input size (224 slices, 160 crops).
    Grad-CAM target: the last conv block's ReLU (before its pool), 14 × 14 at 224 input.
    """
    layers: list[nn.Module] = []
    c_in = 3
    for i, c in enumerate(channels):
        layers += [nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=False)]
        if i < len(channels) - 1:
            layers.append(nn.MaxPool2d(2, 2))
        c_in = c
    body = nn.Sequential(*layers)
    head = nn.Sequential(
        nn.MaxPool2d(2, 2),
        AdaptiveAvgPool(2),
        nn.Flatten(),
        nn.Linear(channels[-1] * 4, 512),
        nn.ReLU(),
        nn.Dropout(0.3),
        nn.Linear(512, 128),
        nn.ReLU(),
        nn.Linear(128, num_classes),
    )
    return SplitClassifier(body, head, "body (last conv block ReLU)")


def resnet50(num_classes: int = 2) -> SplitClassifier:
    """torchvision ResNet50, weights=None; Grad-CAM at `layer4` (as pytorch-grad-cam's examples)."""
    from torchvision.models import resnet50 as tv_resnet50

    m = tv_resnet50(weights=None, num_classes=num_classes)
    body = nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3, m.layer4)
    head = nn.Sequential(AdaptiveAvgPool(1), nn.Flatten(), m.fc)
    return SplitClassifier(body, head, "layer4")


def densenet121(num_classes: int = 2) -> SplitClassifier:
    """torchvision DenseNet121, weights=None; Grad-CAM at `features` (its final BatchNorm, before the ReLU
    that torchvision's forward applies)."""
    from torchvision.models import densenet121 as tv_densenet121

    m = tv_densenet121(weights=None, num_classes=num_classes)
    head = nn.Sequential(nn.ReLU(), AdaptiveAvgPool(1), nn.Flatten(), m.classifier)
    return SplitClassifier(m.features, head, "features")


def build(family: str, num_classes: int = 2) -> SplitClassifier:
    """A fresh model of `family` (no pretrained weights: nothing can be downloaded)."""
    makers = {"cnn": paper_cnn, "resnet50": resnet50, "densenet121": densenet121}
    if family not in makers:
        raise ValueError(f"--model {family}: expected one of {', '.join(FAMILIES)}")
    return makers[family](num_classes)


def load_weights(model: SplitClassifier, path: Path) -> None:
    """Start from a local checkpoint: ours (`{'model': state_dict}`), or a bare state_dict of the same family.
    A torchvision-layout state_dict (e.g. a downloaded resnet50) is mapped onto body/head by shape order."""
    obj = torch.load(path, map_location="cpu", weights_only=False)
    state = obj.get("model", obj) if isinstance(obj, dict) else obj
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a state_dict or a dicom-ml checkpoint")
    own = model.state_dict()
    if set(state) == set(own):
        model.load_state_dict(state)
        return
    # torchvision layout: same tensors in the same order under other names; the classifier layer may differ.
    mapped = {}
    for (k_own, v_own), (_, v) in zip(own.items(), state.items(), strict=False):
        if v.shape == v_own.shape:
            mapped[k_own] = v
    if len(mapped) < len(own) // 2:
        raise ValueError(f"{path}: its tensors do not match a {type(model.body).__name__} of this family")
    missing = model.load_state_dict(mapped, strict=False)
    del missing
