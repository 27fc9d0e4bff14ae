"""ParaColorizer's colorization GANs (`unet` V1 baseline, `fg`, `bg`) on the shared loop.

Unbalanced training (paper §IV-A): phase `pretrain` trains the generator alone with
λ_L1·L1 (+ λ_edge·edge for fg), Adam(lr_pretrain, β=(0.9, 0.999)); phase `gan` trains the
PatchGAN discriminator on (L, ab) pairs with LSGAN and the generator with
LSGAN + λ_L1·L1 (+ λ_edge·edge), Adam(lr_gan, β=(0.5, 0.999)) for both.

Data: `fg` = train images + object crops (use_crops), `bg` = train images + background scenes
(use_background), `unet` = train images. Params: section `train_<name>` of params.yaml.
Output: models/<name>.pt (kind "generator") via colorbench.models.checkpoint.save_model.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from colorbench.color import net_to_rgb
from colorbench.errors import ColorbenchError
from colorbench.train.common import (
    ValBatchHooks,
    grid,
    open_loop,
    positive,
    psnr_u8,
    require,
    save_trained,
    val_images,
    with_epochs,
)
from colorbench.train.loop import Phase, StepContext

NAMES = ("unet", "fg", "bg")
REQUIRED = (
    "generator",
    "pretrain_epochs",
    "gan_epochs",
    "batch_size",
    "lr_pretrain",
    "lr_gan",
    "lambda_l1",
)


def check_params(name: str, params: Mapping[str, Any]) -> None:
    section = f"train_{name}"
    require(params, REQUIRED, section)
    positive(
        params,
        ["pretrain_epochs", "gan_epochs", "lr_pretrain", "lr_gan", "lambda_l1"],
        section,
    )
    positive({"lambda_edge": params.get("lambda_edge", 0.0)}, ["lambda_edge"], section)
    if int(params["batch_size"]) < 1:
        raise ColorbenchError(f"{section}.batch_size must be >= 1")
    if int(params["pretrain_epochs"]) + int(params["gan_epochs"]) == 0:
        raise ColorbenchError(f"{section}: pretrain_epochs + gan_epochs is 0; nothing to train")


class ColorizerSteps(ValBatchHooks):
    """The two step functions and the evaluation/preview hooks of one colorizer run."""

    def __init__(self, lambda_l1: float, lambda_edge: float, eval_batch: dict | None) -> None:
        from colorbench import losses

        super().__init__(eval_batch)
        self.losses = losses
        self.lambda_l1 = float(lambda_l1)
        self.lambda_edge = float(lambda_edge)

    def _pixel_terms(
        self, L: torch.Tensor, ab_pred: torch.Tensor, ab: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        # Losses in float32 outside autocast: the Lab->RGB of the edge loss needs it.
        ab_pred = ab_pred.float()
        l1 = self.losses.l1_loss(ab_pred, ab)
        total = self.lambda_l1 * l1
        out = {"l1": l1.detach()}
        if self.lambda_edge > 0:
            edge = self.losses.edge_loss(L.float(), ab_pred, ab)
            total = total + self.lambda_edge * edge
            out["edge"] = edge.detach()
        return total, out

    def pretrain(self, batch: dict[str, Any], ctx: StepContext) -> dict[str, torch.Tensor]:
        L, ab = batch["L"], batch["ab"]
        with ctx.autocast():
            ab_pred = ctx.module("G")(L)
        loss, out = self._pixel_terms(L, ab_pred, ab)
        ctx.zero_grad("g_pre")
        ctx.backward(loss, "pretrain loss")
        ctx.step("g_pre")
        return {"loss": loss.detach(), **out}

    def gan(self, batch: dict[str, Any], ctx: StepContext) -> dict[str, torch.Tensor]:
        L, ab = batch["L"], batch["ab"]
        G, D = ctx.module("G"), ctx.module("D")
        with ctx.autocast():
            ab_pred = G(L)
            d_real = D(torch.cat([L, ab], dim=1))
            d_fake = D(torch.cat([L, ab_pred.detach()], dim=1))
        d_loss = self.losses.lsgan_d_loss(d_real.float(), d_fake.float())
        ctx.zero_grad("d")
        ctx.backward(d_loss, "discriminator loss")
        ctx.step("d")
        # D's parameters are not frozen for the generator step (DDP needs a fixed set of
        # gradient-receiving parameters); the grads it gets here are cleared before D's step.
        with ctx.autocast():
            d_gen = D(torch.cat([L, ab_pred], dim=1))
        g_adv = self.losses.lsgan_g_loss(d_gen.float())
        pixel, out = self._pixel_terms(L, ab_pred, ab)
        g_loss = g_adv + pixel
        ctx.zero_grad("g_gan")
        ctx.backward(g_loss, "generator loss")
        ctx.step("g_gan")
        return {
            "d_loss": d_loss.detach(),
            "g_adv": g_adv.detach(),
            "g_loss": g_loss.detach(),
            "d_real": d_real.detach().float().mean(),
            "d_fake": d_fake.detach().float().mean(),
            **out,
        }

    def _predict(self, ctx: StepContext) -> tuple[torch.Tensor, ...]:
        b = self.val_batch(ctx)
        ab_pred = ctx.unwrap("G")(b["L"]).float()
        pred = net_to_rgb(b["L"], ab_pred)
        gray = net_to_rgb(b["L"], torch.zeros_like(ab_pred))
        return b["rgb"], gray, pred

    def score(self, ctx: StepContext) -> dict[str, float]:
        """PSNR on a fixed set of val images, and the gray input's (the floor to beat)."""
        rgb, gray, pred = self._predict(ctx)
        return {
            "val_psnr": float(psnr_u8(pred, rgb).mean()),
            "val_psnr_gray": float(psnr_u8(gray, rgb).mean()),
        }

    def images(self, ctx: StepContext) -> dict[str, Any]:
        rgb, gray, pred = self._predict(ctx)
        k = min(self.PREVIEW_ROWS, rgb.shape[0])
        return {"gray_pred_truth": grid([gray[:k], pred[:k], rgb[:k]])}


def train_colorizer(
    name: str,
    params: Mapping[str, Any],
    *,
    prepared_dir: str | os.PathLike = "data/prepared",
    crops_dir: str | os.PathLike = "data/crops",
    out: str | os.PathLike | None = None,
    checkpoint_root: str | os.PathLike = "checkpoints",
    log_root: str | os.PathLike = "logs",
    resume: bool = True,
    progress: bool = True,
    on_step_end: Any = None,
) -> dict[str, float]:
    """Train colorizer `name` (unet | fg | bg) from its params section; write models/<name>.pt.

    Returns the final epoch's metrics (e.g. `gan/val_psnr`). Under torchrun every rank calls
    this; rank 0 writes the model file.
    """
    from colorbench.models.registry import build_discriminator, build_generator
    from colorbench.train.data import colorizer_dataset

    if name not in NAMES:
        raise ColorbenchError(f"unknown colorizer {name!r}; choose one of {', '.join(NAMES)}")
    check_params(name, params)
    out = Path(out) if out is not None else Path("models") / f"{name}.pt"
    use_crops = bool(params.get("use_crops", False))
    use_background = bool(params.get("use_background", False))
    lambda_edge = float(params.get("lambda_edge", 0.0))
    seed = int(params.get("seed", 0))

    dataset = colorizer_dataset(
        prepared_dir,
        crops_dir=crops_dir,
        use_crops=use_crops,
        use_background=use_background,
        seed=seed,
        sources=params.get("sources"),
    )
    data_files = [Path(prepared_dir) / "manifest.csv"]
    if use_crops:
        data_files.append(Path(crops_dir) / "boxes.csv")
    with open_loop(
        f"train_{name}",
        params,
        data_files,
        checkpoint_root=checkpoint_root,
        log_root=log_root,
        resume=resume,
        progress=progress,
    ) as loop:
        gen_cfg = dict(params["generator"])
        disc_cfg = {"in_channels": 3, **dict(params.get("discriminator") or {"arch": "patchgan"})}
        generator = build_generator(gen_cfg)
        image_size = dataset.parts[0].size
        multiple = int(getattr(generator, "size_multiple", 1))
        if image_size % multiple:
            raise ColorbenchError(
                f"train_{name}: a {gen_cfg.get('arch')} generator needs images whose side is a "
                f"multiple of {multiple}, but the prepared images are {image_size} px; change "
                "prepare.size (or the generator depth)"
            )
        loop.add_module("G", generator)
        loop.add_module("D", build_discriminator(disc_cfg))
        loop.add_optimizer(
            "g_pre",
            torch.optim.Adam(
                loop.parameters("G"), lr=float(params["lr_pretrain"]), betas=(0.9, 0.999)
            ),
        )
        loop.add_optimizer(
            "g_gan",
            torch.optim.Adam(loop.parameters("G"), lr=float(params["lr_gan"]), betas=(0.5, 0.999)),
        )
        loop.add_optimizer(
            "d",
            torch.optim.Adam(loop.parameters("D"), lr=float(params["lr_gan"]), betas=(0.5, 0.999)),
        )
        _, eval_batch = val_images(prepared_dir)
        steps = ColorizerSteps(float(params["lambda_l1"]), lambda_edge, eval_batch)
        phases = [
            Phase("pretrain", steps.pretrain, epochs=int(params["pretrain_epochs"]), train=["G"]),
            Phase("gan", steps.gan, epochs=int(params["gan_epochs"])),
        ]
        metrics = steps.run(loop, with_epochs(phases), dataset, on_step_end)
        save_trained(
            loop,
            out,
            "generator",
            gen_cfg,
            "G",
            train_samples=len(dataset),
            metrics=metrics,
            name=name,
            image_size=int(image_size),
            params={k: v for k, v in params.items() if isinstance(v, (int, float, str))},
        )
        return metrics
