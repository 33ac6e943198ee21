"""The `cam` output of the exported ONNX graph against pytorch-grad-cam's GradCAM for the same model,
input and class (fracture = 1), both min-max normalised the way pytorch-grad-cam does (+1e-7).
Reference: grad-cam 1.5.7. Targets: Pearson r ≥ 0.999 for the paper CNN and ResNet50; DenseNet121 at
≥ 0.99 (ARCHITECTURE: torchvision's in-place final ReLU changes what the hook records; our head applies
its own ReLU, so the figure printed here is usually higher)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
import torch
from pytorch_grad_cam import GradCAM
from pytorch_grad_cam.utils.model_targets import ClassifierOutputTarget

from dicom_ml_trainer.export import export_classifier, gradcam_forward
from dicom_ml_trainer.models import build

from .helpers import warm

TARGET_R = {"cnn": 0.999, "resnet50": 0.999, "densenet121": 0.999}


def _minmax(cam: np.ndarray) -> np.ndarray:
    cam = cam - cam.min()
    return cam / (1e-7 + cam.max())


@pytest.mark.parametrize("family", ["cnn", "resnet50", "densenet121"])
def test_cam_matches_pytorch_grad_cam(family: str, tmp_path: Path) -> None:
    size = 96
    torch.manual_seed(0)  # the initial weights, independent of what ran before in this process
    model = build(family)
    warm(model, size)
    path = export_classifier(model, size, tmp_path / "m.onnx")
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.randn(3, 3, size, size, generator=torch.Generator().manual_seed(7))
    x[1, :, 30:50, :] += 2.0
    logits, cam = session.run(None, {"input": x.numpy()})

    # The graph equals the PyTorch Grad-CAM forward it was traced from.
    ref_logits, ref_cam = gradcam_forward(model)(x)
    np.testing.assert_allclose(logits, ref_logits.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cam, ref_cam.numpy(), rtol=1e-3, atol=1e-5 * float(ref_cam.abs().max()))

    with GradCAM(model=model, target_layers=[model.body]) as gc:
        theirs = gc(input_tensor=x, targets=[ClassifierOutputTarget(1)] * len(x))
    rs = []
    for i in range(len(x)):
        ours = _minmax(cam[i, 0])
        if ours.max() == 0 or theirs[i].max() == 0:
            continue  # an all-zero map (no positive evidence) has no correlation to speak of
        rs.append(float(np.corrcoef(ours.ravel(), theirs[i].ravel())[0, 1]))
    assert rs, "every Grad-CAM map was zero: the test would prove nothing"
    print(f"{family}: Pearson r = {', '.join(f'{r:.8f}' for r in rs)}")
    assert min(rs) >= TARGET_R[family]
