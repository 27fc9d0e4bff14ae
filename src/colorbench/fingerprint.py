"""This machine's arithmetic fingerprint (`colorbench reference --fingerprint`): kept apart
from colorbench.reference, which every stage imports, so stages do not run model code."""

from __future__ import annotations

import hashlib
import time

from colorbench.reference import apply_torch


def fingerprint(steps: int = 10, size: int = 32, seed: int = 0) -> tuple[str, float]:
    """sha256 of a small Res-UNet's weights after `steps` Adam steps on seeded random
    images (conv, batch norm, attention and the optimiser: the kernels training uses), and
    the CPU seconds the steps took (all threads; steadier than wall time on a busy machine).
    Equal digests = equal arithmetic."""
    import torch

    from colorbench.models.registry import build_generator

    apply_torch()
    torch.manual_seed(seed)
    net = build_generator({"arch": "resunet_attn", "width": 8, "pretrained": False})
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(steps, 8, 1, size, size, generator=gen) * 2 - 1
    y = torch.rand(steps, 8, 2, size, size, generator=gen) * 2 - 1
    start = time.process_time()
    for i in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.l1_loss(net(x[i]), y[i])
        loss.backward()
        opt.step()
    seconds = time.process_time() - start
    digest = hashlib.sha256()
    for name, tensor in sorted(net.state_dict().items()):
        digest.update(name.encode() + tensor.detach().contiguous().numpy().tobytes())
    return digest.hexdigest(), seconds
