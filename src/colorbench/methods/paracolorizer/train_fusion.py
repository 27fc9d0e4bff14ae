"""ParaColorizer's fusion network: a DenseFuse autoencoder trained on colour images.

Loss MSE + λ·(1 − SSIM) (DenseFuse: λ = 100), Adam(lr, β=(0.9, 0.999)) (paper §IV-A).
Data: the prepared train images of role main (COCO train: the paper's setting, Sec. III-C),
plus the background-role images (Places) when `use_background` is true; randomly mirrored. Input and target are RGB in [0, 1] — the form the fg/bg
outputs have when colorize fuses them. Output: models/fusion.pt (kind "fusion").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from colorbench.errors import ColorbenchError
from colorbench.train.common import (
    TrainRun,
    ValBatchHooks,
    grid,
    open_loop,
    positive,
    psnr_u8,
    require,
    save_trained,
    val_images,
)
from colorbench.train.loop import Phase, StepContext

REQUIRED = ("width", "epochs", "batch_size", "lr")
SECTION = "train_fusion"


class FusionSteps(ValBatchHooks):
    def __init__(self, lambda_ssim: float, eval_batch: dict | None) -> None:
        from colorbench import losses

        super().__init__(eval_batch)
        self.losses = losses
        self.lambda_ssim = float(lambda_ssim)

    def step(self, batch: dict[str, Any], ctx: StepContext) -> dict[str, torch.Tensor]:
        rgb = batch["rgb"]
        with ctx.autocast():
            rec = ctx.module("F")(rgb)
        rec = rec.float()
        mse = torch.nn.functional.mse_loss(rec, rgb)
        ssim = self.losses.ssim(rec, rgb, self.losses.ssim_window(*rgb.shape[-2:]))
        loss = mse + self.lambda_ssim * (1.0 - ssim)
        ctx.zero_grad("f")
        ctx.backward(loss, "fusion loss")
        ctx.step("f")
        return {"loss": loss.detach(), "mse": mse.detach(), "ssim": ssim.detach()}

    def _reconstruct(self, ctx: StepContext) -> tuple[torch.Tensor, torch.Tensor]:
        rgb = self.val_batch(ctx)["rgb"]
        return rgb, ctx.unwrap("F")(rgb).float().clamp(0, 1)

    def score(self, ctx: StepContext) -> dict[str, float]:
        rgb, rec = self._reconstruct(ctx)
        return {"val_psnr": float(psnr_u8(rec, rgb).mean())}

    def images(self, ctx: StepContext) -> dict[str, Any]:
        rgb, rec = self._reconstruct(ctx)
        k = min(self.PREVIEW_ROWS, rgb.shape[0])
        return {"input_reconstruction": grid([rgb[:k], rec[:k]])}


def train_fusion(params: Mapping[str, Any], run: TrainRun) -> dict[str, float]:
    """Train the DenseFuse autoencoder from params section `train_fusion`; write `run.out`."""
    from colorbench.models.registry import build_fusion
    from colorbench.train.data import colorizer_dataset

    require(params, REQUIRED, SECTION)
    positive(params, ["width", "epochs", "lr"], SECTION)
    positive({"lambda_ssim": params.get("lambda_ssim", 100.0)}, ["lambda_ssim"], SECTION)
    if int(params["epochs"]) < 1 or int(params["batch_size"]) < 1:
        raise ColorbenchError(f"{SECTION}.epochs and batch_size must be >= 1")
    seed = int(params.get("seed", 0))
    # The paper trains DenseFuse on COCO only; `use_background` adds the Places stand-in.
    use_background = bool(params.get("use_background", False))
    prepared_dir = run.prepared_dir
    dataset = colorizer_dataset(
        prepared_dir, use_background=use_background, seed=seed, sources=params.get("sources")
    )
    with open_loop(SECTION, params, run, [run.manifest]) as loop:
        cfg = {"arch": "densefuse", "width": int(params["width"])}
        loop.add_module("F", build_fusion(cfg))
        loop.add_optimizer(
            "f", torch.optim.Adam(loop.parameters("F"), lr=float(params["lr"]), betas=(0.9, 0.999))
        )
        eval_set, eval_batch = val_images(prepared_dir)
        lambda_ssim = float(params.get("lambda_ssim", 100.0))
        steps = FusionSteps(lambda_ssim, eval_batch)
        phases = [Phase("train", steps.step, epochs=int(params["epochs"]))]
        metrics = steps.run(loop, phases, dataset, run)
        return save_trained(
            loop,
            run,
            "fusion",
            cfg,
            "F",
            train_samples=len(dataset),
            metrics=metrics,
            image_size=int(eval_set.size),
            lambda_ssim=lambda_ssim,
        )
