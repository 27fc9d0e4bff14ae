"""Pretrained files the metrics need, always through the project's weights registry
(`colorbench.weights.require`: verified, never downloads, MissingWeightsError naming the fix).
Registry names used here: inception_fid, alexnet, vgg16."""

from __future__ import annotations

import torch


def load_state_dict(name: str) -> dict:
    from colorbench.weights import require

    return torch.load(require(name), map_location="cpu", weights_only=True)
