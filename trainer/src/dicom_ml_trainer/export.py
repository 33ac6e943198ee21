"""Classifier ONNX export with Grad-CAM computed inside the graph (ARCHITECTURE "Grad-CAM inside the ONNX
graph"; the paper's eq. 4-5).

`torch.onnx.export` cannot export `torch.autograd.grad`, so the Grad-CAM forward — split the model at
the target layer, A = body(x), y = head(A), g = ∂y[:, 1]/∂A — is first traced by `make_fx`, which turns
the backward pass into ordinary aten ops (threshold_backward, max_pool2d_with_indices_backward, …), and
that graph is exported by the dynamo exporter. Tracing is symbolic so the batch axis stays dynamic.
Outputs: `logits` [N, 2] and `cam` [N, 1, H, W] = ReLU(Σ_k α_k A_k), α_k = mean_ij ∂y_1/∂A_k,ij, upsampled
bilinearly (align_corners False) to the input size, not normalised.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.fx.experimental.proxy_tensor import make_fx

from .models import SplitClassifier

OPSET = 20
FRACTURE = 1


def gradcam_forward(model: SplitClassifier, target_class: int = FRACTURE):
    """A function x → (logits, cam) for an eval-mode model whose parameters need no gradient."""

    def forward(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        activations = model.body(x).detach().requires_grad_()
        with torch.enable_grad():
            logits = model.head(activations)
            (grads,) = torch.autograd.grad(logits[:, target_class].sum(), activations)
        weights = grads.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * activations).sum(dim=1, keepdim=True))
        cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
        return logits.detach(), cam.detach()

    return forward


def export_classifier(model: SplitClassifier, imgsz: int, path: Path) -> Path:
    """Write `path` (atomically): input `input` [N, 3, imgsz, imgsz], outputs `logits`, `cam`."""
    from torch.export import Dim

    frozen = copy.deepcopy(model).cpu().float().eval()
    for p in frozen.parameters():
        p.requires_grad_(False)
    example = torch.zeros(2, 3, imgsz, imgsz)
    graph = make_fx(gradcam_forward(frozen), tracing_mode="symbolic", _allow_non_fake_inputs=True)(example)
    graph.eval()
    tmp = path.with_name(path.name + ".tmp")
    torch.onnx.export(
        graph,
        (example,),
        str(tmp),
        dynamo=True,
        opset_version=OPSET,
        input_names=["input"],
        output_names=["logits", "cam"],
        dynamic_shapes=({0: Dim("batch")},),
        external_data=False,
        verbose=False,
    )
    os.replace(tmp, path)
    return path
