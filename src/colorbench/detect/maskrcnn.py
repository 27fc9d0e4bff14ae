"""torchvision Mask R-CNN (ResNet-50 FPN, COCO) as a box detector for object crops.

As InstColorization did, it sees the *gray* image (L channel, a=b=0) as 3 channels, so the
crops a colorizer trains on do not depend on colour. Weights come only from the registry
(`weights.require`); the model is built without any download and loaded from that file,
the same path for real and test-injected weights.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from colorbench.errors import ColorbenchError

WEIGHTS_NAME = "maskrcnn_resnet50_fpn"


@dataclass
class Detections:
    boxes: np.ndarray  # N x 4 float xyxy, in the input image's pixels
    scores: np.ndarray  # N
    categories: list[str]  # N


def coco_category_names() -> list[str]:
    """The 91 COCO label names (index = model label), from torchvision's metadata."""
    from torchvision.models.detection import MaskRCNN_ResNet50_FPN_Weights

    return list(MaskRCNN_ResNet50_FPN_Weights.COCO_V1.meta["categories"])


def build_model(min_size: int = 800, max_size: int = 1333, box_score_thresh: float = 0.05):
    """Mask R-CNN with the exact layout of torchvision's COCO_V1 weights (frozen BN with
    eps 0, as torchvision sets after loading them), built without any weights."""
    from torchvision.models.detection import MaskRCNN
    from torchvision.models.detection.backbone_utils import resnet_fpn_backbone
    from torchvision.ops.misc import FrozenBatchNorm2d

    backbone = resnet_fpn_backbone(
        backbone_name="resnet50", weights=None, norm_layer=FrozenBatchNorm2d, trainable_layers=0
    )
    model = MaskRCNN(
        backbone,
        num_classes=91,
        min_size=min_size,
        max_size=max_size,
        box_score_thresh=box_score_thresh,
    )
    for m in model.modules():
        if isinstance(m, FrozenBatchNorm2d):
            m.eps = 0.0
    return model


def load_weights(model: torch.nn.Module, path: str | os.PathLike) -> torch.nn.Module:
    """Load a state dict file strictly (every key, or a clear error)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is a user error here
        raise ColorbenchError(f"cannot read Mask R-CNN weights {path} ({exc})") from None
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        first = str(exc).splitlines()[0:2]
        raise ColorbenchError(
            f"{path} does not hold maskrcnn_resnet50_fpn weights ({' '.join(first)})"
        ) from None
    return model


class MaskRCNNDetector:
    """Callable: list of HxWx3 uint8 gray-as-RGB images -> list of Detections."""

    def __init__(
        self,
        weights_path: str | os.PathLike,
        *,
        device: torch.device | str = "cpu",
        min_size: int = 800,
        max_size: int = 1333,
        score_threshold: float = 0.05,
    ) -> None:
        model = load_weights(
            build_model(min_size, max_size, box_score_thresh=score_threshold), weights_path
        )
        # Only boxes are needed: dropping the mask branch skips its RoI pooling and head.
        model.roi_heads.mask_roi_pool = None
        model.roi_heads.mask_head = None
        model.roi_heads.mask_predictor = None
        self.device = torch.device(device)
        self.model = model.eval().to(self.device)
        self.names = coco_category_names()

    @torch.inference_mode()
    def __call__(self, images: list[np.ndarray]) -> list[Detections]:
        batch = [
            torch.from_numpy(np.ascontiguousarray(im)).permute(2, 0, 1).to(self.device).float()
            / 255.0
            for im in images
        ]
        out = []
        for det in self.model(batch):
            labels = det["labels"].cpu().numpy()
            out.append(
                Detections(
                    boxes=det["boxes"].float().cpu().numpy(),
                    scores=det["scores"].float().cpu().numpy(),
                    categories=[
                        self.names[i] if 0 <= i < len(self.names) else str(i) for i in labels
                    ],
                )
            )
        return out
