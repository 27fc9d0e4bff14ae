"""Runs one trainer for test_kill_resume.py: `python _resume_driver.py TRAINER ROOT WORKERS
RUN[:KILL_AT] ...`, the runs one after the other in this process (one interpreter start
for a reference run and a killed one). A run with KILL_AT SIGKILLs the process at the end
of that step (no exception, no cleanup: what `kill -9` does)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import torch

TINY = {"seed": 0, "device": "cpu", "batch_size": 4, "checkpoint_every": 2}
COLORIZER = {**TINY, "pretrain_epochs": 1, "gan_epochs": 1, "lr_pretrain": 0.002,
             "lr_gan": 0.0002, "lambda_l1": 100.0,
             "discriminator": {"arch": "patchgan", "width": 4, "n_layers": 2}}  # fmt: skip
PARAMS = {
    "unet": {**COLORIZER, "generator": {"arch": "unet", "width": 4, "depth": 5}},
    "fg": {**COLORIZER, "generator": {"arch": "resunet_attn", "width": 4}, "lambda_edge": 0.5},
    "bg": {**COLORIZER, "generator": {"arch": "resunet", "width": 4}},
    "fusion": {**TINY, "width": 4, "epochs": 2, "lr": 0.001, "lambda_ssim": 100.0},
    "global": {**TINY, "width": 4, "epochs": 2, "lr": 0.002},
    "scgan": {**TINY, "width": 4, "global_net": "random", "phase1_epochs": 1,
              "phase2_epochs": 1, "lr_phase1": 2e-4, "lr_phase2": 1e-4, "gan": "wgan_gp",
              "attention_loss": True, "perceptual": True, "perceptual_net": "evaluator"},
}  # fmt: skip


def main() -> None:
    trainer, root, workers = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
    torch.set_num_threads(1)
    for spec in sys.argv[4:]:
        run, _, kill = spec.partition(":")
        train(trainer, root, workers, run, int(kill) if kill else None)


def train(trainer: str, root: Path, workers: int, run: str, kill_at: int | None) -> None:
    def hook(ctx) -> None:
        if kill_at is not None and ctx.global_step + 1 == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    params = {**PARAMS[trainer], "num_workers": workers}
    from colorbench.train.common import TrainRun

    name = f"train_{trainer}"  # the folders dvc.yaml gives the stage
    where = TrainRun(root / "prepared", root / run / "model.pt", root / run / "ckpt" / name,
                     root / run / "logs" / name, progress=False, on_step_end=hook)  # fmt: skip
    if trainer in ("unet", "fg", "bg"):
        from colorbench.methods.paracolorizer.train_colorizer import train_colorizer

        train_colorizer(trainer, params, where, crops_dir=root / "crops")
    elif trainer == "fusion":
        from colorbench.methods.paracolorizer.train_fusion import train_fusion

        train_fusion(params, where)
    elif trainer == "global":
        from colorbench.methods.scgan.train_global import train_global

        train_global(params, where)
    else:
        from colorbench.methods.scgan.train import train_scgan

        train_scgan(params, where, saliency_dir=root / "saliency", global_path=root / "global.pt",
                    evaluator_path=root / "evaluator.pt")  # fmt: skip


if __name__ == "__main__":
    main()
