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

import os

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
