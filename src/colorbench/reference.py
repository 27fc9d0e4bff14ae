"""Reference mode: pin the kernel paths that torch, oneDNN, MKL and numpy choose per CPU, so
that every x86-64 machine runs the same arithmetic and training gives the same weights.

Outside it, each library dispatches on the CPU's instruction set: ATen's vectorised kernels
(AVX-512 / AVX2 / default), oneDNN's JIT convolutions, MKL's GEMM and numpy's SIMD loops
round differently, and the differences grow over training steps. Reference mode sets, for
the whole process tree (so `colorbench reference -- dvc repro` covers every stage):

  ATEN_CPU_CAPABILITY=default       ATen's portable kernels
  ONEDNN_MAX_CPU_ISA=SSE41          oneDNN's oldest ISA (and convolutions avoid oneDNN: below)
  MKL_CBWR=COMPATIBLE               MKL's conditional numerical reproducibility
  NPY_DISABLE_CPU_FEATURES=...      numpy's baseline loops only
  OMP_NUM_THREADS=MKL_NUM_THREADS=N a fixed thread count (reductions split by it)
  CUDA_VISIBLE_DEVICES=             CPU only, also on a machine with a GPU

and, inside each colorbench process (`apply_torch`), disables oneDNN (convolutions then run
as ATen im2col + MKL GEMM, under CBWR) and asks torch for deterministic algorithms.
"""

from __future__ import annotations

import hashlib
import os
import time

FLAG = "COLORBENCH_REFERENCE"
THREADS = 2  # the cores of the reference machines; any fixed number gives agreement
NPY_DISABLED = "AVX512_SPR AVX512_ICL X86_V4 X86_V3"


def environment(threads: int = THREADS) -> dict[str, str]:
    """The variables reference mode sets (they must be in place before the process starts)."""
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    return {
        FLAG: "1",
        "ATEN_CPU_CAPABILITY": "default",
        "ONEDNN_MAX_CPU_ISA": "SSE41",
        "MKL_CBWR": "COMPATIBLE",
        "NPY_DISABLE_CPU_FEATURES": NPY_DISABLED,
        "OMP_NUM_THREADS": str(threads),
        "MKL_NUM_THREADS": str(threads),
        "CUDA_VISIBLE_DEVICES": "",
    }


def active() -> bool:
    return os.environ.get(FLAG) == "1"


def apply_torch() -> None:
    """In-process half of reference mode; a no-op outside it."""
    if not active():
        return
    import torch

    torch.backends.mkldnn.enabled = False
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", THREADS)))
    torch.use_deterministic_algorithms(True, warn_only=True)


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
